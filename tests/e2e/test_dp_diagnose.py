"""End to end: DP diagnosis and inventory through real ansible-playbook runs against the simulated
lab ``dp`` (site server cm01 and one DP per failure class of the seed checklist). Everything the
hosts answer is simulated."""
from __future__ import annotations

import csv
import io
import json
import pathlib
import typing as t
import xml.etree.ElementTree as ET

import pytest

from tests.e2e.conftest import run_playbook
from tests.simhost.paths import REPO_ROOT

pytestmark = pytest.mark.e2e

SITE = "cm01.contoso.local"
EXPECTED = {
    # DP -> (the failing checks, in checklist order; checks the failure may leave UNKNOWN)
    "dp01.contoso.local": ([], set()),
    "dp02.contoso.local": (["name_resolution"], {"ports", "wmi"}),
    "dp03.contoso.local": (["ports"], set()),
    "dp04.contoso.local": (["ports"], {"wmi"}),
    "dp05.contoso.local": (["rpc_dcom"], {"wmi"}),
    "dp06.contoso.local": (["rpc_dcom"], {"wmi"}),
    "dp07.contoso.local": (["smb_shares"], set()),
    "dp08.contoso.local": (["access_rights"], set()),
    "dp09.contoso.local": (["access_rights"], {"wmi"}),
    "dp10.contoso.local": (["time_sync"], {"wmi"}),
    "dp11.contoso.local": (["patch_level"], set()),
    "dp12.contoso.local": (["wmi"], set()),
    "dp13.contoso.local": (["free_space"], set()),
    # Stuck packages, one per cause class (tests/e2e/test_dp_stuck_packages.py looks at them one by one).
    "dp14.contoso.local": (["ports", "free_space", "smb_shares", "rpc_dcom", "access_rights", "wmi"], set()),
    # A pull DP whose source DP does not answer on 80/443 (tests/e2e/test_dp_pull.py).
    "dp15.contoso.local": (["ports"], set()),
    "dp16.contoso.local": ([], set()),  # PXE DP
}
# Push-only checks that do not apply to a pull DP: N/A, never FAIL or UNKNOWN.
NOT_APPLICABLE = {"dp15.contoso.local": {"smb_shares", "access_rights"}}
DIAGNOSE = "mecm.fieldkit.sccm_dp_diagnose"
SITE_FACTS = "mecm.fieldkit.win_sccm_site_facts"


