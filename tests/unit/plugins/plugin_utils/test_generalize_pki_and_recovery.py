# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PKI certificate filter (plugin_utils/_cert_filter.py, shared by the planner and the simulated lab) and
the recovery actions of a CcmExec that has to be killed, on outcomes of the simulator's runner."""
from __future__ import annotations

import copy
import typing as t

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _cert_filter as cf
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _generalize as gen
from tests.simhost.model import HostModel, OpContext, SimWindowsError
from tests.simhost.ops import load_all
from tests.unit.plugins.plugin_utils.test_generalize import fixture, shaped, steps_by_name

CA = "CN=Contoso Issuing CA 01, DC=contoso, DC=local"
CONFIGMGR = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"
WEB = "AA11BB22CC33DD44EE55FF6677889900AABBCCDD"
VPN = "5C4D3E2F1A0B9C8D7E6F5A4B3C2D1E0F9A8B7C6D"
DOT1X = "8021A8021B8021C8021D8021E8021F8021A8021B"
CONFIGMGR_OID = "1.3.6.1.4.1.311.21.8.4181979.12268412.10205467.9813521.1312302.45.7398411.1052422"
DOT1X_OID = "1.3.6.1.4.1.311.21.8.4181979.12268412.10205467.9813521.1312302.45.7398411.1052477"
CONFIGMGR_KEY = "te-ConfigMgrClientCertificate-5b8f2c0e-4a1d-4e6b-9f3a-2c7d8e9f0a1b"
MARKERS = "HKLM\\SOFTWARE\\mecm.fieldkit\\Markers"


def my_store(model: HostModel) -> list[str]:
    return [c["thumbprint"] for c in model.cert_store("LocalMachine", "My")]


# --- the shared rule ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("wanted", "issuer", "expected"), [
    (CA, CA, True),
    ("dc=LOCAL;  DC=contoso ,CN=contoso   issuing ca 01", CA, True),  # order, case, spaces, ';'
    ("Contoso Issuing CA 01", CA, True),  # the CN exactly
    ("contoso issuing ca 01", CA, True),
    ("Contoso Issuing CA", CA, False),  # part of the CN
    ("Issuing", CA, False),
    ("CN=Contoso Issuing CA 01", CA, False),  # a DN must be the whole issuer DN
    ("CN=Contoso Issuing CA 01, DC=contoso, DC=local, O=x", CA, False),
    ('O="Contoso, Ltd", CN=Root', 'CN=Root, O="Contoso, Ltd"', True),  # quoted value with a comma
    ("CN=a\\,b", 'CN="a,b"', True),  # escaped comma
    ("ST=Tokyo, CN=x", "S=Tokyo, CN=x", True),  # RFC 4514 ST is Windows' S
    ("CN=x", None, False),
])
def test_issuer_is_a_distinguished_name_or_the_cn_never_a_substring(wanted: str, issuer: str | None,
                                                                    expected: bool) -> None:
    assert cf.issuer_matches(wanted, issuer) is expected


@pytest.mark.parametrize(("wanted", "name", "oid", "expected"), [
    ("ConfigMgr Client Certificate", "ConfigMgr Client Certificate", CONFIGMGR_OID, True),
    ("configmgr client certificate", "ConfigMgr Client Certificate", None, True),
    ("ConfigMgr Client", "ConfigMgr Client Certificate", None, False),
    ("a", "ConfigMgr Client Certificate", None, False),
    (CONFIGMGR_OID, None, CONFIGMGR_OID, True),  # offline master: only the OID
    (CONFIGMGR_OID, "ConfigMgr Client Certificate", None, False),
    ("1.3.6.1.4.1.311.21.8", None, CONFIGMGR_OID, False),  # an OID prefix is not the OID
])
def test_template_is_the_name_or_the_oid_exactly(wanted: str, name: str | None, oid: str | None,
                                                 expected: bool) -> None:
    assert cf.template_matches(wanted, name, oid) is expected


@pytest.mark.parametrize(("value", "problem"), [
    ("", "it is empty"), ("   ", "it is empty"), ("CN=", "has an empty value"), ("=x", "no valid type"),
    ('CN="open', "unclosed quote"), ("CN=a, DC", "has no '='"),
])
def test_issuer_values_that_are_refused(value: str, problem: str) -> None:
    assert problem in (cf.issuer_problem(value) or "")


