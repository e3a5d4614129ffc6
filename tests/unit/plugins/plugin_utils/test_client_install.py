# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_client_install.py (options, plans, evaluation)."""
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _client_install as inst
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import parse_runner_result
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import build_batch

BASE = {"source_path": "C:\\Install\\Client"}


def options(**extra: t.Any) -> inst.InstallOptions:
    return inst.build_install_options({**BASE, **extra})[0]


def test_properties_and_switches_become_arguments_switches_first() -> None:
    opts, warnings = inst.build_install_options({**BASE, "properties": {"smsmp": "cm01.contoso.local",
                                                                        "DNSSUFFIX": "contoso.local"},
                                                 "switches": ["/mp:cm01.contoso.local", "/forceinstall"],
                                                 "block_management_points": ["cm01.contoso.local", "10.0.0.11"]})
    assert opts.arguments == ("/mp:cm01.contoso.local", "/forceinstall", "SMSMP=cm01.contoso.local",
                              "DNSSUFFIX=contoso.local")
    assert opts.block_management_points == ("cm01.contoso.local", "10.0.0.11")
    assert warnings == []


def test_no_block_list_gives_a_warning() -> None:
    _opts, warnings = inst.build_install_options(dict(BASE))
    assert warnings and "block_management_points is empty" in warnings[0]


@pytest.mark.parametrize(("params", "message"), [
    ({"properties": {"SMSSITECODE": "PS1"}}, "properties.SMSSITECODE is refused: the seed installs the client"),
    ({"properties": {"smssitecode": "AUTO"}}, "properties.smssitecode is refused"),
    ({"switches": ["/smssitecode:PS1"]}, "switches: '/smssitecode:********' is refused"),
    ({"switches": ["/uninstall"]}, "switches: '/uninstall' is not allowed here"),
    ({"switches": ["/mp:a b"]}, "is not a ccmsetup switch"),
    # Values are secrets (no_log): the message names the property, never the value.
    ({"properties": {"SMSMP": "cm01 & calc"}}, "properties.SMSMP: the value (11 characters, not shown) may hold"),
    ({"properties": {"BAD-NAME": "x"}}, "properties.BAD-NAME is not a client.msi/ccmsetup property name"),
    ({"block_management_points": ["cm01;rm"]}, "block_management_points: 'cm01;rm' is not a host name"),
    ({"timeout": 10}, "timeout=10 must be an integer from 60 to 14400"),
    ({"poll_interval": 1000}, "poll_interval=1000 must be an integer from 5 to 600"),
    ({"source_path": "Client"}, "source_path='Client' must be an absolute Windows path"),
])
def test_bad_options_are_refused_with_the_option_and_value(params: dict[str, t.Any], message: str) -> None:
    with pytest.raises(inst.InstallOptionError) as err:
        inst.build_install_options({**BASE, **params})
    assert message in str(err.value)


def test_start_plan_blocks_before_starting_and_waits_once() -> None:
    plan = inst.plan_start(options(block_management_points=["cm01"], poll_interval=90), check_mode=False)
    assert [p.id for p in plan] == ["guard.not_site_system", "guard.no_task_sequence", "block_rule", "start",
                                    "status", "install", "site_assignment"]
    assert plan[2].args == {"name": inst.MP_BLOCK_RULE_NAME, "remote_addresses": ["cm01"], "state": "present"}
    assert plan[4].args == {"wait_seconds": 90, "tail_lines": 20}
    # The reads run also after a failed op: whether ccmsetup runs decides whether the rule may go.
    assert [p.always for p in plan] == [False] * 4 + [True] * 3
    checked = {p.id: p for p in inst.plan_start(options(), check_mode=True)}
    assert checked["status"].args["wait_seconds"] == 0
    build_batch(plan)
    build_batch(inst.plan_poll(30))
    assert inst.plan_cleanup()[0].args == {"name": inst.MP_BLOCK_RULE_NAME, "state": "absent"}


def _outcome(code: int | None, assigned: str = "", components: tuple[str, ...] = ("CcmFramework", "SmsClient"),
             installed: bool = True):
    plan = inst.plan_poll(0)
    raw = {"protocol": 1, "changed": False, "failed_op": None, "results": [
        {"id": "status", "status": "ok", "data": {
            "running": False, "process_ids": [], "service_state": None, "waited_seconds": 0,
            "log_path": "C:\\Windows\\ccmsetup\\Logs\\ccmsetup.log", "log_present": True, "return_code": code,
            "log_tail": ['<![LOG[CcmSetup failed with error code 0x80070643]LOG]!><time="09:00:00.000-540">',
                         f"<![LOG[CcmSetup is exiting with return code {code}]LOG]!><x>"]}},
        {"id": "install", "status": "ok", "data": {
            "installed": installed, "version": "5.00.9132.1011", "version_source": "wmi", "install_path": None,
            "components": [{"name": c, "display_name": c, "version": "5"} for c in components]}},
        {"id": "site_assignment", "status": "ok", "data": {
            "com_available": True, "com_assigned_site": assigned, "registry_assigned_site": assigned or None,
            "auto_assignment": True, "current_management_point": "cm01.contoso.local" if assigned else None,
            "gp_site_assignment": {}, "dns_suffix": None}},
    ]}
    return parse_runner_result(raw, plan)


