"""Lint for Windows PowerShell 5.1 pitfalls that parse, pass the simulated lab and fail on Windows.

One rule per defect class found in review (the table "Windows PowerShell 5.1 pitfalls" in
``docs/development.md`` gives the why and the idiom to use):

- R1  assignment to a member that is not settable on .NET Framework (``$e.HResult = 5``).
- R2  ``@(F ...)`` around one of our functions that returns its array with ``return , $x``.
- R3  raw Get-Content / Select-String / native command output stored in a result.
- R4  stderr redirection (``2>&1``, ``2>$null``, ``*>``) on a native command.
- R5  a WQL literal escaped by doubling quotes (``''``) instead of backslashes.
- R0  a ``# pitfall-ok: <rules> <reason>`` comment without a reason, or one that suppresses nothing.

The analysis is syntactic (tree-sitter-powershell) with a little data flow inside one function
(variables, ``foreach`` loop variables, ``$_`` in ``ForEach-Object``/``Where-Object`` blocks), in
document order. PowerShell in verbatim here-strings that starts with ``param(`` or calls
``Set-StrictMode`` (runspace scripts) is linted too, at its own lines. A finding on a line that
carries ``# pitfall-ok: R3 <reason>`` (several rules: ``R1,R3``) is suppressed; the reason is required.

Limits (by design, to stay fast and quiet): no flow across functions (a value passed to or returned
from another function is not followed; R2 is the one cross-file rule); types are not inferred, so
R1 flags ``.HResult``/``.Message`` assignments on hashtables too (write ``$h['HResult']``), and R3
treats ``-match``/``-like`` as array filters; R3 does not follow ``$list.Add($line)``; R4 knows a
native command by a name ending in ``.exe``, a short list of well-known programs, or a variable
assigned a ``...exe`` path; R5 only sees escapes that reach a ``-Filter``/``-Query`` of a CIM/WMI
cmdlet, a ``ManagementObjectSearcher``/``*Query`` constructor or a ``[wmisearcher]``/``[wmi]`` cast
inside the same function.

CLI: ``python -m tests.pscheck.pitfalls [FILE ...]`` (no files: every .ps1/.psm1 under plugins/);
exit status 1 when there are findings.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import tree_sitter
import tree_sitter_powershell

__all__ = [
    "RULES",
    "Finding",
    "array_returning_functions",
    "lint_files",
    "lint_shipped",
    "lint_source",
    "main",
]

Node = tree_sitter.Node

RULES: Mapping[str, str] = {
    "R0": "pitfall-ok comment without a reason, or one that suppresses nothing",
    "R1": "assignment to a member that is read-only on .NET Framework",
    "R2": "@() around a call of a function that returns its array with the comma operator",
    "R3": "raw Get-Content / Select-String / native command output stored in a result",
    "R4": "stderr redirection on a native command",
    "R5": "WQL literal escaped by doubling quotes",
}

REPO_ROOT = Path(__file__).resolve().parents[2]

_LANGUAGE = tree_sitter.Language(tree_sitter_powershell.language())
_LOCAL = threading.local()
_BOM = "\ufeff"
_PS_SUFFIXES = (".ps1", ".psm1")


@dataclass(frozen=True)
class Finding:
    """One pitfall: rule id, file, 1-based line and column, message with the idiom to use."""

    rule: str
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.rule} {self.message}"


# A finding before it is given a file name: (line, column, rule, message).
_Hit = tuple[int, int, str, str]


@dataclass(frozen=True)
class _Call:
    """A command called directly inside ``@(...)`` (candidate for R2)."""

    function: str  # lower case
    name: str  # as written
    line: int
    column: int


@dataclass(frozen=True)
class _Suppression:
    line: int
    column: int
    rules: frozenset[str]
    reason: str


@dataclass(frozen=True)
class _Facts:
    """Everything one source contributes; cached by content (file name not included)."""

    hits: tuple[_Hit, ...]
    calls: tuple[_Call, ...]
    array_functions: frozenset[str]
    suppressions: tuple[_Suppression, ...]


# --------------------------------------------------------------------------
# Tree helpers
# --------------------------------------------------------------------------

# Expression wrappers the grammar nests around every value; transparent when they have one child.
_TRANSPARENT = frozenset(
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
        "argument_expression",
        "logical_argument_expression",
        "bitwise_argument_expression",
        "comparison_argument_expression",
        "additive_argument_expression",
        "multiplicative_argument_expression",
        "format_argument_expression",
        "range_argument_expression",
        "statement_list",
    }
)
_SCOPE_PREFIX = re.compile(r"^(?:global|script|local|private):", re.IGNORECASE)


def _parser() -> tree_sitter.Parser:
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = tree_sitter.Parser(_LANGUAGE)
    return parser


class _Doc:
    """Parsed source with text and position helpers (line offset for embedded scripts)."""

    def __init__(self, source: str, line_offset: int = 0) -> None:
        if source.startswith(_BOM):
            source = source[1:]
        self.data = source.encode("utf-8")
        self.root = _parser().parse(self.data).root_node
        self.line_offset = line_offset

    def text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")

    def position(self, node: Node) -> tuple[int, int]:
        """1-based line and column in characters."""
        line_start = node.start_byte - node.start_point.column
        prefix = self.data[line_start : node.start_byte].decode("utf-8", errors="replace")
        return node.start_point.row + 1 + self.line_offset, len(prefix) + 1

    def hit(self, node: Node, rule: str, message: str) -> _Hit:
        line, column = self.position(node)
        return line, column, rule, message


def _kind(node: Node) -> str:
    """Node type, with the method-argument variants (``additive_argument_expression``) folded in."""
    return node.type.replace("_argument_expression", "_expression")


def _unwrap(node: Node | None) -> Node | None:
    while node is not None and node.type in _TRANSPARENT and node.named_child_count == 1:
        node = node.named_children[0]
    return node


def _named(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type != "comment"]


def _walk(node: Node, skip: Iterable[str] = ()) -> Iterator[Node]:
    """Pre-order, document order; subtrees of ``skip`` types (below ``node``) are not entered."""
    skipped = frozenset(skip)
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(c for c in reversed(current.children) if c.type not in skipped)


def _variable_name(text: str) -> str:
    name = text[1:] if text.startswith("$") else text
    if name.startswith("{") and name.endswith("}"):
        name = name[1:-1]
    name = re.sub(r"^(?:local|private):", "", name, flags=re.IGNORECASE).lower()
    return "_" if name == "psitem" else name


def _function_name(function: Node, doc: _Doc) -> str | None:
    node = next((c for c in function.children if c.type == "function_name"), None)
    return None if node is None else _SCOPE_PREFIX.sub("", doc.text(node)).lower()


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _command_name(command: Node, doc: _Doc) -> str:
    """The command name as written (quotes removed), e.g. ``Get-Content``, ``sc.exe``, ``$exe``."""
    node = command.child_by_field_name("command_name")
    return "" if node is None else _unquote(doc.text(node).strip())


def _command_elements(command: Node) -> list[Node]:
    elements = command.child_by_field_name("command_elements")
    if elements is None:
        return []
    return [c for c in elements.named_children if c.type not in ("command_argument_sep", "comment")]


def _literal(node: Node | None, doc: _Doc) -> str | None:
    """Value of a constant string literal, else None."""
    node = _unwrap(node)
    if node is not None and node.type == "unary_expression" and node.named_child_count == 1:
        node = node.named_children[0]
    if node is None or node.type != "string_literal" or node.named_child_count != 1:
        return None
    inner = node.named_children[0]
    text = doc.text(inner)
    if inner.type == "verbatim_string_characters":
        return text[1:-1].replace("''", "'")
    if inner.type == "expandable_string_literal" and inner.named_child_count == 0:
        value = text[1:-1].replace('""', '"')
        return re.sub(r"`(.)", r"\1", value)
    return None


def _pipeline_elements(node: Node) -> list[Node]:
    """Commands/expressions of a pipeline (one element if it is not a pipeline)."""
    node = _unwrap(node)
    if node is None:
        return []
    if node.type == "pipeline":
        chain = next((c for c in node.named_children if c.type == "pipeline_chain"), None)
        if chain is None:
            return _named(node)[-1:]
        node = chain
    if node.type == "pipeline_chain":
        return _named(node)
    return [node]


def _statements(node: Node | None) -> list[Node]:
    """Statements of a statement_list-bearing node (array/sub-expression, block body)."""
    if node is None:
        return []
    if node.type != "statement_list":
        node = next((c for c in _walk(node) if c.type == "statement_list"), None)
        if node is None:
            return []
    return _named(node)


# --------------------------------------------------------------------------
# R2: functions that return their array with the comma operator
# --------------------------------------------------------------------------


def _is_comma_unary(node: Node | None) -> bool:
    node = _unwrap(node)
    return (
        node is not None
        and node.type == "expression_with_unary_operator"
        and node.child_count > 0
        and node.children[0].type == ","
    )


def _has_switch(command: Node, doc: _Doc, switch: str) -> bool:
    return any(
        c.type == "command_parameter" and doc.text(c).lstrip("-").rstrip(":").lower() == switch
        for c in _command_elements(command)
    )


def _returns_single_array(node: Node, doc: _Doc) -> bool:
    """``return , $x``, a ``, $x`` output statement, or ``Write-Output -NoEnumerate``."""
    kind = node.type
    if kind == "flow_control_statement":
        return node.children[0].type == "return" and any(_is_comma_unary(c) for c in node.named_children)
    if kind == "pipeline":
        return _is_output_statement(node) and _is_comma_unary(node)
    if kind == "command":
        return _command_name(node, doc).lower() in ("write-output", "echo") and _has_switch(node, doc, "noenumerate")
    return False


def _array_expression_calls(doc: _Doc, array_expressions: list[Node]) -> list[_Call]:
    """The first command of every pipeline directly inside ``@(...)``.

    A function fed by the pipeline (``@($items | F)``) emits once per input, so its comma is
    usually deliberate (it keeps nested arrays) and is not a candidate.
    """
    calls = []
    for node in array_expressions:
        for statement in _statements(node.child_by_field_name("statements")):
            elements = _pipeline_elements(statement)
            if elements and elements[0].type == "command":  # called, not fed by a pipeline
                name = _command_name(elements[0], doc)
                line, column = doc.position(elements[0])
                calls.append(_Call(name.lower(), name, line, column))
    return calls


def _r2_message(name: str) -> str:
    return (
        f"@({name} ...): {name} returns its array with the comma operator (return , $x), "
        "so @() around the command wraps that one array object and .Count is always 1; "
        f"assign the call directly ($items = {name} ...), or drop the comma in {name} and keep @() "
        "at every call site (one convention per function)"
    )


# --------------------------------------------------------------------------
# R1: members that cannot be set on .NET Framework
# --------------------------------------------------------------------------

_EXCEPTION_IDIOM = (
    "build a new exception instead: New-Object System.Exception($message, $inner); "
    "for a hashtable key of that name write $h['{member}'] = ..."
)
_RECORD_IDIOM = (
    "build a new record instead: New-Object System.Management.Automation.ErrorRecord"
    "($exception, $errorId, $category, $target); for a hashtable key write $h['{member}'] = ..."
)
# HResult and Message are flagged on any object (write $h['Key'] = ... for a hashtable key); the
# other names are skipped on variables assigned a hashtable literal in the scope and on $x.Result.
_ALWAYS_READ_ONLY = frozenset({"hresult", "message"})
_READ_ONLY: Mapping[str, str] = {
    "hresult": (
        "Exception.HResult has a protected setter on .NET Framework, so Windows PowerShell 5.1 "
        "fails with \"'HResult' is a ReadOnly property\" (pwsh 7 on .NET Core allows it); pass the "
        "code to a constructor: New-Object System.ComponentModel.Win32Exception($win32Code, $message) "
        "(NativeErrorCode) or New-Object System.Runtime.InteropServices.COMException($message, $hresult) "
        "(HResult); for a hashtable key write $h['HResult'] = ..."
    ),
    "message": "Exception.Message is get-only; " + _EXCEPTION_IDIOM,
    "innerexception": "Exception.InnerException is get-only; " + _EXCEPTION_IDIOM,
    "stacktrace": "Exception.StackTrace is get-only; " + _EXCEPTION_IDIOM,
    "targetsite": "Exception.TargetSite is get-only; " + _EXCEPTION_IDIOM,
    "exception": "ErrorRecord.Exception is get-only; " + _RECORD_IDIOM,
    "categoryinfo": "ErrorRecord.CategoryInfo is get-only; " + _RECORD_IDIOM,
    "invocationinfo": "ErrorRecord.InvocationInfo is get-only; " + _RECORD_IDIOM,
    "targetobject": "ErrorRecord.TargetObject is get-only; " + _RECORD_IDIOM,
    "fullyqualifiederrorid": "ErrorRecord.FullyQualifiedErrorId is get-only; " + _RECORD_IDIOM,
    "scriptstacktrace": "ErrorRecord.ScriptStackTrace is get-only; " + _RECORD_IDIOM,
}


def _member(node: Node, doc: _Doc) -> str:
    """The member name of a member_access / invokation_expression, as written."""
    name = next((c for c in reversed(node.named_children) if c.type == "member_name"), None)
    return "" if name is None else doc.text(name)


# --------------------------------------------------------------------------
# R3: sources of raw text objects
# --------------------------------------------------------------------------

_GET_CONTENT = frozenset({"get-content", "gc", "cat", "type"})
_SELECT_STRING = frozenset({"select-string", "sls"})
# Native programs commonly called without ".exe" whose names are not PowerShell aliases.
_NATIVE_NAMES = frozenset(
    {
        "auditpol", "bcdedit", "certutil", "cmd", "dism", "fsutil", "gpresult", "gpupdate",
        "icacls", "ipconfig", "klist", "msiexec", "net", "netsh", "netstat", "nltest",
        "nslookup", "ping", "pnputil", "reg", "robocopy", "schtasks", "secedit", "setspn",
        "takeown", "tasklist", "taskkill", "vssadmin", "w32tm", "wevtutil", "whoami", "wmic",
        "wusa",
    }
)
_PASS_THROUGH = frozenset(
    {"where-object", "where", "?", "sort-object", "sort", "tee-object", "tee", "get-unique", "select-object", "select"}
)
_FOREACH = frozenset({"foreach-object", "%", "foreach"})
_STRING_TYPES = frozenset({"string", "system.string", "string[]", "system.string[]"})
_CONTAINER_TYPES = frozenset(
    {
        "array", "object", "system.object", "object[]", "system.object[]", "psobject",
        "system.management.automation.psobject", "collections.arraylist", "system.collections.arraylist",
    }
)
_FILTER_OPERATORS = re.compile(r"^-[ic]?(?:not)?(?:match|like)$", re.IGNORECASE)
_EXE = re.compile(r"([\w.-]+\.exe)\b", re.IGNORECASE)


_GET_CONTENT_SOURCE = "Get-Content output"
_SELECT_STRING_SOURCE = "Select-String output (MatchInfo objects or their .Line)"
_WHY_RAW = {
    _GET_CONTENT_SOURCE: (
        "each line keeps the PSPath/PSParentPath/PSChildName/PSDrive/PSProvider/ReadCount note properties"
    ),
    _SELECT_STRING_SOURCE: "MatchInfo carries Matches/Context/Pattern objects, and .Line is not a plain string either",
}
_WHY_NATIVE = "it is not a plain string array (stderr merged with 2>&1 gives ErrorRecords)"


def _r3_message(source: str, where: str) -> str:
    why = _WHY_RAW.get(source, _WHY_NATIVE)
    return (
        f"{source} {where} without conversion to [string]: {why}, and Ansible.Basic's "
        "ConvertTo-Json -Depth 99 expands such objects deeply or hangs on Windows PowerShell 5.1; "
        "convert each element: | ForEach-Object { [string]$_ }, [string[]], -join, or read the "
        "file with [System.IO.File]::ReadAllLines"
    )


# --------------------------------------------------------------------------
# R4 and R5 messages and WQL sinks
# --------------------------------------------------------------------------


def _r4_message(operator: str, program: str) -> str:
    return (
        f"{operator} on the native command {program}: under $ErrorActionPreference = 'Stop' (Ansible "
        "sets it) Windows PowerShell 5.1 turns the first stderr line into a terminating "
        "NativeCommandError, even for 2>$null; run the program with System.Diagnostics.Process "
        "(RedirectStandardError, read both streams, WaitForExit with a timeout), or set "
        "$ErrorActionPreference = 'Continue' in the calling function before the call and convert "
        "the merged ErrorRecords with [string]"
    )


_R5_MESSAGE = (
    "WQL literal escaped by doubling quotes (''): WQL escapes with a backslash, so a name with a "
    "quote ends the literal (invalid query or a different match); escape backslashes first, then "
    "quotes: $v.Replace('\\', '\\\\').Replace(\"'\", \"\\'\")"
)
_R5_ORDER_MESSAGE = (
    "backslashes are escaped after the quotes, which doubles the backslash of every \\' just "
    "written; escape backslashes first: $v.Replace('\\', '\\\\').Replace(\"'\", \"\\'\")"
)
_WQL_COMMANDS = frozenset(
    {
        "get-ciminstance", "gcim", "get-wmiobject", "gwmi", "remove-ciminstance", "rcim",
        "set-ciminstance", "scim", "invoke-cimmethod", "icim", "register-cimindicationevent",
        "register-wmievent",
    }
)
_WQL_TYPES = re.compile(
    r"managementobjectsearcher|wqlobjectquery|selectquery|objectquery|eventquery|wmisearcher|\bwmi\b",
    re.IGNORECASE,
)


_REPLACE_KINDS = ("invokation_expression", "comparison_expression")


def _replace_arguments(node: Node, doc: _Doc) -> tuple[str | None, ...] | None:
    """Literal (old, new) of ``x.Replace(a, b)`` or ``x -replace a, b``, else None."""
    if node.type == "invokation_expression" and _member(node, doc).lower() == "replace":
        arguments = next((c for c in node.named_children if c.type == "argument_list"), None)
        values = [] if arguments is None else _call_arguments(arguments)
        return tuple(_literal(v, doc) for v in values)
    if _kind(node) == "comparison_expression" and node.named_child_count == 3:
        operator = doc.text(node.named_children[1]).lower()
        if operator in ("-replace", "-ireplace", "-creplace"):
            right = _unwrap(node.named_children[2])
            values = _named(right) if right is not None and right.type == "array_literal_expression" else [right]
            return tuple(_literal(v, doc) for v in values if v is not None)
    return None


def _call_arguments(arguments: Node) -> list[Node]:
    listing = next((c for c in arguments.named_children if c.type == "argument_expression_list"), None)
    return [] if listing is None else _named(listing)


def _is_quote_doubling(node: Node, doc: _Doc) -> bool:
    args = _replace_arguments(node, doc)
    return args == ("'", "''")


def _is_escape_order_bug(node: Node, doc: _Doc) -> bool:
    """``.Replace("'", "\\'").Replace('\\', '\\\\')``: backslashes escaped after the quotes."""
    if _replace_arguments(node, doc) != ("\\", "\\\\"):
        return False
    base = _unwrap(node.named_children[0]) if node.named_child_count else None
    return base is not None and _replace_arguments(base, doc) == ("'", "\\'")


# --------------------------------------------------------------------------
# One scope (a function body, or the script outside functions)
# --------------------------------------------------------------------------


@dataclass
class _Scope:
    """Data-flow state of one function (or the top level) while its nodes are visited in order."""

    doc: _Doc
    in_function: bool
    hits: list[_Hit] = field(default_factory=list)
    raw: dict[str, str | None] = field(default_factory=dict)  # variable -> raw-text source
    typed: set[str] = field(default_factory=set)  # [string]/[string[]]-constrained variables
    native: dict[str, str] = field(default_factory=dict)  # variable -> program (x.exe) it names
    escaped: dict[str, list[Node]] = field(default_factory=dict)  # variable -> '' escapes reaching it
    eap: list[tuple[int, bool]] = field(default_factory=list)  # ($ErrorActionPreference set at, relaxed)
    block_input: dict[int, str | None] = field(default_factory=dict)  # script block start -> $_ source
    wql_reported: set[int] = field(default_factory=set)
    returns_single_array: bool = False
    hashtables: set[str] = field(default_factory=set)  # variables assigned a hashtable literal

    # ---- values ---------------------------------------------------------

    def taint(self, node: Node | None) -> str | None:
        """The raw-text source (for the message) that ``node``'s value may carry, else None."""
        node = _unwrap(node)
        if node is None:
            return None
        kind = _kind(node)
        if kind == "variable":
            return self.raw.get(_variable_name(self.doc.text(node)))
        if kind in ("command", "pipeline", "pipeline_chain"):
            return self.pipeline_taint(_pipeline_elements(node))
        if kind in ("array_expression", "sub_expression"):
            return self.statements_taint(_statements(node.child_by_field_name("statements") or node))
        if kind == "member_access":
            return self.taint(node.named_children[0]) if _member(node, self.doc).lower() == "line" else None
        if kind == "element_access":
            return self.taint(node.named_children[0])
        if kind == "invokation_expression":
            return self.method_taint(node)
        if kind == "expression_with_unary_operator":
            return self.unary_taint(node)
        if kind == "cast_expression":
            return self.cast_taint(node)
        if kind == "comparison_expression" and node.named_child_count == 3:
            if _FILTER_OPERATORS.match(self.doc.text(node.named_children[1])):
                return self.taint(node.named_children[0])
            return None
        if kind == "additive_expression" and node.named_child_count == 2:
            left, right = node.named_children
            if _unwrap(left) is not None and _unwrap(left).type == "array_expression":
                return self.taint(left) or self.taint(right)
            return self.taint(left)
        if kind == "array_literal_expression":
            return next((t for t in map(self.taint, _named(node)) if t), None)
        return None

    def statements_taint(self, statements: list[Node]) -> str | None:
        for statement in statements:
            if _unwrap(statement) is not None and _unwrap(statement).type == "assignment_expression":
                continue
            found = self.taint(statement)
            if found:
                return found
        return None

    def unary_taint(self, node: Node) -> str | None:
        if node.children and node.children[0].type == ",":
            return self.taint(node.named_children[0]) if node.named_child_count else None
        inner = node.named_children[0] if node.named_child_count == 1 else None
        if inner is not None and inner.type == "cast_expression":
            return self.cast_taint(inner)
        return None

    def cast_taint(self, node: Node) -> str | None:
        type_node = next((c for c in node.named_children if c.type == "type_literal"), None)
        operand = node.named_children[-1] if node.named_child_count > 1 else None
        if type_node is None or operand is None:
            return None
        type_name = re.sub(r"\s", "", self.doc.text(type_node)[1:-1]).lower()
        if type_name in _STRING_TYPES:
            return None
        if type_name in _CONTAINER_TYPES or ("list[" in type_name and "string" not in type_name):
            return self.taint(operand)
        return None

    def method_taint(self, node: Node) -> str | None:
        """``$lines.Where({...})`` keeps elements; other method results are fresh .NET objects."""
        method = _member(node, self.doc).lower()
        if method == "where" and node.named_child_count:
            return self.taint(node.named_children[0])
        return None

    def pipeline_taint(self, elements: list[Node]) -> str | None:
        state: str | None = None
        for index, element in enumerate(elements):
            if element.type != "command":
                state = self.taint(element) if index == 0 else None
                continue
            name = _command_name(element, self.doc).lower()
            source = self.source_of(element)
            if source:
                state = source
            elif index == 0:
                state = None
            elif name in _PASS_THROUGH:
                state = self.select_taint(element, state)
            elif name in _FOREACH:
                state = self.foreach_taint(element, state)
            else:
                state = None
        return state

    def source_of(self, command: Node) -> str | None:
        name = _command_name(command, self.doc).lower()
        if name in _GET_CONTENT:
            return _GET_CONTENT_SOURCE
        if name in _SELECT_STRING:
            return _SELECT_STRING_SOURCE
        program = self.native_program(command)
        return f"{program} output" if program else None

    def native_program(self, command: Node) -> str | None:
        name = _command_name(command, self.doc)
        if name.startswith("$"):
            return self.native.get(_variable_name(name))
        base = re.split(r"[\\/]", name)[-1].lower()
        if base.endswith(".exe") or base in _NATIVE_NAMES:
            return base
        return None

    def select_taint(self, command: Node, state: str | None) -> str | None:
        elements = _command_elements(command)
        for index, element in enumerate(elements):
            if element.type == "command_parameter" and self.doc.text(element).lower().startswith("-exp"):
                value = elements[index + 1] if index + 1 < len(elements) else None
                expanded = _unquote(self.doc.text(value)).lower() if value is not None else ""
                return state if expanded == "line" else None
        return state

    def foreach_taint(self, command: Node, state: str | None) -> str | None:
        if not state:
            return None
        for element in _command_elements(command):
            block = _unwrap(element)
            if block is not None and block.type == "script_block_expression":
                saved = self.raw.get("_")
                self.raw["_"] = state
                try:
                    return self.statements_taint(_statements(block))
                finally:
                    self.raw["_"] = saved
            if element.type == "generic_token":
                return state if self.doc.text(element).lower() == "line" else None
        return None

    # ---- visiting -------------------------------------------------------

    def visit(self, node: Node, in_block: bool) -> None:
        kind = node.type
        if kind == "assignment_expression":
            self.on_assignment(node)
        elif kind == "foreach_statement":
            self.on_foreach(node)
        elif kind == "pipeline_chain":
            self.on_pipeline_chain(node)
        elif kind == "script_block_expression":
            self.raw["_"] = self.block_input.get(node.start_byte)
        elif kind == "catch_clause":
            self.raw["_"] = None
        elif kind == "command":
            self.on_command(node)
        elif kind == "invokation_expression":
            self.on_invocation(node)
        elif kind == "cast_expression":
            self.on_cast(node)
        elif kind == "hash_entry":
            self.on_hash_entry(node)
        elif kind == "flow_control_statement":
            self.on_flow_control(node)
        if self.in_function and not in_block:
            if kind == "pipeline" and _is_output_statement(node):
                self.on_output_statement(node)
            if not self.returns_single_array and kind in ("flow_control_statement", "pipeline", "command"):
                self.returns_single_array = _returns_single_array(node, self.doc)

    def on_assignment(self, node: Node) -> None:
        target = _unwrap(node.named_children[0])
        value = node.child_by_field_name("value")
        operator = next((self.doc.text(c) for c in node.named_children if c.type == "assignement_operator"), "=")
        if target is None or value is None:
            return
        if target.type in ("member_access", "element_access"):
            self.on_member_assignment(node, target, value)
        elif target.type == "variable":
            self.on_variable_assignment(_variable_name(self.doc.text(target)), operator, value, node)
        elif target.type == "expression_with_unary_operator" and target.named_child_count == 1:
            self.on_typed_assignment(target.named_children[0], value)

    def on_member_assignment(self, node: Node, target: Node, value: Node) -> None:
        member = _member(target, self.doc) if target.type == "member_access" else ""
        message = _READ_ONLY.get(member.lower())
        if message and (member.lower() in _ALWAYS_READ_ONLY or not self.is_hashtable(target.named_children[0])):
            text = self.doc.text(target)
            self.hits.append(self.doc.hit(target, "R1", f"{text} = ...: " + message.format(member=member)))
        source = self.taint(value)
        if source:
            where = f"is stored in {self.doc.text(target)}"
            self.hits.append(self.doc.hit(target, "R3", _r3_message(source, where)))
        if member.lower() in ("query", "querystring"):
            self.wql_sink(value)

    def is_hashtable(self, node: Node) -> bool:
        """A variable assigned ``@{...}`` in this scope, or an Ansible.Basic ``.Result``."""
        node = _unwrap(node)
        if node is None:
            return False
        if node.type == "variable":
            return _variable_name(self.doc.text(node)) in self.hashtables
        return node.type == "member_access" and _member(node, self.doc).lower() == "result"

    def on_variable_assignment(self, name: str, operator: str, value: Node, node: Node) -> None:
        appending = operator == "+="
        if not appending:
            literal = _unwrap(value)
            if literal is not None and literal.type == "hash_literal_expression":
                self.hashtables.add(name)
            else:
                self.hashtables.discard(name)
        if name in self.typed:
            self.raw[name] = None
        elif appending:
            self.raw[name] = self.raw.get(name) or self.taint(value)
        else:
            self.raw[name] = self.taint(value)
        program = _EXE.search(self.doc.text(value))
        if program:
            self.native[name] = program.group(1).lower()
        elif not appending:
            self.native.pop(name, None)
        escapes = self.escapes_in(value)
        self.escaped[name] = (self.escaped.get(name, []) if appending else []) + escapes
        if name == "erroractionpreference":
            literal = _literal(value, self.doc)
            self.eap.append((node.start_byte, literal is not None and literal.lower() != "stop"))

    def on_typed_assignment(self, cast: Node, value: Node) -> None:
        if cast.type != "cast_expression":
            return
        variable = _unwrap(cast.named_children[-1])
        if variable is None or variable.type != "variable":
            return
        name = _variable_name(self.doc.text(variable))
        type_node = next((c for c in cast.named_children if c.type == "type_literal"), None)
        type_name = "" if type_node is None else re.sub(r"\s", "", self.doc.text(type_node)[1:-1]).lower()
        if type_name in _STRING_TYPES:
            self.typed.add(name)
            self.raw[name] = None
        else:
            self.raw[name] = self.taint(value)
        self.escaped[name] = self.escapes_in(value)

    def on_foreach(self, node: Node) -> None:
        variable = next((c for c in node.named_children if c.type == "variable"), None)
        collection = next((c for c in node.named_children if c.type == "pipeline"), None)
        if variable is not None:
            name = _variable_name(self.doc.text(variable))
            self.raw[name] = self.taint(collection)
            self.escaped[name] = self.escapes_in(collection) if collection is not None else []

    def on_pipeline_chain(self, node: Node) -> None:
        """Record what ``$_`` holds in the script blocks of ForEach-Object/Where-Object."""
        elements = _named(node)
        for index in range(1, len(elements)):
            element = elements[index]
            if element.type != "command":
                continue
            name = _command_name(element, self.doc).lower()
            if name not in _FOREACH and name not in _PASS_THROUGH:
                continue
            upstream = self.pipeline_taint(elements[:index])
            for argument in _command_elements(element):
                block = _unwrap(argument)
                if block is not None and block.type == "script_block_expression":
                    self.block_input[block.start_byte] = upstream

    def on_command(self, node: Node) -> None:
        self.check_redirection(node)
        name = _command_name(node, self.doc).lower()
        elements = _command_elements(node)
        if name in _WQL_COMMANDS:
            for index, element in enumerate(elements[:-1]):
                if element.type == "command_parameter":
                    parameter = self.doc.text(element).lstrip("-").rstrip(":").lower()
                    if parameter in ("filter", "query"):
                        self.wql_sink(elements[index + 1])
        elif name == "new-object" and _WQL_TYPES.search(self.doc.text(node)):
            for element in elements:
                self.wql_sink(element)

    def check_redirection(self, node: Node) -> None:
        for element in _command_elements(node):
            operator = _stderr_redirection(element, self.doc)
            if not operator:
                continue
            program = self.native_program(node)
            if program and not self.eap_relaxed(node.start_byte):
                self.hits.append(self.doc.hit(element, "R4", _r4_message(operator, program)))

    def eap_relaxed(self, position: int) -> bool:
        relaxed = False
        for at, value in self.eap:
            if at < position:
                relaxed = value
        return relaxed

    def on_invocation(self, node: Node) -> None:
        if _is_escape_order_bug(node, self.doc):
            self.hits.append(self.doc.hit(node, "R5", _R5_ORDER_MESSAGE))
        base = node.named_children[0] if node.named_child_count else None
        if base is not None and base.type == "type_literal" and _WQL_TYPES.search(self.doc.text(base)):
            arguments = next((c for c in node.named_children if c.type == "argument_list"), None)
            if arguments is not None:
                self.wql_sink(arguments)

    def on_cast(self, node: Node) -> None:
        type_node = next((c for c in node.named_children if c.type == "type_literal"), None)
        if type_node is not None and _WQL_TYPES.search(self.doc.text(type_node)) and node.named_child_count > 1:
            self.wql_sink(node.named_children[-1])

    def on_hash_entry(self, node: Node) -> None:
        key = next((c for c in node.named_children if c.type == "key_expression"), None)
        values = [c for c in _named(node) if c.type != "key_expression"]
        if key is None or not values:
            return
        source = self.taint(values[-1])
        if source:
            where = f"is stored in the hashtable key {self.doc.text(key)}"
            self.hits.append(self.doc.hit(node, "R3", _r3_message(source, where)))

    def on_flow_control(self, node: Node) -> None:
        if not node.children or node.children[0].type != "return" or not self.in_function:
            return
        value = next((c for c in node.named_children if c.type == "pipeline"), None)
        source = self.taint(value) if value is not None else None
        if source:
            self.hits.append(self.doc.hit(node, "R3", _r3_message(source, "is returned")))

    def on_output_statement(self, node: Node) -> None:
        if _unwrap(node) is not None and _unwrap(node).type == "assignment_expression":
            return
        source = self.taint(node)
        if source:
            self.hits.append(self.doc.hit(node, "R3", _r3_message(source, "becomes the function's output")))

    # ---- R5 data flow ---------------------------------------------------

    def escapes_in(self, node: Node) -> list[Node]:
        """Quote-doubling escapes in ``node`` and in the variables it reads."""
        found: list[Node] = []
        for child in _walk(node, skip=("script_block_expression",)):
            if _kind(child) in _REPLACE_KINDS and _is_quote_doubling(child, self.doc):
                found.append(child)
            elif child.type == "variable":
                found.extend(self.escaped.get(_variable_name(self.doc.text(child)), []))
        return found

    def wql_sink(self, node: Node) -> None:
        for escape in self.escapes_in(node):
            if escape.start_byte not in self.wql_reported:
                self.wql_reported.add(escape.start_byte)
                self.hits.append(self.doc.hit(escape, "R5", _R5_MESSAGE))


