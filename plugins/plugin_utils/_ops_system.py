# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generic Windows ops: services, scheduled tasks, certificates, WMI, files, processes. FOR INTERNAL COLLECTION USE ONLY.

PowerShell implementations: plugins/module_utils/_FieldkitSystemOps.psm1, except service.read, which every runner
loads: plugins/module_utils/_FieldkitServiceRead.psm1 (so that the DP and site server runners do not ship the rest).
"""
from __future__ import annotations

from ._ops import Arg, OpSpec, register

SERVICE_START_MODES = ("auto", "delayed_auto", "manual", "disabled")

register(OpSpec(
    name="service.read",
    ps_function="Get-FieldkitServiceState",
    mutating=False,
    args=(Arg("name", "str", required=True, description="Service name (not display name), e.g. CcmExec."),),
    result={
        "name": "str",
        "exists": "bool",
        "state": "str?",
        "start_mode": "str?",
        "process_id": "int?",
    },
    description="State and start mode of one service; start_mode distinguishes delayed_auto from auto.",
), module_util="_FieldkitServiceRead")

register(OpSpec(
    name="service.ensure",
    ps_function="Set-FieldkitServiceState",
    mutating=True,
    args=(
        Arg("name", "str", required=True, description="Service name, e.g. CcmExec."),
        Arg("state", "str", choices=("stopped", "running"), description="Wanted state; omitted = leave as is."),
        Arg("start_mode", "str", choices=SERVICE_START_MODES, description="Wanted start mode; omitted = leave as is."),
        Arg("stop_timeout_seconds", "int", default=60, description="Wait this long for a stop, then end the process."),
        Arg("kill_on_timeout", "bool", default=True, description="End the service process when the stop times out."),
        Arg("recovery_marker", "str",
            description="Before ending a hung service process, suspend the service's recovery actions (SCM failure "
                        "actions, which a terminated service process triggers) and record them under this value "
                        "name in HKLM\\SOFTWARE\\mecm.fieldkit\\Markers; service.restore_recovery restores them. "
                        "Without it a kill may be followed by the SCM restarting the service."),
    ),
    result={
        "name": "str",
        "exists": "bool",
        "state": "str?",
        "start_mode": "str?",
        "killed": "bool",
        "recovery_suspended": "bool",
    },
    description="Idempotently stop/start a service and set its start mode; never starts unless asked.",
))

register(OpSpec(
    name="service.restore_recovery",
    ps_function="Restore-FieldkitServiceRecovery",
    mutating=True,
    args=(
        Arg("name", "str", required=True, description="Service name, e.g. CcmExec."),
        Arg("marker", "str", required=True, description="The recovery_marker service.ensure recorded them under."),
    ),
    result={
        "name": "str",
        "suspended": "bool",
        "reset_period_seconds": "int?",
        "actions": "list",
        "service_state": "str?",
    },
    description="Restore the recovery actions (reset period and actions) recorded by service.ensure exactly, "
                "through ChangeServiceConfig2 (SERVICE_CONFIG_FAILURE_ACTIONS), read them back, delete the marker; "
                "nothing to do without the marker. actions are 'restart/60000'-style strings (none, restart, "
                "reboot, run); service_state is the state read afterwards. Meant as an always op.",
))

register(OpSpec(
    name="task.read",
    ps_function="Get-FieldkitScheduledTask",
    mutating=False,
    args=(
        Arg("path", "str", required=True, description=r"Task folder, e.g. \Microsoft\Configuration Manager\ ."),
        Arg("name", "str", required=True, description="Task name."),
    ),
    result={"path": "str", "name": "str", "exists": "bool", "enabled": "bool?", "state": "str?"},
    description="Whether a scheduled task exists and is enabled.",
))

register(OpSpec(
    name="cert.list",
    ps_function="Get-FieldkitCertificate",
    mutating=False,
    args=(
        Arg("store_location", "str", default="LocalMachine", choices=("LocalMachine",)),
        Arg("store_name", "str", required=True, description="Store name, e.g. SMS or My."),
    ),
    result={"store": "str", "store_exists": "bool", "certificates": "list"},
    description="Certificates in one store: thumbprint, subject, issuer, not_after (UTC), has_private_key, "
                "enhanced_key_usages, template (name, else OID), template_name, template_oid. Never exports "
                "private keys.",
))

register(OpSpec(
    name="wmi.count_instances",
    ps_function="Measure-FieldkitWmiInstance",
    mutating=False,
    args=(
        Arg("namespace", "str", required=True, description=r"WMI namespace, e.g. root\ccm\locationservices."),
        Arg("class_name", "str", required=True, description="WMI class name."),
        Arg("timeout_seconds", "int", default=30),
    ),
    result={"namespace": "str", "class_name": "str", "namespace_present": "bool", "class_present": "bool",
            "count": "int"},
    description="Number of instances of a class; an absent namespace or class is reported, not an error.",
))

register(OpSpec(
    name="process.list",
    ps_function="Get-FieldkitProcess",
    mutating=False,
    args=(Arg("names", "list", required=True, elements="str", description="Process names without .exe."),),
    result={"processes": "list"},
    description="Running processes among the given names: name, pid.",
))
