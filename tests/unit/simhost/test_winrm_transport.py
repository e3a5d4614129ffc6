"""Tests for the simulated WinRM host: pywinrm directly, then the real ``ansible`` CLI against it."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Callable

import pytest
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WinRMTransportError

from tests.simhost.payload import Execution, decode_execution, module_fqcn_from_script
from tests.simhost.winrm_server import ExecResult, WinRMServer, default_result_for

BIN = Path(sys.executable).parent
USER, PASSWORD = "ansible", "Passw0rd!"
ECHO_PS1 = """#!powershell
#AnsibleRequires -CSharpUtil Ansible.Basic

$spec = @{ options = @{ x = @{ type = 'str' } } }
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.echo = $module.Params
$module.ExitJson()
"""


class Recorder:
    """Dispatcher that records every Execution; modules echo their args, the rest uses the defaults."""

    def __init__(self, respond: Callable[[Execution], ExecResult] | None = None) -> None:
        self.executions: list[Execution] = []
        self._lock = threading.Lock()
        self._respond = respond

    def execute(self, execution: Execution) -> ExecResult:
        with self._lock:
            self.executions.append(execution)
        if self._respond is not None:
            return self._respond(execution)
        default = default_result_for(execution)
        if default is not None:
            return default
        if execution.kind == "module":
            return ExecResult(stdout=json.dumps({"changed": False, "echo": execution.module_args}).encode())
        return ExecResult(stdout=b"", stderr=b"unexpected command", rc=1)

    @property
    def modules(self) -> list[Execution]:
        return [e for e in self.executions if e.kind == "module"]


@pytest.fixture
def server_factory():
    servers: list[WinRMServer] = []

    def make(dispatcher, **kwargs) -> WinRMServer:
        server = WinRMServer(f"simwin{len(servers)}", dispatcher, **kwargs)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def endpoint(server: WinRMServer) -> str:
    return f"http://127.0.0.1:{server.port}/wsman"


# --------------------------------------------------------------------------- pywinrm directly

def test_basic_run_cmd_returns_stdout_and_rc(server_factory):
    server = server_factory(Recorder(lambda e: ExecResult(stdout=b"fixed output\r\n", stderr=b"warn", rc=3)))
    session = winrm.Session(endpoint(server), auth=(USER, PASSWORD), transport="basic")
    result = session.run_cmd("ipconfig", ["/all"])
    assert (result.std_out, result.std_err, result.status_code) == (b"fixed output\r\n", b"warn", 3)
    stats = server.stats()
    assert stats["shells"] == 1 and stats["commands"] == 1 and stats["executions"][0]["kind"] == "raw"


def test_large_stdout_is_split_over_several_receives(server_factory):
    blob = os.urandom(700 * 1024)
    server = server_factory(Recorder(lambda e: ExecResult(stdout=blob, stderr=b"tail")))
    protocol = winrm.Protocol(endpoint(server), transport="basic", username=USER, password=PASSWORD)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "cmd", ["/c", "type", "big.bin"])
    chunks, done, receives = [], False, 0
    while not done:
        out, err, rc, done = protocol.get_command_output_raw(shell, command)
        chunks.append(out + err)
        receives += 1
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    assert b"".join(chunks) == blob + b"tail" and rc == 0
    assert receives >= 5  # 700 KB over a 153,600-byte MaxEnvelopeSize


def test_receive_faults_with_operation_timeout_while_command_runs(server_factory):
    server = server_factory(Recorder(lambda e: ExecResult(stdout=b"late", delay=0.6)))
    server.receive_hold = 0.1
    protocol = winrm.Protocol(endpoint(server), transport="basic", username=USER, password=PASSWORD)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "slow.exe")
    with pytest.raises(WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell, command)
    assert protocol.get_command_output(shell, command) == (b"late", b"", 0)


def test_ntlm_with_message_encryption(server_factory):
    server = server_factory(Recorder(lambda e: ExecResult(stdout=f"ran {e.command_line}".encode())))
    for encryption in ("always", "auto"):
        session = winrm.Session(endpoint(server), auth=(USER, PASSWORD), transport="ntlm",
                                message_encryption=encryption)
        assert session.run_cmd("hostname").std_out == b"ran hostname"
    # 3 auth round trips + Create, Command, Receive, Signal, Delete, per session
    assert [e["requests"] for e in server.stats()["executions"]] == [8, 8]


def test_ntlm_wrong_password_is_rejected(server_factory):
    server = server_factory(Recorder())
    session = winrm.Session(endpoint(server), auth=(USER, "wrong"), transport="ntlm")
    with pytest.raises(InvalidCredentialsError):
        session.run_cmd("hostname")
    assert server.stats()["shells"] == 0


def test_basic_wrong_password_is_rejected(server_factory):
    server = server_factory(Recorder())
    with pytest.raises(InvalidCredentialsError):
        winrm.Session(endpoint(server), auth=(USER, "wrong"), transport="basic").run_cmd("hostname")


@pytest.mark.parametrize("transport", ["ntlm", "basic"])
def test_unencrypted_rejected_when_encryption_required(server_factory, transport):
    server = server_factory(Recorder(lambda e: ExecResult(stdout=b"ok")), require_encryption=True)
    session = winrm.Session(endpoint(server), auth=(USER, PASSWORD), transport=transport, message_encryption="never")
    with pytest.raises(WinRMTransportError) as info:
        session.run_cmd("hostname")
    assert info.value.code == 400
    encrypted = winrm.Session(endpoint(server), auth=(USER, PASSWORD), transport="ntlm", message_encryption="always")
    assert encrypted.run_cmd("hostname").std_out == b"ok"


def test_control_path_needs_no_auth_and_is_not_counted(server_factory):
    calls = []

    def control(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        calls.append((method, path, body))
        return 200, json.dumps({"ok": True}).encode()

    server = server_factory(Recorder(), control_handler=control)
    server.unreachable = True  # the control path keeps working
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/sim/fault", data=b'{"x": 1}', method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Type"] == "application/json"
        assert json.loads(response.read()) == {"ok": True}
    assert calls == [("POST", "/sim/fault", b'{"x": 1}')]
    assert server.stats()["http_requests"] == 0


def test_refuses_non_loopback_bind():
    with pytest.raises(ValueError):
        WinRMServer("x", Recorder(), host="0.0.0.0")


# --------------------------------------------------------------------------- payload decoding

@pytest.mark.parametrize("script, fqcn", [
    ("ansible_collections.mecm.fieldkit.plugins.modules.sccm_op_runner.ps1", "mecm.fieldkit.sccm_op_runner"),
    ("ansible_collections.ns.coll.plugins.modules.sub.thing.ps1", "ns.coll.sub.thing"),
    ("ansible.modules.win_ping.ps1", "ansible.builtin.win_ping"),
    ("ansible.legacy.my_mod.ps1", "ansible.legacy.my_mod"),
])
def test_module_fqcn_from_script(script, fqcn):
    assert module_fqcn_from_script(script) == fqcn


def test_raw_command_line_is_decoded():
    encoded = base64.b64encode("Write-Output 'hi'".encode("utf-16-le")).decode()
    execution = decode_execution("PowerShell", f"-NoProfile -NonInteractive -EncodedCommand {encoded}", b"")
    assert (execution.kind, execution.command_line, execution.module_fqcn) == ("raw", "Write-Output 'hi'", None)


def test_default_results_for_generic_commands():
    mkdtemp = Execution(kind="other", module_fqcn=None, module_args={}, scripts={}, become=None, command_line="",
                        stdin=b"", actions=["powershell_mkdtemp.ps1"],
                        action_params={"Directory": "%TEMP%", "Name": "ansible-tmp-1"})
    assert default_result_for(mkdtemp).stdout == b"C:\\Users\\ansible\\AppData\\Local\\Temp\\ansible-tmp-1\r\n"
    fetch = Execution(kind="other", module_fqcn=None, module_args={}, scripts={}, become=None, command_line="",
                      stdin=b"", actions=["winrm_fetch_file.ps1"],
                      action_params={"Path": "C:\\X.log", "Offset": 2, "BufferSize": 3})
    assert base64.b64decode(default_result_for(fetch, files={"c:\\x.log": b"abcdefg"}).stdout) == b"cde"
    assert default_result_for(fetch, files={}).rc == 1
    assert default_result_for(decode_execution("hostname", "", b"")) is None


# --------------------------------------------------------------------------- real ansible

@pytest.fixture(scope="module")
def collection_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("collections")
    modules = root / "ansible_collections" / "simtest" / "echo" / "plugins" / "modules"
    modules.mkdir(parents=True)
    (modules / "echo.ps1").write_text(ECHO_PS1)
    return root


def write_inventory(directory: Path, server: WinRMServer, transport: str, extra: str = "") -> Path:
    host_vars = (f"ansible_connection=winrm ansible_host=127.0.0.1 ansible_port={server.port} "
                 f"ansible_user={USER} ansible_password={PASSWORD} ansible_winrm_transport={transport} "
                 "ansible_winrm_scheme=http ansible_winrm_server_cert_validation=ignore")
    if transport == "basic":
        host_vars += " ansible_winrm_message_encryption=never"
    inventory = directory / f"inventory-{transport}.ini"
    inventory.write_text(f"[windows]\n{server.name} {host_vars} {extra}\n")
    return inventory


def run_ansible(collection_root: Path, tool: str, *args: str, env: dict | None = None):
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection_root), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCAL_TEMP=str(collection_root / "tmp"), ANSIBLE_DEPRECATION_WARNINGS="0")
    environment.update(env or {})
    return subprocess.run([str(BIN / tool), *args], cwd=collection_root, env=environment,
                          capture_output=True, text=True, timeout=120)


def echo_adhoc(collection_root: Path, server: WinRMServer, transport: str, env: dict | None = None):
    inventory = write_inventory(collection_root, server, transport)
    return run_ansible(collection_root, "ansible", "-i", str(inventory), "all", "-m", "simtest.echo.echo",
                       "-a", "x=1", env=env)


@pytest.fixture(scope="module", params=["basic", "ntlm"])
def echo_run(request, collection_root):
    """One ad-hoc echo run per transport, shared by the assertions below."""
    recorder = Recorder()
    server = WinRMServer(f"echo-{request.param}", recorder)
    server.start()
    try:
        result = echo_adhoc(collection_root, server, request.param)
        yield request.param, result, recorder, server.stats()
    finally:
        server.stop()


def test_ansible_module_roundtrip(echo_run, collection_root):
    _, result, recorder, _ = echo_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and '"x": "1"' in result.stdout
    [execution] = recorder.modules
    assert execution.module_fqcn == "simtest.echo.echo"
    assert execution.module_script == "ansible_collections.simtest.echo.plugins.modules.echo.ps1"
    assert execution.scripts[execution.module_script] == ECHO_PS1
    assert "Ansible.Basic.cs" in execution.scripts
    assert execution.module_args["x"] == "1" and execution.module_args["_ansible_check_mode"] is False
    assert execution.become is None


def test_ansible_stats_per_module_execution(echo_run):
    transport, result, _, stats = echo_run
    assert result.returncode == 0
    expected_requests = {"basic": 6, "ntlm": 9}[transport]
    assert stats["http_requests"] == expected_requests
    assert (stats["module_executions"], stats["shells"], stats["commands"]) == (1, 1, 1)
    [entry] = stats["executions"]
    assert entry["module"] == "simtest.echo.echo" and entry["kind"] == "module"
    assert entry["requests"] == expected_requests
    assert stats["bytes_in"] == entry["bytes_in"] > 200_000  # the exec payload is ~170 KB of stdin
    assert stats["bytes_out"] == entry["bytes_out"] > 5_000


def test_ansible_become_runas(server_factory, collection_root):
    recorder = Recorder()
    server = server_factory(recorder)
    inventory = write_inventory(collection_root, server, "basic")
    playbook = collection_root / "become.yml"
    playbook.write_text("""
