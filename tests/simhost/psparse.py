"""PowerShell syntax checks for the simulated Windows lab.

Every PowerShell script that crosses the simulated WinRM wire is parsed with
tree-sitter-powershell; a syntax error must fail the run. This module also
extracts function and parameter names from our ``.psm1`` files for the
contract test.

The grammar has gaps: some valid PowerShell is flagged. They are listed in
``docs/development.md``. Ansible's own unmodified scripts that hit a gap are
pinned by file name and sha256 in ``KNOWN_GRAMMAR_GAPS``; a changed script is
checked in full again.

:func:`check_payload_pitfalls` runs the Windows PowerShell 5.1 pitfall lint
(``tests.pscheck.pitfalls``) over the collection's own scripts in a payload.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter
import tree_sitter_powershell

from tests.pscheck.pitfalls import lint_files

__all__ = [
    "KNOWN_GRAMMAR_GAPS",
    "KnownGrammarGap",
    "PsSyntaxIssue",
    "check_payload_pitfalls",
    "check_payload_scripts",
    "check_syntax",
    "check_syntax_many",
    "exported_functions",
    "function_parameters",
    "is_collection_script",
    "is_powershell_name",
]

_LANGUAGE = tree_sitter.Language(tree_sitter_powershell.language())
_LOCAL = threading.local()  # one Parser per thread: Parser objects are not thread-safe

_BOM = "\ufeff"
_PS_SUFFIXES = (".ps1", ".psm1")
_SNIPPET_MAX = 40
_CLOSERS = {"}": ("{", "@{", "${"), ")": ("(", "$(", "@("), "]": ("[",)}
_SCOPE_PREFIX = re.compile(r"^(?:global|script|local|private):", re.IGNORECASE)


@dataclass(frozen=True)
class PsSyntaxIssue:
    """One syntax problem reported by the grammar (1-based line and column)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class KnownGrammarGap:
    """An unmodified Ansible script that the grammar flags although it is valid.

    ``lines`` are the lines the installed grammar reports (including follow-on
    errors); only issues on those lines are forgiven, and only while the
    content hash matches.
    """

    file: str
    sha256: str
    lines: tuple[int, ...]
    constructs: str


def _parser() -> tree_sitter.Parser:
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = tree_sitter.Parser(_LANGUAGE)
    return parser


def _parse(source: str) -> tuple[tree_sitter.Tree, bytes]:
    if source.startswith(_BOM):
        source = source[1:]
    data = source.encode("utf-8")
    return _parser().parse(data), data


def _text(node: tree_sitter.Node, data: bytes) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


# --------------------------------------------------------------------------
# Syntax check
# --------------------------------------------------------------------------


