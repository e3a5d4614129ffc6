"""End to end: DP diagnosis and inventory through real ansible-playbook runs against the simulated
lab ``dp`` (site server cm01 and one DP per failure class of the seed checklist). Everything the
hosts answer is simulated."""
from __future__ import annotations

import csv
import io
import json
import pathlib
import xml.etree.ElementTree as ET

import pytest

from tests.e2e.conftest import run_playbook
from tests.simhost.paths import REPO_ROOT

pytestmark = pytest.mark.e2e

SITE = "cm01.contoso.local"
EXPECTED = {
    # DP -> (the one failing check, checks the failure may leave UNKNOWN)
    "dp01.contoso.local": (None, set()),
    "dp02.contoso.local": ("name_resolution", {"ports", "wmi"}),
    "dp03.contoso.local": ("ports", set()),
    "dp04.contoso.local": ("ports", {"wmi"}),
    "dp05.contoso.local": ("rpc_dcom", {"wmi"}),
    "dp06.contoso.local": ("rpc_dcom", {"wmi"}),
    "dp07.contoso.local": ("smb_shares", set()),
    "dp08.contoso.local": ("access_rights", set()),
    "dp09.contoso.local": ("access_rights", {"wmi"}),
    "dp10.contoso.local": ("time_sync", {"wmi"}),
    "dp11.contoso.local": ("patch_level", set()),
    "dp12.contoso.local": ("wmi", set()),
    "dp13.contoso.local": ("free_space", set()),
}
DIAGNOSE = "mecm.fieldkit.sccm_dp_diagnose"
SITE_FACTS = "mecm.fieldkit.win_sccm_site_facts"


def _diagnosis(run) -> dict:
    found = [r for r in run.records if r["action"] == DIAGNOSE]
    assert len(found) == 1, run.stdout
    return found[0]["result"]["diagnosis"]