_STDERR_TOKEN = re.compile(r"^[2*]>(?:&1|>)?")  # the grammar reads `2>$null` (no blank) as a word


def _stderr_redirection(element: Node, doc: _Doc) -> str | None:
    """The operator of a redirection of stream 2 (or all streams), else None."""
    if element.type == "redirection" and element.children:
        operator = doc.text(element.children[0]).strip()
        return operator if operator.startswith(("2", "*")) else None
    if element.type == "generic_token":
        match = _STDERR_TOKEN.match(doc.text(element))
        return match.group() if match else None
    return None


def _is_output_statement(node: Node) -> bool:
    """A pipeline that is a statement of a function/statement block (its output is emitted)."""
    parent = node.parent
    return (
        parent is not None
        and parent.type == "statement_list"
        and parent.parent is not None
        and parent.parent.type in ("script_block_body", "statement_block")
    )


_INDEXED = frozenset({"function_statement", "array_expression", "comment", "verbatim_here_string_characters"})
_Index = dict[str, list[Node]]


def _visit_scope(root: Node, doc: _Doc, in_function: bool, index: _Index) -> _Scope:
    """Visit one scope in document order; nested functions are indexed, not entered."""
    scope = _Scope(doc, in_function)
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, in_block = stack.pop()
        scope.visit(node, in_block)
        inner = in_block or node.type == "script_block_expression"
        for child in reversed(node.named_children):
            if child.type in _INDEXED:
                index[child.type].append(child)
                if child.type == "function_statement":
                    continue
            stack.append((child, inner))
    return scope


