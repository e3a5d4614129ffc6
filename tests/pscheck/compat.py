"""Windows PowerShell 5.1 compatibility check of the collection's PowerShell.

Every command that our ``.ps1``/``.psm1`` files call must exist (as a cmdlet,
function or alias) on all three reference machines, or be a function defined
in ``plugins/`` (or in an Ansible PowerShell module_util the files require).
Every named parameter and every key of a splatted hashtable literal must be a
real parameter or parameter alias of that command, written in full, or a
common parameter. Every native command must be on the PATH of all three
machines. The reference data are PSScriptAnalyzer's compatibility profiles
(``../shared/data/windows-powershell-5.1-profiles``, see its README).

Run ``python -m tests.pscheck.compat [FILE ...]`` (default: everything under
``plugins/``). Exit codes: 0 clean, 1 findings, 77 skipped (no profile data).
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import tree_sitter

from tests.simhost.paths import REPO_ROOT
from tests.simhost.psparse import (
    _SCOPE_PREFIX,
    _parameter_list,
    _parse,
    _text,
    _variable_name,
    _walk,
)

__all__ = [
    "COMMON_PARAMETERS",
    "EXIT_CLEAN",
    "EXIT_FINDINGS",
    "EXIT_SKIPPED",
    "PROFILES_DIR",
    "Finding",
    "FunctionInfo",
    "Invocation",
    "NamedParameter",
    "Profile",
    "ProfilesMissing",
    "Report",
    "Splat",
    "Unchecked",
    "analyse",
    "check_files",
    "check_shipped",
    "extract_invocations",
    "function_infos",
    "load_profiles",
    "main",
    "profiles_available",
    "shipped_files",
]

PROFILES_DIR = REPO_ROOT.parent / "shared" / "data" / "windows-powershell-5.1-profiles"
PLUGINS_DIR = REPO_ROOT / "plugins"

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_SKIPPED = 77  # the automake convention for "test skipped"

_COMMON = {
    "Verbose": "vb",
    "Debug": "db",
    "ErrorAction": "ea",
    "WarningAction": "wa",
    "InformationAction": "infa",
    "ErrorVariable": "ev",
    "WarningVariable": "wv",
    "InformationVariable": "iv",
    "OutVariable": "ov",
    "OutBuffer": "ob",
    "PipelineVariable": "pv",
}
COMMON_PARAMETERS: Mapping[str, str] = {
    **{name.lower(): name for name in _COMMON},
    **{alias: name for name, alias in _COMMON.items()},
}
"""Lower-case common parameter name or alias -> canonical name (not WhatIf/Confirm)."""

_SHOULD_PROCESS: Mapping[str, str] = {
    "whatif": "WhatIf",
    "wi": "WhatIf",
    "confirm": "Confirm",
    "cf": "Confirm",
}
# The default PATHEXT of Windows: names that run as native commands.
_NATIVE_SUFFIXES = tuple(".exe .com .bat .cmd .vbs .vbe .js .jse .wsf .wsh .msc".split())
_SCRIPT_SUFFIXES = (".ps1", ".psm1")
_PS_GLOBS = ("*.ps1", "*.psm1")
_SPLAT = re.compile(r"^@[A-Za-z_]\w*$")
_ANSIBLE_REQUIRES = re.compile(
    r"^\s*#(?:Requires\s+-Modules?|AnsibleRequires\s+-PowerShell)\s+(Ansible\.ModuleUtils\.[\w.]+)",
    re.IGNORECASE | re.MULTILINE,
)
_START_PROCESS_PATH = ("filepath", "pspath")
_WINDOWS = "C:\\Windows"
_SYSTEM32 = "C:\\Windows\\System32"
_SYSTEM_ROOT = re.compile(
    r"\$(?:env:(?:SystemRoot|windir)|\{env:(?:SystemRoot|windir)\})", re.IGNORECASE
)
_SYSTEM_DIRECTORY = re.compile(r"\[(?:System\.)?Environment\]::SystemDirectory", re.IGNORECASE)


class ProfilesMissing(FileNotFoundError):
    """The compatibility profiles are not where CI keeps them."""


# --------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What one reference machine offers, with lower-case keys."""

    # Short label, "Server 2016 (14393)", and the machine in full.
    label: str
    description: str
    file: str
    # command -> (canonical name, parameters and parameter aliases: lower -> as listed)
    commands: Mapping[str, tuple[str, Mapping[str, str]]] = field(repr=False)
    # alias -> target command
    aliases: Mapping[str, str] = field(repr=False)
    # native command file name -> full path; the folders they were collected from (lower-case)
    native: Mapping[str, str] = field(repr=False)
    path_dirs: frozenset[str] = field(repr=False)

    def resolve(self, name: str) -> tuple[str, Mapping[str, str]] | None:
        """(canonical name, parameters and aliases as lower -> as listed) of a command or alias."""
        key = name.lower()
        for _ in range(8):  # alias chains are short; guard against loops
            target = self.aliases.get(key)
            if target is None:
                break
            key = target.lower()
        return self.commands.get(key)


