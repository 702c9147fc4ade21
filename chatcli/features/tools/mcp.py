"""MCP servers, driven from chatcli's synchronous code through one background event loop.

The ``mcp`` SDK is asynchronous, and a connection must be opened and closed by the same task,
so each server gets a task on a loop in a daemon thread that opens the client, lists the tools
and then waits to be stopped; calls are coroutines submitted to that loop and awaited through
``concurrent.futures`` futures, so the main thread can time them out or cancel them (Ctrl-C).

Failures:

- A server that cannot start is a ``ConfigError`` (exit 3) naming its command (or URL and the
  HTTP status it answered) and the last line it wrote to stderr; a command that is missing,
  a directory or not executable (looked for in its ``cwd``, on its ``PATH``) is said so
  first. One that does not finish its start within ``startup_timeout`` is stopped (the SDK
  closes its stdin, then terminates and kills it) before the error is raised, so nothing is
  left running.
- An error the tool reports (``isError``), and any error *answer* of the server (a JSON-RPC
  error, whatever its code or text: whole, its ``data`` too, and the HTTP status it came
  with), is the call's result, after ``error: `` (the model has no other sign of it): the
  server keeps running.
- An HTTP server that answers 404 to a request of its session has ended the session (the
  MCP transport's rule: start a new one): a new session is started (not counted as a
  restart) and the call, which did not run, is sent again on it, once.
- Only the transport ending (the server's stdout closed, the process gone, the connection's
  task over) counts as a dead server. Each transport is watched (``_Watch``): its end is seen
  when it happens, and whether a call's request was handed to it is known. A server found dead
  before a call was sent is started again (once per process) and the call sent; one that dies
  while a call runs is not sent that call again (it may have had effects): the call's result
  says so (``Dead``) and the server is started again for the next call. ``stop`` (the user
  turning a server off) forgets all of that: the next start is a fresh one.
- A reply the SDK cannot read (a lone surrogate escape in its JSON) fails the call it answers
  at once, as an error result, instead of leaving it to ``tool_timeout``. Bytes that are not
  UTF-8 are read as U+FFFD. Should the SDK's reader of a server's stdout fail all the same (it
  then only drains the pipe, and no reply would ever come), the connection counts as ended
  (``_reader_end``), as when the server's stdout closes: a call waiting sees it within
  ``WATCH_EVERY`` seconds.
- Answers to ``tools/list`` and ``tools/call`` are made readable first (``replies``): a tool
  listed with no usable input schema is left out, an unknown kind of content is a short text.

The SDK is imported when the first server starts, never before. Its log records carry
tracebacks; they are made one line each (``_OneLine``) for ``--debug``.

Every listed tool is sent with every request, so a listing (read page after page, at most
``MAX_PAGES`` pages, and until a cursor comes round again) is bounded: at most ``MAX_TOOLS``
tools per server, none whose input schema is over ``MAX_SCHEMA`` bytes, and a name listed
twice keeps its first tool; what is left out is said once, when the server starts.

A stdio server's stderr goes to a pipe of which only the last ``stderr.KEEP`` bytes are kept.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import json
import logging
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from chatcli.errors import ChatcliError, ConfigError, NetworkError
from chatcli.features.tools.registry import Tool
from chatcli.features.tools.replies import tidy_listing, tidy_result, unreadable
from chatcli.features.tools.stderr import StderrTail
from chatcli.safetext import one_line
from chatcli.settings.mcp import McpServer

T = TypeVar("T")

MAX_TOOLS = 1000
"""Tools used per server (across and within pages of its listing)."""
KEEP_REFUSED = 64
"""HTTP error statuses kept, by request id, for the calls they answered."""
MAX_PAGES = 100
"""Pages of a server's tool listing read (``nextCursor``): a listing that goes on is cut."""
MAX_SCHEMA = 64 * 1024
"""Bytes of one tool's input schema as JSON; a larger tool is left out."""
MAX_HTTP_BODY = 64 << 20
"""Bytes one HTTP answer of a URL server may hold (a JSON result, or all the events of one
stream): the MCP SDK reads a JSON answer whole into memory, so a server answering 100 MB (or
without end) would take gigabytes before any tool-output limit applies."""
STOP_WAIT = 10.0
"""Seconds to wait for a server to stop (the SDK closes its stdin, waits 2 s, terminates its
process group, waits 2 s, kills it)."""
CLOSED_TEXT = "Connection closed"
"""The SDK's text for a connection that ended (code -32000, which servers use too)."""
NO_ERROR_TEXT = "error: the tool reported an error without saying what"
"""The result of a call the tool said failed (``isError``) with no text."""
UNREAD_TEXT = "its output could no longer be read"
"""Why a connection whose stdout reader failed counts as ended."""
WATCH_EVERY = 0.25
"""Seconds between looks at a connection's reader while a call waits for its answer."""
DECODE_ERRORS: Literal["strict", "ignore", "replace"] = "replace"
"""How bytes of a stdio server's stdout that are not UTF-8 are read (U+FFFD)."""


@dataclass(frozen=True)
class Outcome:
    """What a call came to: its text (results joined) and whether the tool reported an error."""

    text: str
    error: bool = False
    notice: str | None = None  # for the user: what happened on the way (a new session)


class Dead(Exception):
    """A call that did not run, or did not finish, because its server's connection ended."""