def test_a_filter_without_thumbprints_may_select_one_certificate() -> None:
    assert not cf.ambiguous(1, (), False)
    assert cf.ambiguous(2, (), False)
    assert not cf.ambiguous(2, ("A" * 40, "B" * 40), False)
    assert not cf.ambiguous(3, (), True)


# --- options --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("filter_", "message"), [
    ({"issuer": "CN="}, "pki_certificate_filter.issuer='CN=' is not allowed: it is not a distinguished name: "
                        "attribute 1 (CN=) has an empty value; give the issuer's full distinguished name"),
    ({"issuer": ""}, "pki_certificate_filter.issuer='' is not allowed: it is empty; give the issuer's full"),
    ({"template": " "}, "pki_certificate_filter.template=' ' is not allowed: it is empty; give the certificate "
                        "template name"),
    ({"issuer": "x", "allow_multiple": "yes"}, "pki_certificate_filter.allow_multiple='yes' must be true or false"),
])
def test_bad_filter_values_name_the_option_the_value_and_what_is_allowed(filter_: dict[str, t.Any],
                                                                         message: str) -> None:
    with pytest.raises(gen.OptionError) as err:
        gen.build_options({"pki_certificate_filter": filter_})
    assert message in str(err.value)


def test_the_guard_runs_before_the_first_change_with_the_filter_of_the_step() -> None:
    options = gen.build_options({"pki_certificate_filter": {"issuer": CA, "allow_multiple": True}})
    plan = gen.plan_generalize(options)
    ids = [p.id for p in plan]
    guard = plan[ids.index("guard.pki_filter")]
    first_change = min(ids.index(p.id) for p in plan if p.op not in ("cert.list", "service.read", "task.read",
                                                                     "wmi.count_instances", "client.read_identity",
                                                                     "client.read_site_assignment",
                                                                     "client.read_provisioning_mode")
                       and not p.op.startswith(("guard.", "image.read")))
    assert ids.index("guard.pki_filter") < first_change
    step = plan[ids.index("remove_pki_certificates")]
    assert guard.args == step.args == {"store_name": "My", "require_client_auth": True, "allow_multiple": True,
                                       "issuer": CA}


# --- lab outcomes ---------------------------------------------------------------------------------------
def test_a_filter_that_selects_three_client_certificates_stops_before_any_change() -> None:
    model = fixture("ref_pki_extras")
    before = model.dump()
    result = shaped(model, {"pki_certificate_filter": {"issuer": CA}})
    assert model.dump() == before
    assert result["failed"] is True and result["guard"] == "certificate_filter"
    assert "matches 3 certificates in LocalMachine\\My" in result["msg"] and "0x80070057" in result["msg"]
    for thumbprint in (CONFIGMGR, VPN, DOT1X):
        assert thumbprint in result["msg"]
    assert WEB not in result["msg"]
    assert "Nothing was changed." in result["msg"] and "pki_certificate_filter.allow_multiple=true" in result["msg"]


def test_check_mode_reports_the_same_refusal() -> None:
    model = fixture("ref_pki_extras")
    result = shaped(model, {"pki_certificate_filter": {"template": "Contoso VPN Machine", "issuer": CA,
                                                       "thumbprints": []}}, check_mode=True)
    assert not result.get("failed"), result["msg"]
    detail = steps_by_name(result)["remove_pki_certificates"]["detail"]
    assert detail == "would remove 1 certificate(s) from LocalMachine\\My"
    result = shaped(model, {"pki_certificate_filter": {"issuer": "Contoso Issuing CA 01"}}, check_mode=True)
    assert result["guard"] == "certificate_filter"


