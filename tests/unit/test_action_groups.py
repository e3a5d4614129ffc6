# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action groups of meta/runtime.yml are usable with ``module_defaults``: every group's members share
options (same type, elements and choices in each member, read from ansible-doc), every member exists,
and the README names every group with the options it shares."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t

import pytest
import yaml

from tests.simhost.paths import REPO_ROOT, collections_path

GROUPS: dict[str, list[str]] = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))[
    "action_groups"]
SHAPE = ("type", "elements", "choices")


def _options() -> dict[str, dict[str, t.Any]]:
    members = sorted({m for group in GROUPS.values() for m in group})
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path())
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-j",
                          *[f"mecm.fieldkit.{m}" for m in members]], env=env, capture_output=True, text=True,
                         check=True).stdout
    return {name.rsplit(".", 1)[-1]: data["doc"].get("options") or {} for name, data in json.loads(out).items()}


OPTIONS = _options()


def shared_options(group: str) -> set[str]:
    members = GROUPS[group]
    return set.intersection(*(set(OPTIONS[m]) for m in members))


def test_there_are_groups() -> None:
    assert GROUPS and all(len(members) >= 2 for members in GROUPS.values())


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_members_exist_and_share_options(group: str) -> None:
    for member in GROUPS[group]:
        assert (REPO_ROOT / "plugins" / "modules" / f"{member}.py").is_file(), member
        assert member in OPTIONS, member
    shared = shared_options(group)
    assert shared, f"group {group}: its members share no option, so module_defaults with any option fails a member"
    for option in sorted(shared):
        shapes = {m: tuple(json.dumps(OPTIONS[m][option].get(key), sort_keys=True) for key in SHAPE)
                  for m in GROUPS[group]}
        assert len(set(shapes.values())) == 1, f"group {group}: option {option} differs between members: {shapes}"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_readme_documents_the_group(group: str) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"group/mecm.fieldkit.{group}" in readme
    section = readme.split("## Action groups", 1)[1].split("\n## ", 1)[0]
    line = next(line for line in section.splitlines() if f"`group/mecm.fieldkit.{group}`" in line)
    for option in shared_options(group):
        assert f"`{option}`" in line, f"README: group {group} does not list the shared option {option}"
