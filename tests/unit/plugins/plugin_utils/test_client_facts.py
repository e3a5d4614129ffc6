from __future__ import annotations

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome, OpOutcome
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._client_facts import plan_client_facts, shape_client_facts
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import build_batch


def _outcome(**data) -> BatchOutcome:
    plan = plan_client_facts()
    ops = {p.id: OpOutcome(p.id, p.op, "ok", data=data.get(p.id, {})) for p in plan}
    return BatchOutcome(ops, False, None, False, None, {})


def test_plan_is_read_only_and_valid() -> None:
    batch = build_batch(plan_client_facts())
    assert batch and not any(op["mutating"] for op in batch)
    assert len({op["id"] for op in batch}) == len(batch)


def test_assigned_site_prefers_com_and_treats_empty_as_unassigned() -> None:
    facts = shape_client_facts(_outcome(site_assignment={"com_available": True, "com_assigned_site": "",
                                                         "registry_assigned_site": "PS1"}))
    assert facts["site_assignment"]["assigned_site"] is None
    facts = shape_client_facts(_outcome(site_assignment={"com_available": False, "registry_assigned_site": "PS1"}))
    assert facts["site_assignment"]["assigned_site"] == "PS1"


def test_identity_consistency() -> None:
    same = shape_client_facts(_outcome(identity={"smscfg_unique_id": "GUID:A", "wmi_client_id": "guid:a"}))
    differ = shape_client_facts(_outcome(identity={"smscfg_unique_id": "GUID:A", "wmi_client_id": "GUID:B"}))
    unknown = shape_client_facts(_outcome(identity={"smscfg_unique_id": None, "wmi_client_id": "GUID:B"}))
    assert same["identity"]["consistent"] is True
    assert differ["identity"]["consistent"] is False
    assert unknown["identity"]["consistent"] is None and unknown["identity"]["sms_unique_id"] == "GUID:B"


def test_trusted_root_key_namespace_absent_is_not_zero() -> None:
    absent = shape_client_facts(_outcome(trusted_root_key={"namespace_present": False, "count": 0}))
    assert absent["trusted_root_key"]["count"] is None
    assert absent["trusted_root_key"]["status"] == "namespace absent"
    present = shape_client_facts(_outcome(trusted_root_key={"namespace_present": True, "count": 2}))
    assert present["trusted_root_key"]["count"] == 2


def test_provisioning_mode_and_ccmsetup() -> None:
    facts = shape_client_facts(_outcome(
        provisioning_mode={"registry_value": "true", "enabled_time_epoch": 1700000000, "max_minutes": 2880},
        ccmsetup_process={"processes": [{"name": "ccmsetup", "pid": 7}]},
    ))
    assert facts["provisioning_mode"]["enabled"] is True
    assert facts["provisioning_mode"]["enabled_time"] == "2023-11-14T22:13:20Z"
    assert facts["ccmsetup"]["running"] is True
    service_only = shape_client_facts(_outcome(ccmsetup_service={"state": "running"}))
    assert service_only["ccmsetup"]["running"] is True


def test_delayed_start_flag() -> None:
    facts = shape_client_facts(_outcome(ccmexec={"exists": True, "state": "stopped", "start_mode": "delayed_auto"}))
    assert facts["service"]["delayed_start"] is True and facts["service"]["state"] == "stopped"


def test_a_failed_get_assigned_site_falls_back_to_the_registry_and_is_reported() -> None:
    """GetAssignedSite() that fails without meaning "unassigned" must never read as unassigned."""
    error = {"code": 0x80041001, "hresult": "0x80041001", "message": "Generic failure"}
    facts = shape_client_facts(_outcome(site_assignment={"com_available": True, "com_assigned_site": None,
                                                         "com_error": error, "registry_assigned_site": "PS1"}))
    assert facts["site_assignment"]["assigned_site"] == "PS1"
    assert facts["site_assignment"]["com_error"] == error


def test_wmi_read_errors_of_every_client_op_are_collected() -> None:
    denied = {"namespace": "root\\ccm", "class_name": "CCM_Client", "code": 0x80041003}
    timeout = {"namespace": "root\\ccm", "class_name": "SMS_Client", "code": 0x80041032}
    facts = shape_client_facts(_outcome(identity={"wmi_errors": [denied]}, provisioning_mode={"wmi_errors": [timeout]}))
    assert facts["wmi_errors"] == [denied, timeout]
    assert shape_client_facts(_outcome())["wmi_errors"] == []