def _failure_messages(run: t.Any) -> str:
    """The messages of the failed tasks as recorded: the same text on every ansible-core version, where the
    callback's display of them escapes backslashes and names types differently (2.16-2.18 against 2.19)."""
    return "\n".join(str(r["result"].get("msg", "")) for r in run.records if r["status"] == "failed")


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
    assert diagnosis["summary"] == {"dps": 16, "pass": 2, "warn": 0, "fail": 14, "unknown": 0, "na_cells": 2,
                                    "stuck_packages": 9}
    for dp in diagnosis["dps"]:
        expected, may_be_unknown = EXPECTED[dp["dp"]]
        statuses = {f["check"]: f["status"] for f in dp["findings"]}
        failing = [c for c, s in statuses.items() if s == "FAIL"]
        assert failing == expected, (dp["dp"], statuses)
        not_applicable = NOT_APPLICABLE.get(dp["dp"], set())
        assert {c for c, s in statuses.items() if s == "N/A"} == not_applicable, (dp["dp"], statuses)
        assert {c for c, s in statuses.items() if s not in ("PASS", "FAIL", "N/A")} <= may_be_unknown, (dp["dp"], statuses)
        for check in expected:
            finding = next(f for f in dp["findings"] if f["check"] == check)
            assert finding["heading"] and finding["title"] and finding["remediation"]
            # Every single-failure class has realistic site server log lines; the unpatched DP has none (it works).
            if len(expected) == 1 and dp["dp"] not in ("dp11.contoso.local", "dp15.contoso.local"):
                assert finding["log_evidence"], dp["dp"]
                assert all(item["time_utc"].endswith("Z") and item["bias_minutes"] == -540
                           for item in finding["log_evidence"])
    # One module execution per DP, one on the site server for all sixteen DPs, as SYSTEM.
    for host in EXPECTED:
        assert lab.stats(host)["module_executions"] == 1, host
    site_stats = lab.stats(SITE)
    assert site_stats["module_executions"] == 1
    assert site_stats["executions"][0]["become"]["BecomeUser"] == "SYSTEM"
    # The reports, in Japanese.
    files = {p.name for p in (reports).iterdir()}
    assert {"dp_diagnosis.html", "dp_diagnosis.md", "dp_diagnosis.json", "dp_diagnosis.junit.xml",
            "dp_diagnosis_fleet.csv", "dp_diagnosis_fleet.json", "dp_diagnosis_fleet.html"} <= files
    assert not {"dp_inventory.csv", "dp_inventory.json", "dp_inventory.html"} & files
    html = (reports / "dp_diagnosis.html").read_text(encoding="utf-8")
    assert all(name in html for name in EXPECTED) and "名前解決可否" in html
    junit = ET.parse(reports / "dp_diagnosis.junit.xml").getroot()
    assert len(junit.findall(".//testcase")) == len(EXPECTED) * 9
    rows = list(csv.DictReader(io.StringIO((reports / "dp_diagnosis_fleet.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(EXPECTED)


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
    # Issue 9 defect 4: the reports change nothing on any host, so check mode writes them and says so.
    report = next(r for r in run.records if r["action"] == "mecm.fieldkit.sccm_dp_report")["result"]
    assert report["written"] is True and report["changed"] is True
    assert (reports / "dp_diagnosis.html").is_file() and (reports / "dp_diagnosis_fleet.csv").is_file()
    assert str(reports / "dp_diagnosis.html") in run.stdout
    # Nothing on a host changed: every module that ran was read-only.
    assert lab.stats("dp01.contoso.local")["module_executions"] == 1


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


def _csv_rows(path: pathlib.Path) -> dict[str, dict[str, str]]:
    return {r["dp"]: r for r in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))}


def test_dp_inventory_playbook(lab_factory, tmp_path: pathlib.Path) -> None:
    """Issue 9 defect 6: the inventory alone has the site code, does not overwrite the diagnosis fleet table, and
    its columns mean what they mean there (remote WMI included); pull DP and PXE are shown."""
    lab, inventory = lab_factory("dp")
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "-f", "20",
                       "-e", f"dp_diagnose_report_dir={reports}")
    assert run.rc == 0, run.stdout + run.stderr
    fleet_before = (reports / "dp_diagnosis_fleet.csv").read_bytes()
    lab.reset_stats()
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_inventory.yml", "-f", "20",
                       "-e", f"dp_diagnose_report_dir={reports}")
    assert run.rc == 0, run.stdout + run.stderr
    assert (reports / "dp_diagnosis_fleet.csv").read_bytes() == fleet_before
    rows = _csv_rows(reports / "dp_inventory.csv")
    assert sorted(rows) == sorted(EXPECTED)
    assert {r["site_code"] for r in rows.values()} == {"PS1"}
    assert rows["dp11.contoso.local"]["patched"].upper() == "FALSE"
    assert rows["dp01.contoso.local"]["patched"].upper() == "TRUE"
    assert float(rows["dp13.contoso.local"]["min_free_percent"]) < 1
    assert rows["dp07.contoso.local"]["shares_ok"].upper() == "FALSE"
    assert rows["dp12.contoso.local"]["wmi_ok"].upper() == "FALSE"
    # The site server cannot reach dp09's WMI (rights): the same False as in the diagnosis run's table.
    fleet = _csv_rows(reports / "dp_diagnosis_fleet.csv")
    for dp, row in rows.items():
        for key in ("site_code", "patched", "shares_ok", "wmi_ok", "wmi_local_ok", "wmi_remote_ok", "pull_dp", "pxe"):
            assert row[key] == fleet[dp][key], (dp, key)
    assert rows["dp09.contoso.local"]["wmi_local_ok"] == "TRUE" and rows["dp09.contoso.local"]["wmi_ok"] == "FALSE"
    assert rows["dp01.contoso.local"]["pull_dp"] == rows["dp01.contoso.local"]["pxe"] == "FALSE"
    assert json.loads((reports / "dp_inventory.json").read_text(encoding="utf-8"))[0]["dp"] == "dp01.contoso.local"
    # One module execution per DP, and one on the site server for all of them.
    assert lab.stats(SITE)["module_executions"] == 1
    assert all(lab.stats(dp)["module_executions"] == 1 for dp in EXPECTED)