@dataclass
class _Link:
    """One connection as chatcli sees it, shared by its task, its transport's watch and the
    calls (all on the loop's thread)."""

    server: McpServer
    errlog: StderrTail | None  # a stdio server's stderr
    stop: asyncio.Event
    lost: str | None = None  # why the transport ended, once it has
    stopping: bool = False  # chatcli is stopping it: its end is not a failure
    serving: bool = False  # started: its tools were listed
    http_status: tuple[int, str] | None = None  # the last HTTP error answered (URL servers)
    refused: dict[Any, tuple[int, str, bool]] = field(default_factory=dict)
    """Request id -> the HTTP error status answered to it, its reason, and whether the
    request carried a session id (URL servers; the last ``KEEP_REFUSED``)."""
    expired: str | None = None  # why its HTTP session is over (a 404 to a request of it)
    too_big: str | None = None  # an HTTP answer cut at ``MAX_HTTP_BODY`` (the connection's end)
    scope: Any = None  # the anyio CancelScope of its task: cancelled to abandon a start
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)  # its transport's (stdio)
    version: str | None = None  # the protocol version negotiated
    asked: dict[Any, str] = field(default_factory=dict)  # request id -> method, until answered
    dropped: list[str] = field(default_factory=list)  # tools its listings had that are not used

    def check(self) -> None:
        """Note the connection's end if its stdout can no longer be read (on the loop)."""
        if self.lost is None and not self.stopping:
            self.lost = _reader_end(self.tasks)

    def end(self) -> None:
        """Stop it: a serving connection closes; a start in progress is abandoned."""
        self.stopping = True
        self.stop.set()
        if not self.serving and self.scope is not None:
            self.scope.cancel()


@dataclass
class _Conn:
    link: _Link
    client: Any  # mcp.Client
    task: asyncio.Task[None]
    tools: list[Tool] = field(default_factory=list)
    started: float = 0.0  # seconds the start took
    left_out: list[str] = field(default_factory=list)  # why tools of the listing are not used

    def gone(self) -> bool:
        """Whether its transport has ended (seen by the watch, or its task is over)."""
        return self.link.lost is not None or self.task.done()


@dataclass
class _Attempt:
    """One sending of a call: whether its request was handed to the transport."""

    sent: bool = False
    ids: list[Any] = field(default_factory=list)  # the ids its ``tools/call`` requests had


_ATTEMPT: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "chatcli_mcp_attempt", default=None
)
"""The sending in progress in this task (the SDK writes a request in the caller's task)."""


class _Lost(Exception):
    """The connection ended while a call was in progress."""


class _Expired(Exception):
    """The HTTP server answered 404 to the call's request of a session: the session is over
    and the call was not run (a new session is started and the call sent again)."""


class _ToolError(Exception):
    """The server answered the call with an error (a protocol error, or a reply it could not
    give): the call's result."""


