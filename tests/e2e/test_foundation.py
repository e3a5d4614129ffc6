"""End to end through the simulated lab over NTLM with message encryption: client facts, the op
runner's contract (check mode, failures, stop at first failure), unreachable hosts, and the
PowerShell syntax check on every payload."""
from __future__ import annotations

import pathlib
import shutil

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

RUNNER_PLAY = """
- name: Call the op runner directly
  hosts: all
  gather_facts: false
  tasks:
    - name: Runner
      mecm.fieldkit.sccm_op_runner:
        protocol: 1
        ops:
          - id: stop_ccmexec
            name: service.ensure
            function: Set-FieldkitServiceState
            mutating: true
            args: {Name: CcmExec, State: stopped, StartMode: manual}
          - id: read_after
            name: service.read
            function: Get-FieldkitServiceState
            mutating: false
            args: {Name: CcmExec}
"""


@pytest.fixture
def two_reference_vms(lab_factory):
    return lab_factory(hosts={"ref-assigned": "ref_assigned", "ref-clean": "clean_windows"})


def test_client_facts_two_hosts_one_execution_each(tmp_path, two_reference_vms) -> None:
    lab, inventory = two_reference_vms
    run = run_playbook(tmp_path, inventory, FACTS_PLAY)
    assert run.rc == 0, run.stdout + run.stderr

    assigned = run.one("Client facts", "ref-assigned")["result"]["ansible_facts"]["sccm_client"]
    assert assigned["installed"] is True
    assert assigned["version"] == "5.00.9132.1011"
    assert assigned["identity"]["sms_unique_id"] == "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"
    assert assigned["identity"]["consistent"] is True
    assert assigned["site_assignment"]["assigned_site"] == "PS1"
    assert assigned["site_assignment"]["current_management_point"] == "CM01.contoso.local"
    assert assigned["service"] == {"name": "CcmExec", "exists": True, "state": "running", "start_mode": "delayed_auto",
                                   "delayed_start": True, "process_id": 4242}
    assert assigned["health_evaluation_task"]["enabled"] is True
    assert [c["thumbprint"] for c in assigned["sms_certificates"]["certificates"]] == [
        "5A0C1F3E9B7D2A4C6E8F0A1B3C5D7E9F1A2B3C4D", "B7E4D2C1A0F9E8D7C6B5A4938271605F4E3D2C1B"]
    assert assigned["trusted_root_key"]["count"] == 1
    assert assigned["provisioning_mode"]["enabled"] is False
    assert assigned["ccmsetup"]["running"] is False
    assert assigned["task_sequence"]["running"] is False
    assert assigned["site_system"]["is_site_server"] is False

    clean = run.one("Client facts", "ref-clean")["result"]["ansible_facts"]["sccm_client"]
    assert clean["installed"] is False
    assert clean["version"] is None
    assert clean["identity"]["sms_unique_id"] is None
    assert clean["site_assignment"]["assigned_site"] is None
    assert clean["trusted_root_key"] == {"namespace": "root\\ccm\\locationservices", "namespace_present": False,
                                         "count": None, "status": "namespace absent"}

    for host in ("ref-assigned", "ref-clean"):
        stats = lab.stats(host)
        assert stats["module_executions"] == 1, stats
        assert [e["module"] for e in stats["executions"]] == ["mecm.fieldkit.sccm_op_runner"]


def test_facts_invocation_hides_the_internal_batch(tmp_path, two_reference_vms) -> None:
    _lab, inventory = two_reference_vms
    run = run_playbook(tmp_path, inventory, FACTS_PLAY, "--limit", "ref-assigned")
    result = run.one("Client facts", "ref-assigned")["result"]
    assert result["invocation"] == {"module_args": {}}
    assert "ops" not in str(result["invocation"])


def test_check_mode_on_a_mutating_op_leaves_the_host_identical(tmp_path, two_reference_vms) -> None:
    lab, inventory = two_reference_vms
    before = lab.state("ref-assigned")
    run = run_playbook(tmp_path, inventory, RUNNER_PLAY, "--limit", "ref-assigned", "--check")
    assert run.rc == 0, run.stdout
    result = run.one("Runner", "ref-assigned")["result"]
    stop = result["results"][0]
    assert stop["status"] == "changed" and result["changed"] is True
    assert stop["before"]["state"] == "running" and stop["after"]["state"] == "stopped"
    assert stop["after"]["start_mode"] == "manual"
    assert lab.state("ref-assigned") == before

    # The same batch without check mode really changes the model, and is idempotent afterwards.
    run_playbook(tmp_path, inventory, RUNNER_PLAY, "--limit", "ref-assigned")
    service = lab.state("ref-assigned")["services"]["CcmExec"]
    assert (service["state"], service["start_mode"]) == ("stopped", "manual")
    again = run_playbook(tmp_path, inventory, RUNNER_PLAY, "--limit", "ref-assigned").one("Runner", "ref-assigned")
    assert again["result"]["changed"] is False