def _rule_hits(doc: _Doc) -> tuple[list[_Hit], set[str], _Index]:
    """One pass over every scope: R1/R3/R4/R5 hits, R2's array-returning functions, nodes by type."""
    index: _Index = {kind: [] for kind in _INDEXED}
    hits = _visit_scope(doc.root, doc, False, index).hits
    array_functions: set[str] = set()
    functions = index["function_statement"]
    done = 0
    while done < len(functions):  # nested functions are appended while their parent is visited
        scope = _visit_scope(functions[done], doc, True, index)
        hits.extend(scope.hits)
        name = _function_name(functions[done], doc)
        if scope.returns_single_array and name:
            array_functions.add(name)
        done += 1
    return hits, array_functions, index


# --------------------------------------------------------------------------
# Suppressions and embedded scripts
# --------------------------------------------------------------------------

_SUPPRESSION = re.compile(
    r"^#\s*pitfall-ok:\s*(?P<rules>R\d+(?:\s*,\s*R\d+)*)(?:\s+(?P<reason>\S.*?))?\s*$", re.IGNORECASE
)


def _suppressions(doc: _Doc, comments: list[Node]) -> list[_Suppression]:
    found = []
    for node in comments:
        match = _SUPPRESSION.match(doc.text(node).strip())
        if match:
            rules = frozenset(r.strip().upper() for r in match.group("rules").split(","))
            line, column = doc.position(node)
            found.append(_Suppression(line, column, rules, match.group("reason") or ""))
    return found