class Hub:
    """The running servers of one process; ``close()`` stops them all."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conns: dict[str, _Conn] = {}
        self._restarted: set[str] = set()  # started again after dying (once each)
        self._restarting: dict[str, asyncio.Future[_Conn]] = {}
        self._serving: dict[asyncio.Task[None], _Link] = {}  # every connection's task
        self._errlogs: list[StderrTail] = []
        self._closing = False
        self._lock = threading.Lock()

    # the loop

    def _run(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._loop.set_task_factory(_task_factory)
                from chatcli.jobcontrol import main_thread_only

                self._thread = threading.Thread(  # Ctrl-Z is not for it, nor for its threads
                    target=main_thread_only(self._loop.run_forever),
                    name="chatcli-mcp",
                    daemon=True,
                )
                self._thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def running(self, name: str) -> bool:
        return name in self._conns

    def startup_seconds(self, name: str) -> float:
        return self._conns[name].started

    # starting and stopping

    def start(self, server: McpServer) -> list[Tool]:
        """Start ``server`` (once) and list its tools; ConfigError (exit 3) if it cannot.
        A server that died is started afresh."""
        conn = self._conns.get(server.name)
        if conn is not None:
            if not conn.gone():
                return conn.tools
            self.stop(server.name)
        _startable(server)
        started = time.monotonic()
        link = self._link(server)
        future = self._run(self._open(link))
        try:  # _open gives up after startup_timeout, and then stops the server
            conn = future.result(timeout=server.startup_timeout + STOP_WAIT + 5)
        except KeyboardInterrupt:  # Ctrl-C while it starts: stop waiting, exit 130
            future.cancel()
            raise
        except BaseException as exc:
            future.cancel()
            raise _start_error(server, exc, link) from None
        conn.started = time.monotonic() - started
        self._conns[server.name] = conn
        if conn.left_out:
            for why in conn.left_out:  # to stderr through ``output.log_to``
                logging.getLogger("chatcli").warning(f"chatcli: warning: {why}")
        return conn.tools

    def start_each(self, servers: list[McpServer]) -> list[list[Tool] | ChatcliError]:
        """Start ``servers`` all at once (``mcp list``): their starts overlap, so servers that
        do not answer cost one ``startup_timeout``, not one each. For each, its tools, or the
        error of its start: a ConfigError (exit 3), or a NetworkError (exit 6) for an HTTP
        server that could not be reached or did not answer in time (``_list_error``)."""
        results: list[list[Tool] | ChatcliError] = []
        pending: list[tuple[int, McpServer, _Link, float, concurrent.futures.Future[_Conn]]] = []
        for server in servers:
            try:
                _startable(server)
            except ConfigError as exc:
                results.append(exc)
                continue
            results.append([])
            link = self._link(server)
            begun = time.monotonic()
            future = self._run(self._open_timed(link))
            pending.append((len(results) - 1, server, link, begun, future))
        try:
            for at, server, link, begun, future in pending:
                left = server.startup_timeout + STOP_WAIT + 5 - (time.monotonic() - begun)
                try:  # _open gives up after startup_timeout, and then stops the server
                    conn = future.result(timeout=max(0.0, left))
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:
                    future.cancel()
                    results[at] = _list_error(server, exc, link)
                    continue
                self._conns[server.name] = conn
                for why in conn.left_out:  # to stderr through ``output.log_to``
                    logging.getLogger("chatcli").warning(f"chatcli: warning: {why}")
                results[at] = conn.tools
        except KeyboardInterrupt:  # Ctrl-C: stop waiting for every start (close() ends them)
            for *_, future in pending:
                future.cancel()
            raise
        return results

    async def _open_timed(self, link: _Link) -> _Conn:
        """``_open``, with how long the start took (measured here: the starts overlap)."""
        begun = time.monotonic()
        conn = await self._open(link)
        conn.started = time.monotonic() - begun
        return conn

    def stop(self, name: str) -> None:
        """Stop server ``name`` and forget it, its restart included: the next start is fresh."""
        conn = self._conns.pop(name, None)
        self._restarted.discard(name)
        loop = self._loop
        if conn is None or loop is None:
            return

        async def stop_one() -> None:
            conn.link.end()
            await asyncio.wait([conn.task], timeout=STOP_WAIT)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(stop_one(), loop).result(timeout=STOP_WAIT + 5)

    def close(self) -> None:
        """Stop every server, and every start in progress, and wait (a while) until they have
        (their processes end with their stdin closed, or are terminated, then killed)."""
        loop = self._loop
        if loop is None:
            return
        self._closing = True
        self._conns = {}

        async def stop_all() -> None:
            for link in list(self._serving.values()):
                link.end()
            if self._serving:
                await asyncio.wait(list(self._serving), timeout=STOP_WAIT)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(stop_all(), loop).result(timeout=STOP_WAIT + 5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                loop.close()
        self._loop = None
        for errlog in self._errlogs:
            errlog.spawned()
        self._errlogs = []

    def _link(self, server: McpServer) -> _Link:
        """A new connection's link; a stdio server's stderr is kept (its end), so a failed
        start can quote its last line."""
        errlog = StderrTail(server.name) if server.command is not None else None
        if errlog is not None:
            self._errlogs.append(errlog)
        return _Link(server, errlog, asyncio.Event())

    async def _open(self, link: _Link) -> _Conn:
        server = link.server
        ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._serve(link, ready))
        self._serving[task] = link
        task.add_done_callback(lambda t: self._serving.pop(t, None))
        try:
            client, tools, left_out = await asyncio.wait_for(
                asyncio.shield(ready), server.startup_timeout
            )
        except BaseException:
            ready.cancel()  # no one waits for it now: nothing is to be set on it
            link.end()  # the SDK stops the process: stdin closed, then terminate, then kill
            if not task.done():
                await asyncio.wait([task], timeout=STOP_WAIT)
            raise
        return _Conn(link, client, task, tools, left_out=left_out)

    async def _serve(self, link: _Link, ready: asyncio.Future[Any]) -> None:
        """The life of one connection: open, list tools, wait for ``stop``, close."""
        try:
            import anyio
            from mcp import Client

            with anyio.CancelScope() as scope:
                link.scope = scope
                if link.stopping:
                    scope.cancel()
                # a value's command may take seconds: not on the loop, where other starts run
                values = await asyncio.to_thread(_values, link.server)
                async with Client(_Watch(link, values), mode="auto") as client:
                    with contextlib.suppress(Exception):  # None: the SDK's own fallback
                        link.version = client.protocol_version
                    listed, unending = await _list_tools(link.server.name, client)
                    tools, left_out = _admit(link.server.name, listed)
                    left_out = list(dict.fromkeys(link.dropped)) + unending + left_out
                    if not ready.done():
                        link.serving = True
                        ready.set_result((client, tools, left_out))
                    await link.stop.wait()
        except Exception as exc:
            if link.lost is None:
                link.lost = _why(_root(exc))
            if not ready.done():
                ready.set_exception(exc)
        except BaseException:  # cancelled: whoever waited for the start has stopped waiting
            if not ready.done():
                ready.cancel()
            raise
        finally:
            if link.lost is None:
                link.lost = CLOSED_TEXT
            if not ready.done():  # abandoned (its scope cancelled) before it was ready
                ready.cancel()

    # calls

    def call(self, tool: Tool, arguments: dict[str, Any], timeout: float) -> Outcome:
        """Run one call, waiting at most ``timeout`` seconds (a result saying so after that).

        Blocking; Ctrl-C in the calling thread cancels the call and propagates."""
        future = self.submit(tool, arguments, timeout)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def submit(
        self, tool: Tool, arguments: dict[str, Any], timeout: float
    ) -> concurrent.futures.Future[Outcome]:
        """Start one call; the future's result is its ``Outcome`` (or ``Dead``)."""
        return self._run(self._call(tool, arguments, timeout))

    async def _call(self, tool: Tool, arguments: dict[str, Any], timeout: float) -> Outcome:
        name = tool.server
        conn = self._conns.get(name)
        if conn is None:
            raise Dead(f"MCP server {name} is not running")
        renewed: str | None = None  # said once the call went to a new session (HTTP 404)
        restarts = 2  # sendings after a connection found dead before the call was sent
        while True:
            conn.link.check()
            if conn.gone() or conn.link.expired:  # ended before this call was sent: start it
                conn = await self._revive(conn)  # again (a new session), then send
            attempt = _Attempt()
            token = _ATTEMPT.set(attempt)
            try:
                return replace(await self._call_on(conn, tool, arguments, timeout), notice=renewed)
            except TimeoutError:
                text = f"the tool did not answer within {timeout:g} s"
                return Outcome(text, error=True, notice=renewed)
            except _ToolError as exc:
                return Outcome(str(exc), error=True, notice=renewed)
            except _Expired as exc:  # not run (the MCP transport's rule): sent again, once
                if renewed is not None:
                    text = f"error: MCP server {name}: {exc}, and again on the new session"
                    return Outcome(text, error=True, notice=renewed)
                renewed = (
                    f"MCP server {name}: {exc}; a new session was started and {tool.qualified} "
                    "sent again on it (the server had not run it)"
                )
            except _Lost as exc:
                if conn.link.stopping:
                    raise Dead(f"MCP server {name} was stopped during the call") from None
                if attempt.sent:  # it may have run: never sent twice
                    again = (
                        "it is not started again (it stopped once before)"
                        if name in self._restarted
                        else "it is started again for the next call"
                    )
                    raise Dead(
                        f"MCP server {name} stopped while running this call "
                        f"({conn.link.too_big or exc}); the "
                        f"call may have had effects, so it was not sent again; {again}"
                    ) from None
                restarts -= 1
                if restarts <= 0:
                    raise Dead(
                        f"MCP server {name} stopped again: {conn.link.lost or CLOSED_TEXT}"
                    ) from None
            finally:
                _ATTEMPT.reset(token)

    async def _revive(self, conn: _Conn) -> _Conn:
        """The server of ``conn`` started again (once per process, unless the user turns it
        off and on), or ``Dead``; calls that find it dead at once share one restart. A new
        session for an HTTP server whose session ended (``expired``) is not counted: remote
        servers end idle sessions, and a call that finds one ended is sent again once only."""
        name = conn.link.server.name
        current = self._conns.get(name)
        if current is None or current.link.stopping or self._closing:
            raise Dead(f"MCP server {name} is not running")
        if current is not conn and not current.gone() and not current.link.expired:
            return current  # another call has started it again
        pending = self._restarting.get(name)
        if pending is None:
            renew = current.link.expired
            if renew is None:
                if name in self._restarted:
                    raise Dead(
                        f"MCP server {name} stopped ({current.link.lost or CLOSED_TEXT}) and "
                        "was already started again once"
                    )
                self._restarted.add(name)
            pending = asyncio.ensure_future(self._restart(current, renew))
            self._restarting[name] = pending
            pending.add_done_callback(lambda f: _settle(self._restarting, name, f))
        return await asyncio.shield(pending)

    async def _restart(self, conn: _Conn, renew: str | None = None) -> _Conn:
        """``conn``'s server started again; ``renew``: why its session is over (then it is
        a new session of the same server, not a restart after a failure)."""
        conn.link.stop.set()  # what is left of it ends (its calls see a lost connection)
        server = conn.link.server
        link = self._link(server)
        try:
            fresh = await self._open(link)
        except Exception as exc:  # its last words are read off the loop (they may take a while)
            said = (await asyncio.to_thread(_start_error, server, exc, link)).message
            what = "stopped and did not start again"
            if renew is not None:
                what = f"{renew}, and a new one could not be started"
            raise Dead(f"MCP server {server.name} {what}: {said}") from None
        fresh.started = 0.0
        self._conns[server.name] = fresh
        return fresh

    async def _call_on(
        self, conn: _Conn, tool: Tool, arguments: dict[str, Any], timeout: float
    ) -> Outcome:
        """The call's answer within ``timeout`` (TimeoutError after it); ``_Lost`` as soon as
        the connection is seen to end, answered or not."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        call = asyncio.ensure_future(conn.client.call_tool(tool.name, arguments))
        call.add_done_callback(_retrieved)
        try:
            while not call.done():
                left = deadline - loop.time()
                if left <= 0:
                    raise TimeoutError
                await asyncio.wait([call], timeout=min(left, WATCH_EVERY))
                if not call.done():
                    conn.link.check()
                    if conn.gone():
                        raise _Lost(conn.link.lost or CLOSED_TEXT)
        finally:
            call.cancel()
        try:
            result = call.result()
        except Exception as exc:
            if _closing_text(exc) and not conn.gone():  # the SDK's own, or a server's -32000?
                await asyncio.wait([conn.task], timeout=1)
            if conn.gone():
                raise _Lost(conn.link.lost or _why(exc)) from None
            refused = _refusal(conn.link, _ATTEMPT.get())
            if refused is not None and refused[0] == 404 and refused[2]:
                raise _Expired(conn.link.expired or "its session ended (HTTP 404)") from None
            why = unreadable(exc)
            if why is not None:  # a result the protocol's rules refuse
                name = conn.link.server.name
                raise _ToolError(
                    f"error: MCP server {name} sent a result that could not be read ({why})"
                ) from None
            raise _ToolError(_error_text(exc, refused)) from None
        text = _text(result)
        if getattr(result, "is_error", False):  # said as an error to the model too
            return Outcome(f"error: {text}" if text.strip() else NO_ERROR_TEXT, error=True)
        return Outcome(text)


def _refusal(link: _Link, attempt: _Attempt | None) -> tuple[int, str, bool] | None:
    """The HTTP error status answered to the call's request (the last one sent), if any."""
    if attempt is None or not attempt.ids:
        return None
    return link.refused.get(attempt.ids[-1])


