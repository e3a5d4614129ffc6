# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and shape of win_sccm_client_facts. FOR INTERNAL COLLECTION USE ONLY."""
from __future__ import annotations

import datetime
import typing as t

from ._batch import BatchOutcome
from ._host_contract import HEALTH_TASK_NAME, HEALTH_TASK_PATH
from ._imaging_platform import shape_imaging_platform
from ._ops import PlannedOp
TRUSTED_ROOT_KEY_NAMESPACE = "root\\ccm\\locationservices"
TRUSTED_ROOT_KEY_CLASS = "TrustedRootKey"


def plan_client_facts() -> list[PlannedOp]:
    """The read-only ops that make up ``ansible_facts.sccm_client``; one batch, one execution."""
    return [
        PlannedOp("install", "client.read_install"),
        PlannedOp("identity", "client.read_identity"),
        PlannedOp("site_assignment", "client.read_site_assignment"),
        PlannedOp("ccmexec", "service.read", {"name": "CcmExec"}),
        PlannedOp("health_task", "task.read", {"path": HEALTH_TASK_PATH, "name": HEALTH_TASK_NAME}),
        PlannedOp("sms_certificates", "cert.list", {"store_name": "SMS"}),
        PlannedOp("trusted_root_key", "wmi.count_instances",
                  {"namespace": TRUSTED_ROOT_KEY_NAMESPACE, "class_name": TRUSTED_ROOT_KEY_CLASS}),
        PlannedOp("provisioning_mode", "client.read_provisioning_mode"),
        PlannedOp("ccmsetup_process", "process.list", {"names": ["ccmsetup"]}),
        PlannedOp("ccmsetup_service", "service.read", {"name": "ccmsetup"}),
        PlannedOp("task_sequence", "client.read_task_sequence"),
        PlannedOp("site_roles", "site.read_roles"),
        PlannedOp("imaging_platform", "client.read_imaging_platform"),
    ]


def _epoch_to_iso(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def assigned_site(assignment: dict[str, t.Any] | None) -> str | None:
    """The assigned site of a ``client.read_site_assignment`` reading, None when unassigned or unknown.

    COM ``GetAssignedSite()`` is what the seed checks; the registry is the fallback without the COM object and
    when the COM call failed without telling (``com_assigned_site`` null, see :func:`site_assignment_unknown`).
    """
    if not assignment:
        return None
    if assignment.get("com_available") and assignment.get("com_assigned_site") is not None:
        return assignment.get("com_assigned_site") or None
    return assignment.get("registry_assigned_site") or None


def site_assignment_unknown(assignment: dict[str, t.Any] | None) -> bool:
    """True when GetAssignedSite() failed with an error that does not mean "unassigned"."""
    return bool(assignment and assignment.get("com_available") and assignment.get("com_assigned_site") is None
                and assignment.get("com_error"))


def shape_client_facts(outcome: BatchOutcome) -> dict[str, t.Any]:
    """Build ``sccm_client`` facts from a successful batch outcome."""
    install = outcome.data("install") or {}
    identity = outcome.data("identity") or {}
    assignment = outcome.data("site_assignment") or {}
    ccmexec = outcome.data("ccmexec") or {}
    task = outcome.data("health_task") or {}
    certs = outcome.data("sms_certificates") or {}
    trk = outcome.data("trusted_root_key") or {}
    prov = outcome.data("provisioning_mode") or {}
    setup_procs = (outcome.data("ccmsetup_process") or {}).get("processes", [])
    setup_service = outcome.data("ccmsetup_service") or {}
    ts = outcome.data("task_sequence") or {}
    roles = outcome.data("site_roles") or {}

    smscfg_id = identity.get("smscfg_unique_id")
    wmi_id = identity.get("wmi_client_id")
    prov_value = prov.get("registry_value")
    ccmsetup_running = bool(setup_procs) or setup_service.get("state") == "running"
    wmi_errors = [error for reading in (install, identity, assignment, prov) for error in reading.get("wmi_errors") or []]
    return {
        "installed": bool(install.get("installed")),
        "wmi_errors": wmi_errors,
        "version": install.get("version"),
        "version_source": install.get("version_source"),
        "install_path": install.get("install_path"),
        "components": install.get("components", []),
        "identity": {
            "sms_unique_id": smscfg_id or wmi_id,
            "previous_sms_unique_id": identity.get("smscfg_previous_unique_id") or identity.get("wmi_previous_client_id"),
            "smscfg_path": identity.get("smscfg_path"),
            "smscfg_present": bool(identity.get("smscfg_present")),
            "smscfg_unique_id": smscfg_id,
            "smscfg_certificate_identifier": identity.get("smscfg_certificate_identifier"),
            "wmi_client_id": wmi_id,
            "wmi_previous_client_id": identity.get("wmi_previous_client_id"),
            "client_id_change_date": identity.get("wmi_client_id_change_date"),
            "consistent": None if not (smscfg_id and wmi_id) else smscfg_id.lower() == wmi_id.lower(),
        },
        "site_assignment": {
            "assigned_site": assigned_site(assignment),
            "com_available": bool(assignment.get("com_available")),
            "com_assigned_site": assignment.get("com_assigned_site"),
            "com_error": assignment.get("com_error"),
            "registry_assigned_site": assignment.get("registry_assigned_site"),
            "auto_assignment": assignment.get("auto_assignment"),
            "current_management_point": assignment.get("current_management_point"),
            "gp_site_assignment": assignment.get("gp_site_assignment", {}),
            "dns_suffix": assignment.get("dns_suffix"),
        },
        "service": {
            "name": "CcmExec",
            "exists": bool(ccmexec.get("exists")),
            "state": ccmexec.get("state"),
            "start_mode": ccmexec.get("start_mode"),
            "delayed_start": ccmexec.get("start_mode") == "delayed_auto",
            "process_id": ccmexec.get("process_id"),
        },
        "health_evaluation_task": {
            "path": HEALTH_TASK_PATH + HEALTH_TASK_NAME,
            "exists": bool(task.get("exists")),
            "enabled": task.get("enabled"),
            "state": task.get("state"),
        },
        "sms_certificates": {
            "store_exists": bool(certs.get("store_exists")),
            "certificates": certs.get("certificates", []),
        },
        "trusted_root_key": {
            "namespace": TRUSTED_ROOT_KEY_NAMESPACE,
            "namespace_present": bool(trk.get("namespace_present")),
            "count": trk.get("count", 0) if trk.get("namespace_present") else None,
            "status": "namespace absent" if not trk.get("namespace_present") else f"{trk.get('count', 0)} instance(s)",
        },
        "provisioning_mode": {
            "enabled": None if prov_value is None else prov_value == "true",
            "registry_value": prov_value,
            "enabled_time": _epoch_to_iso(prov.get("enabled_time_epoch")),
            "max_minutes": prov.get("max_minutes"),
            "wmi_sms_client_available": bool(prov.get("wmi_sms_client_available")),
        },
        "ccmsetup": {
            "running": ccmsetup_running,
            "processes": setup_procs,
            "service_state": setup_service.get("state"),
        },
        "task_sequence": {"running": bool(ts.get("running")), "evidence": ts.get("evidence", [])},
        "site_system": {
            "is_site_server": bool(roles.get("is_site_server")),
            "is_site_system": bool(roles.get("is_site_system")),
            "site_code": roles.get("site_code"),
            "roles": roles.get("roles", []),
            "evidence": roles.get("evidence", []),
        },
        "imaging_platform": shape_imaging_platform(outcome.data("imaging_platform")),
    }
