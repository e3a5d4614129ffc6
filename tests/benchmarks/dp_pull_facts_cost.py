"""Measurement, not a test: what the pull path adds to one win_sccm_dp_facts execution (issue 9, pull DPs). Runs
the module, as SYSTEM, against a standard DP (no ``source_dps``) and a pull DP (its source DPs given), each in a
fresh simulated lab, and prints per host: module executions, HTTP requests, bytes to and from the host (the same
on every run) and the median wall time over ``--runs``. Everything the hosts answer is simulated.

    .venv/bin/python tests/benchmarks/dp_pull_facts_cost.py [--runs 3] [--sources 1 4 16]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.simhost.lab import Lab  # noqa: E402
from tests.simhost.paths import collections_path  # noqa: E402

COUNTERS = ("module_executions", "http_requests", "bytes_in", "bytes_out")
SITE = "cm01.contoso.local"


def measure(sources: int, workdir: pathlib.Path) -> tuple[dict[str, int], float]:
    """One run: the site server, the measured DP and ``sources`` source DPs; 0 sources = a standard DP."""
    names = [f"src{n:02d}.contoso.local" for n in range(sources)]
    hosts = {SITE: "site_cm01", "dp15.contoso.local": "dp_pull_source_unreachable" if sources else "dp_healthy",
             **dict.fromkeys(names, "dp_healthy")}
    task = ("mecm.fieldkit.win_sccm_dp_facts:\n        source_dps: " + str(names)) if sources else \
        "mecm.fieldkit.win_sccm_dp_facts:"
    playbook = workdir / "bench.yml"
    playbook.write_text("- hosts: dp15.contoso.local\n  gather_facts: false\n  tasks:\n    - name: Measured call\n"
                        f"      {task}\n      become: true\n      become_method: ansible.builtin.runas\n"
                        "      become_user: SYSTEM\n", encoding="utf-8")
    with Lab.from_fixtures(hosts) as lab:
        inventory = lab.write_inventory(workdir / "inventory.yml")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_HOST_KEY_CHECKING="False")
        bin_dir = pathlib.Path(sys.executable).parent
        start = time.monotonic()
        proc = subprocess.run([str(bin_dir / "ansible-playbook"), "-i", str(inventory), str(playbook)], env=env,
                              capture_output=True, text=True, check=False)
        wall = time.monotonic() - start
        if proc.returncode != 0:
            raise SystemExit(f"measurement run failed:\n{proc.stdout}\n{proc.stderr}")
        stats = lab.stats("dp15.contoso.local")
    return {k: stats[k] for k in COUNTERS}, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sources", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    print(f"{'case':<28} {'executions':>10} {'requests':>9} {'bytes in':>10} {'bytes out':>10} {'wall s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for sources in [0, *args.sources]:
            runs = [measure(sources, pathlib.Path(tmp)) for _ in range(args.runs)]
            counters = runs[0][0]
            label = "standard DP" if not sources else f"pull DP, {sources} source DP(s)"
            print(f"{label:<28} {counters['module_executions']:>10} {counters['http_requests']:>9} "
                  f"{counters['bytes_in']:>10} {counters['bytes_out']:>10} "
                  f"{statistics.median(w for _c, w in runs):>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