_EMBEDDED_POWERSHELL = re.compile(r"\A\s*(?:#[^\n]*\n\s*)*param\s*\(|Set-StrictMode", re.IGNORECASE)


def _embedded_scripts(doc: _Doc, here_strings: list[Node]) -> Iterator[tuple[str, int]]:
    """PowerShell in verbatim here-strings (runspace scripts): (content, line offset)."""
    for node in here_strings:
        text = doc.text(node)
        start, end = text.find("\n"), text.rfind("\n")
        if start < 0 or end <= start:
            continue
        content = text[start + 1 : end].rstrip("\r")
        if _EMBEDDED_POWERSHELL.search(content):
            yield content, doc.line_offset + node.start_point.row + 1


@lru_cache(maxsize=256)
def _analyse(source: str, line_offset: int = 0) -> _Facts:
    doc = _Doc(source, line_offset)
    hits, functions, index = _rule_hits(doc)
    calls = _array_expression_calls(doc, index["array_expression"])
    suppressions = _suppressions(doc, index["comment"])
    for content, offset in _embedded_scripts(doc, index["verbatim_here_string_characters"]):
        inner = _analyse(content, offset)
        hits.extend(inner.hits)
        calls.extend(inner.calls)
        functions |= inner.array_functions
        suppressions.extend(inner.suppressions)
    return _Facts(tuple(hits), tuple(calls), frozenset(functions), tuple(suppressions))


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def array_returning_functions(source: str) -> frozenset[str]:
    """Lower-case names of the functions in ``source`` that return ``, $x`` (R2)."""
    return _analyse(source).array_functions