def profiles_available(directory: pathlib.Path | None = None) -> bool:
    """True when the profile folder (default :data:`PROFILES_DIR`) exists; CI always has it."""
    return (directory or PROFILES_DIR).is_dir()


def _labels(platform: Mapping) -> tuple[str, str]:
    """(short label, description) of the machine a profile was collected on."""
    system = platform.get("OperatingSystem", {})
    name = str(system.get("Name", "unknown")).removeprefix("Microsoft ")
    version = str(system.get("Version", ""))
    build = version.split(".")[2] if version.count(".") >= 2 else version
    server = re.search(r"Server (\d{4})", name)
    client = re.search(r"Windows (\d+)", name)
    short = (
        f"Server {server.group(1)}" if server else f"Windows {client.group(1)}" if client else name
    )
    ps_version = platform.get("PowerShell", {}).get("Version", "?")
    return f"{short} ({build})", f"{name} {version}, Windows PowerShell {ps_version}"


def _command_table(modules: Mapping) -> dict[str, tuple[str, dict[str, str]]]:
    table: dict[str, tuple[str, dict[str, str]]] = {}
    for versions in modules.values():
        for content in versions.values():
            for kind in ("Cmdlets", "Functions"):
                for name, info in (content.get(kind) or {}).items():
                    names = list(info.get("Parameters") or {}) + list(
                        info.get("ParameterAliases") or {}
                    )
                    entry = table.setdefault(name.lower(), (name, {}))
                    entry[1].update((n.lower(), n) for n in names)
    return table


def _alias_table(modules: Mapping) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for versions in modules.values():
        for content in versions.values():
            for alias, target in (content.get("Aliases") or {}).items():
                aliases[alias.lower()] = target
    return aliases


def _load_profile(path: pathlib.Path) -> Profile:
    with gzip.open(path, "rb") as handle:
        data = json.loads(handle.read().decode("utf-8-sig"))
    compat = data["Compatibility"]
    native = {
        name.lower(): str(info.get("Path", "")) for name, info in compat["NativeCommands"].items()
    }
    dirs = frozenset(_normal_dir(p.rsplit("\\", 1)[0]) for p in native.values() if "\\" in p)
    label, description = _labels(data.get("Platform", {}))
    return Profile(
        label=label,
        description=description,
        file=path.name,
        commands=_command_table(compat["Modules"]),
        aliases=_alias_table(compat["Modules"]),
        native=native,
        path_dirs=dirs,
    )


def load_profiles(directory: pathlib.Path | None = None) -> tuple[Profile, ...]:
    """Every ``*.json.gz`` profile of ``directory`` (default :data:`PROFILES_DIR`), by label.

    Cached per folder; raises :class:`ProfilesMissing` when the folder is absent.
    """
    return _load_profiles(directory or PROFILES_DIR)


@lru_cache(maxsize=4)
def _load_profiles(directory: pathlib.Path) -> tuple[Profile, ...]:
    if not profiles_available(directory):
        raise ProfilesMissing(f"no compatibility profiles at {directory}")
    files = sorted(directory.glob("*.json.gz"))
    if not files:
        raise ValueError(f"{directory} exists but holds no *.json.gz profiles")
    return tuple(sorted((_load_profile(f) for f in files), key=lambda p: p.label))


# --------------------------------------------------------------------------
# Extraction: command invocations
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedParameter:
    """A parameter name as written (without ``-`` or ``:``), or a splatted key."""

    name: str
    line: int


@dataclass(frozen=True)
class Splat:
    """``@name`` on a command line; ``keys`` are the hashtable keys that could be read."""

    variable: str
    line: int
    keys: tuple[NamedParameter, ...]
    unchecked: str | None = None  # why some or all keys are unknown


