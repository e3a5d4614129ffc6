"""tests/matrix/run_matrix.py: which end-to-end tests each ansible-core version runs."""
from __future__ import annotations

import pytest

from tests.matrix import run_matrix


def test_every_version_runs_the_subset_and_the_oldest_also_the_playbook_reports() -> None:
    assert run_matrix.e2e_paths("2.18") == [run_matrix.SUBSET]
    assert run_matrix.e2e_paths(run_matrix.OLDEST) == [run_matrix.SUBSET, "tests/e2e/test_playbook_reports.py"]
    assert run_matrix.OLDEST == min(run_matrix.VERSIONS, key=lambda v: tuple(map(int, v.split("."))))


def test_full_e2e_runs_the_whole_suite_on_the_versions_named() -> None:
    assert run_matrix.e2e_paths("2.17", frozenset({"2.17"})) == ["tests/e2e"]
    assert run_matrix.e2e_paths("2.16", frozenset({"2.17"})) == list(run_matrix.OLDEST_E2E)


def test_full_e2e_outside_the_versions_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_matrix.main(["--versions", "2.16", "--full-e2e", "2.18"])
    assert "--full-e2e: 2.18 is not among --versions; allowed: 2.16" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["2.16", "2.17", "2.18"])
def test_the_older_environments_pin_what_the_whole_suite_imports(version: str) -> None:
    pins = run_matrix.pins(version)
    assert {"ansible-runner", "tree-sitter-c-sharp", "pytest"} <= set(pins)
