"""A small MCP server of our own for what the reference servers cannot show: errors, slowness,
large outputs, a crash, a destructive tool, and a required header.

``python -m tests.fakes.mcp_tools`` serves over stdio; ``--http`` serves streamable HTTP on a
free loopback port and prints its URL on the first line of stdout. With ``--token T`` every
HTTP request must carry ``Authorization: Bearer T`` (else 401). ``--fail-start`` prints an
error and exits 2. ``--page-size N`` (stdio) lists the tools N a page (``nextCursor``).

Over stdio this module uses the standard library alone: the test suite starts the server ~35
times, and importing the ``mcp`` SDK costs ~0.55 s of CPU each time. It speaks JSON-RPC 2.0, one
message a line, and answers as the SDK's MCPServer does (its replies were captured and matched):
the 2026-07-28 per-request envelope that chatcli's client opens with (a ``server/discover``
probe, then ``tools/list`` and ``tools/call``, no handshake), or the ``initialize`` handshake of
earlier versions if the first request is that; the same tool listing (pydantic's schemas), the
same results, and pydantic's words for arguments it rejects. Each ``tools/call`` runs in its own
thread, so calls overlap (``rendezvous``); a cancelled call is never answered; stdin's end ends
the process at once, even while calls run. ``--http`` serves the same tools on the SDK itself
(``mcp_tools_http.py``, imported only then).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

# the tools (as ``mcp_tools_http.py`` defines them for the SDK; keep the two in step)


class ToolError(Exception):
    """A tool's own failure: the client sees its message (the SDK's ToolError)."""


def echo(text: str) -> str:
    """Say the text back."""
    return f"echo: {text}"


def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


def fail(message: str = "it broke") -> str:
    """Always fails with the message."""
    raise ToolError(message)


def slow(seconds: float = 5.0) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return f"slept {seconds:g} s"


def big(lines: int = 10000) -> str:
    """Many numbered lines."""
    return "\n".join(f"line {i}: the quick brown fox jumps over the lazy dog" for i in range(lines))


def crash() -> str:
    """Ends the server process at once (over stdio: a server dying mid-session)."""
    os._exit(3)


def crash_once(marker: str) -> str:
    """Ends the server process the first time (``marker`` does not exist yet), then answers."""
    if not os.path.exists(marker):
        with open(marker, "w") as fh:
            fh.write("crashed\n")
        os._exit(3)
    return "back after a restart"


_arrived = 0
_met = threading.Condition()


def rendezvous(n: int = 2) -> str:
    """Waits until ``n`` calls are in progress at once (10 s at most): parallel calls meet."""
    global _arrived
    with _met:
        _arrived += 1
        _met.notify_all()
        return f"met {n}" if _met.wait_for(lambda: _arrived >= n, timeout=10) else "alone"


def remove(path: str) -> str:
    """Pretends to delete a file."""
    return f"removed {path}"


def env(name: str) -> str:
    """The value of an environment variable of the server's process."""
    return os.environ.get(name, "(not set)")


def rpc_error(code: int, message: str, log: str = "") -> str:
    """Answers with a JSON-RPC error (not a tool result), after adding a line to ``log``."""
    if log:
        with open(log, "a") as fh:
            fh.write("called\n")
    raise RpcError(code, message)


def surrogate() -> str:
    """Answers text holding a lone surrogate, sent as its JSON escape (as a Python server
    listing undecodable file names does): a reply the client cannot read."""
    return "a\ud800b"


READ_ONLY = {"readOnlyHint": True, "destructiveHint": False}
DESTRUCTIVE = {"destructiveHint": True, "readOnlyHint": False}
TOOLS: dict[str, tuple[Callable[..., str], dict[str, bool] | None]] = {
    "echo": (echo, READ_ONLY),
    "add": (add, READ_ONLY),
    "fail": (fail, None),
    "slow": (slow, None),
    "big": (big, READ_ONLY),
    "crash": (crash, None),
    "crash_once": (crash_once, None),
    "rendezvous": (rendezvous, READ_ONLY),
    "remove": (remove, DESTRUCTIVE),
    "env": (env, READ_ONLY),
    "rpc_error": (rpc_error, None),
    "surrogate": (surrogate, READ_ONLY),
}