def test_dp_lab_names_exactly_the_failing_check(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory("dp")
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "-f", "20",
                       "-e", "dp_diagnose_language=ja", "-e", f"dp_diagnose_report_dir={reports}")
    assert run.rc == 0, run.stdout + run.stderr
    diagnosis = _diagnosis(run)
    assert diagnosis["probe_identity"] == {"as_system": True, "user": "NT AUTHORITY\\SYSTEM", "trusted": True,
                                           "warning": None}
    assert (diagnosis["site_server"], diagnosis["site_code"], diagnosis["language"]) == (SITE, "PS1", "ja")
    assert diagnosis["summary"] == {"dps": 13, "pass": 1, "warn": 0, "fail": 12, "unknown": 0}
    for dp in diagnosis["dps"]:
        expected, may_be_unknown = EXPECTED[dp["dp"]]
        statuses = {f["check"]: f["status"] for f in dp["findings"]}
        failing = [c for c, s in statuses.items() if s == "FAIL"]
        assert failing == ([expected] if expected else []), (dp["dp"], statuses)
        assert {c for c, s in statuses.items() if s not in ("PASS", "FAIL")} <= may_be_unknown, (dp["dp"], statuses)
        if expected:
            finding = next(f for f in dp["findings"] if f["check"] == expected)
            assert finding["heading"] and finding["title"] and finding["remediation"]
            # Every failure class has realistic site server log lines; the unpatched DP has none (it works).
            if dp["dp"] != "dp11.contoso.local":
                assert finding["log_evidence"], dp["dp"]
                assert all(item["time_utc"].endswith("Z") and item["bias_minutes"] == -540
                           for item in finding["log_evidence"])
    # One module execution per DP, one on the site server for all thirteen DPs, as SYSTEM.
    for host in EXPECTED:
        assert lab.stats(host)["module_executions"] == 1, host
    site_stats = lab.stats(SITE)
    assert site_stats["module_executions"] == 1
    assert site_stats["executions"][0]["become"]["BecomeUser"] == "SYSTEM"
    # The reports, in Japanese.
    files = {p.name for p in (reports).iterdir()}
    assert {"dp_diagnosis.html", "dp_diagnosis.md", "dp_diagnosis.json", "dp_diagnosis.junit.xml",
            "dp_inventory.csv", "dp_inventory.json", "dp_inventory.html"} <= files
    html = (reports / "dp_diagnosis.html").read_text(encoding="utf-8")
    assert all(name in html for name in EXPECTED) and "名前解決可否" in html
    junit = ET.parse(reports / "dp_diagnosis.junit.xml").getroot()
    assert len(junit.findall(".//testcase")) == 13 * 9
    rows = list(csv.DictReader(io.StringIO((reports / "dp_inventory.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 13


def test_probe_without_become_is_flagged_and_missing_facts_are_unknown(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", "dp01.contoso.local": "dp_healthy",
                                        "dp13.contoso.local": "dp_disk_full"},
                                 groups={"site_servers": [SITE],
                                         "distribution_points": ["dp01.contoso.local", "dp13.contoso.local"]})
    lab.set_unreachable("dp13.contoso.local")
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "--check",
                       "-e", "dp_diagnose_become=false", "-e", f"dp_diagnose_report_dir={reports}",
                       "-e", '{"dp_diagnose_source_shares": ["\\\\\\\\cm01.contoso.local\\\\Sources"]}')
    assert run.rc == 0, run.stdout + run.stderr
    site_result = next(r for r in run.records if r["action"] == SITE_FACTS)["result"]
    assert any("not as SYSTEM" in w for w in site_result["warnings"])
    assert lab.stats(SITE)["executions"][0]["become"] is None
    diagnosis = _diagnosis(run)
    identity = diagnosis["probe_identity"]
    assert identity["as_system"] is False and identity["trusted"] is False and identity["user"] == "CM01\\ansible"
    assert "not as SYSTEM" in identity["warning"]
    by_dp = {d["dp"]: {f["check"]: f for f in d["findings"]} for d in diagnosis["dps"]}
    healthy = by_dp["dp01.contoso.local"]
    assert healthy["wmi"]["status"] == "UNKNOWN" and "not as SYSTEM" in healthy["wmi"]["summary"]
    assert "FAIL" not in {f["status"] for f in healthy.values()}
    # dp13 is unreachable over WinRM: its DP-side checks are UNKNOWN, never PASS.
    unreachable = by_dp["dp13.contoso.local"]
    for check in ("free_space", "smb_shares", "rpc_dcom", "patch_level"):
        assert unreachable[check]["status"] == "UNKNOWN", check
    assert unreachable["free_space"]["log_evidence"]
    # Check mode writes no report.
    assert not reports.exists()


def _generated_dps(count: int) -> dict[str, dict]:
    return {f"gen-dp{n:03d}.contoso.local": {"base": "dp_healthy"} for n in range(1, count + 1)}


def test_site_facts_is_one_module_execution_for_1_and_20_dps(lab_factory, tmp_path: pathlib.Path) -> None:
    dps = _generated_dps(20)
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", **dps},
                                 groups={"site_servers": [SITE], "distribution_points": list(dps)})
    playbook = (
        "- hosts: site_servers\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Probe the DPs\n"
        "      mecm.fieldkit.win_sccm_site_facts:\n"
        "        distribution_points: \"{{ groups['distribution_points'][:count | int] }}\"\n"
        "      become: true\n"
        "      become_method: runas\n"
        "      become_user: SYSTEM\n"
    )
    measured = {}
    for count in (1, 20):
        lab.reset_stats()
        run = run_playbook(tmp_path, inventory, playbook, "-e", f"count={count}")
        assert run.rc == 0, run.stdout + run.stderr
        facts = next(r for r in run.records if r["action"] == SITE_FACTS)["result"]["ansible_facts"]["sccm_site"]
        assert len(facts["dps"]) == count
        assert all(p["wmi"]["connected"] and p["dns"]["resolved"] for p in facts["dps"].values())
        stats = lab.stats(SITE)
        assert stats["module_executions"] == 1
        assert all(lab.stats(dp)["module_executions"] == 0 for dp in dps)
        measured[count] = {k: stats[k] for k in ("module_executions", "http_requests", "bytes_in", "bytes_out")}
    # The requests do not grow with the number of DPs; only the answer does.
    assert measured[20]["http_requests"] == measured[1]["http_requests"]
    print("site facts cost:", json.dumps(measured))


def test_dp_inventory_playbook(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory("dp")
    reports = tmp_path / "inventory"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_inventory.yml", "-f", "20",
                       "-e", f"dp_diagnose_report_dir={reports}")
    assert run.rc == 0, run.stdout + run.stderr
    rows = {r["dp"]: r for r in csv.DictReader(io.StringIO((reports / "dp_inventory.csv").read_text(encoding="utf-8-sig")))}
    assert sorted(rows) == sorted(EXPECTED)
    assert rows["dp11.contoso.local"]["patched"].upper() == "FALSE"
    assert rows["dp01.contoso.local"]["patched"].upper() == "TRUE"
    assert float(rows["dp13.contoso.local"]["min_free_percent"]) < 1
    assert rows["dp07.contoso.local"]["shares_ok"].upper() == "FALSE"
    assert rows["dp12.contoso.local"]["wmi_ok"].upper() == "FALSE"
    assert json.loads((reports / "dp_inventory.json").read_text(encoding="utf-8"))[0]["dp"] == "dp01.contoso.local"
    assert lab.stats(SITE)["module_executions"] == 0
    assert all(lab.stats(dp)["module_executions"] == 1 for dp in EXPECTED)


def test_limit_to_one_dp_still_probes_it_from_the_site_server(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", "dp03.contoso.local": "dp_smb_blocked",
                                        "dp07.contoso.local": "dp_share_missing"},
                                 groups={"site_servers": [SITE],
                                         "distribution_points": ["dp03.contoso.local", "dp07.contoso.local"]})
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "-l", "dp03.contoso.local",
                       "-e", f"dp_diagnose_report_dir={tmp_path / 'reports'}",
                       "-e", '{"dp_diagnose_source_shares": ["\\\\\\\\cm01.contoso.local\\\\Sources"]}')
    assert run.rc == 0, run.stdout + run.stderr
    diagnosis = _diagnosis(run)
    assert [d["dp"] for d in diagnosis["dps"]] == ["dp03.contoso.local"]
    statuses = {f["check"]: f["status"] for f in diagnosis["dps"][0]["findings"]}
    # The site server's log lines about dp07 (not asked for) stay out of dp03's findings.
    assert {c: s for c, s in statuses.items() if s != "PASS"} == {"ports": "FAIL"}
    assert lab.stats(SITE)["module_executions"] == 1
    assert lab.stats("dp07.contoso.local")["module_executions"] == 0


