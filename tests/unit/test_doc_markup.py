# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module, filter and role renders without broken markup.

The documentation is read as ansible-doc serves it (doc fragments merged) and every text is parsed with
antsibull-docs-parser, the parser the docs site uses. Broken markup is:

- a parse error (an unknown or unclosed command, a bad FQCN, ...);
- a ``C()``/``I()``/``B()``/``V()``... whose text has an unbalanced ``(``: the classic commands end at the
  first ``)``, so ``C(GetAssignedSite())`` renders as ``GetAssignedSite(`` followed by a stray ``)``;
- ``O()`` / ``RV()`` naming an option or return value the plugin does not document (a dead link);
- ``M()`` / ``P()`` naming a module, plugin or role of this collection that does not exist;
- an ``extends_documentation_fragment`` that is not fully qualified (``ansible.builtin.action_common_attributes``).
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import typing as t

import pytest
from ansible.parsing.plugin_docs import read_docstring
from antsibull_docs_parser import dom
from antsibull_docs_parser.parser import Context, parse

from tests.simhost.paths import REPO_ROOT, collections_path

BIN = os.path.dirname(sys.executable)
TEXT_KEYS = {"description", "short_description", "notes", "requirements", "details", "seealso_description"}
PLAIN_PARTS = (dom.PartType.CODE, dom.PartType.ITALIC, dom.PartType.BOLD, dom.PartType.OPTION_VALUE,
               dom.PartType.ENV_VARIABLE)


def _plugins() -> list[tuple[str, str]]:
    modules = [("module", p.stem) for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if not p.name.startswith("_")]
    filters = [("filter", p.stem) for p in (REPO_ROOT / "plugins" / "filter").glob("*.yml")]
    roles = [("role", p.name) for p in (REPO_ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file()]
    return sorted(modules + filters + roles)


@functools.lru_cache(maxsize=None)
def _ansible_doc_all(kind: str) -> dict[str, t.Any]:
    """One ansible-doc call per plugin type, for every plugin of that type."""
    names = [f"mecm.fieldkit.{name}" for plugin_kind, name in _plugins() if plugin_kind == kind]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path())
    out = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", kind, "-j", *names], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _ansible_doc(kind: str, name: str) -> dict[str, t.Any]:
    return _ansible_doc_all(kind)[f"mecm.fieldkit.{name}"]


