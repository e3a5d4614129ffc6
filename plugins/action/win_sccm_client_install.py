# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.win_sccm_client_install: install the client unassigned (seed scenario A).

A start / poll cycle through FieldkitAction.run_batch; every call is one module execution and is
counted in the result (``module_executions``).
"""
from __future__ import annotations

import copy
import time
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import FieldkitAction
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._client_install import (
    DEFAULT_COMPONENTS,
    InstallOptionError,
    InstallOptions,
    build_install_options,
    evaluate,
    plan_cleanup,
    plan_poll,
    plan_start,
    poll_record,
)
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._generalize import GUARDS, MP_BLOCK_RULE_NAME

display = Display()


class _Unreachable(Exception):
    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


class ActionModule(FieldkitAction):
    argument_spec: dict[str, t.Any] = {
        "source_path": {"type": "str", "required": True},
        "properties": {"type": "dict", "default": {}},
        "switches": {"type": "list", "elements": "str", "default": []},
        "block_management_points": {"type": "list", "elements": "str", "default": []},
        "keep_block_rule": {"type": "bool", "default": False},
        "timeout": {"type": "int", "default": 1800},
        "poll_interval": {"type": "int", "default": 120},
        "expected_components": {"type": "list", "elements": "str", "default": list(DEFAULT_COMPONENTS)},
    }

    def _batch(self, plan: list, task_vars: dict[str, t.Any]) -> BatchOutcome:
        self._executions += 1
        outcome = self.run_batch(plan, task_vars)
        if outcome.raw.get("unreachable"):
            raise _Unreachable(str(outcome.raw.get("msg", "host unreachable")))
        return outcome

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
        try:
            shaped = self._install(options, task_vars, host)
        except _Unreachable as err:
            return {"unreachable": True, "changed": False, "msg": err.msg, "module_executions": self._executions}
        result.update(shaped)
        result["module_executions"] = self._executions
        if warnings:
            result["warnings"] = warnings
        result["invocation"] = {"module_args": params}
        return result

    def _install(self, options: InstallOptions, task_vars: dict[str, t.Any], host: str) -> dict[str, t.Any]:
        check_mode = bool(self._task.check_mode)
        started_at = time.monotonic()
        rule_may_exist = bool(options.block_management_points)
        failure: str | None = None
        result: dict[str, t.Any] = {"changed": False}
        try:
            outcome = self._batch(plan_start(options, check_mode), task_vars)
            block = outcome.ops.get("block_rule")
            if block is not None and block.status in ("not_run", "missing") and not outcome.runner_failed:
                rule_may_exist = False  # the batch stopped before the rule (a guard)
            if outcome.runner_failed:
                failure = f"the op runner failed on {host}: {outcome.msg}"
                return result
            if outcome.failed_op:
                failed = outcome.ops[outcome.failed_op]
                err = failed.error or {}
                if failed.op in GUARDS:
                    failure = (f"guard {GUARDS[failed.op][0]} stopped the client install on {host}: "
                               f"{err.get('message')} ({err.get('hresult')}). Nothing was installed.")
                else:
                    failure = (f"step {failed.id} failed on {host} ({failed.op}) with {err.get('hresult')}: "
                               f"{err.get('message')}")
                return result
            start = outcome.ops["start"]
            started = bool(start.changed)
            result["changed"] = started
            if block is not None:
                result["mp_block_rule"] = {"name": MP_BLOCK_RULE_NAME,
                                           "remote_addresses": (block.after or {}).get("remote_addresses", []),
                                           "kept": False}
            if check_mode:
                _failure, parts = evaluate(outcome, options, started=False)
                result.update(parts)
                result["msg"] = ("check mode: would start ccmsetup" if started else
                                 "check mode: the client is already installed or ccmsetup already runs")
                return result
            waited = (outcome.data("status") or {}).get("waited_seconds", 0)
            polls = [poll_record(outcome, max(time.monotonic() - started_at, waited))]
            while (outcome.data("status") or {}).get("running"):
                elapsed = max(time.monotonic() - started_at, waited)
                if elapsed >= options.timeout:
                    failure = (f"ccmsetup still runs on {host} after {int(elapsed)} s (timeout {options.timeout} s, "
                               f"{len(polls)} polls); last log line: {polls[-1]['last_log_line']}")
                    break
                display.display(f"{host}: ccmsetup still running after {int(elapsed)} s "
                                f"(poll {len(polls)}): {polls[-1]['last_log_line']}")
                wait = int(min(options.poll_interval, max(options.timeout - elapsed, 1)))
                outcome = self._batch(plan_poll(wait), task_vars)
                if outcome.runner_failed or outcome.failed_op:
                    failure = f"reading the ccmsetup status failed on {host}: {outcome.error_summary}"
                    break
                waited += (outcome.data("status") or {}).get("waited_seconds", 0)
                polls.append(poll_record(outcome, max(time.monotonic() - started_at, waited)))
            result["polls"] = polls
            result["elapsed_seconds"] = int(max(time.monotonic() - started_at, waited))
            if failure is None:
                failure, parts = evaluate(outcome, options, started)
                result.update(parts)
            if failure is None:
                code = result["ccmsetup"]["return_code"]
                result["msg"] = ("installed the client unassigned" if started else
                                 "the client is already installed") + (
                    f" (ccmsetup return code {code})" if code is not None else "")
                if code == 7:
                    result["reboot_required"] = True
            return result
        finally:
            keep = options.keep_block_rule and failure is None and not check_mode
            if rule_may_exist and not keep and not check_mode:
                try:
                    cleanup = self._batch(plan_cleanup(), task_vars)
                    removed = cleanup.ops.get("remove_block_rule")
                    if removed is not None and removed.succeeded:
                        result.setdefault("mp_block_rule", {"name": MP_BLOCK_RULE_NAME, "remote_addresses": []})
                        result["mp_block_rule"]["removed"] = bool(removed.changed)
                    elif failure is None:
                        failure = f"removing the MP block rule failed on {host}: {cleanup.error_summary}"
                except _Unreachable:
                    if failure is None:
                        raise
            elif rule_may_exist and "mp_block_rule" in result:
                result["mp_block_rule"]["kept"] = True
            if failure is not None:
                result["failed"] = True
                result["msg"] = failure
