"""Simulated generic Windows ops (services, tasks, certificates, WMI, processes).

Fixture keys of a service used only here (all optional):

* ``stop_behaviour``: ``normal`` | ``hang`` (the stop times out, ending the process stops it) |
  ``hang_unkillable`` (it does not stop even then).
* ``failure_actions``: ``{"reset_period_seconds": 86400, "actions": [{"type": "restart", "delay_ms": 60000}]}``,
  the SCM recovery actions (types none, reboot, restart, run). Ending the service process is a service failure: the
  SCM runs the action for the failure count (the last one repeats), so a ``restart`` brings the service back (the
  delay is not simulated: the service runs again before the next op).
* ``failure_count`` (runtime): failures since boot.
"""
from __future__ import annotations

import re
import typing as t

from ..model import ERROR_SERVICE_DOES_NOT_EXIST, ERROR_SERVICE_REQUEST_TIMEOUT, HostModel, OpContext, SimWindowsError
from . import sim_op
from .contract import contract


@sim_op("service.read")
def service_read(host: HostModel, ctx: OpContext, *, name: str) -> dict[str, t.Any]:
    svc = host.service(name)
    if svc is None:
        return {"name": name, "exists": False, "state": None, "start_mode": None, "process_id": None}
    return {
        "name": host.service_name(name),
        "exists": True,
        "state": svc["state"],
        "start_mode": svc["start_mode"],
        "process_id": svc.get("process_id") if svc["state"] != "stopped" else None,
    }


MARKERS_KEY = "HKLM\\" + contract.MARKERS_KEY
ACTION_TYPES = ("none", "reboot", "restart", "run")


