"""The PowerShell Remoting Protocol (MS-PSRP) side of a simulated WinRM listener (simulated lab
support code, not packaged).

ansible-core's ``psrp`` connection plugin (pypsrp) opens a RunspacePool as a WS-Man shell with the
resource URI ``http://schemas.microsoft.com/powershell/Microsoft.PowerShell`` and runs each command
as a PowerShell pipeline on it. The PSRP messages themselves (fragments, session capability,
runspace pool and pipeline state, output and host calls) are read and written by ``psrpcore``'s
``ServerRunspacePool`` / ``ServerPipeline``; this module carries them over the WS-Man actions:

==========  ============================================================================
Create      rsp:Shell with ``creationXml`` (SESSION_CAPABILITY + INIT_RUNSPACEPOOL)
Receive     no CommandId: the pool's messages (capability, private data, state Opened);
            with CommandId: the pipeline's output, host calls and state
Command     ``CommandId`` = pipeline id, ``rsp:Arguments`` = CREATE_PIPELINE fragments
Send        ``stdin`` with CommandId: PIPELINE_INPUT / END_OF_PIPELINE_INPUT (``pr``: host responses)
Signal      ``powershell/signal/crtl_c`` (stop) or terminate: the pipeline is dropped
Delete      the RunspacePool is closed
==========  ============================================================================

No PowerShell runs. For a module Ansible's plugin runs the exec bootstrap (``bootstrap_wrapper.ps1``,
the script it would pass to ``-EncodedCommand`` over winrm) as the pipeline's script and sends the
payload as pipeline input, one line per input object. Joined with ``\\n`` the lines are the very
stdin the winrm plugin sends, so the same ``payload.decode_execution`` and the same host checks
(PowerShell syntax of every script, 5.1 pitfall rules, op execution through ``runner.py``) apply.
A non-zero exit code goes back as the ``SetShouldExit`` host call, as ``exit <n>`` does in a
remote pipeline. References (https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/):
MS-PSRP 3.1.5.3.1 (wxf:Create: InputStreams "stdin pr", OutputStreams "stdout"), 3.1.5.3.3 (wxf:Command:
Command empty, Arguments the first fragment, the rest by Send), 3.1.5.3.5 (wxf:Send: CommandId only for a
pipeline), 3.1.5.3.7 and 3.2.5.3.8 (wxf:Receive / ReceiveResponse: stream "stdout", CommandId only for a
pipeline, CommandState for a pipeline).
"""
from __future__ import annotations

import base64
import binascii
import logging
import time
import typing as t
import uuid
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from psrpcore import (
    CreatePipelineEvent,
    EndOfPipelineInputEvent,
    PipelineInputEvent,
    PSRPPayload,
    ServerPipeline,
    ServerRunspacePool,
    StreamType,
)
from psrpcore.types import HostMethodIdentifier, NETException, PSInvocationState

from tests.simhost.payload import decode_execution
from tests.simhost.winrm_server import (
    FAULT_ACTION_NOT_SUPPORTED,
    FAULT_INVALID_SELECTORS,
    FAULT_OPERATION_TIMEOUT,
    NS,
    PREFIX,
    ExecResult,
    _ExecRecord,
    _Reply,
    _Request,
    _Tally,
)

if t.TYPE_CHECKING:
    from tests.simhost.winrm_server import _WSMan

log = logging.getLogger("simhost.psrp")
log.addHandler(logging.NullHandler())

RESOURCE_PREFIX = "http://schemas.microsoft.com/powershell/"
PS_NS = "http://schemas.microsoft.com/powershell"
STATE_DONE = NS["rsp"] + "/CommandState/Done"
STATE_RUNNING = NS["rsp"] + "/CommandState/Running"
# What powershell.exe would run the bootstrap with over WinRS; decode_execution only reads -EncodedCommand.
_COMMAND_ARGS = "-NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "


@dataclass
class _Pipe:
    pipeline: ServerPipeline
    record: _ExecRecord
    script: str | None = None
    no_input: bool = True
    input_lines: list[str] = field(default_factory=list)
    result: ExecResult | None = None
    ready_at: float = 0.0


