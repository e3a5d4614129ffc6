"""Benchmark (not a test): the controller-side cost of diagnosing a large DP fleet.

Builds the facts of N distribution points (default 2,000) and of the site server that probed them
all - every failure class of the lab spread over the fleet, with site server log excerpts naming the
failing DPs - then times, on the controller only: the checklist (sccm_dp_diagnose), the fleet table
rows, and the HTML / Markdown / JUnit / JSON reports. The facts come from the simulated lab's
fixtures run through the real plans and shapers once per fixture, then copied per DP; the WinRM
side is measured separately (tests/e2e, docs/performance.md). Prints seconds, sizes and the peak RSS of
the process; ``--profile N`` also prints the N functions with the most own time (cProfile) over the
product part (diagnosis, rows and reports), which is what docs/performance.md quotes.

    .venv/bin/python tests/benchmarks/dp_diagnose_scale.py [--dps 2000] [--language ja] [--out DIR] [--profile 15]
"""
from __future__ import annotations

import argparse
import copy
import cProfile
import io
import json
import pathlib
import pstats
import resource
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.simhost.paths import ensure_collection_link  # noqa: E402

ensure_collection_link()

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_report  # noqa: E402
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_diagnose import diagnose  # noqa: E402
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_inventory import inventory_rows  # noqa: E402
from tests.unit.plugins.plugin_utils import dp_lab  # noqa: E402

try:
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._gc_pause import paused  # noqa: E402
except ImportError:  # an older tree (before/after comparisons): render as it did
    def paused(func):  # type: ignore[no-redef]
        return func

FIXTURES = ("dp_healthy", "dp_name_unresolved", "dp_smb_blocked", "dp_rpc_blocked", "dp_dcom_disabled",
            "dp_rpcss_stopped", "dp_share_missing", "dp_ntfs_denied", "dp_wmi_denied", "dp_clock_skew",
            "dp_unpatched", "dp_sccmdp_missing", "dp_disk_full")
SMS = "  $$<SMS_PACKAGE_TRANSFER_MANAGER><11-21-2026 10:{m:02d}:{s:02d}.000-540><thread={t} (0x{t:X})>"


def build_fleet(count: int) -> tuple[dict, dict]:
    """(site facts, {dp: facts}) for ``count`` DPs; 80 % healthy, the rest cycling over the failure classes."""
    templates = {}
    # Host names without "_": the site probe refuses names that are not DNS names.
    names = {f"tpl-{fixture.replace('_', '-')}.contoso.local": fixture for fixture in FIXTURES}
    site, hosts = dp_lab.lab(names)
    site_template = dp_lab.site_facts(site, sorted(names))
    for name, fixture in names.items():
        templates[fixture] = (dp_lab.dp_facts(hosts[name]), site_template["dps"][name])
    site_facts = copy.deepcopy(site_template)
    site_facts["dps"] = {}
    site_facts["logs"]["lines"] = []
    dp_facts = {}
    failures = FIXTURES[1:]
    for index in range(count):
        dp = f"dp{index:05d}.contoso.local"
        fixture = "dp_healthy" if index % 5 else failures[(index // 5) % len(failures)]
        facts, probe = templates[fixture]
        facts = copy.deepcopy(facts)
        facts["fqdn"] = dp
        probe = copy.deepcopy(probe)
        probe["target"] = dp
        if (probe.get("dns") or {}).get("reverse"):
            probe["dns"]["reverse"] = [dp]
        dp_facts[dp] = facts
        site_facts["dps"][dp] = probe
        if fixture != "dp_healthy":
            thread = 1000 + index
            site_facts["logs"]["lines"] += [
                {"log": "PkgXferMgr.log", "line_number": 2 * index + 1,
                 "text": f"Sending thread starting for Job: {{{index}}}, server: {dp}" + SMS.format(m=index % 60, s=0, t=thread)},
                {"log": "PkgXferMgr.log", "line_number": 2 * index + 2,
                 "text": "CSendFileAction::SendFiles failed; 0x800706BA" + SMS.format(m=index % 60, s=1, t=thread)},
            ]
    return site_facts, dp_facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dps", type=int, default=2000)
    parser.add_argument("--language", default="en", choices=["en", "ja"])
    parser.add_argument("--out", type=pathlib.Path, help="write the reports here")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N functions (own time)")
    args = parser.parse_args(argv)
    profiler = cProfile.Profile() if args.profile else None

    timings: dict[str, tuple[float, float]] = {}  # name -> (wall seconds, CPU seconds of this process)

    def timed(name: str, func, *func_args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = func(*func_args, **kwargs)
        timings[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return result

    site_facts, dp_facts = timed("build facts (not part of the product)", build_fleet, args.dps)
    if profiler:
        profiler.enable()
    diagnosis = timed("diagnose", diagnose, site_facts, dp_facts, language=args.language)
    rows = timed("inventory rows", inventory_rows, dp_facts, site_facts=site_facts)
    outputs = {}
    for name, render in (("html", _dp_report.render_html), ("markdown", _dp_report.render_markdown),
                         ("junit", _dp_report.render_junit), ("json", _dp_report.render_json)):
        # paused(): as in the sccm_dp_report action, which renders every format with the cyclic GC paused.
        outputs[name] = timed(f"render {name}", paused(render), diagnosis)
    outputs["inventory.html"] = timed("render inventory html", _dp_report.render_inventory_html, rows, args.language)
    outputs["inventory.csv"] = timed("render inventory csv", _dp_report.render_inventory_csv, rows)
    if profiler:
        profiler.disable()

    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, text in outputs.items():
            (args.out / f"dp_diagnosis.{name}").write_text(text, encoding="utf-8")

    print(f"DPs: {args.dps}  language: {args.language}  summary: {json.dumps(diagnosis['summary'])}")
    # CPU time is what the controller spends; on a loaded machine the wall time is longer.
    print(f"  {'':<40} {'wall':>8}   {'CPU':>8}")
    for name, (wall, cpu) in timings.items():
        print(f"  {name:<40} {wall:8.2f} s {cpu:8.2f} s")
    product = [sum(v[i] for n, v in timings.items() if not n.startswith("build")) for i in (0, 1)]
    print(f"  {'diagnose + rows + every report':<40} {product[0]:8.2f} s {product[1]:8.2f} s")
    for name, text in outputs.items():
        print(f"  size {name:<35} {len(text.encode('utf-8')) / 1e6:8.2f} MB")
    # ru_maxrss is in KiB on Linux.
    print(f"  {'peak RSS of this process':<40} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} MiB")
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(args.profile)
        print(stream.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
