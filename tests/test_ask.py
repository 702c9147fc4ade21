"""``chatcli ask`` end to end: the real CLI in a subprocess against the fake server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatcli.environment import ManualClock
from tests.cli_helpers import chatcli_argv, clean_env, fake_env, run_cli, run_process
from tests.fakes import (
    DEFAULT_API_KEY,
    CutStream,
    Error,
    FakeOpenAI,
    Malformed,
    RejectStreamOptions,
    Reply,
    SilentStream,
    StreamError,
    make_png,
    make_wav,
)


def test_streams_answer_to_stdout_only(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="Hello there, friend."))
    result = run_cli("ask", "hello", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello there, friend.\n"
    assert result.stderr == ""
    body = fake.chat_requests()[0].json
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["model"] == "gpt-6-luna"  # the built-in default
    assert body["messages"] == [{"role": "user", "content": "hello"}]


def test_prompt_words_then_piped_stdin_then_files(fake: FakeOpenAI, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# 笔记\nline two\n", encoding="utf-8")
    result = run_cli(
        "ask",
        "summarise",
        "this",
        "-f",
        str(notes),
        env=fake_env(tmp_path, fake),
        input=b"piped text\n",
    )
    assert result.returncode == 0, result.stderr
    content = fake.chat_requests()[0].json["messages"][-1]["content"]
    assert content.startswith("summarise this\n\npiped text\n\nFile notes.md:\n```\n# 笔记")
    assert result.stdout.startswith("echo(1): summarise this")


def test_gb18030_and_utf16_input_decoded(fake: FakeOpenAI, tmp_path: Path) -> None:
    run_cli("ask", "a", env=fake_env(tmp_path, fake), input="你好，世界".encode("gb18030"))
    run_cli("ask", "b", env=fake_env(tmp_path, fake), input="你好，世界".encode("utf-16"))
    texts = [r.json["messages"][-1]["content"] for r in fake.chat_requests()]
    assert texts == ["a\n\n你好，世界", "b\n\n你好，世界"]


def test_image_file_is_vision_input(fake: FakeOpenAI, tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    png.write_bytes(make_png(2, 2))
    result = run_cli("ask", "what is this", "-f", str(png), env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    content = fake.chat_requests()[0].json["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "what is this"}
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")


def test_binary_and_empty_input_refused(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00" + b"\x00" * 64
    result = run_cli("ask", "x", env=env, input=wav)
    assert result.returncode == 2
    assert "chatcli: error: piped input is audio or video (RIFF/WAV), not text" in result.stderr
    assert "chatcli transcribe" in result.stderr
    empty = run_cli("ask", env=env, input=b"")
    assert empty.returncode == 2
    assert "nothing to ask" in empty.stderr
    missing = run_cli("ask", "x", "-f", str(tmp_path / "nope.txt"), env=env)
    assert missing.returncode == 2 and "no such file: " in missing.stderr
    assert fake.chat_requests() == []
    assert "Traceback" not in result.stderr + empty.stderr + missing.stderr


def test_options_reach_the_request(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[profiles.openai]\ntype = "openai"\n'
        '[roles.pirate]\nsystem = "Talk like a pirate."\n[aliases]\nfast = "gpt-4.1-mini"\n'
    )
    result = run_cli(
        "ask",
        "-r",
        "pirate",
        "-t",
        "0.3",
        "--max-tokens",
        "50",
        "-m",
        "fast",
        "hi",
        env=fake_env(tmp_path, fake),
    )
    assert result.returncode == 0, result.stderr
    body = fake.chat_requests()[0].json
    assert body["messages"][0] == {"role": "system", "content": "Talk like a pirate."}
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 50
    assert body["model"] == "gpt-4.1-mini"


def test_reasoning_model_quirks(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli(
        "ask",
        "-m",
        "o3-mini",
        "-t",
        "0.5",
        "--max-tokens",
        "20",
        "hi",
        env=fake_env(tmp_path, fake),
    )
    assert result.returncode == 0, result.stderr
    body = fake.chat_requests()[0].json
    assert "temperature" not in body and "max_tokens" not in body
    assert body["max_completion_tokens"] == 20
    assert "does not take a temperature" in result.stderr


def test_no_stream_and_json(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="forty-two", prompt_tokens=1000, completion_tokens=2000))
    result = run_cli("ask", "--no-stream", "--json", "q", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["answer"] == "forty-two"
    assert obj["model"] == "gpt-6-luna" and obj["profile"] == "openai"
    assert obj["usage"]["prompt_tokens"] == 1000 and obj["usage"]["completion_tokens"] == 2000
    assert abs(obj["cost_usd"] - (1000 * 0.10 + 2000 * 0.50) / 1e6) < 1e-12
    assert obj["finish_reason"] == "stop"
    assert "stream" not in fake.chat_requests()[0].json


def test_unknown_price_is_null_not_zero(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("ask", "--json", "-m", "qwen-max", "q", env=fake_env(tmp_path, fake))
    assert json.loads(result.stdout)["cost_usd"] is None


def test_length_finish_reported_on_stderr(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="one two three four five six"))
    result = run_cli("ask", "--max-tokens", "3", "q", env=fake_env(tmp_path, fake))
    assert result.returncode == 0
    assert result.stdout.strip() == "one two three"
    assert "finish_reason=length" in result.stderr


def test_azure_profile_route_header_and_deployment(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key="azure-secret-key-9876") as fake:
        (tmp_path / "config.toml").write_text(
            f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\n'
            'api_version = "2024-10-21"\napi_key_env = "MY_AZ_KEY"\nmodel = "gpt-4o"\n'
            '[profiles.az.deployments]\n"gpt-4o" = "gpt4o-prod"\n'
        )
        env = clean_env(tmp_path, MY_AZ_KEY="azure-secret-key-9876")
        result = run_cli("ask", "hello azure", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "echo(1): hello azure\n"
        rec = fake.chat_requests()[0]
        assert rec.path == "/openai/deployments/gpt4o-prod/chat/completions"
        assert rec.query["api-version"] == "2024-10-21"
        assert rec.headers["api-key"] == "azure-secret-key-9876"
        assert "authorization" not in rec.headers


def test_zero_config_azure_from_environment(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key="az-env-key-1111") as fake:
        env = clean_env(
            tmp_path,
            AZURE_OPENAI_API_KEY="az-env-key-1111",
            AZURE_OPENAI_ENDPOINT=fake.root,
            OPENAI_API_VERSION="2024-10-21",
        )
        result = run_cli("ask", "-m", "gpt-4o", "hi", env=env)
        assert result.returncode == 0, result.stderr
        assert fake.chat_requests()[0].path == "/openai/deployments/gpt-4o/chat/completions"


@pytest.mark.parametrize("command", [("ask", "hi"), ("transcribe", "WAV")])
def test_a_missing_azure_deployment_is_named_not_blamed_on_base_url(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    with FakeOpenAI(api_key=None, azure_key="az-env-key-1111") as fake:
        route = "audio" if command[0] == "transcribe" else "chat"
        gone = Error(
            404, "The API deployment for this resource does not exist.", "DeploymentNotFound"
        )
        fake.script(gone, route=route)
        env = clean_env(
            tmp_path,
            AZURE_OPENAI_API_KEY="az-env-key-1111",
            AZURE_OPENAI_ENDPOINT=fake.root,
            OPENAI_API_VERSION="2024-10-21",
        )
        wav = tmp_path / "a.wav"
        wav.write_bytes(make_wav(0.5))
        args = [str(wav) if a == "WAV" else a for a in command]
        result = run_cli(*args, "-m", "gpt-4o-typo", env=env)
        assert result.returncode == 5, result.stderr
        assert "no deployment named 'gpt-4o-typo'" in result.stderr
        assert "base_url" not in result.stderr


def test_relay_base_url_forms(fake: FakeOpenAI, tmp_path: Path) -> None:
    for form in (
        fake.root,
        fake.root + "/v1/",
        fake.root + "/v1/v1",
        fake.base_url + "/chat/completions",
    ):
        (tmp_path / "config.toml").write_text(
            f'default_profile = "r"\n[profiles.r]\ntype = "relay"\nbase_url = "{form}"\n'
            f'api_key = "{DEFAULT_API_KEY}"\n'
        )
        result = run_cli("ask", "hi", env=clean_env(tmp_path))
        assert result.returncode == 0, (form, result.stderr)
    assert [r.path for r in fake.chat_requests()] == ["/v1/chat/completions"] * 4


def test_relay_rejecting_stream_options_is_retried_without(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(RejectStreamOptions())
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo(1): hi\n"
    assert "refused stream_options" in result.stderr
    first, second = fake.chat_requests()
    assert "stream_options" in first.json and "stream_options" not in second.json


def test_stream_usage_false_sends_no_stream_options(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        f'default_profile = "r"\n[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\nstream_usage = false\n'
    )
    assert run_cli("ask", "hi", env=clean_env(tmp_path)).returncode == 0
    assert "stream_options" not in fake.chat_requests()[0].json


def test_auth_errors_exit_4_without_key(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake, OPENAI_API_KEY="sk-wrong-key-abcdefgh12345678")
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 4
    assert result.stderr.startswith("chatcli: error: ")
    assert "401" in result.stderr and "sk-wrong-key-abcdefgh12345678" not in result.stderr
    fake.script(Error(403, "no access to model", "permission_error"))
    assert run_cli("ask", "hi", env=fake_env(tmp_path, fake)).returncode == 4


def test_429_retry_after_honoured_and_shown(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error.rate_limit(retry_after=1))
    clock = ManualClock()
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake), clock=clock)
    assert result.returncode == 0, result.stderr
    assert sum(clock.slept) == 1.0  # the server's wait, on the command's clock
    assert "rate limited (429)" in result.stderr and "retrying in 1.0 s" in result.stderr
    assert result.stdout == "echo(1): hi\n"
    assert len(fake.chat_requests()) == 2


def test_429_exhausted_exits_5(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 1\n")
    fake.script(Error.rate_limit(0), Error.rate_limit(0))
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    assert len(fake.chat_requests()) == 2


def test_insufficient_quota_fails_at_once(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error.quota())
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    assert "insufficient_quota" in result.stderr and "hint:" in result.stderr
    assert len(fake.chat_requests()) == 1


def test_5xx_retried_then_succeeds(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error(502, html=True), Error(503))
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert len(fake.chat_requests()) == 3


def test_other_4xx_exits_5(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error(400, "model not found", "invalid_request_error"))
    result = run_cli("ask", "--no-stream", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5 and "model not found" in result.stderr


def test_cut_stream_keeps_partial_and_exits_6(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(CutStream("partial answer that stops"))
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 6
    assert result.stdout.startswith("partial answer that stops")
    assert "before the answer was complete" in result.stderr


def test_silent_stream_times_out_exit_6(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[defaults]\ntimeout = 1\n")
    fake.script(SilentStream("so far", silence=10))
    started = time.monotonic()
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 6
    assert time.monotonic() - started < 8
    assert "went silent for more than 1 s" in result.stderr
    assert result.stdout.startswith("so far")


def test_in_band_stream_error_exits_5(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(StreamError())
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5 and "overloaded" in result.stderr


def test_malformed_responses_exit_5(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Malformed("{not json"), Malformed(sse=True))
    whole = run_cli("ask", "--no-stream", "hi", env=fake_env(tmp_path, fake))
    assert whole.returncode == 5 and "malformed response" in whole.stderr
    streamed = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert streamed.returncode == 5 and "malformed stream chunk" in streamed.stderr


def test_connection_refused_exits_6(tmp_path: Path) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-x", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n")
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 6
    assert "cannot connect to http://127.0.0.1:9: connection refused" in result.stderr


def test_content_filter_exits_5(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="I can", finish_reason="content_filter"))
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5 and "content filter" in result.stderr


def test_debug_shows_http_but_never_the_key(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("ask", "--debug", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0
    assert "> POST " + fake.base_url + "/chat/completions" in result.stderr
    assert "< 200" in result.stderr
    assert DEFAULT_API_KEY not in result.stderr + result.stdout
    assert "****" + DEFAULT_API_KEY[-4:] in result.stderr


def test_head_closes_stdout_quietly(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        fake.script(Reply(text="line one\n" + "more lines\n" * 2000))
        env = fake_env(tmp_path, fake)
        proc = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {sys.executable} -m chatcli ask hi | head -1"],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
    assert proc.stdout == "line one\n"
    assert proc.stderr == ""
    assert proc.returncode == 0  # the reader stopping early is not chatcli's failure


@pytest.mark.process
@pytest.mark.parametrize("responses", [False, True], ids=["chat", "responses"])
def test_ctrl_c_exits_130_and_closes_stream(
    fake: FakeOpenAI, tmp_path: Path, responses: bool
) -> None:
    fake.responses = responses  # auto goes over the Responses API where the endpoint has it
    fake.script(Reply(words=2000, words_per_second=100))
    proc = subprocess.Popen(
        chatcli_argv("ask", "hi"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=fake_env(tmp_path, fake),
    )
    assert proc.stdout is not None
    proc.stdout.read(20)  # the stream is flowing
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert err.decode().strip() == "chatcli: interrupted"
    assert fake.wait_for_disconnects(1, timeout=5)
    assert len(fake.responses_requests() if responses else fake.chat_requests()) == 1


def test_relay_profile_goes_through_its_proxy(fake: FakeOpenAI, tmp_path: Path) -> None:
    from tests.fakes.proxy import FakeProxy

    with FakeProxy() as proxy:
        (tmp_path / "config.toml").write_text(
            f'default_profile = "r"\n[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
            f'api_key = "{DEFAULT_API_KEY}"\nproxy = "{proxy.url}"\n'
        )
        result = run_cli("ask", "via proxy", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo(1): via proxy\n"
    assert proxy.seen == [fake.base_url + "/chat/completions"]


def test_socks_proxy_without_socksio_gives_hint(fake: FakeOpenAI, tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "socksio.py").write_text("raise ImportError('socksio blocked for this test')\n")
    (tmp_path / "config.toml").write_text(
        f'default_profile = "r"\n[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\nproxy = "socks5://127.0.0.1:1080"\n'
    )
    result = run_process("ask", "hi", env=clean_env(tmp_path, PYTHONPATH=str(blocker)))
    assert result.returncode == 3
    assert "SOCKS support is not installed" in result.stderr
    assert "pip install 'chatcli[socks]'" in result.stderr


def test_unreachable_proxy_exits_6(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        f'[defaults]\nmax_retries = 0\n[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\nproxy = "http://127.0.0.1:9"\n'
    )
    result = run_cli("ask", "-p", "r", "hi", env=clean_env(tmp_path))
    assert result.returncode == 6
    assert "proxy http://127.0.0.1:9" in result.stderr


def test_input_larger_than_the_context_window_is_refused(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[models."tiny-model"]\ncontext_window = 1000\n')
    big = "word " * 5000
    result = run_cli(
        "ask", "-m", "tiny-model", "summarise", env=fake_env(tmp_path, fake), input=big
    )
    assert result.returncode == 2
    assert "more than tiny-model's context window of 1,000" in result.stderr
    assert "chatcli summarize" in result.stderr
    assert fake.chat_requests() == []


def test_reasoning_before_the_answer_is_announced(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="The answer.", reasoning="let me think " * 30))
    result = run_cli("ask", "-m", "deepseek-reasoner", "q", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The answer.\n"  # reasoning never reaches stdout
    assert result.stderr == "chatcli: thinking…\n"  # off a terminal, said once


def test_relay_profile_through_a_socks5_proxy(fake: FakeOpenAI, tmp_path: Path) -> None:
    from tests.fakes.socks import FakeSocks

    with FakeSocks() as socks:
        (tmp_path / "config.toml").write_text(
            f'default_profile = "r"\n[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
            f'api_key = "{DEFAULT_API_KEY}"\nproxy = "{socks.url}"\n'
        )
        result = run_cli("ask", "via socks", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo(1): via socks\n"
    assert socks.targets == [fake.root.removeprefix("http://")]