def test_slow_dp_keeps_finished_probe_stages_and_closed_135_skips_dcom(lab_factory, tmp_path: pathlib.Path) -> None:
    """A DP whose remote WMI hangs keeps its DNS and port results; a DP behind a firewall dropping TCP 135
    is not asked over DCOM at all. Neither WMI finding is PASS; the port problem is named."""
    slow, filtered = "dp21.contoso.local", "dp22.contoso.local"
    lab, inventory = lab_factory(hosts={SITE: "site_cm01",
                                        slow: {"base": "dp_healthy", "network": {"hang": "wmi"}},
                                        filtered: {"base": "dp_healthy", "network": {"blocked_ports": [135]}}},
                                 groups={"site_servers": [SITE], "distribution_points": [slow, filtered]})
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml",
                       "-e", f"dp_diagnose_report_dir={tmp_path / 'reports'}",
                       "-e", '{"dp_diagnose_source_shares": ["\\\\\\\\cm01.contoso.local\\\\Sources"]}')
    assert run.rc == 0, run.stdout + run.stderr
    probes = next(r for r in run.records if r["action"] == SITE_FACTS)["result"]["ansible_facts"]["sccm_site"]["dps"]
    assert probes[slow]["timed_out"] is True and probes[slow]["stages"]["wmi"] == "timed_out"
    assert probes[slow]["dns"]["resolved"] is True and probes[slow]["tcp"]["445"]["open"] is True
    assert probes[filtered]["wmi"]["skip_reason"] == "tcp_135_closed" and probes[filtered]["stages"]["epm"] == "skipped"
    by_dp = {d["dp"]: {f["check"]: f["status"] for f in d["findings"]} for d in _diagnosis(run)["dps"]}
    assert by_dp[slow]["name_resolution"] == by_dp[slow]["ports"] == "PASS"
    assert by_dp[slow]["wmi"] == "UNKNOWN"
    assert by_dp[filtered]["ports"] == "FAIL" and by_dp[filtered]["wmi"] == "UNKNOWN"
    assert lab.stats(SITE)["module_executions"] == 1