def _apply_suppressions(hits: list[_Hit], suppressions: tuple[_Suppression, ...], check_r2: bool) -> list[_Hit]:
    kept: list[_Hit] = []
    used: set[tuple[int, int, str]] = set()
    by_line: dict[int, list[_Suppression]] = {}
    for suppression in suppressions:
        by_line.setdefault(suppression.line, []).append(suppression)
    for hit in hits:
        line, _, rule, _ = hit
        match = next((s for s in by_line.get(line, []) if rule in s.rules and s.reason), None)
        if match is None:
            kept.append(hit)
        else:
            used.add((match.line, match.column, rule))
    for s in suppressions:
        if not s.reason:
            kept.append((s.line, s.column, "R0", "pitfall-ok needs a reason: # pitfall-ok: R3 <why this is safe>"))
            continue
        for rule in sorted(s.rules):
            if (s.line, s.column, rule) not in used and (rule != "R2" or check_r2):
                kept.append((s.line, s.column, "R0", f"pitfall-ok: {rule} suppresses nothing on this line; remove it"))
    return kept


def lint_source(
    source: str, filename: str, *, array_returning_functions: Iterable[str] | None = None
) -> list[Finding]:
    """Lint one script. R2 uses ``array_returning_functions`` (plus the ones ``source`` defines).

    Pass the function set collected over every file (see :func:`lint_files`): callers and
    definitions are in different modules.
    """
    facts = _analyse(source)
    functions = set(facts.array_functions)
    if array_returning_functions is not None:
        functions |= {_SCOPE_PREFIX.sub("", name).lower() for name in array_returning_functions}
    hits = list(facts.hits)
    hits.extend(
        (call.line, call.column, "R2", _r2_message(call.name)) for call in facts.calls if call.function in functions
    )
    kept = _apply_suppressions(hits, facts.suppressions, check_r2=array_returning_functions is not None)
    findings = {Finding(rule, filename, line, column, message) for line, column, rule, message in kept}
    return sorted(findings, key=lambda f: (f.line, f.column, f.rule))


