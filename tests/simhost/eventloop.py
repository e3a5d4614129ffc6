"""One event loop for every listener of the simulated lab (simulated lab support code, not packaged).

All simulated hosts of a process share one asyncio loop thread: it accepts connections and reads
HTTP/1.1 requests (keep-alive) for every listener, and hands each complete request to a bounded
worker pool, because answering one may block (a WS-Man Receive holds until output is ready). While
nothing arrives the lab costs no CPU: no per-host thread, no polling.

``cpu_times()`` reports the user and system CPU the lab's own threads (loop + workers) have spent,
from ``/proc/self/task/<tid>/stat``, so a benchmark can print the lab's cost beside its figures.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import pathlib
import socket
import threading
import time
import typing as t

log = logging.getLogger("simhost.eventloop")
log.addHandler(logging.NullHandler())

MAX_WORKERS = 128  # above any forks setting the benchmarks use; a request beyond it waits for a worker
IDLE_TIMEOUT = 300.0  # seconds a keep-alive connection may stay silent (as BaseHTTPRequestHandler.timeout did)
MAX_HEAD = 64 * 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

# handler(method, path, headers (lower-case names), body, bytes on the wire) -> (response bytes, close after it);
# a listener asks its factory for one handler per accepted connection (NTLM state lives per connection).
RequestHandler = t.Callable[[str, str, dict[str, str], bytes, int], tuple[bytes, bool]]
HandlerFactory = t.Callable[[], RequestHandler]


def _thread_cpu(tid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of one thread of this process; zeros once it has gone."""
    try:
        fields = pathlib.Path(f"/proc/self/task/{tid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()
    except OSError:
        return 0.0, 0.0
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS  # utime, stime: proc(5) fields 14, 15


class Reactor:
    """The process-wide loop thread and worker pool; started on first use, lives until the process exits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._tids: set[int] = set()
        self._tid_lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------
    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    self._register_thread()
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=run, name="simulated-lab-loop", daemon=True).start()
                ready.wait()
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=MAX_WORKERS, thread_name_prefix="simulated-lab-worker",
                    initializer=self._register_thread)
                self._loop = loop
            return self._loop

    def _register_thread(self) -> None:
        with self._tid_lock:
            self._tids.add(threading.get_native_id())

    def call(self, coro: t.Coroutine[t.Any, t.Any, t.Any], timeout: float = 30.0) -> t.Any:
        """Run a coroutine on the loop from any other thread and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._ensure()).result(timeout)

    def cpu_times(self) -> tuple[float, float]:
        """(user, system) CPU seconds spent by the loop thread and the worker threads so far."""
        with self._tid_lock:
            tids = list(self._tids)
        user = system = 0.0
        for tid in tids:
            u, s = _thread_cpu(tid)
            user += u
            system += s
        return user, system

    # --- listeners ------------------------------------------------------------------------
    def listen(self, host: str, port: int, factory: HandlerFactory, name: str) -> "Listener":
        listener = Listener(self, factory, name)
        listener.server = self.call(asyncio.start_server(listener.serve, host, port, backlog=256,
                                                         reuse_address=True, limit=MAX_HEAD))
        return listener


class Listener:
    """One TCP listener on the shared loop; its open connections can be dropped at stop."""

    def __init__(self, reactor: Reactor, factory: HandlerFactory, name: str) -> None:
        self.reactor = reactor
        self.factory = factory
        self.name = name
        self.server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    def close(self) -> None:
        """Stop accepting, drop every open connection; returns once the loop has done both."""
        if self.server is None:
            return

        async def close() -> None:
            assert self.server is not None
            self.server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self.reactor.call(close())
        self.server = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # one write per response: without this, delayed ACK stalls every request ~40 ms
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writers.add(writer)
        loop = asyncio.get_running_loop()
        handler = self.factory()
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                method, path, headers, body, wire = request
                started = time.monotonic()
                response, close = await loop.run_in_executor(self.reactor._pool, handler,
                                                             method, path, headers, body, wire)
                log.debug("%s %s %s answered in %.3f s", self.name, method, path, time.monotonic() - started)
                if response:
                    writer.write(response)
                    await writer.drain()
                if close or headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # noqa: BLE001 - one connection's bug must not stop the loop
            log.exception("%s: connection failed", self.name)
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes, int] | None:
        """One request (method, path, headers, body, bytes on the wire); None at end of stream or idle timeout."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = (lines[0].split(" ", 2) + ["", ""])[:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        body = await reader.readexactly(length) if length > 0 else b""
        return method, path, headers, body, len(head) + len(body)


REACTOR = Reactor()