# tools as the SDK lists and calls them (pydantic: schemas, lax conversions, error texts)

KINDS = {"str": "string", "int": "integer", "float": "number"}  # annotations are strings here
PYDANTIC_ERRORS = "https://errors.pydantic.dev/2.14/v/"  # the venv's pydantic names its version


def listing(name: str) -> dict[str, Any]:
    fn, hints = TOOLS[name]
    properties: dict[str, Any] = {}
    required = []
    for p in inspect.signature(fn).parameters.values():
        properties[p.name] = {"title": p.name.title(), "type": KINDS[p.annotation]}
        if p.default is p.empty:
            required.append(p.name)
        else:
            properties[p.name]["default"] = p.default
    schema = {"type": "object", "properties": properties, "title": f"{name}Arguments"}
    if required:
        schema["required"] = required
    output = {"result": {"title": "Result", "type": "string"}}
    tool: dict[str, Any] = {
        "name": name,
        "description": fn.__doc__,
        "inputSchema": schema,
        "outputSchema": {
            "type": "object",
            "properties": output,
            "required": ["result"],
            "title": f"{name}Output",
        },
    }
    if hints:
        tool["annotations"] = hints
    return tool


def call_tool(params: dict[str, Any]) -> dict[str, Any]:
    """A ``tools/call`` result: a failure is a result too (``isError``), not a protocol error."""
    name, given = params["name"], params.get("arguments") or {}
    if name not in TOOLS:
        return failed(f"Unknown tool: {name}")
    try:
        text = TOOLS[name][0](**arguments(name, given))
    except RpcError:  # an error answer (``rpc_error``)
        raise
    except ToolError as exc:
        return failed(f"Error executing tool {name}: {exc}")
    except Exception:  # a crash: as with the SDK, its text stays in the server
        return failed(f"Error executing tool {name}")
    return {
        "content": [{"type": "text", "text": text}],
        "isError": False,
        "structuredContent": {"result": text},
    }


