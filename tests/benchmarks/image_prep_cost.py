# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measurement, not a test: what client image prep costs on the wire per host, next to the cheapest
possible module call (``simlab.baseline.ping``) served by the same simulated lab.

Each case runs once against a fresh simulated host and prints module executions, HTTP requests and
bytes sent to / received from the host. "sent" is what the controller sends (the module payload
dominates it), "received" what the host answers.

    .venv/bin/python tests/benchmarks/image_prep_cost.py [--transport ntlm|basic] [--json]

The scenario A install waits on the host (simulated time): ccmsetup takes 300 s in the fixture, and
each status call waits up to ``poll_interval`` (default 120 s), so it is 1 start + 2 polls.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.simhost.lab import Lab  # noqa: E402
from tests.simhost.paths import LABS_DIR, collections_path  # noqa: E402

INSTALL = """mecm.fieldkit.win_sccm_client_install:
        source_path: C:\\Install\\Client
        properties: {SMSMP: cm01.contoso.local}
        block_management_points: [cm01.contoso.local]
        keep_block_rule: true"""

# label -> (fixture, playbook body or None for a task, task YAML, extra ansible-playbook args)
CASES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "simlab.baseline.ping (minimal Ansible.Basic module)": ("ref_assigned", "simlab.baseline.ping:", ()),
    "win_sccm_client_facts (read-only, for reference)": ("ref_assigned", "mecm.fieldkit.win_sccm_client_facts:", ()),
    "win_sccm_client_generalize --check (recapture plan)": (
        "ref_assigned", "mecm.fieldkit.win_sccm_client_generalize:", ("--check",)),
    "win_sccm_client_generalize (recapture, scenario B)": (
        "ref_assigned", "mecm.fieldkit.win_sccm_client_generalize:", ()),
    "win_sccm_client_generalize, second run (no change)": (
        "ref_assigned", "mecm.fieldkit.win_sccm_client_generalize:", ("--twice",)),
    "win_sccm_client_install (scenario A, 300 s install)": ("new_capture", INSTALL, ()),
    "win_sccm_client_generalize mode=verify (not ready)": (
        "ref_assigned", "mecm.fieldkit.win_sccm_client_generalize: {mode: verify, fail_when_not_ready: false}", ()),
    "win_sccm_client_generalize mode=verify, prepared host": (
        "ref_assigned", "mecm.fieldkit.win_sccm_client_generalize: {mode: verify}", ("--prepare-first",)),
}
ROLE_CASES = {
    "client_image_prep playbook, recapture host": ("ref_assigned", "recapture"),
    "client_image_prep playbook, new-capture host": ("new_capture", "new"),
}


def _env() -> dict[str, str]:
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_HOST_KEY_CHECKING="False")


def _run(args: list[str]) -> None:
    bin_dir = pathlib.Path(sys.executable).parent
    proc = subprocess.run([str(bin_dir / "ansible-playbook"), *args], env=_env(), capture_output=True, text=True,
                          check=False, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"measurement run failed:\n{proc.stdout}\n{proc.stderr}")


def measure_task(task: str, fixture: str, extra: tuple[str, ...], transport: str,
                 workdir: pathlib.Path) -> dict[str, int]:
    playbook = workdir / "bench.yml"
    playbook.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Measured call\n      {task}\n",
                        encoding="utf-8")
    with Lab.from_fixtures({"ref-new" if fixture == "new_capture" else "bench": fixture}, transport=transport) as lab:
        host = next(iter(lab.hosts))
        inventory = lab.write_inventory(workdir / "inventory.yml")
        if "--twice" in extra:
            _run(["-i", str(inventory), str(playbook)])
            lab.reset_stats()
        if "--prepare-first" in extra:
            prepare = workdir / "prepare.yml"
            prepare.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Prepare\n"
                               "      mecm.fieldkit.win_sccm_client_generalize:\n", encoding="utf-8")
            _run(["-i", str(inventory), str(prepare)])
            lab.reset_stats()
        _run(["-i", str(inventory), str(playbook), *[a for a in extra if a not in ("--twice", "--prepare-first")]])
        stats = lab.stats(host)
    return {k: stats[k] for k in ("module_executions", "http_requests", "bytes_in", "bytes_out")}


def measure_role(fixture: str, transport: str, workdir: pathlib.Path) -> dict[str, int]:
    with Lab.from_fixtures({"ref-new" if fixture == "new_capture" else "ref-assigned": fixture},
                           transport=transport) as lab:
        host = next(iter(lab.hosts))
        inventory = lab.write_inventory(workdir / "inventory.yml")
        _run(["-i", str(inventory), "-i", str(LABS_DIR / "imageprep_vars.yml"), "mecm.fieldkit.client_image_prep",
              "-e", f"client_image_prep_hosts={host}", "-e", f"client_image_prep_report_dir={workdir / 'reports'}"])
        stats = lab.stats(host)
    return {k: stats[k] for k in ("module_executions", "http_requests", "bytes_in", "bytes_out")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=("ntlm", "basic"), default="ntlm")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (fixture, task, extra) in CASES.items():
            figures[label] = measure_task(task, fixture, extra, args.transport, pathlib.Path(tmp))
        for label, (fixture, _scenario) in ROLE_CASES.items():
            figures[label] = measure_role(fixture, args.transport, pathlib.Path(tmp))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"[simulated lab] one run per host, transport {args.transport} "
          f"({'message encryption on' if args.transport == 'ntlm' else 'no encryption'})")
    print(f"{'case':<55} {'executions':>10} {'requests':>9} {'bytes sent':>11} {'bytes received':>15}")
    for label, row in figures.items():
        print(f"{label:<55} {row['module_executions']:>10} {row['http_requests']:>9} "
              f"{row['bytes_in']:>11,} {row['bytes_out']:>15,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
