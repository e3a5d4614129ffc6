from __future__ import annotations

import os
import pathlib
import stat
import typing as t

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _files
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._files import write_text_if_changed


def test_writes_then_reports_no_change(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "r.csv"
    assert write_text_if_changed(path, "\ufeffa,b\r\n") is True
    assert path.read_bytes() == b"\xef\xbb\xbfa,b\r\n"
    assert write_text_if_changed(path, "\ufeffa,b\r\n") is False
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_check_mode_writes_nothing(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "r.json"
    assert write_text_if_changed(path, "{}\n", check_mode=True) is True
    assert not path.exists()
    path.write_text("{}\n", encoding="utf-8")
    assert write_text_if_changed(path, "{}\n", check_mode=True) is False


def test_mode_and_no_temp_file_left(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "r.md"
    write_text_if_changed(path, "x", mode=0o600)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


# --- modes, destinations, all-or-nothing ---------------------------------------------------------------------
@pytest.fixture
def umask_027() -> t.Iterator[None]:
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_write_text_if_changed_respects_the_umask_and_keeps_an_existing_mode(tmp_path: pathlib.Path,
                                                                             umask_027: None) -> None:
    path = tmp_path / "r.json"
    assert write_text_if_changed(path, "{}\n") is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    os.chmod(path, 0o600)
    assert write_text_if_changed(path, "[]\n") is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert write_text_if_changed(path, "[]\n", mode=0o644) is True  # same text, other mode
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("symbolic", ["u=rw,g=r,o=r", "go-w", "u+x", "a+X", "u=rwx,g=u,o=g-w", "=r", "+w", "o=",
                                      "ug=rw,o-rwx", "u-w+x", "a=r+w", "g=o,o=u"])
@pytest.mark.parametrize("base", [0o644, 0o600, 0o755, 0o000, 0o640])
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_symbolic_modes_are_those_of_ansibles_file_module(symbolic: str, base: int, umask: int) -> None:
    old = os.umask(umask)
    try:
        fake_stat = os.stat_result((stat.S_IFREG | base, 0, 0, 1, 0, 0, 0, 0, 0, 0))
        expected = AnsibleModule._symbolic_mode_to_octal(fake_stat, symbolic)
        assert _files.parse_mode(symbolic, allow_world_writable=True).apply(base) == expected
    finally:
        os.umask(old)


def test_the_umask_decides_whether_a_symbolic_mode_without_who_is_world_writable(tmp_path: pathlib.Path) -> None:
    mode = _files.parse_mode("+w")
    old = os.umask(0o022)
    try:
        _files.write_files(str(tmp_path), {"a": "x"}, mode=mode)
        assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o644 | 0o200
        os.umask(0)
        with pytest.raises(_files.ReportDestinationError, match=r"mode='\+w' gives 0666 for .*/b, which lets every user"):
            _files.write_files(str(tmp_path), {"b": "x"}, mode=mode)
    finally:
        os.umask(old)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(("value", "expected"), [("0644", 0o644), ("644", 0o644), ("0o600", 0o600), (" 0640 ", 0o640)])
def test_octal_modes(value: str, expected: int) -> None:
    assert _files.parse_mode(value).octal == expected


@pytest.mark.parametrize(("value", "message"), [
    (420, r"mode=420 is a number, not a quoted mode.*if you wrote 0644, write \"0644\""),
    (0o777, r"mode=511 is a number"),
    (True, r"mode=True is not a file mode"),
    ("", r"mode='' is not a file mode"),
    ("rw", r"mode='rw' is not a file mode"),
    ("0888", r"mode='0888' is not a file mode"),
    ("4755", r"mode='4755' sets the setuid, setgid or sticky bit"),
    ("u+s", r"mode='u\+s' is not a file mode.*s and t are refused"),
    ("ua+r", r"mode='ua\+r' is not a file mode"),
    ("0666", r"mode='0666' gives 0666, which lets every user of the controller write"),
    ("0o777", r"mode='0o777' gives 0777"),
])
def test_modes_refused(value: t.Any, message: str) -> None:
    with pytest.raises(_files.ReportDestinationError, match=message):
        _files.parse_mode(value)


def test_no_mode_and_allowed_world_writable() -> None:
    assert _files.parse_mode(None) is None
    assert _files.parse_mode("0777", allow_world_writable=True).octal == 0o777


def test_check_destination(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _files.check_destination("reports/x") == (tmp_path / "reports" / "x",
                                                     [tmp_path / "reports", tmp_path / "reports" / "x"])
    assert _files.check_destination(str(tmp_path)) == (tmp_path, [])
    for empty in ("", " ", None):
        with pytest.raises(_files.ReportDestinationError, match=rf"dest={empty!r} is empty.*current directory, {tmp_path}"):
            _files.check_destination(empty)
    (tmp_path / "file").write_text("x")
    with pytest.raises(_files.ReportDestinationError, match="option_x='file/r': .*/file is a file, not a directory, so "):
        _files.check_destination("file/r", option="option_x")
    assert list(tmp_path.iterdir()) == [tmp_path / "file"]


def test_write_files_writes_nothing_when_one_file_cannot_be_written(tmp_path: pathlib.Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "keep.json").write_text("old")
    real_open = os.open

    def failing_open(path: str, flags: int, mode: int = 0o777) -> int:
        if os.path.basename(path).startswith(".z.json."):
            raise OSError(28, "No space left on device")
        return real_open(path, flags, mode)

    monkeypatch.setattr(_files.os, "open", failing_open)
    with pytest.raises(_files.ReportDestinationError,
                       match=r"cannot write .*/z.json \(no space left on the device\); nothing was written"):
        _files.write_files(str(tmp_path), {"keep.json": "new", "z.json": "z"})
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]
    assert (tmp_path / "keep.json").read_text() == "old"
