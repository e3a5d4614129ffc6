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

``strip_powershell`` refuses code that does not parse, and checks its own output: the stripped text
must parse and carry exactly the same non-comment tokens as the original.
"""
from __future__ import annotations

import bisect
import dataclasses
import re
import typing as t

import tree_sitter
import tree_sitter_powershell

_LANGUAGE = tree_sitter.Language(tree_sitter_powershell.language())
_KEEP_COMMENT = re.compile(r"^#(!powershell\b|requires\b|AnsibleRequires\b)|^#\s*pitfall-ok:", re.IGNORECASE)
_LICENCE = re.compile(r"^#\s*(Copyright\b|GNU General Public License\b)")
_STRING_TYPES = ("string_literal", "here_string", "string_characters")


class StripError(ValueError):
    """The code cannot be stripped safely (it does not parse, or stripping would change it)."""


@dataclasses.dataclass(frozen=True)
class StripStats:
    before: int
    after: int
    comments_removed: int
    lines_before: int
    lines_after: int


def _parse(data: bytes) -> tree_sitter.Tree:
    return tree_sitter.Parser(_LANGUAGE).parse(data)


def _walk(node: tree_sitter.Node) -> t.Iterator[tree_sitter.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _problems(tree: tree_sitter.Tree) -> list[str]:
    return [f"line {n.start_point[0] + 1}: {'missing ' + n.type if n.is_missing else 'syntax error'}"
            for n in _walk(tree.root_node) if n.is_error or n.is_missing]


def _is_string(node: tree_sitter.Node) -> bool:
    return any(part in node.type for part in _STRING_TYPES)


def code_tokens(data: bytes) -> list[tuple[str, bytes]]:
    """The leaf tokens that are not comments (whole string literals count as one token)."""
    tokens = []
    for node in _walk(_parse(data).root_node):
        if node.type == "comment" or not (_is_string(node) or node.child_count == 0):
            continue
        if not any(_is_string(a) for a in _ancestors(node)):
            tokens.append((node.type, data[node.start_byte:node.end_byte]))
    return tokens


def _ancestors(node: tree_sitter.Node) -> t.Iterator[tree_sitter.Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


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


def strip_powershell(source: str) -> tuple[str, StripStats]:
    """Return ``source`` without comments, comment-based help, indentation and blank lines, and the figures."""
    data = source.encode("utf-8")
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    tree = _parse(data)
    problems = _problems(tree)
    if problems:
        raise StripError(f"does not parse, not stripped: {'; '.join(problems[:5])}")
    header_rows = _header_rows(data.split(b"\n"))
    cuts: list[tuple[int, int, bytes]] = []  # (start, end, replacement)
    protected: list[tuple[int, int]] = []  # byte ranges of multi-line strings
    for node in _walk(tree.root_node):
        if node.type == "comment":
            if _keep(data[node.start_byte:node.end_byte], node.start_point[0], header_rows):
                continue
            after = data[node.end_byte:node.end_byte + 1]
            before = data[node.start_byte - 1:node.start_byte] if node.start_byte else b"\n"
            end = node.end_byte
            if before in (b" ", b"\t") and after in (b" ", b"\t"):
                end += 1  # `1 <# c #> + 2` -> `1 + 2`
            glue = b"" if after in (b"", b"\n", b"\r") or before in (b" ", b"\t", b"\n") else b" "
            cuts.append((node.start_byte, end, glue))
        elif _is_string(node) and node.start_point[0] != node.end_point[0]:
            protected.append((node.start_byte, node.end_byte))
    cuts.sort()
    out = bytearray()
    shift_at: list[int] = []  # original offsets where the shift changes, and the shift after them
    shifts: list[int] = []
    position = 0
    shift = 0
    for start, end, glue in cuts:
        out += data[position:start] + glue
        shift += (end - start) - len(glue)
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
        line = line.strip()  # indentation is not syntax in PowerShell (outside strings, kept above)
        if line:
            kept.append(line)
    result = b"\n".join(kept) + b"\n"
    after_tree = _parse(result)
    problems = _problems(after_tree)
    if problems:
        raise StripError(f"stripped code does not parse: {'; '.join(problems[:5])}")
    if code_tokens(result) != code_tokens(data):
        raise StripError("stripping changed the code tokens")
    text = ("\ufeff" if bom else "") + result.decode("utf-8")
    stats = StripStats(len(source.encode("utf-8")), len(text.encode("utf-8")), len(cuts),
                       source.count("\n"), text.count("\n"))
    return text, stats
