# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_sccm_client_install: the start / poll cycle with ``_execute_module`` answered by the simulator's
runner (simulated time: a status read that waits N seconds advances ccmsetup by N seconds)."""
from __future__ import annotations

import typing as t
from unittest.mock import MagicMock

import pytest

from ansible_collections.mecm.fieldkit.plugins.action import win_sccm_client_install
from ansible_collections.mecm.fieldkit.plugins.action.win_sccm_client_install import ActionModule
from tests.simhost.host import Faults
from tests.simhost.model import HostModel, OpContext
from tests.simhost.runner import run_batch
from tests.unit.plugins.action.plugin_factory import make_action

RULE = "mecm.fieldkit - block ConfigMgr management points during client install"
ARGS = {"source_path": "C:\\Install\\Client", "properties": {"SMSMP": "cm01.contoso.local"},
        "block_management_points": ["cm01.contoso.local"]}


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> MagicMock:
    display = MagicMock()
    monkeypatch.setattr(win_sccm_client_install, "display", display)
    return display


def _plugin(args: dict[str, t.Any], check_mode: bool = False) -> ActionModule:
    return make_action(ActionModule, args, check_mode=check_mode)


def _host(**profile: t.Any) -> HostModel:
    model = HostModel.from_fixture("new_capture")
    model.state["name"] = "ref-new"
    model.state["ccmsetup_profile"].update(profile)
    return model


def _run(model: HostModel, args: dict[str, t.Any], check_mode: bool = False,
         answers: list[t.Any] | None = None) -> tuple[dict[str, t.Any], MagicMock]:
    plugin = _plugin(args, check_mode)
    scripted = list(answers or [])

    def execute(module_name: str, module_args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        if scripted:
            answer = scripted.pop(0)
            if answer is not None:
                return answer
        body, _rc = run_batch(model, dict(module_args, _ansible_check_mode=check_mode), OpContext(),
                              Faults(model.state["faults"]))
        return body

    plugin._execute_module = MagicMock(side_effect=execute)
    return plugin.run(task_vars={"inventory_hostname": "ref-new"}), plugin._execute_module


def test_five_minute_install_is_three_executions_and_the_rule_goes(quiet: MagicMock) -> None:
    model = _host(duration_seconds=300)
    result, execute = _run(model, ARGS)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] is True
    # start (+120 s), poll (+120 s), poll (+60 s, done), cleanup of the block rule
    assert execute.call_count == 4 and result["module_executions"] == 4
    assert [p["waited_seconds"] for p in result["polls"]] == [120, 120, 60]
    assert result["elapsed_seconds"] == 300
    assert result["client"]["assigned_site"] is None and result["client"]["installed"] is True
    assert result["mp_block_rule"] == {"name": RULE, "remote_addresses": ["10.0.0.10"], "kept": False,
                                       "removed": True}
    assert model.state["firewall_rules"] == {}
    assert quiet.display.call_count == 2
    assert "ccmsetup still running after 120 s (poll 1)" in quiet.display.call_args_list[0].args[0]


def test_kept_rule_stays_for_generalize() -> None:
    model = _host(duration_seconds=100)
    result, execute = _run(model, dict(ARGS, keep_block_rule=True))
    assert execute.call_count == 1 and result["module_executions"] == 1
    assert result["mp_block_rule"]["kept"] is True
    assert model.state["firewall_rules"][RULE]["remote_addresses"] == ["10.0.0.10"]


def test_unblocked_mp_assigns_the_site_and_fails_the_install() -> None:
    model = _host(duration_seconds=60)
    result, _ = _run(model, {"source_path": "C:\\Install\\Client", "properties": {"SMSMP": "cm01.contoso.local"}})
    assert result["failed"] is True
    # The MP name is the SMSMP value, a secret like every property value: masked in the message, while the
    # host fact that the client reports is returned as read.
    assert result["msg"].startswith("the client was assigned to site PS1 through ********")
    assert result["client"]["current_management_point"] == "cm01.contoso.local"
    assert result["warnings"][0].startswith("block_management_points is empty")


@pytest.mark.parametrize(("code", "failed", "reboot"), [(0, False, False), (7, False, True), (6, True, False)])
def test_return_codes(code: int, failed: bool, reboot: bool) -> None:
    model = _host(duration_seconds=60, return_code=code)
    result, _ = _run(model, dict(ARGS, keep_block_rule=True))
    assert bool(result.get("failed")) is failed
    assert bool(result.get("reboot_required")) is reboot
    assert result["ccmsetup"]["return_code"] == code
    if failed:
        assert "ccmsetup ended with return code 6 (error)" in result["msg"]
        # A failed install never keeps the block rule.
        assert model.state["firewall_rules"] == {}
        assert result["mp_block_rule"]["removed"] is True


def test_timeout_fails_and_leaves_the_rule_while_ccmsetup_runs() -> None:
    model = _host(duration_seconds=5000)
    result, execute = _run(model, dict(ARGS, keep_block_rule=True, timeout=300, poll_interval=120))
    assert result["failed"] is True
    assert result["msg"].startswith("ccmsetup still runs on ref-new after 300 s (timeout 300 s, 3 polls)")
    # ccmsetup still runs: the rule stays (lifting it would let the install reach an MP), and no extra call.
    assert execute.call_count == 3  # start, 2 polls
    assert f"The MP block rule {RULE!r} was left in place because ccmsetup still runs" in result["msg"]
    assert result["mp_block_rule"]["left_in_place"] is True and result["mp_block_rule"]["kept"] is False
    assert result["changed"] is True  # ccmsetup was started
    assert RULE in model.state["firewall_rules"] and model.state.get("ccmsetup_job")


def test_already_installed_is_one_execution_and_unchanged() -> None:
    model = _host(duration_seconds=60)
    _run(model, dict(ARGS, keep_block_rule=True))
    result, execute = _run(model, {"source_path": "C:\\Install\\Client", "block_management_points": []})
    assert result["changed"] is False and not result.get("failed")
    assert execute.call_count == 1
    assert result["msg"] == "the client is already installed (ccmsetup return code 0)"


def test_check_mode_starts_nothing() -> None:
    model = _host()
    before = model.dump()
    result, execute = _run(model, ARGS, check_mode=True)
    assert model.dump() == before
    assert execute.call_count == 1
    assert result["changed"] is True and result["msg"] == "check mode: would start ccmsetup"


def test_missing_ccmsetup_names_the_step_and_code_and_cleans_up() -> None:
    model = _host()
    result, execute = _run(model, dict(ARGS, source_path="C:\\Nowhere"))
    assert result["failed"] is True
    assert result["msg"].startswith("step start failed on ref-new (ccmsetup.start) with 0x80070002")
    assert execute.call_count == 2
    assert model.state.get("firewall_rules") == {}


def test_guard_stops_the_install() -> None:
    model = HostModel.from_fixture("site_server")
    result, execute = _run(model, ARGS)
    assert result["failed"] is True and "guard not_site_system stopped the client install" in result["msg"]
    assert execute.call_count == 1  # the guard ran before the rule: nothing to clean up


def test_unreachable_mid_poll_is_unreachable_with_the_count() -> None:
    model = _host(duration_seconds=300)
    result, _ = _run(model, ARGS, answers=[None, {"unreachable": True, "msg": "connection reset"}])
    # No cleanup call to a lost host: the rule stays with the ccmsetup it protects.
    assert result["unreachable"] is True and result["module_executions"] == 2
    assert result["changed"] is True and result["ccmsetup"]["started"] is True
    assert result["mp_block_rule"]["left_in_place"] is True
    assert "ccmsetup may still be running and the host may already have been changed" in result["msg"]
    assert "connection reset" in result["msg"]
    assert RULE in model.state["firewall_rules"]


def test_bad_options_fail_before_any_remote_call() -> None:
    plugin = _plugin({"source_path": "C:\\Install\\Client", "properties": {"SMSSITECODE": "PS1"}})
    plugin._execute_module = MagicMock()
    with pytest.raises(Exception) as err:
        plugin.run(task_vars={})
    assert "properties.SMSSITECODE is refused" in str(err.value)
    plugin._execute_module.assert_not_called()


# --- issue 8: the MP block rule stays while ccmsetup may run; lost hosts; secrets ----------------------
RPC_UNAVAILABLE = {"op": "ccmsetup.read_status", "code": "0x800706BA", "message": "The RPC server is unavailable"}
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWYtbmV3In0.c2lnbmF0dXJl"


def test_failed_first_status_read_leaves_the_rule_with_the_running_ccmsetup() -> None:
    model = _host(duration_seconds=300)
    model.state["faults"].append(dict(RPC_UNAVAILABLE, times=1))
    result, execute = _run(model, ARGS)
    assert result["failed"] is True
    assert result["msg"].startswith("step status failed on ref-new (ccmsetup.read_status) with 0x800706BA")
    # A confirmation read (no wait) shows ccmsetup still running: the rule stays, and the result says why.
    assert execute.call_count == 2
    assert "was left in place because ccmsetup still runs" in result["msg"]
    assert result["mp_block_rule"] == {"name": RULE, "remote_addresses": ["10.0.0.10"], "kept": False,
                                       "left_in_place": True, "reason": "ccmsetup still runs"}
    assert result["changed"] is True and result["ccmsetup"]["started"] is True
    assert model.state["firewall_rules"][RULE]["remote_addresses"] == ["10.0.0.10"]
    assert model.state["ccmsetup_job"]["pid"]

    # The next run waits for that ccmsetup, then removes the rule.
    again, execute = _run(model, ARGS)
    assert not again.get("failed"), again["msg"]
    assert again["changed"] is False and again["ccmsetup"]["started"] is False
    assert again["mp_block_rule"]["removed"] is True
    assert model.state["firewall_rules"] == {} and "ccmsetup_job" not in model.state


def test_status_unreadable_after_start_leaves_the_rule_as_unknown() -> None:
    model = _host(duration_seconds=300)
    model.state["faults"].append(dict(RPC_UNAVAILABLE))
    result, execute = _run(model, dict(ARGS, keep_block_rule=True))
    assert execute.call_count == 2  # start, confirmation read (fails too); never the removal
    assert result["mp_block_rule"]["left_in_place"] is True
    assert result["mp_block_rule"]["reason"].startswith("whether ccmsetup still runs is unknown")
    assert RULE in model.state["firewall_rules"]


def test_failure_after_ccmsetup_ended_removes_the_rule() -> None:
    model = _host(duration_seconds=60)  # ends within the first wait
    model.state["faults"].append({"op": "client.read_install", "code": "0x80041010", "message": "Invalid class"})
    result, execute = _run(model, dict(ARGS, keep_block_rule=True))
    assert result["failed"] is True and "0x80041010" in result["msg"]
    assert execute.call_count == 2  # start, removal (the status read of the start batch showed ccmsetup ended)
    assert result["mp_block_rule"]["removed"] is True and "left_in_place" not in result["mp_block_rule"]
    assert model.state["firewall_rules"] == {}


def test_lost_start_answer_is_unreachable_and_says_the_host_may_have_changed() -> None:
    model = _host(duration_seconds=300)
    result, execute = _run(model, ARGS, answers=[{"unreachable": True, "msg": "Timed out after 15 second(s)"}])
    assert result["unreachable"] is True and execute.call_count == 1
    assert "the host may already have been changed" in result["msg"]
    assert result["ccmsetup"]["started"] is None
    assert result["mp_block_rule"]["left_in_place"] is True


@pytest.mark.parametrize("error", [
    pytest.param(lambda: __import__("requests").exceptions.ConnectionError(
        "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"),
        id="requests"),
    pytest.param(lambda: __import__("ansible.errors", fromlist=["x"]).AnsibleConnectionFailure("winrm connection error"),
                 id="ansible"),
    # ansible-core's task `timeout` (ansible._internal._errors._task_timeout.TaskTimeoutError, a BaseException)
    pytest.param(lambda: type("TaskTimeoutError", (BaseException,), {})("Timed out after 15 second(s)"), id="timeout"),
])
def test_transport_error_mid_poll_is_unreachable_not_a_raw_failure(error: t.Callable[[], BaseException]) -> None:
    model = _host(duration_seconds=300)
    calls: list[int] = []

    def execute(module_name: str, module_args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        calls.append(1)
        body, _rc = run_batch(model, dict(module_args, _ansible_check_mode=False), OpContext(),
                              Faults(model.state["faults"]))
        if len(calls) == 2:
            raise error()  # the poll ran on the host; its answer is lost
        return body

    plugin = _plugin(ARGS)
    plugin._execute_module = MagicMock(side_effect=execute)
    result = plugin.run(task_vars={"inventory_hostname": "ref-new"})
    assert result["unreachable"] is True and result["module_executions"] == 2
    assert "ref-new became unreachable while ccmsetup (started by this run) was waited for" in result["msg"]
    assert RULE in model.state["firewall_rules"]


def test_other_errors_are_not_taken_for_a_lost_host() -> None:
    plugin = _plugin(ARGS)
    plugin._execute_module = MagicMock(side_effect=ValueError("a bug"))
    with pytest.raises(ValueError):
        plugin.run(task_vars={"inventory_hostname": "ref-new"})


def test_stale_rule_goes_without_block_management_points_when_no_ccmsetup_runs() -> None:
    model = _host(duration_seconds=60)
    _run(model, dict(ARGS, keep_block_rule=True))  # installed; the rule kept for generalize, which never ran
    assert RULE in model.state["firewall_rules"]
    result, execute = _run(model, {"source_path": "C:\\Install\\Client"})
    assert execute.call_count == 1 and not result.get("failed")
    assert result["mp_block_rule"] == {"name": RULE, "stale": True, "kept": False, "removed": True,
                                       "remote_addresses": ["10.0.0.10"]}
    assert model.state["firewall_rules"] == {}


def test_stale_rule_stays_until_the_running_ccmsetup_of_a_lost_run_has_ended() -> None:
    model = _host(duration_seconds=600)
    _run(model, ARGS, answers=[None, {"unreachable": True, "msg": "connection reset"}])
    assert model.state["ccmsetup_job"]["elapsed_seconds"] == 120 and RULE in model.state["firewall_rules"]
    seen: list[tuple[bool, bool]] = []

    def execute(module_name: str, module_args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        body, _rc = run_batch(model, dict(module_args, _ansible_check_mode=False), OpContext(),
                              Faults(model.state["faults"]))
        seen.append((RULE in model.state["firewall_rules"], "ccmsetup_job" in model.state))
        return body

    # The next run without block_management_points: the idle guard trips, the run waits for that ccmsetup.
    plugin = _plugin({"source_path": "C:\\Install\\Client", "poll_interval": 120})
    plugin._execute_module = MagicMock(side_effect=execute)
    result = plugin.run(task_vars={"inventory_hostname": "ref-new"})
    assert not result.get("failed"), result["msg"]
    # start batch (guard trips, its status read waits 120 s), 3 polls (the last one sees the end), removal
    assert seen == [(True, True), (True, True), (True, True), (True, False), (False, False)]
    assert result["ccmsetup"]["started"] is False and result["mp_block_rule"]["removed"] is True
    assert result["changed"] is False


def test_check_mode_with_a_failing_status_read_changes_nothing() -> None:
    model = _host(duration_seconds=300)
    model.state["faults"].append(dict(RPC_UNAVAILABLE))
    before = model.dump()
    result, execute = _run(model, ARGS, check_mode=True)
    assert execute.call_count == 1 and result["failed"] is True
    assert "left_in_place" not in (result.get("mp_block_rule") or {})
    assert model.dump() == before


def test_secrets_never_come_back() -> None:
    model = _host(duration_seconds=60, return_code=6)  # a failure: the message carries the log tail
    args = dict(ARGS, switches=[f"/regtoken:{TOKEN}", "/forceinstall"],
                properties={"SMSMP": "cm01.contoso.local", "PROVISIONTS": "PS100042"})
    result, _ = _run(model, args)
    text = repr(result)
    for secret in (TOKEN, "PS100042"):
        assert secret not in text
    assert result["invocation"]["module_args"]["switches"] == ["/regtoken:********", "/forceinstall"]
    assert result["invocation"]["module_args"]["properties"] == {"SMSMP": "********", "PROVISIONTS": "********"}
    assert result["ccmsetup"]["arguments"] == ["/regtoken:********", "/forceinstall", "SMSMP=********",
                                               "PROVISIONTS=********"]
    command_line = next(line for line in result["ccmsetup"]["log_tail"] if line.startswith("Command line:"))
    assert command_line.endswith("/regtoken:******** /forceinstall SMSMP=******** PROVISIONTS=********")
    # The host got the real arguments.
    assert f"/regtoken:{TOKEN}" in model.state["files"]["C:\\Windows\\ccmsetup\\Logs\\ccmsetup.log"]


def test_bad_secret_values_are_not_echoed() -> None:
    plugin = _plugin({"source_path": "C:\\Install\\Client", "properties": {"PROVISIONTS": "PS1 00042"},
                      "switches": [f"/regtoken {TOKEN}"]})
    plugin._execute_module = MagicMock()
    with pytest.raises(Exception) as err:
        plugin.run(task_vars={})
    assert "PS1 00042" not in str(err.value) and TOKEN not in str(err.value)
    assert "properties.PROVISIONTS: the value (9 characters, not shown)" in str(err.value)
    assert "switches: '/regtoken:********' is not a ccmsetup switch" in str(err.value)


def test_the_argument_spec_marks_properties_and_switches_no_log() -> None:
    spec = ActionModule.argument_spec
    assert spec["properties"]["no_log"] is True and spec["switches"]["no_log"] is True
