"""The ansible-core matrix: the unit tests and the end-to-end tests through the simulated lab on every
ansible-core minor that ``meta/runtime.yml`` claims, each in its own virtualenv from pinned requirements.

    .venv/bin/python tests/matrix/run_matrix.py                 # 2.16 2.17 2.18 2.19
    .venv/bin/python tests/matrix/run_matrix.py --versions 2.16 --jobs 1

Each environment is created once under ``.matrix/<minor>/`` from ``tests/matrix/requirements-<minor>.txt``
and re-created when that file changes (stamp ``.installed-<sha256 prefix>``, like the Makefile's). For 2.19
the project ``.venv`` is used when it holds exactly the pins of ``requirements-2.19.txt`` (it does when built
from requirements-dev.txt): CI has built it already, so the matrix saves one install. ``--own-venv`` builds
``.matrix/2.19/`` anyway.

Per version it runs ``pytest tests/unit`` (minus the tests listed in ``VERSION_SPECIFIC`` that assert what
only 2.19 does and the wall-clock test in ``ALWAYS_SKIPPED``, each with its reason) and end-to-end tests:
``tests/e2e/test_matrix_subset.py`` (client facts, image prep check and real, DP diagnosis, artifact types,
an option error) on every version, and on the oldest one claimed (``OLDEST``, the furthest from 2.19, whose
templating without native types once published every count as a string) also the report and artifact tests of
every playbook (``OLDEST_E2E``). ``--full-e2e 2.16,2.17`` runs all of ``tests/e2e`` on those versions instead
(about 5 min each on 2 cores; too long for every CI run, which has 30 min for all gates; ``make e2e`` runs
them on 2.19). Then it prints one table: pass/fail, and for client facts the module executions, HTTP requests
and bytes per host that the lab counted. Exit status 1 when any version fails. Everything the tests talk to is
the simulated lab.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
MATRIX_DIR = REPO / ".matrix"
REQUIREMENTS_DIR = REPO / "tests" / "matrix"
DEV_VENV = REPO / ".venv"
VERSIONS = ("2.16", "2.17", "2.18", "2.19")
SUBSET = "tests/e2e/test_matrix_subset.py"
OLDEST = "2.16"
OLDEST_E2E = (SUBSET, "tests/e2e/test_playbook_reports.py")

# Unit tests that assert what only ansible-core 2.19 does: not run on 2.16-2.18 (node id -> reason).
VERSION_SPECIFIC = {
    "tests/unit/simhost/test_psparse.py::test_known_gaps_match_the_installed_grammar_and_ansible":
        "pins 2.19.14's scripts; tests/unit/simhost/test_payload_versions.py checks each older version's pins",
    "tests/unit/simhost/test_psparse.py::test_check_payload_scripts_accepts_unmodified_ansible_scripts":
        "2.19.14's scripts as files; older versions strip comments from exec scripts (test_payload_versions.py)",
    "tests/unit/simhost/test_psparse.py::test_check_payload_scripts_matches_base_name_and_skips_non_powershell":
        "uses 2.19.14's exec_wrapper.ps1 as a file; the older payload form is covered by test_payload_versions.py",
    "tests/unit/simhost/test_winrm_transport.py::test_ansible_keep_remote_files_path":
        "counts 2.19's HTTP requests (14); 2.16-2.18 send mkdtemp/put_file as other commands (12)",
    "tests/unit/plugins/action/test_win_sccm_client_generalize.py::test_bad_input_fails_before_any_remote_call[args1-wipe_disk]":
        "builds the action plugin without the plugin loader; 2.16-2.18 name unsupported options by its _load_name",
    "tests/unit/plugins/action/test_report_files.py::test_empty_dest_is_refused[None]":
        "dest=None: 2.16-2.18 refuse it in their type=path conversion, before the plugin's own message",
}
# Not run by the matrix on any version (node id -> reason); ``make unit`` runs them on .venv.
ALWAYS_SKIPPED = {
    "tests/unit/pscheck/test_pitfalls.py::test_lint_of_the_shipped_code_is_fast":
        "a wall-clock bound, not version behaviour: two versions run side by side on 2 cores",
}
_SUMMARY = re.compile(r"^=*\s*(?P<body>(?:\d+ \w+(?:, )?)+) in [\d.]+s")


@dataclasses.dataclass
class Outcome:
    version: str
    env: str = ""
    ansible_core: str = ""
    setup_seconds: float = 0.0
    unit: str = "not run"
    subset: str = "not run"
    seconds: float = 0.0
    figures: dict = dataclasses.field(default_factory=dict)
    passed: bool = False
    log: str = ""


def requirements_file(version: str) -> pathlib.Path:
    return REQUIREMENTS_DIR / f"requirements-{version}.txt"


def pins(version: str) -> dict[str, str]:
    lines = requirements_file(version).read_text(encoding="utf-8").splitlines()
    return dict(line.strip().split("==", 1) for line in lines if line.strip() and not line.startswith("#"))


def _dev_venv_matches(version: str) -> bool:
    """True when .venv has every pin of requirements-<version>.txt at exactly that version."""
    python = DEV_VENV / "bin" / "python"
    if not python.exists():
        return False
    check = ("import importlib.metadata as m, json, sys\n"
             "want = json.loads(sys.argv[1])\n"
             "def v(n):\n"
             "    try:\n        return m.version(n)\n"
             "    except m.PackageNotFoundError:\n        return None\n"
             "sys.exit(0 if all(v(n) == w for n, w in want.items()) else 1)\n")
    return subprocess.run([str(python), "-c", check, json.dumps(pins(version))], check=False).returncode == 0


def ensure_env(version: str, *, own_venv: bool, base_python: str) -> pathlib.Path:
    """The bin/ directory of the version's environment, created or re-created when needed."""
    if version == "2.19" and not own_venv and _dev_venv_matches(version):
        return DEV_VENV / "bin"
    venv = MATRIX_DIR / version
    digest = hashlib.sha256(requirements_file(version).read_bytes()).hexdigest()[:16]
    stamp = venv / f".installed-{digest}"
    if not stamp.exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(requirements_file(version))], check=True)
        stamp.touch()
    return venv / "bin"


