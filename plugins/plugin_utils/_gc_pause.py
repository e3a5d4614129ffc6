# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pause Python's cyclic garbage collector around one call. FOR INTERNAL COLLECTION USE ONLY.

The DP diagnosis and its reports build millions of small dicts, lists and strings at 2,000 DPs. Each
time enough new containers exist, the cyclic collector walks every live object, the big input
included: measured with tests/benchmarks/dp_diagnose_scale.py, that was half of the controller's CPU
time for diagnosis and reports (docs/performance.md). These functions build trees, not reference
cycles, so reference counting frees everything they drop; whatever cycle a library might create is
collected at the next collection after the call. Standard library only.
"""
from __future__ import annotations

import functools
import gc
import typing as t

__all__ = ["paused"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def paused(func: F) -> F:
    """Run ``func`` with the cyclic collector off (and on again afterwards if it was on)."""

    @functools.wraps(func)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if not gc.isenabled():
            return func(*args, **kwargs)
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            gc.enable()

    return t.cast(F, wrapper)
