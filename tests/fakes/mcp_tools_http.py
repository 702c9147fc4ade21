"""Our MCP server's tools on the ``mcp`` SDK (MCPServer), served over streamable HTTP:
``python -m tests.fakes.mcp_tools --http`` (see there). Over stdio the same tools are served
by ``mcp_tools.py`` with the standard library alone; keep the two in step.

Importing this module imports the SDK (~0.55 s of CPU), so only the ``--http`` path does.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from mcp import MCPError
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

server = MCPServer("chatcli-test-tools")
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False)


@server.tool(annotations=READ_ONLY)
def echo(text: str) -> str:
    """Say the text back."""
    return f"echo: {text}"


@server.tool(annotations=READ_ONLY)
def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


@server.tool()
def fail(message: str = "it broke") -> str:
    """Always fails with the message."""
    raise ToolError(message)


@server.tool()
def slow(seconds: float = 5.0) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return f"slept {seconds:g} s"


@server.tool(annotations=READ_ONLY)
def big(lines: int = 10000) -> str:
    """Many numbered lines."""
    return "\n".join(f"line {i}: the quick brown fox jumps over the lazy dog" for i in range(lines))


@server.tool()
def crash() -> str:
    """Ends the server process at once (over stdio: a server dying mid-session)."""
    os._exit(3)


@server.tool()
def crash_once(marker: str) -> str:
    """Ends the server process the first time (``marker`` does not exist yet), then answers."""
    if not os.path.exists(marker):
        with open(marker, "w") as fh:
            fh.write("crashed\n")
        os._exit(3)
    return "back after a restart"


_arrived = 0


@server.tool(annotations=READ_ONLY)
async def rendezvous(n: int = 2) -> str:
    """Waits until ``n`` calls are in progress at once (10 s at most): parallel calls meet."""
    import anyio

    global _arrived
    _arrived += 1
    with anyio.move_on_after(10):
        while _arrived < n:
            await anyio.sleep(0.01)
        return f"met {n}"
    return "alone"


@server.tool(annotations=ToolAnnotations(destructive_hint=True, read_only_hint=False))
def remove(path: str) -> str:
    """Pretends to delete a file."""
    return f"removed {path}"


@server.tool(annotations=READ_ONLY)
def env(name: str) -> str:
    """The value of an environment variable of the server's process."""
    return os.environ.get(name, "(not set)")


@server.tool()
def rpc_error(code: int, message: str, log: str = "") -> str:
    """Answers with a JSON-RPC error (not a tool result), after adding a line to ``log``."""
    if log:
        with open(log, "a") as fh:
            fh.write("called\n")
    raise MCPError(code, message)


@server.tool(annotations=READ_ONLY)
def surrogate() -> str:
    """Answers text holding a lone surrogate, sent as its JSON escape (as a Python server
    listing undecodable file names does): a reply the client cannot read."""
    return "a\ud800b"


def serve_http(token: str | None) -> None:
    """Serve on a free loopback port, its URL on the first line of stdout; with ``token``,
    every request must carry ``Authorization: Bearer <token>`` (else 401)."""
    import uvicorn
    from starlette.middleware.base import BaseHTTPMiddleware
    from starlette.responses import PlainTextResponse

    app = server.streamable_http_app()
    if token is not None:

        async def check(request: Any, call_next: Any) -> Any:
            if request.headers.get("authorization") != f"Bearer {token}":
                return PlainTextResponse("unauthorized", status_code=401)
            return await call_next(request)

        app.add_middleware(BaseHTTPMiddleware, dispatch=check)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    print(f"http://127.0.0.1:{port}/mcp", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