def _is_powershell(name: str) -> bool:
    return name.lower().endswith(_PS_SUFFIXES)


def lint_files(scripts: Mapping[str, str]) -> list[Finding]:
    """Lint the ``.ps1``/``.psm1`` entries of a name-to-text mapping, R2 across all of them."""
    sources = {name: text for name, text in scripts.items() if _is_powershell(name)}
    functions: set[str] = set()
    for text in sources.values():
        functions |= array_returning_functions(text)
    findings: list[Finding] = []
    for name, text in sources.items():
        findings.extend(lint_source(text, name, array_returning_functions=functions))
    return findings


def shipped_scripts(root: Path = REPO_ROOT) -> dict[str, str]:
    """Every ``.ps1``/``.psm1`` under ``plugins/``, keyed by path relative to ``root``."""
    paths = sorted(p for p in (root / "plugins").rglob("*") if p.is_file() and _is_powershell(p.name))
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8-sig") for p in paths}


def lint_shipped(root: Path = REPO_ROOT) -> list[Finding]:
    """Lint every PowerShell script the collection ships."""
    return lint_files(shipped_scripts(root))


def main(argv: list[str] | None = None) -> int:
    """CLI: lint the given files (default: the shipped scripts); 1 when there are findings."""
    args = sys.argv[1:] if argv is None else argv
    if args:
        checked = len(args)
        findings = lint_files({name: Path(name).read_text(encoding="utf-8-sig") for name in args})
    else:
        checked = len(shipped_scripts())
        findings = lint_shipped()
    for finding in findings:
        print(finding)
    files = len({f.file for f in findings})
    print(f"pscheck.pitfalls: {len(findings)} Windows PowerShell 5.1 pitfall(s) in {files} of {checked} file(s)",
          file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
