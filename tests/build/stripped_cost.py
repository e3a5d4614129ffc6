# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measurement, not a test: what one module execution sends to a host with the collection installed from
its tarball, PowerShell as written (``--no-strip``) against PowerShell stripped at build time
(``tests/build/dist.py``), next to the minimal Ansible.Basic module (``simlab.baseline.ping``). Each case
runs once against a fresh simulated host; prints requests and bytes sent / received per execution.

    .venv/bin/python tests/build/stripped_cost.py [--transport ntlm|basic] [--stripped-only] [--json]

A case with more than one execution (a real generalize run: the batch, then the record clear and sysprep) is
printed with its total and then one line per execution, runner module and all; "x floor" compares each
execution with the minimal module's one.
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

from tests.build.dist import build_tarball  # noqa: E402
from tests.simhost.lab import Lab  # noqa: E402
from tests.simhost.paths import BASELINE_COLLECTIONS_DIR  # noqa: E402

SITE = "cm01.contoso.local"
DP = "dp01.contoso.local"
BECOME = "\n      become: true\n      become_method: ansible.builtin.runas\n      become_user: SYSTEM"
# label -> (hosts of the lab, measured host, task YAML, extra ansible-playbook arguments)
CASES: dict[str, tuple[dict[str, str], str, str, tuple[str, ...]]] = {
    "simlab.baseline.ping (minimal Ansible.Basic module)": ({"bench": "ref_assigned"}, "bench",
                                                            "simlab.baseline.ping:", ()),
    "simlab.baseline.ping as SYSTEM (the floor for become)": ({"bench": "ref_assigned"}, "bench",
                                                            f"simlab.baseline.ping:{BECOME}", ()),
    "win_sccm_client_facts": ({"bench": "ref_assigned"}, "bench", "mecm.fieldkit.win_sccm_client_facts:", ()),
    "win_sccm_client_generalize --check": ({"bench": "ref_assigned"}, "bench",
                                           "mecm.fieldkit.win_sccm_client_generalize:", ("--check",)),
    "win_sccm_client_generalize (real: two executions)": ({"bench": "ref_assigned"}, "bench",
                                                          "mecm.fieldkit.win_sccm_client_generalize:", ()),
    "win_sccm_client_generalize, sysprep (real)": ({"bench": "ref_assigned"}, "bench",
                                                   "mecm.fieldkit.win_sccm_client_generalize:\n"
                                                   "        sysprep: {enabled: true}", ()),
    "win_sccm_client_generalize --check, sysprep": ({"bench": "ref_assigned"}, "bench",
                                                    "mecm.fieldkit.win_sccm_client_generalize:\n"
                                                    "        sysprep: {enabled: true}", ("--check",)),
    "win_sccm_client_generalize --check, every option": (
        {"bench": "ref_assigned"}, "bench",
        "mecm.fieldkit.win_sccm_client_generalize:\n        scenario: new\n        remove_mp_block_rules: true\n"
        "        steps: {leave_provisioning_mode: true, reset_hardware_inventory: true, clear_gp_site_assignment: true,"
        " empty_ccmcache: true}", ("--check",)),
    "win_sccm_client_install (an MP block rule; start, then polls)": (
        {"bench": "new_capture"}, "bench",
        "mecm.fieldkit.win_sccm_client_install:\n        source_path: C:\\Install\\Client\n"
        "        properties: {SMSMP: cm01.contoso.local}\n        block_management_points: [cm01.contoso.local]", ()),
    "win_sccm_dp_facts": ({DP: "dp_healthy"}, DP, "mecm.fieldkit.win_sccm_dp_facts:", ()),
    "win_sccm_site_facts (one DP, as SYSTEM)": (
        {SITE: "site_cm01", DP: "dp_healthy"}, SITE,
        f"mecm.fieldkit.win_sccm_site_facts:\n        distribution_points: [{DP}]{BECOME}", ()),
}