@dataclass(frozen=True)
class Invocation:
    """One command invocation.

    ``kind`` is ``command``, ``native`` (an executable; ``name`` is its file
    name, ``written`` the path as written), ``script`` (a ``.ps1``) or
    ``dynamic`` (the name is computed at run time).
    """

    line: int
    kind: str
    name: str
    written: str
    parameters: tuple[NamedParameter, ...] = ()
    splats: tuple[Splat, ...] = ()
    values: tuple[tuple[str, str, str | None], ...] = ()  # (lower-case parameter, text, constant)


_WRAPPERS = frozenset(
    {
        "pipeline",
        "pipeline_chain",
        "logical_expression",
        "bitwise_expression",
        "comparison_expression",
        "additive_expression",
        "multiplicative_expression",
        "format_expression",
        "range_expression",
        "array_literal_expression",
        "unary_expression",
        "left_assignment_expression",
        "parenthesized_expression",
    }
)


def _unwrap(node: tree_sitter.Node) -> tree_sitter.Node:
    """Descend through single-child expression wrappers to the node that matters."""
    while node.type in _WRAPPERS and node.named_child_count == 1:
        node = node.named_children[0]
    return node


def _string_value(node: tree_sitter.Node, data: bytes) -> str | None:
    """The value of a constant string (quoted, or a bare word), else None."""
    node = _unwrap(node)
    text = _text(node, data)
    if node.type in ("simple_name", "generic_token", "command_name"):
        return text
    if node.type != "string_literal" or len(text) < 2:
        return None
    inner = text[1:-1]
    if text[0] == "'":
        return inner.replace("''", "'")
    if "$" in inner or "`" in inner:
        return None
    return inner


def _base_name(path: str) -> str:
    return re.split(r"[\\/]", path)[-1]


def _target(name_node: tree_sitter.Node, data: bytes) -> tuple[str, str, str]:
    """(kind, name, written) of the command named by ``name_node``."""
    inner = name_node
    if name_node.type == "command_name_expr" and name_node.named_child_count == 1:
        inner = name_node.named_children[0]
    written = _text(inner, data).strip()
    path = written
    if inner.type == "string_literal" and len(written) >= 2:
        path = written[1:-1]
    elif inner.type != "command_name":
        if not (inner.type == "path_command_name" and "$" not in path and "(" not in path):
            return _dynamic_or_native(path, written)
    base = _base_name(path)
    lower = base.lower()
    if lower.endswith(_NATIVE_SUFFIXES) and "$" not in base:
        return "native", base, written
    if lower.endswith(_SCRIPT_SUFFIXES):
        return "script", base, written
    if "$" in path or "(" in path:
        return "dynamic", written, written
    return "command", base, written  # a module-qualified name keeps only the command


def _dynamic_or_native(path: str, written: str) -> tuple[str, str, str]:
    """A computed name is dynamic unless it visibly ends in an executable name."""
    base = _base_name(path)
    if base.lower().endswith(_NATIVE_SUFFIXES) and "$" not in base and "(" not in base:
        return "native", base, written
    return "dynamic", written, written


def _line(node: tree_sitter.Node) -> int:
    return node.start_point.row + 1


def _elements(command: tree_sitter.Node) -> list[tree_sitter.Node]:
    elements = next((c for c in command.children if c.type == "command_elements"), None)
    if elements is None:
        return []
    return [c for c in elements.children if c.type != "command_argument_sep"]


def _arguments(
    command: tree_sitter.Node, data: bytes
) -> tuple[list[NamedParameter], list[tuple[str, int]], list[tuple[str, str, str | None]]]:
    """Named parameters, splatted variables and ``-Param value`` texts of one command."""
    params: list[NamedParameter] = []
    splats: list[tuple[str, int]] = []
    values: list[tuple[str, str, str | None]] = []
    items = _elements(command)
    for index, node in enumerate(items):
        if node.type == "stop_parsing":
            break
        if node.type == "command_parameter":
            name = _text(node, data).lstrip("-").rstrip(":")
            if name:
                params.append(NamedParameter(name, _line(node)))
                value = items[index + 1] if index + 1 < len(items) else None
                if value is not None and value.type not in ("command_parameter", "stop_parsing"):
                    values.append((name.lower(), _text(value, data), _string_value(value, data)))
            continue
        text = _text(node, data).strip()
        if _SPLAT.match(text):
            splats.append((_variable_name(text[1:]), _line(node)))
    return params, splats, values


