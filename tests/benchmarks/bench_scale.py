# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): the shipped playbooks at scale against the minimal-module floor.

Generates a simulated lab of N reference machines (fixture ``ref_assigned``) and a site (``site_cm01``) with M
DPs (``dp_healthy``), then runs, interleaved and repeated, the minimal-module playbook (``simlab.baseline.ping``
once per host) and each shipped playbook with ``-f 50`` (``--forks``). Every run gets a fresh lab, so a real
image-prep run always meets unprepared machines. Per case it prints the medians of wall time, controller CPU
(user + sys of ansible-playbook and its children: ``resource.getrusage(RUSAGE_CHILDREN)`` deltas around the
subprocess), peak RSS (the largest process of the run, from ``os.wait4``), the lab's own CPU (``Lab.cpu_seconds()``
when the lab has it, else this process's CPU: the lab runs in it) and the ratios of wall and controller CPU to the
floor over the same hosts (the client floor for client playbooks, the DP floor for DP playbooks). ``module``
cases run the modules of a playbook alone, one task per module, so the table shows what is module and what is
playbook. The controller CPU is split into the main process (``main``: the strategy, serial) and its forked workers
(``workers``: one per host and task, in parallel), from a probe in ansible-playbook (``bench_probe/sitecustomize.py``
on its ``PYTHONPATH``). To show where the rest goes, ``--tasks`` adds the wall time of each task (a small callback)
and ``--templates N`` the N templates and conditionals that cost the workers the most CPU (ansible-core 2.19
compiles each template string anew in every host's worker, so a per-host task pays for each template on every
host; the probe costs CPU itself, so such runs give the split, not the ratios).

    .venv/bin/python tests/benchmarks/bench_scale.py [--hosts 100,200,500] [--dps 50] [--runs 3] [--forks 50]
        [--playbooks client_facts,client_image_prep_check,...] [--tasks] [--templates N] [--json FILE]

Everything runs against the simulated lab; nothing here talks to a real Windows machine.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pathlib
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.simhost.lab import Lab  # noqa: E402
from tests.simhost.paths import collections_path  # noqa: E402

SITE = "cm01.contoso.local"
MASTER = "ref-master"
BIN_DIR = pathlib.Path(sys.executable).parent
# sitecustomize.py of ansible-playbook in every measured run: the main process / workers CPU split and, with
# --templates, the worker CPU of each template (see its docstring).
PROBE_DIR = pathlib.Path(__file__).resolve().parent / "bench_probe"

PING = "- hosts: {hosts}\n  gather_facts: false\n  tasks:\n    - name: Minimal module\n      simlab.baseline.ping:\n"
MODULE = "- hosts: {hosts}\n  gather_facts: false\n  tasks:\n{tasks}"
FACTS_TASK = "    - name: Client facts\n      mecm.fieldkit.win_sccm_client_facts:\n"
GENERALIZE_TASK = ("    - name: Generalize\n      mecm.fieldkit.win_sccm_client_generalize:\n"
                   "        fail_when_not_ready: false\n")
DP_FACTS_TASK = "    - name: DP facts\n      mecm.fieldkit.win_sccm_dp_facts:\n"
# The DP playbooks gather the DP facts as SYSTEM by default (dp_diagnose_dp_become): Ansible's become wrapper and
# its C# then travel with every execution, so the same two tasks as SYSTEM show what become costs.
AS_SYSTEM = "      become: true\n      become_method: ansible.builtin.runas\n      become_user: SYSTEM\n"


# The role's DP facts task rebuilt keyword by keyword (--playbooks anatomy): each case adds one thing to the one
# before it, over the same DPs, after the same site probe, so the differences are what each keyword costs per DP.
ANATOMY_HEAD = ("- hosts: distribution_points\n  gather_facts: false\n  vars:\n    window: 24\n    timeout: 5\n"
                "    retries: 1\n    as_system: true\n  tasks:\n"
                "    - name: Site probe\n      mecm.fieldkit.win_sccm_site_facts:\n"
                "        distribution_points: \"{{ ansible_play_hosts_all }}\"\n"
                f"      delegate_to: {SITE}\n      delegate_facts: true\n      run_once: true\n{AS_SYSTEM}"
                "      register: site\n")