def _problem_nodes(root: tree_sitter.Node) -> Iterable[tree_sitter.Node]:
    """Outermost ERROR nodes and all MISSING nodes, in document order."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            yield node
        elif node.has_error:
            stack.extend(reversed(node.children))


def _position(node: tree_sitter.Node, data: bytes) -> tuple[int, int]:
    """1-based line and column in characters (tree-sitter counts bytes)."""
    byte_col = node.start_point.column
    line_start = node.start_byte - byte_col
    column = (
        len(data[line_start : node.start_byte].decode("utf-8", errors="replace")) + 1
    )
    return node.start_point.row + 1, column


def _opener(missing: tree_sitter.Node) -> tree_sitter.Node | None:
    """The bracket a MISSING closer should have closed, if it can be found."""
    openers = _CLOSERS.get(missing.type)
    parent = missing.parent
    if not openers or parent is None:
        return None
    found = None
    for child in parent.children:
        if child == missing:
            break
        if child.type in openers:
            found = child
    return found


def _issue(node: tree_sitter.Node, data: bytes) -> tuple[int, int, str]:
    """(line, column, message) for one ERROR or MISSING node.

    A missing closing bracket is reported at its opening bracket, as
    PowerShell does ("Missing closing '}'"); the message says where the
    parser gave up waiting for it.
    """
    line, column = _position(node, data)
    if not node.is_missing:
        return line, column, _error_message(node, data)
    token = node.type
    if not token.strip():
        return line, column, "missing whitespace"
    opener = _opener(node)
    if opener is None:
        return line, column, f"missing '{token}'"
    open_line, open_column = _position(opener, data)
    return (
        open_line,
        open_column,
        (
            f"missing '{token}' to close '{opener.type}' opened here "
            f"(still open at line {line})"
        ),
    )


def _error_message(node: tree_sitter.Node, data: bytes) -> str:
    text = _text(node, data).lstrip()
    snippet = text.splitlines()[0].strip() if text else ""
    if not snippet:
        if node.start_byte >= len(data.rstrip()):
            return "syntax error at end of file"
        return "syntax error"
    if len(snippet) > _SNIPPET_MAX:
        snippet = snippet[:_SNIPPET_MAX] + "..."
    message = f"syntax error near '{snippet}'"
    first_line = node.start_point.row + 1
    last_line = first_line + _text(node, data).rstrip().count("\n")
    if last_line > first_line:
        message += f" (unparsed up to line {last_line})"
    return message


@lru_cache(maxsize=128)
def _issues(source: str) -> tuple[tuple[int, int, str], ...]:
    tree, data = _parse(source)
    # In the order the parser met them (root cause first), not sorted by line:
    # a missing '}' is reported at its opening brace, often far above.
    return tuple(_issue(node, data) for node in _problem_nodes(tree.root_node))


def check_syntax(source: str, filename: str) -> list[PsSyntaxIssue]:
    """Parse one PowerShell script; return its ERROR/MISSING nodes as issues.

    An empty list means the grammar accepted the script. A leading UTF-8 BOM
    is ignored. Results are cached by content, since every payload carries the
    same wrapper scripts.
    """
    return [
        PsSyntaxIssue(filename, line, col, msg) for line, col, msg in _issues(source)
    ]


def is_powershell_name(name: str) -> bool:
    """True for ``.ps1``/``.psm1`` names (case-insensitive)."""
    return name.lower().endswith(_PS_SUFFIXES)


def check_syntax_many(scripts: Mapping[str, str]) -> list[PsSyntaxIssue]:
    """Check every ``.ps1``/``.psm1`` entry of ``scripts``; skip ``.cs`` and others."""
    issues: list[PsSyntaxIssue] = []
    for name, source in scripts.items():
        if is_powershell_name(name):
            issues.extend(check_syntax(source, name))
    return issues


# --------------------------------------------------------------------------
# Ansible's own scripts that hit grammar gaps
# --------------------------------------------------------------------------

_USING = (
    "`using namespace` is not in the grammar (parsed as a command), so the "
    "script-level `[CmdletBinding()]`/`[Parameter(...)]` param block after it is flagged"
)
_BARE_LIST = "bare-word list as a command argument (`-Function A, B`, `-Property Line, HitCount`)"

_GAPS: tuple[KnownGrammarGap, ...] = (
    # ansible-core 2.19.14, lib/ansible/executor/powershell
    KnownGrammarGap(
        "async_watchdog.ps1",
        "de38c5b639a8456a255d15da28260b6a9770f94cba310dea1afa80ba6d33061c",
        (11, 13, 14, 17, 18, 21, 22),
        _USING,
    ),
    KnownGrammarGap(
        "async_wrapper.ps1",
        "69dddd5845a3e1a847f727ef52f2b857b1791735f0936ae20265a13dc9136fef",
        (13, 15, 16, 19, 20, 23, 24),
        _USING,
    ),
    KnownGrammarGap(
        "become_wrapper.ps1",
        "cf72f645c69b9f0421b047a153a36446f19948a55b7534dd0ce3183e1af7cb66",
        (14, 15, 16, 17, 21, 25, 29, 32, 34),
        _USING,
    ),
    KnownGrammarGap(
        "coverage_wrapper.ps1",
        "534e8e37f4c362f52caf113221a9adb42686c157191a03e634c9c8527e99afb1",
        (12, 13, 16, 17, 20, 21, 105, 139),
        _USING + "; line 139: " + _BARE_LIST + " (reported at 105 and 139)",
    ),
    KnownGrammarGap(
        "exec_wrapper.ps1",
        "03f8625c1950b5c7196c76665c4cee63183d26a2af122890b31f5b1ec86f2fe8",
        (16, 18, 20, 21, 23, 24, 27, 31, 35, 39, 43, 47, 73, 235, 663),
        _USING + "; line 73: bare path argument starting with a variable "
        "(`$env:SystemRoot\\System32\\kernel32.dll`); line 229: `#` right after an escape "
        'sequence inside a double-quoted string ("`r`n# SIG ...") is lexed as a comment, '
        "reported at lines 235 and 663",
    ),
    KnownGrammarGap(
        "module_wrapper.ps1",
        "9c732c7d45cf8fb2c5d89990d6e33a1252d6ca6cf19a5729fca978641daed801",
        (11, 13, 14, 17, 19, 20, 22, 26, 27, 31, 32, 36, 40),
        _USING,
    ),
    KnownGrammarGap(
        "powershell_expand_user.ps1",
        "c9e681be846350a8933975880e3dc8624d06c4c342ba92f342741966174e177c",
        (11,),
        "nested type name `[Environment+SpecialFolder]`",
    ),
    KnownGrammarGap(
        "psrp_fetch_file.ps1",
        "dbbdf9321afedc15a896ad490ebfb02907cce1c81dce6f10a95821e43448124c",
        (6, 8, 9, 12, 13),
        _USING,
    ),
    KnownGrammarGap(
        "psrp_put_file.ps1",
        "f1d2118cb36b8e2eff9a36c6f3eee5cd5ed652e8e83cbeb0f660dce95c9a880d",
        (8, 10, 11, 14, 15, 16),
        _USING,
    ),
    KnownGrammarGap(
        "winrm_fetch_file.ps1",
        "c0e827306170361abd73ffbc92e18135c8468faf51d1476ff9a9b7f4cdc1103c",
        (6, 8, 9, 12, 13, 16, 17),
        _USING,
    ),
    KnownGrammarGap(
        "winrm_put_file.ps1",
        "e2ab1cf8696a0b76741377d0497915ea8312573c6c4b5dd9c135ebc7b92b9605",
        (7, 9, 10, 13, 14),
        _USING,
    ),
    # ansible-core 2.19.14, lib/ansible/module_utils/powershell
    KnownGrammarGap(
        "Ansible.ModuleUtils.AddType.psm1",
        "809c2dfb13103e376e184670fc8b47a1e93eadc35218cebb55e84569140aa968",
        (118, 136, 149, 308, 321),
        "generic type with backtick arity (`[System.Collections.Generic.List`1[Hashtable]]@()`)",
    ),
    KnownGrammarGap(
        "Ansible.ModuleUtils.CommandUtil.psm1",
        "d109451055765946f8d65431c36bdef7e08c0c8c71a435dae0b33d56a21ec73a",
        (107,),
        _BARE_LIST,
    ),
    KnownGrammarGap(
        "Ansible.ModuleUtils.FileUtil.psm1",
        "9ea308ce4d931e00970ec8295dc4af5b5106580c1f165952c5b56aca5e42c8fa",
        (66,),
        _BARE_LIST,
    ),
    KnownGrammarGap(
        "Ansible.ModuleUtils.PrivilegeUtil.psm1",
        "d6ebeff7ca0db36aff3fa95ba0c64b0774c54195b0a8c3896e1cc79082a64bc8",
        (82,),
        _BARE_LIST,
    ),
)

KNOWN_GRAMMAR_GAPS: Mapping[tuple[str, str], KnownGrammarGap] = {
    (gap.file.lower(), gap.sha256): gap for gap in _GAPS
}
"""Allow-list keyed by (lower-case base file name, sha256 of the UTF-8 content)."""


def _base_name(name: str) -> str:
    return re.split(r"[\\/]", name)[-1]


def _known_gap(name: str, source: str) -> KnownGrammarGap | None:
    from .ansible_gaps_legacy import LEGACY_GRAMMAR_GAPS  # pylint: disable=import-outside-toplevel  # (imports this module)

    key = (_base_name(name).lower(), hashlib.sha256(source.encode("utf-8")).hexdigest())
    return KNOWN_GRAMMAR_GAPS.get(key) or LEGACY_GRAMMAR_GAPS.get(key)  # 2.19.14 pins, then 2.16-2.18 payload forms


def check_payload_scripts(scripts: Mapping[str, str]) -> list[PsSyntaxIssue]:
    """Like :func:`check_syntax_many`, but forgive the pinned Ansible grammar gaps.

    A script is forgiven only when its base name and sha256 match an entry of
    ``KNOWN_GRAMMAR_GAPS``, and then only on that entry's recorded lines; any
    other issue, or any change to the script, is reported.
    """
    issues: list[PsSyntaxIssue] = []
    for name, source in scripts.items():
        if not is_powershell_name(name):
            continue
        found = check_syntax(source, name)
        gap = _known_gap(name, source) if found else None
        if gap is not None:
            found = [issue for issue in found if issue.line not in gap.lines]
        issues.extend(found)
    return issues


# --------------------------------------------------------------------------
# Windows PowerShell 5.1 pitfalls in the collection's own scripts
# --------------------------------------------------------------------------

_COLLECTION = "mecm.fieldkit"


def is_collection_script(name: str) -> bool:
    """True for a payload script of this collection (``ansible_collections.mecm.fieldkit...``)."""
    return _COLLECTION in name.lower() and is_powershell_name(name)


def check_payload_pitfalls(scripts: Mapping[str, str]) -> list[PsSyntaxIssue]:
    """Pitfall findings (``tests.pscheck.pitfalls``) for the collection's scripts in a payload.

    Only names containing ``mecm.fieldkit`` are linted, never Ansible's own scripts. R2's
    function set is collected over all of them (callers and definitions are in different
    modules). Each finding is an issue whose message starts with its rule id.
    """
    ours = {name: source for name, source in scripts.items() if is_collection_script(name)}
    if not ours:
        return []
    return [
        PsSyntaxIssue(f.file, f.line, f.column, f"{f.rule} {f.message}") for f in lint_files(ours)
    ]


# --------------------------------------------------------------------------
# Function and parameter names
# --------------------------------------------------------------------------


def _walk(node: tree_sitter.Node) -> Iterable[tree_sitter.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _variable_name(text: str) -> str:
    name = text[1:] if text.startswith("$") else text
    if name.startswith("{") and name.endswith("}"):
        name = name[1:-1]
    return name


def _parameter_list(function: tree_sitter.Node) -> tree_sitter.Node | None:
    """The parameter_list of a function: `function F($A)` or its `param(...)` block.

    ERROR children are searched too, so a param block the grammar could not
    attach (one-line `function F { param($X) $X }`) is still found.
    """
    candidates = list(function.children)
    for child in function.children:
        if child.type in ("script_block", "ERROR"):
            candidates.extend(child.children)
    for child in candidates:
        if child.type in ("function_parameter_declaration", "param_block"):
            return next((c for c in child.children if c.type == "parameter_list"), None)
    return None


def function_parameters(source: str) -> dict[str, list[str]]:
    """Map every function (at any nesting level) to its parameter names.

    Names are returned as written, without ``$`` (``${X}`` gives ``X``); a scope
    prefix on the function name (``script:``) is dropped. Functions without
    parameters map to ``[]``. If a name is defined twice the later one wins.
    Run :func:`check_syntax` first: code in unparsable regions may be missed.
    """
    tree, data = _parse(source)
    result: dict[str, list[str]] = {}
    for node in _walk(tree.root_node):
        if node.type != "function_statement":
            continue
        name_node = next((c for c in node.children if c.type == "function_name"), None)
        if name_node is None:
            continue
        name = _SCOPE_PREFIX.sub("", _text(name_node, data))
        params: list[str] = []
        plist = _parameter_list(node)
        if plist is not None:
            for param in plist.children:
                if param.type != "script_parameter":
                    continue
                var = next((c for c in param.children if c.type == "variable"), None)
                if var is not None:
                    params.append(_variable_name(_text(var, data)))
        result[name] = params
    return result


# --------------------------------------------------------------------------
# Export-ModuleMember
# --------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
      (?P<ws>(?:[ \t]|`\r?\n)+)              # blanks and backtick line continuations
    | (?P<comment>\#[^\r\n]*)
    | (?P<newline>\r?\n)
    | (?P<end>[;|}])
    | (?P<open>@\(|\()
    | (?P<close>\))
    | (?P<comma>,)
    | (?P<param>-[A-Za-z]+:?)
    | '(?P<sq>(?:[^']|'')*)'
    | "(?P<dq>(?:[^"`]|`.)*)"
    | (?P<word>[^\s,;|(){}'"\#]+)
    """,
    re.VERBOSE,
)
_SWITCHES = ("verbose", "debug")