def _scope(node: tree_sitter.Node) -> tree_sitter.Node:
    """The function a node is in, or the whole script."""
    current = node.parent
    while current is not None:
        if current.type == "function_statement" or current.parent is None:
            return current
        current = current.parent
    return node


def _scope_nodes(scope: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Nodes of ``scope`` without those of nested functions."""
    stack = list(reversed(scope.children))
    while stack:
        node = stack.pop()
        if node.type == "function_statement":
            continue
        yield node
        stack.extend(reversed(node.children))


def _is_variable(node: tree_sitter.Node, data: bytes, name: str) -> bool:
    if node.type != "variable":
        return False
    found = _SCOPE_PREFIX.sub("", _variable_name(_text(node, data)))
    return found.lower() == name.lower()


@dataclass
class _KeyScan:
    keys: list[NamedParameter] = field(default_factory=list)
    literal: bool = False
    unchecked: list[str] = field(default_factory=list)


def _hash_keys(hash_node: tree_sitter.Node, data: bytes, scan: _KeyScan) -> None:
    body = next((c for c in hash_node.children if c.type == "hash_literal_body"), None)
    for entry in body.children if body is not None else ():
        if entry.type != "hash_entry":
            continue
        key = next((c for c in entry.children if c.type == "key_expression"), None)
        value = _string_value(key.named_children[0], data) if key and key.named_children else None
        if value is None:
            scan.unchecked.append(f"computed key at line {_line(entry)}")
        else:
            scan.keys.append(NamedParameter(value, _line(entry)))


def _scan_assignment(node: tree_sitter.Node, data: bytes, name: str, scan: _KeyScan) -> None:
    left = next((c for c in node.children if c.type == "left_assignment_expression"), None)
    operator = next((c for c in node.children if c.type == "assignement_operator"), None)
    if left is None or operator is None:
        return
    target = _unwrap(left)
    right = _unwrap(node.children[-1])
    if _is_variable(target, data, name):
        if _text(operator, data) == "=" and right.type == "hash_literal_expression":
            scan.literal = True
            _hash_keys(right, data, scan)
        else:
            scan.unchecked.append(f"${name} is assigned another value at line {_line(node)}")
        return
    if target.type not in ("member_access", "element_access") or not target.named_children:
        return
    if not _is_variable(target.named_children[0], data, name):
        return
    index = target.named_children[-1]
    key = _string_value(index.named_children[0] if index.type == "member_name" else index, data)
    if key is None:
        scan.unchecked.append(f"computed key at line {_line(node)}")
    else:
        scan.keys.append(NamedParameter(key, _line(node)))


def _scan_add(node: tree_sitter.Node, data: bytes, name: str, scan: _KeyScan) -> None:
    """``$name.Add('Key', value)``."""
    named = node.named_children
    if len(named) < 3 or not _is_variable(named[0], data, name):
        return
    if _text(named[1], data).lower() != "add":
        return
    args = [n for n in _walk(named[2]) if n.type == "argument_expression"]
    key = _string_value(_first_leafish(args[0]), data) if args else None
    if key is None:
        scan.unchecked.append(f"computed key added at line {_line(node)}")
    else:
        scan.keys.append(NamedParameter(key, _line(node)))


def _first_leafish(node: tree_sitter.Node) -> tree_sitter.Node:
    while node.named_child_count == 1 and node.type != "string_literal":
        node = node.named_children[0]
    return node


def _resolve_splat(command: tree_sitter.Node, data: bytes, name: str, line: int) -> Splat:
    """Keys of a hashtable literal assigned to ``$name`` in the same function or script."""
    if name.lower() in ("psboundparameters", "args", "input"):
        return Splat(name, line, (), f"@{name} is an automatic variable")
    scan = _KeyScan()
    for node in _scope_nodes(_scope(command)):
        if node.type == "assignment_expression":
            _scan_assignment(node, data, name, scan)
        elif node.type == "invokation_expression":
            _scan_add(node, data, name, scan)
    if not scan.literal:
        return Splat(
            name, line, (), f"${name} is not a hashtable literal assigned in this function"
        )
    reason = "; ".join(scan.unchecked) if scan.unchecked else None
    return Splat(name, line, tuple(scan.keys), reason)


def _invocation(command: tree_sitter.Node, data: bytes) -> Invocation | None:
    name_node = next(
        (c for c in command.children if c.type in ("command_name", "command_name_expr")), None
    )
    if name_node is None:
        return None
    kind, name, written = _target(name_node, data)
    params, splat_vars, values = _arguments(command, data)
    splats = tuple(_resolve_splat(command, data, var, line) for var, line in splat_vars)
    return Invocation(_line(command), kind, name, written, tuple(params), splats, tuple(values))


@lru_cache(maxsize=256)
def _extract(source: str) -> tuple[Invocation, ...]:
    tree, data = _parse(source)
    found = (_invocation(n, data) for n in _walk(tree.root_node) if n.type == "command")
    return tuple(inv for inv in found if inv is not None)


def extract_invocations(source: str) -> list[Invocation]:
    """Every command invocation of a script, in document order (cached by content).

    Method calls (``[Type]::M()``, ``$x.M()``) are expressions, not commands,
    and are not returned.
    """
    return list(_extract(source))


# --------------------------------------------------------------------------
# Extraction: our own functions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionInfo:
    """A function defined in PowerShell we ship or rely on."""

    name: str
    file: str
    line: int
    parameters: Mapping[str, str]  # names and [Alias()] names: lower -> as written
    advanced: bool  # [CmdletBinding()] or a [Parameter()] attribute: common parameters apply
    should_process: bool  # SupportsShouldProcess: -WhatIf/-Confirm apply


def _attributes(node: tree_sitter.Node | None) -> list[tree_sitter.Node]:
    if node is None:
        return []
    lists = [c for c in node.children if c.type == "attribute_list"]
    return [a for lst in lists for a in lst.children if a.type == "attribute"]


def _attribute_name(attribute: tree_sitter.Node, data: bytes) -> str:
    name = next((c for c in attribute.children if c.type == "attribute_name"), None)
    text = _text(name, data).lower() if name is not None else ""
    return text.removesuffix("attribute")


def _attribute_arguments(attribute: tree_sitter.Node) -> list[tree_sitter.Node]:
    args = next((c for c in attribute.children if c.type == "attribute_arguments"), None)
    return [c for c in args.children if c.type == "attribute_argument"] if args else []


def _param_block(function: tree_sitter.Node) -> tree_sitter.Node | None:
    candidates = list(function.children)
    for child in function.children:
        if child.type in ("script_block", "ERROR"):
            candidates.extend(child.children)
    return next((c for c in candidates if c.type == "param_block"), None)


def _should_process(binding: tree_sitter.Node, data: bytes) -> bool:
    for arg in _attribute_arguments(binding):
        parts = [c for c in arg.named_children]
        if parts and _text(parts[0], data).lower() == "supportsshouldprocess":
            return len(parts) == 1 or _text(parts[-1], data).strip().lower() != "$false"
    return False


def _parameter_names(param: tree_sitter.Node, data: bytes) -> tuple[dict[str, str], bool]:
    """Name and aliases (lower -> as written) of one script_parameter; True if it has [Parameter()]."""
    names: dict[str, str] = {}
    var = next((c for c in param.children if c.type == "variable"), None)
    if var is not None:
        written = _variable_name(_text(var, data))
        names[written.lower()] = written
    has_parameter = False
    for attribute in _attributes(param):
        kind = _attribute_name(attribute, data)
        if kind == "parameter":
            has_parameter = True
        elif kind == "alias":
            for arg in _attribute_arguments(attribute):
                for node in _walk(arg):
                    value = _string_value(node, data) if node.type == "string_literal" else None
                    if value:
                        names[value.lower()] = value
    return names, has_parameter


def _function_info(node: tree_sitter.Node, data: bytes, filename: str) -> FunctionInfo | None:
    name_node = next((c for c in node.children if c.type == "function_name"), None)
    if name_node is None:
        return None
    block = _param_block(node)
    binding = next(
        (a for a in _attributes(block) if _attribute_name(a, data) == "cmdletbinding"), None
    )
    names: dict[str, str] = {}
    advanced = binding is not None
    plist = _parameter_list(node)
    for param in plist.children if plist is not None else ():
        if param.type == "script_parameter":
            found, has_parameter = _parameter_names(param, data)
            names.update(found)
            advanced = advanced or has_parameter
    return FunctionInfo(
        name=_SCOPE_PREFIX.sub("", _text(name_node, data)),
        file=filename,
        line=_line(node),
        parameters=names,
        advanced=advanced,
        should_process=binding is not None and _should_process(binding, data),
    )


@lru_cache(maxsize=256)
def _function_infos(source: str, filename: str) -> tuple[FunctionInfo, ...]:
    tree, data = _parse(source)
    found = (
        _function_info(n, data, filename)
        for n in _walk(tree.root_node)
        if n.type == "function_statement"
    )
    return tuple(info for info in found if info is not None)


def function_infos(source: str, filename: str) -> list[FunctionInfo]:
    """Every function defined in a script (any nesting level; cached by content)."""
    return list(_function_infos(source, filename))


def _ansible_util_files(sources: Iterable[str]) -> list[pathlib.Path]:
    """Ansible PowerShell module_utils named by ``#Requires -Module``/``#AnsibleRequires``."""
    names = sorted({m.group(1) for s in sources for m in _ANSIBLE_REQUIRES.finditer(s)})
    if not names:
        return []
    import ansible.module_utils.powershell as ansible_ps  # only when some file needs it

    folder = pathlib.Path(ansible_ps.__file__).parent
    return [folder / f"{name}.psm1" for name in names if (folder / f"{name}.psm1").is_file()]


# --------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One incompatibility: ``profiles`` names the machines that lack the thing."""

    file: str
    line: int
    command: str
    parameter: str | None
    profiles: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        where = f" [missing on: {', '.join(self.profiles)}]" if self.profiles else ""
        return f"{self.file}:{self.line}: {self.message}{where}"


@dataclass(frozen=True)
class Unchecked:
    """Something the check could not see statically (not a failure)."""

    file: str
    line: int
    command: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Report:
    """Result of :func:`analyse`."""

    findings: list[Finding] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)
    files: int = 0
    invocations: int = 0


