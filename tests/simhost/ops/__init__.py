"""Python implementations of the registry ops over the simulated host model.

Each implementation takes ``(host, ctx, **snake_case_args)`` and, for mutating ops, ``check_mode``.
Read-only ops return the data dict; mutating ops return ``{"changed", "before", "after"}``.
Failures raise :class:`tests.simhost.model.SimWindowsError`.
"""
from __future__ import annotations

import typing as t

SIM_OPS: dict[str, t.Callable[..., dict[str, t.Any]]] = {}


def sim_op(name: str) -> t.Callable[[t.Callable[..., dict[str, t.Any]]], t.Callable[..., dict[str, t.Any]]]:
    """Register the simulator implementation of op ``name``."""

    def decorate(func: t.Callable[..., dict[str, t.Any]]) -> t.Callable[..., dict[str, t.Any]]:
        if name in SIM_OPS:
            raise ValueError(f"simulator op {name} registered twice")
        SIM_OPS[name] = func
        return func

    return decorate


def load_all() -> dict[str, t.Callable[..., dict[str, t.Any]]]:
    """Import every implementation module and return the registry."""
    from . import client, dp, image, system  # noqa: F401  pylint: disable=import-outside-toplevel

    return SIM_OPS
