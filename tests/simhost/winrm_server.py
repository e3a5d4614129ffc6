"""A simulated Windows host that speaks WS-Management (WinRM) over HTTP on 127.0.0.1.

Ansible's real ``winrm`` connection plugin (pywinrm) talks to it. No PowerShell runs: each
command's stdin is decoded (see ``payload.py``) and handed to a ``Dispatcher`` that returns the
output. Supports Basic and NTLM (``Negotiate``) auth and MS-WSMV message encryption. The same
listener answers ansible-core's ``psrp`` plugin (PowerShell Remoting shells, ``psrp_server.py``).
Every listener of the process is served by one event loop (``eventloop.py``), not a thread per host.
See docs/research/winrm-simulation-notes.md for the protocol facts this is built on.
"""
from __future__ import annotations

import atexit
import base64
import binascii
import hashlib
import json
import logging
import os
import re
import shutil
import struct
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Callable, Mapping, Protocol
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from tests.simhost.eventloop import REACTOR, Listener
from tests.simhost.payload import Execution, decode_execution

log = logging.getLogger("simhost.winrm")
log.addHandler(logging.NullHandler())  # silent unless the caller configures logging
PREFIX = "[simulated-winrm]"

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
STATE_DONE = NS["rsp"] + "/CommandState/Done"
STATE_RUNNING = NS["rsp"] + "/CommandState/Running"
FAULT_OPERATION_TIMEOUT = 2150858793  # pywinrm turns this into WinRMOperationTimeoutError
FAULT_INVALID_SELECTORS = 2150858843
FAULT_ACTION_NOT_SUPPORTED = 2150858754
ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"


@dataclass
class ExecResult:
    """What the simulated command prints and returns."""

    stdout: bytes
    stderr: bytes = b""
    rc: int = 0
    delay: float = 0.0  # seconds before the command reports Done; Receive faults with OperationTimeout meanwhile
    lost: bool = False  # the command ran but its answer is lost: each Receive of it drops the connection


class Dispatcher(Protocol):
    def execute(self, execution: Execution) -> ExecResult: ...


# --------------------------------------------------------------------------- generic host answers

def default_result_for(execution: Execution, *, username: str = "ansible",
                       files: Mapping[str, bytes] | None = None) -> ExecResult | None:
    """Answer the generic non-module commands; None for anything else (modules, other raw commands).

    Covers mkdtemp, expand_user, put_file, Remove-Item and, given ``files`` (``WinRMServer.files``),
    fetch_file.
    """
    action = execution.actions[-1] if execution.actions else ""
    params = execution.action_params
    if action == "winrm_fetch_file.ps1" and files is not None:
        return _fetch_file(params, files)
    if execution.kind == "put_file":
        sha1 = hashlib.sha1(execution.file_data or b"").hexdigest()
        return ExecResult(stdout=json.dumps({"sha1": sha1}).encode())
    if action == "powershell_mkdtemp.ps1":
        directory = _expand_env(str(params.get("Directory", "%TEMP%")), username)
        return ExecResult(stdout=f"{directory}\\{params.get('Name', 'ansible-tmp')}\r\n".encode())
    if action == "powershell_expand_user.ps1":
        return ExecResult(stdout=f"{_expand_user(str(params.get('Path', '~')), username)}\r\n".encode())
    if execution.kind == "raw" and re.match(r"(?is)\s*remove-item\b", execution.command_line):
        return ExecResult(stdout=b"")
    return None


def _fetch_file(params: dict, files: Mapping[str, bytes]) -> ExecResult:
    data = files.get(str(params.get("Path", "")).lower())
    if data is None:
        return ExecResult(stdout=b"", stderr=f"Path {params.get('Path')} is not found".encode(), rc=1)
    offset, size = int(params.get("Offset", 0)), int(params.get("BufferSize", 524288))
    return ExecResult(stdout=base64.b64encode(data[offset:offset + size]) + b"\r\n")


