"""chatcli through a real LiteLLM proxy (offline, no database) in front of the fake server.

LiteLLM reshapes answers in ways our own fake does not: error messages with ``LiteLLM:`` tails,
``insufficient_quota`` rewritten as ``code "429"``, Retry-After forwarded as
``llm_provider-retry-after``, transcripts wrapped as JSON, a wrong key answered with 400.

The proxy lives in its own virtual environment (it pins many packages): ``.venv-litellm`` at
the repository root (``.ci/run`` creates it), or the ``litellm`` named by ``CHATCLI_LITELLM``.
Without it these tests skip, except in CI (``CI`` set), where they must run. The proxy is
started once for the module.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, run_cli
from tests.fakes import DEFAULT_API_KEY, CutStream, Error, FakeOpenAI, Reply

ROOT = Path(__file__).resolve().parent.parent
MASTER_KEY = "sk-litellm-master-1234"
STARTUP_SECONDS = 180

pytestmark = pytest.mark.external


def _litellm() -> str | None:
    named = os.environ.get("CHATCLI_LITELLM")
    if named:
        return named
    local = ROOT / ".venv-litellm" / "bin" / "litellm"
    if local.exists():
        return str(local)
    return shutil.which("litellm")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(origin: str) -> str:
    def entry(name: str, model: str, mode: str | None = None) -> str:
        text = (
            f"  - model_name: {name}\n"
            f"    litellm_params: {{model: {model}, api_base: {origin}/v1, "
            f"api_key: {DEFAULT_API_KEY}}}\n"
        )
        return text + (f"    model_info: {{mode: {mode}}}\n" if mode else "")

    return (
        "model_list:\n"
        + entry("gpt-4o-mini", "openai/gpt-4o-mini")
        + entry("gpt-4o", "openai/gpt-4o")
        + entry("whisper-1", "openai/whisper-1", "audio_transcription")
        + entry("dall-e-3", "openai/dall-e-3", "image_generation")
        + "litellm_settings: {telemetry: False, num_retries: 0, request_timeout: 600}\n"
        + f"general_settings: {{master_key: {MASTER_KEY}}}\n"
    )


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The origin of a running LiteLLM proxy in front of ``upstream``."""
    binary = _litellm()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("litellm is not installed; .ci/run must create .venv-litellm")
        pytest.skip("litellm is not installed (python3 -m venv .venv-litellm && "
                    ".venv-litellm/bin/pip install 'litellm[proxy]')")  # fmt: skip
    work = tmp_path_factory.mktemp("litellm")
    (work / "litellm.yaml").write_text(_config(upstream.root), encoding="utf-8")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("OPENAI_", "AZURE_"))}
    env.pop("PYTHONPYCACHEPREFIX", None)  # its venv has its bytecode (see tests/bytecode.py)
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_TELEMETRY="False",
        NO_PROXY="127.0.0.1,localhost",
    )
    log = (work / "litellm.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            "--config",
            str(work / "litellm.yaml"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{origin}/health/liveliness", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (work / "litellm.log").read_text(errors="replace")[-3000:]
                    pytest.fail(f"the LiteLLM proxy did not start:\n{tail}")
                time.sleep(0.25)
        yield origin
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def gw(upstream: FakeOpenAI, proxy: str, tmp_path: Path) -> FakeOpenAI:
    """The upstream fake, reset for this test, with a config pointing chatcli at the proxy."""
    upstream.reset()
    write_config(tmp_path, proxy)
    return upstream


def write_config(tmp_path: Path, proxy: str, key: str = MASTER_KEY, extra: str = "") -> None:
    (tmp_path / "config.toml").write_text(
        'default_profile = "gw"\n[defaults]\nmax_retries = 2\nmodel = "gpt-4o-mini"\n'
        f'[profiles.gw]\ntype = "relay"\nbase_url = "{proxy}/v1"\napi_key = "{key}"\n{extra}',
        encoding="utf-8",
    )


def sent_posts(stderr: str) -> int:
    """How many POSTs chatcli sent, from its ``--debug`` lines."""
    return sum(1 for line in stderr.splitlines() if line.startswith("> POST "))


def test_ask_stream_no_stream_json_and_continue(gw: FakeOpenAI, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    gw.script(Reply("streamed through the gateway"))
    result = run_cli("ask", "--debug", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "streamed through the gateway\n"
    assert sent_posts(result.stderr) == 1 and "stream_options" in result.stderr
    gw.script(Reply("whole answer", prompt_tokens=11, completion_tokens=2))
    result = run_cli("ask", "--no-stream", "--json", "--session", "g", "q", env=env)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["answer"] == "whole answer" and obj["usage"]["estimated"] is False
    assert obj["usage"]["prompt_tokens"] == 11 and obj["session"] == "g"
    result = run_cli("ask", "-c", "--json", "and then?", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["usage"]["estimated"] is False
    assert len(gw.chat_requests()[-1].json["messages"]) == 3


def test_models_transcribe_and_image(gw: FakeOpenAI, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    result = run_cli("models", env=env)
    assert result.returncode == 0, result.stderr
    for name in ("gpt-4o-mini", "whisper-1", "dall-e-3"):
        assert name in result.stdout
    audio = tmp_path / "talk.wav"
    with wave.open(str(audio), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * 8000)
    result = run_cli("transcribe", str(audio), "-m", "whisper-1", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("transcript of") and not result.stdout.startswith("{")
    result = run_cli(
        "image", "a red square", "-m", "dall-e-3", "-o", str(tmp_path / "img"), env=env
    )
    assert result.returncode == 0, result.stderr
    saved = [Path(p) for p in result.stdout.split()]
    assert saved and all(p.read_bytes().startswith(b"\x89PNG") for p in saved)


def test_wrong_key_is_exit_4_without_the_key(gw: FakeOpenAI, proxy: str, tmp_path: Path) -> None:
    wrong = "sk-wrong-gateway-key-9876543210"
    write_config(tmp_path, proxy, key=wrong)
    result = run_cli("ask", "hi", env=clean_env(tmp_path))
    assert result.returncode == 4, result.stderr
    assert wrong not in result.stderr and "hint:" in result.stderr
    assert gw.chat_requests() == []


def test_unknown_model_is_one_request_and_exit_5(gw: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("ask", "--debug", "-m", "no-such-model", "hi", env=clean_env(tmp_path))
    assert result.returncode == 5, result.stderr
    assert sent_posts(result.stderr) == 1
    error = [ln for ln in result.stderr.splitlines() if ln.startswith("chatcli: error:")]
    assert len(error) == 1 and "LiteLLM:" not in error[0]


def test_rate_limit_is_retried_and_quota_fails_at_once(gw: FakeOpenAI, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    gw.script(Error.rate_limit(retry_after=1))
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert "rate limited (429)" in result.stderr and len(gw.chat_requests()) == 2
    gw.reset()
    gw.script(Error.quota(), Reply("must not be asked for"))
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 5, result.stderr
    assert "quota" in result.stderr and "billing" in result.stderr
    assert len(gw.chat_requests()) == 1


def test_cut_stream_keeps_the_partial_answer(gw: FakeOpenAI, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    gw.script(CutStream("the first half"))
    result = run_cli("ask", "--session", "cut", "--json", "hi", env=env)
    # LiteLLM 1.108 turns the upstream cut into an in-band error event after the text.
    assert result.returncode in (5, 6), result.stderr
    assert json.loads(result.stdout) | {"incomplete": True} == json.loads(result.stdout)
    assert json.loads(result.stdout)["answer"] == "the first half"
    export = run_cli("sessions", "export", "cut", "--format", "json", env=env)
    messages = json.loads(export.stdout)["messages"]
    assert [(m["content"], m["interrupted"]) for m in messages] == [
        ("hi", False),
        ("the first half", True),
    ]


def test_schema_through_the_gateway(gw: FakeOpenAI, tmp_path: Path) -> None:
    """LiteLLM passes the strict ``response_format`` on; the answer is checked here."""
    env = clean_env(tmp_path)
    result = run_cli("ask", "--schema", "city, population int, note?", "Paris?", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"city": "example", "population": 0}
    sent = gw.chat_requests()[-1].json["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"]["required"] == ["city", "population", "note"]
    gw.script(Reply(refusal="I can't help with that."))
    refused = run_cli("ask", "--no-stream", "--schema", "city", "x", env=env)
    assert refused.returncode == 5
    assert "chatcli: error: the model refused: I can't help with that." in refused.stderr


def test_responses_api_through_the_gateway(gw: FakeOpenAI, proxy: str, tmp_path: Path) -> None:
    """The Responses API through a real LiteLLM proxy: streamed and whole, with usage and -c."""
    gw.responses = True
    write_config(tmp_path, proxy, extra='api = "responses"\n')
    env = clean_env(tmp_path)
    gw.script(Reply("streamed over responses", prompt_tokens=9, completion_tokens=3))
    result = run_cli("ask", "--json", "--session", "r", "hi", env=env)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["answer"] == "streamed over responses" and obj["finish_reason"] == "stop"
    assert obj["usage"]["estimated"] is False and obj["usage"]["prompt_tokens"] == 9
    gw.script(Reply("whole over responses"))
    result = run_cli("ask", "-c", "--no-stream", "and then?", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "whole over responses\n"
    sent = gw.responses_requests()
    assert len(sent) == 2 and gw.chat_requests() == []
    assert len(sent[-1].json["input"]) == 3  # the history resent as input items