def test_injected_op_failure_names_the_step_and_the_error_code(tmp_path, two_reference_vms) -> None:
    lab, inventory = two_reference_vms
    lab.add_fault("ref-assigned", {"op": "cert.list", "args": {"store_name": "SMS"}, "code": "0x80070005",
                                   "message": "Access is denied."})
    run = run_playbook(tmp_path, inventory, FACTS_PLAY)
    assert run.rc == 2
    failed = run.one("Client facts", "ref-assigned")
    assert failed["status"] == "failed"
    msg = failed["result"]["msg"]
    assert "sms_certificates" in msg and "cert.list" in msg and "0x80070005" in msg and "Access is denied" in msg
    assert run.one("Client facts", "ref-clean")["status"] == "ok"


def test_runner_stops_at_the_first_failed_op(tmp_path, two_reference_vms) -> None:
    lab, inventory = two_reference_vms
    lab.add_fault("ref-assigned", {"op": "service.ensure", "code": "0x80070005", "message": "Access is denied."})
    before = lab.state("ref-assigned")
    run = run_playbook(tmp_path, inventory, RUNNER_PLAY, "--limit", "ref-assigned")
    result = run.one("Runner", "ref-assigned")["result"]
    assert result["failed_op"] == "stop_ccmexec"
    assert [r["status"] for r in result["results"]] == ["failed", "not_run"]
    assert result["results"][0]["error"]["hresult"] == "0x80070005"
    assert "op stop_ccmexec (service.ensure) failed: Access is denied. (0x80070005); completed before it: none" \
        == result["msg"]
    assert lab.state("ref-assigned") == before


def test_unreachable_host_is_reported_unreachable_not_failed(tmp_path, two_reference_vms) -> None:
    lab, inventory = two_reference_vms
    lab.set_unreachable("ref-clean")
    run = run_playbook(tmp_path, inventory, FACTS_PLAY)
    assert run.rc == 4  # ansible-playbook: some hosts unreachable
    assert run.one("Client facts", "ref-clean")["status"] == "unreachable"
    assert run.one("Client facts", "ref-assigned")["status"] == "ok"
    assert "unreachable=1" in run.stdout and "failed=0" in run.stdout


def test_slow_host_answer_still_returns_the_result(tmp_path, two_reference_vms) -> None:
    lab, inventory = two_reference_vms
    lab.hosts["ref-assigned"].delay_seconds = 1.2
    run = run_playbook(tmp_path, inventory, FACTS_PLAY, "--limit", "ref-assigned")
    assert run.one("Client facts", "ref-assigned")["status"] == "ok"
    assert lab.stats("ref-assigned")["http_requests"] > 10  # extra Receives while the host "works"


def test_psm1_syntax_error_fails_the_run_naming_file_and_line(tmp_path, lab_factory) -> None:
    broken_root = tmp_path / "collections"
    target = broken_root / "ansible_collections" / "mecm" / "fieldkit"
    shutil.copytree(REPO_ROOT, target, ignore=shutil.ignore_patterns(".venv", ".git", ".ansible", "tests", "build",
                                                                      ".lab", "reports", "*.tar.gz"))
    psm1 = target / "plugins" / "module_utils" / "_FieldkitClientOps.psm1"
    lines = psm1.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if "$path = Join-Path -Path $env:SystemRoot" in line)
    lines.insert(index + 1, "    $broken = 1 +* 2")  # a dangling operator the parser pins to this line
    broken_line = index + 2
    psm1.write_text("\n".join(lines) + "\n", encoding="utf-8")

    _lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned"})
    env = {"ANSIBLE_COLLECTIONS_PATH": str(broken_root)}
    run = run_playbook(tmp_path, inventory, FACTS_PLAY, env_extra=env)
    failed = run.one("Client facts", "ref-assigned")
    assert failed["status"] == "failed"
    msg = failed["result"]["msg"]
    assert "PowerShell syntax error" in msg
    assert "_FieldkitClientOps.psm1:" in msg
    assert f"_FieldkitClientOps.psm1:{broken_line}:" in msg, (msg, broken_line)


def test_basic_auth_transport_also_works(tmp_path, lab_factory) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned"}, transport="basic")
    run = run_playbook(tmp_path, inventory, FACTS_PLAY)
    assert run.one("Client facts", "ref-assigned")["status"] == "ok"
    assert lab.stats("ref-assigned")["module_executions"] == 1


def test_repository_checkout_is_a_collection() -> None:
    assert (REPO_ROOT / "galaxy.yml").exists()
    assert pathlib.Path(REPO_ROOT / "plugins" / "modules" / "sccm_op_runner.ps1").exists()
