# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the image-prep dashboard and JUnit file for many hosts and print seconds and sizes.

Usage: .venv/bin/python tests/benchmarks/image_prep_dashboard_scale.py [--hosts 11 200 2000] [--lang en|ja]

The records are the six of tests/unit/plugins/plugin_utils/test_image_prep_report.py (prepared, new capture
with install, failed step, guard, unreachable, no result) repeated under new names. Every detail panel is
static HTML (no lazy rendering), so size grows linearly with the hosts.
"""
from __future__ import annotations

import argparse
import copy
import pathlib
import sys
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from tests.simhost.paths import ensure_collection_link  # noqa: E402

ensure_collection_link()

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_dashboard as dashboard  # noqa: E402
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_report as report  # noqa: E402
from tests.unit.plugins.plugin_utils.test_image_prep_report import records as sample_records  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[11, 200, 2000])
    parser.add_argument("--lang", choices=("en", "ja"), default="ja")
    args = parser.parse_args()
    base = list(sample_records().values())
    for count in args.hosts:
        records = {}
        for index in range(count):
            record = copy.deepcopy(base[index % len(base)])
            record["host"] = f"{record['host']}-{index:05d}"
            records[record["host"]] = record
        started = time.perf_counter()
        page = dashboard.render_dashboard(records, args.lang)
        rendered = time.perf_counter()
        junit = report.junit_xml(records)
        done = time.perf_counter()
        print(f"{count:>6} hosts ({args.lang}): dashboard {len(page.encode('utf-8')) / 1e6:6.2f} MB in {rendered - started:5.2f} s"
              f" | JUnit {len(junit.encode('utf-8')) / 1e6:6.2f} MB in {done - rendered:5.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