def failed(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


class Invalid(Exception):
    """An argument pydantic would reject: (error type, message)."""


def arguments(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """The tool's keyword arguments from the call's, converted as pydantic's lax mode does;
    ToolError with pydantic's text if any is missing or will not convert."""
    params = inspect.signature(TOOLS[name][0]).parameters.values()
    data = dict(given)
    for p in params:  # the SDK first decodes JSON in a string given for a non-string parameter
        value = data.get(p.name)
        if p.annotation != "str" and isinstance(value, str):
            try:
                decoded = json.loads(value)
            except (ValueError, RecursionError):
                continue
            if not isinstance(decoded, str | int | float):
                data[p.name] = decoded
    values: dict[str, Any] = {}
    errors: list[tuple[str, str, str, Any]] = []
    for p in params:
        if p.name not in data:
            if p.default is p.empty:
                errors.append((p.name, "missing", "Field required", data))
            continue
        try:
            values[p.name] = CONVERT[p.annotation](data[p.name])
        except Invalid as exc:
            errors.append((p.name, *exc.args, data[p.name]))
    if not errors:
        return values
    lines = [f"{len(errors)} validation error{'s' * (len(errors) > 1)} for {name}Arguments"]
    for field, kind, message, value in errors:
        shown = repr(value)
        if len(shown) > 50:  # pydantic shortens it so
            shown = f"{shown[:25]}...{shown[-24:]}"
        lines += [
            field,
            f"  {message} [type={kind}, input_value={shown}, input_type={type(value).__name__}]",
            f"    For further information visit {PYDANTIC_ERRORS}{kind}",
        ]
    raise ToolError("\n".join(lines))


def to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise Invalid("string_type", "Input should be a valid string")


INTEGER = re.compile(r"[+-]?(\d+(?:_\d+)*)(?:\.0+)?", re.ASCII)
TOO_BIG = ("int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size")


def to_int(value: Any) -> int:
    if isinstance(value, int):  # True is 1
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid("finite_number", "Input should be a finite number")
        if not value.is_integer():
            raise Invalid(
                "int_from_float",
                "Input should be a valid integer, got a number with a fractional part",
            )
        if abs(value) >= 2.0**63:
            raise Invalid(*TOO_BIG)
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if (match := INTEGER.fullmatch(text)) is None:
            raise Invalid(
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
            )
        digits = match[1].replace("_", "").lstrip("0") or "0"
        if len(digits) > 4300:
            raise Invalid(*TOO_BIG)
        return -int(digits) if text.startswith("-") else int(digits)
    raise Invalid("int_type", "Input should be a valid integer")


def to_float(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value.strip().isascii():
            with contextlib.suppress(ValueError):
                return float(value.strip())
        raise Invalid(
            "float_parsing", "Input should be a valid number, unable to parse string as a number"
        )
    raise Invalid("float_type", "Input should be a valid number")


CONVERT: dict[str, Callable[[Any], Any]] = {"str": to_str, "int": to_int, "float": to_float}

# the protocol, as the SDK's server speaks it over stdio

NAME = "chatcli-test-tools"
MODERN = ["2026-07-28"]  # per-request envelope, no handshake
HANDSHAKE = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]  # by ``initialize``
VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
INFO_KEY = "io.modelcontextprotocol/clientInfo"
CLIENT_CAPS = ("experimental", "sampling", "elicitation", "roots", "extensions", "tasks")
INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32600, -32601, -32602
INTERNAL_ERROR, UNSUPPORTED_VERSION = -32603, -32022
LISTS = {  # the list methods served: all empty but tools
    "tools/list": "tools",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
    "prompts/list": "prompts",
}
MODERN_METHODS = {"server/discover", "tools/call", *LISTS}
LEGACY_METHODS = {"initialize", "ping", "tools/call", *LISTS}
CACHED = {"server/discover", *LISTS}  # a modern answer carries cache hints


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        error = {"code": code, "message": message}
        self.error = error if data is None else {**error, "data": data}


def bad_params() -> RpcError:
    return RpcError(INVALID_PARAMS, "Invalid request parameters", "")


def well_formed(method: str, params: dict[str, Any]) -> bool:
    """Whether the params have the shape the method's schema asks for (to the depth the SDK's
    checks reach that a client might get wrong)."""
    meta = params.get("_meta")
    if meta is not None:
        if not isinstance(meta, dict):
            return False
        info, token = meta.get(INFO_KEY), meta.get("progressToken", "")
        if not (isinstance(token, str) or type(token) is int):
            return False
        if not (info is None or is_implementation(info)):
            return False
        if CAPABILITIES_KEY in meta and not is_capabilities(meta[CAPABILITIES_KEY]):
            return False
    if method in LISTS:
        return isinstance(params.get("cursor", ""), str)
    if method == "tools/call":
        arguments = params.get("arguments")
        return isinstance(params.get("name"), str) and isinstance(arguments, dict | None)
    if method == "initialize":
        return (
            isinstance(params.get("protocolVersion"), str)
            and is_capabilities(params.get("capabilities"))
            and is_implementation(params.get("clientInfo"))
        )
    return True


def is_implementation(value: Any) -> bool:
    """Whether ``value`` is a client's name and version (clientInfo)."""
    return isinstance(value, dict) and all(
        isinstance(value.get(k), str) for k in ("name", "version")
    )


def is_capabilities(value: Any) -> bool:
    """Whether ``value`` is an object of client capabilities, each known one an object."""
    return isinstance(value, dict) and all(
        isinstance(value.get(k), dict | None) for k in CLIENT_CAPS
    )


def enveloped(params: dict[str, Any]) -> bool:
    """Whether a request carries the 2026-07-28 envelope (its protocol-version key)."""
    meta = params.get("_meta")
    return isinstance(meta, dict) and VERSION_KEY in meta


class Server:
    """One connection: the protocol era its first request chose, and the calls in flight."""

    def __init__(self, out: BinaryIO, page_size: int = 0) -> None:
        self.out = out
        self.page_size = page_size  # tools per page of tools/list (0: one page)
        self.lock = threading.RLock()  # one message on stdout at a time; guards ``calls``
        self.modern: bool | None = None  # chosen by the first request, for good
        self.ready = False  # handshake era: ``initialize`` answered or ``initialized`` notified
        self.calls: dict[str, threading.Event] = {}  # tools/call in flight by id: cancelled?

    def receive(self, line: bytes) -> None:
        """One line of stdin. What is not a request or a notification is dropped unanswered,
        as the SDK drops it (bad JSON, a batch, a response, a wrong ``jsonrpc``)."""
        try:
            message = json.loads(line)
            json.dumps(message, ensure_ascii=False).encode()  # pydantic refuses a lone \ud800
        except (ValueError, RecursionError):
            return
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return
        method, params, rid = message.get("method"), message.get("params"), message.get("id")
        if not isinstance(method, str) or not isinstance(params, dict | None):
            return
        if isinstance(rid, str) or type(rid) is int:
            self.request(rid, method, params or {})
        else:  # no id, or one that is not an id (null, 1.5): the SDK reads a notification
            self.notify(method, params or {})

    def notify(self, method: str, params: dict[str, Any]) -> None:
        if method == "notifications/initialized":
            self.ready = True
        elif method == "notifications/cancelled":
            with self.lock:
                cancelled = self.calls.pop(json.dumps(params.get("requestId")), None)
            if cancelled is not None:
                cancelled.set()

    def request(self, rid: int | str, method: str, params: dict[str, Any]) -> None:
        if self.modern is None:
            self.modern = method != "initialize" and enveloped(params)
        try:
            self.check(method, params)
            if method == "tools/call":
                cancelled = threading.Event()
                with self.lock:
                    self.calls[json.dumps(rid)] = cancelled
                args = (rid, params, cancelled)
                threading.Thread(target=self.call, args=args, daemon=True).start()
                return
            result = self.answer(method, params)
        except RpcError as exc:
            self.send({"jsonrpc": "2.0", "id": rid, "error": exc.error})
        except Exception:
            error = RpcError(INTERNAL_ERROR, "Internal server error").error
            self.send({"jsonrpc": "2.0", "id": rid, "error": error})
        else:
            self.reply(rid, method, result)

    def check(self, method: str, params: dict[str, Any]) -> None:
        """RpcError if the request is refused, by the SDK's rules in the SDK's order."""
        if self.modern:
            if method == "initialize":
                requested = params.get("protocolVersion")
                data: dict[str, Any] = {"supported": MODERN}
                if isinstance(requested, str):
                    data["requested"] = requested
                raise RpcError(
                    UNSUPPORTED_VERSION,
                    "connection is serving the 2026-07-28 protocol; "
                    "the initialize handshake is not accepted",
                    data,
                )
            meta = params.get("_meta")
            if not isinstance(meta, dict):
                raise RpcError(
                    INVALID_PARAMS,
                    f"params._meta must be an object carrying the required {VERSION_KEY!r} "
                    f"and {CAPABILITIES_KEY!r} envelope keys",
                )
            if missing := [k for k in (VERSION_KEY, CAPABILITIES_KEY) if k not in meta]:
                raise RpcError(
                    INVALID_PARAMS,
                    f"params._meta is missing the required envelope key(s): {', '.join(missing)}",
                )
            version = meta[VERSION_KEY]
            if not isinstance(version, str):
                raise RpcError(
                    INVALID_PARAMS, "the protocol-version envelope value must be a string"
                )
            if version not in MODERN:
                supported = {"supported": MODERN, "requested": version}
                raise RpcError(UNSUPPORTED_VERSION, "Unsupported protocol version", supported)
        elif method != "initialize" and enveloped(params):
            raise RpcError(
                INVALID_REQUEST,
                "this connection serves the handshake protocol era; "
                "requests carrying the 2026-07-28 envelope are not accepted on it",
            )
        if method not in (MODERN_METHODS if self.modern else LEGACY_METHODS):
            raise RpcError(METHOD_NOT_FOUND, "Method not found", method)
        if not well_formed(method, params):
            raise bad_params()
        if not (self.modern or self.ready or method in ("initialize", "ping")):
            raise bad_params()  # the SDK's answer before the handshake

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "initialize":
            self.ready = True
            requested = params["protocolVersion"]
            return {
                "protocolVersion": requested if requested in HANDSHAKE else HANDSHAKE[-1],
                "capabilities": {
                    "prompts": {"listChanged": False},
                    "resources": {"subscribe": False, "listChanged": False},
                    "tools": {"listChanged": False},
                },
                "serverInfo": {"name": NAME, "version": ""},
            }
        if method == "server/discover":
            return {
                "supportedVersions": MODERN,
                "capabilities": {
                    "prompts": {"listChanged": True},
                    "resources": {"subscribe": True, "listChanged": True},
                    "tools": {"listChanged": True},
                },
            }
        if method == "tools/list":
            return self.tools_page(params.get("cursor"))
        if method in LISTS:
            return {LISTS[method]: []}
        return {}  # ping

    def tools_page(self, cursor: Any) -> dict[str, Any]:
        """The tools, or with ``--page-size N`` the page ``cursor`` names (``nextCursor`` on
        all but the last), as a server with many tools pages them; a cursor it never gave is
        an error, as the SDK's servers answer one."""
        names = list(TOOLS)
        if not self.page_size:
            return {"tools": [listing(name) for name in names]}
        start = 0
        if cursor is not None:
            if not (isinstance(cursor, str) and cursor.startswith("page-")):
                raise RpcError(INVALID_PARAMS, "Invalid cursor")
            start = int(cursor.removeprefix("page-"))
        end = start + self.page_size
        page: dict[str, Any] = {"tools": [listing(name) for name in names[start:end]]}
        if end < len(names):
            page["nextCursor"] = f"page-{end}"
        return page

    def call(self, rid: int | str, params: dict[str, Any], cancelled: threading.Event) -> None:
        error = None
        try:
            result = call_tool(params)
        except RpcError as exc:
            error = exc.error
        with self.lock:
            if self.calls.get(json.dumps(rid)) is cancelled:
                del self.calls[json.dumps(rid)]
            if cancelled.is_set():
                return
            if error is not None:
                self.send({"jsonrpc": "2.0", "id": rid, "error": error})
            else:
                self.reply(rid, "tools/call", result)

    def reply(self, rid: int | str, method: str, result: dict[str, Any]) -> None:
        if self.modern:  # a 2026-07-28 result says what it is and who answered
            if method in CACHED:
                result = {"ttlMs": 0, "cacheScope": "private", **result}
            meta = {"io.modelcontextprotocol/serverInfo": {"name": NAME, "version": ""}}
            result = {**result, "resultType": "complete", "_meta": meta}
        self.send({"jsonrpc": "2.0", "id": rid, "result": result})

    def send(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        # UTF-8 as the SDK writes it; a lone surrogate (an undecodable byte of the environment)
        # cannot be, so it goes out as a JSON escape
        data = text.encode("utf-8", "backslashreplace") + b"\n"
        with self.lock:
            try:
                self.out.write(data)
                self.out.flush()
            except OSError:  # the client is gone
                os._exit(0)


def serve_stdio(page_size: int = 0) -> None:
    server = Server(sys.stdout.buffer, page_size)
    for line in sys.stdin.buffer:
        server.receive(line)
    with server.lock:  # a reply being written is finished; calls still running are dropped
        os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--token")
    parser.add_argument("--fail-start", action="store_true", help="print an error and exit 2")
    parser.add_argument("--page-size", type=int, default=0, help="tools per tools/list page")
    args = parser.parse_args()
    if args.fail_start:
        sys.stderr.write("loading settings\nerror: cannot open the database /nonexistent/db\n")
        sys.exit(2)
    if args.http:
        from tests.fakes.mcp_tools_http import serve_http

        serve_http(args.token)
    else:
        serve_stdio(args.page_size)


if __name__ == "__main__":
    main()