SOURCE_DPS = ("        source_dps: >-\n          {{ site.ansible_facts.sccm_site.dps[inventory_hostname].site_role"
              ".source_dps | default([]) | map(attribute='name') | list }}\n")
UNTIL = ('      until: not result.failed\n      retries: "{{ retries }}"\n      delay: 3\n      ignore_errors: true\n'
         '      ignore_unreachable: true\n')
# label, module arguments added, become keywords (None: those of the step before), task keywords added
ANATOMY_STEPS: tuple[tuple[str, str, str | None, str], ...] = (
    ("literal arguments, as SYSTEM", "", AS_SYSTEM, ""),
    ("+ two templated arguments", '        log_window_hours: "{{ window }}"\n'
     '        source_probe_timeout: "{{ timeout }}"\n', None, ""),
    ("+ source DPs from the site result", SOURCE_DPS, None, ""),
    ("+ templated become", "", '      become: "{{ as_system }}"\n      become_method: ansible.builtin.runas\n'
     '      become_user: SYSTEM\n', ""),
    ("+ register", "", None, "      register: result\n"),
    ("+ until / retries / ignore_errors", "", None, UNTIL),
)


def anatomy_cases() -> dict[str, str]:
    """Playbook text per step of ANATOMY_STEPS, each step on top of the ones before it."""
    playbooks, args, become, keywords = {}, DP_FACTS_TASK, "", ""
    for label, added_args, step_become, added_keywords in ANATOMY_STEPS:
        args += added_args
        become = step_become or become
        keywords += added_keywords
        playbooks[f"anatomy: {label}"] = ANATOMY_HEAD + args + become + keywords
    return playbooks


class Case(t.NamedTuple):
    """One measured run kind: a playbook (path, FQCN or text), its extra arguments, the floor it is compared with."""

    playbook: str
    args: tuple[str, ...]
    floor: str  # "clients" or "dps"
    kind: str  # floor, module, playbook or anatomy (run only when --playbooks names it)
    collections: str | None = None  # a collections directory searched before this checkout (--before)


def _report_args(out: pathlib.Path) -> tuple[str, ...]:
    """Every report directory variable of every playbook, old and new names, pointed into the scratch dir."""
    names = ("client_image_prep_report_dir", "client_identity_audit_report_dir", "client_clone_check_report_dir",
             "dp_diagnose_report_dir", "client_facts_report_dir")
    pairs = [("fieldkit_report_dir", str(out))] + [(name, str(out / name)) for name in names]
    return tuple(arg for name, value in pairs for arg in ("-e", f"{name}={value}"))


def cases(master_record: pathlib.Path | None) -> dict[str, Case]:
    clients, dps = "reference_vms", "distribution_points"
    clone_args: tuple[str, ...] = ("-e", f"client_clone_check_master_record={master_record}") if master_record else ()
    return {
        "floor: ping on the clients": Case(PING.format(hosts=clients), (), "clients", "floor"),
        "module: win_sccm_client_facts": Case(MODULE.format(hosts=clients, tasks=FACTS_TASK), (), "clients", "module"),
        "client_facts": Case("mecm.fieldkit.client_facts", ("-l", clients), "clients", "playbook"),
        "client_identity_audit": Case("mecm.fieldkit.client_identity_audit", ("-l", clients), "clients", "playbook"),
        "client_clone_check": Case("mecm.fieldkit.client_clone_check", ("-l", clients, *clone_args), "clients",
                                   "playbook"),
        "module: win_sccm_client_generalize --check": Case(MODULE.format(hosts=clients, tasks=GENERALIZE_TASK),
                                                           ("--check",), "clients", "module"),
        "client_image_prep_check": Case("mecm.fieldkit.client_image_prep", ("-l", clients, "--check"), "clients",
                                        "playbook"),
        "module: win_sccm_client_generalize": Case(MODULE.format(hosts=clients, tasks=GENERALIZE_TASK), (), "clients",
                                                   "module"),
        "client_image_prep_real": Case("mecm.fieldkit.client_image_prep", ("-l", clients), "clients", "playbook"),
        "floor: ping on the DPs": Case(PING.format(hosts=dps), (), "dps", "floor"),
        "module: win_sccm_dp_facts": Case(MODULE.format(hosts=dps, tasks=DP_FACTS_TASK), (), "dps", "module"),
        "module: ping as SYSTEM on the DPs": Case(PING.format(hosts=dps) + AS_SYSTEM, (), "dps", "module"),
        "module: win_sccm_dp_facts as SYSTEM": Case(MODULE.format(hosts=dps, tasks=DP_FACTS_TASK + AS_SYSTEM), (),
                                                    "dps", "module"),
        "dp_inventory": Case("mecm.fieldkit.dp_inventory", ("-l", dps), "dps", "playbook"),
        "dp_diagnose": Case("mecm.fieldkit.dp_diagnose", ("-l", dps), "dps", "playbook"),
        **{name: Case(text, (), "dps", "anatomy") for name, text in anatomy_cases().items()},
    }