@dataclass
class PsrpShell:
    """One RunspacePool (a WS-Man shell of the PowerShell resource URI)."""

    shell_id: str
    resource_uri: str
    max_envelope: int
    pool: ServerRunspacePool = field(default_factory=ServerRunspacePool)
    pending: _Tally = field(default_factory=_Tally)  # Create, auth and pool Receives until the first pipeline
    pipes: dict[str, _Pipe] = field(default_factory=dict)  # upper-case CommandId -> pipe
    outbox: dict[uuid.UUID | None, list[bytes]] = field(default_factory=dict)  # fragments per pipeline (None: pool)
    last_record: _ExecRecord | None = None

    def chunk(self) -> int:
        """Largest fragment block one Receive answer carries (base64 in the SOAP body, ~4 KB of envelope)."""
        return max(4096, self.max_envelope - 4096) // 4 * 3


class PsrpService:
    """The psrp actions of one simulated listener; shares the shells table, lock and stats of ``_WSMan``."""

    def __init__(self, ws: _WSMan) -> None:
        self.ws = ws

    @staticmethod
    def owns(resource_uri: str) -> bool:
        return resource_uri.lower().startswith(RESOURCE_PREFIX)

    # --- actions ----------------------------------------------------------------------------
    def create(self, req: _Request, connection_pending: _Tally) -> _Reply:
        node = req.body.find("rsp:Shell", NS)
        creation = node.find(f"{{{PS_NS}}}creationXml") if node is not None else None
        if node is None or creation is None or not (creation.text or "").strip():
            return self.ws._fault(req, FAULT_INVALID_SELECTORS, "w:InvalidParameter",
                                  "The WS-Management service cannot process the request: no creationXml.")
        shell_id = (node.get("ShellId") or str(uuid.uuid4())).upper()
        shell = PsrpShell(shell_id, req.resource_uri, req.max_envelope)
        with self.ws.cond:
            shell.pending.absorb(connection_pending)
            self._feed(shell, None, creation.text or "")
            self.ws.shells[shell_id] = shell
            self.ws.shell_count += 1
        log.debug("%s %s: runspace pool %s opened", PREFIX, self.ws.name, shell_id)
        body = (f"<x:ResourceCreated><a:Address>http://{escape(self.ws.name)}/wsman</a:Address><a:ReferenceParameters>"
                f"<w:ResourceURI>{escape(req.resource_uri)}</w:ResourceURI><w:SelectorSet>"
                f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
                f"</x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId>"
                f"<rsp:ResourceUri>{escape(req.resource_uri)}</rsp:ResourceUri>"
                f"<rsp:Owner>{escape(self.ws.username)}</rsp:Owner><rsp:InputStreams>stdin pr</rsp:InputStreams>"
                f"<rsp:OutputStreams>stdout</rsp:OutputStreams></rsp:Shell>")
        return self.ws._ok(req, body, shell.pending)

    def handle(self, req: _Request, shell: PsrpShell) -> _Reply:
        handler = {
            NS["rsp"] + "/Command": self._command,
            NS["rsp"] + "/Send": self._send,
            NS["rsp"] + "/Receive": self._receive,
            NS["rsp"] + "/Signal": self._signal,
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete": self._delete,
        }.get(req.action)
        if handler is None:  # Connect, Disconnect, Reconnect: the lab keeps no disconnected pools
            return self.ws._fault(req, FAULT_ACTION_NOT_SUPPORTED, "w:ActionNotSupported",
                                  f"The action {req.action} is not supported by the service.")
        try:
            return handler(req, shell)
        except (ValueError, binascii.Error, KeyError) as exc:  # psrpcore rejects a malformed message
            log.warning("%s %s: bad PSRP message: %s", PREFIX, self.ws.name, exc)
            return _Reply(400, f"{PREFIX} bad PSRP message: {exc}".encode(), shell.pending)

    def _command(self, req: _Request, shell: PsrpShell) -> _Reply:
        line = req.body.find("rsp:CommandLine", NS)
        if line is None:
            return _Reply(400, f"{PREFIX} Command without rsp:CommandLine".encode(), shell.pending)
        command_id = (line.get("CommandId") or str(uuid.uuid4())).upper()
        pipe = _Pipe(ServerPipeline(shell.pool, uuid.UUID(command_id)), _ExecRecord(connection="psrp"))
        with self.ws.cond:
            pipe.record.tally.absorb(shell.pending)
            shell.pipes[command_id] = pipe
            shell.last_record = pipe.record
            self.ws.add_record(pipe.record)
            for argument in line.findall("rsp:Arguments", NS):
                self._feed(shell, pipe, argument.text or "")
        self._maybe_execute(shell, pipe)
        body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
        return self.ws._ok(req, body, pipe.record.tally)

    def _send(self, req: _Request, shell: PsrpShell) -> _Reply:
        stream = req.body.find("rsp:Send/rsp:Stream", NS)
        if stream is None:
            return _Reply(400, f"{PREFIX} Send without rsp:Stream".encode(), shell.pending)
        command_id = (stream.get("CommandId") or "").upper()
        pipe = shell.pipes.get(command_id) if command_id else None
        if command_id and pipe is None:
            return self.ws._fault(req, FAULT_INVALID_SELECTORS, "w:InvalidSelectors", f"Unknown command {command_id}")
        with self.ws.cond:
            self._feed(shell, pipe, stream.text or "")
        if pipe is not None:
            self._maybe_execute(shell, pipe)
        return self.ws._ok(req, "<rsp:SendResponse/>", pipe.record.tally if pipe else shell.pending)

    def _receive(self, req: _Request, shell: PsrpShell) -> _Reply:
        desired = req.body.find("rsp:Receive/rsp:DesiredStream", NS)
        command_id = ((desired.get("CommandId") if desired is not None else "") or "").upper()
        pipe = shell.pipes.get(command_id) if command_id else None
        if command_id and pipe is None:
            return self.ws._fault(req, FAULT_INVALID_SELECTORS, "w:InvalidSelectors", f"Unknown command {command_id}")
        target = pipe.record.tally if pipe else shell.pending
        if pipe is not None and pipe.result is not None and pipe.result.lost:
            return _Reply(0, b"", target, drop=True)
        key = pipe.pipeline.pipeline_id if pipe else None
        # Like a real server, hold the Receive until there is output; briefly, so polling stays cheap.
        deadline = time.monotonic() + min(req.operation_timeout, self.ws.receive_hold)
        with self.ws.cond:
            while not shell.outbox.get(key) or (pipe is not None and time.monotonic() < pipe.ready_at):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return self.ws._fault(req, FAULT_OPERATION_TIMEOUT, "w:TimedOut",
                                          "The WS-Management service cannot complete the operation within "
                                          "the time specified in OperationTimeout.", target)
                wait = remaining
                if pipe is not None and pipe.result is not None:
                    wait = min(remaining, pipe.ready_at - time.monotonic())
                self.ws.cond.wait(max(wait, 0.001))
            blocks, budget = shell.outbox[key], max(shell.chunk(), (req.max_envelope - 4096) // 4 * 3)
            taken: list[bytes] = []
            while blocks and (not taken or sum(map(len, taken)) + len(blocks[0]) <= budget):
                taken.append(blocks.pop(0))
            finished = pipe is not None and not blocks and pipe.pipeline.state != PSInvocationState.Running \
                and pipe.result is not None
        cid = f" CommandId={quoteattr(command_id)}" if command_id else ""
        parts = [f'<rsp:Stream Name="stdout"{cid}>{base64.b64encode(b).decode()}</rsp:Stream>' for b in taken]
        if pipe is not None:  # MS-PSRP 3.2.5.3.8: a pipeline's answer carries its CommandState
            parts.append(f'<rsp:CommandState{cid} State="{STATE_DONE if finished else STATE_RUNNING}"/>')
        return self.ws._ok(req, f"<rsp:ReceiveResponse>{''.join(parts)}</rsp:ReceiveResponse>", target)

    def _signal(self, req: _Request, shell: PsrpShell) -> _Reply:
        node = req.body.find("rsp:Signal", NS)
        command_id = (node.get("CommandId", "") if node is not None else "").upper()
        with self.ws.cond:
            pipe = shell.pipes.pop(command_id, None)
            if pipe is not None:
                shell.outbox.pop(pipe.pipeline.pipeline_id, None)
                if pipe.pipeline.state == PSInvocationState.Running:
                    pipe.pipeline.stop()
                shell.pool.pipeline_table.pop(pipe.pipeline.pipeline_id, None)
                self._drain(shell)
                shell.outbox.pop(pipe.pipeline.pipeline_id, None)  # nobody receives a signalled pipeline's state
        return self.ws._ok(req, "<rsp:SignalResponse/>", pipe.record.tally if pipe else shell.pending)

    def _delete(self, req: _Request, shell: PsrpShell) -> _Reply:
        with self.ws.cond:
            self.ws.shells.pop(shell.shell_id, None)
        target = shell.last_record.tally if shell.last_record else shell.pending
        return self.ws._ok(req, "", target)

    # --- PSRP messages ----------------------------------------------------------------------
    def _feed(self, shell: PsrpShell, pipe: _Pipe | None, text: str) -> None:
        """Give base64 fragments to psrpcore and process every complete message (caller holds ``cond``)."""
        data = base64.b64decode(text.strip())
        pid = pipe.pipeline.pipeline_id if pipe else None
        shell.pool.receive_data(PSRPPayload(data, StreamType.default, pid))
        while True:
            event = shell.pool.next_event()
            if event is None:
                break
            target = shell.pipes.get(str(event.pipeline_id).upper()) if event.pipeline_id else None
            if isinstance(event, CreatePipelineEvent) and target is not None:
                ps = event.pipeline
                target.no_input = bool(ps.no_input)
                commands = [c.command_text for c in ps.commands]
                target.script = "\n".join(commands)
            elif isinstance(event, PipelineInputEvent) and target is not None:
                target.input_lines.append(str(event.data))
            elif isinstance(event, EndOfPipelineInputEvent) and target is not None:
                target.no_input = True  # all input is in: the pipeline may run
        self._drain(shell)

    @staticmethod
    def _drain(shell: PsrpShell) -> None:
        """Move what psrpcore wants to send into per-target outboxes, in fragment blocks of one Receive."""
        while True:
            payload = shell.pool.data_to_send(shell.chunk())
            if payload is None:
                break
            shell.outbox.setdefault(payload.pipeline_id, []).append(payload.data)

    def _maybe_execute(self, shell: PsrpShell, pipe: _Pipe) -> None:
        """Run the pipeline once it is created and all its input has arrived."""
        with self.ws.cond:
            if pipe.script is None or not pipe.no_input or pipe.result is not None:
                return
            pipe.result = ExecResult(stdout=b"")  # claimed: a second Send cannot run it again
        stdin = "\n".join(pipe.input_lines).encode("utf-8")
        encoded = base64.b64encode(pipe.script.encode("utf-16-le")).decode()
        execution = decode_execution("PowerShell", _COMMAND_ARGS + encoded, stdin, files=self.ws.files)
        result = self.ws.run(execution, pipe.record)
        with self.ws.cond:
            pipeline = pipe.pipeline
            pipeline.start()
            if result.stdout:
                pipeline.write_output(result.stdout.decode("utf-8", errors="replace"))
            if result.stderr:
                pipeline.write_error(NETException(Message=result.stderr.decode("utf-8", errors="replace")),
                                     fully_qualified_error_id="NativeCommandError")
            if result.rc:
                pipeline.host_call(HostMethodIdentifier.SetShouldExit, [result.rc])
            pipeline.complete()
            self._drain(shell)
            pipe.result, pipe.ready_at = result, time.monotonic() + result.delay
            self.ws.cond.notify_all()
