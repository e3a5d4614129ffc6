"""Benchmark (not a test): parse throughput of plugin_utils/_cmlog.py on a large synthetic log.

Builds a deterministic log of about --mb megabytes (default 50) that mixes what site-server and client
logs hold: SMS trace lines (some with continuation lines, a STATMSG block), CMTrace records (most on one
line, some multi-line, a few of 100-499 lines), plain MSI-style lines, errors with codes, thread-ID lines.
Then times ``parse_log_bytes`` (decode + parse + error codes + severity) of the working tree's _cmlog.py
and of a baseline revision's (default HEAD, read with ``git show`` into a temporary module), and prints
MB/s of input bytes, entries and the time of one 499-line CMTrace record. Prints figures only.

    .venv/bin/python tests/benchmarks/cmlog_throughput.py [--mb 50] [--baseline HEAD] [--encoding utf-8]
        [--repeat 1] [--long-every 4000]
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import pathlib
import random
import subprocess
import sys
import tempfile
import time
import types

REPO = pathlib.Path(__file__).resolve().parents[2]
MODULE = "plugins/plugin_utils/_cmlog.py"

SMS = "  $$<{comp}><08-13-2023 10:{m:02d}:{s:02d}.{ms:03d}-540><thread={t} (0x{t:X})>"
CM = ('<![LOG[{msg}]LOG]!><time="10:{m:02d}:{s:02d}.{ms:03d}-540" date="08-13-2023" component="{comp}" '
      'context="" type="{type}" thread="{t}" file="{file}">')
SMS_MESSAGES = (
    "Processing package PS1000{n:02d} for distribution point ['Display=\\\\DP{n:02d}.contoso.local\\']",
    "Started thread {t} (0x{t:X}) for package PS1000{n:02d}",
    "SMS_EXECUTIVE started SMS_DISTRIBUTION_MANAGER as thread ID {t} (0x{t:X}).",
    "Failed to make a network connection to \\\\DP{n:02d}.contoso.local\\ADMIN$ (0x35).~",
    "DPConnection::ConnectWMIEx() - Failed to connect to  DP{n:02d}.contoso.local. error = 0x800706ba",
    "~Currently using 3 out of 3 allowed package processing threads.",
    "Sending failed. Failure count = 3, Restart time = 2023/08/13 10:50:01 Tokyo Standard Time. Will retry",
    "Found send request with ID: {n}, Package: PS1000{n:02d}, Version:1, Priority: 2",
    "Process exited with return code: 1603",
    "Task 'Configuration Manager Client Retry Task' does not exist",
)
CM_MESSAGES = (
    ("Client is starting", "1"),
    ("CcmSetup failed with error code 0x87d00454", "1"),
    ("Failed to add file to the content library. Error = 0x80070070", "3"),
    ("Waiting for the management point; will retry in 60 seconds", "2"),
    ("Download failed with 80070002.", "1"),
    ("CopyFile failed (5)", "1"),
    ("Report state message 0x40000950 to MP", "1"),
)
PLAIN = (
    "MSI (s) (A4:B8) [10:15:30:123]: Product: Configuration Manager Client -- Installation operation completed.",
    "Action ended 10:15:30: InstallFinalize. Return value 3.",
    "Error 1603. A fatal error occurred during installation.",
)


def build_log(megabytes: float, seed: int = 9, long_every: int = 4000) -> str:
    """A deterministic mixed log of about ``megabytes`` MB; every ``long_every``-th record (0: none) is a
    CMTrace record of 100-499 lines."""
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    chunks: list[str] = []
    size = 0
    records = 0
    while size < target:
        records += 1
        n, t = rng.randrange(100), rng.randrange(1, 20000)
        when = {"m": rng.randrange(60), "s": rng.randrange(60), "ms": rng.randrange(1000), "t": t}
        roll = rng.random()
        if long_every and records % long_every == 0:  # a long multi-line CMTrace record (a dumped policy, SQL text)
            lines = rng.randrange(100, 500)
            body = "\n".join(f"  <Property Name=\"Setting{i}\" Value=\"{rng.randrange(10**6)}\"/>" for i in range(lines - 1))
            chunk = CM.format(msg="Policy body:\n" + body, comp="PolicyAgent", type="1", file="policy.cpp:42", **when)
        elif roll < 0.45:
            message = rng.choice(SMS_MESSAGES).format(n=n, t=t)
            chunk = message + SMS.format(comp="SMS_DISTRIBUTION_MANAGER", **when)
        elif roll < 0.50:  # STATMSG with continuation lines
            chunk = (f"STATMSG: ID=2302 SEV=E LEV=M SOURCE=\"SMS Server\" COMP=\"SMS_DISTRIBUTION_MANAGER\"\n"
                     f"ISTR0=\"PS1000{n:02d}\" ISTR1=\"\" NUMATTRS=1 AID0=400 AVAL0=\"PS1000{n:02d}\""
                     + SMS.format(comp="SMS_DISTRIBUTION_MANAGER", **when))
        elif roll < 0.90:
            message, type_ = rng.choice(CM_MESSAGES)
            chunk = CM.format(msg=message, comp="CcmSetup", type=type_, file="ccmsetup.cpp:100", **when)
        elif roll < 0.95:  # a short multi-line CMTrace record
            message = "\n".join(f"Line {i} of a multi-line message about PS1000{n:02d}" for i in range(rng.randrange(2, 40)))
            chunk = CM.format(msg=message, comp="SMSDPProv", type="2", file="smsdpprov.cpp:1240", **when)
        else:
            chunk = rng.choice(PLAIN)
        chunk += "\r\n"
        chunks.append(chunk)
        size += len(chunk)
    return "".join(chunks)


def load_current() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("cmlog_current", REPO / MODULE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["cmlog_current"] = module
    spec.loader.exec_module(module)
    return module


def load_revision(revision: str) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{revision}:{MODULE}"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix="_cmlog.py", delete=False, encoding="utf-8") as handle:
        handle.write(source)
    name = "cmlog_" + revision.replace("~", "_").replace("^", "_")
    spec = importlib.util.spec_from_file_location(name, handle.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    pathlib.Path(handle.name).unlink()
    return module


def long_record(lines: int = 499) -> str:
    body = "\n".join("line %d of a long multi-line message, padded to look like a real log line" % i for i in range(lines - 1))
    return ("<![LOG[" + body + '\nend]LOG]!><time="10:00:00.000-540" date="08-13-2023" component="C" type="1" '
            'thread="1" file="a.cpp:1">\n')


def measure(module: types.ModuleType, data: bytes, repeat: int) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        entries = module.parse_log_bytes(data)
        best = min(best, time.perf_counter() - started)
        count = len(entries)
        del entries
    return best, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the synthetic log in MB (default 50)")
    parser.add_argument("--baseline", default="HEAD", help="git revision to compare with (default HEAD; '' = none)")
    parser.add_argument("--encoding", default="utf-8", choices=("utf-8", "utf-16-le"), help="file encoding")
    parser.add_argument("--repeat", type=int, default=1, help="runs per version; the best is reported")
    parser.add_argument("--long-every", type=int, default=4000,
                        help="every Nth record is a CMTrace record of 100-499 lines (default 4000; 0 = none)")
    args = parser.parse_args()

    text = build_log(args.mb, long_every=args.long_every)
    data = (b"\xff\xfe" if args.encoding == "utf-16-le" else b"") + text.encode(args.encoding)
    megabytes = len(data) / 1_000_000
    lines = text.count("\n")
    long_records = f"every {args.long_every}th record 100-499 lines long" if args.long_every else "no long records"
    print(f"synthetic log: {megabytes:.1f} MB {args.encoding}, {lines:,} lines, {long_records}, "
          f"python {sys.version.split()[0]}")
    versions = [("working tree", load_current())]
    if args.baseline:
        versions.insert(0, (f"baseline {args.baseline}", load_revision(args.baseline)))
    record = long_record().encode()
    print(f"{'version':<22} {'seconds':>8} {'MB/s':>7} {'entries':>9} {'499-line record (s)':>20}")
    for label, module in versions:
        seconds, entries = measure(module, data, args.repeat)
        started = time.perf_counter()
        module.parse_log_bytes(record)
        single = time.perf_counter() - started
        print(f"{label:<22} {seconds:8.2f} {megabytes / seconds:7.2f} {entries:9,} {single:20.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
