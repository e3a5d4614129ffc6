"""Tests for the psrp side of the simulated WinRM listener (pypsrp as the client, as ansible-core's
psrp plugin uses it), the shared event loop, the lab's CPU figure and ``lab stop``."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Callable

import pytest
import requests
from pypsrp.host import PSHost, PSHostUserInterface
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from tests.simhost.eventloop import REACTOR
from tests.simhost.lab import Lab, process_alive
from tests.simhost.paths import REPO_ROOT
from tests.simhost.payload import NUL_SEPARATOR, Execution
from tests.simhost.winrm_server import ExecResult, WinRMServer

USER, PASSWORD = "ansible", "Passw0rd!"


class Recorder:
    def __init__(self, respond: Callable[[Execution], ExecResult]) -> None:
        self.executions: list[Execution] = []
        self._lock = threading.Lock()
        self._respond = respond

    def execute(self, execution: Execution) -> ExecResult:
        with self._lock:
            self.executions.append(execution)
        return self._respond(execution)


@pytest.fixture
def serve():
    servers: list[WinRMServer] = []

    def make(respond: Callable[[Execution], ExecResult], **kwargs) -> tuple[WinRMServer, Recorder]:
        recorder = Recorder(respond)
        server = WinRMServer(f"psrp{len(servers)}", recorder, **kwargs)
        server.start()
        servers.append(server)
        return server, recorder

    yield make
    for server in servers:
        server.stop()


def run_pipeline(server: WinRMServer, script: str, lines: list[str] | None = None, auth: str = "ntlm",
                 **wsman_kwargs) -> tuple[list, PSHost, PowerShell]:
    """One runspace pool, one pipeline, as ansible-core's psrp plugin drives pypsrp."""
    wsman = WSMan("127.0.0.1", port=server.port, username=USER, password=PASSWORD, ssl=False, auth=auth,
                  encryption="never" if auth == "basic" else "auto", cert_validation=False, **wsman_kwargs)
    host = PSHost(None, None, False, "test host", None, PSHostUserInterface(), None)
    pool = RunspacePool(wsman, host=host)
    pool.open()
    ps = PowerShell(pool)
    ps.add_script(script)
    output = ps.invoke(input=lines)  # on an error the pool is left open, as after a lost connection
    pool.close()
    return output, host, ps


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_pipeline_script_and_input_lines_reach_the_host_as_one_stdin(serve, auth) -> None:
    server, recorder = serve(lambda e: ExecResult(stdout=b'{"changed": false, "answer": 42}'))
    bootstrap, manifest = '{"name": "x"}', '{"actions": []}'
    output, host, ps = run_pipeline(server, "& { $input }", [bootstrap, "\0\0\0\0", manifest], auth=auth)
    assert output == ['{"changed": false, "answer": 42}'] and host.rc is None and not ps.had_errors
    [execution] = recorder.executions
    assert execution.command_line == "& { $input }"  # the script, as -EncodedCommand would carry it
    assert execution.stdin == f"{bootstrap}{NUL_SEPARATOR.decode()}{manifest}".encode()
    stats = server.stats()
    assert stats["shells"] == 1 and stats["commands"] == 1
    [entry] = stats["executions"]
    assert entry["connection"] == "psrp" and entry["kind"] == "other"
    # Create, open Receive, Command, Send (input), Receive, Delete (+ 3 NTLM handshake requests)
    assert entry["requests"] == stats["http_requests"] == {"basic": 6, "ntlm": 9}[auth]
    assert stats["bytes_in"] == entry["bytes_in"] > 0 and stats["bytes_out"] == entry["bytes_out"] > 0


def test_non_zero_exit_code_is_the_set_should_exit_host_call(serve) -> None:
    server, _ = serve(lambda e: ExecResult(stdout=b'{"failed": true, "msg": "boom"}', stderr=b"oops", rc=3))
    output, host, ps = run_pipeline(server, "exit 3")
    assert host.rc == 3 and output == ['{"failed": true, "msg": "boom"}']
    assert not ps.had_errors  # the pipeline completed; it wrote an error record
    assert [str(e) for e in ps.streams.error] == ["oops"]


def test_slow_answer_is_polled_through_operation_timeouts(serve) -> None:
    server, _ = serve(lambda e: ExecResult(stdout=b"late", delay=0.6))
    server.receive_hold = 0.1
    started = time.monotonic()
    output, _, _ = run_pipeline(server, "Start-Sleep 1")
    assert output == ["late"] and time.monotonic() - started >= 0.6
    assert server.stats()["http_requests"] > 9  # extra Receives answered with the OperationTimeout fault


