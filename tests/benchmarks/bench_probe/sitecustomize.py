# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bench_scale's probe inside ansible-playbook (put on PYTHONPATH by the benchmark; never shipped, never in tests).

With ``BENCH_PROBE_DIR`` set:

- the main process writes, at exit, its own CPU seconds and those of its waited children (the forked workers) to
  ``main.json``: the main process runs the strategy alone, the workers run in parallel, so the split says which
  one a change moves;
- with ``BENCH_PROBE_TEMPLATES=1`` too (ansible-core 2.19 and later: its template engine), every top-level template
  and conditional evaluated in a worker is timed (process CPU) and appended to ``templates-<pid>.tsv``. ansible-core
  2.19 compiles every template string anew, in each host's worker, so a per-host task pays for each of its templates
  on every host; this shows which.
"""
import atexit
import json
import os
import resource
import time

_DIR = os.environ.get("BENCH_PROBE_DIR")


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _write_main(pid: int) -> None:
    if os.getpid() != pid:
        return
    with open(os.path.join(_DIR, "main.json"), "w", encoding="utf-8") as handle:
        json.dump({"main_cpu": _cpu(resource.RUSAGE_SELF), "children_cpu": _cpu(resource.RUSAGE_CHILDREN)}, handle)


def _probe_templates(main_pid: int) -> None:
    try:
        from ansible._internal._templating import _engine  # ansible-core 2.19+
    except ImportError:
        return
    state = {"depth": 0, "out": None}

    def record(kind: str, text: object, seconds: float) -> None:
        if os.getpid() == main_pid:
            return
        if state["out"] is None:
            state["out"] = open(os.path.join(_DIR, f"templates-{os.getpid()}.tsv"), "a", encoding="utf-8")  # pylint: disable=consider-using-with
        line = " ".join(str(text).split())[:200].replace("\t", " ")
        state["out"].write(f"{kind}\t{seconds * 1000:.3f}\t{line}\n")
        state["out"].flush()

    def timed(kind: str, original):
        def wrapper(self, *args, **kwargs):
            value = args[0] if args else kwargs.get("variable", kwargs.get("conditional"))
            top = state["depth"] == 0
            state["depth"] += 1
            started = time.process_time()
            try:
                return original(self, *args, **kwargs)
            finally:
                state["depth"] -= 1
                if top and isinstance(value, str) and ("{" in value or kind == "C"):
                    record(kind, value, time.process_time() - started)
        return wrapper

    engine = _engine.TemplateEngine
    engine.template = timed("T", engine.template)
    engine.evaluate_conditional = timed("C", engine.evaluate_conditional)


if _DIR:
    _MAIN = os.getpid()
    atexit.register(_write_main, _MAIN)
    if os.environ.get("BENCH_PROBE_TEMPLATES") == "1":
        _probe_templates(_MAIN)