_STAND_INS = frozenset({"Server returned an error response", "Session terminated", "Not Found"})
"""What the SDK says for an HTTP error status whose body is no JSON-RPC error."""


def _error_text(exc: Exception, refused: tuple[int, str, bool] | None) -> str:
    """A call's error answer as the model gets it: the server's whole message (its lines
    kept: ``tool_output_limit`` bounds it, as it does a result) and its ``data``; the HTTP
    status it came with, which the SDK's stand-in text leaves out."""
    from mcp.shared.exceptions import MCPError

    if not isinstance(exc, MCPError):
        return f"error: {_why(exc)}"
    text = _plain(str(exc.message)) or f"code {exc.code}"
    if refused is not None:
        status = f"HTTP {refused[0]} {refused[1]}".rstrip()
        text = f"the server answered {status}" if text in _STAND_INS else f"{text} ({status})"
    data = exc.data
    if data is not None and data != "":
        shown = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
        text += f"\ndata: {shown}"
    return f"error: {text}"


_PARSE_FAILED = "Failed to parse JSON response"
"""How the SDK words an answer it could not read as JSON-RPC, followed by pydantic's report."""


def _plain(text: str) -> str:
    """The SDK's "Failed to parse JSON response: <pydantic's validation report>" in plain
    words: the answer is not JSON-RPC, and pydantic's first reason without its codes and URL."""
    if not text.startswith(_PARSE_FAILED):
        return text
    reasons = (line.strip() for line in text.splitlines()[1:])
    why = next((r for r in reasons if r and not r.startswith("For further information")), "")
    why = why.split(" [type=")[0]
    return "the server's answer is not JSON-RPC" + (f" ({why})" if why else "")


