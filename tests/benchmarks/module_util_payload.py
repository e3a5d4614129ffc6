"""Measurement, not a test: which PowerShell module utils ansible-core ships with each op runner module,
and how many bytes they add to the exec payload, offline (no host, no lab).

ansible-core 2.16-2.18 key the module utils of a payload by the name as written in ``#AnsibleRequires``;
2.19 resolves relative names first. A util required as ``..module_utils._X`` by a runner and as ``._X`` by
another util is therefore shipped (and imported on the host) twice by 2.16-2.18. Run it with the Python of
a virtualenv that has the ansible-core version to measure:

    /path/to/venv/bin/python tests/benchmarks/module_util_payload.py [--collection-root DIR] [--ref GIT_REF]

``--ref`` measures the runner modules as they were at a git commit (extracted to a temporary folder).
"""
from __future__ import annotations

import argparse
import base64
import io
import pathlib
import subprocess
import sys
import tarfile
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]


def _collection_root_at(ref: str, workdir: pathlib.Path) -> pathlib.Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref, "plugins"],
                             capture_output=True, check=True).stdout
    target = workdir / "ansible_collections" / "mecm" / "fieldkit"
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return workdir


def _install_collection_finder(root: pathlib.Path) -> None:
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[str(root)])._install()


def measure_runner(root: pathlib.Path, runner: str) -> dict[str, int]:
    """Module-util entries and their base64 bytes in the payload of one runner module."""
    from ansible.executor.powershell.module_manifest import PSModuleDepFinder

    path = root / "ansible_collections" / "mecm" / "fieldkit" / "plugins" / "modules" / f"{runner}.ps1"
    fqn = f"ansible_collections.mecm.fieldkit.plugins.modules.{runner}"
    finder = PSModuleDepFinder()
    finder.scan_module(path.read_bytes(), fqn=fqn, powershell=True)
    if hasattr(finder, "ps_modules"):  # ansible-core <= 2.18: {name as written: {"data": bytes, ...}}
        sizes = {name: len(base64.b64encode(info["data"])) for name, info in finder.ps_modules.items()}
    else:  # 2.19: {"<fqn>.psm1": _ScriptInfo(script=base64 text)}
        sizes = {name: len(info.script) for name, info in finder.scripts.items() if name.endswith(".psm1")}
    fieldkit = {name: size for name, size in sizes.items() if "_Fieldkit" in name}
    seen: set[str] = set()
    duplicated = 0
    for name, size in fieldkit.items():
        util = name.removesuffix(".psm1").rsplit(".", 1)[-1]
        if util in seen:
            duplicated += size
        seen.add(util)
    return {"entries": len(fieldkit), "distinct": len(seen), "base64_bytes": sum(fieldkit.values()),
            "duplicated_bytes": duplicated}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection-root", type=pathlib.Path, default=REPO / ".ansible" / "collections")
    parser.add_argument("--ref", help="measure the plugins/ tree of this git commit instead")
    options = parser.parse_args()
    import ansible.release

    with tempfile.TemporaryDirectory() as tmp:
        root = _collection_root_at(options.ref, pathlib.Path(tmp)) if options.ref else options.collection_root
        _install_collection_finder(root)
        label = options.ref or "working tree"
        print(f"ansible-core {ansible.release.__version__}, {label}: mecm.fieldkit module utils per runner payload")
        print(f"{'runner':<30}{'util entries':>14}{'distinct':>10}{'base64 bytes':>14}{'of them twice':>15}")
        # The runner modules of the measured tree (an older commit has fewer).
        modules = root / "ansible_collections" / "mecm" / "fieldkit" / "plugins" / "modules"
        for runner in sorted(path.stem for path in modules.glob("sccm_op_runner*.ps1")):
            row = measure_runner(root, runner)
            print(f"{runner:<30}{row['entries']:>14}{row['distinct']:>10}{row['base64_bytes']:>14,}"
                  f"{row['duplicated_bytes']:>15,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
