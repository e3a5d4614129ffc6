"""Measurement, not a test: what one call of each module costs on the wire, per host, next to the
cheapest possible module call (``simlab.baseline.ping``: Ansible.Basic, no options) served by the
same simulated lab. Prints module executions, HTTP requests and bytes per host for one call.

    make bench            # or: .venv/bin/python tests/benchmarks/module_cost.py [--transport basic]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.simhost.lab import Lab  # noqa: E402
from tests.simhost.paths import collections_path  # noqa: E402

# label -> (fixture of the measured host, task YAML)
CASES = {
    "simlab.baseline.ping (minimal Ansible.Basic module)": ("ref_assigned", "simlab.baseline.ping:"),
    "mecm.fieldkit.win_sccm_client_facts": ("ref_assigned", "mecm.fieldkit.win_sccm_client_facts:"),
}


def measure(task: str, fixture: str, transport: str, workdir: pathlib.Path) -> dict[str, int]:
    playbook = workdir / "bench.yml"
    playbook.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Measured call\n      {task}\n",
                        encoding="utf-8")
    with Lab.from_fixtures({"bench": fixture}, transport=transport) as lab:
        inventory = lab.write_inventory(workdir / "inventory.yml")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path())
        bin_dir = pathlib.Path(sys.executable).parent
        proc = subprocess.run([str(bin_dir / "ansible-playbook"), "-i", str(inventory), str(playbook)],
                              env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"measurement run failed:\n{proc.stdout}\n{proc.stderr}")
        stats = lab.stats("bench")
    return {k: stats[k] for k in ("module_executions", "http_requests", "bytes_in", "bytes_out")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=("ntlm", "basic"), default="ntlm")
    args = parser.parse_args()
    print(f"[simulated lab] one call per host, transport {args.transport} "
          f"({'message encryption on' if args.transport == 'ntlm' else 'no encryption'})")
    print(f"{'module':<55} {'executions':>10} {'requests':>9} {'bytes sent':>11} {'bytes received':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, (fixture, task) in CASES.items():
            figures = measure(task, fixture, args.transport, pathlib.Path(tmp))
            print(f"{label:<55} {figures['module_executions']:>10} {figures['http_requests']:>9} "
                  f"{figures['bytes_in']:>11,} {figures['bytes_out']:>15,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
