# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the imaging-platform facts (_imaging_platform) and the platform skip rule of image prep."""
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _generalize as gen
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _imaging_platform as ip
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._client_facts import plan_client_facts, shape_client_facts
from tests.unit.plugins.plugin_utils.test_generalize import execute, fixture, steps_by_name

SKIP = "skipped: performed by Citrix MCS image preparation (VDA 2311+)"


def facts_of(name: str) -> dict[str, t.Any]:
    outcome = execute(fixture(name), plan_client_facts())
    assert not outcome.failed_op, outcome.error_summary
    return shape_client_facts(outcome)["imaging_platform"]


# --- shaping ------------------------------------------------------------------------------------
@pytest.mark.parametrize("version, release", [
    ("2311.0.0.29", 2311), ("2203.0.4000.6", 2203), ("2402", 2402), (" 2411.0.1 ", 2411),
    ("7.33.4000.6", None), ("7.15.9000.1", None), ("", None), (None, None), ("banana", None), ("0999.1", None),
])
def test_citrix_release_reads_yymm_numbers_only(version: str | None, release: int | None) -> None:
    assert ip.citrix_release(version) == release


def test_no_platform_on_the_reference_vm() -> None:
    facts = facts_of("ref_assigned")
    assert facts["detected"] == [] and facts["handles_steps"] == []
    for name in ("citrix_vda", "bisf", "horizon", "avd"):
        assert facts[name]["installed"] is False and facts[name]["evidence"] == []
    assert facts["citrix_vda"]["mcs_configmgr_step"] is None and facts["citrix_vda"]["mcs_configmgr_cleanup"] is None


def test_citrix_vda_2311_has_the_mcs_configmgr_step_and_an_unconfirmed_cleanup() -> None:
    citrix = facts_of("platform_citrix_vda_2311")["citrix_vda"]
    assert citrix["installed"] and citrix["version"] == "2311.0.0.29" and citrix["release"] == 2311
    assert citrix["version_source"] == "uninstall_entry"
    assert citrix["mcs_configmgr_step"] is True
    # Never a guess: what the Citrix step removes is not confirmed from vendor documentation.
    assert citrix["mcs_configmgr_cleanup"] is None and "not confirmed" in citrix["note"]
    assert "service BrokerAgent exists" in citrix["evidence"]
    assert facts_of("platform_citrix_vda_2311")["handles_steps"] == ["remove_sms_certificates", "remove_smscfg"]


def test_citrix_vda_2203_has_no_mcs_configmgr_step() -> None:
    facts = facts_of("platform_citrix_vda_2203")
    assert facts["citrix_vda"]["release"] == 2203 and facts["citrix_vda"]["mcs_configmgr_step"] is False
    assert facts["handles_steps"] == []


def test_citrix_without_a_version_is_unknown_not_true() -> None:
    shaped = ip.shape_imaging_platform({"citrix_vda": {"key_present": True, "uninstall_present": False}})
    assert shaped["citrix_vda"]["installed"] and shaped["citrix_vda"]["mcs_configmgr_step"] is None
    assert "unknown" in shaped["citrix_vda"]["note"] and shaped["handles_steps"] == []
    legacy = ip.shape_imaging_platform({"citrix_vda": {"uninstall_present": True, "uninstall_version": "7.33.4000.6"}})
    assert legacy["citrix_vda"]["mcs_configmgr_step"] is None and legacy["handles_steps"] == []


def test_bisf_horizon_and_avd_are_seen_and_take_no_step() -> None:
    bisf = facts_of("platform_bisf")
    assert bisf["detected"] == ["bisf"] and bisf["bisf"]["version"] == "7.1912.5" and bisf["bisf"]["path_exists"] is True
    assert bisf["handles_steps"] == [] and "BIS-F runs its own ConfigMgr preparation" in bisf["bisf"]["note"]
    horizon = facts_of("platform_horizon")
    assert horizon["detected"] == ["horizon"] and horizon["horizon"]["vendor"] == "VMware"
    assert horizon["horizon"]["version"] == "8.12.0" and horizon["handles_steps"] == []
    avd = facts_of("platform_avd")
    assert avd["detected"] == ["avd"] and avd["avd"]["agent_service"] and avd["avd"]["boot_loader_service"]
    assert avd["handles_steps"] == []


def test_bisf_install_folder_missing_is_reported() -> None:
    model = fixture("platform_bisf")
    model.state["folders"] = []
    outcome = execute(model, plan_client_facts())
    bisf = shape_client_facts(outcome)["imaging_platform"]["bisf"]
    assert bisf["installed"] and bisf["path_exists"] is False and any("is missing" in e for e in bisf["evidence"])


