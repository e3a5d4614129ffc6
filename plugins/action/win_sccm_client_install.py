# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.win_sccm_client_install: install the client unassigned (seed scenario A).

A start / poll cycle through FieldkitAction.run_batch; every call is one module execution and is
counted in the result (``module_executions``).

The MP block rule is removed only when ccmsetup is known to have ended (``_client_install.rule_decision``);
otherwise it stays and the result says so (``mp_block_rule.left_in_place`` and ``reason``). A host lost
during the cycle (a connection error or a task timeout while a batch runs: its answer is lost) is
reported unreachable with what is known, never as a raw transport error. Property and switch values are
secrets (``no_log``): masked in the invocation, the ccmsetup log lines and every message.
"""
from __future__ import annotations

import copy
import dataclasses
import time
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import (
    AnswerLost,
    FieldkitAction,
    clean_failure,
    run_batch_or_lost,
)
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._client_install import (
    DEFAULT_COMPONENTS,
    IDLE_GUARD_ID,
    MASK,
    InstallOptionError,
    InstallOptions,
    build_install_options,
    evaluate,
    mask_argument,
    plan_cleanup,
    plan_confirm,
    plan_poll,
    plan_start,
    poll_record,
    rule_decision,
    scrub,
)
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._generalize import GUARDS, MP_BLOCK_RULE_NAME

display = Display()


@dataclasses.dataclass
class _Cycle:
    """What the controller knows about the host during one run."""

    stage: str = "start"  # the batch in flight: start, poll, confirm, cleanup
    start_answered: bool = False
    started: bool | None = None  # ccmsetup started by this run (None: unknown)
    running: bool | None = None  # what the last successful status read said (None: unknown)
    rule_may_exist: bool = False
    rule_created: bool = False
    left_reason: str | None = None
    failure: str | None = None
    polls: list = dataclasses.field(default_factory=list)


class ActionModule(FieldkitAction):
    argument_spec: dict[str, t.Any] = {
        "source_path": {"type": "str", "required": True},
        # Secrets: a bulk registration token (/regtoken), PROVISIONTS, ... (module docs: all values).
        "properties": {"type": "dict", "default": {}, "no_log": True},
        "switches": {"type": "list", "elements": "str", "default": [], "no_log": True},
        "block_management_points": {"type": "list", "elements": "str", "default": []},
        "keep_block_rule": {"type": "bool", "default": False},
        "timeout": {"type": "int", "default": 1800},
        "poll_interval": {"type": "int", "default": 120},
        "expected_components": {"type": "list", "elements": "str", "default": list(DEFAULT_COMPONENTS)},
    }

    def _update_module_args(self, module_name: str, module_args: dict[str, t.Any], task_vars: dict[str, t.Any],
                            *args: t.Any, **kwargs: t.Any) -> None:
        # *args/**kwargs: ansible-core 2.17+ adds ignore_unknown_opts, 2.16 has no such parameter.
        super()._update_module_args(module_name, module_args, task_vars, *args, **kwargs)
        # The batch carries the ccmsetup arguments, which must never reach the host's event log ("Invoked with
        # ...", Ansible.Basic's): a registration token would go into the captured image. The op runner does not
        # use Ansible.Basic and logs nothing; no_log says the same to anything that would.
        module_args["_ansible_no_log"] = True

    def _batch(self, plan: list, task_vars: dict[str, t.Any]) -> BatchOutcome:
        self._executions += 1
        return run_batch_or_lost(self, plan, task_vars)

    @clean_failure
    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = ActionBase.run(self, tmp, task_vars)
        task_vars = task_vars or {}
        _validation, params = self.validate_argument_spec(argument_spec=copy.deepcopy(self.argument_spec))
        try:
            options, warnings = build_install_options(params)
        except InstallOptionError as err:
            raise AnsibleActionFail(f"invalid options for win_sccm_client_install: {err}") from err
        host = str(task_vars.get("inventory_hostname", "the host"))
        self._executions = 0
        result.update(self._install(options, task_vars, host))
        result["module_executions"] = self._executions
        if warnings:
            result["warnings"] = warnings
        result["invocation"] = {"module_args": masked_params(params)}
        return result

    def _install(self, options: InstallOptions, task_vars: dict[str, t.Any], host: str) -> dict[str, t.Any]:
        check_mode = bool(self._task.check_mode)
        cycle = _Cycle()
        result: dict[str, t.Any] = {"changed": False}
        try:
            self._cycle(options, task_vars, host, check_mode, cycle, result)
            if cycle.rule_may_exist and not check_mode:
                self._settle_rule(options, task_vars, host, cycle, result)
        except AnswerLost as err:
            return self._unreachable(err, options, host, check_mode, cycle, result)
        result["changed"] = bool(cycle.started) or (cycle.left_reason is not None and cycle.rule_created)
        if cycle.failure is not None:
            result["failed"] = True
            result["msg"] = scrub(cycle.failure, options)
        return result

    def _cycle(self, options: InstallOptions, task_vars: dict[str, t.Any], host: str, check_mode: bool,
               cycle: _Cycle, result: dict[str, t.Any]) -> None:
        """Start batch, then polls while ccmsetup runs; sets ``cycle.failure`` and the result parts."""
        started_at = time.monotonic()
        cycle.rule_may_exist = bool(options.block_management_points) and not check_mode
        outcome = self._batch(plan_start(options, check_mode), task_vars)
        cycle.start_answered = True
        block = outcome.ops.get("block_rule")
        if block is not None and block.status in ("not_run", "missing") and not outcome.runner_failed:
            cycle.rule_may_exist = False  # the batch stopped before the rule (a guard)
        if block is not None and block.succeeded:
            cycle.rule_created = bool(block.changed) and not check_mode
            result["mp_block_rule"] = {"name": MP_BLOCK_RULE_NAME,
                                       "remote_addresses": (block.after or {}).get("remote_addresses", []),
                                       "kept": False}
        stale = outcome.ops.get("stale_block_rule")
        if stale is not None and stale.succeeded and stale.changed:
            result["mp_block_rule"] = {"name": MP_BLOCK_RULE_NAME, "stale": True, "kept": False, "removed": True,
                                       "remote_addresses": (stale.before or {}).get("remote_addresses", [])}
        start = outcome.ops.get("start")
        if start is not None and start.succeeded:
            cycle.started = bool(start.changed)
        elif start is not None and (start.status in ("failed", "not_run") or not outcome.runner_failed):
            cycle.started = False
        status = outcome.data("status")
        cycle.running = bool(status.get("running")) if status is not None else None
        waited = (status or {}).get("waited_seconds", 0)
        if status is not None:
            cycle.polls.append(poll_record(outcome, max(time.monotonic() - started_at, waited), options))
        if cycle.started or cycle.running is not None:
            result["ccmsetup"] = self._ccmsetup_part(outcome, options, cycle)
        if outcome.runner_failed:
            cycle.failure = f"the op runner failed on {host}: {outcome.msg}"
            return
        if outcome.failed_op:
            failed = outcome.ops[outcome.failed_op]
            err = failed.error or {}
            if failed.id == IDLE_GUARD_ID and cycle.running:
                # A ccmsetup already runs (an earlier run that lost the host?) and a block rule it needs may be
                # in place: wait for it like a ccmsetup this run started, then remove the rule.
                cycle.started = False
                cycle.rule_may_exist = not check_mode
            elif failed.op in GUARDS:
                cycle.failure = (f"guard {GUARDS[failed.op][0]} stopped the client install on {host}: "
                                 f"{err.get('message')} ({err.get('hresult')}). Nothing was installed.")
                return
            else:
                cycle.failure = (f"step {failed.id} failed on {host} ({failed.op}) with {err.get('hresult')}: "
                                 f"{err.get('message')}")
                return
        if check_mode:
            _failure, parts = evaluate(outcome, options, started=False)
            result.update(parts)
            result["changed"] = bool(cycle.started)
            result["msg"] = ("check mode: would start ccmsetup" if cycle.started else
                             "check mode: the client is already installed or ccmsetup already runs")
            return
        while cycle.running:
            elapsed = max(time.monotonic() - started_at, waited)
            if elapsed >= options.timeout:
                cycle.failure = (f"ccmsetup still runs on {host} after {int(elapsed)} s (timeout {options.timeout} s, "
                                 f"{len(cycle.polls)} polls); last log line: {cycle.polls[-1]['last_log_line']}")
                break
            display.display(f"{host}: ccmsetup still running after {int(elapsed)} s "
                            f"(poll {len(cycle.polls)}): {cycle.polls[-1]['last_log_line']}")
            wait = int(min(options.poll_interval, max(options.timeout - elapsed, 1)))
            cycle.stage = "poll"
            outcome = self._batch(plan_poll(wait), task_vars)
            if outcome.runner_failed or outcome.failed_op:
                cycle.running = None
                cycle.failure = f"reading the ccmsetup status failed on {host}: {outcome.error_summary}"
                break
            status = outcome.data("status") or {}
            cycle.running = bool(status.get("running"))
            waited += status.get("waited_seconds", 0)
            cycle.polls.append(poll_record(outcome, max(time.monotonic() - started_at, waited), options))
        result["polls"] = cycle.polls
        result["elapsed_seconds"] = int(max(time.monotonic() - started_at, waited))
        if cycle.failure is None:
            cycle.failure, parts = evaluate(outcome, options, bool(cycle.started))
            result.update(parts)
        else:
            result["ccmsetup"] = self._ccmsetup_part(outcome, options, cycle, result.get("ccmsetup"))
        if cycle.failure is None:
            code = result["ccmsetup"]["return_code"]
            result["msg"] = ("installed the client unassigned" if cycle.started else
                             "the client is already installed") + (
                f" (ccmsetup return code {code})" if code is not None else "")
            if code == 7:
                result["reboot_required"] = True

    @staticmethod
    def _ccmsetup_part(outcome: BatchOutcome, options: InstallOptions, cycle: _Cycle,
                       previous: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        """The ``ccmsetup`` result part from the last status read that succeeded."""
        if outcome.data("status") is None and previous:
            part = dict(previous)
        else:
            _failure, parts = evaluate(outcome, options, bool(cycle.started))
            part = parts["ccmsetup"]
        part["started"] = cycle.started
        part["running"] = cycle.running
        return part

    def _settle_rule(self, options: InstallOptions, task_vars: dict[str, t.Any], host: str, cycle: _Cycle,
                     result: dict[str, t.Any]) -> None:
        """Keep, remove or leave the MP block rule; it never goes while ccmsetup may still run."""
        rule = result.setdefault("mp_block_rule", {"name": MP_BLOCK_RULE_NAME, "remote_addresses": [],
                                                   "kept": False})
        if options.keep_block_rule and cycle.failure is None and options.block_management_points:
            rule["kept"] = True  # success: ccmsetup has ended; win_sccm_client_generalize removes it
            return
        confirmed = False
        while True:
            decision, reason = rule_decision(cycle.running, confirmed)
            if decision != "confirm":
                break
            confirmed = True
            cycle.stage = "confirm"
            outcome = self._batch(plan_confirm(), task_vars)
            status = None if outcome.runner_failed else outcome.data("status")
            cycle.running = bool(status.get("running")) if status is not None else None
        if decision == "remove":
            cycle.stage = "cleanup"
            cleanup = self._batch(plan_cleanup(), task_vars)
            removed = cleanup.ops.get("remove_block_rule")
            if removed is not None and removed.succeeded:
                rule["removed"] = bool(removed.changed) or bool(rule.get("removed"))
                return
            reason = f"removing it failed: {cleanup.error_summary}"
        cycle.left_reason = str(reason)
        rule["left_in_place"] = True
        rule["reason"] = cycle.left_reason
        if decision == "remove":
            cycle.failure = ((f"{cycle.failure.rstrip('.')}. " if cycle.failure else "") +
                             f"Removing the MP block rule failed on {host}: {cleanup.error_summary}; the rule is "
                             "left in place. Run the task again, or remove it with win_sccm_client_generalize "
                             "remove_mp_block_rules=true.")
            return
        cycle.failure = ((f"{cycle.failure.rstrip('.')}. " if cycle.failure else "") +
                         f"The MP block rule {MP_BLOCK_RULE_NAME!r} was left in place because "
                         f"{reason}: the client must not reach a management point while ccmsetup runs. Run the task "
                         "again: it waits until ccmsetup has ended and then removes the rule (or remove it with "
                         "win_sccm_client_generalize remove_mp_block_rules=true once ccmsetup has ended).")

    def _unreachable(self, err: AnswerLost, options: InstallOptions, host: str, check_mode: bool, cycle: _Cycle,
                     result: dict[str, t.Any]) -> dict[str, t.Any]:
        """The host was lost while a batch ran: say what is known, and that the rule is left in place."""
        if check_mode:
            where = "during the check-mode batch, whose answer is lost (check mode changes nothing on the host)"
        elif not cycle.start_answered:
            where = ("during the start batch (guards, MP block rule, ccmsetup start), whose answer is lost: the host "
                     "may already have been changed (ccmsetup started, the MP block rule created)")
        elif cycle.stage == "cleanup":
            where = ("while the MP block rule was being removed (ccmsetup had ended); the host may already have "
                     "been changed")
        else:
            who = "started by this run" if cycle.started else "already running"
            where = (f"while ccmsetup ({who}) was waited for, after {len(cycle.polls)} status read(s); ccmsetup may "
                     "still be running and the host may already have been changed")
        msg = f"{host} became unreachable {where}: {err.reason}. Connection error: {err.detail}."
        rule = result.get("mp_block_rule")
        if cycle.rule_may_exist and not check_mode:
            rule = dict(rule or {"name": MP_BLOCK_RULE_NAME, "remote_addresses": [], "kept": False})
            rule["left_in_place"] = True
            if cycle.stage == "cleanup":
                rule["reason"] = "the host became unreachable while the rule was being removed; it may be gone"
            else:
                rule["reason"] = "the host became unreachable; ccmsetup may still run"
            msg += (f" The MP block rule {MP_BLOCK_RULE_NAME!r} is left in place. Run the task again when the host is "
                    "back: it waits until ccmsetup has ended and then removes the rule.")
        ccmsetup = dict(result.get("ccmsetup") or {})
        ccmsetup.update({"started": cycle.started, "running": cycle.running,
                         "arguments": [mask_argument(a) for a in options.arguments]})
        return {"unreachable": True, "changed": False if check_mode else bool(cycle.started) or cycle.rule_created,
                "msg": scrub(msg, options), "mp_block_rule": rule, "ccmsetup": ccmsetup, "polls": cycle.polls}


def masked_params(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """The task arguments as users see them in ``invocation``: property and switch values masked."""
    shown = dict(params)
    shown["properties"] = {name: MASK for name in (params.get("properties") or {})}
    shown["switches"] = [mask_argument(str(s)) for s in params.get("switches") or []]
    return shown
