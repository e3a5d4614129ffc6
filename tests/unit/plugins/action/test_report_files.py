# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mecm.fieldkit.report_files: controller-side files, one task."""
from __future__ import annotations

import json
import os
import re
import pathlib
import stat
import typing as t

import pytest
import yaml
from ansible.errors import AnsibleActionFail

from ansible_collections.mecm.fieldkit.plugins.action.report_files import ActionModule
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _files
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
    with pytest.raises(AnsibleActionFail, match="mode='rw' is not a file mode: give a quoted octal string"):
        _run({"dest": str(tmp_path), "files": {"a": "x"}, "mode": "rw"})
    assert list(tmp_path.iterdir()) == []


def _mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_027() -> t.Iterator[None]:
    old = os.umask(0o027)
    yield
    os.umask(old)


@pytest.mark.parametrize("dest", ["", "   ", None])
def test_empty_dest_is_refused(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, dest: t.Any) -> None:
    monkeypatch.chdir(tmp_path)
    for check_mode in (False, True):
        with pytest.raises(AnsibleActionFail, match=r"dest=.* is empty: name the report directory.*current directory"):
            _run({"dest": dest, "files": {"a.json": {}}}, check_mode=check_mode)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("yaml_text", ["mode: 0644", "mode: 644", "mode: 0600", "mode: 0777"])
def test_unquoted_yaml_mode_is_refused_with_advice_to_quote_it(tmp_path: pathlib.Path, yaml_text: str) -> None:
    mode = yaml.safe_load(yaml_text)["mode"]  # YAML 1.1, as Ansible reads it: 0644 is the int 420
    assert isinstance(mode, int)
    with pytest.raises(AnsibleActionFail, match=r"is a number, not a quoted mode.*Quote the mode, e\.g\. mode: \"0644\""):
        _run({"dest": str(tmp_path / "r"), "files": {"a.json": {}}, "mode": mode})
    assert not (tmp_path / "r").exists()


def test_unquoted_0644_names_what_it_became(tmp_path: pathlib.Path) -> None:
    with pytest.raises(AnsibleActionFail, match=r"mode=420 .* if you wrote 0644, write \"0644\""):
        _run({"dest": str(tmp_path), "files": {"a": "x"}, "mode": 0o644})


@pytest.mark.parametrize("mode", ["0777", "0666", "666", "0o646", "o+w", "a+rw", "u=rw,g=r,o=rw"])
def test_world_writable_modes_are_refused_unless_allowed(tmp_path: pathlib.Path, umask_027: None, mode: str) -> None:
    with pytest.raises(AnsibleActionFail, match=r"lets every user of the controller write.*allow_world_writable=true"):
        _run({"dest": str(tmp_path / "r"), "files": {"a.json": {}}, "mode": mode})
    assert not (tmp_path / "r").exists()


def test_world_writable_mode_when_allowed(tmp_path: pathlib.Path) -> None:
    result = _run({"dest": str(tmp_path), "files": {"a.txt": "x"}, "mode": "0666", "allow_world_writable": True})
    assert result["changed"] is True and _mode(tmp_path / "a.txt") == 0o666


@pytest.mark.parametrize("mode", ["4755", "2644", "1644", "0o4755", "u+s", "+t", "u=rw,g=r,o=r,", "0644 ", "7"])
def test_special_bits_and_odd_forms_are_refused(tmp_path: pathlib.Path, mode: str) -> None:
    if mode == "0644 ":
        _run({"dest": str(tmp_path), "files": {"a": "x"}, "mode": mode})  # surrounding blanks are fine
        assert _mode(tmp_path / "a") == 0o644
        return
    with pytest.raises(AnsibleActionFail, match=re.escape(f"mode={mode!r} ") + "(sets the setuid|is not a file mode)"):
        _run({"dest": str(tmp_path), "files": {"a": "x"}, "mode": mode})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["0640", "640", "0o640", "u=rw,g=r,o=", "u=rw,g=r,o-rwx"])
def test_octal_and_symbolic_modes(tmp_path: pathlib.Path, mode: str) -> None:
    _run({"dest": str(tmp_path), "files": {"a.txt": "x"}, "mode": mode})
    assert _mode(tmp_path / "a.txt") == 0o640


def test_a_mode_is_applied_to_a_file_whose_content_is_unchanged(tmp_path: pathlib.Path) -> None:
    _run({"dest": str(tmp_path), "files": {"a.txt": "x"}, "mode": "0644"})
    result = _run({"dest": str(tmp_path), "files": {"a.txt": "x"}, "mode": "0600"})
    assert result["changed"] is True and result["changed_files"] == [str(tmp_path / "a.txt")]
    assert _mode(tmp_path / "a.txt") == 0o600
    assert _run({"dest": str(tmp_path), "files": {"a.txt": "x"}, "mode": "0600"})["changed"] is False
    # symbolic modes apply to the mode the file has
    _run({"dest": str(tmp_path), "files": {"a.txt": "x"}, "mode": "g+r"})
    assert _mode(tmp_path / "a.txt") == 0o640


