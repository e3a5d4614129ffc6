"""End to end over ``ansible_connection: psrp``: ansible-core's psrp connection plugin (pypsrp, NTLM
with message encryption) runs the shipped playbooks against the simulated lab, which answers the
PowerShell Remoting Protocol (``tests/simhost/psrp_server.py``). Client facts, image prep (check
mode, then for real) and the DP diagnosis; every execution is checked to have come over psrp, and
the lab applies the same payload checks as over winrm. Everything the hosts answer is simulated."""
from __future__ import annotations

import json
import pathlib
import shutil

import pytest

from tests.e2e.conftest import run_playbook
from tests.simhost.paths import REPO_ROOT

pytestmark = pytest.mark.e2e

GUID = "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"
SITE = "cm01.contoso.local"
FACTS_PLAY = """
- name: Gather client facts
  hosts: all
  gather_facts: false
  tasks:
    - name: Client facts
      mecm.fieldkit.win_sccm_client_facts:
"""


def connections(lab, host: str) -> set[str]:
    """The client plugins the host's executions came from (the lab records it per execution)."""
    return {e["connection"] for e in lab.stats(host)["executions"]}


def test_inventory_names_the_psrp_plugin(lab_factory) -> None:
    _lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned"}, connection="psrp")
    common = json.loads(inventory.read_text(encoding="utf-8").split("\n", 1)[1])["all"]["vars"]
    assert common["ansible_connection"] == "psrp" and common["ansible_psrp_auth"] == "ntlm"
    assert not [k for k in common if k.startswith("ansible_winrm_")]


def test_client_facts_over_psrp_match_winrm(tmp_path: pathlib.Path, lab_factory) -> None:
    hosts = {"ref-assigned": "ref_assigned", "ref-clean": "clean_windows"}
    lab, inventory = lab_factory(hosts=hosts, connection="psrp")
    run = run_playbook(tmp_path, inventory, FACTS_PLAY)
    assert run.rc == 0, run.stdout + run.stderr
    assigned = run.one("Client facts", "ref-assigned")["result"]["ansible_facts"]["sccm_client"]
    assert assigned["installed"] is True and assigned["identity"]["sms_unique_id"] == GUID
    clean = run.one("Client facts", "ref-clean")["result"]["ansible_facts"]["sccm_client"]
    assert clean["installed"] is False
    for host in hosts:
        stats = lab.stats(host)
        assert stats["module_executions"] == 1 and connections(lab, host) == {"psrp"}, stats
        assert stats["executions"][0]["module"].startswith("mecm.fieldkit.sccm_op_runner")  # the action plugin runs it

    # The same facts over winrm, from an identical lab.
    winrm_lab, winrm_inventory = lab_factory(hosts=hosts)
    over_winrm = run_playbook(tmp_path, winrm_inventory, FACTS_PLAY)
    assert over_winrm.rc == 0, over_winrm.stdout
    assert connections(winrm_lab, "ref-assigned") == {"winrm"}
    for host in hosts:
        assert (over_winrm.one("Client facts", host)["result"]["ansible_facts"]
                == run.one("Client facts", host)["result"]["ansible_facts"])


def test_image_prep_check_mode_changes_nothing_then_real_run_over_psrp(tmp_path: pathlib.Path, lab_factory) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "ref-mcs": "mcs_partial"}, connection="psrp")
    hosts = sorted(lab.hosts)
    before = {h: lab.state(h) for h in hosts}
    args = ("-e", f"client_image_prep_hosts={','.join(hosts)}", "-f", "2")

    check = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_image_prep", *args, "--check",
                         "-e", f"client_image_prep_report_dir={tmp_path / 'check'}")
    assert check.rc == 0, check.stdout + check.stderr
    for host in hosts:
        assert lab.state(host) == before[host], f"check mode changed {host} over psrp"
        assert connections(lab, host) == {"psrp"}
    planned = json.loads((tmp_path / "check" / "ref-assigned.json").read_text(encoding="utf-8"))
    assert planned["status"] == "changed" and planned["msg"].startswith("check mode: would change"), planned

    lab.reset_stats()
    real = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_image_prep", *args,
                        "-e", f"client_image_prep_report_dir={tmp_path / 'real'}")
    assert real.rc == 0, real.stdout + real.stderr
    for host in hosts:
        state = lab.state(host)
        assert state["cert_stores"]["LocalMachine\\SMS"] == [], host
        assert "C:\\Windows\\SMSCFG.ini" not in state["files"], host
        assert lab.stats(host)["module_executions"] == 2 and connections(lab, host) == {"psrp"}
    done = json.loads((tmp_path / "real" / "ref-assigned.json").read_text(encoding="utf-8"))
    assert done["status"] == "changed" and done["removed_identity"]["sms_unique_id"] == GUID
    assert done["client_state"]["ready_for_capture"] is True


