"""Changelog fragments parse as YAML and use antsibull-changelog's sections (sanity's changelog test, but
fast and before the build): a colon followed by a space inside a plain list item breaks the YAML."""
from __future__ import annotations

import pathlib

import pytest
import yaml

FRAGMENTS = sorted((pathlib.Path(__file__).resolve().parents[2] / "changelogs" / "fragments").glob("*.yml"))
CONFIG = yaml.safe_load((FRAGMENTS[0].parents[1] / "config.yaml").read_text(encoding="utf-8"))
SECTIONS = {name for name, _title in CONFIG["sections"]} | {"trivial"}


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=lambda p: p.name)
def test_fragment_is_valid(fragment: pathlib.Path) -> None:
    data = yaml.safe_load(fragment.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data, f"{fragment.name}: not a mapping"
    summary = data.pop("release_summary", None)
    assert summary is None or isinstance(summary, str), f"{fragment.name}: release_summary is not text"
    assert set(data) <= SECTIONS, f"{fragment.name}: unknown sections {set(data) - SECTIONS}"
    for section, entries in data.items():
        assert isinstance(entries, list) and entries, f"{fragment.name}: {section} is not a list"
        assert all(isinstance(entry, str) for entry in entries), f"{fragment.name}: {section} has a non-text entry"
