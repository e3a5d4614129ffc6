# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed operation registry shared by planners, the runner and the simulator. FOR INTERNAL COLLECTION USE ONLY.

An *op* is one idempotent primitive the internal runner module executes on a Windows host.
Each op is declared once here: its name, the PowerShell function that implements it, whether it
mutates the host, the schema of its arguments and the schema of its result.

Naming rule shared by the three implementations (checked by the contract test):
* registry argument names are snake_case (``service_name``);
* the PowerShell function takes the PascalCase form (``-ServiceName``), plus ``-CheckMode`` for mutating ops;
* the simulator implementation takes the snake_case names as keyword arguments, plus ``check_mode``.

Result shape per op: read-only ops return ``{"data": {...}}``; mutating ops return
``{"changed": bool, "before": {...}, "after": {...}}``. The ``result`` schema below describes
``data`` (read-only) or ``before``/``after`` (mutating).
"""
from __future__ import annotations

import dataclasses
import re
import sys
import typing as t

from . import _host_contract

PROTOCOL_VERSION = _host_contract.RUNNER_PROTOCOL
RUNNER_MODULE = "mecm.fieldkit.sccm_op_runner"

# The runner modules, smallest first, with the module utils (plugins/module_utils) each one loads besides
# _FieldkitCommon: op modules, and _FieldkitClientCommon (helpers of the client-side ops, no op of its own).
# Every runner is the same few lines around Invoke-FieldkitRunner; they differ only in what they ship,
# because each module execution carries its PowerShell to the host (about 1.9 bytes on the wire per
# byte of stripped source). A batch goes to the smallest runner that has all of its ops: a generalize run with
# its default options to sccm_op_runner_image, the second execution of a real run (record clear, capture-ready
# gate, sysprep) to sccm_op_runner_image_finish, a run with optional steps (or sysprep in check mode) to
# sccm_op_runner_image_options, the install to sccm_op_runner_install (docs/performance.md has the bytes).
# The client-side base of every client and image runner, and what a generalize run with its default options runs.
_CLIENT_BASE = ("_FieldkitClientCommon", "_FieldkitServiceRead", "_FieldkitSystemOps")
_GENERALIZE = (*_CLIENT_BASE, "_FieldkitClientOps", "_FieldkitImageCommon", "_FieldkitImageOps")
RUNNERS: dict[str, tuple[str, ...]] = {
    "mecm.fieldkit.sccm_op_runner": (*_CLIENT_BASE, "_FieldkitClientOps", "_FieldkitClientFactsOps"),
    "mecm.fieldkit.sccm_op_runner_image_finish": (*_CLIENT_BASE, "_FieldkitClientOps", "_FieldkitImageCommon",
                                                  "_FieldkitProcessStart", "_FieldkitImageFinishOps"),
    "mecm.fieldkit.sccm_op_runner_install": (*_CLIENT_BASE, "_FieldkitClientOps", "_FieldkitClientFactsOps",
                                             "_FieldkitImageCommon", "_FieldkitFirewallOps", "_FieldkitProcessStart",
                                             "_FieldkitCcmSetupOps"),
    "mecm.fieldkit.sccm_op_runner_dp": ("_FieldkitServiceRead", "_FieldkitDpShared", "_FieldkitDpOps"),
    "mecm.fieldkit.sccm_op_runner_image": _GENERALIZE,
    "mecm.fieldkit.sccm_op_runner_site": ("_FieldkitServiceRead", "_FieldkitDpShared", "_FieldkitSiteOps"),
    "mecm.fieldkit.sccm_op_runner_image_options": (*_GENERALIZE, "_FieldkitProcessStart", "_FieldkitImageFinishOps",
                                                   "_FieldkitImageOptionOps", "_FieldkitFirewallOps"),
}

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


class OpError(ValueError):
    """A planned op does not match the registry (unknown op, bad argument)."""


@dataclasses.dataclass(frozen=True)
class Arg:
    """One argument of an op."""

    name: str
    type: str
    required: bool = False
    default: t.Any = None
    elements: str | None = None
    choices: tuple[t.Any, ...] | None = None
    description: str = ""

    @property
    def ps_name(self) -> str:
        """The PowerShell parameter name for this argument."""
        return snake_to_pascal(self.name)


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """Declaration of one op."""

    name: str
    ps_function: str
    mutating: bool
    args: tuple[Arg, ...]
    result: dict[str, str]
    description: str

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)


@dataclasses.dataclass(frozen=True)
class PlannedOp:
    """One op instance in a batch.

    Attributes:
        id: unique name of the step inside the batch (reported back by the runner).
        op: registry name of the op.
        args: snake_case arguments.
        always: run even after an earlier op failed (cleanup, like ``finally``).
    """

    id: str
    op: str
    args: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    always: bool = False


REGISTRY: dict[str, OpSpec] = {}
OP_MODULE_UTIL: dict[str, str] = {}


def snake_to_pascal(name: str) -> str:
    """``service_name`` -> ``ServiceName``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def pascal_to_snake(name: str) -> str:
    """``ServiceName`` -> ``service_name``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def module_util_for(declaring_module: str) -> str:
    """``..._ops_system`` -> ``_FieldkitSystemOps``: where the PowerShell of a registry module lives."""
    domain = declaring_module.rsplit(".", 1)[-1].removeprefix("_ops_")
    return f"_Fieldkit{domain[:1].upper()}{domain[1:]}Ops"


def register(spec: OpSpec, module_util: str | None = None) -> OpSpec:
    """Add an op to the registry; names must be unique.

    The op's PowerShell is expected in the module_utils file named after the declaring registry module
    (``_ops_<domain>.py`` -> ``_Fieldkit<Domain>Ops.psm1``), or in ``module_util`` when given (a registry module
    whose ops are split over module utils so that each runner ships only what it runs); the contract test checks it.
    """
    if spec.name in REGISTRY:
        raise OpError(f"op {spec.name!r} is declared twice")
    REGISTRY[spec.name] = spec
    declaring_module = sys._getframe(1).f_globals["__name__"]  # pylint: disable=protected-access
    OP_MODULE_UTIL[spec.name] = module_util or module_util_for(declaring_module)
    return spec


def runner_for(plan: t.Sequence[PlannedOp]) -> str:
    """The smallest runner module that loads the PowerShell of every op in ``plan``."""
    needed = {OP_MODULE_UTIL[get_op(p.op).name] for p in plan}
    for runner, utils in RUNNERS.items():
        if needed <= set(utils):
            return runner
    raise OpError(f"no runner module loads all of {', '.join(sorted(needed))}")


def get_op(name: str) -> OpSpec:
    """Return the spec of a registered op."""
    _load_declarations()
    try:
        return REGISTRY[name]
    except KeyError:
        raise OpError(f"unknown op {name!r}; known ops: {', '.join(sorted(REGISTRY))}") from None


def all_ops() -> dict[str, OpSpec]:
    """Every registered op, by name."""
    _load_declarations()
    return dict(REGISTRY)


def _type_ok(value: t.Any, type_name: str) -> bool:
    if type_name == "raw":
        return True
    if type_name in ("int", "float") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[type_name])


def validate_args(spec: OpSpec, args: dict[str, t.Any]) -> dict[str, t.Any]:
    """Check ``args`` against ``spec`` and fill defaults.

    Raises:
        OpError: naming the op, the argument, the value and what is allowed.
    """
    unknown = sorted(set(args) - {a.name for a in spec.args})
    if unknown:
        allowed = ", ".join(a.name for a in spec.args) or "none"
        raise OpError(f"op {spec.name}: unsupported argument(s) {', '.join(unknown)}; allowed: {allowed}")
    clean: dict[str, t.Any] = {}
    for arg in spec.args:
        if arg.name not in args or args[arg.name] is None:
            if arg.required:
                raise OpError(f"op {spec.name}: argument {arg.name} is required")
            clean[arg.name] = arg.default
            continue
        value = args[arg.name]
        if not _type_ok(value, arg.type):
            raise OpError(f"op {spec.name}: argument {arg.name}={value!r} must be of type {arg.type}")
        if arg.elements and not all(_type_ok(v, arg.elements) for v in value):
            raise OpError(f"op {spec.name}: argument {arg.name}={value!r} must be a list of {arg.elements}")
        if arg.choices is not None:
            values = value if arg.type == "list" else [value]
            bad = [v for v in values if v not in arg.choices]
            if bad:
                allowed = ", ".join(map(str, arg.choices))
                raise OpError(f"op {spec.name}: argument {arg.name}={bad[0]!r} is not one of: {allowed}")
        clean[arg.name] = value
    return clean


# Every field of an op as the runner receives it, with its type (_host_contract.RUNNER_OP_FIELDS); the runner and
# the lab reject anything else.
RUNNER_OP_FIELDS: dict[str, str] = _host_contract.runner_op_fields()


def to_wire(planned: PlannedOp) -> dict[str, t.Any]:
    """Validate one planned op and return the dict the runner module receives."""
    spec = get_op(planned.op)
    args = validate_args(spec, planned.args)
    return {
        "id": planned.id,
        "name": spec.name,
        "function": spec.ps_function,
        "mutating": spec.mutating,
        "always": planned.always,
        "args": {snake_to_pascal(k): v for k, v in args.items() if v is not None},
    }


def build_batch(plan: t.Sequence[PlannedOp]) -> list[dict[str, t.Any]]:
    """Turn a plan into the runner's ``ops`` argument; ids must be unique."""
    seen: set[str] = set()
    for planned in plan:
        if planned.id in seen:
            raise OpError(f"duplicate op id {planned.id!r} in batch")
        seen.add(planned.id)
    return [to_wire(p) for p in plan]