def _install(tarball: pathlib.Path, target: pathlib.Path) -> None:
    env = dict(os.environ, ANSIBLE_HOME=str(target.parent / "ansible-home"), ANSIBLE_COLLECTIONS_PATH=str(target))
    subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-galaxy"), "collection", "install",
                    str(tarball), "-p", str(target)], env=env, check=True, capture_output=True)


def measure(collections: pathlib.Path, case: tuple[dict[str, str], str, str, tuple[str, ...]], transport: str,
            workdir: pathlib.Path) -> dict[str, int]:
    hosts, measured, task, extra = case
    playbook = workdir / "bench.yml"
    playbook.write_text(f"- hosts: {measured}\n  gather_facts: false\n  tasks:\n    - name: Measured call\n"
                        f"      {task}\n", encoding="utf-8")
    with Lab.from_fixtures(hosts, transport=transport) as lab:
        inventory = lab.write_inventory(workdir / "inventory.yml")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([str(collections), str(BASELINE_COLLECTIONS_DIR)]),
                   ANSIBLE_HOME=str(workdir / "ansible-home"), ANSIBLE_HOST_KEY_CHECKING="False")
        bin_dir = pathlib.Path(sys.executable).parent
        proc = subprocess.run([str(bin_dir / "ansible-playbook"), "-i", str(inventory), str(playbook), *extra],
                              env=env, capture_output=True, text=True, check=False, cwd=workdir)
        if proc.returncode != 0:
            raise SystemExit(f"measurement run failed:\n{proc.stdout}\n{proc.stderr}")
        stats = lab.stats(measured)
    figures = {k: stats[k] for k in ("module_executions", "http_requests", "bytes_in", "bytes_out")}
    figures["executions"] = [{k: e[k] for k in ("module", "requests", "bytes_in", "bytes_out")}
                             for e in stats["executions"] if e.get("kind") == "module"]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=("ntlm", "basic"), default="ntlm")
    parser.add_argument("--stripped-only", action="store_true", help="measure the tarball as built, not the source too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures: dict[str, dict[str, dict[str, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="fieldkit-cost-") as scratch:
        work = pathlib.Path(scratch)
        variants = (("stripped", True),) if args.stripped_only else (("as written", False), ("stripped", True))
        for variant, strip in variants:
            tarball, _stats = build_tarball(work / f"dist-{variant.replace(' ', '-')}", strip=strip)
            collections = work / f"collections-{variant.replace(' ', '-')}"
            _install(tarball, collections)
            for number, (label, case) in enumerate(CASES.items()):
                run_dir = work / f"run-{number}-{variant.replace(' ', '-')}"
                run_dir.mkdir()
                figures.setdefault(label, {})[variant] = measure(collections, case, args.transport, run_dir)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    floor = figures["simlab.baseline.ping (minimal Ansible.Basic module)"]["stripped"]["bytes_in"]
    print(f"[simulated lab] one execution per case, transport {args.transport}; collection installed from its tarball")
    print(f"{'case':<52} {'requests':>17} {'bytes sent':>23} {'saved':>7} {'x floor':>8}")
    print(f"{'':<52} {'written/stripped':>17} {'written / stripped':>23}")
    for label, row in figures.items():
        after = row["stripped"]
        before = row.get("as written", after)
        saved = 100 * (before["bytes_in"] - after["bytes_in"]) / before["bytes_in"]
        print(f"{label:<52} {before['http_requests']:>8}/{after['http_requests']:<8} "
              f"{before['bytes_in']:>11,} / {after['bytes_in']:<9,} {saved:>6.1f}% {after['bytes_in'] / floor:>7.2f}x")
        if after["module_executions"] > 1:
            for number, execution in enumerate(after["executions"], 1):
                name = f"  execution {number}: {execution['module'].rsplit('.', 1)[-1]}"
                print(f"{name:<52} {'':>8}/{execution['requests']:<8} {'':>11}   {execution['bytes_in']:<9,} "
                      f"{'':>7} {execution['bytes_in'] / floor:>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