def test_the_template_oid_removes_exactly_that_certificate_and_its_key() -> None:
    model = fixture("ref_pki_extras")
    result = shaped(model, {"pki_certificate_filter": {"issuer": "Contoso Issuing CA 01", "template": CONFIGMGR_OID}})
    assert not result.get("failed"), result["msg"]
    assert my_store(model) == [WEB, VPN, DOT1X]
    assert CONFIGMGR_KEY not in model.state["private_keys"]
    assert len(model.state["private_keys"]) == 3  # web, VPN and 802.1X keys stay (the SMS keys went with their certs)
    step = steps_by_name(result)["remove_pki_certificates"]
    assert step["status"] == "changed" and step["verified"] is True
    assert step["verification"] == "0 matching certificate(s) in LocalMachine\\My; 1 of 1 private key container(s) gone"
    pki = [c for c in result["removed_identity"]["certificates"] if c["store"] == "LocalMachine\\My"]
    assert pki == [{"store": "LocalMachine\\My", "thumbprint": CONFIGMGR, "subject": "CN=REF-PKI-01.contoso.local",
                    "issuer": CA, "template": "ConfigMgr Client Certificate", "key_provider": "cng",
                    "key_removed": True}]
    sms = [c for c in result["removed_identity"]["certificates"] if c["store"] == "LocalMachine\\SMS"]
    assert {c["key_provider"] for c in sms} == {"capi"} and all(c["key_removed"] for c in sms)


def test_an_oid_only_template_is_matched_by_its_oid() -> None:
    model = fixture("ref_pki_extras")
    result = shaped(model, {"pki_certificate_filter": {"template": DOT1X_OID}})
    assert not result.get("failed"), result["msg"]
    assert my_store(model) == [CONFIGMGR, WEB, VPN]


def test_part_of_a_template_name_removes_nothing() -> None:
    model = fixture("ref_pki_extras")
    result = shaped(model, {"pki_certificate_filter": {"template": "a"}})
    assert not result.get("failed"), result["msg"]
    assert steps_by_name(result)["remove_pki_certificates"]["status"] == "ok"
    assert my_store(model) == [CONFIGMGR, WEB, VPN, DOT1X]


def test_allow_multiple_removes_every_selected_certificate_and_key() -> None:
    model = fixture("ref_pki_extras")
    result = shaped(model, {"pki_certificate_filter": {"issuer": CA, "allow_multiple": True}})
    assert not result.get("failed"), result["msg"]
    assert my_store(model) == [WEB]
    assert list(model.state["private_keys"]) == ["WebServer-1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b"]
    assert "3 of 3 private key container(s) gone" in steps_by_name(result)["remove_pki_certificates"]["verification"]


def test_a_key_that_cannot_be_deleted_keeps_its_certificate_and_fails_the_step() -> None:
    model = fixture("ref_pki_extras")
    next(c for c in model.cert_store("LocalMachine", "My") if c["thumbprint"] == CONFIGMGR)["key_delete_denied"] = True
    result = shaped(model, {"pki_certificate_filter": {"template": "ConfigMgr Client Certificate"}})
    assert result["failed"] is True and result["failed_step"] == "remove_pki_certificates"
    assert "private key container te-ConfigMgrClientCertificate" in result["msg"]
    assert CONFIGMGR in my_store(model) and CONFIGMGR_KEY in model.state["private_keys"]


def test_a_key_left_behind_fails_the_verification() -> None:
    model = fixture("ref_pki_extras")
    options = gen.build_options({"pki_certificate_filter": {"template": "ConfigMgr Client Certificate"}})
    from tests.unit.plugins.plugin_utils.test_generalize import run

    outcome = run(model, options)
    tampered = copy.deepcopy(outcome)
    op = tampered.ops["remove_pki_certificates"]
    op.after = dict(op.after or {}, removed=[dict(r, key_removed=False) for r in (op.after or {})["removed"]])
    result = gen.shape_generalize(tampered, options, check_mode=False, diff_mode=False, host="h1")
    assert result["failed"] is True and result["failed_step"] == "remove_pki_certificates"
    assert "0 of 1 private key container(s) gone (left: " + CONFIGMGR + " key cng " + CONFIGMGR_KEY in result["msg"]


def test_the_simulated_op_refuses_an_ambiguous_filter_itself() -> None:
    model = fixture("ref_pki_extras")
    with pytest.raises(SimWindowsError) as err:
        load_all()["cert.remove"](model, OpContext(), store_name="My", issuer=CA)
    assert err.value.code == 0x80070057 and "matches 3 certificates" in err.value.message
    assert len(my_store(model)) == 4


