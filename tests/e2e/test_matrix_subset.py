"""The end-to-end subset that ``tests/matrix/run_matrix.py`` runs on every ansible-core minor we claim:
client facts, image prep in check mode and for real, and the DP diagnosis with an unreachable DP (the
ansible-core 2.16 crash of issue 11), with the types of their set_stats artifacts (2.16-2.18 render a lone
"{{ n }}" as a string), and an option error (2.16-2.18 add an empty traceback to it). Assertions read the
recorded task results and the simulated hosts' state, never the callback's text, which differs between
ansible-core versions.

With ``FIELDKIT_MATRIX_FIGURES=<file>`` the client facts test also writes the lab's per-host figures
(module executions, HTTP requests, bytes) there for the matrix table. Everything is simulated.
"""
from __future__ import annotations

import json
import os
import pathlib

import pytest

from tests.e2e.conftest import run_playbook
from tests.simhost.paths import REPO_ROOT

pytestmark = pytest.mark.e2e

FACTS_PLAY = """
- name: Gather client facts
  hosts: all
  gather_facts: false
  tasks:
    - name: Client facts
      mecm.fieldkit.win_sccm_client_facts:
"""
BAD_OPTION_PLAY = """
- name: Refuse a bad option before the host is touched
  hosts: all
  gather_facts: false
  tasks:
    - name: Generalize with a bad mode
      mecm.fieldkit.win_sccm_client_generalize:
        mode: bogus
"""
SITE = "cm01.contoso.local"
FIGURES = ("module_executions", "http_requests", "bytes_in", "bytes_out")


def test_client_facts_one_execution_per_host_and_its_cost(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "ref-clean": "clean_windows"})
    run = run_playbook(tmp_path, inventory, FACTS_PLAY)
    assert run.rc == 0, run.stdout + run.stderr
    assigned = run.one("Client facts", "ref-assigned")["result"]["ansible_facts"]["sccm_client"]
    clean = run.one("Client facts", "ref-clean")["result"]["ansible_facts"]["sccm_client"]
    assert assigned["installed"] is True and assigned["site_assignment"]["assigned_site"] == "PS1", assigned
    assert clean["installed"] is False
    figures = {host: {key: lab.stats(host)[key] for key in FIGURES} for host in ("ref-assigned", "ref-clean")}
    for host, figure in figures.items():
        assert figure["module_executions"] == 1, (host, figure)
        assert figure["http_requests"] > 0 and figure["bytes_in"] > 0 and figure["bytes_out"] > 0, (host, figure)
    if os.environ.get("FIELDKIT_MATRIX_FIGURES"):
        pathlib.Path(os.environ["FIELDKIT_MATRIX_FIGURES"]).write_text(json.dumps(figures), encoding="utf-8")


def test_an_option_error_names_the_value_and_carries_no_empty_traceback(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned"})
    run = run_playbook(tmp_path, inventory, BAD_OPTION_PLAY)
    assert run.rc == 2, run.stdout + run.stderr
    result = run.one("Generalize with a bad mode", "ref-assigned")["result"]
    assert result["msg"] == "value of mode must be one of: prepare, verify, got: bogus", result
    # 2.19 records "(traceback unavailable)" and prints none; 2.16-2.18 printed this one above the message.
    assert "NoneType: None" not in str(result.get("exception")) and "NoneType: None" not in run.stdout, result
    assert lab.stats("ref-assigned")["module_executions"] == 0


def test_image_prep_check_mode_changes_nothing_then_the_real_run_prepares(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned"})
    reports = tmp_path / "reports"
    args = ("-e", "client_image_prep_hosts=ref-assigned", "-e", f"client_image_prep_report_dir={reports}")
    before = lab.state("ref-assigned")
    check = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "client_image_prep.yml", *args, "--check")
    assert check.rc == 0, check.stdout + check.stderr
    assert lab.state("ref-assigned") == before
    summary = check.artifact("fieldkit_client_image_prep")
    assert summary["check_mode"] is True and summary["published_to"] is None, summary
    assert summary["files"] == len(list(reports.iterdir())) > 0, summary
    real = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "client_image_prep.yml", *args)
    assert real.rc == 0, real.stdout + real.stderr
    record = json.loads((reports / "ref-assigned.json").read_text(encoding="utf-8"))
    assert record["status"] == "changed" and record["scenario"] == "recapture", record
    assert record["client_state"]["ready_for_capture"] is True
    assert lab.state("ref-assigned") != before
    assert real.artifact("fieldkit_client_image_prep")["check_mode"] is False


def test_dp_diagnosis_with_an_unreachable_dp(lab_factory, tmp_path: pathlib.Path) -> None:
    """ansible-core 2.16-2.18 rendered the missing facts of an unreachable DP as the string 'None' (issue 11)."""
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", "dp01.contoso.local": "dp_healthy",
                                        "dp13.contoso.local": "dp_disk_full"},
                                 groups={"site_servers": [SITE],
                                         "distribution_points": ["dp01.contoso.local", "dp13.contoso.local"]})
    lab.set_unreachable("dp13.contoso.local")
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml",
                       "-e", f"dp_diagnose_report_dir={reports}")
    assert run.rc == 0, run.stdout + run.stderr
    [diagnosis] = [r["result"]["diagnosis"] for r in run.records if r["action"] == "mecm.fieldkit.sccm_dp_diagnose"]
    assert diagnosis["site_server"] == SITE
    by_dp = {d["dp"]: {f["check"]: f["status"] for f in d["findings"]} for d in diagnosis["dps"]}
    assert "FAIL" not in by_dp["dp01.contoso.local"].values(), by_dp
    for check in ("free_space", "smb_shares", "rpc_dcom", "patch_level"):
        assert by_dp["dp13.contoso.local"][check] == "UNKNOWN", (check, by_dp)
    assert (reports / "dp_diagnosis.html").is_file()
    assert lab.stats(SITE)["module_executions"] == 1
    summary = run.artifact("fieldkit_dp_diagnose")
    assert summary["summary"]["dps"] == 2 and summary["published_to"] is None, summary
    assert summary["files"] == len(list(reports.iterdir())) > 0, summary