def _expand_env(value: str, username: str) -> str:
    home = f"C:\\Users\\{username}"
    env = {"TEMP": f"{home}\\AppData\\Local\\Temp", "TMP": f"{home}\\AppData\\Local\\Temp",
           "USERPROFILE": home, "WINDIR": "C:\\Windows", "SYSTEMROOT": "C:\\Windows",
           "PROGRAMDATA": "C:\\ProgramData"}
    return re.sub(r"%(\w+)%", lambda m: env.get(m.group(1).upper(), m.group(0)), value).rstrip("\\")


def _expand_user(path: str, username: str) -> str:
    home = f"C:\\Users\\{username}"
    if path == "~":
        return home
    return home + path[1:] if path.startswith("~\\") else path


# --------------------------------------------------------------------------- NTLM credential file

# pyspnego's NTLM acceptor reads credentials from the file named by the process-global env var
# NTLM_USER_FILE, so every server in this process shares one file listing all registered users.
_ntlm_lock = threading.Lock()
_ntlm_users: dict[tuple[str, str], list] = {}  # (DOMAIN, USER) upper -> [domain, user, password, refcount]
_ntlm_dir: str | None = None


def _register_ntlm_user(username: str, password: str) -> None:
    global _ntlm_dir
    domain, _, user = username.rpartition("\\")
    if ":" in password or ":" in user:
        raise ValueError(f"{PREFIX} NTLM user file cannot hold ':' in user or password")
    key = (domain.upper(), user.upper())
    with _ntlm_lock:
        entry = _ntlm_users.get(key)
        if entry and entry[2] != password:
            raise ValueError(f"{PREFIX} NTLM user {username!r} already registered with another password")
        if entry:
            entry[3] += 1
        else:
            _ntlm_users[key] = [domain, user, password, 1]
        if _ntlm_dir is None:
            _ntlm_dir = tempfile.mkdtemp(prefix="simwinrm-ntlm-")
            atexit.register(shutil.rmtree, _ntlm_dir, True)
        _write_ntlm_file(_ntlm_dir)


def _unregister_ntlm_user(username: str) -> None:
    domain, _, user = username.rpartition("\\")
    with _ntlm_lock:
        entry = _ntlm_users.get((domain.upper(), user.upper()))
        if entry:
            entry[3] -= 1
            if entry[3] <= 0:
                del _ntlm_users[(domain.upper(), user.upper())]
        if _ntlm_dir:
            _write_ntlm_file(_ntlm_dir)


def _write_ntlm_file(directory: str) -> None:
    path = os.path.join(directory, "ntlm_users")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fd:
        fd.writelines(f"{d}:{u}:{p}\n" for d, u, p, _ in _ntlm_users.values())
    os.replace(tmp, path)  # atomic: an acceptor may be reading it right now
    os.environ["NTLM_USER_FILE"] = path


def mime_encrypt(ctx, data: bytes) -> bytes:
    """MS-WSMV 2.2.9.1.1 framing of an NTLM-sealed SOAP message."""
    wrapped = ctx.wrap(data, encrypt=True).data  # 16-byte signature + sealed data
    return (BOUNDARY + b"\r\n\tContent-Type: " + ENCRYPTED_PROTOCOL.encode() + b"\r\n"
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(data)).encode()
            + b"\r\n" + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
            + struct.pack("<i", 16) + wrapped + BOUNDARY + b"--\r\n")


def mime_decrypt(ctx, body: bytes) -> bytes:
    """Inverse of ``mime_encrypt`` for a client message; raises ValueError when malformed."""
    match = re.search(rb"Length=(\d+)\r\n", body)
    start = body.find(b"application/octet-stream\r\n", match.end() if match else 0)
    end = body.rfind(BOUNDARY + b"--")
    if not match or start < 0 or end < 0:
        raise ValueError("not an MS-WSMV encrypted message")
    payload = body[start + len(b"application/octet-stream\r\n"):end]
    sig_len = struct.unpack("<i", payload[:4])[0]
    data = ctx.unwrap(payload[4:4 + sig_len] + payload[4 + sig_len:]).data
    if len(data) != int(match.group(1)):
        raise ValueError("decrypted length mismatch")
    return data


