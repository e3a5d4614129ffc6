# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release changelog lists each module, plugin and role once.

antsibull-changelog adds every new module, plugin and role to "New Modules" / "New Plugins" / "New
Roles" by itself (from the plugin docs), so a fragment must not announce it again ("X - new module
that ..."): the release would list it twice. This renders the next release's changelog in a scratch
copy (``antsibull-changelog release``) and looks for such doubles."""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys


from tests.build.dist import REPO

BIN = pathlib.Path(sys.executable).parent
ANNOUNCEMENT = re.compile(r"^- (?P<subject>.+?) - (?:new|internal) (?:controller-only |internal )?"
                          r"(?:module|action|role|filters?|plugin)\b")
NEW_SECTIONS = ("New Modules", "New Plugins", "New Roles")


def _sections(rst: str) -> dict[str, list[str]]:
    """Section title -> its bullet lines (continuation lines joined)."""
    sections: dict[str, list[str]] = {}
    lines = rst.splitlines()
    title = ""
    for index, line in enumerate(lines):
        if index + 1 < len(lines) and re.fullmatch(r"[-~=^]{3,}", lines[index + 1]) and line.strip():
            title = line.strip()
            sections.setdefault(title, [])
        elif line.startswith("- "):
            sections.setdefault(title, []).append(line)
        elif line.startswith("  ") and sections.get(title):
            sections[title][-1] += " " + line.strip()
    return sections


def doubles(rst: str) -> list[str]:
    """Fragment entries that announce a module, plugin or role the changelog already lists as new."""
    sections = _sections(rst)
    new = {m.group(1) for title in sections if title in NEW_SECTIONS or title in ("Filter", "Lookup", "Inventory")
           for line in sections[title] for m in [re.match(r"- mecm\.fieldkit\.(\w+) - ", line)] if m}
    found = []
    for title, entries in sections.items():
        if title in NEW_SECTIONS or title in ("Filter", "Lookup", "Inventory"):
            continue
        for entry in entries:
            match = ANNOUNCEMENT.match(entry)
            # "X filters - new filters a, b and c": the names are in the text, not in the subject.
            named = entry if match and " new filters " in entry else (match.group("subject") if match else "")
            if match and set(re.findall(r"\w+", named)) & new:
                found.append(f"{title}: {entry[:140]}")
    return found


def test_doubles_are_found() -> None:
    rst = ("Minor Changes\n-------------\n\n- win_x - new module that does y.\n- win_x - new option z.\n\n"
           "New Modules\n-----------\n\n- mecm.fieldkit.win_x - Does y.\n")
    assert doubles(rst) == ["Minor Changes: - win_x - new module that does y."]


def test_each_module_plugin_and_role_is_listed_once(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "ansible_collections" / "mecm" / "fieldkit"
    root.mkdir(parents=True)
    for name in ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "changelogs"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", ".plugin-cache.yaml"))
        else:
            shutil.copy2(source, root / name)
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               ANSIBLE_COLLECTIONS_PATH=str(tmp_path), ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    proc = subprocess.run([str(BIN / "antsibull-changelog"), "release", "--version", "0.1.0", "--date", "2026-12-02"],
                          cwd=root, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rst = (root / "CHANGELOG.rst").read_text(encoding="utf-8")
    assert "New Modules" in rst
    assert doubles(rst) == []
