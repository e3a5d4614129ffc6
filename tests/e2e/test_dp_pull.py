"""End to end: pull DPs, PXE DPs and the DP side as SYSTEM (issue 9, "Beyond") through real ansible-playbook runs
against the simulated lab. Everything the hosts answer is simulated."""
from __future__ import annotations

import csv
import io
import json
import pathlib

import pytest

from tests.e2e.conftest import run_playbook
from tests.simhost.paths import REPO_ROOT

pytestmark = pytest.mark.e2e

SITE = "cm01.contoso.local"
HEALTHY = "dp01.contoso.local"
PULL = "dp15.contoso.local"
PXE = "dp16.contoso.local"
HOSTS = {SITE: "site_cm01", HEALTHY: "dp_healthy", PULL: "dp_pull_source_unreachable", PXE: "dp_pxe"}
GROUPS = {"site_servers": [SITE], "distribution_points": [HEALTHY, PULL, PXE]}
DP_FACTS = "mecm.fieldkit.win_sccm_dp_facts"
DIAGNOSE = "mecm.fieldkit.sccm_dp_diagnose"


def _lab(lab_factory):
    return lab_factory(hosts=HOSTS, groups=GROUPS)


def _diagnosis(run) -> dict:
    found = [r for r in run.records if r["action"] == DIAGNOSE]
    assert len(found) == 1, run.stdout
    return found[0]["result"]["diagnosis"]


def _dp_facts(run, host: str) -> dict:
    found = [r for r in run.records if r["action"] == DP_FACTS and r["host"] == host]
    assert len(found) == 1, run.stdout
    return found[0]["result"]


def _by_dp(diagnosis: dict) -> dict[str, dict]:
    return {d["dp"]: d for d in diagnosis["dps"]}


def _findings(result: dict) -> dict[str, dict]:
    return {f["check"]: f for f in result["findings"]}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_pull_dp_push_items_are_na_and_its_unreachable_source_fails_ports(lab_factory, tmp_path: pathlib.Path,
                                                                          language: str) -> None:
    lab, inventory = _lab(lab_factory)
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "-f", "10",
                       "-e", f"dp_diagnose_language={language}", "-e", f"dp_diagnose_report_dir={reports}")
    assert run.rc == 0, run.stdout + run.stderr
    by_dp = _by_dp(_diagnosis(run))

    pull = by_dp[PULL]
    assert pull["role"] == {"pull_dp": True, "pxe": False, "source": "site",
                            "source_dps": [{"name": SITE, "rank": 1, "reachable": False}]}
    findings = _findings(pull)
    for check in ("smb_shares", "access_rights"):
        assert findings[check]["status"] == "N/A", (check, findings[check])
        assert ("pull DP" if language == "en" else "プル配布ポイント") in findings[check]["summary"]
    # The source DP answers neither on 80 nor on 443 from the pull DP: ports FAIL, with the pull path as evidence
    # and the PullDP.log / DataTransferService.log errors (0x80072EFD) under it.
    assert findings["ports"]["status"] == "FAIL", findings["ports"]
    assert SITE in findings["ports"]["summary"]
    tcp = [e for e in findings["ports"]["evidence"] if SITE in e["label"] and e["source"] == "dp"]
    assert tcp and tcp[0]["value"] == {"80": False, "443": False} and tcp[0]["ok"] is False
    logs = {item["log"].lower() for item in findings["ports"]["log_evidence"]}
    assert {"pulldp.log", "datatransferservice.log"} <= logs
    assert all(c["hresult"] == "0x80072EFD" for i in findings["ports"]["log_evidence"] for c in i["error_codes"])
    # Everything else about the pull DP is as healthy as dp01 (the site server still installs and manages it).
    assert {c: f["status"] for c, f in findings.items() if c not in ("smb_shares", "access_rights", "ports")} == \
        dict.fromkeys(("name_resolution", "free_space", "rpc_dcom", "time_sync", "patch_level", "wmi"), "PASS")
    assert pull["overall"] == "FAIL"

    pxe = by_dp[PXE]
    assert pxe["role"] == {"pull_dp": False, "pxe": True, "source": "site", "source_dps": []}
    assert {f["status"] for f in pxe["findings"]} == {"PASS"} and pxe["overall"] == "PASS"
    assert by_dp[HEALTHY]["role"]["pull_dp"] is False and by_dp[HEALTHY]["overall"] == "PASS"

    summary = _diagnosis(run)["summary"]
    assert (summary["na_cells"], summary["pass"], summary["fail"]) == (2, 2, 1)

    # The fleet table shows the flags from the site.
    rows = {r["dp"]: r for r in csv.DictReader(io.StringIO(
        (reports / "dp_diagnosis_fleet.csv").read_text(encoding="utf-8-sig")))}
    assert (rows[PULL]["pull_dp"], rows[PXE]["pxe"], rows[HEALTHY]["pull_dp"]) == ("TRUE", "TRUE", "FALSE")