# --------------------------------------------------------------------------- WS-Man state

@dataclass
class _Tally:
    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0

    def absorb(self, other: _Tally) -> None:
        """Move other's counts into self."""
        self.requests += other.requests
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        other.requests = other.bytes_in = other.bytes_out = 0


@dataclass
class _ExecRecord:
    tally: _Tally = field(default_factory=_Tally)
    module: str | None = None
    kind: str | None = None
    become: dict | None = None
    connection: str = "winrm"  # the client plugin: "winrm" (WinRS shell) or "psrp" (PowerShell pipeline)

    def as_dict(self) -> dict:
        return {"module": self.module, "kind": self.kind, "become": self.become, "connection": self.connection,
                "requests": self.tally.requests, "bytes_in": self.tally.bytes_in,
                "bytes_out": self.tally.bytes_out}


@dataclass
class _Command:
    command: str
    arguments: str
    record: _ExecRecord
    stdin: bytearray = field(default_factory=bytearray)
    result: ExecResult | None = None
    ready_at: float = 0.0
    stdout: bytes = b""
    stderr: bytes = b""


@dataclass
class _Shell:
    pending: _Tally = field(default_factory=_Tally)  # Create (+ auth handshake) until the first Command
    commands: dict[str, _Command] = field(default_factory=dict)
    last_record: _ExecRecord | None = None


@dataclass
class _Request:
    action: str
    message_id: str
    shell_id: str | None
    max_envelope: int
    operation_timeout: float
    options: dict[str, str]
    body: ET.Element
    resource_uri: str = ""


@dataclass
class _Reply:
    status: int
    xml: bytes
    target: _Tally | None = None  # where this request's bytes are accounted; None = the connection
    drop: bool = False  # close the connection without a response (an answer lost on the way)


def _parse_request(xml: bytes) -> _Request:
    root = ET.fromstring(xml)
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    if header is None or body is None:
        raise ValueError("not a SOAP envelope")

    def text(path: str, default: str = "") -> str:
        node = header.find(path, NS)
        return (node.text or default).strip() if node is not None else default

    timeout = re.match(r"PT([\d.]+)S", text("w:OperationTimeout", "PT20S"))
    selector = header.find("w:SelectorSet/w:Selector[@Name='ShellId']", NS)
    return _Request(
        action=text("a:Action"), message_id=text("a:MessageID"),
        shell_id=(selector.text or "").strip() if selector is not None else None,
        max_envelope=int(text("w:MaxEnvelopeSize", "153600")),
        operation_timeout=float(timeout.group(1)) if timeout else 20.0,
        options={o.get("Name", ""): (o.text or "").strip() for o in header.findall("w:OptionSet/w:Option", NS)},
        body=body, resource_uri=text("w:ResourceURI"))


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    ns = " ".join(f"xmlns:{k}={quoteattr(v)}" for k, v in NS.items())
    return (f'<s:Envelope xml:lang="en-US" {ns}><s:Header><a:Action>{escape(action)}</a:Action>'
            f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
            f"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
            f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
            f"<s:Body>{body}</s:Body></s:Envelope>").encode()