def _export_function_values(text: str) -> list[str]:
    """Values bound to -Function in ``text``, which follows the command name."""
    values: list[str] = []
    current: str | None = "function"  # -Function is positional 0
    depth = 0
    after_comma = False
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            break
        pos = match.end()
        kind = match.lastgroup
        if kind in ("ws", "comment"):
            continue
        if kind == "newline":
            if depth or after_comma:
                continue
            break
        if kind == "end" and not depth:
            break
        if kind == "open":
            depth += 1
        elif kind == "close":
            if not depth:
                break
            depth -= 1
        elif kind == "param" and not depth:
            flag = match.group().lstrip("-").rstrip(":").lower()
            current = None if flag in _SWITCHES else flag
        elif kind in ("sq", "dq", "word"):
            value = match.group(kind)
            if kind == "sq":
                value = value.replace("''", "'")
            if (
                current
                and "function".startswith(current)
                and not value.startswith(("$", "@"))
            ):
                values.append(value)
        after_comma = kind == "comma"
    return values


def exported_functions(source: str) -> list[str]:
    """Names given to ``Export-ModuleMember -Function`` (any call, in order, no duplicates).

    Accepts ``-Function A, B``, ``-Function 'A', 'B'``, ``-Function @('A', 'B')``,
    the positional form and abbreviations of ``-Function``. Wildcards such as
    ``*`` are returned as written; variables and splats (``@names``) cannot be
    resolved statically and are ignored. Calls are located with the parser, so
    commented-out lines and strings are ignored.
    """
    tree, data = _parse(source)
    names: list[str] = []
    for node in _walk(tree.root_node):
        if node.type != "command":
            continue
        name_node = node.child_by_field_name("command_name")
        if name_node is None or _text(name_node, data).lower() != "export-modulemember":
            continue
        rest = data[name_node.end_byte :].decode("utf-8", errors="replace")
        for value in _export_function_values(rest):
            if value not in names:
                names.append(value)
    return names
