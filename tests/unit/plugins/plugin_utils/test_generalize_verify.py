# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for verify-only image prep (plugins/plugin_utils/_generalize_verify.py).

The plan is checked for read-only ops only; the shaping runs on outcomes of the simulator's runner over
host fixtures, as in test_generalize.py.
"""
from __future__ import annotations

import json
import typing as t

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _generalize as gen
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _generalize_verify as ver
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome, OpOutcome
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._host_contract import MP_BLOCK_RULE_NAME
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import get_op
from tests.unit.plugins.plugin_utils.test_generalize import execute, fixture, shaped

TASK = "\\Microsoft\\Configuration Manager\\Configuration Manager Health Evaluation"
PKI = {"issuer": "Contoso Issuing CA 01", "template": "ConfigMgr Client Certificate"}
FIXTURES = ("ref_assigned", "mcs_partial", "clone_half_prepared", "new_capture", "ref_pki_extras",
            "provisioning_mode", "ccmsetup_running", "task_sequence", "clean_windows", "site_server")


def verify(model: t.Any, params: dict[str, t.Any] | None = None, check_mode: bool = False) -> dict[str, t.Any]:
    options = gen.build_options({"mode": "verify", **(params or {})})
    outcome = execute(model, ver.plan_verify(options), check_mode)
    return ver.shape_verify(outcome, options, check_mode=check_mode, host="h1")


def by_name(result: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {c["name"]: c for c in result["checks"]}


def failed_checks(result: dict[str, t.Any]) -> list[str]:
    return [c["name"] for c in result["checks"] if c["status"] == "failed"]


# --- options and plan ---------------------------------------------------------------------------
def test_mode_defaults_to_prepare_and_verify_refuses_sysprep() -> None:
    assert gen.build_options({}).mode == "prepare"
    assert gen.build_options({}).fail_when_not_ready is True
    assert gen.build_options({"mode": "verify", "fail_when_not_ready": False}).fail_when_not_ready is False
    with pytest.raises(gen.OptionError, match="mode=verify changes nothing"):
        gen.build_options({"mode": "verify", "sysprep": {"enabled": True}})
    with pytest.raises(gen.OptionError, match="mode='check' is not one of"):
        gen.build_options({"mode": "check"})


@pytest.mark.parametrize("params", [{}, {"scenario": "new"}, {"pki_certificate_filter": PKI},
                                    {"remove_mp_block_rules": True, "steps": {"empty_ccmcache": True,
                                                                              "leave_provisioning_mode": True}}])
def test_verify_plan_is_read_only_and_always(params: dict[str, t.Any]) -> None:
    plan = ver.plan_verify(gen.build_options({"mode": "verify", **params}))
    assert plan, "empty plan"
    mutating = [p.op for p in plan if get_op(p.op).mutating]
    assert mutating == [], f"verify plans mutating ops: {mutating}"
    assert all(p.always for p in plan), "a failed read must not stop the other reads"
    ops = {p.op for p in plan}
    # Every read the readiness of the procedure uses, plus what verify adds.
    assert {"client.read_identity", "client.read_site_assignment", "cert.list", "service.read", "task.read",
            "wmi.count_instances", "client.read_provisioning_mode", "image.read_removal_record",
            "ccmsetup.read_status", "client.read_task_sequence", "firewall.read_rule", "site.read_roles"} <= ops
    assert len({p.id for p in plan}) == len(plan)
    rule = next(p for p in plan if p.op == "firewall.read_rule")
    assert rule.args == {"name": MP_BLOCK_RULE_NAME}
    setup = next(p for p in plan if p.op == "ccmsetup.read_status")
    assert setup.args["wait_seconds"] == 0


def test_verify_plan_reads_the_pki_store_only_with_a_filter() -> None:
    without = ver.plan_verify(gen.build_options({"mode": "verify"}))
    with_filter = ver.plan_verify(gen.build_options({"mode": "verify", "pki_certificate_filter": PKI}))
    assert [p.args.get("store_name") for p in without if p.op == "cert.list"] == ["SMS"]
    assert [p.args.get("store_name") for p in with_filter if p.op == "cert.list"] == ["SMS", "My"]


# --- shaping on the simulated hosts -------------------------------------------------------------
@pytest.mark.parametrize("name", FIXTURES)
def test_verify_changes_nothing_and_reports_every_check(name: str) -> None:
    model = fixture(name)
    before = json.dumps(model.dump(), sort_keys=True)
    result = verify(model)
    assert json.dumps(model.dump(), sort_keys=True) == before, f"verify changed {name}"
    assert result["changed"] is False and result["mode"] == "verify" and result["module_executions"] == 1
    assert [c["name"] for c in result["checks"]] == list(ver.CHECKS)
    for check in result["checks"]:
        assert check["status"] in ("passed", "failed", "not_checked")
        assert check["passed"] is {"passed": True, "failed": False, "not_checked": None}[check["status"]]
        assert check["evidence"]
        if check["status"] != "failed":
            assert check["fixed_by"] is None
    assert result["ready_for_capture"] is (not failed_checks(result))
    assert result["client_state"]["ready_for_capture"] is result["ready_for_capture"]
    assert len(result["client_state"]["problems"]) == len(failed_checks(result))


def test_unprepared_reference_machine_fails_with_the_problem_list() -> None:
    result = verify(fixture("ref_assigned"))
    assert result["ready_for_capture"] is False and result["failed"] is True
    assert failed_checks(result) == ["ccmexec_stopped", "sms_certificates", "smscfg", "trusted_root_key",
                                     "site_assignment"]
    checks = by_name(result)
    assert checks["smscfg"]["fixed_by"] == "remove_smscfg"
    assert "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B" in checks["smscfg"]["evidence"]
    assert checks["site_assignment"]["evidence"].startswith("assigned to site PS1")
    assert result["msg"].startswith("h1 is NOT ready for capture: 5 problem(s): ccmexec_stopped: CcmExec running")
    assert "[fixed by steps.remove_sms_certificates]" in result["msg"]
    assert result["msg"].endswith("nothing was changed")


def test_fail_when_not_ready_false_reports_without_failing() -> None:
    result = verify(fixture("ref_assigned"), {"fail_when_not_ready": False})
    assert "failed" not in result and result["ready_for_capture"] is False


@pytest.mark.parametrize("name,remaining", [
    ("mcs_partial", ["ccmexec_start_mode", "trusted_root_key", "site_assignment"]),
    ("clone_half_prepared", ["ccmexec_start_mode", "sms_certificates", "trusted_root_key", "site_assignment"]),
])
def test_half_prepared_machine_lists_exactly_the_remaining_items(name: str, remaining: list[str]) -> None:
    result = verify(fixture(name))
    assert failed_checks(result) == remaining


@pytest.mark.parametrize("name,params", [("ref_assigned", {}), ("mcs_partial", {}), ("clone_half_prepared", {}),
                                         ("ref_pki_extras", {"pki_certificate_filter": PKI})])
def test_prepared_machine_verifies_ready_and_agrees_with_the_procedure(name: str, params: dict[str, t.Any]) -> None:
    model = fixture(name)
    prepared = shaped(model, params)
    assert prepared["client_state"]["ready_for_capture"] is True, prepared["client_state"]["problems"]
    result = verify(model, params)
    assert result["ready_for_capture"] is True, result["msg"]
    assert "failed" not in result
    assert result["msg"].startswith("h1 is ready for capture:") and "nothing was changed" in result["msg"]
    assert by_name(result)["ccmexec_start_mode"]["evidence"] == "CcmExec start mode delayed_auto"


def test_check_mode_gives_the_same_answer() -> None:
    real, check = verify(fixture("mcs_partial")), verify(fixture("mcs_partial"), check_mode=True)
    assert real["checks"] == check["checks"]
    assert check["msg"] == "check mode: " + real["msg"]


def test_identity_items_are_checked_even_when_their_step_is_off() -> None:
    result = verify(fixture("ref_assigned"), {"steps": {"remove_sms_certificates": False, "remove_smscfg": False}})
    checks = by_name(result)
    assert checks["sms_certificates"]["status"] == "failed"
    assert "steps.remove_sms_certificates is off" in checks["sms_certificates"]["evidence"]
    assert checks["smscfg"]["status"] == "failed"


def test_outcome_steps_switched_off_are_not_checked() -> None:
    result = verify(fixture("mcs_partial"), {"steps": {"final_start_mode": False}})
    checks = by_name(result)
    assert checks["ccmexec_start_mode"]["status"] == "not_checked"
    assert checks["ccmexec_start_mode"]["evidence"].startswith("not checked: steps.final_start_mode is off")
    assert checks["gp_site_assignment"]["status"] == "not_checked"
    assert checks["pki_certificates"]["evidence"] == "not checked: no pki_certificate_filter given"
    assert "ccmexec_start_mode" not in failed_checks(result)


def test_disabled_health_task_is_a_problem_unless_kept_as_found() -> None:
    model = fixture("ref_assigned")
    shaped(model)
    model.state["scheduled_tasks"][TASK]["enabled"] = False
    assert failed_checks(verify(model)) == ["health_task_enabled"]
    kept = verify(model, {"health_task_final_state": "as_found"})
    assert kept["ready_for_capture"] is True
    assert by_name(kept)["health_task_enabled"]["status"] == "not_checked"
    assert kept["client_state"]["warnings"] and "warning:" in kept["msg"]


def test_host_record_and_mp_block_rule_make_the_machine_not_ready() -> None:
    model = fixture("ref_assigned")
    shaped(model)
    model.state.setdefault("firewall_rules", {})[MP_BLOCK_RULE_NAME] = {
        "direction": "outbound", "action": "block", "enabled": True, "remote_addresses": ["10.0.0.10"],
        "group": "mecm.fieldkit"}
    result = verify(model)
    assert failed_checks(result) == ["mp_block_rule"]
    assert by_name(result)["mp_block_rule"]["fixed_by"] == "remove_mp_block_rules"
    assert "10.0.0.10" in by_name(result)["mp_block_rule"]["evidence"]


def test_a_read_that_fails_fails_its_check_only() -> None:
    model = fixture("ref_assigned")
    shaped(model)
    options = gen.build_options({"mode": "verify"})
    outcome = execute(model, ver.plan_verify(options))
    outcome.ops["verify.mp_block_rule"] = OpOutcome(id="verify.mp_block_rule", op="firewall.read_rule", status="failed",
                                                    error={"hresult": "0x80070005", "message": "Access is denied."})
    result = ver.shape_verify(outcome, options, check_mode=False, host="h1")
    assert failed_checks(result) == ["mp_block_rule"]
    assert "could not be read: firewall.read_rule failed with 0x80070005" in by_name(result)["mp_block_rule"]["evidence"]


def test_unknown_site_assignment_is_not_ready() -> None:
    model = fixture("ref_assigned")
    shaped(model)
    options = gen.build_options({"mode": "verify"})
    outcome = execute(model, ver.plan_verify(options))
    site = outcome.ops["after.site_assignment"]
    site.data = {**(site.data or {}), "com_available": True, "com_assigned_site": None,
                 "com_error": {"hresult": "0x80041001", "message": "Generic failure"}}
    result = ver.shape_verify(outcome, options, check_mode=False, host="h1")
    assert failed_checks(result) == ["site_assignment"]
    assert "site assignment unknown" in by_name(result)["site_assignment"]["evidence"]


def test_registry_site_assignment_counts_when_com_is_blank() -> None:
    model = fixture("ref_assigned")
    shaped(model)
    options = gen.build_options({"mode": "verify"})
    outcome = execute(model, ver.plan_verify(options))
    site = outcome.ops["after.site_assignment"]
    site.data = {**(site.data or {}), "com_available": True, "com_assigned_site": "", "registry_assigned_site": "PS1"}
    result = ver.shape_verify(outcome, options, check_mode=False, host="h1")
    assert failed_checks(result) == ["site_assignment"]


def test_runner_failure_is_a_failure() -> None:
    outcome = BatchOutcome({}, False, None, True, "boom", {})
    result = ver.shape_verify(outcome, gen.build_options({"mode": "verify"}), check_mode=False, host="h1")
    assert result["failed"] is True and result["changed"] is False and "boom" in result["msg"]


def test_steps_the_imaging_platform_performs_are_warnings_as_in_the_procedure() -> None:
    if not hasattr(gen, "apply_platform_skips"):
        pytest.skip("no imaging-platform step skipping in this tree")
    options = gen.apply_platform_skips(gen.build_options({"mode": "verify"}), {
        "remove_sms_certificates": "skipped: performed by Citrix MCS image preparation (VDA 2311+)",
        "remove_smscfg": "skipped: performed by Citrix MCS image preparation (VDA 2311+)"})
    model = fixture("ref_assigned")
    outcome = execute(model, ver.plan_verify(options))
    result = ver.shape_verify(outcome, options, check_mode=False, host="h1")
    checks = by_name(result)
    assert checks["sms_certificates"]["status"] == "not_checked"
    assert checks["smscfg"]["status"] == "not_checked"
    assert "left for the imaging platform" in checks["smscfg"]["evidence"]
    assert len(result["client_state"]["warnings"]) == 2
    # What the platform does not do still fails.
    assert failed_checks(result) == ["ccmexec_stopped", "trusted_root_key", "site_assignment"]


# --- reports (plugins/plugin_utils/_image_prep_report.py) ---------------------------------------
def test_reports_record_verified_and_not_ready() -> None:
    from xml.etree import ElementTree as ET

    from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_report as report

    model = fixture("ref_assigned")
    shaped(model)
    ready = verify(model)
    not_ready = verify(fixture("mcs_partial"), {"fail_when_not_ready": False})
    failing = verify(fixture("ref_assigned"))  # fail_when_not_ready=true: failed, still "not ready"
    records = {"a": report.host_record("a", ready), "b": report.host_record("b", not_ready),
               "c": report.host_record("c", failing)}
    assert records["a"]["status"] == "verified" and records["a"]["failed"] is False
    assert records["a"]["mode"] == "verify" and records["a"]["ready_for_capture"] is True
    assert records["a"]["module_executions"] == 1 and records["a"]["steps"] == []
    assert records["b"]["status"] == "not ready" and records["b"]["failed"] is True
    assert records["c"]["status"] == "not ready"
    assert records["b"]["msg"].startswith("h1 is NOT ready for capture: 3 problem(s)")
    summary = report.summary(records)
    assert summary["by_status"] == {"not ready": ["b", "c"], "verified": ["a"]}
    assert summary["failed"] == 2 and summary["ready_for_capture"] == ["a"]
    assert set(summary["reasons"]) == {"b", "c"}
    root = ET.fromstring(report.junit_xml(records).split("\n", 1)[1])
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    cases = {c.get("name"): c for c in suites["client_image_prep.b"].findall("testcase")}
    assert set(cases) == {f"verify.{name}" for name in ver.CHECKS}
    assert cases["verify.trusted_root_key"].find("failure") is not None
    assert "fixed by: remove_trusted_root_key" in (cases["verify.trusted_root_key"].find("failure").text or "")
    assert cases["verify.pki_certificates"].find("skipped") is not None
    assert suites["client_image_prep.b"].get("failures") == "3"
    assert suites["client_image_prep.a"].get("failures") == "0" and suites["client_image_prep.a"].get("errors") == "0"
    # A prepare record is unchanged by verify support.
    assert "mode" not in report.host_record("d", shaped(fixture("ref_assigned")))