class _WSMan:
    """Shell/command state and the six WS-Man actions Ansible uses. Thread safe.

    WinRS shells (``.../windows/shell/cmd``, the ``winrm`` plugin) are handled here; PowerShell
    Remoting shells (``http://schemas.microsoft.com/powershell/...``, the ``psrp`` plugin) by
    ``psrp_server.PsrpService`` on the same shells table and accounting.
    """

    def __init__(self, name: str, username: str, dispatcher: Dispatcher) -> None:
        self.name = name
        self.username = username
        self.dispatcher = dispatcher
        self.cond = threading.Condition()
        self.shells: dict[str, _Shell] = {}
        self.files: dict[str, bytes] = {}  # put_file store, lower-cased path -> content
        self.receive_hold = 0.5
        self.reset_stats()
        from tests.simhost.psrp_server import PsrpService  # noqa: PLC0415 - psrp_server builds on this module
        self.psrp = PsrpService(self)

    def reset_stats(self) -> None:
        with self.cond:
            self.totals = _Tally()
            self.records: list[_ExecRecord] = []
            self.module_executions = self.shell_count = self.command_count = 0

    def handle(self, xml: bytes, connection_pending: _Tally) -> _Reply:
        try:
            req = _parse_request(xml)
        except (ET.ParseError, ValueError) as exc:
            return _Reply(400, f"{PREFIX} bad request: {exc}".encode())
        if req.action == ACTION_CREATE:
            if self.psrp.owns(req.resource_uri):
                return self.psrp.create(req, connection_pending)
            return self._create(req, connection_pending)
        handler = {
            ACTION_DELETE: self._delete,
            NS["rsp"] + "/Command": self._command,
            NS["rsp"] + "/Send": self._send,
            NS["rsp"] + "/Receive": self._receive,
            NS["rsp"] + "/Signal": self._signal,
        }.get(req.action)
        if handler is None:
            return self._fault(req, FAULT_ACTION_NOT_SUPPORTED, "w:ActionNotSupported",
                               f"The action {req.action} is not supported by the service.")
        shell = self.shells.get(req.shell_id or "")
        if shell is None:
            return self._fault(req, FAULT_INVALID_SELECTORS, "w:InvalidSelectors",
                               f"The request for the Windows Remote Shell with ShellId {req.shell_id} "
                               "failed because the shell was not found on the server.")
        if not isinstance(shell, _Shell):
            return self.psrp.handle(req, shell)
        return handler(req, shell)

    def _fault(self, req: _Request, code: int, subcode: str, reason: str, target: _Tally | None = None) -> _Reply:
        body = (f'<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>{subcode}</s:Value>'
                f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(reason)}</s:Text></s:Reason>'
                f'<s:Detail><f:WSManFault Code="{code}" Machine={quoteattr(self.name)}>'
                f"<f:Message>{escape(reason)}</f:Message></f:WSManFault></s:Detail></s:Fault>")
        return _Reply(500, _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", req.message_id, body),
                      target)

    def _ok(self, req: _Request, body: str, target: _Tally | None) -> _Reply:
        return _Reply(200, _envelope(req.action + "Response", req.message_id, body), target)

    def _create(self, req: _Request, connection_pending: _Tally) -> _Reply:
        shell_id = str(uuid.uuid4()).upper()
        shell = _Shell()
        with self.cond:
            shell.pending.absorb(connection_pending)
            self.shells[shell_id] = shell
            self.shell_count += 1
        log.debug("%s %s: shell %s created", PREFIX, self.name, shell_id)
        body = (f"<x:ResourceCreated><a:Address>http://{escape(self.name)}/wsman</a:Address><a:ReferenceParameters>"
                f"<w:ResourceURI>{SHELL_URI}</w:ResourceURI><w:SelectorSet><w:Selector Name=\"ShellId\">"
                f"{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"
                f"<rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId><rsp:ResourceUri>{SHELL_URI}</rsp:ResourceUri>"
                f"<rsp:Owner>{escape(self.username)}</rsp:Owner><rsp:InputStreams>stdin</rsp:InputStreams>"
                f"<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>")
        return self._ok(req, body, shell.pending)

    def _command(self, req: _Request, shell: _Shell) -> _Reply:
        line = req.body.find("rsp:CommandLine", NS)
        command = (line.findtext("rsp:Command", "", NS) if line is not None else "").strip()
        # One rsp:Arguments element per argument (ansible-core 2.16-2.18 send -EncodedCommand and its value apart).
        arguments = " ".join((a.text or "").strip() for a in line.findall("rsp:Arguments", NS)) if line is not None else ""
        command_id = str(uuid.uuid4()).upper()
        cmd = _Command(command, arguments, _ExecRecord())
        with self.cond:
            cmd.record.tally.absorb(shell.pending)
            shell.commands[command_id] = cmd
            shell.last_record = cmd.record
            self.records.append(cmd.record)
            self.command_count += 1
        if req.options.get("WINRS_CONSOLEMODE_STDIN", "TRUE").upper() == "TRUE":
            self._execute(cmd)  # console mode: no stdin will be sent (raw commands)
        body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
        return self._ok(req, body, cmd.record.tally)

    def _find_command(self, req: _Request, shell: _Shell, path: str) -> tuple[str, _Command | None]:
        node = req.body.find(path, NS)
        command_id = node.get("CommandId", "") if node is not None else ""
        return command_id, shell.commands.get(command_id)

    def _send(self, req: _Request, shell: _Shell) -> _Reply:
        command_id, cmd = self._find_command(req, shell, "rsp:Send/rsp:Stream")
        if cmd is None:
            return self._fault(req, FAULT_INVALID_SELECTORS, "w:InvalidSelectors", f"Unknown command {command_id}")
        stream = req.body.find("rsp:Send/rsp:Stream", NS)
        try:
            cmd.stdin += base64.b64decode(stream.text or "")
        except binascii.Error:
            return _Reply(400, f"{PREFIX} stdin is not base64".encode(), cmd.record.tally)
        # Ansible omits End on all chunks but the last; pywinrm sends End="false".
        if stream.get("End", "false").lower() == "true" and cmd.result is None:
            self._execute(cmd)
        return self._ok(req, "<rsp:SendResponse/>", cmd.record.tally)

    def _execute(self, cmd: _Command) -> None:
        execution = decode_execution(cmd.command, cmd.arguments, bytes(cmd.stdin), files=self.files)
        result = self.run(execution, cmd.record)
        with self.cond:
            cmd.result, cmd.stdout, cmd.stderr = result, result.stdout, result.stderr
            cmd.ready_at = time.monotonic() + result.delay
            self.cond.notify_all()

    def run(self, execution: Execution, record: _ExecRecord) -> ExecResult:
        """Hand one decoded execution to the host (winrm and psrp alike) and account it."""
        log.info("%s %s: %s %s", PREFIX, self.name, execution.kind,
                 execution.module_fqcn or execution.command_line[:80])
        try:
            result = self.dispatcher.execute(execution)
        except Exception as exc:  # the dispatcher is test code; report its bug as a failed command
            log.exception("%s %s: dispatcher failed", PREFIX, self.name)
            result = ExecResult(stdout=b"", stderr=f"{PREFIX} dispatcher error: {exc!r}".encode(), rc=1)
        with self.cond:
            if execution.kind == "put_file" and result.rc == 0 and execution.file_data is not None:
                self.files[str(execution.action_params.get("Path", "")).lower()] = execution.file_data
            if execution.kind == "module":
                self.module_executions += 1
            become = {k: v for k, v in (execution.become or {}).items() if k != "BecomePassword"}
            record.module, record.kind = execution.module_fqcn, execution.kind
            record.become = become if execution.become is not None else None
        return result

    def _receive(self, req: _Request, shell: _Shell) -> _Reply:
        command_id, cmd = self._find_command(req, shell, "rsp:Receive/rsp:DesiredStream")
        if cmd is None:
            return self._fault(req, FAULT_INVALID_SELECTORS, "w:InvalidSelectors", f"Unknown command {command_id}")
        if cmd.result is not None and cmd.result.lost:
            return _Reply(0, b"", cmd.record.tally, drop=True)
        # A real server holds Receive up to OperationTimeout; we hold briefly so polling stays cheap.
        deadline = time.monotonic() + min(req.operation_timeout, self.receive_hold)
        with self.cond:
            while cmd.result is None or time.monotonic() < cmd.ready_at:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return self._fault(req, FAULT_OPERATION_TIMEOUT, "w:TimedOut",
                                       "The WS-Management service cannot complete the operation within "
                                       "the time specified in OperationTimeout.", cmd.record.tally)
                wait = remaining if cmd.result is None else min(remaining, cmd.ready_at - time.monotonic())
                self.cond.wait(max(wait, 0.001))
            body = self._take_output(command_id, cmd, req.max_envelope)
        return self._ok(req, f"<rsp:ReceiveResponse>{body}</rsp:ReceiveResponse>", cmd.record.tally)

    @staticmethod
    def _take_output(command_id: str, cmd: _Command, max_envelope: int) -> str:
        """Next slice of stdout/stderr that fits the client's MaxEnvelopeSize (base64 + ~4 KB SOAP)."""
        budget = max(4096, max_envelope - 4096) // 4 * 3
        out, cmd.stdout = cmd.stdout[:budget], cmd.stdout[budget:]
        err, cmd.stderr = cmd.stderr[:budget - len(out)], cmd.stderr[budget - len(out):]
        cid = quoteattr(command_id)
        parts = [f'<rsp:Stream Name="{name}" CommandId={cid}>{base64.b64encode(data).decode()}</rsp:Stream>'
                 for name, data in (("stdout", out), ("stderr", err)) if data]
        if cmd.stdout or cmd.stderr:
            parts.append(f'<rsp:CommandState CommandId={cid} State="{STATE_RUNNING}"/>')
        else:
            parts.append(f'<rsp:Stream Name="stdout" CommandId={cid} End="true"/>'
                         f'<rsp:Stream Name="stderr" CommandId={cid} End="true"/>'
                         f'<rsp:CommandState CommandId={cid} State="{STATE_DONE}">'
                         f"<rsp:ExitCode>{cmd.result.rc}</rsp:ExitCode></rsp:CommandState>")
        return "".join(parts)

    def _signal(self, req: _Request, shell: _Shell) -> _Reply:
        node = req.body.find("rsp:Signal", NS)
        command_id = node.get("CommandId", "") if node is not None else ""
        with self.cond:
            cmd = shell.commands.pop(command_id, None)
        return self._ok(req, "<rsp:SignalResponse/>", cmd.record.tally if cmd else None)

    def add_record(self, record: _ExecRecord) -> None:
        """Count a new command (caller holds ``cond``)."""
        self.records.append(record)
        self.command_count += 1

    def _delete(self, req: _Request, shell: _Shell) -> _Reply:
        with self.cond:
            self.shells.pop(req.shell_id or "", None)
        target = shell.last_record.tally if shell.last_record else shell.pending
        return self._ok(req, "", target)

    def account(self, target: _Tally, bytes_in: int, bytes_out: int) -> None:
        with self.cond:
            for tally in (target, self.totals):
                tally.requests += 1
                tally.bytes_in += bytes_in
                tally.bytes_out += bytes_out

    def stats(self) -> dict:
        with self.cond:
            return {"http_requests": self.totals.requests, "bytes_in": self.totals.bytes_in,
                    "bytes_out": self.totals.bytes_out, "module_executions": self.module_executions,
                    "shells": self.shell_count, "commands": self.command_count,
                    "executions": [r.as_dict() for r in self.records]}


