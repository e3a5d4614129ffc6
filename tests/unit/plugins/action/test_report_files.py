# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mecm.fieldkit.report_files: controller-side files, one task."""
from __future__ import annotations

import json
import pathlib
import typing as t

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.mecm.fieldkit.plugins.action.report_files import ActionModule
from tests.unit.plugins.action.plugin_factory import make_action


def _run(args: dict[str, t.Any], check_mode: bool = False) -> dict[str, t.Any]:
    plugin = make_action(ActionModule, args, check_mode=check_mode)
    return plugin.run(task_vars={})


def test_writes_text_and_json_once(tmp_path: pathlib.Path) -> None:
    dest = tmp_path / "reports" / "x"
    files = {"a.json": {"b": 1, "a": [1, 2]}, "junit.xml": "<testsuites/>\n"}
    result = _run({"dest": str(dest), "files": files})
    assert result["changed"] is True and len(result["changed_files"]) == 2
    assert json.loads((dest / "a.json").read_text()) == {"a": [1, 2], "b": 1}
    assert (dest / "junit.xml").read_text() == "<testsuites/>\n"
    assert oct((dest / "a.json").stat().st_mode & 0o777) == "0o644"
    again = _run({"dest": str(dest), "files": files})
    assert again["changed"] is False and again["changed_files"] == []
    assert not list(dest.glob(".*.tmp"))


def test_check_mode_writes_nothing(tmp_path: pathlib.Path) -> None:
    result = _run({"dest": str(tmp_path / "r"), "files": {"a.txt": "x"}}, check_mode=True)
    assert result["changed"] is True
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("name", ["../escape.json", "sub/dir.json", ".hidden", ""])
def test_names_must_be_plain_file_names(tmp_path: pathlib.Path, name: str) -> None:
    with pytest.raises(AnsibleActionFail, match="is not a plain file name"):
        _run({"dest": str(tmp_path), "files": {name: "x"}})
    assert list(tmp_path.iterdir()) == []


def test_bad_mode(tmp_path: pathlib.Path) -> None:
    with pytest.raises(AnsibleActionFail, match="mode='rw' must be an octal file mode"):
        _run({"dest": str(tmp_path), "files": {"a": "x"}, "mode": "rw"})
