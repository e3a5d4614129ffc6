"""``make demo``: start the simulated lab, run the collection's main jobs against it through the
real Ansible WinRM transport, show the results, and stop the lab.

Everything shown here comes from SIMULATED Windows hosts: it proves the controller side and the
transport, not the PowerShell on Windows.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time
import typing as t

from .demo_image_prep import image_prep_demo
from .lab import BANNER, Lab
from .paths import REPO_ROOT, collections_path

BIN_DIR = pathlib.Path(sys.executable).parent


def _run_playbook(inventory: pathlib.Path, playbook: str, *extra: str) -> int:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collections_path(),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "False",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "PATH": f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}",
    })
    print(f"\n{BANNER} ansible-playbook -i {inventory.name} {playbook} {' '.join(extra)}", flush=True)
    proc = subprocess.run([str(BIN_DIR / "ansible-playbook"), "-i", str(inventory), playbook, *extra],
                          cwd=REPO_ROOT, env=env, check=False)
    return proc.returncode


def _client_facts_table(report_dir: pathlib.Path, hosts: t.Iterable[str]) -> None:
    print(f"\n{BANNER} ConfigMgr client facts of the simulated reference machines")
    header = f"{'host':<15} {'client':<16} {'SMS Unique Identifier':<46} {'site':<5} {'CcmExec':<22} {'SMS certs':<9} TrustedRootKey"
    print(header)
    print("-" * len(header))
    for host in hosts:
        path = report_dir / "client_facts" / f"{host}.json"
        if not path.exists():
            print(f"{host:<15} (no facts: the task failed, see above)")
            continue
        facts = json.loads(path.read_text(encoding="utf-8"))
        service = facts["service"]
        ccmexec = f"{service['state']}/{service['start_mode']}" if service["exists"] else "absent"
        print(f"{host:<15} {(facts['version'] or 'not installed'):<16} "
              f"{(facts['identity']['sms_unique_id'] or '-'):<46} "
              f"{(facts['site_assignment']['assigned_site'] or '-'):<5} {ccmexec:<22} "
              f"{len(facts['sms_certificates']['certificates']):<9} {facts['trusted_root_key']['status']}")
    print(f"{BANNER} facts written as JSON to {report_dir / 'client_facts'}")


def _dp_summary(dp_dir: pathlib.Path) -> None:
    path = dp_dir / "dp_diagnosis.json"
    if not path.exists():
        print(f"{BANNER} no DP diagnosis written (see the playbook output above)")
        return
    diagnosis = json.loads(path.read_text(encoding="utf-8"))
    print(f"\n{BANNER} DP diagnosis ({diagnosis.get('language')}) from site server {diagnosis.get('site_server')} "
          f"(site {diagnosis.get('site_code')})")
    for dp in diagnosis["dps"]:
        failing = [f"{f['check']}={f['status']}" for f in dp["findings"] if f["status"] != "PASS"]
        print(f"  {dp['dp']:<30} {dp['overall']:<8} {', '.join(failing) or 'all checks PASS'}")
    _stuck_content(diagnosis)
    print(f"{BANNER} HTML dashboard: {dp_dir / 'dp_diagnosis.html'}")


def _stuck_content(diagnosis: dict[str, t.Any]) -> None:
    """Which content is stuck on which DP, and why (content counts and stuck_packages of the diagnosis)."""
    summary = diagnosis.get("summary", {})
    print(f"\n{BANNER} content not installed, per DP ({summary.get('stuck_packages', 0)} package(s) in all)")
    for dp in diagnosis["dps"]:
        content = dp.get("content") or {}
        if content.get("total") is None:
            counts = "content state unknown (not read from the SMS Provider)"
        else:
            counts = f"{content['installed']}/{content['total']} installed, {content['stuck']} not installed"
        if content.get("truncated"):
            counts += " (list cut short)"
        if not dp.get("stuck_packages") and content.get("stuck", 0) == 0 and content.get("total") is not None:
            continue
        print(f"  {dp['dp']}: {counts}")
        for package in dp.get("stuck_packages") or []:
            print(f"    {package['package_id']} {package.get('name') or '?'} - {package['state_text']}, "
                  f"message {package.get('message_id')} at {package.get('message_time')} -> "
                  f"{package.get('check') or 'no checklist item'}")
            print(f"      message: {package.get('message')}")
            print(f"      cause:   {package['cause']}")
            print(f"      fix:     {package['fix']}")


def _report_files(report_dir: pathlib.Path, since: float) -> None:
    """Every file this run wrote under report_dir (older files of earlier runs are only counted)."""
    files = sorted(p for p in report_dir.rglob("*") if p.is_file())
    written = [p for p in files if p.stat().st_mtime >= since]
    print(f"\n{BANNER} {len(written)} report file(s) written under {report_dir} by this run")
    for path in written:
        print(f"  {path.relative_to(report_dir)}  ({path.stat().st_size:,} bytes)")
    if len(files) > len(written):
        print(f"{BANNER} ({len(files) - len(written)} older file(s) from earlier runs left there, not listed)")


def _accounting(lab: Lab) -> None:
    print(f"\n{BANNER} lab accounting (per simulated host)")
    for host in lab.hosts:
        stats = lab.stats(host)
        print(f"  {host:<15} module executions {stats['module_executions']:>3}   HTTP requests {stats['http_requests']:>4}"
              f"   bytes in {stats['bytes_in']:>9,}   bytes out {stats['bytes_out']:>8,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simhost.demo", description=__doc__)
    parser.add_argument("--report-dir", default=str(REPO_ROOT / "reports" / "demo"))
    args = parser.parse_args(argv)
    report_dir = pathlib.Path(args.report_dir).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    started = time.time() - 1
    failures = 0

    print(f"{BANNER} Everything below runs against SIMULATED Windows hosts on 127.0.0.1 (WinRM, NTLM + encryption).")
    print(f"{BANNER} It proves the controller side and the transport, not the PowerShell on real Windows.")
    with Lab.named("default") as lab:
        inventory = lab.write_inventory(report_dir / "inventory-default.yml")
        for name, host in lab.hosts.items():
            print(f"{BANNER} {name:<15} 127.0.0.1:{lab.servers[name].port:<6} {host.model.state.get('description', '')}")
        failures += _run_playbook(inventory, "mecm.fieldkit.client_facts", "-e", f"fieldkit_report_dir={report_dir}") != 0
        _client_facts_table(report_dir, lab.hosts)
        _accounting(lab)
        lab.reset_stats()
        print(f"\n{BANNER} === Client image prep (seed 000: new capture and recapture) ===")
        failures += image_prep_demo(lab, inventory, report_dir, _run_playbook) != 0
    print(f"\n{BANNER} === Distribution point diagnosis (seed 003: the nine checklist items) ===")
    with Lab.named("dp") as lab:
        inventory = lab.write_inventory(report_dir / "inventory-dp.yml")
        for name, host in lab.hosts.items():
            print(f"{BANNER} {name:<28} {host.model.state.get('description', '')[:100]}")
        # The same diagnosis in both report languages; each run is one site probe for every DP.
        for language in ("en", "ja"):
            print(f"\n{BANNER} --- DP diagnosis, language {language} ---")
            dp_dir = report_dir / f"dp_diagnose_{language}"
            failures += _run_playbook(inventory, "mecm.fieldkit.dp_diagnose", "-f", "20",
                                      "-e", f"fieldkit_report_dir={report_dir}", "-e", f"dp_diagnose_language={language}",
                                      "-e", f"dp_diagnose_report_dir={dp_dir}") != 0
            _dp_summary(dp_dir)
            _accounting(lab)
            lab.reset_stats()
    _report_files(report_dir, started)
    print(f"\n{BANNER} lab stopped. Reports: {report_dir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
