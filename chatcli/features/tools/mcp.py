"""MCP servers, driven from chatcli's synchronous code through one background event loop.

The ``mcp`` SDK is asynchronous, and a connection must be opened and closed by the same task,
so each server gets a task on a loop in a daemon thread that opens the client, lists the tools
and then waits to be stopped; calls are coroutines submitted to that loop and awaited through
``concurrent.futures`` futures, so the main thread can time them out or cancel them (Ctrl-C).

Failures: a server that cannot start is a ``ConfigError`` (exit 3) naming its command and the
last line it wrote to stderr; a call whose connection is gone restarts the server once and
resends the call (``Dead`` when that fails too); an error the tool reports is a result.
The SDK is imported when the first server starts, never before.

Every listed tool is sent with every request, so a listing is bounded: at most ``MAX_TOOLS``
tools per server, none whose input schema is over ``MAX_SCHEMA`` bytes, and a name listed
twice keeps its first tool; what is left out is said once, when the server starts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import shutil
import tempfile
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

from chatcli.errors import ConfigError
from chatcli.features.tools.registry import Tool
from chatcli.safetext import one_line
from chatcli.settings.mcp import McpServer

T = TypeVar("T")

MAX_TOOLS = 1000
"""Tools used per server (across and within pages of its listing)."""
MAX_SCHEMA = 64 * 1024
"""Bytes of one tool's input schema as JSON; a larger tool is left out."""


@dataclass(frozen=True)
class Outcome:
    """What a call came to: its text (results joined) and whether the tool reported an error."""

    text: str
    error: bool = False


class Dead(Exception):
    """A server's connection failed during a call and a restart did not bring it back."""


@dataclass
class _Conn:
    server: McpServer
    client: Any  # mcp.Client
    stop: asyncio.Event
    task: asyncio.Task[None]
    errlog: TextIO
    tools: list[Tool] = field(default_factory=list)
    started: float = 0.0  # seconds the start took
    left_out: list[str] = field(default_factory=list)  # why tools of the listing are not used


class Hub:
    """The running servers of one process; ``close()`` stops them all."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conns: dict[str, _Conn] = {}
        self._restarted: set[str] = set()
        self._lock = threading.Lock()

    # the loop

    def _run(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="chatcli-mcp", daemon=True
                )
                self._thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def running(self, name: str) -> bool:
        return name in self._conns

    def startup_seconds(self, name: str) -> float:
        return self._conns[name].started

    # starting and stopping

    def start(self, server: McpServer) -> list[Tool]:
        """Start ``server`` (once) and list its tools; ConfigError (exit 3) if it cannot."""
        conn = self._conns.get(server.name)
        if conn is not None:
            return conn.tools
        import importlib.util

        if importlib.util.find_spec("mcp") is None:
            raise ConfigError(
                "MCP servers need the mcp package, which is not installed",
                hint="pip install 'chatcli[mcp]' (or pip install mcp) in chatcli's environment",
            )
        if server.command is not None and shutil.which(server.command) is None:
            raise ConfigError(
                f"MCP server {server.name}: command not found: {server.command}",
                hint=f"install it, or fix command in [mcp.servers.{server.name}]",
            )
        started = time.monotonic()
        errlog = _errlog()
        future = self._run(self._open(server, errlog))
        try:
            conn = future.result(timeout=server.startup_timeout + 5)
        except KeyboardInterrupt:  # Ctrl-C while it starts: stop waiting, exit 130
            future.cancel()
            raise
        except BaseException as exc:
            future.cancel()
            raise _start_error(server, exc, errlog) from None
        conn.started = time.monotonic() - started
        self._conns[server.name] = conn
        if conn.left_out:
            import logging

            for why in conn.left_out:  # to stderr through ``output.log_to``
                logging.getLogger("chatcli").warning(f"chatcli: warning: {why}")
        return conn.tools

    async def _open(self, server: McpServer, errlog: TextIO) -> _Conn:
        ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        task = asyncio.create_task(self._serve(server, errlog, ready, stop))
        try:
            client, tools, left_out = await asyncio.wait_for(
                asyncio.shield(ready), server.startup_timeout
            )
        except BaseException:
            task.cancel()
            raise
        return _Conn(server, client, stop, task, errlog, tools, left_out=left_out)

    async def _serve(
        self, server: McpServer, errlog: TextIO, ready: asyncio.Future[Any], stop: asyncio.Event
    ) -> None:
        """The life of one connection: open, list tools, wait for ``stop``, close."""
        try:
            from mcp import Client

            async with Client(_transport(server, errlog), mode="auto") as client:
                listed = await _list_tools(client)
                tools, left_out = _admit(server.name, listed)
                if not ready.done():
                    ready.set_result((client, tools, left_out))
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            if not isinstance(exc, Exception):
                raise

    def close(self) -> None:
        """Stop every server (their processes end with their stdin closed)."""
        loop = self._loop
        if loop is None:
            return
        conns, self._conns = list(self._conns.values()), {}

        async def stop_all() -> None:
            for conn in conns:
                conn.stop.set()
            if conns:
                await asyncio.wait([c.task for c in conns], timeout=5)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(stop_all(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop = None
        for conn in conns:
            conn.errlog.close()

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
        conn = self._conns.get(tool.server)
        if conn is None:
            raise Dead(f"MCP server {tool.server} is not running")
        try:
            return await self._call_on(conn, tool, arguments, timeout)
        except TimeoutError:
            return Outcome(f"the tool did not answer within {timeout:g} s", error=True)
        except _ToolError as exc:
            return Outcome(str(exc), error=True)
        except Exception as exc:  # the connection is gone: restart once, resend
            if tool.server in self._restarted:
                raise Dead(f"MCP server {tool.server} stopped: {_why(exc)}") from None
            self._restarted.add(tool.server)
            await self._restart(conn)
        conn = self._conns[tool.server]
        try:
            return await self._call_on(conn, tool, arguments, timeout)
        except TimeoutError:
            return Outcome(f"the tool did not answer within {timeout:g} s", error=True)
        except _ToolError as exc:
            return Outcome(str(exc), error=True)
        except Exception as exc:
            raise Dead(f"MCP server {tool.server} stopped again: {_why(exc)}") from None

    async def _restart(self, conn: _Conn) -> None:
        conn.stop.set()
        conn.task.cancel()
        errlog = _errlog()
        try:
            fresh = await self._open(conn.server, errlog)
        except Exception as exc:
            raise Dead(
                f"MCP server {conn.server.name} stopped and did not restart: "
                f"{_start_error(conn.server, exc, errlog).message}"
            ) from None
        self._conns[conn.server.name] = fresh

    async def _call_on(
        self, conn: _Conn, tool: Tool, arguments: dict[str, Any], timeout: float
    ) -> Outcome:
        from mcp import MCPError

        if conn.task.done():
            raise ConnectionError("the server has exited")
        try:
            result = await asyncio.wait_for(conn.client.call_tool(tool.name, arguments), timeout)
        except MCPError as exc:
            if _closed(exc):
                raise
            raise _ToolError(f"error: {exc}") from None
        return Outcome(_text(result), bool(getattr(result, "is_error", False)))


class _ToolError(Exception):
    """The server answered the call with a protocol error (unknown tool, bad arguments)."""


def _errlog() -> TextIO:
    """Where a server's stderr goes: kept, so a failed start can quote its last line."""
    return tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")


