from __future__ import annotations

import os
import pathlib

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