def _actions(svc: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    return list((svc.get("failure_actions") or {}).get("actions") or [])


def recovery_text(svc: dict[str, t.Any]) -> str:
    """The failure actions as Suspend-FieldkitServiceRecovery records them in its marker."""
    config = svc.get("failure_actions") or {}
    actions = ",".join(f"{a['type']}/{int(a.get('delay_ms', 0))}" for a in _actions(svc))
    return f"reset={int(config.get('reset_period_seconds', 0))};actions={actions}"


def _suspend_recovery(host: HostModel, name: str, svc: dict[str, t.Any], marker: str) -> bool:
    """Suspend-FieldkitServiceRecovery: record the actions (unless an earlier run did), then take no action."""
    recorded = host.reg_value(MARKERS_KEY, marker)
    if recorded is None:
        if not _actions(svc):
            return False
        host.set_reg_value(MARKERS_KEY, marker, recovery_text(svc))
    # cActions = 0 with a non-NULL lpsaActions deletes the reset period and the actions.
    svc["failure_actions"] = {"reset_period_seconds": 0, "actions": []}
    return True


def _service_failed(host: HostModel, name: str, svc: dict[str, t.Any]) -> None:
    """The SCM's reaction to a service process that ended without reporting SERVICE_STOPPED."""
    svc["failure_count"] = int(svc.get("failure_count", 0)) + 1
    actions = _actions(svc)
    if not actions:
        return
    action = actions[min(svc["failure_count"], len(actions)) - 1]
    if action["type"] == "restart":
        pid = 4300
        while any(p.get("pid") == pid for p in host.state["processes"]):
            pid += 4
        host.state["processes"].append({"name": name, "pid": pid})
        svc["state"] = "running"
        svc["process_id"] = pid
        svc["restarted_by_scm"] = int(svc.get("restarted_by_scm", 0)) + 1


def _stop(host: HostModel, name: str, svc: dict[str, t.Any], kill_on_timeout: bool, timeout: int,
          recovery_marker: str | None = None) -> tuple[bool, bool]:
    """Stop a service the way Set-FieldkitServiceState does; returns (killed, recovery suspended)."""
    behaviour = svc.get("stop_behaviour", "normal")
    killed = False
    suspended = False
    if behaviour in ("hang", "hang_unkillable"):
        if not kill_on_timeout:
            raise SimWindowsError(ERROR_SERVICE_REQUEST_TIMEOUT,
                                  f"service {name} did not stop within {timeout} s and kill_on_timeout is off", name)
        if recovery_marker:
            suspended = _suspend_recovery(host, name, svc, recovery_marker)
        if behaviour == "hang_unkillable":
            raise SimWindowsError(ERROR_SERVICE_REQUEST_TIMEOUT,
                                  f"service {name} did not stop even after its process was ended", name)
        killed = True
    pid = svc.get("process_id")
    if pid is not None:
        host.kill_process(pid)
    svc["state"] = "stopped"
    svc["process_id"] = None
    if killed:
        _service_failed(host, name, svc)
    return killed, suspended


@sim_op("service.ensure")
def service_ensure(host: HostModel, ctx: OpContext, *, name: str, state: str | None = None,
                   start_mode: str | None = None, stop_timeout_seconds: int = 60, kill_on_timeout: bool = True,
                   recovery_marker: str | None = None, check_mode: bool = False) -> dict[str, t.Any]:
    svc = host.service(name)
    if svc is None:
        raise SimWindowsError(ERROR_SERVICE_DOES_NOT_EXIST, f"service {name} does not exist", name)
    before = {"name": name, "exists": True, "state": svc["state"], "start_mode": svc["start_mode"], "killed": False,
              "recovery_suspended": False}
    after = dict(before)
    changed = False
    if start_mode and svc["start_mode"] != start_mode:
        changed = True
        after["start_mode"] = start_mode
        if not check_mode:
            if not contract.SERVICE_NAME_RE.match(name):
                raise SimWindowsError(0x8007007B, f"service name {name} cannot be passed to sc.exe", name)
            svc["start_mode"] = start_mode
    if state == "stopped" and svc["state"] != "stopped":
        changed = True
        after["state"] = "stopped"
        if not check_mode:
            after["killed"], after["recovery_suspended"] = _stop(host, name, svc, kill_on_timeout, stop_timeout_seconds,
                                                                 recovery_marker)
    elif state == "running" and svc["state"] != "running":
        changed = True
        after["state"] = "running"
        if not check_mode:
            svc["state"] = "running"
    return {"changed": changed, "before": before, "after": after}


@sim_op("service.restore_recovery")
def service_restore_recovery(host: HostModel, ctx: OpContext, *, name: str, marker: str,
                             check_mode: bool = False) -> dict[str, t.Any]:
    recorded = host.reg_value(MARKERS_KEY, marker)
    svc = host.service(name)
    state = (svc["state"] if svc else None)
    if recorded is None:
        same = {"name": name, "suspended": False, "reset_period_seconds": None, "actions": [], "service_state": state}
        return {"changed": False, "before": same, "after": dict(same)}
    match = re.fullmatch(r"reset=([0-9]{1,10});actions=((?:[a-z0-9]+/[0-9]{1,10})(?:,[a-z0-9]+/[0-9]{1,10})*)",
                         str(recorded))
    if match is None:
        raise SimWindowsError(0x8007000D, f"the recovery actions recorded in {MARKERS_KEY} {marker} are not readable "
                              f"({recorded}); restore them by hand (sc.exe failure)", marker)
    if svc is None:
        raise SimWindowsError(ERROR_SERVICE_DOES_NOT_EXIST, f"service {name} does not exist", name)
    actions = match.group(2).split(",")
    before = {"name": name, "suspended": True,
              "reset_period_seconds": int((svc.get("failure_actions") or {}).get("reset_period_seconds", 0)),
              "actions": [f"{a['type']}/{int(a.get('delay_ms', 0))}" for a in _actions(svc)], "service_state": state}
    after = {"name": name, "suspended": False, "reset_period_seconds": int(match.group(1)), "actions": actions,
             "service_state": state}
    if not check_mode:
        svc["failure_actions"] = {"reset_period_seconds": int(match.group(1)),
                                  "actions": [{"type": a.split("/")[0], "delay_ms": int(a.split("/")[1])}
                                              for a in actions]}
        host.delete_reg_value(MARKERS_KEY, marker)
        key = host.reg_key(MARKERS_KEY)
        if key is not None and not key:
            stored = next(k for k in host.state["registry"] if k.lower() == MARKERS_KEY.lower())
            del host.state["registry"][stored]
        after["service_state"] = svc["state"]
    return {"changed": True, "before": before, "after": after}


@sim_op("task.read")
def task_read(host: HostModel, ctx: OpContext, *, path: str, name: str) -> dict[str, t.Any]:
    task = host.task(path, name)
    if task is None:
        return {"path": path, "name": name, "exists": False, "enabled": None, "state": None}
    return {"path": path, "name": name, "exists": True, "enabled": bool(task["enabled"]),
            "state": "disabled" if not task["enabled"] else task.get("state", "ready")}


@sim_op("cert.list")
def cert_list(host: HostModel, ctx: OpContext, *, store_name: str, store_location: str = "LocalMachine"
              ) -> dict[str, t.Any]:
    store = host.cert_store(store_location, store_name)
    if store is None:
        return {"store": f"{store_location}\\{store_name}", "store_exists": False, "certificates": []}
    from .image import cert_view  # the certificate model (template fields, key containers) lives there

    certs = [cert_view(host, c) for c in store]
    return {"store": f"{store_location}\\{store_name}", "store_exists": True, "certificates": certs}


@sim_op("wmi.count_instances")
def wmi_count_instances(host: HostModel, ctx: OpContext, *, namespace: str, class_name: str,
                        timeout_seconds: int = 30) -> dict[str, t.Any]:
    result = {"namespace": namespace, "class_name": class_name, "namespace_present": True,
              "class_present": True, "count": 0}
    if host.wmi_namespace(namespace) is None:
        result.update(namespace_present=False, class_present=False)
        return result
    instances = host.wmi_instances(namespace, class_name)
    if instances is None:
        result["class_present"] = False
    else:
        result["count"] = len(instances)
    return result


@sim_op("process.list")
def process_list(host: HostModel, ctx: OpContext, *, names: list[str]) -> dict[str, t.Any]:
    found = [{"name": p["name"], "pid": p["pid"]} for n in names for p in host.processes(n)]
    return {"processes": found}
