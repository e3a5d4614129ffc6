"""Benchmark (not a test): the cost of the site probe (win_sccm_site_facts) for 20 and 200 DPs, with the content
distribution state per DP (sms.read_distribution_status) read in the same module execution.

Starts the simulated lab with the site server cm01 and N DPs (every fifth one with stuck content, fixture
dp_content_failed, the others dp_healthy), runs ONE real ansible-playbook task against the site server over
WinRM (NTLM + message encryption) for each size, and prints per size: module executions and HTTP requests on the
site server, bytes in and out, the controller's wall-clock seconds for the ansible-playbook run, the size of the
returned facts and of their ``distribution`` part, and the rows the simulated SMS Provider returned. Everything the
host answers is simulated: the figures are the controller's and the transport's, not the SMS Provider's.

    .venv/bin/python tests/benchmarks/site_probe_scale.py [--dps 20 200] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.simhost.paths import ensure_collection_link  # noqa: E402

ensure_collection_link()

from tests.e2e.conftest import run_playbook  # noqa: E402
from tests.simhost.lab import Lab  # noqa: E402

SITE = "cm01.contoso.local"
PLAYBOOK = (
    "- hosts: site_servers\n"
    "  gather_facts: false\n"
    "  tasks:\n"
    "    - name: Probe the DPs and read their content state (one module execution)\n"
    "      mecm.fieldkit.win_sccm_site_facts:\n"
    "        distribution_points: \"{{ groups['distribution_points'][:count | int] }}\"\n"
    "      become: true\n"
    "      become_method: runas\n"
    "      become_user: SYSTEM\n"
)


def _dps(count: int) -> dict[str, dict]:
    return {f"gen-dp{n:03d}.contoso.local": {"base": "dp_content_failed" if n % 5 == 0 else "dp_healthy"}
            for n in range(1, count + 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dps", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the median seconds are printed")
    args = parser.parse_args(argv)
    largest = max(args.dps)
    dps = _dps(largest)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp, \
            Lab.from_fixtures({SITE: "site_cm01", **dps},
                              {"site_servers": [SITE], "distribution_points": list(dps)}) as lab:
        tmp_path = pathlib.Path(tmp)
        inventory = lab.write_inventory(tmp_path / "inventory.yml")
        for count in args.dps:
            seconds = []
            for _ in range(args.repeat):
                lab.reset_stats()
                started = time.perf_counter()
                run = run_playbook(tmp_path, inventory, PLAYBOOK, "-e", f"count={count}")
                seconds.append(time.perf_counter() - started)
                if run.rc != 0:
                    print(run.stdout + run.stderr)
                    return 1
            stats = lab.stats(SITE)
            result = next(r for r in run.records if r["action"] == "mecm.fieldkit.win_sccm_site_facts")["result"]
            facts = result["ansible_facts"]["sccm_site"]
            distribution = facts["distribution"]
            stuck = sum(len(d["packages"]) for d in distribution["dps"].values())
            figures[count] = {
                "module_executions": stats["module_executions"],
                "http_requests": stats["http_requests"],
                "bytes_in": stats["bytes_in"],
                "bytes_out": stats["bytes_out"],
                "controller_seconds_median": round(statistics.median(seconds), 2),
                "facts_json_bytes": len(json.dumps(facts)),
                "distribution_json_bytes": len(json.dumps(distribution)),
                "distribution_rows_read": distribution["rows_read"],
                "stuck_packages_listed": stuck,
            }
    header = f"{'DPs':>5} {'executions':>10} {'requests':>8} {'bytes in':>10} {'bytes out':>10} {'seconds':>8} " \
             f"{'facts JSON':>11} {'distribution':>12} {'rows':>6} {'stuck':>6}"
    print(header)
    print("-" * len(header))
    for count, f in figures.items():
        print(f"{count:>5} {f['module_executions']:>10} {f['http_requests']:>8} {f['bytes_in']:>10,} "
              f"{f['bytes_out']:>10,} {f['controller_seconds_median']:>8} {f['facts_json_bytes']:>11,} "
              f"{f['distribution_json_bytes']:>12,} {f['distribution_rows_read']:>6} {f['stuck_packages_listed']:>6}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