# The identity of fixture clone_unique (a clone after first boot, with its own identity; its master is
# ref_assigned), replaced per generated host so that every client is unique: the clone check and the identity
# audit measure their usual case (nothing to fail), and image prep finds a ConfigMgr client to generalize.
CLONE_IDENTITY = ("3C9A7E21-6B4D-4F08-A1E5-7D2C9B0F4E63", "9D41C0A7E3B25F6814D7C9A0B2E4F6A8C1D3E5F7",
                  "E2F4A6C8B0D1E3F5A7C9B1D3E5F7A9C0B2D4E6F8", "0101A1B2", "0101B2C3", "VDI-0101")


def unique_client(number: int) -> dict[str, t.Any]:
    text = (REPO / "tests" / "simhost" / "fixtures" / "clone_unique.json").read_text(encoding="utf-8")
    guid, thumb_a, thumb_b, key_a, key_b, computer = CLONE_IDENTITY
    for old, new in ((guid, f"3C9A7E21-6B4D-4F08-A1E5-{number:012X}"), (thumb_a, f"9D41C0A7{number:032X}"),
                     (thumb_b, f"E2F4A6C8{number:032X}"), (key_a, f"A{number:07X}"), (key_b, f"B{number:07X}"),
                     (computer, f"REF-{number:04d}")):
        text = text.replace(old, new)
    return json.loads(text)


def lab_definition(hosts: int, dps: int) -> dict[str, t.Any]:
    clients = [f"ref-{n:04d}" for n in range(1, hosts + 1)]
    dp_names = [f"dp{n:04d}.contoso.local" for n in range(1, dps + 1)]
    definition: dict[str, t.Any] = {"name": f"scale-{hosts}-{dps}", "hosts": {}, "groups": {
        "reference_vms": clients, "clones": clients, "distribution_points": dp_names, "site_servers": [SITE]}}
    definition["hosts"].update({name: unique_client(n) for n, name in enumerate(clients, 1)})
    if dps:
        definition["hosts"][SITE] = "site_cm01"
        definition["hosts"].update({name: {"base": "dp_healthy"} for name in dp_names})
        definition["vars"] = {"dp_diagnose_source_shares": ["\\\\cm01.contoso.local\\Sources"]}
    return definition


COLLECTIONS = [collections_path()]


def _env(callback_dir: pathlib.Path | None, timings: pathlib.Path | None, first: str | None = None,
         probe: pathlib.Path | None = None, templates: bool = False) -> dict[str, str]:
    paths = ([first] if first else []) + COLLECTIONS
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(paths), ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_NOCOLOR="1")
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    if probe is not None:
        probe.mkdir(parents=True, exist_ok=True)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROBE_DIR), env.get("PYTHONPATH", "")) if p)
        env.update(BENCH_PROBE_DIR=str(probe), BENCH_PROBE_TEMPLATES="1" if templates else "0")
    if callback_dir is not None and timings is not None:
        env.update(ANSIBLE_CALLBACK_PLUGINS=str(callback_dir), ANSIBLE_CALLBACKS_ENABLED="bench_task_timer",
                   BENCH_TASK_TIMINGS=str(timings))
    return env


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _lab_cpu(lab: Lab) -> float:
    """The lab's CPU seconds: its own figure when it has one, else this process's (the lab's threads run here)."""
    own = getattr(lab, "cpu_seconds", None)
    return float(own()) if callable(own) else _cpu_self()


