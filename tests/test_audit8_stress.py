"""Audit 8, stress (findings 2, 3, 5, 6, 7, 8): hostile conditions outside the HTTP payload.

A response head dripped in ends every route at ``timeout`` (exit 6, retried once like a silent
server); a finished stream that neither sends ``[DONE]`` nor closes is a complete answer; an
``SSL_CERT_FILE``/``SSL_CERT_DIR`` that names nothing usable is one configuration error (exit 3)
naming it, on every route and in ``doctor``; a signal at any moment of start-up ends chatcli
with its exit code and no traceback; a summary paid for whose ``-o`` file cannot be written is
kept (a re-run writes it without paying again); ``kill -9`` of ``transcribe`` leaves no ffmpeg
running, and the next ``transcribe`` removes the working folder it left.

The real CLI in process against small servers of the test's own, or a real process where a
signal, ``kill -9`` or ``$TMPDIR`` is the point.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_helpers import chatcli_argv, fake_env, run_cli, run_process
from tests.fakes import FakeOpenAI, Reply, make_wav
from tests.test_reliability_http import _config, _read_request, _server, _wav

ROUTES = {
    "stream": ["ask", "hi"],
    "whole": ["ask", "--no-stream", "hi"],
    "models": ["models"],
    "balance": ["balance"],
    "sdk": ["transcribe", "talk.wav"],
}


def _held(conn: socket.socket, seconds: float = 30) -> None:
    """Keep ``conn`` open (neither more bytes nor a close) until the client goes."""
    conn.settimeout(seconds)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass
    conn.close()


# -- 3: a response head dripped in ----------------------------------------------------------


def _dripping_head(conn: socket.socket) -> None:
    """A status line at once, then a header line every 0.3 s for ever (slow-loris)."""
    _read_request(conn)
    try:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for i in range(200):
            time.sleep(0.3)
            conn.sendall(b"X-Drip-%d: v\r\n" % i)
    except OSError:
        pass
    conn.close()


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_response_head_dripped_in_ends_every_route_at_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    monkeypatch.chdir(tmp_path)
    _wav(tmp_path)
    with _server(_dripping_head) as (origin, accepted):
        env = _config(tmp_path, f"{origin}/v1", timeout=1, max_retries=2)
        started = time.monotonic()
        result = run_cli(*ROUTES[route], env=env)
        took = time.monotonic() - started
    assert result.returncode == 6, result.stderr
    assert "sent its response headers too slowly" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(accepted) == 2  # retried once, like a server that says nothing
    assert took < 8


def test_doctor_fails_its_request_check_on_a_dripping_head(tmp_path: Path) -> None:
    with _server(_dripping_head) as (origin, _):
        result = run_cli("doctor", env=_config(tmp_path, f"{origin}/v1", timeout=1))
    assert result.returncode == 1
    assert re.search(r"\[FAIL\] request +\S+ sent its response headers too slowly", result.stdout)


def test_a_head_in_several_pieces_within_the_timeout_is_read(tmp_path: Path) -> None:
    """The deadline is for the whole head, counted from its first byte: a head that arrives
    in pieces, all within ``timeout``, is an answer (and a pause before it is no drip)."""
    body = json.dumps({"object": "list", "data": [{"id": "m-one", "object": "model"}]}).encode()
    lists: list[int] = []  # GET /v1/models requests (`models` may also ask a gateway's windows)

    def pieces(conn: socket.socket) -> None:
        head = conn.recv(65536)
        if not head.startswith(b"GET /v1/models "):
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return
        lists.append(1)
        time.sleep(0.8)  # silence before the head: the per-read timeout's business
        for part in (b"HTTP/1.1 200 OK\r\n", b"Content-Type: application/json\r\n",
                     b"Content-Length: %d\r\n\r\n" % len(body)):  # fmt: skip
            conn.sendall(part)
            time.sleep(0.3)
        conn.sendall(body)
        conn.close()

    with _server(pieces) as (origin, _):
        result = run_cli("models", env=_config(tmp_path, f"{origin}/v1", timeout=1.5))
    assert result.returncode == 0, result.stderr
    assert "m-one" in result.stdout and len(lists) == 1  # read, not retried


# -- 7: a finished stream that never ends -----------------------------------------------------


def _sse(obj: dict[str, object], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(obj)}\n\n".encode()


def _chunk(text: str | None = None, finish: str | None = None, **extra: object) -> bytes:
    choice = {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}
    obj = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
           "choices": [choice] if text is not None or finish else [], **extra}  # fmt: skip
    return _sse(obj)


USAGE = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}


def _stream_then_hold(*events: bytes | float) -> Callable[[socket.socket], None]:
    """A chunked SSE response of ``events`` (a float: a pause), then the connection kept
    open: no ``[DONE]``, no last chunk, no close."""

    def handle(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
        for event in events:
            if isinstance(event, float):
                time.sleep(event)
            else:
                conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))
        _held(conn)

    return handle


def _last_turn(tmp_path: Path) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """(interrupted, finish_reason) of the last message and (status, prompt, completion,
    estimated) of the last usage row."""
    with sqlite3.connect(tmp_path / "data" / "chatcli.db") as db:
        message = db.execute(
            "select interrupted, finish_reason from messages order by id desc limit 1"
        ).fetchone()
        usage = db.execute(
            "select status, prompt_tokens, completion_tokens, estimated from usage "
            "order by id desc limit 1"
        ).fetchone()
    return message, usage


@pytest.mark.parametrize(
    "events",
    [
        (_chunk("complete answer"), _chunk(finish="stop"), _chunk(usage=USAGE)),
        (_chunk("complete answer"), _chunk(finish="stop"), 0.4, _chunk(usage=USAGE)),
        (_chunk("complete answer"), _chunk(finish="stop", usage=USAGE), b": keep-alive\n\n"),
    ],
    ids=["usage-after-finish", "usage-late", "keep-alives-after"],
)
def test_a_finished_stream_without_done_that_stays_open_is_a_complete_answer(
    tmp_path: Path, events: tuple[bytes | float, ...]
) -> None:
    with _server(_stream_then_hold(*events)) as (origin, _):
        env = _config(tmp_path, f"{origin}/v1", timeout=5)
        started = time.monotonic()
        result = run_cli("ask", "--session", "s", "nodone", env=env)
        took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout == "complete answer\n" and result.stderr == ""
    assert took < 4  # the finish's short grace, not the 5 s a silent stream is given
    assert _last_turn(tmp_path) == ((0, "stop"), ("ok", 9, 2, 0))


def test_a_stream_without_a_finish_that_goes_silent_is_still_cut(tmp_path: Path) -> None:
    """The grace is for finished answers only: a stream that stops mid-answer is cut."""
    with _server(_stream_then_hold(_chunk("half an"))) as (origin, _):
        result = run_cli("ask", "hi", env=_config(tmp_path, f"{origin}/v1", timeout=1))
    assert result.returncode == 6 and "went silent" in result.stderr


def test_a_responses_stream_ends_at_response_completed_whatever_follows(tmp_path: Path) -> None:
    """The Responses API's end is ``response.completed``: nothing after it is waited for."""
    response = {"id": "r1", "object": "response", "model": "gpt-4o-mini", "status": "completed",
                "output": [{"type": "message", "id": "m1", "role": "assistant", "status":
                            "completed", "content": [{"type": "output_text",
                                                      "text": "complete answer"}]}],
                "usage": {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11}}  # fmt: skip
    events = (
        _sse({"type": "response.created", "response": {**response, "status": "in_progress",
                                                       "output": []}}, "response.created"),
        _sse({"type": "response.output_text.delta", "item_id": "m1", "output_index": 0,
              "content_index": 0, "delta": "complete answer"}, "response.output_text.delta"),
        _sse({"type": "response.completed", "response": response}, "response.completed"),
    )  # fmt: skip
    with _server(_stream_then_hold(*events)) as (origin, _):
        env = _config(tmp_path, f"{origin}/v1", timeout=5)
        config = tmp_path / "config.toml"
        config.write_text(config.read_text() + 'api = "responses"\n')
        started = time.monotonic()
        result = run_cli("ask", "--session", "s", "nodone", env=env)
        took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout == "complete answer\n" and took < 4
    assert _last_turn(tmp_path) == ((0, "stop"), ("ok", 9, 2, 0))