def test_dp_inventory_without_a_site_server_leaves_the_site_columns_null(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"dp01.contoso.local": "dp_healthy"},
                                 groups={"distribution_points": ["dp01.contoso.local"]})
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_inventory.yml",
                       "-e", f"dp_diagnose_report_dir={reports}")
    assert run.rc == 0, run.stdout + run.stderr
    row = _csv_rows(reports / "dp_inventory.csv")["dp01.contoso.local"]
    assert (row["wmi_local_ok"], row["wmi_remote_ok"], row["wmi_ok"]) == ("TRUE", "", "")
    assert row["site_code"] == ""


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


def _with_host_vars(inventory: pathlib.Path, host_vars: dict[str, dict]) -> pathlib.Path:
    """The lab inventory (JSON after a comment line) with host variables added."""
    text = inventory.read_text(encoding="utf-8")
    data = json.loads(text[text.index("\n") + 1:])

    def visit(group: dict) -> None:
        for name, values in (group.get("hosts") or {}).items():
            if name in host_vars:
                values.update(host_vars[name])
        for child in (group.get("children") or {}).values():
            visit(child)

    visit(data["all"])
    inventory.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return inventory


def test_one_bad_dp_name_does_not_blind_the_diagnosis(lab_factory, tmp_path: pathlib.Path) -> None:
    """Issue 9 defect 1: a DP whose name is no host name (here an unreachable inventory alias dp_14) gets its own
    error; the healthy dp01 is probed and passes, and no DP vanishes from the report."""
    bad = "dp_14"
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", "dp01.contoso.local": "dp_healthy", bad: "dp_healthy"},
                                 groups={"site_servers": [SITE], "distribution_points": ["dp01.contoso.local", bad]})
    lab.set_unreachable(bad)
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml",
                       "-e", f"dp_diagnose_report_dir={reports}",
                       "-e", '{"dp_diagnose_source_shares": ["\\\\\\\\cm01.contoso.local\\\\Sources"]}')
    assert run.rc == 0, run.stdout + run.stderr
    site_result = next(r for r in run.records if r["action"] == SITE_FACTS)["result"]
    assert not site_result.get("failed")
    assert any(f"{bad!r} is not a host name" in w for w in site_result["warnings"])
    probes = site_result["ansible_facts"]["sccm_site"]["dps"]
    assert probes[bad]["error"]["hresult"] == "0x80070057" and probes["dp01.contoso.local"]["wmi"]["connected"]
    by_dp = {d["dp"]: {f["check"]: f for f in d["findings"]} for d in _diagnosis(run)["dps"]}
    assert sorted(by_dp) == sorted(["dp01.contoso.local", bad])
    assert {f["status"] for f in by_dp["dp01.contoso.local"].values()} == {"PASS"}
    assert by_dp[bad]["name_resolution"]["status"] == "UNKNOWN"
    assert f"did not probe this DP: option distribution_points: {bad!r} is not a host name" in \
        by_dp[bad]["name_resolution"]["summary"]
    assert lab.stats(SITE)["module_executions"] == 1


@pytest.mark.parametrize("playbook", ["dp_diagnose.yml", "dp_inventory.yml"])
def test_each_dp_meets_one_task_and_an_alias_of_a_dp_is_reported_once(lab_factory, tmp_path: pathlib.Path,
                                                                      playbook: str) -> None:
    """Issue 12: per DP the playbooks run the facts module and nothing else (the run-once tasks read hostvars); an
    alias host with the DP name of another host is probed under that name, reported once, and the play says so."""
    alias = "dp01-alias"
    hosts = ["dp01.contoso.local", "dp03.contoso.local", alias]
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", "dp01.contoso.local": "dp_healthy",
                                        "dp03.contoso.local": "dp_smb_blocked", alias: "dp_healthy"},
                                 groups={"site_servers": [SITE], "distribution_points": hosts})
    _with_host_vars(inventory, {alias: {"dp_diagnose_dp_name": "dp01.contoso.local"}})
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / playbook,
                       "-e", f"dp_diagnose_report_dir={reports}",
                       "-e", '{"dp_diagnose_source_shares": ["\\\\\\\\cm01.contoso.local\\\\Sources"]}')
    assert run.rc == 0, run.stdout + run.stderr
    # The run-once tasks are recorded on the first host; every other DP has one task, the facts module.
    for host in hosts[1:]:
        assert [r["action"] for r in run.results(host=host)] == ["mecm.fieldkit.win_sccm_dp_facts"], host
    assert all(lab.stats(host)["module_executions"] == 1 for host in hosts)
    site = next(r for r in run.records if r["action"] == SITE_FACTS)["result"]["ansible_facts"]["sccm_site"]
    assert sorted(site["dps"]) == ["dp01.contoso.local", "dp03.contoso.local"]
    assert f"{alias} and dp01.contoso.local are the same DP dp01.contoso.local" in run.stdout, run.stdout
    table = "dp_diagnosis_fleet.csv" if playbook == "dp_diagnose.yml" else "dp_inventory.csv"
    assert sorted(_csv_rows(reports / table)) == ["dp01.contoso.local", "dp03.contoso.local"]
    if playbook == "dp_diagnose.yml":
        assert [d["dp"] for d in _diagnosis(run)["dps"]] == ["dp01.contoso.local", "dp03.contoso.local"]


