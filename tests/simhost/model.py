"""Stateful model of one simulated Windows host, loaded from a JSON fixture.

The model is plain data (dicts and lists) so it can be dumped and compared before and after a
run. Names are matched case-insensitively where Windows does (registry keys and values, services,
WMI namespaces and classes, file paths, certificate stores).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import pathlib
import threading
import typing as t

from .paths import FIXTURES_DIR

# Win32 / HRESULT codes the simulator raises most often.
E_ACCESSDENIED = 0x80070005
ERROR_SERVICE_DOES_NOT_EXIST = 0x80070424
ERROR_SERVICE_REQUEST_TIMEOUT = 0x8007041D
WBEM_E_INVALID_NAMESPACE = 0x8004100E
WBEM_E_INVALID_CLASS = 0x80041010
E_INVALIDARG = 0x80070057


class SimWindowsError(Exception):
    """A failure as Windows would report it: HRESULT code, message and target."""

    def __init__(self, code: int, message: str, target: str = "", category: str = "NotSpecified") -> None:
        super().__init__(message)
        self.code = code & 0xFFFFFFFF
        self.message = message
        self.target = target
        self.category = category

    def to_error(self) -> dict[str, t.Any]:
        return {
            "code": self.code,
            "hresult": f"0x{self.code:08X}",
            "message": self.message,
            "category": self.category,
            "target": self.target,
        }


@dataclasses.dataclass
class OpContext:
    """Who runs the op: the WinRM user, or SYSTEM through become."""

    become_user: str | None = None
    winrm_user: str = "ansible"

    @property
    def as_system(self) -> bool:
        return (self.become_user or "").upper() in ("SYSTEM", "NT AUTHORITY\\SYSTEM", "S-1-5-18")


def _ci_get(mapping: dict[str, t.Any], key: str) -> tuple[str | None, t.Any]:
    lowered = key.lower()
    for k, v in mapping.items():
        if k.lower() == lowered:
            return k, v
    return None, None


class HostModel:
    """One simulated host. Access is serialised by ``lock``."""

    # The lab's simulated network (tests.simhost.network.Network), set by the Lab; None for a
    # host model used on its own.
    network: t.Any = None

    def __init__(self, state: dict[str, t.Any]) -> None:
        self.state = state
        self.lock = threading.RLock()
        for key, default in (("services", {}), ("scheduled_tasks", {}), ("processes", []), ("files", {}),
                             ("registry", {}), ("wmi", {}), ("cert_stores", {}), ("com_classes", []),
                             ("shares", {}), ("faults", []), ("os", {})):
            state.setdefault(key, copy.deepcopy(default))

    @classmethod
    def from_fixture(cls, name_or_path: str | pathlib.Path) -> "HostModel":
        return cls(load_fixture(name_or_path))

    @property
    def name(self) -> str:
        return self.state.get("name", "simhost")

    def dump(self) -> dict[str, t.Any]:
        """A deep copy of the host state without the fault table (what tests compare)."""
        with self.lock:
            data = copy.deepcopy(self.state)
        data.pop("faults", None)
        return data

    # --- registry ---------------------------------------------------------------------------
    def reg_key(self, path: str) -> dict[str, t.Any] | None:
        return _ci_get(self.state["registry"], _norm_reg(path))[1]

    def reg_value(self, path: str, name: str) -> t.Any:
        key = self.reg_key(path)
        if key is None:
            return None
        return _ci_get(key, name)[1]

    def set_reg_value(self, path: str, name: str, value: t.Any) -> None:
        norm = _norm_reg(path)
        existing, key = _ci_get(self.state["registry"], norm)
        if key is None:
            key = self.state["registry"][norm] = {}
        stored, _ = _ci_get(key, name)
        key[stored or name] = value

    def delete_reg_value(self, path: str, name: str) -> bool:
        key = self.reg_key(path)
        if key is None:
            return False
        stored, _ = _ci_get(key, name)
        if stored is None:
            return False
        del key[stored]
        return True

    # --- services, tasks, processes -----------------------------------------------------------
    def service(self, name: str) -> dict[str, t.Any] | None:
        return _ci_get(self.state["services"], name)[1]

    def service_name(self, name: str) -> str | None:
        return _ci_get(self.state["services"], name)[0]

    def task(self, path: str, name: str) -> dict[str, t.Any] | None:
        full = path.rstrip("\\") + "\\" + name
        return _ci_get(self.state["scheduled_tasks"], full)[1]

    def processes(self, name: str) -> list[dict[str, t.Any]]:
        return [p for p in self.state["processes"] if p["name"].lower() == name.lower()]

    def kill_process(self, pid: int) -> None:
        self.state["processes"] = [p for p in self.state["processes"] if p.get("pid") != pid]

    # --- files --------------------------------------------------------------------------------
    def file(self, path: str) -> str | None:
        return _ci_get(self.state["files"], path)[1]

    def delete_file(self, path: str) -> bool:
        stored, _ = _ci_get(self.state["files"], path)
        if stored is None:
            return False
        del self.state["files"][stored]
        return True

    @property
    def windir(self) -> str:
        return self.state["os"].get("windir", "C:\\Windows")

    # --- WMI ----------------------------------------------------------------------------------
    def wmi_namespace(self, namespace: str) -> dict[str, list[dict[str, t.Any]]] | None:
        return _ci_get(self.state["wmi"], namespace)[1]

    def wmi_instances(self, namespace: str, class_name: str) -> list[dict[str, t.Any]] | None:
        """Instances of a class, ``None`` if the class is absent; raises if the namespace is absent."""
        ns = self.wmi_namespace(namespace)
        if ns is None:
            raise SimWindowsError(WBEM_E_INVALID_NAMESPACE, f"Invalid namespace {namespace}", namespace)
        return _ci_get(ns, class_name)[1]

    # --- certificates, COM ----------------------------------------------------------------------
    def cert_store(self, location: str, name: str) -> list[dict[str, t.Any]] | None:
        return _ci_get(self.state["cert_stores"], f"{location}\\{name}")[1]

    def has_com_class(self, prog_id: str) -> bool:
        return any(c.lower() == prog_id.lower() for c in self.state["com_classes"])


def _fixture_path(name_or_path: str | pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(name_or_path)
    if not path.is_absolute() and not path.exists():
        path = FIXTURES_DIR / (str(name_or_path) if str(name_or_path).endswith(".json") else f"{name_or_path}.json")
    return path


def merge_fixture(base: dict[str, t.Any], overlay: dict[str, t.Any]) -> dict[str, t.Any]:
    """Deep-merge ``overlay`` into a copy of ``base``: dicts merge, other values replace, ``None`` deletes."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_fixture(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_fixture(name_or_path: str | pathlib.Path, _seen: tuple[str, ...] = ()) -> dict[str, t.Any]:
    """Read a fixture; a fixture with ``"base": "<fixture>"`` is that fixture deep-merged with the rest.

    In an overlay, a ``null`` value deletes the key of the base (a service, a file, a WMI class ...).
    """
    path = _fixture_path(name_or_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    base_name = data.pop("base", None)
    if base_name is None:
        return data
    if base_name in _seen:
        raise ValueError(f"fixture {path.name}: base chain loops through {base_name}")
    return merge_fixture(load_fixture(base_name, (*_seen, str(base_name))), data)


def _norm_reg(path: str) -> str:
    path = path.replace("/", "\\")
    for prefix in ("HKEY_LOCAL_MACHINE\\", "HKLM:\\", "HKLM\\"):
        if path.upper().startswith(prefix.upper()):
            path = path[len(prefix):]
            break
    return "HKLM\\" + path.strip("\\")
