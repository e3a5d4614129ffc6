# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interpretation of the op runner's answer. FOR INTERNAL COLLECTION USE ONLY."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import typing as t

from ._ops import PROTOCOL_VERSION, PlannedOp, get_op, result_problems


@dataclasses.dataclass
class OpOutcome:
    """The runner's result for one planned op."""

    id: str
    op: str
    status: str  # ok | changed | failed | not_run | missing
    changed: bool = False
    data: dict[str, t.Any] | None = None
    before: dict[str, t.Any] | None = None
    after: dict[str, t.Any] | None = None
    error: dict[str, t.Any] | None = None
    elapsed_ms: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in ("ok", "changed")


@dataclasses.dataclass
class BatchOutcome:
    """Everything the runner said about a batch."""

    ops: dict[str, OpOutcome]
    changed: bool
    failed_op: str | None
    runner_failed: bool
    msg: str | None
    raw: dict[str, t.Any]
    # Controller clock just before and just after the runner's module execution (ISO 8601 UTC); they
    # bound the host's own clock readings.
    started_utc: str | None = None
    finished_utc: str | None = None

    def get(self, op_id: str) -> OpOutcome:
        return self.ops[op_id]

    def data(self, op_id: str) -> dict[str, t.Any] | None:
        """``data`` of a read-only op that succeeded, else None."""
        outcome = self.ops.get(op_id)
        return outcome.data if outcome is not None and outcome.succeeded else None

    @property
    def error_summary(self) -> str | None:
        """A one-line error naming the failed op and its Windows error code."""
        if self.failed_op and self.failed_op in self.ops:
            failed = self.ops[self.failed_op]
            err = failed.error or {}
            return (f"step {failed.id} ({failed.op}) failed with {err.get('hresult', 'unknown code')}: "
                    f"{err.get('message', 'no message')}")
        return self.msg


def utc_now() -> str:
    """Controller clock as ISO 8601 UTC with milliseconds."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_runner_result(raw: dict[str, t.Any], plan: t.Sequence[PlannedOp]) -> BatchOutcome:
    """Turn the runner module's result into a :class:`BatchOutcome`.

    A result that is not the runner's (module failure before any op ran, wrong protocol, results
    that do not match the registry) gives ``runner_failed=True`` with a message saying why.
    """
    planned = {p.id: p for p in plan}
    outcomes: dict[str, OpOutcome] = {}
    problems: list[str] = []
    results = raw.get("results")
    if not isinstance(results, list):
        msg = raw.get("msg") or "the op runner returned no results"
        return BatchOutcome({}, False, None, True, str(msg), raw)
    if raw.get("protocol") != PROTOCOL_VERSION:
        problems.append(f"runner protocol {raw.get('protocol')!r} != controller protocol {PROTOCOL_VERSION}")
    for item in results:
        op_id = item.get("id")
        if op_id not in planned:
            problems.append(f"runner returned a result for unplanned op {op_id!r}")
            continue
        outcome = OpOutcome(
            id=op_id,
            op=planned[op_id].op,
            status=str(item.get("status")),
            changed=bool(item.get("changed")),
            data=item.get("data"),
            before=item.get("before"),
            after=item.get("after"),
            error=item.get("error"),
            elapsed_ms=item.get("elapsed_ms"),
        )
        if outcome.succeeded:
            problems.extend(result_problems(get_op(outcome.op), item))
        outcomes[op_id] = outcome
    for op_id, p in planned.items():
        outcomes.setdefault(op_id, OpOutcome(id=op_id, op=p.op, status="missing"))
    failed_op = raw.get("failed_op")
    msg = raw.get("msg")
    if problems:
        return BatchOutcome(outcomes, bool(raw.get("changed")), failed_op, True,
                            "the op runner returned results that do not match the op registry: " + "; ".join(problems),
                            raw)
    return BatchOutcome(outcomes, bool(raw.get("changed")), failed_op, False, msg, raw)