def _retrieved(task: asyncio.Future[Any]) -> None:
    """A call given up on may still end with an error: marked seen (no asyncio noise)."""
    if not task.cancelled():
        task.exception()


def _settle(
    pending: dict[str, asyncio.Future[_Conn]], name: str, done: asyncio.Future[_Conn]
) -> None:
    """A restart is over: forget it, and mark its failure seen (its callers may be gone)."""
    pending.pop(name, None)
    if not done.cancelled():
        done.exception()


def _closing_text(exc: Exception) -> bool:
    """Whether ``exc`` reads as the SDK's closed connection (code -32000, its exact text)."""
    return getattr(exc, "code", None) == -32000 and str(exc) == CLOSED_TEXT


class _Watch:
    """A server's transport, watched: the SDK gets its streams through ``_Reader`` and
    ``_Writer``, which see the connection end and which requests were handed over."""

    def __init__(self, link: _Link, values: tuple[dict[str, str], dict[str, str]]) -> None:
        self.link = link
        self._transport, self._http = _transport(link, *values)
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> tuple[_Reader, _Writer]:
        watching = _WATCHING.set((self.link, asyncio.current_task()))  # its tasks are noted
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self._http is not None:
                    await stack.enter_async_context(self._http)
                read, write = await stack.enter_async_context(self._transport)
                self._stack = stack.pop_all()
        finally:
            _WATCHING.reset(watching)
            if self.link.errlog is not None:  # spawned (or not at all): our end is closed
                self.link.errlog.spawned()
        return _Reader(read, self.link), _Writer(write, self.link)

    async def __aexit__(self, *exc: Any) -> bool | None:
        try:
            return await self._stack.__aexit__(*exc)
        finally:
            if self.link.lost is None:
                self.link.lost = CLOSED_TEXT


class _Reader:
    """The SDK's read stream: its end is the connection's end, and a reply that could not be
    read becomes an error answer to the request it names (else the call would wait)."""

    def __init__(self, inner: Any, link: _Link) -> None:
        self._inner = inner
        self._link = link

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        import anyio

        try:
            item = await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            if self._link.lost is None:
                self._link.lost = CLOSED_TEXT
            raise
        if isinstance(item, Exception):
            return _unreadable(self._link.server.name, item)
        try:
            return _tidied(self._link, item)
        except Exception:  # left as it came: the SDK judges it (never the reading's end)
            return item

    def __aiter__(self) -> _Reader:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Reader:
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        await self.aclose()
        return None


class _Writer:
    """The SDK's write stream: a ``tools/call`` request handed over counts as sent (it may
    run); one refused by a closed stream was certainly not, and the connection is over."""

    def __init__(self, inner: Any, link: _Link) -> None:
        self._inner = inner
        self._link = link

    async def send(self, item: Any, /) -> None:
        import anyio

        attempt = _ATTEMPT.get()
        message: Any = getattr(item, "message", None)
        method = getattr(message, "method", None)
        if method in ("tools/list", "tools/call") and hasattr(message, "id"):
            self._link.asked[message.id] = method  # its answer is made readable (``_tidied``)
        call = attempt is not None and method == "tools/call"
        first = call and attempt is not None and not attempt.sent
        if call and attempt is not None:
            attempt.sent = True
            attempt.ids.append(message.id)
        try:
            await self._inner.send(item)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            if self._link.lost is None:
                self._link.lost = CLOSED_TEXT
            if first and attempt is not None:
                attempt.sent = False
            raise

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Writer:
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        await self.aclose()
        return None