BAD_VARIABLES = [
    (["-e", "dp_diagnose_site_server=cm1"],
     "dp_diagnose_site_server='cm1' is not a host of the inventory; allowed: the inventory name of the primary site"),
    (["-e", "dp_diagnose_max_parallel=0"], "dp_diagnose_max_parallel=0 is out of range; allowed: 1 to 64"),
    (["-e", '{"dp_diagnose_source_shares": ["D:\\\\Sources"]}'],
     "dp_diagnose_source_shares: 'D:\\Sources' is not a UNC path; allowed: \\\\server\\share"),
    (["-e", "dp_diagnose_log_window_hours=0"], "dp_diagnose_log_window_hours=0 is out of range; allowed: 1 to 8760"),
    (["-e", '{"dp_diagnose_dp_name": "dp 01"}'],
     "dp_diagnose_dp_name of dp01.contoso.local='dp 01' is not a host name; allowed: the FQDN ConfigMgr uses"),
    (["-e", "dp_diagnose_dp_name=dp01.contoso.local"],
     "dp_diagnose_dp_name of dp13.contoso.local='dp01.contoso.local' is also the DP name of dp01.contoso.local; "
     "allowed: one name per DP"),
    # A type error (the argument spec) is named alone, before the checks that assume the types.
    # ansible-core's own words, in two parts: 2.16-2.18 name the type AnsibleUnsafeText where 2.19 says str.
    (["-e", "dp_diagnose_retries=many"],
     ("argument 'dp_diagnose_retries' is of type ",
      " found in 'dp01.contoso.local'. and we were unable to convert to int")),
    (["-e", "dp_diagnose_free_space_fail_percent=50"],
     "dp_diagnose_free_space_fail_percent=50 is above dp_diagnose_free_space_warn_percent=15"),
]


@pytest.mark.parametrize(("args", "message"), BAD_VARIABLES, ids=lambda v: v[1] if isinstance(v, list) else None)
def test_bad_role_variables_fail_up_front_and_touch_no_host(lab_factory, tmp_path: pathlib.Path, args: list[str],
                                                            message: str | tuple[str, ...]) -> None:
    """Issue 9 defect 2: a bad role variable is named with its value and what is allowed, once, before any host is
    touched (it used to end rc 0 with every site-side check UNKNOWN)."""
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", "dp01.contoso.local": "dp_healthy",
                                        "dp13.contoso.local": "dp_disk_full"},
                                 groups={"site_servers": [SITE],
                                         "distribution_points": ["dp01.contoso.local", "dp13.contoso.local"]})
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml",
                       "-e", f"dp_diagnose_report_dir={reports}", *args)
    assert run.rc != 0, run.stdout
    for part in (message,) if isinstance(message, str) else message:
        assert part in _failure_messages(run), run.stdout
    assert run.stdout.count("fatal: [") == 1, run.stdout  # once per run, not once per host
    for host in (SITE, "dp01.contoso.local", "dp13.contoso.local"):
        assert lab.stats(host)["module_executions"] == 0, host
    assert not reports.exists()


@pytest.mark.parametrize("fail_on", ["none", "fail"])
def test_fail_on_fails_the_play_once_with_the_result_per_dp(lab_factory, tmp_path: pathlib.Path, fail_on: str) -> None:
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", "dp01.contoso.local": "dp_healthy",
                                        "dp03.contoso.local": "dp_smb_blocked"},
                                 groups={"site_servers": [SITE],
                                         "distribution_points": ["dp01.contoso.local", "dp03.contoso.local"]})
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml",
                       "-e", f"dp_diagnose_report_dir={reports}", "-e", f"dp_diagnose_fail_on={fail_on}",
                       "-e", '{"dp_diagnose_source_shares": ["\\\\\\\\cm01.contoso.local\\\\Sources"]}')
    assert "dp01.contoso.local: PASS; dp03.contoso.local: FAIL [ports FAIL]" in run.stdout, run.stdout
    assert f"report: {reports / 'dp_diagnosis.html'}" in run.stdout, run.stdout
    if fail_on == "none":
        assert run.rc == 0, run.stdout + run.stderr
    else:
        assert run.rc != 0 and run.stdout.count("fatal: [") == 1, run.stdout
        assert "dp_diagnose: {'dps': 2, 'pass': 1, 'warn': 0, 'fail': 1" in run.stdout, run.stdout
    assert (reports / "dp_diagnosis.html").is_file()


