# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the DP reports for a large site and print seconds and sizes.

Usage: .venv/bin/python tests/benchmarks/render_report_scale.py [--dps 2000] [--lang en|ja] [--out DIR]

The diagnosis is built from the sample data in tests/unit/test_data/dp_report (8 DPs: 1 healthy,
7 with findings), repeated under new names: about 1 in 8 DPs is healthy, which is far worse than a
real site and so a pessimistic size. "static estimate" is what a fully static HTML (every cell's
evidence, log lines, explanation and remediation escaped into <details>) would at least weigh;
it is why the dashboard renders details lazily from an embedded JSON blob.
"""
from __future__ import annotations

import argparse
import copy
import html
import json
import pathlib
import sys
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from tests.simhost.paths import ensure_collection_link  # noqa: E402

ensure_collection_link()

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_report  # noqa: E402

DATA = REPO_ROOT / "tests" / "unit" / "test_data" / "dp_report"


def build(count: int, lang: str) -> dict:
    sample = json.loads((DATA / ("diagnosis_%s.json" % lang)).read_text(encoding="utf-8"))
    templates = sample["dps"]
    dps = []
    for index in range(count):
        template = templates[index % len(templates)]
        old = template["dp"]
        new = "dp%04d.%s" % (index + 1, old.split(".", 1)[1])
        text = json.dumps(template, ensure_ascii=False).replace(old, new)
        dps.append(json.loads(text))
    diagnosis = copy.deepcopy(sample)
    diagnosis["dps"] = dps
    summary = {"dps": count, "pass": 0, "warn": 0, "fail": 0, "unknown": 0}
    for dp in dps:
        summary[dp["overall"].lower()] += 1
    diagnosis["summary"] = summary
    return diagnosis


def static_estimate(diagnosis: dict) -> int:
    """Lower bound of a static variant: the escaped texts of every finding, once per cell."""
    total = 0
    for dp in diagnosis["dps"]:
        for finding in dp["findings"]:
            parts = [finding["summary"], finding["explanation"], finding["remediation"]]
            parts += ["%s %s" % (e["label"], e["value"]) for e in finding["evidence"]]
            parts += [e["message"] for e in finding["log_evidence"]]
            total += sum(len(html.escape(str(p)).encode("utf-8")) for p in parts)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dps", type=int, default=2000)
    parser.add_argument("--lang", choices=("en", "ja"), default="en")
    parser.add_argument("--out", help="also write the reports into this directory")
    args = parser.parse_args()
    diagnosis = build(args.dps, args.lang)
    print("DPs: %d, language: %s" % (args.dps, args.lang))
    for name, func in (
        ("html", _dp_report.render_html),
        ("markdown", _dp_report.render_markdown),
        ("junit", _dp_report.render_junit),
        ("json", _dp_report.render_json),
    ):
        best = None
        for _ in range(3):
            start = time.perf_counter()
            text = func(diagnosis)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        print("%-9s %6.3f s  %7.2f MB" % (name, best, len(text.encode("utf-8")) / 1e6))
    print("static HTML estimate (details for every cell): >= %.1f MB" % (static_estimate(diagnosis) / 1e6))
    if args.out:
        print(_dp_report.write_reports(diagnosis, args.out, basename="dp_diagnosis_%d_%s" % (args.dps, args.lang)))


if __name__ == "__main__":
    main()
