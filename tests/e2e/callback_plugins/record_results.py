"""Test-only callback: writes every task result of a run to the JSON file named by
FIELDKIT_RESULTS_FILE, so end-to-end tests assert on data instead of console text."""
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: record_results
    type: aggregate
    short_description: Record task results as JSON (mecm.fieldkit tests)
    description: Writes every task result to the file named by FIELDKIT_RESULTS_FILE.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict] = []

    def _record(self, result, status: str) -> None:
        self.records.append({
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "action": result._task.action,
            "status": status,
            "result": json.loads(json.dumps(result._result, default=str)),
        })

    def v2_runner_on_ok(self, result) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result) -> None:
        self._record(result, "unreachable")

    def v2_runner_on_skipped(self, result) -> None:
        self._record(result, "skipped")

    def v2_playbook_on_stats(self, stats) -> None:
        path = os.environ.get("FIELDKIT_RESULTS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(self.records, handle, indent=1)
