"""Reliability of every HTTP route and output file (audit 7, findings 3, 4, 5, 6, 10, 14, 16
and 18): output files written as ``>`` would write them, a stalled page is no document, a
200 ``{"error": ...}`` is an API error everywhere, every route says it waits out a retry,
error bodies are read to their small bound on every route, a refused TLS certificate is one
clear error, and ``--help`` into a closed pipe exits 0.

The real CLI in process (``run_cli``: a ManualClock, so retries do not wait) against the fake
server, or small local servers of its own; a real process only for ``--help | head``.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import socket
import ssl
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import chatcli_argv, clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Raw, make_wav
from tests.test_batch import write_jsonl

ERROR_200 = json.dumps({"error": {"message": "upstream overloaded", "type": "server_error"}})


def _config(tmp_path: Path, base_url: str, **defaults: float) -> dict[str, str]:
    """A relay profile at ``base_url`` with ``defaults`` (max_retries 0 unless given)."""
    lines = "".join(f"{k} = {v}\n" for k, v in {"max_retries": 0, **defaults}.items())
    config = tmp_path / "config.toml"
    config.write_text(
        f'default_profile = "r"\n[defaults]\n{lines}[profiles.r]\ntype = "relay"\n'
        f'base_url = "{base_url}"\napi_key = "{DEFAULT_API_KEY}"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    return clean_env(tmp_path)


def _wav(tmp_path: Path) -> Path:
    wav = tmp_path / "talk.wav"
    wav.write_bytes(make_wav(1.0))
    return wav


@contextlib.contextmanager
def _server(
    handle: Callable[[socket.socket], None], wrap: ssl.SSLContext | None = None
) -> Iterator[tuple[str, list[int]]]:
    """A local TCP server calling ``handle`` on each connection in a thread; yields its
    ``http(s)://127.0.0.1:PORT`` and a list counting the connections accepted."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    accepted: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(1)
            if wrap is not None:
                try:
                    conn = wrap.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    conn.close()
                    continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"{'https' if wrap else 'http'}://127.0.0.1:{port}", accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return
        data += piece


# -- 3: output files are written as `>` writes them -----------------------------------------


