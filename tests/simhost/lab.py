"""The simulated Windows lab: a named set of simulated hosts, each behind its own WinRM listener on
127.0.0.1, plus a ready Ansible inventory. Every listener speaks WS-Man to both of ansible-core's
Windows connection plugins: ``winrm`` (WinRS shells) and ``psrp`` (PowerShell Remoting Protocol).
All listeners of a process are served by one event loop (``eventloop.py``); ``Lab.cpu_seconds()``
is what serving them has cost (user+sys CPU).

    python -m tests.simhost.lab start --lab default --dir .lab/default   # detached, writes inventory.yml
    python -m tests.simhost.lab stop --dir .lab/default                  # waits until the process has gone
    python -m tests.simhost.lab serve --lab default --dir .lab/default   # foreground
    python -m tests.simhost.lab cpu --dir .lab/default                   # user+sys CPU of the lab process
    ... start --connection psrp                                           # inventory for ansible_connection: psrp

Each listener also answers a small control API under /sim/ (loopback only, no auth, not counted):
GET /sim/info, /sim/state, /sim/stats, /sim/cpu (CPU of the serving process); POST /sim/stats/reset, /sim/faults (JSON list appended),
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
from .eventloop import REACTOR
from .paths import LABS_DIR, REPO_ROOT
from .winrm_server import WinRMServer

USERNAME = "ansible"
PASSWORD = "Passw0rd!"
BANNER = "[simulated lab]"
CONNECTIONS = ("winrm", "psrp")
STOP_TIMEOUT = 60.0  # seconds ``lab stop`` waits for the lab process to exit


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
        self._cpu_at_start = (0.0, 0.0)
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
        self._cpu_at_start = REACTOR.cpu_times()
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
    def cpu_times(self) -> dict[str, float]:
        """User and system CPU seconds spent serving the lab since ``start()``.

        Counts the lab's own threads (the event loop and the request workers, where the simulated
        hosts parse payloads and run ops), not the thread that calls this nor child processes. The
        loop is shared by every lab of the process: two labs running at once are counted together.
        """
        user, system = REACTOR.cpu_times()
        return {"user": round(user - self._cpu_at_start[0], 3), "system": round(system - self._cpu_at_start[1], 3)}

    def cpu_seconds(self) -> float:
        """User+sys CPU seconds the lab has spent serving since ``start()`` (see ``cpu_times``)."""
        times = self.cpu_times()
        return round(times["user"] + times["system"], 3)

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
    def inventory(self, connection: str = "winrm") -> dict[str, t.Any]:
        """The inventory for ``connection`` (``winrm`` or ``psrp``); both reach the same listeners."""
        if connection not in CONNECTIONS:
            raise ValueError(f"connection must be one of {', '.join(CONNECTIONS)}, not {connection!r}")
        common: dict[str, t.Any] = {"ansible_connection": connection, "ansible_host": "127.0.0.1",
                                    "ansible_user": USERNAME, "ansible_password": PASSWORD}
        if connection == "winrm":
            common.update({"ansible_winrm_transport": self.transport, "ansible_winrm_scheme": "http",
                           "ansible_winrm_server_cert_validation": "ignore"})
            if self.transport == "basic":
                common["ansible_winrm_message_encryption"] = "never"
        else:
            # NTLM: the lab's acceptor takes raw NTLM tokens, not SPNEGO (the plugin's default "negotiate").
            common.update({"ansible_psrp_auth": self.transport, "ansible_psrp_protocol": "http",
                           "ansible_psrp_cert_validation": "ignore"})
            if self.transport == "basic":
                common["ansible_psrp_message_encryption"] = "never"
        common["sim_lab"] = True
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

    def write_inventory(self, path: pathlib.Path, connection: str = "winrm") -> pathlib.Path:
        inventory = self.inventory(connection)
        path.parent.mkdir(parents=True, exist_ok=True)
        # JSON is valid YAML, and Ansible's yaml inventory plugin reads it.
        path.write_text("# " + BANNER + " generated inventory; every host here is simulated\n"
                        + json.dumps(inventory, indent=2) + "\n", encoding="utf-8")
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
            ("GET", "/sim/cpu"): lambda: {"lab_cpu_seconds": self.cpu_seconds(), **self.cpu_times(),
                                          "process_cpu_seconds": process_cpu_seconds(os.getpid())},
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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User+sys CPU seconds of a whole process (every thread) from /proc/<pid>/stat (proc(5) fields 14, 15)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()
    return round((int(fields[11]) + int(fields[12])) / CLOCK_TICKS, 3)


def process_alive(pid: int) -> bool:
    """True while the process exists and has not exited (a zombie has exited)."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _serve(args: argparse.Namespace) -> int:
    state_dir = pathlib.Path(args.dir)
    lab = Lab.named(args.lab, transport=args.transport).start()
    inventory = lab.write_inventory(state_dir / "inventory.yml", connection=args.connection)
    ready = {"lab": args.lab, "pid": os.getpid(), "inventory": str(inventory), "simulated": True,
             "connection": args.connection, "hosts": {name: server.port for name, server in lab.servers.items()}}
    (state_dir / "lab.json").write_text(json.dumps(ready, indent=2), encoding="utf-8")
    print(f"{BANNER} lab {args.lab!r} up: " + ", ".join(f"{h} on 127.0.0.1:{p}" for h, p in ready["hosts"].items()),
          flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    lab.stop()
    print(f"{BANNER} lab {args.lab!r} stopped; it served for {lab.cpu_seconds():.2f} s of CPU", flush=True)
    (state_dir / "lab.json").unlink(missing_ok=True)
    # Nothing is left to clean up: skip the interpreter's teardown of hundreds of host models.
    sys.stdout.flush()
    os._exit(0)


def _start(args: argparse.Namespace) -> int:
    state_dir = pathlib.Path(args.dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    ready_file = state_dir / "lab.json"
    if ready_file.exists():
        _stop(args)
    log = open(state_dir / "lab.log", "ab")  # noqa: SIM115  pylint: disable=consider-using-with
    subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", "tests.simhost.lab", "serve", "--lab", args.lab, "--dir", str(state_dir),
         "--transport", args.transport, "--connection", args.connection],
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
    """Signal the lab process and wait until it has exited; say so only once it has."""
    ready_file = pathlib.Path(args.dir) / "lab.json"
    if not ready_file.exists():
        print(f"{BANNER} no lab running in {args.dir}")
        return 0
    pid = json.loads(ready_file.read_text(encoding="utf-8"))["pid"]
    started = time.monotonic()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        ready_file.unlink(missing_ok=True)
        print(f"{BANNER} lab in {args.dir} was not running (stale pid {pid})")
        return 0
    while process_alive(pid) and time.monotonic() - started < STOP_TIMEOUT:
        time.sleep(0.02)
    if process_alive(pid):
        print(f"{BANNER} lab in {args.dir} (pid {pid}) is still running {STOP_TIMEOUT:.0f} s after SIGTERM",
              file=sys.stderr)
        return 1
    ready_file.unlink(missing_ok=True)
    print(f"{BANNER} lab in {args.dir} stopped (pid {pid} exited after {time.monotonic() - started:.2f} s)")
    return 0


def _cpu(args: argparse.Namespace) -> int:
    ready_file = pathlib.Path(args.dir) / "lab.json"
    if not ready_file.exists():
        print(f"{BANNER} no lab running in {args.dir}", file=sys.stderr)
        return 1
    pid = json.loads(ready_file.read_text(encoding="utf-8"))["pid"]
    print(json.dumps({"pid": pid, "cpu_seconds": process_cpu_seconds(pid)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simhost.lab", description=f"{BANNER} start or stop a lab")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("start", "serve", "stop", "cpu"):
        p = sub.add_parser(command)
        p.add_argument("--dir", default=".lab/default", help="state directory (inventory.yml, lab.json, lab.log)")
        if command in ("start", "serve"):
            p.add_argument("--lab", default="default", help="lab name (tests/simhost/labs/<name>.json) or path")
            p.add_argument("--transport", default="ntlm", choices=("ntlm", "basic"))
            p.add_argument("--connection", default="winrm", choices=CONNECTIONS,
                           help="ansible_connection the inventory is written for")
    args = parser.parse_args(argv)
    return {"start": _start, "serve": _serve, "stop": _stop, "cpu": _cpu}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
