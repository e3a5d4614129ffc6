"""Build the collection tarball (``tests/build/dist.py``: stripped PowerShell) and check what users
would install: the simulated lab, the test harness and the developer guide must not be in it; the
modules, the runner and its PowerShell, the execution-environment files and the docs-site files must.
The shipped PowerShell must be the stripped form of the repository's and pass the same checks.

Then the build tests run (``pytest tests/build``: the stripper, ``ansible-builder create`` and
introspection of the execution environment, the antsibull-docs build of the collection docs).

    .venv/bin/python tests/build/check_build.py [--no-tests]
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tarfile

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.build.dist import DEFAULT_OUT, POWERSHELL_SUFFIXES, build_tarball  # noqa: E402
from tests.build.psstrip import strip_powershell  # noqa: E402
from tests.pscheck.pitfalls import lint_files  # noqa: E402
from tests.simhost.psparse import check_syntax  # noqa: E402

FORBIDDEN_PREFIXES = ("tests/simhost", "tests/pscheck", "tests/windows", ".github", "tests/unit", "tests/e2e", ".venv",
                      ".ansible", ".lab", "build/", "reports", "extensions/molecule", "docs/development.md",
                      "tests/build", "tests/benchmarks", "tests/matrix", "tests/browser", "tests/junit_xsd.py",
                      "tests/sanity/run_lint.py", "tests/sanity/run_sanity.py")
REQUIRED = (
    "MANIFEST.json",
    "FILES.json",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "requirements.txt",
    "bindep.txt",
    "docs/docsite/extra-docs.yml",
    "docs/docsite/links.yml",
    "plugins/modules/sccm_op_runner.ps1",
    "plugins/modules/sccm_op_runner.py",
    "plugins/modules/win_sccm_client_facts.py",
    "plugins/action/win_sccm_client_facts.py",
    "plugins/module_utils/_FieldkitCommon.psm1",
    "plugins/modules/sccm_op_runner_site.ps1",
    "plugins/module_utils/_FieldkitDpShared.psm1",
    "plugins/module_utils/_FieldkitSiteOps.psm1",
    "plugins/plugin_utils/_ops.py",
    "playbooks/client_facts.yml",
    "COPYING",
)


def shipped_powershell_problems(archive: tarfile.TarFile, names: list[str]) -> list[str]:
    """The tarball's PowerShell is exactly the stripped repository source, parses and has no pitfall."""
    problems: list[str] = []
    shipped: dict[str, str] = {}
    for name in names:
        if not name.startswith("plugins/") or not name.lower().endswith(POWERSHELL_SUFFIXES):
            continue
        text = archive.extractfile(name).read().decode("utf-8")
        shipped[name] = text
        source = REPO / name
        if not source.exists():
            problems.append(f"{name}: shipped but not in the repository")
            continue
        expected, _stats = strip_powershell(source.read_text(encoding="utf-8"))
        if text != expected:
            problems.append(f"{name}: not the stripped form of the repository's file")
        problems += [f"{name}: {issue}" for issue in check_syntax(text, name)]
    problems += [f"pitfall in the shipped code: {finding}" for finding in lint_files(shipped)]
    if not shipped:
        problems.append("no PowerShell in the build")
    return problems


def main() -> int:
    tarball, figures = build_tarball(DEFAULT_OUT)
    with tarfile.open(tarball) as archive:
        names = [m.name for m in archive.getmembers()]
        problems = [f"forbidden in the build: {n}" for n in names if n.startswith(FORBIDDEN_PREFIXES)]
        problems += [f"missing from the build: {r}" for r in REQUIRED if r not in names]
        problems += shipped_powershell_problems(archive, names)
    before = sum(s.before for s in figures.values())
    after = sum(s.after for s in figures.values())
    print(f"[build] {tarball.name}: {len(names)} entries, {tarball.stat().st_size:,} bytes; "
          f"PowerShell {before:,} -> {after:,} bytes stripped")
    for problem in problems:
        print(f"[build] {problem}")
    if problems:
        return 1
    if "--no-tests" in sys.argv[1:]:
        return 0
    print("[build] pytest tests/build")
    env = dict(os.environ, FIELDKIT_TARBALL=str(tarball))
    return subprocess.run([sys.executable, "-m", "pytest", str(REPO / "tests" / "build"), "-q", "-p", "no:cacheprovider"],
                          cwd=REPO, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
