# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docs-site guides (``docs/docsite/rst/guide_*.rst``, listed in ``docs/docsite/extra-docs.yml``) are
made from the Markdown guides in ``docs/``, so there is one source for each guide. This converts the
Markdown the guides use (headings, paragraphs, lists, fenced code, pipe tables, inline code, bold, links)
to reStructuredText for antsibull-docs. Links to files of the repository become plain text (the docs
site has no such pages).

The pages are written into the build's staging copy (``tests/build/dist.py``), never into the
repository, so they cannot drift from the Markdown. To preview them:

    .venv/bin/python -m tests.build.docsite [OUT_DIR]   # default build/docsite-preview
"""
from __future__ import annotations

import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
RST_SUBDIR = pathlib.Path("docs") / "docsite" / "rst"
# docs-site guide name -> Markdown source
GUIDES = {
    "guide_image_prep": "docs/image-prep.md",
    "guide_dp_diagnosis": "docs/dp-diagnosis.md",
    "guide_awx": "docs/awx.md",
}
LABEL_PREFIX = "ansible_collections.mecm.fieldkit.docsite."
UNDERLINES = {1: "=", 2: "-", 3: "~", 4: "^", 5: '"'}
CODE_LANGUAGES = {"": "text", "sh": "bash", "shell": "bash", "yml": "yaml", "ps1": "powershell", "console": "text",
                  "text": "text", "yaml": "yaml", "json": "json", "bash": "bash", "powershell": "powershell",
                  "ini": "ini", "python": "python", "xml": "xml", "csv": "text", "jinja": "jinja"}
_INLINE = re.compile(r"(?P<code>`+)(?P<code_text>.+?)(?P=code)(?!`)|\*\*(?P<bold>.+?)\*\*|\[(?P<link_text>[^\]]+)\]\((?P<url>[^)\s]+)\)")
_BEFORE_OK = set(" \t-:/'\"<([{") | {""}
_AFTER_OK = set(" \t-.,:;!?\\/'\")]}>") | {""}
_LIST_ITEM = re.compile(r"^(?P<indent> *)(?P<bullet>[-*+]|\d+[.)]) +(?P<text>.*)$")
_HEADING = re.compile(r"^(?P<hashes>#{1,5}) +(?P<text>.+?) *#*$")


def _escape(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("*", "\\*").replace("|", "\\|").replace("`", "\\`")
    return re.sub(r"(?<=\w)_(?=\W|$)", r"\\_", text)


def _markup(prefix: str, text: str, suffix: str, before: str, after: str) -> str:
    """Inline markup must follow whitespace or punctuation and be followed by it; else an escaped space."""
    lead = "" if before in _BEFORE_OK else "\\ "
    tail = "" if after in _AFTER_OK else "\\ "
    return f"{lead}{prefix}{text}{suffix}{tail}"


def inline(text: str) -> str:
    """Markdown inline markup of one line to RST."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(_escape(text[position:match.start()]))
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        if match.group("code") is not None:
            code = match.group("code_text").strip() or match.group("code_text")
            out.append(_markup("``", code, "``", before, after))
        elif match.group("bold") is not None:
            out.append(_markup("**", _escape(match.group("bold")), "**", before, after))
        else:
            label, url = match.group("link_text"), match.group("url")
            if re.match(r"https?://", url):
                out.append(_markup("`", _escape(label).replace("<", "\\<"), f" <{url}>`__", before, after))
            else:
                out.append(inline(label))
        position = match.end()
    out.append(_escape(text[position:]))
    return "".join(out)


def _cells(row: str) -> list[str]:
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells, current, in_code = [], "", False
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body) and body[index + 1] == "|":
            current += "|"
            index += 2
            continue
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
        index += 1
    cells.append(current.strip())
    return cells


def _cell(text: str) -> str:
    converted = inline(text)
    # A cell that is only "-" (or "==") would read as a transition or a list: escape it.
    return "\\" + converted if converted and re.fullmatch(r"[-=~^+*#]+", converted) else converted


