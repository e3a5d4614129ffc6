# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base class of the collection's action plugins. FOR INTERNAL COLLECTION USE ONLY.

This is the one plugin_utils module that touches Ansible objects: it is the seam between Ansible
and the pure planners/shapers. A subclass declares ``argument_spec`` and implements ``plan`` and
``shape``; the base validates the task arguments, sends the whole plan to the op runner in ONE
module execution and returns the shaped result.

Unreachable hosts: a connection failure raised by ``_execute_module`` is left to propagate, so the
task executor reports the host as unreachable rather than failed.
"""
from __future__ import annotations

import copy
import functools
import typing as t

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome, parse_runner_result, utc_now
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import (
    PROTOCOL_VERSION,
    OpError,
    PlannedOp,
    build_batch,
    runner_for,
)


# ansible-core 2.16-2.18 put ``traceback.format_exc()`` into every AnsibleActionFail's result (``errors/__init__.py``);
# raised outside an ``except`` block that is this text, and their default callback then prints "An exception occurred
# during task execution. ... The error was: NoneType: None" above our message. 2.19 sets no such key.
_NO_TRACEBACK = "NoneType: None\n"

_Run = t.Callable[..., dict[str, t.Any]]


def clean_failure(run: _Run) -> _Run:
    """Decorate an action plugin's ``run``: an AnsibleActionFail raised without an exception behind it (a bad option,
    a refused value) leaves the task result without the empty traceback that 2.16-2.18 add; a real traceback
    (``raise ... from err`` inside an ``except``) stays for -vvv."""

    @functools.wraps(run)
    def wrapper(self: ActionBase, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        try:
            return run(self, tmp, task_vars)
        except AnsibleActionFail as err:
            result = getattr(err, "result", None)
            if isinstance(result, dict) and result.get("exception") == _NO_TRACEBACK:
                del result["exception"]
            raise

    wrapper.fieldkit_clean_failure = True  # type: ignore[attr-defined]
    return wrapper


class FieldkitAction(ActionBase):
    """Validate -> plan -> one runner execution -> shape."""

    TRANSFERS_FILES = False
    _requires_connection = True
    argument_spec: dict[str, t.Any] = {}
    mutually_exclusive: list[list[str]] = []
    required_together: list[list[str]] = []
    required_if: list[list[t.Any]] = []

    def plan(self, params: dict[str, t.Any], task_vars: dict[str, t.Any]) -> list[PlannedOp]:
        """Return the ordered ops to run on the host."""
        raise NotImplementedError

    def shape(self, params: dict[str, t.Any], outcome: BatchOutcome) -> dict[str, t.Any]:
        """Turn the batch outcome into the module result (changed, failed, msg, facts ...)."""
        raise NotImplementedError

    def validate_params(self, params: dict[str, t.Any]) -> None:
        """Cross-option checks the argument spec cannot express; raise AnsibleActionFail."""

    @clean_failure
    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}

        if not self.argument_spec and self._task.args:
            given = ", ".join(sorted(self._task.args))
            raise AnsibleActionFail(f"{self._task.action} takes no options; remove: {given}")
        _validation, params = self.validate_argument_spec(
            # Ansible's validator fills the default dicts of suboptions in place: give it a copy.
            argument_spec=copy.deepcopy(self.argument_spec),
            mutually_exclusive=self.mutually_exclusive,
            required_together=self.required_together,
            required_if=self.required_if,
        )
        self.validate_params(params)
        plan = self.plan(params, task_vars)
        outcome = self.run_batch(plan, task_vars)
        if outcome.raw.get("unreachable"):
            return {"unreachable": True, "msg": outcome.raw.get("msg", "host unreachable"), "changed": False}
        shaped = self.shape(params, outcome)
        result.update(shaped)
        if result.get("failed"):
            for key in ("module_stderr", "module_stdout", "rc"):
                if key in outcome.raw:
                    result.setdefault(key, outcome.raw[key])
            if "exception" in outcome.raw:
                # Ansible displays a result's "exception" in place of its "msg": lead with our message
                # (step, op and Windows error code); the runner's ErrorRecord follows for -vvv.
                result["exception"] = f"{result.get('msg', '')}\n{runner_error_text(outcome.raw['exception'])}"
        # Users see the arguments they gave, never the internal batch.
        result["invocation"] = {"module_args": params}
        return result

    def run_batch(self, plan: list[PlannedOp], task_vars: dict[str, t.Any]) -> BatchOutcome:
        """Send one batch to the op runner (one module execution) and parse the answer.

        Subclasses that need a start/poll cycle call this more than once; every call is one module
        execution on the host.
        """
        try:
            batch = build_batch(plan)
            runner = runner_for(plan)
        except OpError as err:
            raise AnsibleActionFail(f"internal error while planning the batch: {err}") from err
        started = utc_now()
        raw = self._execute_module(
            module_name=runner,
            module_args={"ops": batch, "protocol": PROTOCOL_VERSION},
            task_vars=task_vars,
        )
        outcome = parse_runner_result(raw, plan)
        outcome.started_utc, outcome.finished_utc = started, utc_now()
        return outcome


# Exceptions of the connection stack that mean "the answer of this module execution is lost".
_TRANSPORT_PACKAGES = ("requests", "urllib3", "winrm", "pypsrp", "psrpcore", "spnego")


def answer_lost(err: BaseException) -> bool:
    """True for a connection failure or a task timeout raised while a module execution ran."""
    if isinstance(err, (AnsibleConnectionFailure, ConnectionError, TimeoutError)):
        return True
    if type(err).__name__ == "TaskTimeoutError":  # the task keyword `timeout` (a BaseException in 2.19)
        return True
    return any(cls.__module__.split(".")[0] in _TRANSPORT_PACKAGES for cls in type(err).__mro__)


class AnswerLost(Exception):
    """The answer of one module execution did not arrive; ``reason`` says how, ``detail`` is the raw error."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def run_batch_or_lost(action: FieldkitAction, plan: list[PlannedOp], task_vars: dict[str, t.Any]) -> BatchOutcome:
    """``FieldkitAction.run_batch``, with a lost answer (connection dropped, task timeout, unreachable) raised as
    :class:`AnswerLost` instead of a raw transport error, for modules that must report what the host may have done."""
    try:
        outcome = FieldkitAction.run_batch(action, plan, task_vars)
    except BaseException as err:  # noqa: B036 - TaskTimeoutError is a BaseException; others are re-raised
        if not answer_lost(err):
            raise
        detail = f"{type(err).__name__}: {err}"[:500]
        if type(err).__name__ == "TaskTimeoutError":
            raise AnswerLost(f"no answer within the task timeout of {getattr(err, 'timeout', '?')} s", detail) from err
        raise AnswerLost("the connection was lost before the answer arrived", detail) from err
    if outcome.raw.get("unreachable"):
        raise AnswerLost("the connection was lost before the answer arrived", str(outcome.raw.get("msg", "host unreachable")))
    return outcome


def runner_error_text(exception: t.Any) -> str:
    """The runner's error detail (an ansible-core 2.19 error summary or a string) as text."""
    event = getattr(exception, "event", None)
    if event is not None:
        parts = (getattr(event, "msg", ""), getattr(event, "formatted_traceback", ""))
        return "\n".join(str(part) for part in parts if part)
    return str(exception or "")


def runner_failure(outcome: BatchOutcome) -> dict[str, t.Any] | None:
    """A failed result when the runner itself failed (not an op), else None."""
    if outcome.runner_failed:
        return {"failed": True, "changed": False, "msg": f"the op runner failed: {outcome.msg}"}
    return None