@pytest.mark.parametrize("case", ["unreachable", "not_a_site_server"])
def test_a_failed_site_probe_fails_the_play_with_its_error(lab_factory, tmp_path: pathlib.Path, case: str) -> None:
    """Issue 9 defect 2: a site probe that fails stops the play with its error, not a page of UNKNOWN."""
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", "dp01.contoso.local": "dp_healthy"},
                                 groups={"site_servers": [SITE], "distribution_points": ["dp01.contoso.local"]})
    args = ["-e", f"dp_diagnose_report_dir={tmp_path / 'reports'}"]
    if case == "unreachable":
        lab.set_unreachable(SITE)
        expected = f"dp_diagnose: the site probe on {SITE} (dp_diagnose_site_server / group site_servers) is unreachable"
    else:
        args += ["-e", "dp_diagnose_site_server=dp01.contoso.local"]
        expected = "failed: no ConfigMgr site on this host (no Site Code under HKLM\\SOFTWARE\\Microsoft\\SMS\\Identification)"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", *args)
    assert run.rc != 0, run.stdout
    assert expected in _failure_messages(run), run.stdout
    assert not [r for r in run.records if r["action"] == DIAGNOSE]
    assert not (tmp_path / "reports").exists()


def test_source_shares_are_read_from_the_site_when_not_given(lab_factory, tmp_path: pathlib.Path) -> None:
    """Issue 9 defect 7: without dp_diagnose_source_shares the site's package sources (SMS Provider) are checked,
    in the same single module execution on the site server."""
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", "dp01.contoso.local": "dp_healthy"},
                                 groups={"site_servers": [SITE], "distribution_points": ["dp01.contoso.local"]})
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml",
                       "-e", f"dp_diagnose_report_dir={tmp_path / 'reports'}")
    assert run.rc == 0, run.stdout + run.stderr
    site = next(r for r in run.records if r["action"] == SITE_FACTS)["result"]["ansible_facts"]["sccm_site"]
    assert site["source_shares_origin"] == "sms_provider"
    assert [s["path"] for s in site["source_shares"]] == ["\\\\cm01.contoso.local\\Sources"]
    assert site["source_shares"][0]["readable"] is True and site["source_shares"][0]["packages"] == 3
    assert site["package_sources"]["packages_read"] == 5 and site["package_sources"]["local_paths"] == 1
    findings = {f["check"]: f for f in _diagnosis(run)["dps"][0]["findings"]}
    for check in ("free_space", "smb_shares", "access_rights"):
        assert findings[check]["status"] == "PASS", (check, findings[check]["summary"])
    assert lab.stats(SITE)["module_executions"] == 1


def test_site_facts_refuses_log_paths_outside_the_log_folders(lab_factory, tmp_path: pathlib.Path) -> None:
    """Issue 9 defect 5: SAM or a UNC path is refused before anything runs on the site server (read as SYSTEM)."""
    lab, inventory = lab_factory(hosts={SITE: "site_cm01"}, groups={"site_servers": [SITE]})
    playbook = (
        "- hosts: site_servers\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Probe with a hostile log path\n"
        "      mecm.fieldkit.win_sccm_site_facts:\n"
        "        log_paths: \"{{ paths }}\"\n"
        "      become: true\n"
        "      become_method: runas\n"
        "      become_user: SYSTEM\n"
    )
    for path in ("SAM", "\\\\evil.example\\share"):
        run = run_playbook(tmp_path, inventory, playbook, "-e", json.dumps({"paths": [path]}))
        assert run.rc != 0, run.stdout
        assert f"option log_paths: {path!r} is not a ConfigMgr log file of the client log folder; allowed: " \
               "%windir%\\CCM\\Logs\\<name>.log" in _failure_messages(run), run.stdout
    assert lab.stats(SITE)["module_executions"] == 0