def _tidied(link: _Link, item: Any) -> Any:
    """``item``, or, for an answer to ``tools/list`` or ``tools/call``, that answer made
    readable (``replies``): the tools left out are noted on ``link``."""
    message: Any = getattr(item, "message", None)
    rid = getattr(message, "id", None)
    if rid is None or rid not in link.asked:
        return item
    method = link.asked.pop(rid)
    result = getattr(message, "result", None)
    if not isinstance(result, dict):  # an error answer
        return item
    if method == "tools/list":
        tidy, dropped = tidy_listing(link.server.name, link.version, result)
        link.dropped.extend(dropped)
    else:
        tidy = tidy_result(link.version, result)
    if tidy is result:
        return item
    from mcp.shared.message import SessionMessage

    return SessionMessage(
        message.model_copy(update={"result": tidy}), metadata=getattr(item, "metadata", None)
    )


def _unreadable(server: str, exc: Exception) -> Any:
    """For a reply the SDK could not parse (it logged it and passes the error on), an error
    answer to the request the reply names; ``exc`` itself for anything else (a line of
    garbage on stdout is no reply, and is dropped as before)."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return exc
    try:
        first = errors(include_url=False)[0]
        raw = first.get("input")
        message = json.loads(raw) if isinstance(raw, str | bytes | bytearray) else raw
    except (ValueError, TypeError, IndexError, RecursionError):
        return exc
    if not isinstance(message, dict) or "method" in message:
        return exc
    rid = message.get("id")
    if not ("result" in message or "error" in message) or isinstance(rid, bool):
        return exc
    if not isinstance(rid, int | str):
        return exc
    from mcp.shared.message import SessionMessage
    from mcp_types import PARSE_ERROR, ErrorData, JSONRPCError

    why = one_line(str(first.get("msg") or type(exc).__name__), 200)
    text = f"MCP server {server} sent a reply that could not be read ({why})"
    error = ErrorData(code=PARSE_ERROR, message=text)
    return SessionMessage(JSONRPCError(jsonrpc="2.0", id=rid, error=error))


class _OneLine(logging.Filter):
    """An SDK log record with a traceback becomes one line: its message and the exception's
    (``--debug`` prints library records one sanitised line each)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {exc}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


_SDK_LOGGERS = (
    "mcp.client.stdio",
    "mcp.client.session",
    "mcp.client.streamable_http",
    "mcp.shared.jsonrpc_dispatcher",
    "mcp.shared.session",
)


def _one_line_sdk_logs() -> None:
    for name in _SDK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _OneLine) for f in logger.filters):
            logger.addFilter(_OneLine())


def _why(exc: BaseException) -> str:
    return one_line(str(exc) or type(exc).__name__, 200)


_WATCHING: contextvars.ContextVar[tuple[_Link, asyncio.Task[Any] | None] | None] = (
    contextvars.ContextVar("chatcli_mcp_watching", default=None)
)
"""The connection whose transport is being opened, and the task opening it."""


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    """The hub's loop makes tasks as usual, noting those of the connection whose transport is
    being opened (``_WATCHING``): the SDK's stdout reader among them can fail where nothing
    else sees it (``_reader_end``)."""
    watching = _WATCHING.get()
    opener = asyncio.current_task(loop) if watching is not None else None
    task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
    if watching is not None and opener is watching[1] and len(watching[0].tasks) < 16:
        watching[0].tasks.append(task)
    return task


def _reader_end(tasks: list[asyncio.Task[Any]]) -> str | None:
    """Why the SDK's stdout reader (its task is named after it) reads no more replies, if it
    does not: it ended (the server's stdout closed), or it failed and only drains the pipe
    now (what it does after any failure, for as long as the server lives)."""
    reader = next((t for t in tasks if t.get_name().endswith("stdout_reader")), None)
    if reader is None:
        return None
    if reader.done():
        failed = not reader.cancelled() and reader.exception() is not None
        return UNREAD_TEXT if failed else CLOSED_TEXT
    coro: Any = reader.get_coro()
    for _ in range(64):  # the chain of coroutines it awaits
        code = getattr(coro, "cr_code", None)
        if code is None:
            return None
        if code.co_name == "_drain_stdout":
            return UNREAD_TEXT
        coro = getattr(coro, "cr_await", None)
    return None


def _values(server: McpServer) -> tuple[dict[str, str], dict[str, str]]:
    """The server's ``env`` and ``headers`` values now (a command's bounded by the server's
    ``startup_timeout``, and killed whole after it)."""
    limit = server.startup_timeout
    env = {k: v.value(limit) for k, v in server.env.items()}
    headers = {k: v.value(limit) for k, v in server.headers.items()}
    return env, headers


def _transport(link: _Link, env: dict[str, str], headers: dict[str, str]) -> tuple[Any, Any]:
    """The SDK transport of ``link``'s server, and the HTTP client it uses (None for stdio),
    which notes the status of each answer (a start that fails names the last error one)."""
    server = link.server
    if server.command is not None:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(
            command=server.command,
            args=list(server.args),
            env=env or None,
            cwd=server.cwd,
            encoding_error_handler=DECODE_ERRORS,
        )
        assert link.errlog is not None
        return stdio_client(params, errlog=link.errlog.file), None
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    assert server.url is not None
    http = create_mcp_http_client(headers=headers)

    async def answered(response: Any) -> None:
        status = int(response.status_code)
        reason = str(response.reason_phrase)
        link.http_status = (status, reason) if status >= 400 else None
        if status >= 400:
            _note_refusal(link, response.request, status, reason)

    async def capped(response: Any) -> None:  # before the SDK reads the body
        def over(why: str) -> None:
            link.too_big = why

        response.stream = _capped(response.stream, MAX_HTTP_BODY, over)

    http.event_hooks["response"].extend((answered, capped))
    return streamable_http_client(server.url, http_client=http), http