# --------------------------------------------------------------------------- HTTP layer

class _Connection:
    """One client TCP connection: its NTLM context and the auth requests not yet tied to a shell.

    The shared event loop (``eventloop.py``) reads each request and calls ``handle`` on a worker.
    """

    def __init__(self, sim: WinRMServer) -> None:
        self.sim = sim
        self._ntlm = None  # pyspnego acceptor; lives as long as the TCP connection (NTLM authenticates it)
        self._pending = _Tally()  # auth handshake requests not yet tied to a shell
        self._response = b""
        self.headers: dict[str, str] = {}
        self.command = self.path = ""
        self.close_connection = False

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes, wire: int) -> tuple[bytes, bool]:
        """Answer one request; ``wire`` is its size on the wire (request line + headers + body)."""
        self.command, self.path, self.headers = method, path, headers
        self.close_connection = False
        path = urlsplit(path).path
        sim = self.sim
        target: _Tally | None = None
        if path.startswith("/sim/"):
            self._control(path, body)
        elif sim.unreachable:
            self.close_connection = True  # drop without a response: Ansible reports UNREACHABLE
        elif path != "/wsman" or method != "POST":
            self._reply(404 if path != "/wsman" else 405)
            target = self._pending
        else:
            target = self._wsman(body)
        response, self._response = self._response, b""
        if target is not None:  # account before writing, so stats are complete once the client has its answer
            sim._ws.account(target, wire, len(response))
        return response, self.close_connection

    def _control(self, path: str, body: bytes) -> None:
        handler = self.sim.control_handler
        if handler is None:
            self._reply(404, b'{"error": "no control handler"}', "application/json")
            return
        try:
            status, payload = handler(self.command, path, body)
        except Exception as exc:  # report test-side bugs to the caller instead of dropping the connection
            log.exception("%s control handler failed", PREFIX)
            status, payload = 500, json.dumps({"error": repr(exc)}).encode()
        self._reply(status, payload, "application/json")

    def _wsman(self, body: bytes) -> _Tally:
        """Authenticate, decrypt, run the WS-Man action, reply. Returns where to account the request."""
        sim = self.sim
        if not self._authenticate():
            return self._pending
        encrypted = self.headers.get("content-type", "").lower().startswith("multipart/encrypted")
        if encrypted:
            try:
                if self._ntlm is None:
                    raise ValueError("encrypted message without an NTLM context")
                body = mime_decrypt(self._ntlm, body)
            except Exception as exc:  # noqa: BLE001 - any unwrap failure is a bad request
                log.warning("%s %s: cannot decrypt request: %s", PREFIX, sim.name, exc)
                self._reply(400)
                return self._pending
        elif body and sim.require_encryption:
            self._reply(400)  # like a server with AllowUnencrypted=false
            return self._pending
        if not body:
            self._reply(200)  # the client's empty setup_encryption POST
            return self._pending
        try:
            reply = sim._ws.handle(body, self._pending)
        except Exception:  # a server bug: answer 500 rather than dropping the connection
            log.exception("%s %s: internal error", PREFIX, sim.name)
            reply = _Reply(500, f"{PREFIX} internal error".encode())
        if reply.drop:
            self.close_connection = True  # the command ran on the host; its answer never reaches the client
            return reply.target or self._pending
        if encrypted:
            content_type = f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";boundary="Encrypted Boundary"'
            self._reply(reply.status, mime_encrypt(self._ntlm, reply.xml), content_type)
        else:
            self._reply(reply.status, reply.xml, SOAP_CONTENT_TYPE)
        return reply.target or self._pending

    def _authenticate(self) -> bool:
        """True when the request may proceed; otherwise the 401 has been sent."""
        sim = self.sim
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        scheme = scheme.lower()
        if scheme == "basic" and "basic" in sim.auth:
            if self._basic_ok(token.strip()):
                return True
        elif scheme in ("negotiate", "ntlm") and "ntlm" in sim.auth:
            return self._ntlm_step(token.strip())
        elif self._ntlm is not None and self._ntlm.complete:
            return True  # requests-ntlm only sends Authorization during the handshake
        self._reply(401, extra=self._challenges())
        return False

    def _basic_ok(self, token: str) -> bool:
        try:
            user, _, password = base64.b64decode(token).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        sim = self.sim
        return user.lower() == sim.username.lower() and password == sim.password

    def _ntlm_step(self, token: str) -> bool:
        import spnego  # optional dependency, only needed for NTLM

        if self._ntlm is None or self._ntlm.complete:
            self._ntlm = spnego.server(protocol="ntlm")
        try:
            out = self._ntlm.step(base64.b64decode(token))
        except Exception as exc:  # noqa: BLE001 - wrong password, garbage token ...
            log.info("%s %s: NTLM rejected: %s", PREFIX, self.sim.name, exc)
            self._ntlm = None
            self._reply(401, extra=self._challenges())
            return False
        if not self._ntlm.complete:
            self._reply(401, extra=[("WWW-Authenticate", "Negotiate " + base64.b64encode(out or b"").decode())])
            return False
        principal = (self._ntlm.client_principal or "").rpartition("\\")[2]
        if principal.lower() != self.sim.username.rpartition("\\")[2].lower():
            self._ntlm = None  # a user registered by another server in this process
            self._reply(401, extra=self._challenges())
            return False
        return True

    def _challenges(self) -> list[tuple[str, str]]:
        auth = self.sim.auth
        return ([("WWW-Authenticate", "Negotiate")] if "ntlm" in auth else []) + \
               ([("WWW-Authenticate", 'Basic realm="WSMAN"')] if "basic" in auth else [])

    def _reply(self, status: int, body: bytes = b"", content_type: str | None = None,
               extra: list[tuple[str, str]] | tuple = ()) -> None:
        """Build the response (status line, headers, body) as one buffer: one write, no Nagle stall."""
        headers = [("Server", "Microsoft-HTTPAPI/2.0 (simulated)"), ("Content-Length", str(len(body)))]
        headers += [("Content-Type", content_type)] if content_type else []
        headers += list(extra)
        head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        self._response = head.encode("latin-1") + body
        log.debug("%s %s: %s %s -> %d", PREFIX, self.sim.name, self.command, self.path, status)