def test_pull_dp_probes_its_sources_in_its_one_execution_as_system(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = _lab(lab_factory)
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "-f", "10",
                       "-e", "dp_diagnose_report_dir=")
    assert run.rc == 0, run.stdout + run.stderr
    for host in (HEALTHY, PULL, PXE):
        stats = lab.stats(host)
        assert stats["module_executions"] == 1, (host, stats)
        assert stats["executions"][0]["become"] is not None, host
    assert lab.stats(SITE)["module_executions"] == 1
    result = _dp_facts(run, PULL)
    facts = result["ansible_facts"]["sccm_dp"]
    assert facts["probe_identity"] == {"user": "NT AUTHORITY\\SYSTEM", "sid": "S-1-5-18", "as_system": True,
                                       "trusted": True}
    source = facts["pull_dp"]["source_dps"][0]
    assert (source["name"], source["resolved"], source["reachable"]) == (SITE, True, False)
    assert facts["pull_dp"]["logs"]["found"] and facts["pull_dp"]["logs"]["error_count"] == 2
    assert any("not reachable from this pull DP" in w for w in result["warnings"])
    # A standard DP gets no pull-path ops at all.
    assert _dp_facts(run, HEALTHY)["ansible_facts"]["sccm_dp"]["pull_dp"] is None


def test_dp_facts_without_become_say_the_local_wmi_test_was_not_system(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = _lab(lab_factory)
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "-f", "10",
                       "-e", "dp_diagnose_dp_become=false", "-e", "dp_diagnose_report_dir=")
    assert run.rc == 0, run.stdout + run.stderr
    assert lab.stats(HEALTHY)["executions"][0]["become"] is None
    identity = _dp_facts(run, HEALTHY)["ansible_facts"]["sccm_dp"]["probe_identity"]
    assert identity["as_system"] is False and identity["trusted"] is False and identity["user"] != "NT AUTHORITY\\SYSTEM"
    wmi = _findings(_by_dp(_diagnosis(run))[HEALTHY])["wmi"]
    assert "not as SYSTEM" in wmi["summary"]
    assert wmi["evidence"][0]["value"] == identity["user"] and wmi["evidence"][0]["ok"] is None


def test_check_mode_changes_nothing_on_the_pull_dp(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = _lab(lab_factory)
    before = {host: json.dumps(lab.state(host), sort_keys=True) for host in HOSTS}
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "--check", "-f", "10",
                       "-e", f"dp_diagnose_report_dir={tmp_path / 'reports'}")
    assert run.rc == 0, run.stdout + run.stderr
    assert _findings(_by_dp(_diagnosis(run))[PULL])["smb_shares"]["status"] == "N/A"
    assert {host: json.dumps(lab.state(host), sort_keys=True) for host in HOSTS} == before
    assert not [r for r in run.records if r["action"] == DP_FACTS and r["result"].get("changed")]