# -- 6: SSL_CERT_FILE / SSL_CERT_DIR naming nothing usable -----------------------------------


def _accepting() -> Callable[[socket.socket], None]:
    return _held


@pytest.mark.parametrize("route", ["stream", "models", "sdk", "fetch"])
def test_a_missing_ssl_cert_file_is_one_config_error_naming_it(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    monkeypatch.chdir(tmp_path)
    _wav(tmp_path)
    missing = tmp_path / "nowhere" / "ca.pem"
    with _server(_accepting()) as (origin, accepted):
        https = origin.replace("http://", "https://")
        if route == "fetch":  # the endpoint is plain http; the page fetched is https
            env, args = fake_env(tmp_path, fake), ["ask", "-f", f"{https}/page", "hi"]
        else:
            env, args = _config(tmp_path, f"{https}/v1"), ROUTES[route]
        result = run_cli(*args, env={**env, "SSL_CERT_FILE": str(missing)})
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        f"chatcli: error: SSL_CERT_FILE={missing}: no such file",
        "hint: point SSL_CERT_FILE at the CA certificates to trust (a PEM file), or unset it "
        "to use the system's",
    ]
    assert accepted == [] and fake.requests == []  # refused before connecting


@pytest.mark.parametrize("route", ["stream", "models", "sdk"])
def test_an_ssl_cert_file_that_is_no_pem_is_refused_at_the_handshake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    monkeypatch.chdir(tmp_path)
    _wav(tmp_path)
    garbage = tmp_path / "bad.pem"
    garbage.write_text("garbage\n")
    with _server(_accepting()) as (origin, accepted):
        env = _config(tmp_path, f"{origin.replace('http://', 'https://')}/v1", max_retries=2)
        result = run_cli(*ROUTES[route], env={**env, "SSL_CERT_FILE": str(garbage)})
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(
        f"chatcli: error: SSL_CERT_FILE={garbage}: no certificate in it (it is not a PEM file "
        "of CA certificates)\nhint: point SSL_CERT_FILE"
    )
    assert len(accepted) == 1  # not retried