def _texts(node: t.Any, where: str, key: str = "") -> t.Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for child_key, value in node.items():
            yield from _texts(value, f"{where}.{child_key}", str(child_key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _texts(value, f"{where}[{index}]", key)
    elif isinstance(node, str) and key in TEXT_KEYS:
        yield where, node


def _has_path(tree: dict[str, t.Any], path: list[str], children: str) -> bool:
    node: dict[str, t.Any] | None = {children: tree}
    for part in path:
        node = (node or {}).get(children, {}).get(part.split("[", 1)[0])
        if node is None:
            return False
    return True


def _fqcn(part: t.Any) -> str:
    return part.fqcn if part.type == dom.PartType.MODULE else part.plugin.fqcn


def _exists(fqcn: str, kind: str) -> bool:
    name = fqcn.rsplit(".", 1)[-1]
    if kind == "role":
        return (REPO_ROOT / "roles" / name / "meta" / "argument_specs.yml").is_file()
    folder = "modules" if kind == "module" else kind
    return any((REPO_ROOT / "plugins" / folder / f"{name}{suffix}").is_file() for suffix in (".py", ".yml", ".yaml"))


def _content(part: t.Any) -> str:
    for attribute in ("text", "value", "name"):
        if isinstance(getattr(part, attribute, None), str):
            return getattr(part, attribute)
    return ""


def problems_in(text: str, options: dict[str, t.Any], returns: dict[str, t.Any] | None) -> list[str]:
    """The broken markup of one documentation text."""
    found: list[str] = []
    for paragraph in parse(text, Context(), errors="message", strict=True):
        for index, part in enumerate(paragraph):
            if part.type == dom.PartType.ERROR:
                found.append(part.message)
            elif part.type in PLAIN_PARTS and _content(part).count("(") != _content(part).count(")"):
                following = paragraph[index + 1] if index + 1 < len(paragraph) else None
                stray = following is not None and getattr(following, "text", "").startswith(")")
                found.append(f"unbalanced parenthesis in {part.type.name}({_content(part)})"
                             f"{' then a stray )' if stray else ''}")
            elif (part.type == dom.PartType.OPTION_NAME and part.plugin is None
                  and not _has_path(options, part.link, "suboptions")):
                found.append(f"O({part.name}) is not an option of this plugin")
            elif (part.type in (dom.PartType.MODULE, dom.PartType.PLUGIN) and _fqcn(part).startswith("mecm.fieldkit.")
                  and not _exists(_fqcn(part), getattr(getattr(part, "plugin", None), "type", "module"))):
                found.append(f"{_fqcn(part)} is not a {getattr(getattr(part, 'plugin', None), 'type', 'module')}"
                             " of this collection")
            elif (part.type == dom.PartType.RETURN_VALUE and part.plugin is None and returns is not None
                  and not _has_path(returns, part.link, "contains")):
                found.append(f"RV({part.name}) is not a return value of this plugin")
    return found


def test_the_checker_finds_the_broken_code_markup() -> None:
    assert problems_in("C(GetAssignedSite()) fails", {}, {}) == [
        "unbalanced parenthesis in CODE(GetAssignedSite() then a stray )"]
    assert problems_in("the COM method C(GetAssignedSite) and C(f\\(x\\))", {}, {}) != []
    assert problems_in("the COM method C(GetAssignedSite) and V(f(x\\))", {}, {}) == []
    assert problems_in("O(a.b) and RV(c)", {"a": {"suboptions": {"b": {}}}}, {"c": {}}) == []
    assert problems_in("O(a.x) and RV(d)", {"a": {"suboptions": {"b": {}}}}, {"c": {}}) == [
        "O(a.x) is not an option of this plugin", "RV(d) is not a return value of this plugin"]
    assert problems_in("I(unclosed", {}, {})
    assert problems_in("M(mecm.fieldkit.dp_diagnose) and P(mecm.fieldkit.dp_diagnose#role)", {}, {}) == [
        "mecm.fieldkit.dp_diagnose is not a module of this collection"]


@pytest.mark.parametrize(("kind", "name"), _plugins(), ids=lambda v: v)
def test_documentation_markup_renders(kind: str, name: str) -> None:
    data = _ansible_doc(kind, name)
    if kind == "role":
        problems = []
        for entry_point, spec in data.get("entry_points", {}).items():
            for where, text in _texts(spec, f"{name}:{entry_point}"):
                problems += [f"{where}: {p}" for p in problems_in(text, spec.get("options") or {}, None)]
    else:
        doc = data["doc"]
        options = doc.get("options") or {}
        returns = data.get("return") or (doc.get("return") if kind == "filter" else None) or {}
        problems = [f"{where}: {p}" for where, text in _texts(doc, name) for p in problems_in(text, options, returns)]
        problems += [f"{where}: {p}" for where, text in _texts(returns, f"{name}.RETURN", "")
                     for p in problems_in(text, options, returns)]
        problems += [f"{name}: extends_documentation_fragment {fragment!r} is not fully qualified"
                     for fragment in _fragments(kind, name) if fragment.count(".") < 2]
    assert not problems, "\n".join(problems)


def _fragments(kind: str, name: str) -> list[str]:
    """The fragments as written (ansible-doc merges them and drops the list)."""
    if kind != "module":
        return []
    source = REPO_ROOT / "plugins" / "modules" / f"{name}.py"
    documentation = read_docstring(str(source)).get("doc") or {}
    fragments = documentation.get("extends_documentation_fragment") or []
    return [fragments] if isinstance(fragments, str) else list(fragments)
