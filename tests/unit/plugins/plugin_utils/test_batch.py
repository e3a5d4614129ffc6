from __future__ import annotations

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import parse_runner_result
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import PlannedOp

PLAN = [PlannedOp("svc", "service.read", {"name": "CcmExec"}), PlannedOp("stop", "service.ensure", {"name": "CcmExec"})]
SVC = {"name": "CcmExec", "exists": True, "state": "running", "start_mode": "auto", "process_id": 1}


def _raw(**kwargs):
    raw = {"protocol": 1, "changed": False, "failed_op": None, "results": [
        {"id": "svc", "name": "service.read", "status": "ok", "changed": False, "data": SVC},
    ]}
    raw.update(kwargs)
    return raw


def test_successful_ops_and_missing_ones() -> None:
    outcome = parse_runner_result(_raw(), PLAN)
    assert outcome.runner_failed is False
    assert outcome.data("svc") == SVC
    assert outcome.get("stop").status == "missing"
    assert outcome.data("stop") is None


def test_failed_op_summary_names_step_op_and_code() -> None:
    raw = _raw(failed_op="stop", msg="op stop failed")
    raw["results"].append({"id": "stop", "name": "service.ensure", "status": "failed", "changed": False,
                           "error": {"hresult": "0x80070005", "message": "Access is denied."}})
    outcome = parse_runner_result(raw, PLAN)
    assert outcome.error_summary == "step stop (service.ensure) failed with 0x80070005: Access is denied."


def test_module_failure_without_results_is_a_runner_failure() -> None:
    outcome = parse_runner_result({"failed": True, "msg": "MODULE FAILURE"}, PLAN)
    assert outcome.runner_failed and outcome.msg == "MODULE FAILURE"


def test_protocol_mismatch_and_schema_drift_are_reported() -> None:
    raw = _raw(protocol=2)
    raw["results"][0]["data"] = dict(SVC, extra=1)
    outcome = parse_runner_result(raw, PLAN)
    assert outcome.runner_failed
    assert "runner protocol 2 != controller protocol 1" in outcome.msg
    assert "undeclared keys extra" in outcome.msg


def test_result_for_an_unplanned_op_is_reported() -> None:
    raw = _raw()
    raw["results"].append({"id": "ghost", "name": "service.read", "status": "ok", "data": SVC})
    assert "unplanned op 'ghost'" in parse_runner_result(raw, PLAN).msg