def wire_args_to_snake(wire_args: dict[str, t.Any]) -> dict[str, t.Any]:
    """Reverse of the PascalCase conversion in :func:`to_wire` (used by the simulator)."""
    return {pascal_to_snake(k): v for k, v in wire_args.items()}


def result_problems(spec: OpSpec, op_result: dict[str, t.Any]) -> list[str]:
    """Compare one op's successful result with the declared result schema.

    Schema values are type names; a trailing ``?`` allows ``None``. Returns human-readable
    problems, empty when the result conforms.
    """
    problems: list[str] = []
    parts = ("before", "after") if spec.mutating else ("data",)
    for part in parts:
        body = op_result.get(part)
        if not isinstance(body, dict):
            problems.append(f"{spec.name}: '{part}' missing or not an object")
            continue
        for key, type_name in spec.result.items():
            nullable = type_name.endswith("?")
            base = type_name.rstrip("?")
            if key not in body:
                problems.append(f"{spec.name}: {part}.{key} missing")
            elif body[key] is None:
                if not nullable:
                    problems.append(f"{spec.name}: {part}.{key} is null")
            elif not _type_ok(body[key], base):
                problems.append(f"{spec.name}: {part}.{key}={body[key]!r} is not {base}")
        extra = sorted(set(body) - set(spec.result))
        if extra:
            problems.append(f"{spec.name}: {part} has undeclared keys {', '.join(extra)}")
    if spec.mutating and not isinstance(op_result.get("changed"), bool):
        problems.append(f"{spec.name}: 'changed' missing or not a bool")
    return problems


_LOADED = False


def _load_declarations() -> None:
    # Declarations live in per-domain modules that call register(); import them lazily so this
    # module has no import cycle with them. The flag is set only after the imports complete, so a
    # second thread never sees a half-filled registry.
    global _LOADED
    if _LOADED:
        return
    from . import _ops_client, _ops_dp, _ops_image, _ops_system  # noqa: F401  pylint: disable=import-outside-toplevel

    _LOADED = True
