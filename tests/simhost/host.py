"""A simulated Windows host: answers the module executions that reach its WinRM server.

It never runs PowerShell. For each module execution it (1) parses every PowerShell script in the
payload with tree-sitter-powershell and fails on a syntax error or, in the collection's own scripts,
on a Windows PowerShell 5.1 pitfall (tests.pscheck.pitfalls), (2) applies host-level faults
(slow answer, answer lost after execution), and (3) hands the module to a Python handler: the op runner emulation for
the ``mecm.fieldkit.sccm_op_runner*`` modules, a pong for the lab's baseline module.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
import typing as t

from .model import HostModel, OpContext, SimWindowsError
from .payload import Execution
from .psparse import check_payload_pitfalls, check_payload_scripts, function_parameters
from .runner import RUNNER_MODULES, run_batch
from .winrm_server import ExecResult, default_result_for

LOG = logging.getLogger("simhost.host")

BASELINE_FQCN = "simlab.baseline.ping"


def _matches(expected: dict[str, t.Any], args: dict[str, t.Any]) -> bool:
    for key, value in expected.items():
        actual = args.get(key)
        if isinstance(value, str) and isinstance(actual, str):
            if value.lower() != actual.lower():
                return False
        elif value != actual:
            return False
    return True


class Faults:
    """Per-op fault table of one host (thread safe).

    A fault is a dict: ``op`` (registry name), optional ``args`` (subset to match), ``code`` (HRESULT,
    int or hex string), ``message``, optional ``times`` (how many calls fail; default every call) and
    optional ``when_become`` (true: only when run as SYSTEM; false: only when not).
    """

    def __init__(self, faults: list[dict[str, t.Any]]) -> None:
        self._faults = faults
        self._lock = threading.Lock()

    def take(self, op_name: str, args: dict[str, t.Any], ctx: OpContext) -> SimWindowsError | None:
        with self._lock:
            for fault in self._faults:
                if fault.get("op") != op_name or not _matches(fault.get("args", {}), args):
                    continue
                when_become = fault.get("when_become")
                if when_become is not None and bool(when_become) != ctx.as_system:
                    continue
                if fault.get("times") is not None:
                    if fault["times"] <= 0:
                        continue
                    fault["times"] -= 1
                code = fault.get("code", 0x80004005)
                code = int(code, 16) if isinstance(code, str) else int(code)
                return SimWindowsError(code, fault.get("message", "Unspecified error"), fault.get("target", op_name))
        return None


@functools.lru_cache(maxsize=64)
def _functions_in(text: str) -> frozenset[str]:
    return frozenset(name.lower() for name in function_parameters(text))


def _loaded_functions(execution: Execution) -> set[str]:
    """Functions defined by the PowerShell module_utils the payload carries (lower-case names)."""
    return {name for script_name, text in execution.scripts.items() if script_name.lower().endswith(".psm1")
            for name in _functions_in(text)}


class SimHost:
    """Dispatcher of one simulated host (plugs into :class:`tests.simhost.winrm_server.WinRMServer`)."""

    def __init__(self, model: HostModel, *, username: str = "ansible") -> None:
        self.model = model
        self.username = username
        self.faults = Faults(model.state["faults"])
        self.delay_seconds = float(model.state.get("delay_seconds", 0.0))
        # The next N op-runner executions run on the host, then their answer is lost (connection dropped).
        self.lose_answers = int(model.state.get("lose_answers", 0))
        self.executions: list[dict[str, t.Any]] = []

    @property
    def name(self) -> str:
        return self.model.name

    def execute(self, execution: Execution) -> ExecResult:
        if execution.kind != "module":
            fallback = default_result_for(execution, username=self.username)
            if fallback is not None:
                return fallback
            return self._fail(f"[simulated] host {self.name} cannot run this command: {execution.command_line[:120]}")
        self.executions.append({"module": execution.module_fqcn, "become": execution.become})
        issues = check_payload_scripts(execution.scripts)
        if issues:
            listed = "; ".join(str(i) for i in issues[:5])
            return self._fail(f"[simulated] PowerShell syntax error in the module payload: {listed}")
        pitfalls = check_payload_pitfalls(execution.scripts)
        if pitfalls:
            listed = "; ".join(str(i) for i in pitfalls[:5])
            return self._fail(f"[simulated] Windows PowerShell 5.1 pitfall in the module payload: {listed}")
        ctx = OpContext(become_user=(execution.become or {}).get("BecomeUser"), winrm_user=self.username)
        if execution.module_fqcn in RUNNER_MODULES:
            body, rc = run_batch(self.model, execution.module_args, ctx, self.faults, _loaded_functions(execution))
        elif execution.module_fqcn == BASELINE_FQCN:
            body, rc = {"changed": False, "ping": "pong", "simulated": True}, 0
        else:
            return self._fail(f"[simulated] host {self.name} has no handler for module {execution.module_fqcn}")
        lost = execution.module_fqcn in RUNNER_MODULES and self.lose_answers > 0
        if lost:
            self.lose_answers -= 1
            LOG.info("%s: the answer of this execution is lost (lab fault)", self.name)
        return ExecResult(stdout=json.dumps(body).encode("utf-8"), rc=rc, delay=self.delay_seconds, lost=lost)

    @staticmethod
    def _fail(msg: str) -> ExecResult:
        LOG.info("%s", msg)
        return ExecResult(stdout=json.dumps({"failed": True, "msg": msg}).encode("utf-8"), rc=1)
