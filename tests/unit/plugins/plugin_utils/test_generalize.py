# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_generalize.py (options, plan, shape).

Shaping is tested on outcomes produced by the simulator's runner over host fixtures (no WinRM), so
the shaper sees exactly what the runner returns.
"""
from __future__ import annotations

import copy
import typing as t

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _generalize as gen
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome, parse_runner_result
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import build_batch
from tests.simhost.host import Faults
from tests.simhost.model import HostModel, OpContext
from tests.simhost.runner import run_batch

GUID = "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"
SMS_THUMBS = {"5A0C1F3E9B7D2A4C6E8F0A1B3C5D7E9F1A2B3C4D", "B7E4D2C1A0F9E8D7C6B5A4938271605F4E3D2C1B"}
TASK = "\\Microsoft\\Configuration Manager\\Configuration Manager Health Evaluation"


def execute(model: HostModel, plan: list[t.Any], check_mode: bool = False) -> BatchOutcome:
    args: dict[str, t.Any] = {"ops": build_batch(plan), "protocol": 1, "_ansible_check_mode": check_mode}
    body, _rc = run_batch(model, args, OpContext(), Faults(model.state["faults"]))
    return parse_runner_result(body, plan)


def run(model: HostModel, options: gen.GeneralizeOptions, check_mode: bool = False) -> BatchOutcome:
    return execute(model, gen.plan_generalize(options, check_mode=check_mode), check_mode)


def shaped(model: HostModel, params: dict[str, t.Any] | None = None, check_mode: bool = False,
           diff_mode: bool = False) -> dict[str, t.Any]:
    """What the action plugin does: the batch, then the second execution when plan_followup asks for one."""
    options = gen.build_options(params or {})
    outcome = run(model, options, check_mode)
    second = gen.plan_followup(outcome, options, check_mode=check_mode)
    followup = execute(model, second, check_mode) if second else None
    return gen.shape_generalize(outcome, options, check_mode=check_mode, diff_mode=diff_mode, host="h1",
                                followup=followup)


def steps_by_name(result: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {s["name"]: s for s in result["steps"]}


def fixture(name: str) -> HostModel:
    model = HostModel.from_fixture(name)
    model.state["name"] = "h1"
    return model


# --- options ------------------------------------------------------------------------------------
def test_scenario_defaults_follow_the_seed() -> None:
    recapture = gen.build_options({})
    assert [s for s in gen.STEPS if recapture.enabled(s)] == [
        "disable_health_task", "stop_service", "remove_trusted_root_key", "reset_site_assignment",
        "remove_sms_certificates", "remove_smscfg", "final_start_mode"]
    new = gen.build_options({"scenario": "new"})
    # Scenario A deletes SMSCFG.ini too: ccmsetup wrote it with a GUID (Microsoft Learn always deletes it).
    assert [s for s in gen.STEPS if new.enabled(s)] == [
        "disable_health_task", "stop_service", "remove_trusted_root_key", "remove_sms_certificates",
        "remove_smscfg", "final_start_mode"]
    assert not gen.build_options({"scenario": "new", "steps": {"remove_smscfg": False}}).enabled("remove_smscfg")


def test_steps_switch_single_steps_and_pki_filter_turns_its_step_on() -> None:
    options = gen.build_options({"steps": {"remove_sms_certificates": False, "empty_ccmcache": True,
                                           "final_start_mode": None},
                                 "pki_certificate_filter": {"issuer": "Contoso CA", "thumbprints": []}})
    assert not options.enabled("remove_sms_certificates")
    assert options.enabled("empty_ccmcache")
    assert options.enabled("final_start_mode")
    assert options.enabled("remove_pki_certificates")
    assert options.pki_filter == gen.PkiFilter(store_name="My", issuer="Contoso CA")


@pytest.mark.parametrize(("params", "message"), [
    ({"scenario": "capture"}, "scenario='capture' is not one of: recapture, new"),
    ({"steps": {"remove_everything": True}}, "steps.remove_everything is not a step"),
    ({"pki_certificate_filter": {"thumbprints": ["ABC"]}}, "pki_certificate_filter.thumbprints: 'ABC' is not a SHA-1"),
    ({"pki_certificate_filter": {"thumbprints": []}}, "needs at least one of thumbprints, issuer, template"),
    ({"pki_certificate_filter": {"issuer": "x", "store_name": "SMS"}}, "store_name='SMS' is not allowed"),
    ({"steps": {"remove_pki_certificates": True}}, "steps.remove_pki_certificates=true needs pki_certificate_filter"),
    ({"service_stop_timeout": 0}, "service_stop_timeout=0 must be an integer from 1 to 3600"),
    ({"ccmcache_path": "C:\\"}, "ccmcache_path='C:\\\\' must be a folder named ccmcache"),
])
def test_bad_options_name_the_option_the_value_and_what_is_allowed(params: dict[str, t.Any], message: str) -> None:
    with pytest.raises(gen.OptionError) as err:
        gen.build_options(params)
    assert message in str(err.value)


def test_thumbprints_are_normalised() -> None:
    options = gen.build_options({"pki_certificate_filter": {"thumbprints": ["0f1e 2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"]}})
    assert options.pki_filter is not None
    assert options.pki_filter.thumbprints == ("0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C",)


def test_pki_filter_requires_every_criterion_and_client_auth() -> None:
    pki = gen.PkiFilter(issuer="Contoso Issuing CA", template="ConfigMgr Client Certificate")
    client = {"thumbprint": "A" * 40, "issuer": "CN=Contoso Issuing CA", "template_name": "ConfigMgr Client Certificate",
              "enhanced_key_usages": ["1.3.6.1.5.5.7.3.2"]}
    assert pki.matches(client)
    assert not pki.matches(dict(client, enhanced_key_usages=["1.3.6.1.5.5.7.3.1"]))
    assert not pki.matches(dict(client, issuer="CN=Fabrikam CA"))
    assert not pki.matches(dict(client, template_name=None))
    assert not gen.PkiFilter().matches(client)


# --- plan -----------------------------------------------------------------------------------------
def test_plan_is_reads_guards_steps_cleanup_verification_in_that_order() -> None:
    plan = gen.plan_generalize(gen.build_options({}))
    ids = [p.id for p in plan]
    assert ids[:9] == ["before.identity", "before.site_assignment", "before.sms_certificates", "before.ccmexec",
                       "before.health_task", "before.trusted_root_key", "before.provisioning_mode",
                       "before.removal_record", "guard.not_site_system"]
    assert ids[9:13] == ["guard.client_installed", "guard.ccmsetup_idle", "guard.no_task_sequence",
                         "guard.not_provisioning"]
    # The host record of what is about to be removed is written before the first removal.
    assert ids[13] == "record_removal"
    steps = [i for i in ids[14:] if not i.startswith("after.")]
    assert [i for i in steps if i.split(".")[0] in gen.STEPS or i == "restore_health_task"] == [
        "disable_health_task", "stop_service", "remove_trusted_root_key", "reset_site_assignment",
        "remove_sms_certificates", "remove_smscfg", "final_start_mode", "restore_health_task",
        "disable_health_task.final_state"]
    first_after = ids.index("after.identity")
    assert all(p.id.startswith("after.") for p in plan[first_after:])
    always = {p.id for p in plan if p.always}
    assert {"restore_health_task", *ids[first_after:]} <= always
    assert "disable_health_task.final_state" not in always
    build_batch(plan)  # every op matches the registry


def test_stop_and_final_start_mode_ops() -> None:
    plan = {p.id: p for p in gen.plan_generalize(gen.build_options({"service_stop_timeout": 5,
                                                                     "kill_hung_service": False}))}
    assert plan["stop_service"].args == {"name": "CcmExec", "state": "stopped", "start_mode": "manual",
                                         "stop_timeout_seconds": 5, "kill_on_timeout": False}
    assert plan["final_start_mode"].args["start_mode"] == "delayed_auto"
    assert plan["final_start_mode"].args["state"] == "stopped"
    assert plan["remove_sms_certificates"].args == {"store_name": "SMS", "remove_all": True,
                                                    "require_client_auth": False}
    assert plan["disable_health_task"].args["marker"] == plan["restore_health_task"].args["marker"]


def test_provisioning_guard_is_dropped_only_by_its_override_or_the_fix() -> None:
    def guards(params: dict[str, t.Any]) -> list[str]:
        return [p.id for p in gen.plan_generalize(gen.build_options(params)) if p.id.startswith("guard.")]

    assert "guard.not_provisioning" in guards({})
    assert "guard.not_provisioning" not in guards({"allow_provisioning_mode": True})
    assert "guard.not_provisioning" not in guards({"steps": {"leave_provisioning_mode": True}})
    assert "guard.not_site_system" in guards({"allow_provisioning_mode": True})


def test_no_step_means_no_guard_and_no_client_change() -> None:
    plan = gen.plan_generalize(gen.build_options({"steps": {s: False for s in gen.STEPS},
                                                  "remove_mp_block_rules": True}))
    mutating = [p.id for p in plan if not p.id.startswith(("before.", "after."))]
    assert mutating == ["remove_mp_block_rules"]
    assert plan[[p.id for p in plan].index("remove_mp_block_rules")].always


def test_sysprep_comes_last_behind_the_capture_gate_and_never_always() -> None:
    options = gen.build_options({"sysprep": {"enabled": True, "mode_vm": True}, "steps": {"remove_smscfg": False}})
    # The real run starts sysprep in its second execution, after the host record is removed.
    assert "start_sysprep" not in [p.id for p in gen.plan_generalize(options)]
    model = fixture("ref_assigned")
    outcome = run(model, options)
    plan = gen.plan_followup(outcome, options)
    # SMSCFG.ini is still there (step switched off): not ready, so no gate and no sysprep, only the record.
    assert [p.id for p in plan] == ["clear_removal_record"]
    options = gen.build_options({"sysprep": {"enabled": True, "mode_vm": True}})
    outcome = run(fixture("ref_assigned"), options)
    plan = gen.plan_followup(outcome, options)
    assert [p.id for p in plan] == ["clear_removal_record", "capture_ready", "start_sysprep"]
    assert not any(p.always for p in plan)
    # Every identity item is checked by the host gate, whatever the steps.
    assert plan[-2].args == {"check_sms_store": True, "check_smscfg": True, "check_trusted_root_key": True}
    assert plan[-1].args == {"mode_vm": True}
    # Check mode: sysprep.start (in check mode) at the end of the one batch, no gate on the unchanged host.
    checked = gen.plan_generalize(options, check_mode=True)
    assert [p.id for p in checked[-1:]] == ["start_sysprep"] and "capture_ready" not in [p.id for p in checked]
    assert gen.plan_followup(run(fixture("ref_assigned"), options, check_mode=True), options, check_mode=True) == []


def test_empty_ccmcache_also_removes_the_cache_index() -> None:
    plan = {p.id: p for p in gen.plan_generalize(gen.build_options({"steps": {"empty_ccmcache": True}}))}
    assert plan["empty_ccmcache"].args == {"path": "%windir%\\ccmcache", "required_leaf": "ccmcache"}
    assert plan["empty_ccmcache.index"].args["class_name"] == "CacheInfoEx"


# --- shape over simulated outcomes ------------------------------------------------------------------
def test_recapture_removes_the_identity_and_verifies_every_step() -> None:
    model = fixture("ref_assigned")
    result = shaped(model)
    steps = steps_by_name(result)
    assert result["changed"] is True and not result.get("failed")
    assert {n for n, s in steps.items() if s["status"] == "changed"} == {
        "stop_service", "remove_trusted_root_key", "reset_site_assignment", "remove_sms_certificates", "remove_smscfg"}
    assert steps["disable_health_task"]["status"] == "ok"
    assert steps["disable_health_task"]["detail"] == "disabled for the duration and re-enabled at the end"
    assert steps["final_start_mode"]["verified"] is True
    assert all(s["verified"] for s in steps.values() if s["status"] != "skipped")
    assert steps["remove_smscfg"]["reference"].startswith("seed B-4")
    removed = result["removed_identity"]
    assert removed["sms_unique_id"] == GUID
    assert removed["site_code"] == "PS1"
    assert {c["thumbprint"] for c in removed["certificates"]} == SMS_THUMBS
    assert all(set(c) == {"store", "thumbprint", "subject", "issuer", "template", "key_provider", "key_removed"}
               for c in removed["certificates"])
    assert all(c["key_provider"] == "capi" and c["key_removed"] is True for c in removed["certificates"])
    state = result["client_state"]
    assert state["ready_for_capture"] is True, state["problems"]
    assert state["service"] == {"name": "CcmExec", "exists": True, "state": "stopped", "start_mode": "delayed_auto"}
    assert model.state["scheduled_tasks"][TASK]["enabled"] is True
    assert "HKLM\\SOFTWARE\\mecm.fieldkit\\Markers" not in model.state["registry"]


def test_second_run_reports_nothing_changed() -> None:
    model = fixture("ref_assigned")
    shaped(model)
    again = shaped(model)
    assert again["changed"] is False
    assert again["msg"] == "already prepared for capture; nothing changed"
    assert {s["status"] for s in again["steps"]} <= {"ok", "skipped"}
    assert again["removed_identity"]["certificates"] == [] and again["removed_identity"]["sms_unique_id"] is None


def test_check_mode_changes_nothing_and_predicts_the_real_after() -> None:
    model = fixture("ref_assigned")
    before = model.dump()
    planned = shaped(model, check_mode=True, diff_mode=True)
    assert model.dump() == before
    assert planned["changed"] is True
    assert planned["msg"].startswith("check mode: would change stop_service, remove_trusted_root_key")
    assert steps_by_name(planned)["remove_smscfg"]["detail"] == "would delete C:\\Windows\\SMSCFG.ini"
    assert all(s["verified"] is None for s in planned["steps"])
    assert planned["removed_identity"]["sms_unique_id"] == GUID
    real = shaped(model, diff_mode=True)
    assert planned["diff"]["after"] == real["diff"]["after"]
    assert planned["diff"]["before"] == real["diff"]["before"]
    assert real["diff"]["before"]["sms_unique_id"] == GUID and real["diff"]["after"]["sms_unique_id"] is None


@pytest.mark.parametrize(("name", "guard", "code", "hint"), [
    ("site_server", "not_site_system", "0x80070032", "There is no override"),
    ("clean_windows", "client_installed", "0x80070645", "There is no override"),
    ("ccmsetup_running", "ccmsetup_idle", "0x80070652", "There is no override"),
    ("task_sequence", "no_task_sequence", "0x800700AA", "There is no override"),
    ("provisioning_mode", "not_provisioning", "0x8007139F", "allow_provisioning_mode=true"),
])
def test_guards_stop_before_any_change(name: str, guard: str, code: str, hint: str) -> None:
    model = fixture(name)
    before = model.dump()
    result = shaped(model)
    assert model.dump() == before
    assert result["failed"] is True and result["changed"] is False
    assert result["guard"] == guard
    assert f"guard {guard} stopped image prep on h1" in result["msg"]
    assert code in result["msg"] and "Nothing was changed." in result["msg"] and hint in result["msg"]
    assert {s["status"] for s in result["steps"]} == {"skipped"}
    assert steps_by_name(result)["stop_service"]["detail"] == f"not run: guard {guard} stopped the run"


def test_guard_trip_does_not_enable_a_task_the_admin_disabled() -> None:
    model = fixture("site_server")
    model.state["scheduled_tasks"][TASK]["enabled"] = False
    shaped(model)
    assert model.state["scheduled_tasks"][TASK]["enabled"] is False


def test_provisioning_mode_is_left_through_wmi_when_asked() -> None:
    model = fixture("provisioning_mode")
    result = shaped(model, {"steps": {"leave_provisioning_mode": True}})
    assert not result.get("failed"), result["msg"]
    step = steps_by_name(result)["leave_provisioning_mode"]
    assert step["status"] == "changed" and step["verified"] is True
    assert model.reg_value("HKLM\\SOFTWARE\\Microsoft\\CCM\\CcmExec", "ProvisioningMode") == "false"


def test_allow_provisioning_mode_captures_it_as_is() -> None:
    model = fixture("provisioning_mode")
    result = shaped(model, {"allow_provisioning_mode": True})
    assert not result.get("failed"), result["msg"]
    assert result["client_state"]["provisioning_mode"] == "true"
    assert result["client_state"]["ready_for_capture"] is True


def test_denied_certificate_fails_the_step_with_its_code_and_restores_the_task() -> None:
    model = fixture("cert_denied")
    result = shaped(model)
    assert result["failed"] is True and result["failed_step"] == "remove_sms_certificates"
    assert result["msg"].startswith("step remove_sms_certificates failed on h1 (cert.remove) with 0x80070005")
    assert result["msg"].endswith("the health evaluation task is enabled again")
    steps = steps_by_name(result)
    assert steps["remove_sms_certificates"]["status"] == "failed"
    assert steps["remove_smscfg"]["detail"] == "not run: remove_sms_certificates failed"
    assert steps["final_start_mode"]["status"] == "skipped"
    assert model.state["scheduled_tasks"][TASK]["enabled"] is True
    assert result["client_state"]["service"]["state"] == "stopped"
    # The first certificate was deleted before the denied one, as on Windows.
    assert [c["thumbprint"] for c in model.cert_store("LocalMachine", "SMS")] == [
        "B7E4D2C1A0F9E8D7C6B5A4938271605F4E3D2C1B"]


def test_hung_service_is_killed_or_fails_with_the_timeout_code() -> None:
    model = fixture("ref_assigned")
    model.state["services"]["CcmExec"]["stop_behaviour"] = "hang"
    result = shaped(model, {"service_stop_timeout": 30})
    assert "ended its process: it did not stop within 30 s" in steps_by_name(result)["stop_service"]["detail"]
    model = fixture("ccmexec_hang")
    result = shaped(model)
    assert result["failed_step"] == "stop_service"
    assert "0x8007041D" in result["msg"]
    assert model.state["scheduled_tasks"][TASK]["enabled"] is True


def test_failed_restore_is_reported_loudly() -> None:
    model = fixture("cert_denied")
    model.state["faults"].append({"op": "task.ensure_enabled", "args": {"enabled": True}, "code": "0x80070005",
                                  "message": "Access is denied."})
    result = shaped(model)
    assert "could NOT be re-enabled (0x80070005: Access is denied.)" in result["msg"]


def test_admin_disabled_task_stays_disabled_only_as_found() -> None:
    model = fixture("ref_assigned")
    model.state["scheduled_tasks"][TASK]["enabled"] = False
    result = shaped(model, {"health_task_final_state": "as_found"})
    step = steps_by_name(result)["disable_health_task"]
    assert step["status"] == "ok" and step["verified"] is True
    assert "already disabled before the run" in step["detail"]
    assert model.state["scheduled_tasks"][TASK]["enabled"] is False
    assert result["client_state"]["ready_for_capture"] is True
    assert result["client_state"]["warnings"][0].startswith("the health evaluation task ")
    # The default final state: enabled at the end, reported as a change.
    model = fixture("ref_assigned")
    model.state["scheduled_tasks"][TASK]["enabled"] = False
    result = shaped(model)
    step = steps_by_name(result)["disable_health_task"]
    assert step["status"] == "changed" and step["verified"] is True
    assert step["detail"].startswith("the task was disabled before the run (not by image prep); enabled it")
    assert model.state["scheduled_tasks"][TASK]["enabled"] is True
    assert result["client_state"]["warnings"] == []


def test_bad_health_task_final_state_is_refused() -> None:
    with pytest.raises(gen.OptionError, match="health_task_final_state='off' is not one of: enabled, as_found"):
        gen.build_options({"health_task_final_state": "off"})


def test_task_left_disabled_by_an_interrupted_run_is_re_enabled() -> None:
    model = fixture("ref_assigned")
    model.state["scheduled_tasks"][TASK]["enabled"] = False
    model.set_reg_value("HKLM\\SOFTWARE\\mecm.fieldkit\\Markers", gen.HEALTH_TASK_MARKER, "disabled")
    result = shaped(model)
    step = steps_by_name(result)["disable_health_task"]
    assert step["status"] == "changed" and step["verified"] is True
    assert model.state["scheduled_tasks"][TASK]["enabled"] is True
    assert "HKLM\\SOFTWARE\\mecm.fieldkit\\Markers" not in model.state["registry"]


def test_steps_another_tool_did_are_ok() -> None:
    model = fixture("mcs_partial")
    result = shaped(model)
    steps = steps_by_name(result)
    assert steps["remove_sms_certificates"]["status"] == "ok"
    assert steps["remove_smscfg"]["status"] == "ok" and steps["remove_smscfg"]["detail"] == "already done"
    assert steps["final_start_mode"]["detail"] == "set start mode delayed_auto (was manual); not started"
    assert result["removed_identity"]["sms_unique_id"] is None


def test_optional_steps_and_the_pki_filter() -> None:
    model = fixture("ref_pki_extras")
    result = shaped(model, {"steps": {step: True for step in gen.OPTIONAL_STEPS},
                            "pki_certificate_filter": {"issuer": "Contoso Issuing CA 01",
                                                       "template": "ConfigMgr Client Certificate"}})
    assert not result.get("failed"), result["msg"]
    steps = steps_by_name(result)
    for step in ("reset_hardware_inventory", "clear_gp_site_assignment", "remove_pki_certificates", "empty_ccmcache"):
        assert steps[step]["status"] == "changed" and steps[step]["verified"] is True, steps[step]
    assert steps["leave_provisioning_mode"]["status"] == "ok"
    # Only the ConfigMgr client certificate went; the web server, VPN and 802.1X certificates stay.
    assert [c["thumbprint"] for c in model.cert_store("LocalMachine", "My")] == [
        "AA11BB22CC33DD44EE55FF6677889900AABBCCDD", "5C4D3E2F1A0B9C8D7E6F5A4B3C2D1E0F9A8B7C6D",
        "8021A8021B8021C8021D8021E8021F8021A8021B"]
    assert {c["store"] for c in result["removed_identity"]["certificates"]} == {"LocalMachine\\SMS",
                                                                                "LocalMachine\\My"}
    assert not [p for p in model.state["files"] if "ccmcache" in p.lower()]
    assert model.wmi_instances("root\\ccm\\SoftMgmtAgent", "CacheInfoEx") == []
    assert model.wmi_instances("root\\ccm\\invagt", "InventoryActionStatus") == []
    assert model.reg_value("HKLM\\SOFTWARE\\Microsoft\\SMS\\Mobile Client", "GPRequestedSiteAssignmentCode") is None
    assert result["client_state"]["pki_certificates"] == []


def test_failed_verification_fails_the_module() -> None:
    model = fixture("ref_assigned")
    options = gen.build_options({})
    outcome = run(model, options)
    # Something restarted CcmExec after the batch stopped it (what the health task would do).
    tampered = copy.deepcopy(outcome)
    tampered.ops["after.ccmexec"].data = dict(outcome.ops["after.ccmexec"].data or {}, state="running")
    result = gen.shape_generalize(tampered, options, check_mode=False, diff_mode=False, host="h1")
    assert result["failed"] is True and result["failed_step"] == "stop_service"
    assert result["msg"] == ("verification failed on h1: stop_service: CcmExec running; "
                             "final_start_mode: CcmExec running, start mode delayed_auto")
    assert result["client_state"]["ready_for_capture"] is False


def test_sysprep_starts_only_behind_a_ready_machine() -> None:
    model = fixture("ref_assigned")
    result = shaped(model, {"sysprep": {"enabled": True}})
    step = steps_by_name(result)["start_sysprep"]
    assert step["status"] == "changed" and step["verified"] is True
    assert model.state["sysprep"]["command_line"].endswith("sysprep.exe /generalize /oobe /shutdown /quiet")
    model = fixture("ref_assigned")
    result = shaped(model, {"sysprep": {"enabled": True, "mode_vm": True},
                            "steps": {"stop_service": False, "final_start_mode": False}})
    assert result["failed"] is True and result["failed_step"] == "start_sysprep"
    assert result["msg"] == "sysprep was not started on h1: not ready for capture (0x80070015): CcmExec is running"
    assert "sysprep" not in model.state
    # The host-side gate still guards the start, also against the host record.
    model = fixture("ref_assigned")
    options = gen.build_options({"sysprep": {"enabled": True}})
    outcome = run(model, options)
    gate = [p for p in gen.plan_followup(outcome, options) if p.id != "clear_removal_record"]
    result = gen.shape_generalize(outcome, options, check_mode=False, diff_mode=False, host="h1",
                                  followup=execute(model, gate))
    assert result["failed"] is True and result["failed_step"] == "capture_ready"
    assert "0x80070015" in result["msg"] and "the image-prep host record" in result["msg"]
    assert "sysprep" not in model.state


def test_runner_failure_is_reported() -> None:
    options = gen.build_options({})
    outcome = parse_runner_result({"failed": True, "msg": "MODULE FAILURE"}, gen.plan_generalize(options))
    result = gen.shape_generalize(outcome, options, check_mode=False, diff_mode=False, host="h1")
    assert result == {"failed": True, "changed": False, "msg": "the op runner failed on h1: MODULE FAILURE"}


def test_guard_codes_agree_in_registry_powershell_and_simulator() -> None:
    import re

    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import OP_MODULE_UTIL
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops_image import GUARD_ERROR_CODES
    from tests.simhost.ops import image as sim_image
    from tests.simhost.paths import REPO_ROOT

    assert set(GUARD_ERROR_CODES) == set(gen.GUARDS) | {"guard.assert_capture_ready"}
    for op, code in GUARD_ERROR_CODES.items():
        # The codes the guard's own module util assigns (each .psm1 has its own script scope).
        psm1 = (REPO_ROOT / "plugins" / "module_utils" / f"{OP_MODULE_UTIL[op]}.psm1").read_text(encoding="utf-8")
        win32 = {int(n) for n in re.findall(r"^\$script:Error\w+ = (\d+)$", psm1, re.M)}
        assert code >> 16 == 0x8007 and code & 0xFFFF in win32, op
        assert sim_image.GUARD_CODES[op.split("assert_", 1)[1]] == code, op


# --- the host record of what was removed (issue 8, defect 2) ----------------------------------------
RECORD = "HKLM\\SOFTWARE\\mecm.fieldkit\\ImagePrep"


def test_the_batch_records_what_it_removes_and_a_lost_answer_is_recovered_by_the_rerun() -> None:
    model = fixture("ref_assigned")
    options = gen.build_options({})
    lost = run(model, options)  # the first execution ran; its answer never reached the controller
    key = model.reg_key(RECORD)
    assert key is not None and key["SmsUniqueId"] == GUID and key["SiteCode"] == "PS1"
    assert key["ManagementPoint"] == "CM01.contoso.local" and key["TrustedRootKeys"] == 1
    assert {line.split("\t")[1] for line in key["Certificates"]} == SMS_THUMBS
    assert key["ComputerName"] == "REF-W10-01" and key["RecordId"] and key["RecordedUtc"]
    # What that run would have said: the record keeps the machine from being ready until it is reported.
    state = gen.client_state(lost, options)
    assert state["ready_for_capture"] is False
    assert any(p.startswith(f"the image-prep host record {RECORD} is present: it holds the SMS Unique Identifier")
               for p in state["problems"])

    before = model.dump()
    planned = shaped(model, check_mode=True)
    assert model.dump() == before, "check mode removed the record"
    assert planned["removed_identity"]["recovered_from_host_record"] is True
    assert planned["client_state"]["ready_for_capture"] is True and planned["client_state"]["predicted"] is True

    rerun = shaped(model)
    removed = rerun["removed_identity"]
    assert removed["recovered_from_host_record"] is True and removed["recorded_utc"] == key["RecordedUtc"]
    assert removed["sms_unique_id"] == GUID and removed["site_code"] == "PS1"
    assert {c["thumbprint"] for c in removed["certificates"]} == SMS_THUMBS
    assert rerun["host_record"] == {"key": RECORD, "found": True, "written": False, "removed": True, "present": False}
    assert rerun["changed"] is False and rerun["client_state"]["ready_for_capture"] is True
    assert "recovered from the host record" in rerun["msg"]
    assert model.reg_key(RECORD) is None
    assert not [k for k in model.state["registry"] if k.lower().startswith("hklm\\software\\mecm.fieldkit")]


def test_a_record_left_by_a_lost_run_is_kept_and_completed_not_overwritten() -> None:
    model = fixture("ref_assigned")
    model.set_reg_value(RECORD, "RecordId", "older-run")
    model.set_reg_value(RECORD, "RecordedUtc", "2026-11-20T08:00:00Z")
    model.set_reg_value(RECORD, "SmsUniqueId", "GUID:00000000-1111-2222-3333-444444444444")
    model.set_reg_value(RECORD, "Certificates", ["LocalMachine\\My\tAB12\tCN=old\tCN=CA\t"])
    model.set_reg_value(RECORD, "TrustedRootKeys", 0)
    options = gen.build_options({})
    outcome = run(model, options)
    write = outcome.ops["record_removal"]
    assert write.changed and write.after["record_id"] == "older-run"
    assert write.after["sms_unique_id"] == "GUID:00000000-1111-2222-3333-444444444444"
    assert write.after["site_code"] == "PS1" and write.after["trusted_root_keys"] == 1
    assert [c["thumbprint"] for c in write.after["certificates"]][0] == "AB12"
    assert len(write.after["certificates"]) == 3
    # The followup removes exactly that record.
    assert [(p.id, p.args) for p in gen.plan_followup(outcome, options)] == [
        ("clear_removal_record", {"record_id": "older-run"})]


def test_nothing_to_remove_writes_no_record_and_needs_no_second_execution() -> None:
    model = fixture("ref_assigned")
    shaped(model)
    options = gen.build_options({})
    outcome = run(model, options)
    assert outcome.ops["record_removal"].changed is False
    assert gen.plan_followup(outcome, options) == []
    assert model.reg_key(RECORD) is None


def test_a_guard_keeps_the_record_of_a_lost_run() -> None:
    model = fixture("ccmsetup_running")
    model.set_reg_value(RECORD, "RecordId", "older-run")
    model.set_reg_value(RECORD, "SmsUniqueId", GUID)
    result = shaped(model)
    assert result["guard"] == "ccmsetup_idle"
    assert result["removed_identity"]["recovered_from_host_record"] is True
    assert result["host_record"]["present"] is True and model.reg_key(RECORD) is not None


def test_the_capture_gate_refuses_while_the_record_exists() -> None:
    model = fixture("mcs_partial")
    model.set_reg_value(RECORD, "RecordId", "x")
    plan = [gen.PlannedOp("capture_ready", "guard.assert_capture_ready",
                          {"check_sms_store": True, "check_smscfg": True, "check_trusted_root_key": True})]
    outcome = execute(model, plan)
    assert outcome.ops["capture_ready"].status == "failed"
    assert "the image-prep host record HKLM\\SOFTWARE\\mecm.fieldkit\\ImagePrep is present" in (
        outcome.ops["capture_ready"].error or {}).get("message", "")


def test_readiness_counts_every_identity_item_whatever_the_steps() -> None:
    model = fixture("ref_assigned")
    result = shaped(model, {"steps": {"remove_smscfg": False, "reset_site_assignment": False}})
    problems = result["client_state"]["problems"]
    assert result["client_state"]["ready_for_capture"] is False
    assert f"SMSCFG.ini present (SMS Unique Identifier {GUID}): clones would share it; switch on steps.remove_smscfg" \
        in problems
    assert "assigned to site PS1; switch on steps.reset_site_assignment" in problems
