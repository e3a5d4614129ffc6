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
    assert result["msg"].startswith("the client was assigned to site PS1 through cm01.contoso.local")
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


def test_timeout_fails_and_removes_the_rule() -> None:
    model = _host(duration_seconds=5000)
    result, execute = _run(model, dict(ARGS, keep_block_rule=True, timeout=300, poll_interval=120))
    assert result["failed"] is True
    assert result["msg"].startswith("ccmsetup still runs on ref-new after 300 s (timeout 300 s, 3 polls)")
    assert execute.call_count == 4  # start, 2 polls, cleanup
    assert model.state["firewall_rules"] == {}


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
    assert result["unreachable"] is True and result["module_executions"] == 3


def test_bad_options_fail_before_any_remote_call() -> None:
    plugin = _plugin({"source_path": "C:\\Install\\Client", "properties": {"SMSSITECODE": "PS1"}})
    plugin._execute_module = MagicMock()
    with pytest.raises(Exception) as err:
        plugin.run(task_vars={})
    assert "properties.SMSSITECODE is refused" in str(err.value)
    plugin._execute_module.assert_not_called()
