"""Measurement, not a test: what one call of each module costs per host over each connection plugin
(``winrm`` and ``psrp``), next to the cheapest possible module call (``simlab.baseline.ping``:
Ansible.Basic, no options) served by the same simulated lab. Prints, per module and connection,
module executions, HTTP requests and bytes per host (the same on every run), and the medians over
``--runs`` of wall time, controller CPU (user+sys of ansible-playbook and its children) and the
lab's own CPU (``Lab.cpu_seconds()``: its event loop and request workers).

    make bench            # or: .venv/bin/python tests/benchmarks/module_cost.py [--transport basic]
                          #     [--hosts 10] [--runs 3] [--connections winrm psrp] [--forks 10]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.simhost.lab import CONNECTIONS, Lab  # noqa: E402
from tests.simhost.paths import collections_path  # noqa: E402

# label -> (fixture of the measured hosts, task YAML)
CASES = {
    "simlab.baseline.ping (minimal module)": ("ref_assigned", "simlab.baseline.ping:"),
    "mecm.fieldkit.win_sccm_client_facts": ("ref_assigned", "mecm.fieldkit.win_sccm_client_facts:"),
}
COUNTERS = ("module_executions", "http_requests", "bytes_in", "bytes_out")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(task: str, fixture: str, args: argparse.Namespace, connection: str,
            workdir: pathlib.Path) -> dict[str, float]:
    """One run: a fresh lab of ``--hosts`` hosts, one playbook with the task, per-host counters."""
    playbook = workdir / "bench.yml"
    playbook.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Measured call\n      {task}\n",
                        encoding="utf-8")
    hosts = {f"bench{i:03d}": fixture for i in range(args.hosts)}
    with Lab.from_fixtures(hosts, transport=args.transport) as lab:
        inventory = lab.write_inventory(workdir / "inventory.yml", connection=connection)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_HOST_KEY_CHECKING="False")
        bin_dir = pathlib.Path(sys.executable).parent
        lab_cpu0, cpu0, wall0 = lab.cpu_seconds(), children_cpu(), time.monotonic()
        proc = subprocess.run([str(bin_dir / "ansible-playbook"), "-i", str(inventory), "-f", str(args.forks),
                               str(playbook)], env=env, capture_output=True, text=True, check=False)
        wall, cpu, lab_cpu = time.monotonic() - wall0, children_cpu() - cpu0, lab.cpu_seconds() - lab_cpu0
        if proc.returncode != 0:
            raise SystemExit(f"measurement run failed ({connection}):\n{proc.stdout}\n{proc.stderr}")
        stats = [lab.stats(h) for h in hosts]
    figures: dict[str, float] = {k: sum(s[k] for s in stats) / args.hosts for k in COUNTERS}
    figures.update(wall=wall, controller_cpu=cpu, lab_cpu=lab_cpu)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=("ntlm", "basic"), default="ntlm")
    parser.add_argument("--connections", nargs="+", choices=CONNECTIONS, default=list(CONNECTIONS))
    parser.add_argument("--hosts", type=int, default=1, help="simulated hosts per run (figures are per host)")
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; times are medians")
    args = parser.parse_args()
    print(f"[simulated lab] one call per host, {args.hosts} host(s), forks {args.forks}, transport {args.transport} "
          f"({'message encryption on' if args.transport == 'ntlm' else 'no encryption'}), "
          f"median of {args.runs} run(s), {os.cpu_count()} cores")
    print(f"{'module':<40} {'connection':<10} {'executions':>10} {'requests':>9} {'bytes sent':>11} "
          f"{'bytes received':>15} {'wall s':>7} {'controller CPU s':>17} {'lab CPU s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, (fixture, task) in CASES.items():
            for connection in args.connections:
                runs = [measure(task, fixture, args, connection, pathlib.Path(tmp)) for _ in range(args.runs)]
                last = runs[-1]
                med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "controller_cpu", "lab_cpu")}
                print(f"{label:<40} {connection:<10} {last['module_executions']:>10g} {last['http_requests']:>9g} "
                      f"{last['bytes_in']:>11,.0f} {last['bytes_out']:>15,.0f} {med['wall']:>7.2f} "
                      f"{med['controller_cpu']:>17.2f} {med['lab_cpu']:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
