# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the clone check (role and playbook client_clone_check); thin wrappers over plugin_utils._clone_check."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _clone_check as clone


def clone_check_master(path: t.Any) -> dict[str, t.Any]:
    """Read and validate the master's image-prep record; ``problems`` says what is wrong with it."""
    return clone.load_master_record(path)


def clone_check_run(hostvars: t.Any, hosts: t.Any, master: t.Any, fail_on_pending: t.Any = False,
                    var: str = "client_clone_check_facts") -> dict[str, t.Any]:
    """Check the clones: their registered win_sccm_client_facts results against the master and each other."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(f"clone_check_run: hosts must be a list of host names, got {type(hosts).__name__}")
    if not isinstance(master, t.Mapping) or master.get("problems") or "sms_unique_ids" not in master:
        raise AnsibleFilterError("clone_check_run: master must be a valid result of clone_check_master")
    results: dict[str, t.Any] = {}
    for host in hosts:
        try:
            results[str(host)] = hostvars[host].get(var)
        except (KeyError, AttributeError):
            results[str(host)] = None
    return clone.clone_check(results, master, bool(fail_on_pending))


def clone_check_report_files(run: t.Any) -> dict[str, t.Any]:
    """The report files: ``<clone>.json``, ``summary.json``, ``client_clone_check.md`` and the JUnit XML."""
    if not isinstance(run, t.Mapping) or "clones" not in run:
        raise AnsibleFilterError("clone_check_report_files: expects the dict returned by clone_check_run")
    return clone.report_files(run)


class FilterModule:
    """mecm.fieldkit clone-check filters."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "clone_check_master": clone_check_master,
            "clone_check_run": clone_check_run,
            "clone_check_report_files": clone_check_report_files,
        }