def test_without_a_mode_the_umask_applies_and_existing_files_keep_theirs(tmp_path: pathlib.Path,
                                                                      umask_027: None) -> None:
    _run({"dest": str(tmp_path / "r"), "files": {"new.json": {}, "old.json": {"v": 1}}})
    assert _mode(tmp_path / "r" / "new.json") == 0o640
    assert _mode(tmp_path / "r") == 0o750
    os.chmod(tmp_path / "r" / "old.json", 0o600)
    result = _run({"dest": str(tmp_path / "r"), "files": {"old.json": {"v": 2}}})
    assert result["changed"] is True and _mode(tmp_path / "r" / "old.json") == 0o600


def test_dest_that_is_a_file(tmp_path: pathlib.Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(AnsibleActionFail, match=rf"dest='{tmp_path}/f': {tmp_path}/f exists and is a file, not a "
                                                r"directory; nothing was written"):
        _run({"dest": str(tmp_path / "f"), "files": {"a.json": {}}})
    with pytest.raises(AnsibleActionFail, match=rf"dest='{tmp_path}/f/sub/r': {tmp_path}/f is a file, not a "
                                                rf"directory, so {tmp_path}/f/sub/r cannot be created"):
        _run({"dest": str(tmp_path / "f" / "sub" / "r"), "files": {"a.json": {}}}, check_mode=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_dest_without_permission(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests may run as root, whom os.access never refuses: the check is simulated.
    monkeypatch.setattr(_files.os, "access", lambda path, mode: pathlib.Path(path) != tmp_path)
    with pytest.raises(AnsibleActionFail, match=rf"dest='{tmp_path}/a/b': {tmp_path} does not let this user create a "
                                                r"in it \(permission denied\); nothing was written"):
        _run({"dest": str(tmp_path / "a" / "b"), "files": {"x.json": {}}})
    with pytest.raises(AnsibleActionFail, match=r"the directory .* is not writable for this user \(permission denied\)"):
        _run({"dest": str(tmp_path), "files": {"x.json": {}}})
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_writes_nothing(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_fchmod = os.fchmod

    def fchmod(fd: int, mode: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied")
        real_fchmod(fd, mode)

    monkeypatch.setattr(_files.os, "fchmod", fchmod)
    dest = tmp_path / "new" / "reports"
    with pytest.raises(AnsibleActionFail, match=rf"dest='{dest}': cannot write {dest}/b.json \(permission denied\); "
                                                r"nothing was written"):
        _run({"dest": str(dest), "files": {"a.json": {}, "b.json": {}}})
    assert list(tmp_path.iterdir()) == []  # no file, no temporary file, not even the folders it created


def test_a_file_name_that_is_a_directory(tmp_path: pathlib.Path) -> None:
    (tmp_path / "b.json").mkdir()
    with pytest.raises(AnsibleActionFail, match=rf"files: 'b.json' cannot be written: {tmp_path}/b.json is a "
                                                r"directory; nothing was written"):
        _run({"dest": str(tmp_path), "files": {"a.json": {}, "b.json": {}}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]


def test_publish_dest_gets_the_same_files(tmp_path: pathlib.Path) -> None:
    dest, share = tmp_path / "reports", tmp_path / "share" / "client_facts"
    result = _run({"dest": str(dest), "files": {"a.json": {"x": 1}}, "publish_dest": str(share)})
    assert (share / "a.json").read_bytes() == (dest / "a.json").read_bytes()
    assert result["publish_dest"] == str(share) and result["published_files"] == [str(share / "a.json")]
    none = _run({"dest": str(dest), "files": {"a.json": {"x": 1}}, "publish_dest": ""})
    assert none["publish_dest"] is None and none["published_files"] == [] and none["changed"] is False


def test_a_bad_publish_dest_writes_nothing_anywhere(tmp_path: pathlib.Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AnsibleActionFail, match="publish_dest="):
        _run({"dest": str(tmp_path / "reports"), "files": {"a.json": {}}, "publish_dest": str(blocker / "sub")})
    assert not (tmp_path / "reports").exists()


def test_publish_in_check_mode_writes_nothing(tmp_path: pathlib.Path) -> None:
    args = {"dest": str(tmp_path / "r"), "files": {"a.txt": "x"}, "publish_dest": str(tmp_path / "p")}
    result = _run(args, check_mode=True)
    assert result["published_files"] == [str(tmp_path / "p" / "a.txt")]
    assert not (tmp_path / "r").exists() and not (tmp_path / "p").exists()


def test_sources_are_added_by_base_name(tmp_path: pathlib.Path) -> None:
    written = tmp_path / "dp" / "dp_diagnosis.html"
    written.parent.mkdir()
    written.write_bytes("\ufeffa,b\r\n\u65e5,\u672c\r\n".encode("utf-8"))
    result = _run({"dest": str(tmp_path / "pub"), "files": {}, "sources": [str(written)]})
    # The same bytes: BOM and CRLF line ends kept.
    assert (tmp_path / "pub" / "dp_diagnosis.html").read_bytes() == written.read_bytes()
    assert result["files"] == [str(tmp_path / "pub" / "dp_diagnosis.html")]


@pytest.mark.parametrize("problem", ["missing", "duplicate"])
def test_bad_sources_are_refused_naming_the_option(tmp_path: pathlib.Path, problem: str) -> None:
    source = tmp_path / "a.json"
    if problem == "duplicate":
        source.write_text("{}")
    with pytest.raises(AnsibleActionFail, match=r"sources: .*a\.json"):
        _run({"dest": str(tmp_path / "pub"), "files": {"a.json": {}}, "sources": [str(source)]})
    assert not (tmp_path / "pub").exists()