def test_platforms_are_read_by_key_and_service_name_not_display_name() -> None:
    model = fixture("ref_assigned")
    # A service whose display name says Citrix but whose service name is not BrokerAgent is not evidence.
    model.state["services"]["SomethingElse"] = {"state": "running", "start_mode": "auto", "process_id": 1,
                                               "display_name": "Citrix Desktop Service"}
    outcome = execute(model, plan_client_facts())
    assert shape_client_facts(outcome)["imaging_platform"]["detected"] == []


# --- the skip rule ------------------------------------------------------------------------------
def test_skip_rule_takes_over_only_for_citrix_2311_and_only_with_auto() -> None:
    assert ip.platform_handled_steps("none", facts_of("platform_citrix_vda_2311")) == {}
    assert ip.platform_handled_steps("auto", None) == {}
    skips = ip.platform_handled_steps("auto", facts_of("platform_citrix_vda_2311"))
    assert skips == {"remove_sms_certificates": SKIP, "remove_smscfg": SKIP}
    for name in ("ref_assigned", "platform_citrix_vda_2203", "platform_bisf", "platform_horizon", "platform_avd"):
        assert ip.platform_handled_steps("auto", facts_of(name)) == {}, name


def test_apply_platform_skips_switches_off_only_steps_that_were_on() -> None:
    options = gen.build_options({"steps": {"remove_smscfg": False}})
    applied = gen.apply_platform_skips(options, {"remove_sms_certificates": SKIP, "remove_smscfg": SKIP})
    assert applied.platform_skipped == {"remove_sms_certificates": SKIP}
    assert not applied.enabled("remove_sms_certificates") and not applied.enabled("remove_smscfg")
    assert gen.apply_platform_skips(options, {}) is options


def _shaped(model: t.Any, options: gen.GeneralizeOptions) -> dict[str, t.Any]:
    outcome = execute(model, gen.plan_generalize(options))
    second = gen.plan_followup(outcome, options)
    followup = execute(model, second) if second else None
    return gen.shape_generalize(outcome, options, check_mode=False, diff_mode=False, host="h1", followup=followup)


def test_generalize_leaves_the_citrix_steps_to_mcs_and_says_why() -> None:
    model = fixture("platform_citrix_vda_2311")
    options = gen.apply_platform_skips(gen.build_options({}),
                                       ip.platform_handled_steps("auto", facts_of("platform_citrix_vda_2311")))
    plan_ids = [op.id for op in gen.plan_generalize(options)]
    assert "remove_sms_certificates" not in plan_ids and "remove_smscfg" not in plan_ids
    result = _shaped(model, options)
    assert not result.get("failed"), result["msg"]
    steps = steps_by_name(result)
    for step in ("remove_sms_certificates", "remove_smscfg"):
        assert steps[step]["status"] == "skipped" and steps[step]["detail"] == SKIP
    for step in ("stop_service", "remove_trusted_root_key", "reset_site_assignment"):
        assert steps[step]["status"] == "changed", steps[step]
    assert steps["final_start_mode"]["status"] in ("changed", "ok") and steps["final_start_mode"]["verified"]
    # What the platform removes is not a capture blocker but is said.
    state = result["client_state"]
    assert state["ready_for_capture"] is True, state["problems"]
    assert any(w.startswith("left for the imaging platform: SMSCFG.ini present") for w in state["warnings"])
    assert any("LocalMachine\\SMS" in w for w in state["warnings"])
    assert model.file("C:\\Windows\\SMSCFG.ini") is not None
    # The host record lists only what this run removed.
    assert result["removed_identity"]["sms_unique_id"] is None


def test_generalize_with_none_runs_the_steps_on_the_citrix_fixture() -> None:
    model = fixture("platform_citrix_vda_2311")
    options = gen.apply_platform_skips(gen.build_options({}),
                                       ip.platform_handled_steps("none", facts_of("platform_citrix_vda_2311")))
    result = _shaped(model, options)
    steps = steps_by_name(result)
    assert steps["remove_sms_certificates"]["status"] == "changed"
    assert steps["remove_smscfg"]["status"] == "changed"
    assert model.file("C:\\Windows\\SMSCFG.ini") is None


def test_sysprep_gate_does_not_wait_for_what_the_platform_removes() -> None:
    options = gen.apply_platform_skips(gen.build_options({"sysprep": {"enabled": True}}),
                                       {"remove_sms_certificates": SKIP, "remove_smscfg": SKIP})
    gate = next(op for op in gen._sysprep_ops(options) if op.id == "capture_ready")
    assert gate.args["check_sms_store"] is False and gate.args["check_smscfg"] is False
    assert gate.args["check_trusted_root_key"] is True
    plain = next(op for op in gen._sysprep_ops(gen.build_options({"sysprep": {"enabled": True}}))
                 if op.id == "capture_ready")
    assert plain.args["check_sms_store"] is True and plain.args["check_smscfg"] is True
