"""Simulated generic Windows ops (services, tasks, certificates, WMI, processes)."""
from __future__ import annotations

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


def _stop(host: HostModel, name: str, svc: dict[str, t.Any], kill_on_timeout: bool, timeout: int) -> bool:
    """Stop a service the way Set-FieldkitServiceState does; returns whether the process was killed."""
    behaviour = svc.get("stop_behaviour", "normal")
    killed = False
    if behaviour in ("hang", "hang_unkillable"):
        if not kill_on_timeout:
            raise SimWindowsError(ERROR_SERVICE_REQUEST_TIMEOUT,
                                  f"service {name} did not stop within {timeout} s and kill_on_timeout is off", name)
        if behaviour == "hang_unkillable":
            raise SimWindowsError(ERROR_SERVICE_REQUEST_TIMEOUT,
                                  f"service {name} did not stop even after its process was ended", name)
        killed = True
    pid = svc.get("process_id")
    if pid is not None:
        host.kill_process(pid)
    svc["state"] = "stopped"
    svc["process_id"] = None
    return killed


@sim_op("service.ensure")
def service_ensure(host: HostModel, ctx: OpContext, *, name: str, state: str | None = None,
                   start_mode: str | None = None, stop_timeout_seconds: int = 60, kill_on_timeout: bool = True,
                   check_mode: bool = False) -> dict[str, t.Any]:
    svc = host.service(name)
    if svc is None:
        raise SimWindowsError(ERROR_SERVICE_DOES_NOT_EXIST, f"service {name} does not exist", name)
    before = {"name": name, "exists": True, "state": svc["state"], "start_mode": svc["start_mode"], "killed": False}
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
            after["killed"] = _stop(host, name, svc, kill_on_timeout, stop_timeout_seconds)
    elif state == "running" and svc["state"] != "running":
        changed = True
        after["state"] = "running"
        if not check_mode:
            svc["state"] = "running"
    return {"changed": changed, "before": before, "after": after}


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
    certs = [{
        "thumbprint": c["thumbprint"],
        "subject": c["subject"],
        "issuer": c.get("issuer", c["subject"]),
        "not_after": c.get("not_after"),
        "has_private_key": bool(c.get("has_private_key", True)),
        "enhanced_key_usages": list(c.get("enhanced_key_usages", [])),
        "template": c.get("template"),
    } for c in store]
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
