"""The call graph of our PowerShell module utils, read with tree-sitter-powershell (the lab's parser).

A node is a function definition; its edges are the command names its body invokes and the ``$script:``
variables it reads or writes. Text inside strings (the self-contained runspace scripts held in here-strings)
is not code to the parser, so it adds no edge. A command name is ours when one of our ``.psm1`` files defines
it; anything else is a cmdlet, an alias or a native program. Names are compared case-insensitively, as
PowerShell resolves commands and variables.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
from collections.abc import Iterable, Iterator, Mapping

import tree_sitter

from tests.simhost.psparse import _parse, _text, exported_functions

_REQUIRES = re.compile(r"^#AnsibleRequires -PowerShell ansible_collections\.mecm\.fieldkit\.plugins\.module_utils\.(\w+)\s*$",
                       re.MULTILINE | re.IGNORECASE)
_SCRIPT_SCOPE = "$script:"


@dataclasses.dataclass(frozen=True)
class PsFunction:
    """One function definition: where it is, what it calls, which script-scope variables it uses."""

    name: str
    util: str
    calls: frozenset[str]
    script_variables: frozenset[str]


@dataclasses.dataclass(frozen=True)
class ModuleUtil:
    """One ``.psm1``: its functions, exports, script-level ``$script:`` assignments and ``#AnsibleRequires``."""

    name: str
    functions: Mapping[str, PsFunction]
    exported: frozenset[str]
    script_constants: frozenset[str]
    requires: tuple[str, ...]


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _command_name(command: tree_sitter.Node, data: bytes) -> str | None:
    node = command.child_by_field_name("command_name")
    return None if node is None else _text(node, data).strip().strip("'\"").lower()


def _script_variable(variable: tree_sitter.Node, data: bytes) -> str | None:
    text = _text(variable, data)
    if text.startswith("${") and text.endswith("}"):
        text = "$" + text[2:-1]
    return text[len(_SCRIPT_SCOPE):].lower() if text.lower().startswith(_SCRIPT_SCOPE) else None


def _function(node: tree_sitter.Node, data: bytes, util: str) -> PsFunction:
    name_node = next(c for c in node.children if c.type == "function_name")
    calls: set[str] = set()
    variables: set[str] = set()
    for inner in _walk(node):
        if inner.type == "command":
            command = _command_name(inner, data)
            if command:
                calls.add(command)
        elif inner.type == "variable":
            variable = _script_variable(inner, data)
            if variable:
                variables.add(variable)
    name = re.sub(r"^(?:global|script|local|private):", "", _text(name_node, data), flags=re.IGNORECASE)
    return PsFunction(name=name, util=util, calls=frozenset(calls), script_variables=frozenset(variables))


def _top_level_assignments(root: tree_sitter.Node, data: bytes) -> set[str]:
    """Names of the ``$script:X = ...`` statements outside any function."""
    found: set[str] = set()
    for node in _walk(root):
        if node.type != "assignment_expression" or any(a.type == "function_statement" for a in _ancestors(node)):
            continue
        variable = _script_variable(node.children[0], data) if node.children else None
        if variable:
            found.add(variable)
    return found


def _ancestors(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def parse_module_util(name: str, source: str) -> ModuleUtil:
    tree, data = _parse(source)
    functions: dict[str, PsFunction] = {}
    for node in _walk(tree.root_node):
        if node.type == "function_statement":
            function = _function(node, data, name)
            functions[function.name.lower()] = function
    return ModuleUtil(name=name, functions=functions,
                      exported=frozenset(n.lower() for n in exported_functions(source)),
                      script_constants=frozenset(_top_level_assignments(tree.root_node, data)),
                      requires=tuple(_REQUIRES.findall(source)))


def load_module_utils(directory: pathlib.Path) -> dict[str, ModuleUtil]:
    """Every ``_Fieldkit*.psm1`` of ``directory``, by name without the extension."""
    return {path.stem: parse_module_util(path.stem, path.read_text(encoding="utf-8-sig"))
            for path in sorted(directory.glob("_Fieldkit*.psm1"))}


def shipped_utils(requires: Iterable[str], utils: Mapping[str, ModuleUtil]) -> list[str]:
    """The module utils a payload carries for these ``#AnsibleRequires`` names: Ansible follows the
    ``#AnsibleRequires`` lines of each util it ships, so the set is transitive."""
    shipped: list[str] = []
    pending = list(requires)
    while pending:
        name = pending.pop(0)
        if name in shipped:
            continue
        shipped.append(name)
        pending.extend(utils[name].requires if name in utils else ())
    return shipped


def definitions(utils: Iterable[ModuleUtil]) -> dict[str, list[str]]:
    """Each function name (lower case) with the utils that define it."""
    found: dict[str, list[str]] = {}
    for util in utils:
        for name in util.functions:
            found.setdefault(name, []).append(util.name)
    return found


@dataclasses.dataclass(frozen=True)
class ClosureProblem:
    """Why an op cannot run with the module utils its runner ships."""

    op_function: str
    path: tuple[str, ...]  # op function ... the function at fault
    problem: str

    def __str__(self) -> str:
        return f"{' -> '.join(self.path)}: {self.problem}"


def closure_problems(op_function: str, shipped: Mapping[str, ModuleUtil],
                     ours: Mapping[str, ModuleUtil]) -> list[ClosureProblem]:
    """Walk every function ``op_function`` calls, directly or not (breadth first), and report what the shipped
    utils lack: a function of ours (defined in any of our utils) that none of them defines, a function called from
    another util that its util does not export, and a ``$script:`` variable that the function's own util does not
    assign at script level (a module util has its own script scope)."""
    available = {name: util for util in shipped.values() for name in util.functions}
    defined_in = definitions(ours.values())
    problems: list[ClosureProblem] = []
    paths: dict[str, tuple[str, ...]] = {op_function.lower(): (op_function,)}
    order = [op_function.lower()]
    for name in order:  # grows while it is walked
        path = paths[name]
        util = available.get(name)
        if util is None:
            where = ", ".join(defined_in.get(name, [])) or "none of our module utils"
            problems.append(ClosureProblem(op_function, path, f"not shipped (defined in {where})"))
            continue
        function = util.functions[name]
        for variable in sorted(function.script_variables - util.script_constants):
            problems.append(ClosureProblem(op_function, path, f"uses $script:{variable}, which {util.name} does not "
                                                              "assign at script level"))
        for called in sorted(function.calls & defined_in.keys()):
            callee_util = available.get(called)
            callee = (callee_util or ours[defined_in[called][0]]).functions[called].name
            if callee_util is not None and callee_util is not util and called not in callee_util.exported:
                problems.append(ClosureProblem(op_function, (*path, callee),
                                               f"called from {util.name} but not exported by {callee_util.name}"))
            if called not in paths:
                paths[called] = (*path, callee)
                order.append(called)
    return problems


def reached_functions(roots: Iterable[str], utils: Mapping[str, ModuleUtil]) -> set[str]:
    """Every function of ``utils`` (lower-case names) that ``roots`` call, directly or not, the roots included."""
    defined = {name: util for util in utils.values() for name in util.functions}
    reached: set[str] = set()
    pending = [root.lower() for root in roots]
    while pending:
        name = pending.pop()
        if name in reached or name not in defined:
            continue
        reached.add(name)
        pending.extend(defined[name].functions[name].calls & defined.keys())
    return reached
