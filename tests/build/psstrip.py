# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Strip comments, comment-based help, indentation and blank lines from PowerShell at build time.

The collection's ``.ps1``/``.psm1`` files are shipped in the tarball in this form, so what Ansible
sends to a host on every module execution is the code without its commentary. Comments are found
with tree-sitter-powershell (the lab's parser), so a ``#`` inside a string or a here-string is never
touched. Kept on purpose:

- the ``#!powershell`` line, every ``#Requires`` and ``#AnsibleRequires`` line (Ansible reads them to
  build the payload; ``about_Requires`` says ``#Requires`` must start its line);
- ``# pitfall-ok:`` suppressions (the pitfall lint runs on the shipped files too);
- the copyright and licence lines at the top of each file.

Lines inside multi-line strings (here-strings included) are kept byte for byte, blank or not. Every other line
loses its indentation: the PowerShell tokenizer treats leading spaces and tabs as token separators only
(about_Parsing; a here-string's closing quote, which must start its line, is inside the string and kept), and
indentation is a fifth of the code's bytes, sent on every module execution.
tree-sitter-powershell 0.26.4 reads a line of an expandable here-string (``@"`` ... ``"@``) that starts
with ``#`` as a comment without reporting an error; the token check below catches that case, and the
build stops rather than ship changed code (write such a line another way).

**Embedded code.** A verbatim here-string that holds code (C# given to ``Add-Type``, a script given to a
runspace) is stripped too when a marker comment stands on the line directly above its assignment::

    # fieldkit-build: embedded csharp
    $script:NativeSource = @'
    ...
    '@

(``embedded powershell`` for a script). Only ``$name = @'...'@`` may carry a marker: a marker above anything
else, above an expandable ``@"`` here-string (its ``$`` would be expanded, so its text is not the code), or an
unknown ``fieldkit-build:`` spelling stops the build naming the line. Embedded PowerShell goes through
``strip_powershell`` itself (same rules and self-checks; no licence lines are kept). Embedded C# (``strip_csharp``) loses its
comments (``//``, ``/* */``, ``///`` XML doc), indentation and blank lines, found with tree-sitter-c-sharp;
lines inside multi-line string literals (verbatim ``@"..."``, raw ``\"\"\"...\"\"\"``, interpolated) are
kept byte for byte, and lines are never joined, so preprocessor directives stay on lines of their own.
Either kind must parse before and after and keep the same code tokens; a stripped line may not start with
``'@`` (it would end the outer here-string).

**Attributes that only document**, removed from param blocks (found as tree-sitter nodes):

- ``[OutputType(...)]``: "The OutputType attribute value is only a documentation note. It's not derived from
  the function code or compared to the actual function output" (about_Functions_OutputTypeAttribute,
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_functions_outputtypeattribute).
- ``Mandatory = $true`` (and the other boolean arguments of ``[Parameter()]``) becomes ``Mandatory``: "Set the
  argument value to ``$true`` or just list the argument by name ... the following Parameter attributes are
  equivalent" (about_Functions_Advanced_Parameters, section Parameter attribute,
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_functions_advanced_parameters).
- an empty ``[Parameter()]``, only in a param block that has ``[CmdletBinding(...)]`` and only when it is the
  parameter's one Parameter attribute: "to be recognized as an advanced function, rather than a simple function,
  a function must have either the CmdletBinding attribute or the Parameter attribute, or both" (same page), so
  with CmdletBinding the empty attribute adds nothing; its arguments all default (not mandatory, no position,
  every parameter set, as for a parameter without it). A second ``[Parameter(ParameterSetName=...)]`` on the
  same parameter would make the empty one a membership of all sets, so it is kept then.

``strip_powershell`` refuses code that does not parse, and checks its own output: the stripped text must parse
and carry exactly the tokens of the original with the removed attributes and ``= $true`` dropped and the marked
here-strings replaced by their stripped form.
"""
from __future__ import annotations

import bisect
import dataclasses
import re
import typing as t

import tree_sitter
import tree_sitter_c_sharp
import tree_sitter_powershell

_LANGUAGE = tree_sitter.Language(tree_sitter_powershell.language())
_CS_LANGUAGE = tree_sitter.Language(tree_sitter_c_sharp.language())
_KEEP_COMMENT = re.compile(r"^#(!powershell\b|requires\b|AnsibleRequires\b)|^#\s*pitfall-ok:", re.IGNORECASE)
_LICENCE = re.compile(r"^#\s*(Copyright\b|GNU General Public License\b)")
_MARKER = re.compile(r"^#\s*fieldkit-build:\s*(?P<kind>.*?)\s*$", re.IGNORECASE)
_EMBEDDED_KINDS = ("csharp", "powershell")
_STRING_TYPES = ("string_literal", "here_string", "string_characters")
_CS_STRING_TYPES = frozenset({"string_literal", "verbatim_string_literal", "raw_string_literal",
                              "interpolated_string_expression", "character_literal"})
# Boolean properties of System.Management.Automation.ParameterAttribute (`Name = $true` == `Name`).
_BOOLEAN_PARAMETER_ARGUMENTS = frozenset({"mandatory", "valuefrompipeline", "valuefrompipelinebypropertyname",
                                          "valuefromremainingarguments", "dontshow"})

Cut = tuple[int, int, bytes]  # (start, end, replacement) in the original bytes


class StripError(ValueError):
    """The code cannot be stripped safely (it does not parse, or stripping would change it)."""


@dataclasses.dataclass(frozen=True)
class StripStats:
    before: int
    after: int
    comments_removed: int
    lines_before: int
    lines_after: int


def _parse(data: bytes, language: tree_sitter.Language = _LANGUAGE) -> tree_sitter.Tree:
    return tree_sitter.Parser(language).parse(data)


def _walk(node: tree_sitter.Node) -> t.Iterator[tree_sitter.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _ancestors(node: tree_sitter.Node) -> t.Iterator[tree_sitter.Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _problems(tree: tree_sitter.Tree) -> list[str]:
    return [f"line {n.start_point[0] + 1}: {'missing ' + n.type if n.is_missing else 'syntax error'}"
            for n in _walk(tree.root_node) if n.is_error or n.is_missing]


def _is_string(node: tree_sitter.Node) -> bool:
    return any(part in node.type for part in _STRING_TYPES)


def _is_cs_string(node: tree_sitter.Node) -> bool:
    return node.type in _CS_STRING_TYPES


def _token_spans(tree: tree_sitter.Tree, is_string: t.Callable[[tree_sitter.Node], bool]) -> list[tuple[str, int, int]]:
    """(type, start, end) of the leaf tokens that are not comments (a whole string literal is one token)."""
    spans = []
    for node in _walk(tree.root_node):
        if node.type == "comment" or not (is_string(node) or node.child_count == 0):
            continue
        if not any(is_string(a) for a in _ancestors(node)):
            spans.append((node.type, node.start_byte, node.end_byte))
    return spans


def code_tokens(data: bytes) -> list[tuple[str, bytes]]:
    """The PowerShell leaf tokens that are not comments (whole string literals count as one token)."""
    return [(kind, data[s:e]) for kind, s, e in _token_spans(_parse(data), _is_string)]


def csharp_tokens(data: bytes) -> list[tuple[str, bytes]]:
    """The C# leaf tokens that are not comments (whole string and character literals count as one token)."""
    return [(kind, data[s:e]) for kind, s, e in _token_spans(_parse(data, _CS_LANGUAGE), _is_cs_string)]


def _keep(comment: bytes, row: int, header_rows: int) -> bool:
    text = comment.decode("utf-8", "replace")
    if _KEEP_COMMENT.search(text):
        return True
    return row < header_rows and bool(_LICENCE.search(text))


def _header_rows(lines: list[bytes]) -> int:
    """Rows of the leading comment block (where the licence lines are)."""
    for row, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith(b"#"):
            return row
    return len(lines)


def _comment_cut(node: tree_sitter.Node, data: bytes) -> Cut:
    after = data[node.end_byte:node.end_byte + 1]
    before = data[node.start_byte - 1:node.start_byte] if node.start_byte else b"\n"
    end = node.end_byte
    if before in (b" ", b"\t") and after in (b" ", b"\t"):
        end += 1  # `1 <# c #> + 2` -> `1 + 2`
    glue = b"" if after in (b"", b"\n", b"\r") or before in (b" ", b"\t", b"\n") else b" "
    return node.start_byte, end, glue


def _rewrite(data: bytes, cuts: list[Cut], protected: list[tuple[int, int]]) -> bytes:
    """Apply ``cuts``, then drop indentation, trailing blanks and blank lines outside ``protected`` ranges."""
    cuts = sorted(cuts)
    out = bytearray()
    shift_at: list[int] = []  # original offsets where the shift changes, and the shift after them
    shifts: list[int] = []
    position = 0
    shift = 0
    for start, end, replacement in cuts:
        if start < position:
            raise StripError(f"overlapping edits at byte {start}")
        out += data[position:start] + replacement
        shift += (end - start) - len(replacement)
        shift_at.append(end)
        shifts.append(shift)
        position = end
    out += data[position:]

    def mapped(offset: int) -> int:
        index = bisect.bisect_right(shift_at, offset) - 1
        return offset - (shifts[index] if index >= 0 else 0)

    ranges = sorted((mapped(s), mapped(e)) for s, e in protected)
    starts = [s for s, _e in ranges]
    kept: list[bytes] = []
    offset = 0
    for line in bytes(out).split(b"\n"):
        index = bisect.bisect_left(starts, offset) - 1
        inside = index >= 0 and ranges[index][0] < offset <= ranges[index][1]
        line_start = offset
        offset += len(line) + 1
        if inside:
            # The string's own text stays as it is; after its end the line is code like any other.
            string_end = ranges[index][1] - line_start
            kept.append(line if string_end >= len(line) else line[:string_end] + line[string_end:].rstrip())
            continue
        line = line.strip()  # indentation is not syntax (outside strings, kept above)
        if line:
            kept.append(line)
    return b"\n".join(kept) + b"\n"


# --------------------------------------------------------------------------
# Embedded code in marked verbatim here-strings
# --------------------------------------------------------------------------


def _marked_string(marker: tree_sitter.Node, data: bytes, assignments: dict[int, tree_sitter.Node]) -> tree_sitter.Node:
    """The verbatim here-string assigned on the line below ``marker``, or StripError."""
    line = marker.start_point[0] + 1
    where = f"line {line}: {data[marker.start_byte:marker.end_byte].decode('utf-8', 'replace')!r}"
    if data[marker.start_byte - marker.start_point[1]:marker.start_byte].strip():
        raise StripError(f"{where} must stand on a line of its own")
    next_line = data.find(b"\n", marker.end_byte) + 1
    first_code = next_line + len(data[next_line:]) - len(data[next_line:].lstrip(b" \t"))
    assignment = assignments.get(first_code) if next_line else None
    if assignment is None:
        raise StripError(f"{where} is not directly above an assignment of a verbatim here-string (@'...'@)")
    value = assignment.children[-1]
    string = next((n for n in _walk(value) if n.type == "string_literal"), None)
    if string is None or (string.start_byte, string.end_byte) != (value.start_byte, value.end_byte) \
            or [c.type for c in string.children] != ["verbatim_here_string_characters"]:
        raise StripError(f"{where}: only a verbatim here-string (@'...'@) may be marked, not "
                         f"{data[value.start_byte:value.end_byte][:20]!r}")
    return string


def _embedded_cut(kind: str, string: tree_sitter.Node, data: bytes) -> Cut | None:
    """Replace the body of a marked here-string by its stripped form."""
    text = data[string.start_byte:string.end_byte]
    line = string.start_point[0] + 1
    if b"\r" in text:
        raise StripError(f"line {line}: CRLF line endings in a marked here-string are not supported")
    first, last = text.find(b"\n"), text.rfind(b"\n")
    if last <= first:
        return None  # empty here-string
    body = text[first + 1:last].decode("utf-8") + "\n"
    try:
        if kind == "csharp":
            stripped = strip_csharp(body)
        else:
            stripped, _stats = strip_powershell(body, keep_header=False)
    except StripError as error:
        raise StripError(f"embedded {kind} of the here-string at line {line}: {error}") from None
    new_body = stripped.encode("utf-8")[:-1]
    if any(row.startswith(b"'@") for row in new_body.split(b"\n")):
        raise StripError(f"line {line}: a stripped line of the embedded {kind} starts with '@ (it would end the here-string)")
    return string.start_byte + first + 1, string.start_byte + last, new_body


def _embedded_cuts(tree: tree_sitter.Tree, data: bytes) -> list[tuple[Cut, tree_sitter.Node]]:
    """One cut per marked here-string (and the marked string node); StripError for a misplaced marker."""
    assignments = {n.start_byte: n for n in _walk(tree.root_node) if n.type == "assignment_expression"}
    found = []
    for node in _walk(tree.root_node):
        if node.type != "comment":
            continue
        match = _MARKER.match(data[node.start_byte:node.end_byte].decode("utf-8", "replace"))
        if match is None:
            continue
        kind = match.group("kind").lower().removeprefix("embedded").strip()
        if not match.group("kind").lower().startswith("embedded") or kind not in _EMBEDDED_KINDS:
            raise StripError(f"line {node.start_point[0] + 1}: unknown build marker {match.group(0)!r} "
                             f"(write '# fieldkit-build: embedded csharp' or '# fieldkit-build: embedded powershell')")
        string = _marked_string(node, data, assignments)
        cut = _embedded_cut(kind, string, data)
        if cut is not None:
            found.append((cut, string))
    return found


# --------------------------------------------------------------------------
# Attributes that only document (see the module docstring for the Microsoft pages)
# --------------------------------------------------------------------------


def _attributes(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    lists = [c for c in node.children if c.type == "attribute_list"]
    return [a for lst in lists for a in lst.children if a.type == "attribute"]


def _attribute_name(attribute: tree_sitter.Node, data: bytes) -> str:
    name = next((c for c in attribute.children if c.type == "attribute_name"), None)
    text = data[name.start_byte:name.end_byte].decode("utf-8").lower() if name is not None else ""
    return text.removesuffix("attribute")


def _attribute_arguments(attribute: tree_sitter.Node) -> list[tree_sitter.Node]:
    args = next((c for c in attribute.children if c.type == "attribute_arguments"), None)
    return [c for c in args.children if c.type == "attribute_argument"] if args else []


def _has_comment(node: tree_sitter.Node) -> bool:
    return any(n.type == "comment" for n in _walk(node))


def _true_argument_cut(argument: tree_sitter.Node, data: bytes) -> Cut | None:
    """``Mandatory = $true`` -> ``Mandatory`` (cut from the end of the name to the end of the argument)."""
    named = argument.named_children
    if len(named) != 2 or named[0].type != "simple_name":
        return None
    name = data[named[0].start_byte:named[0].end_byte].decode("utf-8").lower()
    leaves = [n for n in _walk(named[1]) if n.child_count == 0]
    if name not in _BOOLEAN_PARAMETER_ARGUMENTS or [n.type for n in leaves] != ["variable"] \
            or data[leaves[0].start_byte:leaves[0].end_byte].lower() != b"$true":
        return None
    return named[0].end_byte, argument.end_byte, b""


def _parameter_cuts(param: tree_sitter.Node, data: bytes, advanced: bool) -> list[Cut]:
    parameter = [a for a in _attributes(param) if _attribute_name(a, data) == "parameter"]
    if any(_has_comment(a) for a in parameter):
        return []  # a comment inside would be cut twice
    if advanced and len(parameter) == 1 and not _attribute_arguments(parameter[0]):
        return [(parameter[0].start_byte, parameter[0].end_byte, b"")]
    return [cut for a in parameter for arg in _attribute_arguments(a) if (cut := _true_argument_cut(arg, data))]


def _attribute_cuts(tree: tree_sitter.Tree, data: bytes) -> list[Cut]:
    cuts: list[Cut] = []
    for block in (n for n in _walk(tree.root_node) if n.type == "param_block"):
        attributes = _attributes(block)
        advanced = any(_attribute_name(a, data) == "cmdletbinding" for a in attributes)
        cuts += [(a.start_byte, a.end_byte, b"") for a in attributes
                 if _attribute_name(a, data) == "outputtype" and not _has_comment(a)]
        plist = next((c for c in block.children if c.type == "parameter_list"), None)
        for param in plist.children if plist is not None else ():
            if param.type == "script_parameter":
                cuts += _parameter_cuts(param, data, advanced)
    return cuts


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def _expected_tokens(tree: tree_sitter.Tree, data: bytes, removed: list[tuple[int, int]],
                     replaced: dict[int, bytes]) -> list[tuple[str, bytes]]:
    """The original's code tokens without those inside ``removed``, strings starting at a key of ``replaced``
    swapped for its value: what the stripped code must carry, exactly."""
    removed = sorted(removed)
    starts = [s for s, _e in removed]
    expected = []
    for kind, start, end in _token_spans(tree, _is_string):
        index = bisect.bisect_right(starts, start) - 1
        if index >= 0 and end <= removed[index][1]:
            continue
        expected.append((kind, replaced.get(start, data[start:end])))
    return expected


def strip_powershell(source: str, keep_header: bool = True) -> tuple[str, StripStats]:
    """Return ``source`` without comments, comment-based help, indentation, blank lines and documentation-only
    attributes, its marked here-strings stripped, and the figures."""
    data = source.encode("utf-8")
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    tree = _parse(data)
    problems = _problems(tree)
    if problems:
        raise StripError(f"does not parse, not stripped: {'; '.join(problems[:5])}")
    header_rows = _header_rows(data.split(b"\n")) if keep_header else 0
    comments = [_comment_cut(n, data) for n in _walk(tree.root_node)
                if n.type == "comment" and not _keep(data[n.start_byte:n.end_byte], n.start_point[0], header_rows)]
    protected = [(n.start_byte, n.end_byte) for n in _walk(tree.root_node)
                 if _is_string(n) and n.start_point[0] != n.end_point[0]]
    embedded = _embedded_cuts(tree, data)
    attributes = _attribute_cuts(tree, data)
    result = _rewrite(data, comments + attributes + [cut for cut, _node in embedded], protected)
    problems = _problems(_parse(result))
    if problems:
        raise StripError(f"stripped code does not parse: {'; '.join(problems[:5])}")
    replaced = {node.start_byte: data[node.start_byte:cut[0]] + cut[2] + data[cut[1]:node.end_byte]
                for cut, node in embedded}
    if code_tokens(result) != _expected_tokens(tree, data, [(s, e) for s, e, _r in attributes], replaced):
        raise StripError("stripping changed the code tokens")
    text = ("\ufeff" if bom else "") + result.decode("utf-8")
    stats = StripStats(len(source.encode("utf-8")), len(text.encode("utf-8")), len(comments),
                       source.count("\n"), text.count("\n"))
    return text, stats


def strip_csharp(source: str) -> str:
    """Return C# ``source`` without comments, indentation and blank lines (lines are never joined).

    C# language specification, Lexical structure (ECMA-334; learn.microsoft.com/dotnet/csharp/language-reference/
    language-specification/lexical-structure): "Line terminators, white space, and comments can serve to separate
    tokens ... but otherwise these lexical elements have no impact on the syntactic structure"; a pre-processing
    directive takes a line of its own, which keeping every line preserves.
    """
    data = source.encode("utf-8")
    tree = _parse(data, _CS_LANGUAGE)
    problems = _problems(tree)
    if problems:
        raise StripError(f"C# does not parse, not stripped: {'; '.join(problems[:5])}")
    cuts = [_comment_cut(n, data) for n in _walk(tree.root_node) if n.type == "comment"]
    protected = [(n.start_byte, n.end_byte) for n in _walk(tree.root_node)
                 if _is_cs_string(n) and n.start_point[0] != n.end_point[0]]
    result = _rewrite(data, cuts, protected)
    problems = _problems(_parse(result, _CS_LANGUAGE))
    if problems:
        raise StripError(f"stripped C# does not parse: {'; '.join(problems[:5])}")
    if csharp_tokens(result) != csharp_tokens(data):
        raise StripError("stripping changed the C# tokens")
    return result.decode("utf-8")