def _pytest(bin_dir: pathlib.Path, args: list[str], env: dict[str, str]) -> tuple[bool, str, str]:
    proc = subprocess.run([str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    summary = next((re.sub(r", \d+ warnings?", "", m.group("body")) for line in reversed(proc.stdout.splitlines()) if (m := _SUMMARY.match(line))),
                   f"exit {proc.returncode}")
    return proc.returncode == 0, summary, proc.stdout[-20000:] + proc.stderr[-5000:]


def e2e_paths(version: str, full: frozenset[str] = frozenset()) -> list[str]:
    """What end-to-end tests a version runs (see the module docstring)."""
    if version in full:
        return ["tests/e2e"]
    return list(OLDEST_E2E) if version == OLDEST else [SUBSET]


def run_version(version: str, *, own_venv: bool, base_python: str, full: frozenset[str] = frozenset()) -> Outcome:
    outcome = Outcome(version)
    started = time.monotonic()
    try:
        bin_dir = ensure_env(version, own_venv=own_venv, base_python=base_python)
    except subprocess.CalledProcessError as err:
        outcome.log = f"environment for {version} could not be built: {err}"
        return outcome
    outcome.env = os.path.relpath(bin_dir.parent, REPO)
    outcome.setup_seconds = time.monotonic() - started
    outcome.ansible_core = pins(version)["ansible-core"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "VIRTUAL_ENV", "PYTEST_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    skipped = {**ALWAYS_SKIPPED, **({} if version == "2.19" else VERSION_SPECIFIC)}
    deselect = [arg for node in skipped for arg in ("--deselect", node)]
    unit_ok, outcome.unit, unit_log = _pytest(bin_dir, ["tests/unit", *deselect], env)
    with tempfile.TemporaryDirectory(prefix=f"matrix-{version}-") as tmp:
        figures_file = pathlib.Path(tmp) / "figures.json"
        subset_ok, outcome.subset, subset_log = _pytest(bin_dir, e2e_paths(version, full),
                                                        dict(env, FIELDKIT_MATRIX_FIGURES=str(figures_file)))
        if figures_file.exists():
            outcome.figures = json.loads(figures_file.read_text(encoding="utf-8"))
    outcome.passed = unit_ok and subset_ok
    outcome.log = "" if outcome.passed else unit_log + "\n" + subset_log
    outcome.seconds = time.monotonic() - started
    return outcome


def print_table(outcomes: list[Outcome], wall: float) -> None:
    print(f"[simulated lab] ansible-core matrix: tests/unit and {SUBSET} per version, "
          f"{', '.join(OLDEST_E2E[1:])} on {OLDEST}; all of tests/e2e with --full-e2e")
    print(f"{'version':<8} {'ansible-core':<13} {'result':<6} {'unit tests':<36} {'e2e':<20} "
          f"{'env':<13} {'setup s':>7} {'total s':>7}")
    for o in outcomes:
        print(f"{o.version:<8} {o.ansible_core:<13} {'PASS' if o.passed else 'FAIL':<6} {o.unit:<36} {o.subset:<20} "
              f"{o.env:<13} {o.setup_seconds:>7.1f} {o.seconds:>7.1f}")
    print()
    print("client facts, one call per host (win_sccm_client_facts, NTLM with message encryption):")
    print(f"{'version':<8} {'host':<14} {'executions':>10} {'requests':>9} {'bytes sent':>11} {'bytes received':>15}")
    for o in outcomes:
        for host, f in sorted(o.figures.items()):
            print(f"{o.version:<8} {host:<14} {f['module_executions']:>10} {f['http_requests']:>9} "
                  f"{f['bytes_in']:>11,} {f['bytes_out']:>15,}")
    print(f"\nmatrix wall time: {wall:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default=",".join(VERSIONS), help="comma-separated minors (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="versions run at the same time (default 2)")
    parser.add_argument("--own-venv", action="store_true", help="build .matrix/2.19 instead of using .venv")
    parser.add_argument("--full-e2e", default="", metavar="VERSIONS",
                        help="comma-separated minors that run all of tests/e2e (default: none)")
    parser.add_argument("--python", default=getattr(sys, "_base_executable", sys.executable),
                        help="interpreter the environments are created with (default: this one's base)")
    args = parser.parse_args(argv)
    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    unknown = [v for v in versions if not requirements_file(v).exists()]
    if unknown:
        parser.error(f"--versions: no tests/matrix/requirements-<version>.txt for {', '.join(unknown)}; "
                     f"allowed: {', '.join(VERSIONS)}")
    full = frozenset(v.strip() for v in args.full_e2e.split(",") if v.strip())
    if full - set(versions):
        parser.error(f"--full-e2e: {', '.join(sorted(full - set(versions)))} is not among --versions; allowed: "
                     f"{', '.join(versions)}")
    MATRIX_DIR.mkdir(exist_ok=True)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda v: run_version(v, own_venv=args.own_venv, base_python=args.python, full=full),
                                 versions))
    for o in outcomes:
        if not o.passed:
            print(f"----- ansible-core {o.version}: FAILED -----\n{o.log}\n", file=sys.stderr)
    print_table(outcomes, time.monotonic() - started)
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