def _stop(lab: Lab) -> None:
    """Stop the listeners in parallel (outside the measured window); then the lab's own stop."""
    servers = list(getattr(lab, "servers", {}).values())
    if servers and all(hasattr(s, "stop") for s in servers):
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(lambda server: server.stop(), servers))
    lab.stop()


def read_probe(probe: pathlib.Path) -> dict[str, t.Any]:
    """The main / worker CPU split of one run and, with --templates, worker CPU per template text."""
    figures: dict[str, t.Any] = {"main_cpu": float("nan"), "workers_cpu": float("nan"), "templates": {}}
    main = probe / "main.json"
    if main.exists():
        data = json.loads(main.read_text(encoding="utf-8"))
        figures.update(main_cpu=data["main_cpu"], workers_cpu=data["children_cpu"])
    for path in probe.glob("templates-*.tsv"):
        for line in path.read_text(encoding="utf-8").splitlines():
            kind, ms, text = line.split("\t", 2)
            entry = figures["templates"].setdefault(f"{kind} {text}", [0, 0.0])
            entry[0] += 1
            entry[1] += float(ms)
    return figures


def run_once(case: Case, definition: dict[str, t.Any], workdir: pathlib.Path, forks: int,
             callback_dir: pathlib.Path | None, templates: bool = False) -> dict[str, t.Any]:
    """One fresh lab, one ansible-playbook run; the figures of that run."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="run-", dir=workdir))
    playbook = case.playbook
    if "\n" in playbook:
        (out / "playbook.yml").write_text(playbook, encoding="utf-8")
        playbook = str(out / "playbook.yml")
    lab = Lab(definition).start()
    try:
        inventory = lab.write_inventory(out / "inventory.yml")
        timings = out / "tasks.json" if callback_dir else None
        command = [str(BIN_DIR / "ansible-playbook"), "-i", str(inventory), playbook, "-f", str(forks),
                   *case.args, *_report_args(out / "reports")]
        lab_before = _lab_cpu(lab)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        with open(out / "output.txt", "wb") as log:
            env = _env(callback_dir, timings, case.collections, out / "probe", templates)
            proc = subprocess.Popen(command, cwd=out, env=env,  # pylint: disable=consider-using-with
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                # wait4: the run's own rusage; its ru_maxrss is the largest process of this run (RUSAGE_CHILDREN's
                # would be the largest child this benchmark ever waited for).
                _pid, status, usage = os.wait4(proc.pid, 0)
            except BaseException:
                # ansible-playbook and its forked workers: the whole process group of this run.
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
            proc.returncode = rc = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        output = (out / "output.txt").read_bytes()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        lab_cpu = _lab_cpu(lab) - lab_before
        executions = sum(lab.stats(h)["module_executions"] for h in lab.hosts)
    finally:
        _stop(lab)
    tail = output.decode("utf-8", "replace")[-3000:]
    if rc != 0:
        raise SystemExit(f"run failed (rc {rc}): {' '.join(command)}\n{tail}")
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "rss_mb": usage.ru_maxrss / 1024, "lab_cpu": lab_cpu, "rc": rc, "executions": executions,
            **read_probe(out / "probe"),
            "tasks": json.loads(timings.read_text(encoding="utf-8")) if timings and timings.exists() else []}


def make_master_record(workdir: pathlib.Path) -> pathlib.Path:
    """The image-prep record of one prepared master (the clone check compares the clones with it)."""
    definition = {"name": "master", "hosts": {MASTER: "ref_assigned"}, "groups": {"reference_vms": [MASTER]}}
    out = workdir / "master"
    out.mkdir(parents=True, exist_ok=True)
    lab = Lab(definition).start()
    try:
        inventory = lab.write_inventory(out / "inventory.yml")
        proc = subprocess.run([str(BIN_DIR / "ansible-playbook"), "-i", str(inventory), "mecm.fieldkit.client_image_prep",
                               "-e", f"client_image_prep_hosts={MASTER}", "-e", f"client_image_prep_report_dir={out}"],
                              cwd=out, env=_env(None, None), capture_output=True, text=True, check=False)
    finally:
        _stop(lab)
    if proc.returncode != 0:
        raise SystemExit(f"could not prepare the master:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return out / f"{MASTER}.json"


CALLBACK = '''
"""bench_scale: wall time per task (start of one task to the start of the next), and results per task."""
import json, os, time
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.tasks, self.current = [], None

    def _close(self):
        if self.current:
            self.current["seconds"] = time.perf_counter() - self.current.pop("started")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current = {"task": task.get_name(), "started": time.perf_counter(), "results": 0}
        self.tasks.append(self.current)

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _count(self, result, *args, **kwargs):
        if self.current:
            self.current["results"] += 1

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _count

    def v2_playbook_on_stats(self, stats):
        self._close()
        self.current = None
        with open(os.environ["BENCH_TASK_TIMINGS"], "w", encoding="utf-8") as handle:
            json.dump(self.tasks, handle)
'''


def _median(runs: list[dict[str, t.Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def summarise(results: dict[str, list[dict[str, t.Any]]], all_cases: dict[str, Case]) -> dict[str, dict[str, t.Any]]:
    floors = {all_cases[name].floor: name for name in results if all_cases[name].kind == "floor"}
    table = {}
    for name, runs in results.items():
        row = {key: _median(runs, key) for key in ("wall", "cpu", "rss_mb", "lab_cpu", "executions", "main_cpu",
                                                   "workers_cpu")}
        floor = floors.get(all_cases[name].floor)
        if floor:
            row["wall_ratio"] = row["wall"] / _median(results[floor], "wall")
            row["cpu_ratio"] = row["cpu"] / _median(results[floor], "cpu")
        row["runs"] = len(runs)
        row["each_run"] = [{key: r[key] for key in ("wall", "cpu", "rss_mb", "lab_cpu")} for r in runs]
        row["rc"] = sorted({r["rc"] for r in runs})
        tasks: dict[str, list[float]] = {}
        counts: dict[str, int] = {}
        for run in runs:
            for task in run["tasks"]:
                tasks.setdefault(task["task"], []).append(task["seconds"])
                counts[task["task"]] = task["results"]
        row["tasks"] = [{"task": task, "seconds": statistics.median(secs), "results": counts[task]}
                        for task, secs in tasks.items()]
        merged: dict[str, list[float]] = {}
        for run in runs:
            for text, (count, ms) in run["templates"].items():
                merged.setdefault(text, [0, 0.0])
                merged[text][0] += count / len(runs)
                merged[text][1] += ms / len(runs)
        row["templates"] = [{"template": text, "count": count, "ms": ms}
                            for text, (count, ms) in sorted(merged.items(), key=lambda item: -item[1][1])]
        table[name] = row
    return table


def print_table(hosts: int, dps: int, forks: int, table: dict[str, dict[str, t.Any]], show_tasks: bool,
                show_templates: int = 0) -> None:
    print(f"\n[simulated lab] {hosts} reference machines, site with {dps} DPs, forks {forks}, "
          f"{os.cpu_count()} cores, medians of {max((r['runs'] for r in table.values()), default=0)} runs")
    print(f"{'case':<46} {'wall s':>8} {'ctl CPU s':>10} {'main':>6} {'workers':>8} {'x wall':>7} {'x CPU':>6} "
          f"{'peak RSS MB':>12} {'lab CPU s':>10} {'execs':>6}")
    for name, row in table.items():
        ratio = (f"{row['wall_ratio']:>7.2f} {row['cpu_ratio']:>6.2f}" if "wall_ratio" in row else f"{'':>7} {'':>6}")
        split = f"{row.get('main_cpu', float('nan')):>6.1f} {row.get('workers_cpu', float('nan')):>8.1f}"
        print(f"{name:<46} {row['wall']:>8.1f} {row['cpu']:>10.1f} {split} {ratio} {row['rss_mb']:>12.0f} "
              f"{row['lab_cpu']:>10.1f} {row['executions']:>6.0f}")
        if show_tasks:
            for task in row["tasks"]:
                print(f"    {task['task'][:70]:<70} {task['seconds']:>7.2f} s  {task['results']:>5} results")
        for entry in row.get("templates", [])[:show_templates]:
            each = entry["ms"] / entry["count"] if entry["count"] else 0.0
            print(f"    {entry['ms'] / 1000:>6.2f} s worker CPU = {entry['count']:>5.0f} x {each:>6.2f} ms  "
                  f"{entry['template'][:90]}")


def print_json(path: pathlib.Path, show_tasks: bool, show_templates: int = 0) -> None:
    """The tables of a --json file (also one written by a run stopped between rounds)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for hosts, table in data["sizes"].items():
        print_table(int(hosts), data["dps"], data["forks"], table, show_tasks, show_templates)
    print(f"load average at the last round: {data.get('load_average')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hosts", default="100,200", help="comma-separated numbers of reference machines")
    parser.add_argument("--dps", type=int, default=50, help="DPs of the generated site")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--playbooks", default="", help="comma-separated case names or substrings (default: all); "
                        "the floors always run")
    parser.add_argument("--tasks", action="store_true", help="print the wall time of each task per case")
    parser.add_argument("--templates", type=int, default=0, metavar="N",
                        help="time every template and conditional in the workers (ansible-core 2.19+) and print the "
                        "N that cost the most worker CPU per case; the probe itself costs CPU, so read these runs for "
                        "the split, not for the ratios")
    parser.add_argument("--json", type=pathlib.Path, help="also write every figure to this file")
    parser.add_argument("--collections-path", help="a directory with ansible_collections/mecm/fieldkit to measure "
                        "instead of this checkout (e.g. a copy of an older tree)")
    parser.add_argument("--before", help="a directory with ansible_collections/mecm/fieldkit (an older tree): every "
                        "playbook case also runs from it, interleaved with this checkout's, as '<case> (before)'")
    parser.add_argument("--print", type=pathlib.Path, metavar="JSON", help="print the tables of a --json file and exit")
    args = parser.parse_args(argv)
    if args.print:
        print_json(args.print, args.tasks, args.templates)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.collections_path:
        COLLECTIONS.insert(0, args.collections_path)
    wanted = [w.strip() for w in args.playbooks.split(",") if w.strip()]
    everything: dict[str, t.Any] = {"cores": os.cpu_count(), "forks": args.forks, "dps": args.dps, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        workdir = pathlib.Path(tmp)
        callback_dir = None
        if args.tasks:
            callback_dir = workdir / "callbacks"
            callback_dir.mkdir()
            (callback_dir / "bench_task_timer.py").write_text(CALLBACK, encoding="utf-8")
        selected = cases(None)
        selected = {name: case for name, case in selected.items()
                    if case.kind == "floor" or (any(w in name for w in wanted) if wanted else case.kind != "anatomy")}
        if not args.dps:
            selected = {name: case for name, case in selected.items() if case.floor != "dps"}
        master = make_master_record(workdir) if any("clone_check" in name for name in selected) else None
        all_cases = cases(master)
        if args.before:
            with_before: dict[str, Case] = {}
            for name in selected:
                if all_cases[name].kind == "playbook":
                    all_cases[f"{name} (before)"] = all_cases[name]._replace(collections=args.before)
                    with_before[f"{name} (before)"] = all_cases[name]
                with_before[name] = selected[name]
            selected = with_before
        for hosts in [int(h) for h in args.hosts.split(",") if h.strip()]:
            definition = lab_definition(hosts, args.dps)
            results: dict[str, list[dict[str, t.Any]]] = {name: [] for name in selected}
            for run in range(args.runs):
                for name in selected:  # interleaved: every case once per round
                    results[name].append(run_once(all_cases[name], definition, workdir, args.forks, callback_dir,
                                                  templates=args.templates > 0))
                    print(f"  [{hosts} hosts, run {run + 1}/{args.runs}] {name}: {results[name][-1]['wall']:.1f} s",
                          file=sys.stderr, flush=True)
                # After every round: the medians so far (a long benchmark can be stopped between rounds).
                everything["sizes"][str(hosts)] = summarise(results, all_cases)
                everything["load_average"] = os.getloadavg()
                if args.json:
                    args.json.write_text(json.dumps(everything, indent=2), encoding="utf-8")
            print_table(hosts, args.dps, args.forks, everything["sizes"][str(hosts)], args.tasks, args.templates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
