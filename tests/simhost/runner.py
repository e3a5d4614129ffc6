"""Python emulation of plugins/modules/sccm_op_runner.ps1 over a simulated host.

It follows the .ps1 step by step: protocol check, ops in order, check mode passed to mutating ops
only, stop at the first failure, ``always`` ops still run, one typed result per op, FailJson with
a message naming the op and its error code.
"""
from __future__ import annotations

import time
import typing as t

from .model import E_INVALIDARG, HostModel, OpContext, SimWindowsError
from .ops import load_all
from .paths import ensure_collection_link

ensure_collection_link()

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _host_contract, _ops  # noqa: E402

# Load both registries before any request thread runs.
_ops.all_ops()
load_all()
RUNNER_MODULES = frozenset(_ops.RUNNERS)

PROTOCOL_VERSION = _host_contract.RUNNER_PROTOCOL
_RUNNER_OPTIONS = {"ops", "protocol"}
# The _ansible_ options the runner takes ($script:RunnerInternalOptions of _FieldkitCommon.psm1).
_INTERNAL_OPTIONS = _host_contract.runner_internal_options()


class FaultTable(t.Protocol):
    def take(self, op_name: str, args: dict[str, t.Any], ctx: OpContext) -> SimWindowsError | None: ...


def _module_fail(msg: str, params: dict[str, t.Any]) -> tuple[dict[str, t.Any], int]:
    return {"changed": False, "failed": True, "msg": msg, "invocation": {"module_args": params}}, 1


def _validate_top(params: dict[str, t.Any], module_name: str) -> str | None:
    # Types as Test-FieldkitRunnerValue checks them: the registry's (an int is never a bool).
    """Get-FieldkitRunnerProblem of _FieldkitCommon.psm1: what the runner rejects before any op runs (and the
    defaults of the optional op fields, set in place)."""
    unknown = sorted(set(params) - _RUNNER_OPTIONS)
    if unknown:
        return (f"Unsupported parameters for ({module_name}) module: {', '.join(unknown)}. "
                "Supported parameters include: ops, protocol")
    if not _ops._type_ok(params.get("ops"), "list"):
        return "missing required arguments: ops (a list of op dictionaries)"
    if not _ops._type_ok(params.get("protocol"), "int"):
        return "missing required arguments: protocol (an integer)"
    for index, op in enumerate(params["ops"]):
        if not isinstance(op, dict):
            return f"ops[{index}] must be a dictionary"
        extra = sorted(set(op) - set(_ops.RUNNER_OP_FIELDS))
        if extra:
            return f"ops[{index}] has unsupported fields: {', '.join(extra)}; supported: {', '.join(_ops.RUNNER_OP_FIELDS)}"
        for field, declared in _ops.RUNNER_OP_FIELDS.items():
            type_name = declared.rstrip("?")
            if field not in op and declared.endswith("?"):
                op[field] = _host_contract.runner_op_default(declared)
            if field not in op or not _ops._type_ok(op[field], type_name):
                return f"ops[{index}].{field} must be a {type_name}"
    return None


def _invoke(host: HostModel, ctx: OpContext, op: dict[str, t.Any], check_mode: bool,
            faults: FaultTable, loaded_functions: set[str] | None) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {"id": op["id"], "name": op["name"], "status": "ok", "changed": False}
    started = time.perf_counter()
    impls = load_all()
    try:
        spec = _ops.all_ops().get(op["name"])
        impl = impls.get(op["name"])
        loaded = loaded_functions is None or str(op.get("function", "")).lower() in loaded_functions
        if spec is None or impl is None or spec.ps_function != op.get("function") or not loaded:
            raise SimWindowsError(0x80070032, f"op {op['name']}: PowerShell function {op.get('function')} is not loaded",
                                  op["name"])
        args = _ops.wire_args_to_snake(op.get("args") or {})
        unknown = sorted(set(args) - {a.name for a in spec.args})
        if unknown:
            raise SimWindowsError(E_INVALIDARG,
                                  f"A parameter cannot be found that matches parameter name '{_ops.snake_to_pascal(unknown[0])}'.",
                                  op["name"], "InvalidArgument")
        injected = faults.take(op["name"], args, ctx)
        if injected is not None:
            raise injected
        with host.lock:
            if op.get("mutating"):
                outcome = impl(host, ctx, check_mode=check_mode, **args)
                result.update(changed=bool(outcome["changed"]), before=outcome["before"], after=outcome["after"])
                if result["changed"]:
                    result["status"] = "changed"
            else:
                result["data"] = impl(host, ctx, **args)
    except SimWindowsError as err:
        result["status"] = "failed"
        result["error"] = err.to_error()
    result["elapsed_ms"] = int((time.perf_counter() - started) * 1000)
    return result


def run_batch(host: HostModel, module_args: dict[str, t.Any], ctx: OpContext,
              faults: FaultTable, loaded_functions: set[str] | None = None) -> tuple[dict[str, t.Any], int]:
    """Run the runner module's batch; returns (module result, rc).

    ``loaded_functions`` (lower-case names) are the PowerShell functions the payload really carries;
    an op whose function is not among them fails as it would on Windows ("is not loaded").
    """
    check_mode = module_args.get("_ansible_check_mode") is True
    show_exception = (isinstance(module_args.get("_ansible_verbosity"), int) and module_args["_ansible_verbosity"] > 2) \
        or module_args.get("_ansible_debug") is True
    module_name = str(module_args.get("_ansible_module_name") or "sccm_op_runner")
    params = {k: v for k, v in module_args.items() if not (k.startswith("_ansible_") and k[9:] in _INTERNAL_OPTIONS)}
    problem = _validate_top(params, module_name)
    if problem:
        return _module_fail(problem, params)
    if params["protocol"] != PROTOCOL_VERSION:
        return _module_fail(f"sccm_op_runner speaks protocol {PROTOCOL_VERSION} but the controller sent protocol "
                            f"{params['protocol']}; install the same mecm.fieldkit version on the controller", params)
    results: list[dict[str, t.Any]] = []
    completed: list[str] = []
    failure: dict[str, t.Any] | None = None
    completed_before_failure = "none"
    changed = False
    for op in params["ops"]:
        if failure is not None and not op.get("always"):
            results.append({"id": op["id"], "name": op["name"], "status": "not_run", "changed": False})
            continue
        result = _invoke(host, ctx, op, check_mode, faults, loaded_functions)
        if result["status"] != "failed":
            completed.append(op["id"])
        elif failure is None:
            failure = result
            completed_before_failure = ", ".join(completed) or "none"
        results.append(result)
        changed = changed or result["changed"]
    body: dict[str, t.Any] = {
        "changed": changed,
        "protocol": PROTOCOL_VERSION,
        "results": results,
        "completed": completed,
        "failed_op": failure["id"] if failure else None,
        "invocation": {"module_args": params},
    }
    if failure is None:
        return body, 0
    err = failure["error"]
    body.update(
        failed=True,
        msg=f"op {failure['id']} ({failure['name']}) failed: {err['message']} ({err['hresult']}); "
            f"completed before it: {completed_before_failure}",
    )
    if show_exception:
        # Get-FieldkitRunnerException: only with -vvv or debug, as Ansible.Basic's FailJson did.
        body["exception"] = (f"[simulated] ErrorRecord: {err['message']}\r\n\r\n    + CategoryInfo          : "
                             f"{err['category']}: ({err['target']})")
    return body, 1