def _closed(exc: Exception) -> bool:
    from mcp_types import CONNECTION_CLOSED

    return getattr(exc, "code", None) == CONNECTION_CLOSED or "closed" in str(exc).lower()


def _why(exc: BaseException) -> str:
    return one_line(str(exc) or type(exc).__name__, 200)


def _transport(server: McpServer, errlog: TextIO) -> Any:
    if server.command is not None:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(
            command=server.command,
            args=list(server.args),
            env={k: v.value() for k, v in server.env.items()} or None,
            cwd=server.cwd,
        )
        return stdio_client(params, errlog=errlog)
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    assert server.url is not None
    headers = {k: v.value() for k, v in server.headers.items()}
    return streamable_http_client(server.url, http_client=create_mcp_http_client(headers=headers))


async def _list_tools(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor = None
    while True:
        from mcp_types import PaginatedRequestParams

        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await client.list_tools(params=params) if params else await client.list_tools()
        tools.extend(page.tools)
        cursor = getattr(page, "next_cursor", None)
        if not cursor or len(tools) > MAX_TOOLS:
            return tools[: MAX_TOOLS + 1]  # one more than used: the caller says some were cut


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
        elif kind == "resource":
            resource = item.resource
            parts.append(str(getattr(resource, "text", None) or f"[resource {resource.uri}]"))
        else:
            parts.append(f"[{kind} content]")
    if not parts and getattr(result, "structured_content", None) is not None:
        import json

        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def _start_error(server: McpServer, exc: BaseException, errlog: TextIO) -> ConfigError:
    """The ConfigError for a server that did not start: its command and stderr's last line."""
    if isinstance(exc, ConfigError):
        if exc.message.startswith("MCP server"):
            return exc
        return ConfigError(f"MCP server {server.name}: {exc.message}", hint=exc.hint)
    try:
        errlog.flush()
        errlog.seek(0)
        lines = [ln.strip() for ln in errlog.read().splitlines() if ln.strip()]
    except (OSError, ValueError):
        lines = []
    if isinstance(exc, TimeoutError | concurrent.futures.TimeoutError):
        why = f"did not answer within {server.startup_timeout:g} s"
    else:
        why = f"failed to start ({_why(_root(exc))})"
    last = f"; its last words: {one_line(lines[-1], 200)}" if lines else ""
    return ConfigError(
        f"MCP server {server.name} ({one_line(server.describe(), 200)}) {why}{last}",
        hint=f"run the command yourself to see why, or fix [mcp.servers.{server.name}]",
    )


def _root(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (anyio wraps transport failures in groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
