"""Run the integration targets with ``ansible-test windows-integration`` against the simulated lab.

The targets in tests/integration/targets are written for real Windows hosts (see
inventory.winrm.template). Here each one runs, unchanged, against simulated hosts that fit it, from the
unpacked build tarball, so the targets themselves are proven to work end to end. What this proves and
does not prove is the same as for the rest of the lab: the controller side and the transport, not the
PowerShell on Windows. The targets' independent checks on the host (raw PowerShell commands) are
switched off here (fieldkit_verify_on_host=false): the lab does not run PowerShell.

    .venv/bin/python tests/integration/run_against_lab.py                  # every target
    .venv/bin/python tests/integration/run_against_lab.py report_files     # some targets
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
# The DP targets need the primary site server and its DPs in the inventory groups the dp_diagnose role uses.
_DP_SITE = {"hosts": {"cm01.contoso.local": "site_cm01", "dp01.contoso.local": "dp_healthy"},
            "groups": {"site_servers": ["cm01.contoso.local"], "distribution_points": ["dp01.contoso.local"]},
            "vars": {"fieldkit_source_share": "\\\\cm01.contoso.local\\Sources"}}
# target -> the simulated hosts it runs against (inventory name -> fixture), inventory groups besides
# [windows], extra inventory variables, and whether the target is "unsupported" in CI (ansible-test then
# needs --allow-unsupported). Every target gets fieldkit_verify_on_host=false: the lab answers module
# executions only, not the raw PowerShell commands the targets use to check real hosts independently.
TARGETS: dict[str, dict] = {
    "win_sccm_client_facts": {"hosts": {"ref-assigned": "ref_assigned", "ref-clean": "clean_windows"}},
    "win_sccm_client_generalize": {"hosts": {"ref-assigned": "ref_assigned"}, "unsupported": True},
    "win_sccm_client_install": {"hosts": {"ref-new": "new_capture"}, "unsupported": True},
    "win_sccm_dp_facts": {"hosts": {"dp01": "dp_healthy"}, "unsupported": True},
    "win_sccm_site_facts": {**_DP_SITE, "unsupported": True},
    "sccm_dp_diagnose": {**_DP_SITE, "vars": {**_DP_SITE["vars"], "dp_diagnose_expect_pass": "true"},
                         "unsupported": True},
    "sccm_dp_report": {**_DP_SITE, "unsupported": True},
    "report_files": {"hosts": {"ref-clean": "clean_windows"}},
}
LAB_VARS = {"fieldkit_verify_on_host": "false"}


def _inventory(lab: Lab, groups: dict[str, list[str]], extra_vars: dict[str, str]) -> str:
    lines = ["[windows]"]
    lines += [f"{name} ansible_host=127.0.0.1 ansible_port={server.port}" for name, server in lab.servers.items()]
    lines += ["", "[windows:vars]", "ansible_connection=winrm", f"ansible_user={USERNAME}",
              f"ansible_password={PASSWORD}", "ansible_winrm_transport=ntlm", "ansible_winrm_scheme=http"]
    lines += [f"{key}={value}" for key, value in {**LAB_VARS, **extra_vars}.items()]
    for group, members in groups.items():
        lines += ["", f"[{group}]", *members]
    return "\n".join(lines) + "\n"


def main() -> int:
    bin_dir = pathlib.Path(sys.executable).parent
    target_root = unpack_build(WORK, bin_dir)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    status = 0
    selected = sys.argv[1:] or list(TARGETS)
    unknown = sorted(set(selected) - set(TARGETS))
    if unknown:
        print(f"[integration] unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}", flush=True)
        return 2
    failed: list[str] = []
    for target in selected:
        spec = TARGETS[target]
        hosts = spec["hosts"]
        groups = spec.get("groups", {})
        with Lab.from_fixtures(hosts, groups) as lab:
            inventory = target_root / "tests" / "integration" / "inventory.winrm"
            inventory.write_text(_inventory(lab, groups, spec.get("vars", {})), encoding="utf-8")
            cmd = [str(bin_dir / "ansible-test"), "windows-integration", "--inventory", str(inventory),
                   "--color", "no", target]
            if spec.get("unsupported"):
                cmd.insert(2, "--allow-unsupported")
            print(f"[integration] {target} against simulated {', '.join(hosts)}", flush=True)
            result = subprocess.run(cmd, cwd=target_root, env=env, check=False).returncode
            print(f"[integration] {target}: {'passed' if result == 0 else 'FAILED'}", flush=True)
            if result:
                failed.append(target)
    print(f"[integration] {len(selected) - len(failed)} of {len(selected)} targets passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
