"""The simulated Windows lab: a named set of simulated hosts, each behind its own WinRM listener on
127.0.0.1, plus a ready Ansible inventory.

    python -m tests.simhost.lab start --lab default --dir .lab/default   # detached, writes inventory.yml
    python -m tests.simhost.lab stop --dir .lab/default
    python -m tests.simhost.lab serve --lab default --dir .lab/default   # foreground

Each listener also answers a small control API under /sim/ (loopback only, no auth, not counted):
GET /sim/info, /sim/state, /sim/stats; POST /sim/stats/reset, /sim/faults (JSON list appended),
/sim/unreachable ({"unreachable": bool}), /sim/delay ({"seconds": float}), /sim/lose_answers
({"times": int}: the next op-runner executions run, then their answer is lost); DELETE /sim/faults.
Everything here is simulated; nothing talks to a real Windows machine.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import typing as t

from .host import SimHost
from .model import HostModel, load_fixture, merge_fixture
from .network import Network
from .paths import LABS_DIR, REPO_ROOT
from .winrm_server import WinRMServer

USERNAME = "ansible"
PASSWORD = "Passw0rd!"
BANNER = "[simulated lab]"


def load_lab_definition(name_or_path: str) -> dict[str, t.Any]:
    path = pathlib.Path(name_or_path)
    if not path.exists():
        path = LABS_DIR / f"{name_or_path}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in LABS_DIR.glob("*.json")))
        raise SystemExit(f"{BANNER} unknown lab {name_or_path!r}; known labs: {known}")
    return json.loads(path.read_text(encoding="utf-8"))


def _inline_state(fixture: dict[str, t.Any]) -> dict[str, t.Any]:
    """An inline host state; ``"base": "<fixture>"`` deep-merges it over that fixture."""
    if "base" not in fixture:
        return copy.deepcopy(fixture)
    overlay = {k: v for k, v in fixture.items() if k != "base"}
    return merge_fixture(load_fixture(fixture["base"]), overlay)


class Lab:
    """Simulated hosts with their WinRM listeners."""

    def __init__(self, definition: dict[str, t.Any], *, transport: str = "ntlm") -> None:
        if transport not in ("ntlm", "basic"):
            raise ValueError(f"transport must be ntlm or basic, not {transport!r}")
        self.definition = definition
        self.transport = transport
        self.hosts: dict[str, SimHost] = {}
        self.servers: dict[str, WinRMServer] = {}
        for host_name, fixture in definition["hosts"].items():
            # A fixture is a name/path, or an inline host state (generated hosts in tests).
            model = HostModel(_inline_state(fixture)) if isinstance(fixture, dict) else HostModel.from_fixture(fixture)
            model.state["name"] = host_name
            self.hosts[host_name] = SimHost(model, username=USERNAME)
        # One simulated network joins the hosts: ops on one host (a site server probing its DPs)
        # see the others through it.
        self.network = Network(host.model for host in self.hosts.values())
        for host in self.hosts.values():
            host.model.network = self.network

    @classmethod
    def named(cls, name: str, **kwargs: t.Any) -> "Lab":
        return cls(load_lab_definition(name), **kwargs)

    @classmethod
    def from_fixtures(cls, hosts: dict[str, t.Any], groups: dict[str, list[str]] | None = None, **kwargs: t.Any) -> "Lab":
        return cls({"name": "adhoc", "hosts": hosts, "groups": groups or {}}, **kwargs)

    def start(self) -> "Lab":
        for name, host in self.hosts.items():
            server = WinRMServer(name, host, username=USERNAME, password=PASSWORD,
                                 control_handler=self._control_handler_for(name))
            server.start()
            self.servers[name] = server
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def __enter__(self) -> "Lab":
        return self.start()

    def __exit__(self, *exc: t.Any) -> None:
        self.stop()

    # --- state and accounting -----------------------------------------------------------------
    def state(self, host: str) -> dict[str, t.Any]:
        return self.hosts[host].model.dump()

    def stats(self, host: str) -> dict[str, t.Any]:
        return self.servers[host].stats()

    def reset_stats(self) -> None:
        for server in self.servers.values():
            server.reset_stats()

    def add_fault(self, host: str, fault: dict[str, t.Any]) -> None:
        self.hosts[host].model.state["faults"].append(fault)

    def clear_faults(self, host: str) -> None:
        self.hosts[host].model.state["faults"].clear()

    def set_unreachable(self, host: str, value: bool = True) -> None:
        self.servers[host].unreachable = value

    def lose_answers(self, host: str, times: int = 1) -> None:
        """The next ``times`` op-runner executions on ``host`` run, then the connection drops before the answer."""
        self.hosts[host].lose_answers = int(times)

    # --- inventory ----------------------------------------------------------------------------
    def inventory(self) -> dict[str, t.Any]:
        common = {
            "ansible_connection": "winrm",
            "ansible_host": "127.0.0.1",
            "ansible_user": USERNAME,
            "ansible_password": PASSWORD,
            "ansible_winrm_transport": self.transport,
            "ansible_winrm_scheme": "http",
            "ansible_winrm_server_cert_validation": "ignore",
            "sim_lab": True,
        }
        if self.transport == "basic":
            common["ansible_winrm_message_encryption"] = "never"
        # Lab-wide variables of the lab definition (e.g. role inputs the lab is built for).
        common.update(self.definition.get("vars", {}))
        hosts = {
            name: {"ansible_port": self.servers[name].port,
                   "sim_control_url": f"http://127.0.0.1:{self.servers[name].port}/sim",
                   "sim_description": self.hosts[name].model.state.get("description", "")}
            for name in self.hosts
        }
        children = {group: {"hosts": {h: {} for h in members}}
                    for group, members in self.definition.get("groups", {}).items()}
        return {"all": {"vars": common, "hosts": hosts, "children": children}}

    def write_inventory(self, path: pathlib.Path) -> pathlib.Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        # JSON is valid YAML, and Ansible's yaml inventory plugin reads it.
        path.write_text("# " + BANNER + " generated inventory; every host here is simulated\n"
                        + json.dumps(self.inventory(), indent=2) + "\n", encoding="utf-8")
        return path

    # --- control API --------------------------------------------------------------------------
    def _control_handler_for(self, host: str) -> t.Callable[[str, str, bytes], tuple[int, bytes]]:
        def handle(method: str, path: str, body: bytes) -> tuple[int, bytes]:
            try:
                payload = json.loads(body) if body else None
                answer = self._control(host, method, path.rstrip("/"), payload)
                return 200, json.dumps(answer).encode()
            except KeyError as err:
                return 404, json.dumps({"error": f"unknown control path {err}"}).encode()
            except (ValueError, TypeError) as err:
                return 400, json.dumps({"error": str(err)}).encode()

        return handle

    def _control(self, host: str, method: str, path: str, payload: t.Any) -> t.Any:
        sim = self.hosts[host]
        routes: dict[tuple[str, str], t.Callable[[], t.Any]] = {
            ("GET", "/sim/info"): lambda: {"name": host, "simulated": True,
                                           "description": sim.model.state.get("description", "")},
            ("GET", "/sim/state"): lambda: self.state(host),
            ("GET", "/sim/stats"): lambda: self.stats(host),
            ("POST", "/sim/stats/reset"): lambda: self.servers[host].reset_stats() or {"reset": True},
            ("POST", "/sim/faults"): lambda: [self.add_fault(host, f) for f in payload] and {"faults": len(payload)},
            ("DELETE", "/sim/faults"): lambda: self.clear_faults(host) or {"faults": 0},
            ("POST", "/sim/unreachable"): lambda: self.set_unreachable(host, bool(payload["unreachable"]))
            or {"unreachable": bool(payload["unreachable"])},
            ("POST", "/sim/delay"): lambda: setattr(sim, "delay_seconds", float(payload["seconds"]))
            or {"delay_seconds": sim.delay_seconds},
            ("POST", "/sim/lose_answers"): lambda: self.lose_answers(host, int(payload["times"]))
            or {"lose_answers": sim.lose_answers},
        }
        return routes[(method, path)]()


# --- command line -----------------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    state_dir = pathlib.Path(args.dir)
    lab = Lab.named(args.lab, transport=args.transport).start()
    inventory = lab.write_inventory(state_dir / "inventory.yml")
    ready = {"lab": args.lab, "pid": os.getpid(), "inventory": str(inventory), "simulated": True,
             "hosts": {name: server.port for name, server in lab.servers.items()}}
    (state_dir / "lab.json").write_text(json.dumps(ready, indent=2), encoding="utf-8")
    print(f"{BANNER} lab {args.lab!r} up: " + ", ".join(f"{h} on 127.0.0.1:{p}" for h, p in ready["hosts"].items()),
          flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    lab.stop()
    (state_dir / "lab.json").unlink(missing_ok=True)
    print(f"{BANNER} lab {args.lab!r} stopped", flush=True)
    return 0


def _start(args: argparse.Namespace) -> int:
    state_dir = pathlib.Path(args.dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    ready_file = state_dir / "lab.json"
    if ready_file.exists():
        _stop(args)
    log = open(state_dir / "lab.log", "ab")  # noqa: SIM115  pylint: disable=consider-using-with
    subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", "tests.simhost.lab", "serve", "--lab", args.lab, "--dir", str(state_dir),
         "--transport", args.transport],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if ready_file.exists():
            info = json.loads(ready_file.read_text(encoding="utf-8"))
            print(f"{BANNER} lab {args.lab!r} started (pid {info['pid']}); inventory: {info['inventory']}")
            return 0
        time.sleep(0.1)
    print(f"{BANNER} lab {args.lab!r} did not start within 30 s; see {state_dir / 'lab.log'}", file=sys.stderr)
    return 1


def _stop(args: argparse.Namespace) -> int:
    ready_file = pathlib.Path(args.dir) / "lab.json"
    if not ready_file.exists():
        print(f"{BANNER} no lab running in {args.dir}")
        return 0
    pid = json.loads(ready_file.read_text(encoding="utf-8"))["pid"]
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        ready_file.unlink(missing_ok=True)
        return 0
    deadline = time.monotonic() + 10
    while ready_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    print(f"{BANNER} lab in {args.dir} stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simhost.lab", description=f"{BANNER} start or stop a lab")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("start", "serve", "stop"):
        p = sub.add_parser(command)
        p.add_argument("--dir", default=".lab/default", help="state directory (inventory.yml, lab.json, lab.log)")
        if command != "stop":
            p.add_argument("--lab", default="default", help="lab name (tests/simhost/labs/<name>.json) or path")
            p.add_argument("--transport", default="ntlm", choices=("ntlm", "basic"))
    args = parser.parse_args(argv)
    return {"start": _start, "serve": _serve, "stop": _stop}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