@pytest.fixture
def finished_job(fake: FakeOpenAI, tmp_path: Path) -> tuple[dict[str, str], str]:
    """A local batch job of two requests, done: its environment and name."""
    env = _config(tmp_path, fake.base_url)
    inputs = write_jsonl(tmp_path / "in.jsonl", 2)
    result = run_cli("batch", "submit", str(inputs), "--local", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    return env, result.stdout.strip()


def test_batch_results_jsonl_writes_through_a_symlink(
    finished_job: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, job = finished_job
    real, link = tmp_path / "real.jsonl", tmp_path / "link.jsonl"
    real.write_text("old\n")
    real.chmod(0o640)
    link.symlink_to(real.name)
    result = run_cli("batch", "results", job, "--jsonl", str(link), env=env)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == real.name  # the link is kept
    lines = real.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["q0", "q1"]
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # the file's permissions too
    assert not list(tmp_path.glob(".*.tmp"))


def _drain(fd_or_path: int | str, got: list[bytes]) -> threading.Thread:
    """A thread reading ``fd_or_path`` (a FIFO is opened there) to its end into ``got``."""

    def read() -> None:
        fd = os.open(fd_or_path, os.O_RDONLY) if isinstance(fd_or_path, str) else fd_or_path
        with os.fdopen(fd, "rb") as f:
            got.append(f.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_batch_results_jsonl_writes_into_a_fifo(
    finished_job: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, job = finished_job
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _drain(str(fifo), got)
    result = run_cli("batch", "results", job, "--jsonl", str(fifo), env=env)
    if reader.is_alive():  # the old code replaced the FIFO: free the reader blocked on it
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still a FIFO, not a regular file
    assert len(got) == 1 and [json.loads(x)["id"] for x in got[0].splitlines()] == ["q0", "q1"]


def test_batch_results_jsonl_through_proc_self_fd_reaches_the_pipe(
    finished_job: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    """What ``--jsonl /dev/stdout`` is: a link to ``/proc/self/fd/N``, here a pipe of this
    process (the in-process CLI is this process); never this machine's own /dev/stdout."""
    env, job = finished_job
    read_end, write_end = os.pipe()
    link = tmp_path / "stdout-link"
    link.symlink_to(f"/proc/self/fd/{write_end}")
    got: list[bytes] = []
    reader = _drain(read_end, got)
    try:
        result = run_cli("batch", "results", job, "--jsonl", str(link), env=env)
    finally:
        os.close(write_end)
    reader.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == f"/proc/self/fd/{write_end}"
    assert len(got[0].splitlines()) == 2


def test_batch_results_jsonl_into_a_terminal_device_is_written_through(
    finished_job: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    """A character device (a pty's slave, through a link as /dev/stdout is one) is written,
    never replaced."""
    env, job = finished_job
    master, slave = os.openpty()
    link = tmp_path / "tty-link"
    link.symlink_to(f"/proc/self/fd/{slave}")
    try:
        result = run_cli("batch", "results", job, "--jsonl", str(link), env=env)
        os.set_blocking(master, False)
        said, deadline = b"", time.monotonic() + 5
        while said.count(b'"id": "q') < 2 and time.monotonic() < deadline:
            try:  # the line discipline may hand the bytes on a moment later on a busy machine
                said += os.read(master, 65536)
            except BlockingIOError:
                time.sleep(0.01)
    finally:
        os.close(slave)
        os.close(master)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    assert said.count(b'"id": "q') == 2


# -- 4: a page that stalls is no document ----------------------------------------------------


def _stalling_page(conn: socket.socket) -> None:
    with conn:
        _read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
            b"<html><body><p>Chapter one of the contract: the first half"
        )
        time.sleep(5)  # the rest never comes (a close-delimited body)


@pytest.mark.parametrize("command", ["ask", "summarize"])
def test_a_page_that_stalls_is_a_timeout_not_the_document(
    fake: FakeOpenAI, tmp_path: Path, command: str
) -> None:
    env = _config(tmp_path, fake.base_url, timeout=1)
    with _server(_stalling_page) as (origin, _):
        url = f"{origin}/page.html"
        args = ["ask", "-f", url, "summarise"] if command == "ask" else ["summarize", url, "--yes"]
        result = run_cli(*args, env=env)
    assert result.returncode == 6, result.stderr
    assert "took longer than 1 s" in result.stderr
    assert fake.chat_requests() == []  # nothing sent to the model, nothing paid


# -- 5, 6: a 200 whose body is an error is an API error on every route -----------------------


@pytest.mark.parametrize("fmt", ["text", "json", "srt", "vtt", "verbose_json"])
@pytest.mark.parametrize("to_file", [False, True])
def test_transcribe_200_error_body_is_an_api_error(
    fake: FakeOpenAI, tmp_path: Path, fmt: str, to_file: bool
) -> None:
    fake.script(Raw(body=ERROR_200), route="audio")
    out = tmp_path / f"out.{fmt}"
    args = ["transcribe", str(_wav(tmp_path)), "--format", fmt, "-m", "whisper-1"]
    if to_file:
        args += ["-o", str(out)]
    result = run_cli(*args, env=_config(tmp_path, fake.base_url))
    assert result.returncode == 5, result.stderr
    assert "the endpoint reported an error: upstream overloaded" in result.stderr
    assert result.stdout == "" and not out.exists()


def test_transcribe_200_error_sent_as_text_is_an_api_error(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Raw(body=ERROR_200, content_type="text/plain"), route="audio")
    result = run_cli("transcribe", str(_wav(tmp_path)), "--format", "srt",
                     env=_config(tmp_path, fake.base_url))  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert "upstream overloaded" in result.stderr and result.stdout == ""


def test_balance_200_error_body_is_an_api_error(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.billing = {"subscription": json.loads(ERROR_200), "usage": {"total_usage": 100}}
    result = run_cli("balance", env=_config(tmp_path, fake.base_url))
    assert result.returncode == 5, result.stderr
    assert "the endpoint reported an error: upstream overloaded" in result.stderr
    assert "unknown" not in result.stdout


def test_models_200_error_body_is_an_api_error(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Raw(body=ERROR_200), route="models")
    result = run_cli("models", env=_config(tmp_path, fake.base_url))
    assert result.returncode == 5, result.stderr
    assert "the endpoint reported an error: upstream overloaded" in result.stderr


def test_image_200_error_body_shows_the_message(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Raw(body=ERROR_200), route="images")
    result = run_cli("image", "a cat", "-o", str(tmp_path / "out"),
                     env=_config(tmp_path, fake.base_url))  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert "the endpoint reported an error: upstream overloaded" in result.stderr


def test_speech_200_error_labelled_as_audio_is_not_written(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Raw(body=ERROR_200, content_type="application/octet-stream"), route="speech")
    out = tmp_path / "x.mp3"
    result = run_cli("speak", "hello", "-o", str(out), env=_config(tmp_path, fake.base_url))
    assert result.returncode == 5, result.stderr
    assert "upstream overloaded" in result.stderr and not out.exists()


def test_an_answer_that_carries_an_error_field_is_not_an_envelope() -> None:
    from chatcli.providers import errorbody

    assert errorbody.envelope({"id": "resp_1", "object": "response", "error": None}) is None
    assert errorbody.envelope({"id": "resp_1", "error": {"message": "x"}}) is None
    assert errorbody.envelope({"text": "hi", "error": "x"}) is None
    assert errorbody.envelope({"error": None}) is None
    found = errorbody.envelope({"error": "gone", "data": None})
    assert found is not None and found.message == "the endpoint reported an error: gone"


# -- 10: every route says it waits out a retry -----------------------------------------------

RATE_LIMITED = json.dumps(
    {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}
)


def test_models_says_it_waits_out_retry_after(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Raw(status=429, body=RATE_LIMITED, headers={"Retry-After": "20"}), route="models")
    result = run_cli("models", env=_config(tmp_path, fake.base_url, max_retries=1))
    assert result.returncode == 0, result.stderr
    assert "retry 1/1; retrying in 20 s" in result.stderr


def _always_429(conn: socket.socket) -> None:
    with conn:
        _read_request(conn)
        body = RATE_LIMITED.encode()
        conn.sendall(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 20\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )


def test_balance_says_it_waits_out_retry_after(tmp_path: Path) -> None:
    with _server(_always_429) as (origin, _):
        result = run_cli("balance", env=_config(tmp_path, f"{origin}/v1", max_retries=1))
    assert result.returncode == 5, result.stderr
    assert "retry 1/1; retrying in 20 s" in result.stderr
    assert "rate limited (429)" in result.stderr


# -- 14: error bodies are read to their small bound on every route, and 5xx retried ----------

ROUTES = {
    "image": ("images", ["image", "a cat"]),
    "speak": ("speech", ["speak", "hello", "-o", "x.mp3"]),
    "transcribe": ("audio", ["transcribe", "talk.wav"]),
}
CAPS = {"image": 256, "speak": 64, "transcribe": 16}  # MiB: each route's answer cap


@pytest.mark.parametrize("command", sorted(ROUTES))
def test_a_500_bomb_is_read_to_the_error_bound_and_retried(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    _wav(tmp_path)
    route, args = ROUTES[command]
    fake.script(Raw(status=500, bomb=(CAPS[command] + 1) << 20), route=route)
    result = run_cli(*args, env=_config(tmp_path, fake.base_url, max_retries=1))
    assert result.returncode == 0, result.stderr  # the retry got the answer
    assert "answered 500: <262,144 bytes of application/json>" in result.stderr
    assert "larger than" not in result.stderr


# -- 16: a refused TLS certificate is one clear error, not retried ---------------------------


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 that nobody trusts unless told to
    (``cryptography`` is a test dependency: this never skips)."""
    return _trusted_cert(tmp_path)[0]


def _closing(conn: socket.socket) -> None:
    conn.close()


@pytest.mark.parametrize(
    "args", [["ask", "hi"], ["models"], ["transcribe", "talk.wav"]], ids=["chat", "get", "sdk"]
)
def test_a_refused_certificate_is_not_retried_and_says_how_to_trust_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _wav(tmp_path)
    with _server(_closing, wrap=_self_signed(tmp_path)) as (origin, accepted):
        result = run_cli(*args, env=_config(tmp_path, f"{origin}/v1", max_retries=2))
    assert result.returncode == 6, result.stderr
    assert "TLS certificate was refused" in result.stderr and "signed certificate" in result.stderr
    assert "SSL_CERT_FILE" in result.stderr
    assert origin in result.stderr
    assert "retry" not in result.stderr and len(accepted) == 1


def _trusted_cert(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 (its address in the certificate) and the certificate
    as a file a client can be told to trust (``SSL_CERT_FILE``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chatcli test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    crt, keyfile = tmp_path / "ca.pem", tmp_path / "key.pem"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(crt, keyfile)
    return context, crt


def _pipe_to(port: int) -> Callable[[socket.socket], None]:
    """A connection handler that relays the (decrypted) bytes to 127.0.0.1:``port`` and back:
    TLS in front of the fake server."""

    def relay(conn: socket.socket) -> None:
        inner = socket.create_connection(("127.0.0.1", port))

        def copy(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=copy, args=(inner, conn), daemon=True)
        back.start()
        copy(conn, inner)
        back.join(timeout=10)
        conn.close()
        inner.close()

    return relay


@pytest.mark.parametrize(
    "args", [["ask", "hi"], ["models"], ["transcribe", "talk.wav"]], ids=["chat", "get", "sdk"]
)
def test_an_endpoint_with_a_certificate_trusted_through_ssl_cert_file_answers(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    """The other half of the test above: the CA store chatcli reads (lazily, at the first
    handshake) is the one ``SSL_CERT_FILE`` names, on the chat route, a GET and the SDK's."""
    monkeypatch.chdir(tmp_path)
    _wav(tmp_path)
    context, ca = _trusted_cert(tmp_path)
    port = int(fake.base_url.split(":")[2].split("/")[0])
    with _server(_pipe_to(port), wrap=context) as (origin, _):
        env = _config(tmp_path, f"{origin}/v1")
        result = run_cli(*args, env={**env, "SSL_CERT_FILE": str(ca)})
        refused = run_cli(*args, env=env)  # the system's store alone does not trust it
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert refused.returncode == 6 and "TLS certificate was refused" in refused.stderr


# -- 18: cosmetic ----------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "args"), [(c, a) for c, (_, a) in sorted(ROUTES.items())])
def test_sdk_routes_name_the_endpoint_they_cannot_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _wav(tmp_path)
    with FakeOpenAI() as gone:
        base = gone.base_url
    result = run_cli(*args, env=_config(tmp_path, base))
    assert result.returncode == 6, result.stderr
    origin = base.rsplit("/", 1)[0]
    assert f"{origin}: connection refused" in result.stderr


@pytest.mark.process
@pytest.mark.parametrize("args", [["--help"], ["ask", "--help"], ["sessions", "--help"]])
def test_help_into_a_closed_pipe_exits_0_quietly(tmp_path: Path, args: list[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head -1` gone before anything is written
    try:
        proc = subprocess.run(
            chatcli_argv(*args), stdout=write_end, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, env=clean_env(tmp_path), timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""


@pytest.mark.parametrize("command", ["sessions export", "speak", "summarize"])
def test_every_output_file_keeps_a_symlink_and_writes_its_target(
    fake: FakeOpenAI, tmp_path: Path, command: str
) -> None:
    """One way to write an output file for every command that takes ``-o FILE``."""
    env = fake_env(tmp_path, fake)
    real, link = tmp_path / "real.out", tmp_path / "link.out"
    real.write_text("old\n")
    link.symlink_to(real.name)
    if command == "sessions export":
        assert run_cli("ask", "--session", "s", "hi", env=env).returncode == 0
        args = ["sessions", "export", "s", "-o", str(link)]
    elif command == "speak":
        args = ["speak", "hello", "-o", str(link)]
    else:
        (tmp_path / "doc.txt").write_text("A short text to summarise.\n")
        args = ["summarize", str(tmp_path / "doc.txt"), "-o", str(link)]
    if command == "summarize":  # -o names a folder there: a link to a folder is followed
        real.unlink()
        real.mkdir()
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    written = list(real.iterdir()) if real.is_dir() else [real]
    assert written and all(p.stat().st_size > 0 for p in written)
    assert all(p.read_bytes() != b"old\n" for p in written)


def test_a_plain_http_endpoint_never_reads_the_ca_store(fake: FakeOpenAI, tmp_path: Path) -> None:
    """Reading the CA store is most of what a client costs to build; http:// never needs it."""
    from chatcli.providers import clients
    from chatcli.providers.trust import LazyTrust

    clients._context.cache_clear()
    result = run_cli("ask", "hi", env=_config(tmp_path, fake.base_url))
    assert result.returncode == 0, result.stderr
    context = clients._context(None, None)
    assert isinstance(context, LazyTrust) and not context._loaded