def test_large_output_is_split_over_several_receives(serve) -> None:
    big = "x" * 1_500_000
    server, _ = serve(lambda e: ExecResult(stdout=big.encode()))
    output, _, _ = run_pipeline(server, "Get-Big")
    assert output == [big]
    # Each Receive answer fits the client's MaxEnvelopeSize (pypsrp asks 512,000 after the pool is open).
    assert server.stats()["http_requests"] >= 9 + 2


def test_lost_answer_drops_the_connection(serve) -> None:
    server, recorder = serve(lambda e: ExecResult(stdout=b"never seen", lost=True))
    with pytest.raises(requests.exceptions.ConnectionError):
        run_pipeline(server, "Remove-Everything", reconnection_retries=0)
    assert len(recorder.executions) == 1  # it ran; only the answer was lost


def test_wrong_password_is_rejected(serve) -> None:
    server, recorder = serve(lambda e: ExecResult(stdout=b""))
    wsman = WSMan("127.0.0.1", port=server.port, username=USER, password="wrong", ssl=False, auth="ntlm",
                  cert_validation=False)
    with pytest.raises(Exception, match="(?i)authenticat|credential"):
        RunspacePool(wsman).open()
    assert recorder.executions == []


def test_one_loop_thread_serves_every_listener_and_the_lab_reports_its_cpu() -> None:
    hosts = {f"h{i:02d}": "ref_assigned" for i in range(30)}
    with Lab.from_fixtures(hosts) as lab:
        threads = {t.name for t in threading.enumerate()}
        assert "simulated-lab-loop" in threads
        assert not [n for n in threads if n.startswith("simulated-winrm-")]  # no thread per host
        before = lab.cpu_seconds()
        for name in list(hosts)[:10]:
            with urllib.request.urlopen(f"http://127.0.0.1:{lab.servers[name].port}/sim/state") as answer:
                assert json.loads(answer.read())["name"] == name
        with urllib.request.urlopen(f"http://127.0.0.1:{lab.servers['h00'].port}/sim/cpu") as answer:
            cpu = json.loads(answer.read())
        assert cpu["process_cpu_seconds"] >= cpu["lab_cpu_seconds"] >= 0
        times = lab.cpu_times()
        assert lab.cpu_seconds() == pytest.approx(times["user"] + times["system"], abs=0.002)
        assert lab.cpu_seconds() >= before >= 0
        user, system = REACTOR.cpu_times()
        assert user + system >= lab.cpu_seconds()


def test_lab_stop_returns_once_the_process_has_gone(tmp_path: pathlib.Path) -> None:
    definition = tmp_path / "small.json"
    definition.write_text(json.dumps({"name": "small", "hosts": {f"h{i}": "ref_assigned" for i in range(20)}}),
                          encoding="utf-8")
    cmd = [sys.executable, "-m", "tests.simhost.lab"]
    state = tmp_path / "lab"
    subprocess.run([*cmd, "start", "--lab", str(definition), "--dir", str(state), "--connection", "psrp"],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=60)
    info = json.loads((state / "lab.json").read_text(encoding="utf-8"))
    assert info["connection"] == "psrp"
    assert '"ansible_connection": "psrp"' in (state / "inventory.yml").read_text(encoding="utf-8")
    cpu = subprocess.run([*cmd, "cpu", "--dir", str(state)], cwd=REPO_ROOT, check=True, capture_output=True,
                         text=True, timeout=60)
    assert json.loads(cpu.stdout)["pid"] == info["pid"]
    stop = subprocess.run([*cmd, "stop", "--dir", str(state)], cwd=REPO_ROOT, check=True, capture_output=True,
                          text=True, timeout=120)
    assert f"pid {info['pid']} exited" in stop.stdout
    assert not process_alive(info["pid"]) and not (state / "lab.json").exists()
    assert os.path.exists(state / "lab.log")


def test_inventory_connection_is_validated_and_names_the_allowed_values() -> None:
    lab = Lab.from_fixtures({"h1": "ref_assigned"})
    with pytest.raises(ValueError, match="connection must be one of winrm, psrp, not 'ssh'"):
        lab.inventory(connection="ssh")
