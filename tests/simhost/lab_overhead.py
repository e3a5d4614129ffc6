"""Measurement, not a test: what the simulated lab itself costs while idle, and how long ``lab stop``
takes until the lab process has really gone (simulated lab support code, not packaged).

    .venv/bin/python -m tests.simhost.lab_overhead --hosts 500 --idle 20

Starts a detached lab of N generated hosts (``lab start``), waits for it to settle, reads the lab
process's user+sys CPU from /proc over ``--idle`` seconds, then runs ``lab stop`` and times both the
command and the disappearance of the process. Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.simhost.lab import process_alive as alive  # noqa: E402
from tests.simhost.lab import process_cpu_seconds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measurement")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait after start")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = pathlib.Path(tmp) / "lab"
        definition = pathlib.Path(tmp) / "overhead-lab.json"
        hosts = {f"h{i:04d}": "ref_assigned" for i in range(args.hosts)}
        definition.write_text(json.dumps({"name": "overhead", "hosts": hosts}), encoding="utf-8")
        cmd = [sys.executable, "-m", "tests.simhost.lab"]
        started = time.monotonic()
        subprocess.run([*cmd, "start", "--lab", str(definition), "--dir", str(state_dir)], cwd=REPO, check=True,
                       capture_output=True, timeout=600)
        start_s = time.monotonic() - started
        pid = json.loads((state_dir / "lab.json").read_text(encoding="utf-8"))["pid"]
        time.sleep(args.settle)
        cpu0, t0 = process_cpu_seconds(pid), time.monotonic()
        time.sleep(args.idle)
        cpu1, t1 = process_cpu_seconds(pid), time.monotonic()
        threads = len(os.listdir(f"/proc/{pid}/task"))
        stop_at = time.monotonic()
        stop = subprocess.run([*cmd, "stop", "--dir", str(state_dir)], cwd=REPO, capture_output=True, text=True,
                              timeout=600, check=False)
        stop_cmd_s = time.monotonic() - stop_at
        while alive(pid) and time.monotonic() - stop_at < 120:
            time.sleep(0.01)
        gone_s = time.monotonic() - stop_at
    print(f"[simulated lab] {args.hosts} hosts, {os.cpu_count()} cores: start {start_s:.1f} s, {threads} threads")
    print(f"[simulated lab] idle CPU {cpu1 - cpu0:.2f} s over {t1 - t0:.1f} s = {100 * (cpu1 - cpu0) / (t1 - t0):.1f} % "
          "of one core")
    print(f"[simulated lab] 'lab stop' returned after {stop_cmd_s:.2f} s ({stop.stdout.strip()!r}); "
          f"process gone after {gone_s:.2f} s; still alive at 'stopped': {gone_s > stop_cmd_s + 0.05}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
