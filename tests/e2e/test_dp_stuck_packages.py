# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: which content is stuck on which DP, and why, through a real ansible-playbook run of the DP
diagnosis against the simulated lab ``dp`` (dp14 has one failed package per cause class, dp01 has everything
installed). The site probe, with the content state, stays ONE module execution. Everything is simulated."""
from __future__ import annotations

import json
import pathlib

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_report import expand_diagnosis
from tests.e2e.conftest import run_playbook
from tests.simhost.paths import REPO_ROOT

pytestmark = pytest.mark.e2e

SITE = "cm01.contoso.local"
DIAGNOSE = "mecm.fieldkit.sccm_dp_diagnose"
SITE_FACTS = "mecm.fieldkit.win_sccm_site_facts"
# Package on dp14 -> the checklist item its last status message points to (None: no failure, or unknown ID).
CAUSES = {"PS100020": "smb_shares", "PS100021": "access_rights", "PS100022": "ports", "PS100023": "rpc_dcom",
          "PS100024": "free_space", "PS100025": "wmi", "PS100026": None, "PS100027": None, "PS100028": None}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_stuck_packages_with_their_causes_and_one_site_execution(lab_factory, tmp_path: pathlib.Path,
                                                                 language: str) -> None:
    lab, inventory = lab_factory("dp")
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "-f", "20",
                       "-e", f"dp_diagnose_language={language}", "-e", f"dp_diagnose_report_dir={reports}")
    assert run.rc == 0, run.stdout + run.stderr
    # The site probe: one module execution for every DP, the content state included.
    site_stats = lab.stats(SITE)
    assert site_stats["module_executions"] == 1
    site_records = [r for r in run.records if r["action"] == SITE_FACTS]
    assert len(site_records) == 1
    distribution = site_records[0]["result"]["ansible_facts"]["sccm_site"]["distribution"]
    assert distribution["available"] is True and distribution["timed_out"] is False
    assert set(distribution["dps"]) == set(lab.definition["groups"]["distribution_points"])
    # The diagnosis JSON written by the role (its file form stores evidence labels and values once).
    diagnosis = expand_diagnosis(json.loads((reports / "dp_diagnosis.json").read_text(encoding="utf-8")))
    dps = {d["dp"]: d for d in diagnosis["dps"]}
    assert dps["dp01.contoso.local"]["content"] == {"total": 4, "installed": 4, "stuck": 0, "truncated": False}
    assert dps["dp01.contoso.local"]["stuck_packages"] == []
    stuck = dps["dp14.contoso.local"]
    assert stuck["content"] == {"total": 13, "installed": 4, "stuck": 9, "truncated": False}
    assert {p["package_id"]: p["check"] for p in stuck["stuck_packages"]} == CAUSES
    assert diagnosis["summary"]["stuck_packages"] == 9
    findings = {f["check"]: f for f in stuck["findings"]}
    for package in stuck["stuck_packages"]:
        assert package["cause"] and package["fix"] and package["message"] and package["message_time"]
        if package["check"]:
            assert findings[package["check"]]["status"] == "FAIL", package
            assert any(isinstance(e.get("value"), dict) and e["value"].get("package_id") == package["package_id"]
                       for e in findings[package["check"]]["evidence"])
    by_id = {p["package_id"]: p for p in stuck["stuck_packages"]}
    if language == "ja":
        assert by_id["PS100020"]["state_text"] == "インストール失敗"
        assert "存在しません" in by_id["PS100020"]["message"]
    else:
        assert by_id["PS100020"]["message"].startswith('The source directory "\\\\cm01.contoso.local\\Sources')
    assert "2389" in by_id["PS100028"]["cause"]
