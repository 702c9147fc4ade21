"""Every network command x every way the network fails (audit 10, area ``netmatrix``):
doctor's paid request in the usage log (1), a stream cut inside a line is a cut stream (2),
an https URL on a plain-HTTP port and http on a TLS port said so, not retried (4), a batch
status that is no batch object (5), a transcript without ``text`` (6), one rule for the usage
rows of failed requests, the server's tokens kept (7), and the small things of 8 (the SDK
routes' timeouts name the endpoint and seconds; ``balance`` refuses a non-billing answer).

The real CLI in process (``run_cli``: a ManualClock, so retries and polls do not wait) against
the fake server, or small hostile servers of this file's own.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, make_wav
from tests.test_reliability_http import _server, _trusted_cert

NO_CHOICES: dict[str, object] = {
    "id": "x",
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}
"""A 200 that is no answer but says what it charged (a relay answering every path alike)."""

Route = Callable[["_Handler"], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.body = self._body()
        server = self.server
        assert isinstance(server, _Hostile)
        server.seen.append(f"{self.command} {self.path}")
        server.route(self)

    do_POST = do_GET

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def send(self, status: int, body: bytes | str | Mapping[str, object], ctype: str = "") -> None:
        """Answer ``body`` whole (a dict as JSON) and close the connection."""
        if isinstance(body, Mapping):
            body, ctype = json.dumps(body), ctype or "application/json"
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def log_message(self, *_args: object) -> None:
        pass


class _Hostile(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, route: Route) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.route = route
        self.seen: list[str] = []
        self.connections = 0

    def verify_request(self, request: object, client_address: object) -> bool:
        self.connections += 1
        return True


@contextlib.contextmanager
def _hostile(route: Route) -> Iterator[_Hostile]:
    server = _Hostile(route)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _origin(server: _Hostile) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _env(tmp_path: Path, base_url: str, api: str = "chat", **defaults: float) -> dict[str, str]:
    """A relay profile at ``base_url`` over ``api`` (``defaults``: max_retries 2 unless
    given)."""
    lines = "".join(f"{k} = {v}\n" for k, v in {"max_retries": 2, **defaults}.items())
    config = tmp_path / "config.toml"
    config.write_text(
        f'default_profile = "r"\n[defaults]\nmodel = "gpt-4o-mini"\n{lines}[profiles.r]\n'
        f'type = "relay"\nbase_url = "{base_url}"\napi_key = "{DEFAULT_API_KEY}"\n'
        f'api = "{api}"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    return clean_env(tmp_path)


def _rows(tmp_path: Path) -> list[tuple[str, str, int, int, bool]]:
    """(command, status, prompt tokens, completion tokens, estimated) of every usage row."""
    from chatcli.store import Store

    if not (tmp_path / "data").exists():
        return []
    with Store.open(tmp_path / "data") as store:
        return [
            (r.command, r.status, r.prompt_tokens, r.completion_tokens, r.estimated)
            for r in store.usage_rows()
        ]


def _chunk(text: str) -> bytes:
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": None}
    obj = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
           "choices": [choice]}  # fmt: skip
    return f"data: {json.dumps(obj)}\n\n".encode()


def _no_choices(handler: _Handler) -> None:
    handler.send(200, NO_CHOICES)


def _cut_body(handler: _Handler) -> None:
    """A 200 whose body stops after 40 of the bytes its Content-Length promised."""
    whole = json.dumps({**NO_CHOICES, "choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "Hello there"}}]})  # fmt: skip
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(whole)))
    handler.end_headers()
    handler.wfile.write(whole[:40].encode())
    handler.close_connection = True


# -- 1: doctor's paid request is in the usage log -------------------------------------------


def test_doctor_logs_its_paid_request(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("doctor", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _rows(tmp_path)
    assert len(rows) == 1 and rows[0][:2] == ("doctor", "ok")
    assert rows[0][2] > 0 and not rows[0][4]  # the fake reports usage: taken as reported
    listed = run_cli("usage", "--by", "command", "--json", env=fake_env(tmp_path, fake))
    assert "doctor" in listed.stdout


# -- 2: a stream cut inside a line is a cut stream (exit 6) ---------------------------------


def _cut_mid_line(handler: _Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(_chunk("Hello ") + _chunk("partial ") + b'data: {"id": "c1", "obj')
    handler.close_connection = True


@pytest.mark.parametrize("command", ["ask", "summarize"])
def test_a_stream_cut_inside_a_line_is_a_cut_stream(tmp_path: Path, command: str) -> None:
    with _hostile(_cut_mid_line) as server:
        env = _env(tmp_path, f"{_origin(server)}/v1")
        args = ("ask", "hi") if command == "ask" else ("summarize",)
        result = run_cli(*args, env=env, input="A short text to sum up.\n")
    assert result.returncode == 6, result.stderr
    assert "malformed" not in result.stderr and "not streaming like" not in result.stderr
    assert "the stream ended before the answer was complete" in result.stderr
    if command == "ask":
        assert result.stdout.startswith("Hello partial")


# -- 4: a URL whose scheme its server does not speak ----------------------------------------


@pytest.mark.parametrize("args", [["ask", "hi"], ["speak", "hi", "-o", "x.mp3"]])
def test_https_on_a_plain_http_port_says_use_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with _hostile(_no_choices) as server:
        port = server.server_address[1]
        result = run_cli(*args, env=_env(tmp_path, f"https://127.0.0.1:{port}/v1"))
        connections = server.connections
    assert result.returncode == 6, result.stderr
    assert f"https://127.0.0.1:{port}: the server speaks plain HTTP" in result.stderr
    assert f"use http:// in the profile's URL (http://127.0.0.1:{port})" in result.stderr
    assert "SSL" not in result.stderr and "retry" not in result.stderr
    assert connections == 1  # not retried
    assert _rows(tmp_path) == []  # it never reached the API: no usage row


def _hang_up(conn: socket.socket) -> None:
    conn.close()


@pytest.mark.parametrize("args", [["ask", "hi"], ["image", "a cat", "-o", "x.png"]])
def test_http_on_a_tls_port_says_use_https(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    context, _ = _trusted_cert(tmp_path)
    with _server(_hang_up, wrap=context) as (origin, accepted):
        plain = origin.replace("https://", "http://")
        result = run_cli(*args, env=_env(tmp_path, f"{plain}/v1"))
    assert result.returncode == 6, result.stderr
    assert f"{plain}: the server speaks TLS, not plain HTTP" in result.stderr
    assert f"use https:// in the profile's URL ({origin})" in result.stderr
    assert "retry" not in result.stderr and "reset" not in result.stderr
    assert len(accepted) == 2  # the request and one handshake that tells: no retries
    assert _rows(tmp_path) == []


def test_a_tls_fronts_plain_http_page_says_use_https(tmp_path: Path) -> None:
    """nginx answers a plain-HTTP request on its TLS port with a 400 page saying so."""
    page = (
        "<html><head><title>400 The plain HTTP request was sent to HTTPS port</title></head>"
        "<body><center><h1>400 Bad Request</h1></center><hr><center>nginx</center></body></html>"
    )
    with _hostile(lambda h: h.send(400, page, "text/html")) as server:
        result = run_cli("ask", "hi", env=_env(tmp_path, f"{_origin(server)}/v1"))
    assert result.returncode == 6, result.stderr
    assert "the server speaks TLS" in result.stderr and "use https://" in result.stderr


# -- 5: a batch status that is no batch object ----------------------------------------------


def _batch_route(polls: list[int]) -> Route:
    """A Batch API that creates ``batch_1``, then answers its first 5 polls with an object
    that is no batch and the 6th with a failed batch (so the code before the fix ends)."""
    counts = {"total": 2, "completed": 0, "failed": 0}
    batch: dict[str, object] = {
        "id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions",
        "input_file_id": "file-1", "completion_window": "24h", "status": "in_progress",
        "created_at": 1, "request_counts": counts,
    }  # fmt: skip

    def route(handler: _Handler) -> None:
        if handler.path.endswith("/files"):
            handler.send(200, {"id": "file-1", "object": "file", "bytes": 10, "created_at": 1,
                               "purpose": "batch", "filename": "x.jsonl"})  # fmt: skip
        elif handler.command == "POST" and handler.path.endswith("/batches"):
            handler.send(200, batch)
        elif "/batches/batch_1" in handler.path:
            polls.append(1)
            handler.send(200, NO_CHOICES if len(polls) <= 5 else {**batch, "status": "failed"})
        else:
            handler.send(404, {"error": {"message": "no such route"}})

    return route


def test_batch_wait_refuses_a_status_that_is_no_batch(tmp_path: Path) -> None:
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"id": "a", "prompt": "one"}\n{"id": "b", "prompt": "two"}\n')
    polls: list[int] = []
    with _hostile(_batch_route(polls)) as server:
        env = _env(tmp_path, f"{_origin(server)}/v1")
        job = run_cli("batch", "submit", "--yes", str(inputs), env=env)
        assert job.returncode == 0, job.stderr
        name = job.stdout.strip()
        status = run_cli("batch", "status", name, env=env)
        waited = run_cli("batch", "wait", name, env=env)
    assert status.returncode == 0, status.stderr  # the last known state, said to be stale
    assert "batch_1 in_progress" in status.stdout and "unknown" not in status.stdout
    assert "not refreshed" in status.stderr and "not a batch object" in status.stderr
    assert waited.returncode == 5, waited.stderr
    assert "not a batch object" in waited.stderr and "Batch API" in waited.stderr
    assert len(polls) == 2  # one by status, one by wait: never polled for ever


# -- 6: a transcript without text -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "srt"])
def test_transcribe_refuses_json_without_text(tmp_path: Path, fmt: str) -> None:
    wav = tmp_path / "talk.wav"
    wav.write_bytes(make_wav(1.0))
    with _hostile(_no_choices) as server:
        env = _env(tmp_path, f"{_origin(server)}/v1")
        result = run_cli("transcribe", "--format", fmt, str(wav), env=env)
    assert result.returncode == 5, result.stdout + result.stderr
    assert "malformed transcription answer" in result.stderr and "no `text`" in result.stderr
    assert result.stdout == ""


# -- 7: one rule for the usage rows of failed requests --------------------------------------


@pytest.mark.parametrize(
    ("args", "rows", "api"),
    [
        (["ask", "--no-stream", "hi"], 1, "chat"),
        (["ask", "hi"], 1, "responses"),
        (["verify"], 1, "chat"),
        (["doctor"], 1, "chat"),
        (["batch", "submit", "--yes", "--local", "in.jsonl"], 2, "chat"),
    ],
    ids=["ask", "ask-responses", "verify", "doctor", "batch-local"],
)
def test_an_answer_without_choices_is_logged_with_the_tokens_it_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], rows: int, api: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"id": "a", "prompt": "one"}\n{"id": "b", "prompt": "2"}\n')
    with _hostile(_no_choices) as server:
        env = _env(tmp_path, f"{_origin(server)}/v1", api=api, max_retries=0)
        result = run_cli(*args, env=env)
    assert result.returncode in (1, 5), result.stdout + result.stderr
    command = "batch" if args[0] == "batch" else args[0]
    assert _rows(tmp_path) == [(command, "error", 5, 1, False)] * rows


COMMANDS: dict[str, tuple[list[str], int]] = {
    "ask": (["ask", "--no-stream", "hi"], 1),
    "verify": (["verify"], 1),
    "doctor": (["doctor"], 1),
    "batch": (["batch", "submit", "--yes", "--local", "in.jsonl"], 2),
    "speak": (["speak", "hi", "-o", "x.mp3"], 1),
    "transcribe": (["transcribe", "talk.wav"], 1),
}
"""Each command, its arguments and how many requests it makes (the batch input has two)."""


def _each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: str, commands: list[str]
) -> dict[str, tuple[int, list[tuple[str, str, int, int, bool]]]]:
    """Run each of ``commands`` in a home of its own at ``base``: its exit code and rows."""
    seen = {}
    for command in commands:
        home = tmp_path / command
        home.mkdir()
        monkeypatch.chdir(home)
        (home / "talk.wav").write_bytes(make_wav(1.0, level=3000))
        (home / "in.jsonl").write_text('{"id": "a", "prompt": "1"}\n{"id": "b", "prompt": "2"}\n')
        result = run_cli(*COMMANDS[command][0], env=_env(home, base, max_retries=0))
        assert "Traceback" not in result.stderr
        seen[command] = (int(result.returncode), _rows(home))
    return seen


def test_an_answer_cut_short_is_a_usage_row_in_every_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = ["ask", "verify", "doctor", "batch"]
    with _hostile(_cut_body) as server:
        seen = _each(tmp_path, monkeypatch, f"{_origin(server)}/v1", commands)
    for command in commands:
        code, rows = seen[command]
        assert code in (1, 6), (command, code)
        assert [r[:2] for r in rows] == [(command, "error")] * COMMANDS[command][1], command


def test_a_request_that_never_reached_the_endpoint_is_no_usage_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAI() as gone:
        base = gone.base_url  # a port nothing listens on any more: connection refused
    commands = ["ask", "speak", "transcribe", "batch"]
    seen = _each(tmp_path, monkeypatch, base, commands)
    assert seen == {command: (6, []) for command in commands}


# -- 8: the small things ---------------------------------------------------------------------


def _silent(stop: threading.Event) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            stop.wait(10)

    return handle


def test_an_sdk_route_names_the_silent_endpoint_and_the_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stop = threading.Event()
    with _server(_silent(stop)) as (origin, _):
        result = run_cli("speak", "hi", "-o", "x.mp3",
                         env=_env(tmp_path, f"{origin}/v1", max_retries=0, timeout=1))  # fmt: skip
        stop.set()
    assert result.returncode == 6, result.stderr
    assert f"no response from {origin} within 1 s" in result.stderr


def _trickle(stop: threading.Event) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n{\"text\": \"")  # fmt: skip
            while not stop.wait(0.3):
                conn.sendall(b"a")

    return handle


def test_an_sdk_route_names_the_dripping_endpoint_with_its_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "talk.wav").write_bytes(make_wav(1.0))
    stop = threading.Event()
    with _server(_trickle(stop)) as (origin, _):
        result = run_cli("transcribe", "talk.wav",
                         env=_env(tmp_path, f"{origin}/v1", max_retries=0, timeout=1))  # fmt: skip
        stop.set()
    assert result.returncode == 6, result.stderr
    assert f"the response from {origin} arrived too slowly" in result.stderr


def test_balance_refuses_an_answer_that_is_no_billing_answer(tmp_path: Path) -> None:
    with _hostile(_no_choices) as server:
        result = run_cli("balance", env=_env(tmp_path, f"{_origin(server)}/v1"))
    assert result.returncode == 5, result.stdout + result.stderr
    assert "malformed billing answer" in result.stderr and "unknown" not in result.stdout