class WinRMServer:
    """A simulated WinRM endpoint (``/wsman``) plus a test control path (``/sim/...``)."""

    def __init__(self, name: str, dispatcher: Dispatcher, *, username: str = "ansible",
                 password: str = "Passw0rd!", auth: tuple[str, ...] = ("basic", "ntlm"),
                 require_encryption: bool = False, host: str = "127.0.0.1", port: int = 0,
                 control_handler: Callable[[str, str, bytes], tuple[int, bytes]] | None = None) -> None:
        if host != "127.0.0.1":
            raise ValueError(f"{PREFIX} refusing to bind {host!r}: the simulated host listens on 127.0.0.1 only")
        unknown = set(auth) - {"basic", "ntlm"}
        if unknown:
            raise ValueError(f"{PREFIX} unsupported auth {sorted(unknown)}")
        self.name = name
        self.username = username
        self.password = password
        self.auth = tuple(auth)
        self.require_encryption = require_encryption
        self.control_handler = control_handler
        self.unreachable = False
        self._address = (host, port)
        self._ws = _WSMan(name, username, dispatcher)
        self._listener: Listener | None = None

    @property
    def receive_hold(self) -> float:
        """Seconds a Receive waits for output before answering with an OperationTimeout fault."""
        return self._ws.receive_hold

    @receive_hold.setter
    def receive_hold(self, value: float) -> None:
        self._ws.receive_hold = value

    @property
    def files(self) -> dict[str, bytes]:
        """The put_file store (lower-cased Windows path -> content)."""
        return self._ws.files

    def start(self) -> None:
        if "ntlm" in self.auth:
            _register_ntlm_user(self.username, self.password)
        try:
            self._listener = REACTOR.listen(self._address[0], self._address[1], lambda: _Connection(self).handle,
                                            f"simulated-winrm-{self.name}")
        except BaseException:
            if "ntlm" in self.auth:
                _unregister_ntlm_user(self.username)
            raise
        log.info("%s %s listening on 127.0.0.1:%d", PREFIX, self.name, self.port)

    def stop(self) -> None:
        if self._listener is None:
            return
        self._listener.close()
        self._listener = None
        if "ntlm" in self.auth:
            _unregister_ntlm_user(self.username)
        log.info("%s %s stopped", PREFIX, self.name)

    def __enter__(self) -> WinRMServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError(f"{PREFIX} {self.name} is not started")
        return self._listener.port

    def stats(self) -> dict:
        return self._ws.stats()

    def reset_stats(self) -> None:
        self._ws.reset_stats()