@dataclass(frozen=True)
class _Context:
    file: str
    profiles: tuple[Profile, ...]
    functions: Mapping[str, FunctionInfo]


def _display(path: pathlib.Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _near_miss(name: str, known: Mapping[str, str]) -> str:
    """A hint for an abbreviation (``-Class`` for ``-ClassName``)."""
    lower = name.lower()
    longer = sorted(
        written for key, written in known.items() if key.startswith(lower) and key != lower
    )
    if len(longer) == 1:
        return f"; it abbreviates -{longer[0]}: write parameter names in full"
    if longer:
        return f"; it abbreviates one of -{', -'.join(longer)}: write parameter names in full"
    return ""


def _all_parameters(inv: Invocation) -> list[NamedParameter]:
    return list(inv.parameters) + [key for splat in inv.splats for key in splat.keys]


def _splat_notes(inv: Invocation, ctx: _Context) -> list[Unchecked]:
    return [
        Unchecked(
            ctx.file,
            s.line,
            inv.name,
            f"{inv.name} @{s.variable}: keys not checked ({s.unchecked})",
        )
        for s in inv.splats
        if s.unchecked
    ]


def _check_own(inv: Invocation, fn: FunctionInfo, ctx: _Context) -> list[Finding]:
    allowed = set(fn.parameters)
    if fn.advanced:
        allowed |= set(COMMON_PARAMETERS)
    if fn.should_process:
        allowed |= set(_SHOULD_PROCESS)
    findings = []
    for param in _all_parameters(inv):
        lower = param.name.lower()
        if lower in allowed:
            continue
        if lower in COMMON_PARAMETERS or lower in _SHOULD_PROCESS:
            why = "it is not an advanced function ([CmdletBinding()]), so the value lands in $args"
            if fn.advanced:
                why = "it does not declare SupportsShouldProcess"
            where = f"{fn.name} ({fn.file}:{fn.line})"
            message = f"{inv.name} -{param.name}: {where} has no -{param.name}: {why}"
        else:
            message = (
                f"{inv.name} -{param.name}: not a parameter of our function {fn.name} "
                f"({fn.file}:{fn.line}){_near_miss(param.name, fn.parameters)}"
            )
        findings.append(Finding(ctx.file, param.line, inv.name, param.name, (), message))
    return findings


def _check_command(inv: Invocation, ctx: _Context) -> list[Finding]:
    resolved = {p.label: p.resolve(inv.name) for p in ctx.profiles}
    present = {label: r for label, r in resolved.items() if r is not None}
    if not present and all(f"{inv.name.lower()}.exe" in p.native for p in ctx.profiles):
        return []  # `w32tm /query`: a native command without its extension
    findings = []
    missing = tuple(label for label, r in resolved.items() if r is None)
    if missing:
        where = "any Windows PowerShell 5.1 profile" if not present else "every profile"
        findings.append(
            Finding(
                ctx.file,
                inv.line,
                inv.name,
                None,
                missing,
                f"{inv.name}: not a cmdlet, function or alias on {where}",
            )
        )
    for param in _all_parameters(inv):
        findings.extend(_check_parameter(inv, param, present, ctx))
    return findings


def _check_parameter(
    inv: Invocation,
    param: NamedParameter,
    present: Mapping[str, tuple[str, Mapping[str, str]]],
    ctx: _Context,
) -> list[Finding]:
    lower = param.name.lower()
    if lower in COMMON_PARAMETERS:
        return []
    lacking = tuple(label for label, (_, params) in present.items() if lower not in params)
    if not lacking:
        return []
    canonical, params = present[lacking[0]]
    message = (
        f"{inv.name} -{param.name}: not a parameter or parameter alias of {canonical}"
        f"{_near_miss(param.name, params)}"
    )
    return [Finding(ctx.file, param.line, inv.name, param.name, lacking, message)]


def _canonical(name: str, ctx: _Context) -> str:
    """Lower-case canonical name of a profile command or alias ('' if unknown)."""
    for profile in ctx.profiles:
        resolved = profile.resolve(name)
        if resolved is not None:
            return resolved[0].lower()
    return ""


def _normal_dir(path: str) -> str:
    return re.sub(r"[\\/]+", lambda _: "\\", path).rstrip("\\").lower()


def _known_folder(text: str) -> str | None:
    """The folder a ``-Path`` expression names, for the well-known Windows folders only."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if _SYSTEM_DIRECTORY.fullmatch(text):
        return _SYSTEM32
    if text[:1] in ("'", '"') and text[-1:] == text[:1]:
        text = text[1:-1]
    text = _SYSTEM_ROOT.sub(lambda _: _WINDOWS, text)
    if "$" in text or "(" in text or not re.match(r"^[A-Za-z]:\\", text):
        return None
    return text


def _started_executables(inv: Invocation, ctx: _Context) -> tuple[list[Finding], list[Unchecked]]:
    """``Start-Process -FilePath 'x.exe'`` and ``Join-Path -ChildPath 'x.exe'``, best effort."""
    canonical = _canonical(inv.name, ctx)
    values = {key: (text, const) for key, text, const in inv.values}
    if canonical == "start-process":
        path = next((values[k][1] for k in _START_PROCESS_PATH if k in values), None)
        if path and _base_name(path).lower().endswith(_NATIVE_SUFFIXES):
            return _check_native(Invocation(inv.line, "native", _base_name(path), path), ctx), []
    if canonical == "join-path" and "childpath" in values and "path" in values:
        return _joined_executable(inv, values["path"][0], values["childpath"][1], ctx)
    return [], []


def _joined_executable(
    inv: Invocation, folder_text: str, child: str | None, ctx: _Context
) -> tuple[list[Finding], list[Unchecked]]:
    if not child or not child.lower().endswith(_NATIVE_SUFFIXES):
        return [], []
    exe = _base_name(child)
    folder = _known_folder(folder_text)
    if folder is None:
        note = (
            f"{exe}: executable under a folder computed at run time (Join-Path -Path {folder_text})"
        )
        return [], [Unchecked(ctx.file, inv.line, exe, note + "; not checked against the profiles")]
    full = folder.rstrip("\\") + "\\" + child.lstrip("\\")
    where = _normal_dir(full.rsplit("\\", 1)[0])
    if where in _path_dirs(ctx):
        return _check_native(Invocation(inv.line, "native", exe, full), ctx), []
    note = (
        f"{exe}: started from {full}, outside the PATH folders the profiles list native commands "
        "from, so the profiles cannot confirm it"
    )
    return [], [Unchecked(ctx.file, inv.line, exe, note)]


def _check_native(inv: Invocation, ctx: _Context) -> list[Finding]:
    lacking = tuple(p.label for p in ctx.profiles if inv.name.lower() not in p.native)
    if not lacking:
        return []
    message = (
        f"{inv.name}: native command not in the profiles' NativeCommands (the executables on PATH)"
    )
    path = inv.written.strip("'\"")
    if re.search(r"[\\/]", path):
        folder = _known_folder(re.split(r"[\\/](?=[^\\/]*$)", path)[0])
        if folder is None or _normal_dir(folder) not in _path_dirs(ctx):
            message += (
                f"; it is started by path ({inv.written}), and the profiles list only the "
                f"executables in the PATH folders ({', '.join(sorted(_path_dirs(ctx)))}), so they "
                "cannot confirm it: check that it exists on every target"
            )
    return [Finding(ctx.file, inv.line, inv.name, None, lacking, message)]


def _path_dirs(ctx: _Context) -> frozenset[str]:
    """Lower-case folders that every profile collected native commands from."""
    return frozenset.intersection(*(p.path_dirs for p in ctx.profiles))


def _check_invocation(inv: Invocation, ctx: _Context) -> tuple[list[Finding], list[Unchecked]]:
    if inv.kind == "dynamic":
        return [], [
            Unchecked(ctx.file, inv.line, inv.name, f"{inv.written}: command computed at run time")
        ]
    if inv.kind == "script":
        return [], [Unchecked(ctx.file, inv.line, inv.name, f"{inv.written}: script invocation")]
    if inv.kind == "native":
        return _check_native(inv, ctx), []
    own = ctx.functions.get(inv.name.lower())
    findings = _check_own(inv, own, ctx) if own is not None else _check_command(inv, ctx)
    started, notes = _started_executables(inv, ctx) if own is None else ([], [])
    return findings + started, _splat_notes(inv, ctx) + notes


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def shipped_files() -> list[pathlib.Path]:
    """Every ``.ps1``/``.psm1`` under ``plugins/``."""
    return sorted({p for pattern in _PS_GLOBS for p in PLUGINS_DIR.rglob(pattern)})


def _read(path: pathlib.Path) -> str:
    return path.read_text(encoding="utf-8-sig")


def _known_functions(sources: Mapping[pathlib.Path, str]) -> dict[str, FunctionInfo]:
    """Functions of plugins/, the checked files and the Ansible module_utils they require."""
    files = {p: _read(p) for p in shipped_files()}
    files.update(sources)
    files.update({p: _read(p) for p in _ansible_util_files(files.values())})
    functions: dict[str, FunctionInfo] = {}
    for path, source in files.items():
        for info in function_infos(source, _display(path)):
            functions[info.name.lower()] = info
    return functions


def analyse(
    paths: Sequence[pathlib.Path | str], profiles_dir: pathlib.Path | None = None
) -> Report:
    """Check the given scripts; raise :class:`ProfilesMissing` without the profile data."""
    profiles = load_profiles(profiles_dir)
    sources = {pathlib.Path(p): _read(pathlib.Path(p)) for p in paths}
    functions = _known_functions(sources)
    report = Report(files=len(sources))
    for path, source in sources.items():
        ctx = _Context(_display(path), profiles, functions)
        for inv in extract_invocations(source):
            report.invocations += 1
            findings, unchecked = _check_invocation(inv, ctx)
            report.findings.extend(findings)
            report.unchecked.extend(unchecked)
    return report


def check_files(paths: Sequence[pathlib.Path | str]) -> list[Finding]:
    """Findings for the given ``.ps1``/``.psm1`` files."""
    return analyse(paths).findings


def check_shipped() -> list[Finding]:
    """Findings for every ``.ps1``/``.psm1`` under ``plugins/``."""
    return check_files(shipped_files())


def _print_report(report: Report, profiles: Sequence[Profile]) -> None:
    labels = ", ".join(p.label for p in profiles)
    for finding in report.findings:
        print(finding)
    if report.unchecked:
        print(f"not checked statically ({len(report.unchecked)}):")
        for note in report.unchecked:
            print(f"  {note}")
    print(
        f"pscheck.compat: {len(report.findings)} finding(s) in {report.files} file(s), "
        f"{report.invocations} invocation(s), against {labels}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: print findings; exit 0 clean, 1 findings, 77 skipped (no profile data)."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.pscheck.compat", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "paths", nargs="*", type=pathlib.Path, help="scripts to check (default: plugins/)"
    )
    parser.add_argument(
        "--profiles", type=pathlib.Path, default=None, help="profile folder (default: PROFILES_DIR)"
    )
    args = parser.parse_args(argv)
    if not profiles_available(args.profiles):
        print(
            f"SKIPPED: Windows PowerShell 5.1 compatibility check NOT RUN: no profiles at "
            f"{args.profiles or PROFILES_DIR} (CI has ../shared/data/windows-powershell-5.1-profiles)",
            file=sys.stderr,
        )
        return EXIT_SKIPPED
    report = analyse(args.paths or shipped_files(), args.profiles)
    _print_report(report, load_profiles(args.profiles))
    return EXIT_FINDINGS if report.findings else EXIT_CLEAN


if __name__ == "__main__":
    sys.exit(main())