def _table(rows: list[str], indent: str) -> list[str]:
    header = _cells(rows[0])
    body = [_cells(r) for r in rows[2:]] if len(rows) > 1 and re.fullmatch(r"[\s|:\-]+", rows[1]) else [
        _cells(r) for r in rows[1:]]
    out = [f"{indent}.. list-table::", f"{indent}   :header-rows: 1", ""]
    for cells in [header, *body]:
        cells = (cells + [""] * len(header))[:len(header)]
        for number, cell in enumerate(cells):
            marker = "* -" if number == 0 else "  -"
            out.append(f"{indent}   {marker} {_cell(cell)}".rstrip())
    out.append("")
    return out


def convert(markdown: str, label: str) -> str:
    """One Markdown guide to one RST page, with an antsibull-docs label."""
    lines = markdown.splitlines()
    out: list[str] = [f".. _{label}:", ""]
    index = 0
    list_indents: list[int] = []
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        fence = re.match(r"^(?P<indent> *)```(?P<lang>[\w+-]*)\s*$", line)
        if fence:
            indent = fence.group("indent")
            language = CODE_LANGUAGES.get(fence.group("lang").lower(), "text")
            block: list[str] = []
            index += 1
            while index < len(lines) and lines[index].strip() != "```":
                block.append(lines[index][len(indent):] if lines[index].startswith(indent) else lines[index].lstrip())
                index += 1
            index += 1
            if out and out[-1] != "":
                out.append("")
            out += [f"{indent}.. code-block:: {language}", ""]
            out += [f"{indent}   {code}".rstrip() for code in block] + [""]
            continue
        if stripped.startswith("|"):
            rows = []
            while index < len(lines) and lines[index].strip().startswith("|"):
                rows.append(lines[index])
                index += 1
            indent = line[:len(line) - len(line.lstrip())]
            if out and out[-1] != "":
                out.append("")
            out += _table(rows, indent)
            continue
        heading = _HEADING.match(line)
        if heading:
            text = inline(heading.group("text"))
            if out and out[-1] != "":
                out.append("")
            out += [text, UNDERLINES[len(heading.group("hashes"))] * max(len(text), 3), ""]
            list_indents = []
            index += 1
            continue
        if re.fullmatch(r"(-{3,}|\*{3,})", stripped):
            index += 1
            continue
        item = _LIST_ITEM.match(line)
        if item:
            indent = len(item.group("indent"))
            while list_indents and list_indents[-1] > indent:
                list_indents.pop()
                if out and out[-1] != "":
                    out.append("")
            if not list_indents or list_indents[-1] < indent:
                if out and out[-1] != "":
                    out.append("")
                list_indents.append(indent)
            bullet = item.group("bullet")
            bullet = "-" if bullet in "-*+" else f"{bullet[:-1]}."
            out.append(f"{' ' * indent}{bullet} {inline(item.group('text'))}".rstrip())
            index += 1
            continue
        if not stripped:
            out.append("")
            index += 1
            continue
        if list_indents and not line.startswith(" "):
            list_indents = []
            if out and out[-1] != "":
                out.append("")
        own_indent = len(line) - len(line.lstrip())
        while len(list_indents) > 1 and list_indents[-1] >= own_indent:
            list_indents.pop()  # text of an outer item after a nested list: the nested list ends
            if out and out[-1] != "":
                out.append("")
        if stripped.startswith(">"):
            out.append("    " + inline(stripped.lstrip("> ")))
        else:
            out.append(line[:len(line) - len(line.lstrip())] + inline(stripped))
        index += 1
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_all(root: pathlib.Path = REPO) -> dict[pathlib.Path, str]:
    """The guide pages of the collection tree at ``root``: path -> RST text."""
    header = "..\n  Made by tests/build/docsite.py from {source} when the collection is built: edit the Markdown.\n\n"
    return {root / RST_SUBDIR / f"{name}.rst": header.format(source=source)
            + convert((root / source).read_text(encoding="utf-8"), LABEL_PREFIX + name)
            for name, source in GUIDES.items()}


def write_guides(root: pathlib.Path) -> list[pathlib.Path]:
    """Write the guide pages into the collection tree at ``root`` (the build's staging copy)."""
    written = []
    for path, text in render_all(root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main() -> int:
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "build" / "docsite-preview"
    for path, text in render_all().items():
        target = out / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"[docsite] {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