def test_dp_diagnosis_over_psrp_names_the_failing_checks(tmp_path: pathlib.Path, lab_factory) -> None:
    dps = {"dp01.contoso.local": "dp_healthy", "dp03.contoso.local": "dp_smb_blocked",
           "dp13.contoso.local": "dp_disk_full"}
    lab, inventory = lab_factory(hosts={SITE: "site_cm01", **dps},
                                 groups={"site_servers": [SITE], "distribution_points": sorted(dps)},
                                 connection="psrp")
    before = {h: lab.state(h) for h in lab.hosts}
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "--check",
                       "-e", f"dp_diagnose_report_dir={reports}",
                       "-e", '{"dp_diagnose_source_shares": ["\\\\\\\\cm01.contoso.local\\\\Sources"]}')
    assert run.rc == 0, run.stdout + run.stderr
    assert {h: lab.state(h) for h in lab.hosts} == before, "check mode changed a host over psrp"
    [record] = [r for r in run.records if r["action"] == "mecm.fieldkit.sccm_dp_diagnose"]
    diagnosis = record["result"]["diagnosis"]
    failing = {dp["dp"]: [f["check"] for f in dp["findings"] if f["status"] == "FAIL"] for dp in diagnosis["dps"]}
    assert failing == {"dp01.contoso.local": [], "dp03.contoso.local": ["ports"],
                       "dp13.contoso.local": ["free_space"]}
    assert diagnosis["probe_identity"]["as_system"] is True
    site = lab.stats(SITE)
    # become runas SYSTEM travels in the exec payload over psrp too
    assert site["module_executions"] == 1 and site["executions"][0]["become"]["BecomeUser"] == "SYSTEM"
    assert all(connections(lab, h) == {"psrp"} for h in lab.hosts)
    assert (reports / "dp_diagnosis.json").is_file()


def test_psrp_payload_gets_the_same_powershell_syntax_check(tmp_path: pathlib.Path, lab_factory) -> None:
    broken_root = tmp_path / "collections"
    target = broken_root / "ansible_collections" / "mecm" / "fieldkit"
    skipped = shutil.ignore_patterns(".venv", ".git", ".ansible", "tests", "build", ".lab", "reports", "*.tar.gz")
    shutil.copytree(REPO_ROOT, target, ignore=skipped)
    psm1 = target / "plugins" / "module_utils" / "_FieldkitClientOps.psm1"
    psm1.write_text(psm1.read_text(encoding="utf-8") + "\nfunction Broken-Thing { $x = 1 +* 2 }\n", encoding="utf-8")
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned"}, connection="psrp")
    run = run_playbook(tmp_path, inventory, FACTS_PLAY, env_extra={"ANSIBLE_COLLECTIONS_PATH": str(broken_root)})
    failed = run.one("Client facts", "ref-assigned")
    assert failed["status"] == "failed"
    assert "PowerShell syntax error" in failed["result"]["msg"] and "_FieldkitClientOps.psm1:" in failed["result"]["msg"]
    assert connections(lab, "ref-assigned") == {"psrp"}


def test_basic_auth_over_psrp_also_works(tmp_path: pathlib.Path, lab_factory) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned"}, transport="basic", connection="psrp")
    common = json.loads(inventory.read_text(encoding="utf-8").split("\n", 1)[1])["all"]["vars"]
    assert common["ansible_psrp_auth"] == "basic" and common["ansible_psrp_message_encryption"] == "never"
    run = run_playbook(tmp_path, inventory, FACTS_PLAY)
    assert run.one("Client facts", "ref-assigned")["status"] == "ok", run.stdout
    stats = lab.stats("ref-assigned")
    assert stats["module_executions"] == 1 and connections(lab, "ref-assigned") == {"psrp"}
    assert stats["http_requests"] == 6  # no NTLM handshake: Create, Receive, Command, Send, Receive, Delete
