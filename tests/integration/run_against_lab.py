"""Run the integration targets with ``ansible-test windows-integration`` against the simulated lab.

The targets in tests/integration/targets are written for real Windows hosts (see
inventory.winrm.template). Here each one runs, unchanged, against simulated hosts that fit it, from the
unpacked build tarball, so the targets themselves are proven to work end to end. What this proves and
does not prove is the same as for the rest of the lab: the controller side and the transport, not the
PowerShell on Windows.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.build.collection_tree import unpack_build  # noqa: E402
from tests.simhost.lab import PASSWORD, USERNAME, Lab  # noqa: E402

WORK = REPO / "build" / "integration"
# target -> simulated hosts it runs against (name -> fixture), and whether the target is "unsupported" in CI
TARGETS = {
    "win_sccm_client_facts": ({"ref-assigned": "ref_assigned", "ref-clean": "clean_windows"}, False),
    "win_sccm_client_generalize": ({"ref-assigned": "ref_assigned"}, True),
    "win_sccm_dp_facts": ({"dp01": "dp_healthy"}, True),
}


def _inventory(lab: Lab) -> str:
    lines = ["[windows]"]
    lines += [f"{name} ansible_host=127.0.0.1 ansible_port={server.port}" for name, server in lab.servers.items()]
    lines += ["", "[windows:vars]", "ansible_connection=winrm", f"ansible_user={USERNAME}",
              f"ansible_password={PASSWORD}", "ansible_winrm_transport=ntlm", "ansible_winrm_scheme=http", ""]
    return "\n".join(lines)


def main() -> int:
    bin_dir = pathlib.Path(sys.executable).parent
    target_root = unpack_build(WORK, bin_dir)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    status = 0
    for target, (hosts, unsupported) in TARGETS.items():
        with Lab.from_fixtures(hosts) as lab:
            inventory = target_root / "tests" / "integration" / "inventory.winrm"
            inventory.write_text(_inventory(lab), encoding="utf-8")
            cmd = [str(bin_dir / "ansible-test"), "windows-integration", "--inventory", str(inventory),
                   "--color", "no", target]
            if unsupported:
                cmd.insert(2, "--allow-unsupported")
            print(f"[integration] {target} against simulated {', '.join(hosts)}", flush=True)
            result = subprocess.run(cmd, cwd=target_root, env=env, check=False).returncode
            print(f"[integration] {target}: {'passed' if result == 0 else 'FAILED'}", flush=True)
            status |= result
    return status


if __name__ == "__main__":
    sys.exit(main())