def _capped(inner: Any, limit: int, over: Callable[[str], None]) -> Any:
    """An HTTP body that fails once it has given more than ``limit`` bytes (``MAX_HTTP_BODY``),
    so a huge or endless answer is an error of that call, not memory taken. An
    ``httpx2.AsyncByteStream``, made here: httpx2 is imported only when a URL server is used."""
    import httpx2

    class Capped(httpx2.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            seen = 0
            async for chunk in inner:
                seen += len(chunk)
                if seen > limit:
                    why = f"its answer was over {limit >> 20} MiB: not read"
                    over(why)
                    raise httpx2.ReadError(why)
                yield chunk

        async def aclose(self) -> None:
            await inner.aclose()

    return Capped()


async def _list_tools(server: str, client: Any) -> tuple[list[Any], list[str]]:
    """A server's tools, page after page (``nextCursor``), and a line for a listing that
    does not end: at most ``MAX_TOOLS`` + 1 tools (one more than used: the caller says some
    were cut) and ``MAX_PAGES`` pages are read, and a cursor given again ends it (its pages
    would come round for ever)."""
    tools: list[Any] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = getattr(page, "next_cursor", None)
        if not cursor or len(tools) > MAX_TOOLS:
            return tools[: MAX_TOOLS + 1], []
        if cursor in seen:
            why = "gives a page's cursor again"
            break
        seen.add(cursor)
    else:
        why = f"goes on past {MAX_PAGES} pages"
    return tools, [
        f"the tool list of MCP server {server} {why}; the {len(tools):,} tools listed until "
        "then are used"
    ]


def _note_refusal(link: _Link, request: Any, status: int, reason: str) -> None:
    """Note the HTTP error status answered to a JSON-RPC request (a call's error then names
    it); a 404 to a request of a session means the session is over (``expired``): the MCP
    transport's rule is to start a new one (a GET's 404 is not: servers without its stream
    may answer it so)."""
    session = bool(request.headers.get("mcp-session-id"))
    if status == 404 and session and request.method == "POST" and not link.stopping:
        link.expired = f"its session ended ({f'HTTP 404 {reason}'.rstrip()})"
    try:
        rid = json.loads(request.content).get("id")
    except Exception:  # no body read, not JSON, not an object: no request of ours to name
        return
    if isinstance(rid, int | str) and not isinstance(rid, bool):
        link.refused[rid] = (status, reason, session)
        while len(link.refused) > KEEP_REFUSED:
            link.refused.pop(next(iter(link.refused)))


def _admit(server: str, listed: list[Any]) -> tuple[list[Tool], list[str]]:
    """The tools of a listing that are used, and one line for each kind left out: a long
    listing or a huge schema would be sent with every request, and a name listed twice would
    silently take the later tool's description."""
    import json

    left_out: list[str] = []
    if len(listed) > MAX_TOOLS:
        left_out.append(
            f"MCP server {server} lists more than {MAX_TOOLS:,} tools; "
            f"only the first {MAX_TOOLS:,} are used"
        )
        listed = listed[:MAX_TOOLS]
    tools: list[Tool] = []
    seen: set[str] = set()
    twice: set[str] = set()
    for item in listed:
        tool = _tool(server, item)
        if tool.name in seen:
            if tool.name not in twice:
                twice.add(tool.name)
                left_out.append(
                    f"MCP server {server} lists the tool {one_line(tool.name, 100)!r} more "
                    "than once; only the first is used"
                )
            continue
        seen.add(tool.name)
        size = len(json.dumps(tool.parameters, ensure_ascii=False, default=str).encode())
        if size > MAX_SCHEMA:
            left_out.append(
                f"MCP server {server}: tool {one_line(tool.name, 100)!r} left out: its input "
                f"schema is {size:,} bytes (at most {MAX_SCHEMA:,})"
            )
            continue
        tools.append(tool)
    return tools, left_out


def _tool(server: str, listed: Any) -> Tool:
    annotations = getattr(listed, "annotations", None)
    schema = getattr(listed, "input_schema", None) or {}
    return Tool(
        server=server,
        name=str(listed.name),
        description=one_line(str(getattr(listed, "description", None) or ""), 1024),
        parameters=dict(schema),
        read_only=getattr(annotations, "read_only_hint", None),
        destructive=getattr(annotations, "destructive_hint", None),
    )


def _text(result: Any) -> str:
    """A call result's content as text: text parts joined; other kinds described."""
    parts: list[str] = []
    for item in getattr(result, "content", None) or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(str(item.text))
        elif kind == "resource_link":
            name = one_line(str(getattr(item, "name", "") or ""), 200)
            parts.append(f"[resource link: {name} <{item.uri}>]" if name else f"[{item.uri}]")
        elif kind == "resource":
            resource = item.resource
            parts.append(str(getattr(resource, "text", None) or f"[resource {resource.uri}]"))
        else:
            parts.append(f"[{kind} content]")
    if not parts and getattr(result, "structured_content", None) is not None:
        import json

        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def _last_words(errlog: StderrTail | None) -> str | None:
    """The last line a server wrote to stderr."""
    return errlog.last_line() if errlog is not None else None


_HTTP_HINTS = {
    401: "the server refused the credentials: check headers in [mcp.servers.{name}] "
    "(an Authorization header, and that its value is read)",
    403: "the server refused the request: check headers in [mcp.servers.{name}] "
    "(the token's rights)",
    404: "nothing serves MCP at that address: check url in [mcp.servers.{name}] "
    "(it often ends in /mcp)",
}


def _startable(server: McpServer) -> None:
    """What can be known before a start: the SDK installed, the command found."""
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        raise ConfigError(
            "MCP servers need the mcp package, which is not installed",
            hint="pip install 'chatcli[mcp]' (or pip install mcp) in chatcli's environment",
        )
    if server.command is not None:
        found = _unrunnable(server)
        if found is not None:
            problem, fix = found
            raise ConfigError(
                f"MCP server {server.name}: {problem}",
                hint=f"{fix} in [mcp.servers.{server.name}]",
            )
    _one_line_sdk_logs()


def _unrunnable(server: McpServer) -> tuple[str, str] | None:
    """Why ``server``'s command cannot be run, and what to do, as the process would be
    started: in its ``cwd`` (a relative path is found there), on the ``PATH`` of its ``env``
    when that is text, else chatcli's; None when it can (or cannot be known here)."""
    import os

    command = server.command or ""
    cwd = server.cwd
    if cwd is not None and not os.path.isdir(cwd):
        return f"its cwd is not a directory: {one_line(cwd, 200)}", "fix cwd"
    shown = one_line(command, 200)
    if os.sep not in command:  # looked up on PATH
        given = server.env.get("PATH")
        path = given.text if given is not None and given.text is not None else None
        if path is not None and cwd is not None:  # relative entries are read from the cwd
            path = os.pathsep.join(os.path.join(cwd, d) for d in path.split(os.pathsep))
        if shutil.which(command, path=path):
            return None
        return f"command not found: {shown}", "install it, or fix command"
    if cwd is not None and not os.path.isabs(command):
        full, where = os.path.join(cwd, command), f" (in {one_line(cwd, 200)})"
    else:
        full, where = command, ""
    if not os.path.exists(full):
        fix = "fix command or cwd" if where else "install it, or fix command"
        return f"command not found: {shown}{where}", fix
    if os.path.isdir(full):
        return f"the command is a directory: {shown}{where}", "fix command"
    if not os.access(full, os.X_OK):
        return (
            f"the command is not executable (permission denied): {shown}{where}",
            "make it executable (chmod +x), or fix command",
        )
    return None


def _list_error(server: McpServer, exc: BaseException, link: _Link) -> ChatcliError:
    """``_start_error`` for ``mcp list``, by SPEC's table of exit codes: an HTTP server that
    answered nothing (no connection, or no answer within ``startup_timeout``) is a network
    error (exit 6); a local process that does not answer in time is not, and stays a
    configuration error (exit 3: its command or arguments are what to fix), as does an
    HTTP status (a refused header, a wrong URL)."""
    error = _start_error(server, exc, link)
    if (
        server.url is None
        or link.http_status is not None
        or error.message.startswith(
            f"MCP server {server.name}: "  # a value of env/headers, not the connection
        )
    ):
        return error
    root = _root(exc)
    timed_out = isinstance(exc, TimeoutError | concurrent.futures.TimeoutError)
    # the HTTP client's connection failures (httpx's, whichever package the SDK uses)
    transport = {c.__name__ for c in type(root).__mro__} & {"TransportError", "TimeoutException"}
    if timed_out or transport or isinstance(root, OSError):
        return NetworkError(error.message, hint=error.hint)
    return error


def _start_error(server: McpServer, exc: BaseException, link: _Link) -> ConfigError:
    """The ConfigError for a server that did not start: its command (or URL and the HTTP
    status it answered) and stderr's last line."""
    if isinstance(exc, ConfigError):
        if exc.message.startswith("MCP server"):
            return exc
        return ConfigError(f"MCP server {server.name}: {exc.message}", hint=exc.hint)
    name = server.name
    status = link.http_status if server.url is not None else None
    malformed = unreadable(_root(exc))
    if malformed is not None:  # it runs, and answers what the protocol's rules refuse
        return ConfigError(
            f"MCP server {name} ({one_line(server.describe(), 200)}) sent an answer that could "
            f"not be read while starting ({malformed})",
            hint="the server does not follow the MCP protocol chatcli speaks: update it, or "
            "tell its authors",
        )
    if isinstance(exc, TimeoutError | concurrent.futures.TimeoutError):
        why = f"did not answer within {server.startup_timeout:g} s"
    elif status is not None:
        why = f"failed to start: it answered HTTP {status[0]} {one_line(status[1], 60)}".rstrip()
    else:
        why = f"failed to start ({_why(_root(exc))})"
    last = _last_words(link.errlog) if server.command is not None else None
    words = f"; its last words: {one_line(last, 200)}" if last else ""
    if server.command is not None:
        hint = f"run the command yourself to see why, or fix [mcp.servers.{name}]"
    elif status is not None and status[0] in _HTTP_HINTS:
        hint = _HTTP_HINTS[status[0]].format(name=name)
    elif status is not None and status[0] >= 500:
        hint = f"the server failed: try again later, or check url in [mcp.servers.{name}]"
    elif status is not None:
        hint = f"check url and headers in [mcp.servers.{name}]"
    else:
        hint = f"check that the server is up at that URL, or fix url in [mcp.servers.{name}]"
    return ConfigError(
        f"MCP server {name} ({one_line(server.describe(), 200)}) {why}{words}", hint=hint
    )


def _root(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (anyio wraps transport failures in groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