def test_a_missing_ssl_cert_dir_names_it(tmp_path: Path) -> None:
    env = _config(tmp_path, "https://127.0.0.1:9/v1")
    env = {k: v for k, v in env.items() if k != "SSL_CERT_FILE"}  # which would win
    result = run_cli("ask", "hi", env={**env, "SSL_CERT_DIR": str(tmp_path / "certs")})
    assert result.returncode == 3
    assert f"chatcli: error: SSL_CERT_DIR={tmp_path / 'certs'}: no such folder" in result.stderr


def test_doctor_marks_an_unusable_ssl_cert_file_as_a_failed_check(tmp_path: Path) -> None:
    with _server(_accepting()) as (origin, _):
        env = _config(tmp_path, f"{origin.replace('http://', 'https://')}/v1")
        result = run_cli("doctor", env={**env, "SSL_CERT_FILE": "/nonexistent/ca.pem"})
    assert result.returncode == 1
    assert "[FAIL] request      SSL_CERT_FILE=/nonexistent/ca.pem: no such file" in result.stdout
    assert "unexpected" not in result.stdout + result.stderr


# -- 5: a signal at any moment of start-up --------------------------------------------------


@pytest.mark.process
def test_a_signal_during_start_up_ends_with_its_code_and_no_traceback(tmp_path: Path) -> None:
    """SIGTERM, SIGHUP and SIGINT sent 0 to 0.3 s after exec, while Python, typer and chatcli
    import: the exit code is the signal's (128 + n, or death by the signal before any of
    chatcli's code ran), never a traceback of chatcli's. Ctrl-C that lands while Python
    itself starts (``site``, ``runpy``) is the interpreter's to report."""
    env = _config(tmp_path, "http://127.0.0.1:9/v1")  # refused at once: the run is short
    signals = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    outcomes = []
    for step in range(60):
        sig = signals[step % 3]
        proc = subprocess.Popen(chatcli_argv("ask", "hi"), env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        time.sleep(step * 0.005)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        stderr = err.decode("utf-8", "replace")
        outcomes.append((sig, proc.returncode, stderr))
    for sig, code, stderr in outcomes:
        # the interpreter's own start-up (``site``, and ``runpy`` for ``python -m``), before
        # any of chatcli's code runs, is Python's to report
        interpreter = sig == signal.SIGINT and any(
            words in stderr for words in ("init_import_site", "Could not import runpy module")
        )
        assert code in (128 + sig, -sig, 6) or interpreter, (sig, code, stderr)
        if sig != signal.SIGINT or "/chatcli/" in stderr:
            assert "Traceback" not in stderr and "unexpected" not in stderr, (sig, stderr)
    stopped = [o for o in outcomes if o[1] == 128 + o[0]]
    unsaid = [o for o in stopped if f"chatcli: {_said(o[0])}" not in o[2]]
    assert stopped and not unsaid, unsaid


def _said(sig: int) -> str:
    return "interrupted" if sig == signal.SIGINT else f"stopped by {signal.Signals(sig).name}"


# -- 2: a summary paid for whose file cannot be written --------------------------------------


def test_a_summary_whose_file_cannot_be_written_is_kept_and_not_paid_again(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.default_reply = Reply(text="A summary.")
    files = []
    for name in ("m1", "m2", "m3"):
        (tmp_path / f"{name}.txt").write_text(f"The text of {name}.\n")
        files.append(str(tmp_path / f"{name}.txt"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "m2.md").symlink_to(tmp_path / "gone" / "m2.md")  # writing it fails: ENOENT
    env = fake_env(tmp_path, fake)
    args = ["summarize", *files, "-o", str(out), "--yes", "--concurrency", "1"]
    result = run_cli(*args, env=env)
    assert result.returncode == 1, result.stderr
    assert f"cannot write {out / 'm2.md'}: No such file or directory; the summary is kept: " in (
        result.stderr
    )
    assert "chatcli: error: 1 of 3 inputs failed" in result.stderr
    assert (out / "m1.md").read_text() == (out / "m3.md").read_text() == "A summary.\n"
    assert len(fake.chat_requests()) == 3

    again = run_cli(*args, env=env)  # the disk still refuses: nothing is sent again
    assert again.returncode == 1 and len(fake.chat_requests()) == 3, again.stderr
    (out / "m2.md").unlink()  # room again
    third = run_cli(*args, env=env)
    assert third.returncode == 0, third.stderr
    assert (out / "m2.md").read_text() == "A summary.\n"
    assert len(fake.chat_requests()) == 3  # written from what was kept: nothing paid again
    assert "paid for but could not write is taken from there" in third.stderr


# -- 8: kill -9 during transcribe ------------------------------------------------------------


SLOW_FFMPEG = """#!{python}
import sys, time
args = sys.argv[1:]
if any("silencedetect" in a for a in args):
    time.sleep(60)  # a long silence pass over an hour of audio
sys.stderr.write("  Duration: 00:10:00.00, start: 0.000000, bitrate: 8 kb/s\\n")
sys.exit(1)
"""


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(stat[1]) == pid:
            found.append((int(entry.name), cmdline))
    return found


def _gone(pid: int, within: float) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.process
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_kill_9_of_transcribe_leaves_no_ffmpeg_and_the_next_run_removes_its_folder(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    bin_dir, tmpdir = tmp_path / "bin", tmp_path / "tmpd"
    bin_dir.mkdir()
    tmpdir.mkdir()
    ffmpeg = bin_dir / "ffmpeg"
    ffmpeg.write_text(SLOW_FFMPEG.format(python=sys.executable))
    ffmpeg.chmod(0o755)
    audio = tmp_path / "talk.mp3"
    audio.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + os.urandom(6000))
    live = tmpdir / f"chatcli-transcribe-{os.getpid()}-0-keep"  # a running process's
    live.mkdir()
    env = fake_env(tmp_path, fake, PATH=f"{bin_dir}:{os.environ['PATH']}", TMPDIR=str(tmpdir),
                   CHATCLI_UPLOAD_LIMIT="2000")  # fmt: skip
    proc = subprocess.Popen(chatcli_argv("transcribe", str(audio)), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        end = time.monotonic() + 20
        slow: list[int] = []
        while not slow and time.monotonic() < end and proc.poll() is None:
            slow = [pid for pid, line in _children(proc.pid) if "silencedetect" in line]
            time.sleep(0.02)
        assert slow, "the silence pass never started"
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert _gone(slow[0], within=3), "ffmpeg outlived chatcli"
    left = [p.name for p in tmpdir.iterdir() if p != live]
    assert len(left) == 1 and left[0].startswith(f"chatcli-transcribe-{proc.pid}-")
    assert (tmpdir / left[0] / "input").is_symlink()  # SIGKILL cannot be caught: it stays

    wav = tmp_path / "short.wav"
    wav.write_bytes(make_wav(0.5))
    result = run_process("transcribe", str(wav), env={**env, "CHATCLI_UPLOAD_LIMIT": "99999999"})
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmpdir.iterdir()) == [live.name]  # the dead one's is gone


def test_a_working_folder_named_after_a_live_process_is_left_alone(tmp_path: Path) -> None:
    from chatcli.features.transcribe import work

    started = work._started(os.getpid())
    mine = tmp_path / f"chatcli-transcribe-{os.getpid()}-{started}-x"
    other = tmp_path / "chatcli-transcribe-notapid-x"
    for folder in (mine, other):
        folder.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = tmp_path / f"chatcli-transcribe-{dead.pid}-1-x"
    gone.mkdir()
    before, tempfile.tempdir = tempfile.tempdir, str(tmp_path)
    try:
        work.sweep()
    finally:
        tempfile.tempdir = before
    assert mine.exists() and other.exists() and not gone.exists()
