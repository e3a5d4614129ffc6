# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_sccm_client_generalize with the runner replaced (the ansible.windows win_updates seam: patch
``_execute_module`` on the plugin instance) by the simulator's runner over a host model."""
from __future__ import annotations

import typing as t
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from ansible_collections.mecm.fieldkit.plugins.action.win_sccm_client_generalize import ActionModule
from tests.simhost.host import Faults
from tests.simhost.model import HostModel, OpContext
from tests.simhost.runner import run_batch
from tests.unit.plugins.action.plugin_factory import make_action


def _plugin(args: dict[str, t.Any] | None = None, check_mode: bool = False, diff: bool = False) -> ActionModule:
    return make_action(ActionModule, args, check_mode=check_mode, diff=diff)


def _replay(model: HostModel, check_mode: bool = False) -> MagicMock:
    def execute(module_name: str, module_args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        assert module_name.startswith("mecm.fieldkit.sccm_op_runner_image"), module_name
        body, _rc = run_batch(model, dict(module_args, _ansible_check_mode=check_mode), OpContext(),
                              Faults(model.state["faults"]))
        return body

    return MagicMock(side_effect=execute)


def test_whole_procedure_is_one_runner_call_and_the_record_removal_a_second() -> None:
    model = HostModel.from_fixture("ref_assigned")
    plugin = _plugin()
    plugin._execute_module = _replay(model)
    result = plugin.run(task_vars={"inventory_hostname": "ref-01"})
    # The procedure is one batch; the host record of what it removed goes once that answer has arrived.
    assert plugin._execute_module.call_count == 2 and result["module_executions"] == 2
    second = plugin._execute_module.call_args_list[1].kwargs["module_args"]["ops"]
    assert [op["name"] for op in second] == ["image.clear_removal_record"]
    # Each execution goes to the smallest runner that has its ops (issue 12: bytes per execution).
    assert [call.kwargs["module_name"] for call in plugin._execute_module.call_args_list] == [
        "mecm.fieldkit.sccm_op_runner_image", "mecm.fieldkit.sccm_op_runner_image_finish"]
    assert result["host_record"]["written"] is True and result["host_record"]["present"] is False
    assert result["changed"] is True and not result.get("failed")
    assert result["invocation"]["module_args"]["scenario"] == "recapture"
    assert "ops" not in result["invocation"]["module_args"]
    assert result["msg"].startswith("prepared for capture: stop_service")


def test_check_and_diff_mode() -> None:
    model = HostModel.from_fixture("ref_assigned")
    before = model.dump()
    plugin = _plugin(check_mode=True, diff=True)
    plugin._execute_module = _replay(model, check_mode=True)
    result = plugin.run(task_vars={"inventory_hostname": "ref-01"})
    assert model.dump() == before
    assert result["diff"]["before_header"] == "ref-01: client identity"
    assert result["diff"]["after"]["smscfg_present"] is False


@pytest.mark.parametrize(("args", "message"), [
    ({"scenario": "both"}, "scenario"),
    ({"steps": {"wipe_disk": True}}, "wipe_disk"),
    ({"pki_certificate_filter": {"thumbprints": ["xyz"]}}, "pki_certificate_filter.thumbprints: 'XYZ' is not a SHA-1"),
    ({"steps": {"remove_pki_certificates": True}}, "needs pki_certificate_filter"),
    ({"service_stop_timeout": 9999}, "service_stop_timeout=9999"),
    ({"ccmcache_path": "D:\\Data"}, "ccmcache_path='D:\\\\Data' must be a folder named ccmcache"),
])
def test_bad_input_fails_before_any_remote_call(args: dict[str, t.Any], message: str) -> None:
    plugin = _plugin(args)
    plugin._execute_module = MagicMock()
    with pytest.raises(Exception, match=None) as err:
        plugin.run(task_vars={})
    assert message in str(err.value)
    plugin._execute_module.assert_not_called()


def test_option_errors_are_action_failures() -> None:
    plugin = _plugin({"steps": {"remove_pki_certificates": True}})
    plugin._execute_module = MagicMock()
    with pytest.raises(AnsibleActionFail, match="invalid options for win_sccm_client_generalize"):
        plugin.run(task_vars={})


class TaskTimeoutError(BaseException):
    """Stands in for ansible-core's task timeout (a BaseException raised by SIGALRM)."""

    def __init__(self, timeout: int) -> None:
        super().__init__(f"Timed out after {timeout} second(s).")
        self.timeout = timeout


@pytest.mark.parametrize(("error", "reason"), [
    (AnsibleConnectionFailure("connection refused"), "the connection was lost before the answer arrived"),
    (ConnectionResetError(104, "Connection reset by peer"), "the connection was lost before the answer arrived"),
    (TaskTimeoutError(15), "no answer within the task timeout of 15 s"),
])
def test_a_lost_answer_is_unreachable_not_a_raw_transport_error(error: BaseException, reason: str) -> None:
    plugin = _plugin()
    plugin._execute_module = MagicMock(side_effect=error)
    result = plugin.run(task_vars={"inventory_hostname": "ref-01"})
    assert result["unreachable"] is True and "failed" not in result
    assert result["msg"].startswith(f"ref-01: the answer of the image-prep batch was lost: {reason}. ")
    assert "the host may already have been changed; rerun to recover what was removed" in result["msg"]
    assert "Timed out after" not in result["msg"] and result["connection_error"]


def test_other_errors_still_propagate() -> None:
    plugin = _plugin()
    plugin._execute_module = MagicMock(side_effect=KeyError("bug"))
    with pytest.raises(KeyError):
        plugin.run(task_vars={})


def test_a_lost_second_answer_still_reports_what_the_first_one_removed() -> None:
    model = HostModel.from_fixture("ref_assigned")
    replay = _replay(model)
    calls = []

    def execute(**kwargs: t.Any) -> dict[str, t.Any]:
        calls.append(kwargs)
        if len(calls) == 2:
            raise AnsibleConnectionFailure("winrm connection error")
        return replay(**kwargs)

    plugin = _plugin()
    plugin._execute_module = MagicMock(side_effect=execute)
    result = plugin.run(task_vars={"inventory_hostname": "ref-01"})
    assert result["unreachable"] is True and result["module_executions"] == 2
    assert result["removed_identity"]["sms_unique_id"] == "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"
    assert "the answer of the second module execution" in result["msg"]
    assert "rerun to recover what was removed" in result["msg"]


def test_module_failure_is_a_runner_failure() -> None:
    plugin = _plugin()
    plugin._execute_module = MagicMock(return_value={"failed": True, "msg": "MODULE FAILURE", "rc": 1,
                                                     "module_stdout": "boom"})
    result = plugin.run(task_vars={"inventory_hostname": "ref-01"})
    assert result["failed"] is True
    assert result["msg"] == "the op runner failed on ref-01: MODULE FAILURE"
    assert result["module_stdout"] == "boom"


def test_runs_do_not_share_mutable_defaults() -> None:
    for _ in range(2):
        plugin = _plugin({"steps": {"empty_ccmcache": True}})
        plugin._execute_module = _replay(HostModel.from_fixture("ref_assigned"))
        plugin.run(task_vars={})
    plugin = _plugin()
    assert plugin.argument_spec["steps"]["default"] == {}
    assert plugin.argument_spec is not plugin.argument_spec