def test_evaluate_accepts_0_and_7() -> None:
    failure, parts = inst.evaluate(_outcome(0), options(), started=True)
    assert failure is None and parts["client"]["assigned_site"] is None
    failure, parts = inst.evaluate(_outcome(7), options(), started=True)
    assert failure is None and parts["ccmsetup"]["reboot_required"] is True


def test_evaluate_reports_the_return_code_and_the_log() -> None:
    failure, parts = inst.evaluate(_outcome(6), options(), started=True)
    assert failure is not None
    assert failure.startswith("ccmsetup ended with return code 6 (error); see C:\\Windows\\ccmsetup\\Logs\\ccmsetup.log")
    assert "CcmSetup failed with error code 0x80070643" in failure
    assert parts["ccmsetup"]["log_tail"][-1] == "CcmSetup is exiting with return code 6"


def test_evaluate_refuses_an_assigned_client_and_missing_components() -> None:
    failure, _ = inst.evaluate(_outcome(0, assigned="PS1"), options(), started=True)
    assert failure is not None and failure.startswith(
        "the client was assigned to site PS1 through cm01.contoso.local: it reached a management point")
    failure, _ = inst.evaluate(_outcome(0, components=("CcmFramework",)), options(), started=True)
    assert failure == "the client is installed but components are missing: SmsClient"
    failure, _ = inst.evaluate(_outcome(None), options(), started=True)
    assert failure is not None and "without 'CcmSetup is exiting with return code'" in failure
    failure, _ = inst.evaluate(_outcome(None), options(), started=False)
    assert failure is None


def test_without_block_list_a_stale_rule_goes_only_when_no_ccmsetup_runs() -> None:
    plan = inst.plan_start(options(), check_mode=False)
    assert [p.id for p in plan] == ["guard.not_site_system", "guard.no_task_sequence", inst.IDLE_GUARD_ID,
                                    "stale_block_rule", "start", "status", "install", "site_assignment"]
    assert plan[2].op == "guard.assert_ccmsetup_idle"
    assert plan[3].args == {"name": inst.MP_BLOCK_RULE_NAME, "state": "absent"}
    build_batch(plan)
    build_batch(inst.plan_confirm())


@pytest.mark.parametrize(("running", "confirmed", "decision"), [
    (False, False, ("remove", None)),
    (True, False, ("leave", "ccmsetup still runs")),
    (None, False, ("confirm", None)),
    (None, True, ("leave", "whether ccmsetup still runs is unknown (its status could not be read)")),
])
def test_rule_decision(running: bool | None, confirmed: bool, decision: tuple[str, str | None]) -> None:
    assert inst.rule_decision(running, confirmed) == decision


def test_every_value_is_masked() -> None:
    opts = options(properties={"PROVISIONTS": "PS100042", "CCMLOGLEVEL": 0},
                   switches=["/regtoken:eyJ0eXAi.payload.sig", "/forceinstall"])
    assert opts.secrets == ("eyJ0eXAi.payload.sig", "PS100042", "0")
    assert inst.masked_arguments(opts) == ["/regtoken:********", "/forceinstall", "PROVISIONTS=********",
                                           "CCMLOGLEVEL=********"]
    line = ('Command line: "C:\\Install\\Client\\ccmsetup.exe" /regtoken:eyJ0eXAi.payload.sig /forceinstall '
            'PROVISIONTS=PS100042 CCMLOGLEVEL=0; PROVISIONTS="PS100099"; token EYJ0EXAI.PAYLOAD.SIG; exit code 0')
    assert inst.scrub(line, opts) == (
        'Command line: "C:\\Install\\Client\\ccmsetup.exe" /regtoken:******** /forceinstall PROVISIONTS=******** '
        'CCMLOGLEVEL=******** PROVISIONTS="********"; token ********; exit code 0')  # a value may hold ';'
    assert inst.scrub(None, opts) is None and inst.scrub("x", options()) == "x"


def test_evaluate_scrubs_the_log_tail() -> None:
    opts = options(properties={"PROVISIONTS": "PS100042"})
    outcome = _outcome(6)
    outcome.ops["status"].data["log_tail"].append("<![LOG[Command line: ccmsetup.exe PROVISIONTS=PS100042]LOG]!><x>")
    failure, parts = inst.evaluate(outcome, opts, started=True)
    assert parts["ccmsetup"]["log_tail"][-1] == "Command line: ccmsetup.exe PROVISIONTS=********"
    assert parts["ccmsetup"]["arguments"] == ["PROVISIONTS=********"]
    assert "PS100042" not in repr(parts)