# --- recovery actions of a hung CcmExec -------------------------------------------------------------------
ORIGINAL = {"reset_period_seconds": 86400, "actions": [{"type": "restart", "delay_ms": 60000},
                                                       {"type": "restart", "delay_ms": 60000},
                                                       {"type": "none", "delay_ms": 0}]}


def test_a_killed_ccmexec_is_not_restarted_and_its_recovery_actions_come_back_exactly() -> None:
    model = fixture("ccmexec_hang_recovery")
    result = shaped(model, {"service_stop_timeout": 5})
    assert not result.get("failed"), result["msg"]
    ccmexec = model.state["services"]["CcmExec"]
    assert ccmexec["state"] == "stopped" and "restarted_by_scm" not in ccmexec
    assert ccmexec["failure_actions"] == ORIGINAL
    assert MARKERS not in model.state["registry"]
    stop = steps_by_name(result)["stop_service"]
    assert "ended its process" in stop["detail"] and "recovery actions" in stop["detail"]
    assert stop["verified"] is True
    assert stop["verification"] == ("CcmExec stopped at the end of the batch; its recovery actions "
                                    "restart/60000, restart/60000, none/0 are restored")


def test_without_the_suspension_the_lab_restarts_a_killed_ccmexec() -> None:
    """The simulator models the SCM: what a kill without suspending the recovery actions does."""
    model = fixture("ccmexec_hang_recovery")
    outcome = load_all()["service.ensure"](model, OpContext(), name="CcmExec", state="stopped",
                                           stop_timeout_seconds=5, kill_on_timeout=True)
    assert outcome["after"]["killed"] is True and outcome["after"]["recovery_suspended"] is False
    assert model.state["services"]["CcmExec"]["state"] == "running"
    assert model.state["services"]["CcmExec"]["restarted_by_scm"] == 1


def test_a_lost_restore_is_reported_and_done_by_the_next_run() -> None:
    model = fixture("ccmexec_hang_recovery")
    model.state["faults"].append({"op": "service.restore_recovery", "code": "0x80070005",
                                  "message": "Access is denied."})
    first = shaped(model, {"service_stop_timeout": 5})
    assert first["failed"] is True and first["failed_step"] == "stop_service"
    assert first["msg"].startswith("restoring the recovery actions of CcmExec failed on h1: 0x80070005")
    assert "ImagePrepCcmExecRecoveryActions" in first["msg"]
    assert model.state["services"]["CcmExec"]["failure_actions"] == {"reset_period_seconds": 0, "actions": []}
    recorded = model.reg_value(MARKERS, "ImagePrepCcmExecRecoveryActions")
    assert recorded == "reset=86400;actions=restart/60000,restart/60000,none/0"
    model.state["faults"].clear()
    second = shaped(model, {"service_stop_timeout": 5})
    assert not second.get("failed"), second["msg"]
    assert model.state["services"]["CcmExec"]["failure_actions"] == ORIGINAL
    assert MARKERS not in model.state["registry"]


def test_a_stop_that_fails_after_the_suspension_restores_them_in_the_always_op() -> None:
    model = fixture("ccmexec_hang")
    result = shaped(model)
    assert result["failed_step"] == "stop_service" and "0x8007041D" in result["msg"]
    assert "the recovery actions of CcmExec are restored; the health evaluation task is enabled again" in result["msg"]
    assert model.state["services"]["CcmExec"]["failure_actions"] == ORIGINAL


def test_no_kill_means_no_suspension_and_no_change() -> None:
    model = fixture("ref_assigned")
    result = shaped(model)
    assert not result.get("failed"), result["msg"]
    assert "recovery" not in steps_by_name(result)["stop_service"]["detail"]
    plan = {p.id: p for p in gen.plan_generalize(gen.build_options({"kill_hung_service": False}))}
    assert "restore_service_recovery" not in plan and "recovery_marker" not in plan["stop_service"].args
    plan = {p.id: p for p in gen.plan_generalize(gen.build_options({}))}
    assert plan["restore_service_recovery"].always is True
    assert plan["stop_service"].args["recovery_marker"] == plan["restore_service_recovery"].args["marker"]
