"""The action plugin with the runner replaced: the ansible.windows win_updates test seam
(patch ``_execute_module`` on the plugin instance; nothing below it runs)."""
from __future__ import annotations

import typing as t
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.mecm.fieldkit.plugins.action.win_sccm_client_facts import ActionModule
from tests.simhost.host import Faults
from tests.simhost.model import HostModel, OpContext
from tests.simhost.runner import run_batch
from tests.unit.plugins.action.plugin_factory import make_action


def _plugin(args: dict[str, t.Any] | None = None, check_mode: bool = False) -> ActionModule:
    return make_action(ActionModule, args, check_mode=check_mode)


def _replay(model: HostModel) -> MagicMock:
    """_execute_module answered by the simulator's runner over a host model."""

    def execute(module_name: str, module_args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        assert module_name == "mecm.fieldkit.sccm_op_runner"
        body, _rc = run_batch(model, dict(module_args), OpContext(), Faults(model.state["faults"]))
        return body

    return MagicMock(side_effect=execute)


def test_one_runner_call_returns_facts() -> None:
    plugin = _plugin()
    plugin._execute_module = _replay(HostModel.from_fixture("ref_assigned"))
    result = plugin.run(task_vars={})
    assert plugin._execute_module.call_count == 1
    facts = result["ansible_facts"]["sccm_client"]
    assert facts["site_assignment"]["assigned_site"] == "PS1"
    assert result["changed"] is False
    assert result["invocation"] == {"module_args": {}}


def test_unknown_option_is_rejected_before_any_remote_call() -> None:
    plugin = _plugin({"gather_subset": ["all"]})
    plugin._execute_module = MagicMock()
    with pytest.raises(Exception, match="gather_subset"):
        plugin.run(task_vars={})
    plugin._execute_module.assert_not_called()


def test_connection_failure_propagates_so_the_host_is_unreachable() -> None:
    plugin = _plugin()
    plugin._execute_module = MagicMock(side_effect=AnsibleConnectionFailure("connection refused"))
    with pytest.raises(AnsibleConnectionFailure):
        plugin.run(task_vars={})


def test_module_failure_is_reported_as_runner_failure() -> None:
    plugin = _plugin()
    plugin._execute_module = MagicMock(return_value={"failed": True, "msg": "MODULE FAILURE", "rc": 1,
                                                     "module_stdout": "boom"})
    result = plugin.run(task_vars={})
    assert result["failed"] is True
    assert result["msg"] == "the op runner failed: MODULE FAILURE"
    assert result["module_stdout"] == "boom"


def test_failed_op_gives_step_and_code() -> None:
    model = HostModel.from_fixture("ref_assigned")
    model.state["faults"].append({"op": "client.read_identity", "code": "0x80041003", "message": "Access denied"})
    plugin = _plugin()
    plugin._execute_module = _replay(model)
    result = plugin.run(task_vars={})
    assert result["failed"] is True
    assert result["msg"] == ("could not read the client state: step identity (client.read_identity) failed with "
                             "0x80041003: Access denied")
