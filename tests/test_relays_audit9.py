"""Audit 9 (relays): chatcli behind gateways without a Files API, behind refusing HTTP and
SOCKS5 proxies, and a gateway's stated context windows and error shapes.

Everything runs through the real CLI against the fake server, proxies written here (real
sockets, the bytes a squid or a Dante sends), and, for the ``external`` tests, the real LiteLLM
proxy of tests/test_litellm.py.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import Error, FakeOpenAI
from tests.fakes.hostile import Raw
from tests.test_litellm import gw, proxy, upstream  # noqa: F401  (its fixtures, used here)


def write_inputs(path: Path, n: int = 3) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"question {i}"}) + "\n"
                            for i in range(n)))  # fmt: skip
    return path


def job_state(env: dict[str, str], name: str) -> str:
    listed = json.loads(run_cli("batch", "list", "--json", env=env).stdout)
    return str(next(j["state"] + "/" + j["mode"] for j in listed if j["name"] == name))


# -- 1. batch through a gateway without a Files API ------------------------------------------------


def test_gateway_files_not_set_runs_the_job_locally(fake: FakeOpenAI, tmp_path: Path) -> None:
    """LiteLLM without files_settings answers 500 on /files: the job runs here, not stuck."""
    fake.batch_api.files_error = (
        500,
        "files_settings is not set, set it on your config.yaml file.",
    )
    env = fake_env(tmp_path, fake)
    result = run_cli("batch", "submit", str(write_inputs(tmp_path / "in.jsonl")), "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert "has no Batch API" in result.stderr and "running the job locally" in result.stderr
    name = result.stdout.strip()
    assert job_state(env, name) == "done/local"
    got = run_cli("batch", "results", name, env=env)
    assert got.returncode == 0, got.stderr
    assert [json.loads(x)["answer"] for x in got.stdout.splitlines()] == [
        f"echo(1): question {i}" for i in range(3)
    ]


@pytest.mark.parametrize("status", [405, 501])
def test_no_such_files_route_runs_the_job_locally(
    fake: FakeOpenAI, tmp_path: Path, status: int
) -> None:
    fake.batch_api.files_error = (status, "Method Not Allowed")
    env = fake_env(tmp_path, fake)
    result = run_cli("batch", "submit", str(write_inputs(tmp_path / "in.jsonl")), "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert job_state(env, result.stdout.strip()) == "done/local"


def test_files_api_failing_fails_a_new_job_with_a_local_hint(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """A 5xx on the upload of a new job: the job is failed (not stuck in submitting), the hint
    names --local, and the same submit with --local then runs a job of its own here."""
    fake.batch_api.files_error = (502, "upstream files service unavailable")
    env = fake_env(tmp_path, fake)
    inputs = str(write_inputs(tmp_path / "in.jsonl"))
    result = run_cli("batch", "submit", inputs, "--yes", env=env)
    assert result.returncode == 5
    assert "hint:" in result.stderr and "--local" in result.stderr
    name = result.stdout.strip()
    assert job_state(env, name) == "failed/remote"
    local = run_cli("batch", "submit", inputs, "--yes", "--local", env=env)
    assert local.returncode == 0, local.stderr
    assert "resuming" not in local.stderr and local.stdout.strip() != name
    assert job_state(env, local.stdout.strip()) == "done/local"


def test_local_submit_never_resumes_a_stuck_remote_job(fake: FakeOpenAI, tmp_path: Path) -> None:
    """A remote job left in submitting (the Files API rate-limited it): ``--local`` makes
    and runs a local job, it does not upload that job again."""
    fake.batch_api.files_error = (429, "slow down")
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n")
    inputs = str(write_inputs(tmp_path / "in.jsonl"))
    stuck = run_cli("batch", "submit", inputs, "--yes", env=env)
    assert stuck.returncode != 0
    remote_job = stuck.stdout.strip()
    assert job_state(env, remote_job) == "submitting/remote"
    uploads = len([r for r in fake.requests if r.path.endswith("/files")])
    local = run_cli("batch", "submit", inputs, "--yes", "--local", env=env)
    assert local.returncode == 0, local.stderr
    assert "resuming" not in local.stderr and remote_job in local.stderr
    assert len([r for r in fake.requests if r.path.endswith("/files")]) == uploads
    assert job_state(env, local.stdout.strip()) == "done/local"
    assert job_state(env, remote_job) == "submitting/remote"


# -- 2, 3. proxies that refuse ------------------------------------------------------------------


@contextmanager
def serving(handle: object) -> Iterator[tuple[int, list[int]]]:
    """A TCP server on 127.0.0.1 whose connections ``handle(conn)`` answers; yields its port
    and the list of connections it took (one per attempt chatcli made)."""
    seen: list[int] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            seen.append(1)
            handle(self.request)  # type: ignore[operator]

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def socks5_wanting(user: bytes, password: bytes) -> object:
    """A SOCKS5 proxy (RFC 1928/1929) that wants ``user``/``password`` and refuses others."""

    def handle(conn: socket.socket) -> None:
        _version, count = conn.recv(2)
        methods = conn.recv(count)
        if b"\x02" not in methods:
            conn.sendall(b"\x05\xff")  # no acceptable methods
            return
        conn.sendall(b"\x05\x02")
        head = conn.recv(2)
        got_user = conn.recv(head[1])
        got_pass = conn.recv(conn.recv(1)[0])
        ok = (got_user, got_pass) == (user, password)
        conn.sendall(b"\x01\x00" if ok else b"\x01\x01")
        if ok:  # a reached CONNECT, refused: the tests never get this far
            conn.recv(1024)
            conn.sendall(b"\x05\x05\x00\x01" + b"\x00" * 4 + struct.pack("!H", 0))

    return handle


def http_proxy_answering(status: int, reason: str, *, squid: bool) -> object:
    """A forward proxy that answers every request (a CONNECT, or a plain-http request) itself
    with ``status``: squid's error page and headers when ``squid``."""
    page = (
        f"<html><head><title>ERROR: {reason}</title></head><body>"
        "<p>Access control configuration prevents your request (squid)</p></body></html>"
    )

    def handle(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0]
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        rest = len(data) - len(head) - 4
        while rest < length:
            rest += len(conn.recv(65536))
        connect = data.startswith(b"CONNECT ")
        body = b"" if connect else page.encode()
        extra = "Server: squid/6.6\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\n" if squid else ""
        extra += "Via: 1.1 proxy.corp (squid/6.6)\r\n" if squid else ""
        conn.sendall(
            f"HTTP/1.1 {status} {reason}\r\n{extra}Content-Type: text/html\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    return handle


def relay_config(tmp_path: Path, base_url: str, via: str) -> dict[str, str]:
    (tmp_path / "config.toml").touch(mode=0o600)
    (tmp_path / "config.toml").write_text(
        'default_profile = "r"\n[defaults]\nmax_retries = 2\n[profiles.r]\ntype = "relay"\n'
        f'base_url = "{base_url}"\napi_key = "sk-relay-test-7777777777"\nproxy = "{via}"\n'
    )
    return clean_env(tmp_path)


@pytest.mark.parametrize(
    ("userinfo", "said", "hint"),
    [
        ("carol:wrongpass@", "refused the user name and password",
         "check the user name and password in the profile's proxy"),
        ("", "asks for a user name and password", "put USER:PASS@ in front of the host"),
    ],
)  # fmt: skip
def test_socks5_proxy_refusing_credentials_is_exit_4_not_retried(
    tmp_path: Path, userinfo: str, said: str, hint: str
) -> None:
    with serving(socks5_wanting(b"carol", b"pw0rdXYZ")) as (port, seen):
        env = relay_config(
            tmp_path, "http://127.0.0.1:9/v1", f"socks5://{userinfo}127.0.0.1:{port}"
        )
        result = run_cli("ask", "hi", env=env)
    assert result.returncode == 4, result.stderr
    assert (
        f"the proxy socks5://{'carol:****@' if userinfo else ''}127.0.0.1:{port}" in result.stderr
    )
    assert said in result.stderr and "(the profile's proxy)" in result.stderr
    assert hint in result.stderr
    assert len(seen) == 1  # a wrong password is sent once, not max_retries + 1 times
    assert "wrongpass" not in result.stderr + result.stdout and "retry" not in result.stderr


def test_plain_http_request_refused_by_squid_is_the_proxy_not_the_key(tmp_path: Path) -> None:
    with serving(http_proxy_answering(403, "Forbidden", squid=True)) as (port, seen):
        env = relay_config(tmp_path, "http://127.0.0.1:9/v1", f"http://127.0.0.1:{port}")
        result = run_cli("ask", "hi", env=env)
    assert result.returncode == 4, result.stderr
    first = next(x for x in result.stderr.splitlines() if x.startswith("chatcli: error:"))
    assert f"the proxy http://127.0.0.1:{port} (the profile's proxy) refused to connect" in first
    assert "http://127.0.0.1:9" in first
    assert "lacks permission" not in result.stderr and "API key" in result.stderr
    assert len(seen) == 1


@pytest.mark.parametrize("squid", [True, False])
def test_plain_http_endpoint_the_proxy_cannot_reach_is_exit_6(tmp_path: Path, squid: bool) -> None:
    with serving(http_proxy_answering(502, "Bad Gateway", squid=squid)) as (port, _seen):
        env = relay_config(tmp_path, "http://127.0.0.1:9/v1", f"http://127.0.0.1:{port}")
        result = run_cli("ask", "hi", env=env)
    assert result.returncode == 6, result.stderr
    error = next(x for x in result.stderr.splitlines() if x.startswith("chatcli: error:"))
    assert (
        f"the proxy http://127.0.0.1:{port}" in error and "cannot reach http://127.0.0.1:9" in error
    )
    assert "the proxy works" in result.stderr


@pytest.mark.parametrize(
    ("status", "reason", "code", "said", "attempts"),
    [
        (403, "Forbidden", 4, "refused to connect to https://api.example-relay.com", 1),
        (502, "Bad Gateway", 6, "cannot reach https://api.example-relay.com", 3),
        (407, "Proxy Authentication Required", 4, "asks for credentials (407)", 1),
    ],
)
def test_https_connect_refused_names_the_endpoint_and_the_proxy(
    tmp_path: Path, status: int, reason: str, code: int, said: str, attempts: int
) -> None:
    with serving(http_proxy_answering(status, reason, squid=False)) as (port, seen):
        env = relay_config(tmp_path, "https://api.example-relay.com/v1", f"http://127.0.0.1:{port}")
        result = run_cli("ask", "hi", env=env)
    assert result.returncode == code, result.stderr
    error = next(x for x in result.stderr.splitlines() if x.startswith("chatcli: error:"))
    assert f"the proxy http://127.0.0.1:{port} (the profile's proxy)" in error and said in error
    assert "hint: check the proxy" not in result.stderr
    assert len(seen) == attempts


def test_speak_through_a_socks5_proxy_refusing_credentials_is_exit_4(tmp_path: Path) -> None:
    """The SDK routes (audio, images) say it as the chat transport does."""
    with serving(socks5_wanting(b"carol", b"pw0rdXYZ")) as (port, seen):
        env = relay_config(
            tmp_path, "http://127.0.0.1:9/v1", f"socks5://carol:bad@127.0.0.1:{port}"
        )
        result = run_cli("speak", "hello", "-o", str(tmp_path / "a.mp3"), env=env)
    assert result.returncode == 4, result.stderr
    assert "refused the user name and password" in result.stderr and len(seen) == 1


@pytest.mark.parametrize(
    ("status", "reason", "said"),
    [(502, "Bad Gateway", "cannot reach"), (403, "Forbidden", "refused to connect to")],
)
def test_doctor_names_the_endpoint_the_proxy_refused(
    tmp_path: Path, status: int, reason: str, said: str
) -> None:
    with serving(http_proxy_answering(status, reason, squid=False)) as (port, _seen):
        env = relay_config(tmp_path, "https://api.example-relay.com/v1", f"http://127.0.0.1:{port}")
        result = run_cli("doctor", env=env)
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert f"{said} https://api.example-relay.com" in text, text
    assert "check the proxy\n" not in text and "fix: check the proxy" not in text
    assert "[FAIL] auth" not in text


# -- 4. the context window a gateway states, in `models` ------------------------------------------


def test_models_shows_the_window_a_gateways_model_info_states(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.models = ["team-model", "gpt-4o-m"]
    fake.model_info = [
        {"model_name": "team-model", "model_info": {"max_input_tokens": 64000}},
        {"model_name": "gpt-4o-m", "model_info": {"max_input_tokens": 128000}},
    ]
    env = fake_env(tmp_path, fake, OPENAI_BASE_URL=fake.base_url)
    (tmp_path / "config.toml").write_text(
        f'default_profile = "gw"\n[profiles.gw]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key_env = "OPENAI_API_KEY"\n'
    )
    result = run_cli("models", "--json", env=env)
    assert result.returncode == 0, result.stderr
    windows = {m["id"]: m["context_window"] for m in json.loads(result.stdout)}
    assert windows == {"team-model": 64000, "gpt-4o-m": 128000}
    table = run_cli("models", env=env).stdout
    assert any(line.split()[:2] == ["team-model", "64,000"] for line in table.splitlines())
    assert sum(1 for r in fake.requests if r.path.endswith("/model/info")) == 2  # once a run


def test_models_reads_litellms_top_level_max_input_tokens(fake: FakeOpenAI, tmp_path: Path) -> None:
    """LiteLLM 1.108 puts ``max_input_tokens`` at the top of each /v1/models entry."""
    fake.models = ["team-model"]
    fake.model_meta = {"team-model": {"max_input_tokens": 32000}}
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(
        f'default_profile = "gw"\n[profiles.gw]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key_env = "OPENAI_API_KEY"\n'
    )
    result = run_cli("models", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["context_window"] == 32000


# -- 5. smaller things ----------------------------------------------------------------------------


def gateway_env(
    tmp_path: Path, base_url: str, key: str = "sk-litellm-master-1234"
) -> dict[str, str]:
    (tmp_path / "config.toml").touch(mode=0o600)
    (tmp_path / "config.toml").write_text(
        'default_profile = "gw"\n[defaults]\nmax_retries = 0\nmodel = "gpt-4o-mini"\n'
        f'[profiles.gw]\ntype = "relay"\nbase_url = "{base_url}"\napi_key = "{key}"\n'
    )
    return clean_env(tmp_path)


def test_words_of_a_user_chosen_key_are_not_masked(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.api_key = "sk-litellm-master-1234"
    said = (
        "litellm.InternalServerError: OpenAIException - boom. "
        "See https://docs.litellm.ai/docs/routing#fallbacks; key sk-litellm-master-1234"
    )
    fake.script(Error(500, said))
    result = run_cli("ask", "hi", env=gateway_env(tmp_path, fake.base_url))
    assert result.returncode == 5
    assert "litellm.InternalServerError" in result.stderr
    assert "https://docs.litellm.ai/docs/routing#fallbacks" in result.stderr
    assert "sk-litellm-master-1234" not in result.stderr and "master-1234" not in result.stderr


def test_fastapi_detail_error_is_the_message_and_unknown_model_hints_models(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    said = ("/chat/completions: Invalid model name passed in model=nosuchmodel. "
            "Call `/v1/models` to view available models for your key.")  # fmt: skip
    fake.api_key = "sk-litellm-master-1234"
    fake.script(Raw(status=400, body=json.dumps({"detail": {"error": said}}),
                    content_type="application/json"))  # fmt: skip
    result = run_cli("ask", "-m", "nosuchmodel", "hi", env=gateway_env(tmp_path, fake.base_url))
    assert result.returncode == 5
    assert f"answered 400: {said}" in result.stderr and '"detail"' not in result.stderr
    assert "hint:" in result.stderr and "chatcli models" in result.stderr


def test_balance_on_an_endpoint_without_billing_routes_names_gateways(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.api_key = "sk-litellm-master-1234"
    result = run_cli("balance", env=gateway_env(tmp_path, fake.base_url))
    assert result.returncode != 0
    assert "/key/info" in result.stderr and "gateway" in result.stderr


# -- through the real LiteLLM proxy (tests/test_litellm.py's fixtures) -----------------------------


@pytest.mark.external
@pytest.mark.usefixtures("gw")
def test_litellm_batch_without_files_settings_runs_locally(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    inputs = str(write_inputs(tmp_path / "in.jsonl", 2))
    result = run_cli("batch", "submit", inputs, "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert "has no Batch API" in result.stderr and "files_settings" in result.stderr
    assert job_state(env, result.stdout.strip()) == "done/local"


@pytest.mark.external
@pytest.mark.usefixtures("gw")
def test_litellm_models_shows_its_windows_and_translate_hint(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    result = run_cli("models", "--json", env=env)
    assert result.returncode == 0, result.stderr
    windows = {m["id"]: m["context_window"] for m in json.loads(result.stdout)}
    assert windows["gpt-4o-mini"]  # what LiteLLM states (chatcli's catalog knows it too)
    audio = tmp_path / "a.wav"
    import wave

    with wave.open(str(audio), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * 8000)
    got = run_cli("transcribe", str(audio), "-m", "whisper-1", "--translate", env=env)
    assert got.returncode != 0
    assert "no translations route" in got.stderr and "--translate" in got.stderr