- hosts: all
  gather_facts: false
  tasks:
    - simtest.echo.echo: {x: system}
      become: true
      become_method: runas
      become_user: SYSTEM
    - simtest.echo.echo: {x: bob}
      become: true
      become_method: runas
      become_user: bob
      become_flags: logon_type=batch
      vars: {ansible_become_password: S3cret}
""")
    result = run_ansible(collection_root, "ansible-playbook", "-i", str(inventory), str(playbook))
    assert result.returncode == 0, result.stdout + result.stderr
    system, bob = recorder.modules
    assert system.become == {"BecomeUser": "SYSTEM"}
    assert bob.become == {"BecomeUser": "bob", "LogonType": "Batch", "BecomePassword": "S3cret"}
    assert {"become_wrapper.ps1", "Ansible.Become.cs"} <= set(system.scripts)
    entries = server.stats()["executions"]
    assert [e["become"] for e in entries] == [{"BecomeUser": "SYSTEM"}, {"BecomeUser": "bob", "LogonType": "Batch"}]
    assert all(e["requests"] == 7 for e in entries)  # ~300 KB payload: two Sends


def test_ansible_unreachable(server_factory, collection_root):
    recorder = Recorder()
    server = server_factory(recorder)
    server.unreachable = True
    result = echo_adhoc(collection_root, server, "ntlm")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "UNREACHABLE" in result.stdout and "FAILED" not in result.stdout
    assert recorder.executions == [] and server.stats()["http_requests"] == 0


def test_ansible_long_running_module_polls_through_operation_timeouts(server_factory, collection_root):
    def slow(execution: Execution) -> ExecResult:
        return ExecResult(stdout=json.dumps({"changed": True, "slow": True}).encode(), delay=1.5)

    server = server_factory(Recorder(slow))
    result = echo_adhoc(collection_root, server, "basic")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"slow": true' in result.stdout and "CHANGED" in result.stdout
    assert server.stats()["http_requests"] >= 6 + 2  # at least two Receives answered with OperationTimeout


def test_ansible_keep_remote_files_path(server_factory, collection_root):
    recorder = Recorder()
    server = server_factory(recorder)
    result = echo_adhoc(collection_root, server, "basic", env={"ANSIBLE_KEEP_REMOTE_FILES": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e.kind for e in recorder.executions] == ["other", "put_file", "module"]
    module = recorder.modules[0]
    assert module.piped_from and module.piped_from.endswith("AnsiballZ_echo.ps1")
    assert module.module_fqcn == "simtest.echo.echo" and module.module_args["x"] == "1"
    stats = server.stats()
    assert stats["http_requests"] == sum(e["requests"] for e in stats["executions"]) == 14
