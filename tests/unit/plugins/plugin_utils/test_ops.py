from __future__ import annotations

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import (
    OpError,
    PlannedOp,
    all_ops,
    build_batch,
    get_op,
    pascal_to_snake,
    result_problems,
    snake_to_pascal,
    validate_args,
    wire_args_to_snake,
)


def test_names_round_trip() -> None:
    assert snake_to_pascal("stop_timeout_seconds") == "StopTimeoutSeconds"
    assert pascal_to_snake("StopTimeoutSeconds") == "stop_timeout_seconds"
    assert wire_args_to_snake({"ServiceName": 1}) == {"service_name": 1}


def test_registry_has_read_only_and_mutating_ops() -> None:
    ops = all_ops()
    assert ops["service.read"].mutating is False
    assert ops["service.ensure"].mutating is True


def test_unknown_op_is_rejected_with_the_known_names() -> None:
    with pytest.raises(OpError, match="unknown op 'nope.nothing'.*service.read"):
        get_op("nope.nothing")


def test_validate_args_fills_defaults_and_checks_types() -> None:
    spec = get_op("service.ensure")
    args = validate_args(spec, {"name": "CcmExec", "state": "stopped"})
    assert args["stop_timeout_seconds"] == 60 and args["kill_on_timeout"] is True and args["start_mode"] is None
    with pytest.raises(OpError, match="argument state='paused' is not one of: stopped, running"):
        validate_args(spec, {"name": "CcmExec", "state": "paused"})
    with pytest.raises(OpError, match="argument stop_timeout_seconds=True must be of type int"):
        validate_args(spec, {"name": "CcmExec", "stop_timeout_seconds": True})
    with pytest.raises(OpError, match="argument name is required"):
        validate_args(spec, {})
    with pytest.raises(OpError, match="unsupported argument"):
        validate_args(spec, {"name": "x", "display_name": "SMS Agent Host"})


def test_list_elements_are_checked() -> None:
    with pytest.raises(OpError, match="must be a list of str"):
        validate_args(get_op("process.list"), {"names": ["ccmsetup", 3]})


def test_build_batch_uses_powershell_names_and_drops_unset_arguments() -> None:
    batch = build_batch([PlannedOp("stop", "service.ensure", {"name": "CcmExec", "state": "stopped"}, always=True)])
    assert batch == [{
        "id": "stop", "name": "service.ensure", "function": "Set-FieldkitServiceState", "mutating": True,
        "always": True, "args": {"Name": "CcmExec", "State": "stopped", "StopTimeoutSeconds": 60,
                                 "KillOnTimeout": True},
    }]


def test_build_batch_rejects_duplicate_ids() -> None:
    with pytest.raises(OpError, match="duplicate op id 'a'"):
        build_batch([PlannedOp("a", "service.read", {"name": "x"}), PlannedOp("a", "service.read", {"name": "y"})])


def test_result_problems_reports_missing_wrong_and_extra_keys() -> None:
    spec = get_op("service.read")
    good = {"data": {"name": "CcmExec", "exists": True, "state": "running", "start_mode": "auto", "process_id": None}}
    assert result_problems(spec, good) == []
    bad = {"data": {"name": "CcmExec", "exists": "yes", "state": "running", "start_mode": "auto", "pid": 1}}
    problems = result_problems(spec, bad)
    assert "service.read: data.exists='yes' is not bool" in problems
    assert "service.read: data.process_id missing" in problems
    assert "service.read: data has undeclared keys pid" in problems


def test_result_problems_for_mutating_ops_need_changed_before_after() -> None:
    spec = get_op("service.ensure")
    problems = result_problems(spec, {"before": {}, "after": None})
    assert "service.ensure: 'after' missing or not an object" in problems
    assert "service.ensure: 'changed' missing or not a bool" in problems
