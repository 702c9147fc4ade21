"""Hostile and strange servers, odd keys and bad values: clean errors, never a crash or a leak.

The real CLI in a subprocess against the fake server; ``Raw`` replies send shapes no real
provider documents.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chatcli.environment import ManualClock
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, CutStream, Delay, Error, FakeOpenAI, Malformed, Raw, Reply

ESC = "\x1b"
TITLE_AND_CLEAR = "\x1b]0;pwned\x07\x1b[2J"


def relay(
    tmp_path: Path, fake: FakeOpenAI, extra: str = "", key_line: str = "", retries: int = 2
) -> dict[str, str]:
    """A config with one relay profile at ``fake``; returns the environment to run with."""
    key_line = key_line or f'api_key = "{DEFAULT_API_KEY}"'
    (tmp_path / "config.toml").write_text(
        f'default_profile = "r"\n[defaults]\nmax_retries = {retries}\n{extra}\n'
        f'[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n{key_line}\n',
        encoding="utf-8",
    )
    return clean_env(tmp_path)


# -- keys ---------------------------------------------------------------------------------


def test_api_key_cmd_first_line_is_the_key(fake: FakeOpenAI, tmp_path: Path) -> None:
    cmd = f"printf '{DEFAULT_API_KEY}\\nlogin: me@example.com\\nurl: x\\n'"
    env = relay(tmp_path, fake, key_line=f'api_key_cmd = "{cmd}"')
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert fake.chat_requests()[0].headers["authorization"] == f"Bearer {DEFAULT_API_KEY}"


@pytest.mark.parametrize(
    "bad", ["sk-abc def-1234567890wxyz", "sk-abc\\t1234567890wxyz", "sk-ключ-1234567890wxyz"]
)
def test_key_with_whitespace_or_non_ascii_refused_showing_last_4(
    fake: FakeOpenAI, tmp_path: Path, bad: str
) -> None:
    env = relay(tmp_path, fake, key_line=f'api_key = "{bad}"')
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 3
    assert "wxyz" in result.stderr and "sk-abc" not in result.stderr
    assert "Traceback" not in result.stderr and fake.chat_requests() == []


def test_api_key_cmd_non_utf8_and_failing_hint_redacted(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = relay(tmp_path, fake, key_line="api_key_cmd = \"printf '\\\\377\\\\376'\"")
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 3 and "not UTF-8" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    secret = "sk-inline-secret-0123456789abcd"
    env = relay(tmp_path, fake, key_line=f'api_key_cmd = "echo {secret}; exit 1"')
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 3 and "hint:" in result.stderr
    assert secret not in result.stderr and "abcd" in result.stderr


def test_config_set_api_key_cmd_and_init_never_echo_the_key(tmp_path: Path) -> None:
    secret = "sk-set-secret-0123456789abcdef"
    env = clean_env(tmp_path)
    run_cli("config", "set", "profiles.x.type", "relay", env=env)
    result = run_cli("config", "set", "profiles.x.api_key_cmd", f"echo {secret}", env=env)
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr and "cdef" in result.stderr
    (tmp_path / "config.toml").unlink()
    code, screen = _init_in_terminal(env, ["openai", "main", secret, "", "gpt-4o-mini"])
    assert code == 0, screen
    assert "Where is the key?" in screen and secret not in screen  # not echoed, not printed
    assert secret in (tmp_path / "config.toml").read_text()


def _init_in_terminal(env: dict[str, str], answers: list[str]) -> tuple[int, str]:
    """``config init`` on a pseudo-terminal, answering each question as it is asked; the exit
    code and everything the terminal showed (prompts, echo, stderr)."""
    import os
    import pty
    import select
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatcli", "config", "init"],
        stdin=slave, stdout=slave, stderr=slave, env=env,
    )  # fmt: skip
    os.close(slave)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            shown += data
            if pending and shown.rstrip().endswith(b":"):
                os.write(master, pending.pop(0).encode() + b"\n")
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=10)
    os.close(master)
    return code, shown.decode("utf-8", "replace")


# -- strange answers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunks", "field"),
    [
        ([{"choices": [{"delta": {"content": 5}}]}], "choices[0].delta.content"),
        ([{"choices": [1]}], "choices[0]"),
        ([{"choices": [{"delta": "x"}]}], "choices[0].delta"),
        ([{"model": {"a": 1}, "choices": []}], "model"),
        ([{"choices": [{"delta": {}, "finish_reason": {"x": 1}}]}], "finish_reason"),
    ],
)
def test_malformed_stream_chunk_is_exit_5_naming_the_field(
    fake: FakeOpenAI, tmp_path: Path, chunks: list[object], field: str
) -> None:
    fake.script(Raw(chunks=chunks))
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    assert field in result.stderr and "Traceback" not in result.stderr


def test_malformed_body_and_absurd_usage(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Raw(body=json.dumps({"choices": [1]})))
    result = run_cli("ask", "--no-stream", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5 and "choices[0]" in result.stderr
    body = {
        "model": "gpt-4o-mini",
        "choices": [{"message": {"content": "fine"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": -7, "completion_tokens": 10**30},
    }
    fake.script(Raw(body=json.dumps(body)))
    result = run_cli("ask", "--no-stream", "--json", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    usage = json.loads(result.stdout)["usage"]
    assert usage["estimated"] is True and 0 < usage["prompt_tokens"] < 1000
    report = json.loads(run_cli("usage", "--json", env=fake_env(tmp_path, fake)).stdout)
    total = report["total"]
    assert 0 < total["prompt_tokens"] < 1000 and 0 <= total["completion_tokens"] < 1000


@pytest.mark.parametrize("value", ["inf", "1e999", "99999999", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_absurd_retry_after_gives_up_at_once(fake: FakeOpenAI, tmp_path: Path, value: str) -> None:
    fake.script(Error(429, "slow down", headers={"Retry-After": value}))
    result = run_cli("ask", "hi", env=relay(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    assert "slow down" in result.stderr and "asked to wait" in result.stderr
    assert "max_retry_wait" in result.stderr and len(fake.chat_requests()) == 1


def test_retry_after_nan_negative_use_backoff_and_litellm_header(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(
        Error(503, "busy", headers={"Retry-After": "nan"}),
        Error(503, "busy", headers={"Retry-After": "-5"}),
    )
    result = run_cli("ask", "hi", env=relay(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert len(fake.chat_requests()) == 3
    fake.reset()
    fake.script(Error(429, "slow down", headers={"llm_provider-retry-after": "300"}))
    result = run_cli("ask", "hi", env=relay(tmp_path, fake, "max_retry_wait = 10"))
    assert result.returncode == 5 and "5 min" in result.stderr, result.stderr


@pytest.mark.parametrize("where", ["defaults", "profile"])
def test_max_retry_wait_above_the_default_is_honoured(
    fake: FakeOpenAI, tmp_path: Path, where: str
) -> None:
    """A profile's (or [defaults]') max_retry_wait reaches the transport: a 5-minute
    Retry-After is waited for (on the command's clock) when 600 s are allowed."""
    fake.script(Error(429, "slow down", headers={"Retry-After": "300"}))
    env = relay(tmp_path, fake, "max_retry_wait = 600" if where == "defaults" else "")
    if where == "profile":
        with (tmp_path / "config.toml").open("a", encoding="utf-8") as config:
            config.write("max_retry_wait = 600\n")
    clock = ManualClock()
    result = run_cli("ask", "hi", env=env, clock=clock)
    assert result.returncode == 0, result.stderr
    assert sum(clock.slept) == 300 and len(fake.chat_requests()) == 2
    assert "retrying in 5 min" in result.stderr


def test_retry_notices_off_a_terminal_one_line_per_retry(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error(503, "busy"), Error(503, "busy"))
    result = run_cli("ask", "hi", env=relay(tmp_path, fake))
    lines = [ln for ln in result.stderr.splitlines() if "retrying in" in ln]
    assert [("retry 1/2" in lines[0]), ("retry 2/2" in lines[1])] == [True, True], lines
    assert all(ln.rstrip().endswith(" s") and "." in ln.rsplit("in ", 1)[1] for ln in lines)


def test_silent_server_retried_once_only(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Delay(30), Delay(30), Reply("never"))
    env = relay(tmp_path, fake, "timeout = 0.5", retries=3)
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 6, result.stderr
    assert len(fake.chat_requests()) == 2


def test_server_text_is_sanitised_and_binary_summarised(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error(400, f"bad {TITLE_AND_CLEAR}request"))
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5 and ESC not in result.stderr and "\x07" not in result.stderr
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 9
    fake.script(Raw(status=500, body_hex=png.hex(), content_type="image/png"))
    result = run_cli("ask", "hi", env=relay(tmp_path, fake, retries=0))
    assert f"<{len(png):,} bytes of image/png>" in result.stderr, result.stderr
    assert "PNG" not in result.stderr.replace("image/png", "")


def test_model_ids_sanitised_and_models_404_falls_back(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Raw(body=json.dumps({"data": [{"id": f"gpt{TITLE_AND_CLEAR}-x"}]})), route="models")
    result = run_cli("models", env=fake_env(tmp_path, fake))
    assert result.returncode == 0 and "gpt" in result.stdout and ESC not in result.stdout
    fake.script(Raw(status=404, body='{"detail": "Not Found"}'), route="models")
    result = run_cli("models", env=relay(tmp_path, fake, 'model = "my-model"'))
    assert result.returncode == 0, result.stderr
    assert "has no model list" in result.stderr and "my-model" in result.stdout


def test_sessions_show_and_resume_preview_sanitised(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(f"evil {TITLE_AND_CLEAR}answer"))
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "--session", "s1", "q", env=env).returncode == 0
    script = (
        "import os, pty, sys\n"
        "os.environ.update(json_env)\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        "    args = ['-m', 'chatcli', 'sessions', 'show', 's1']\n"
        "    os.execv(sys.executable, [sys.executable, *args])\n"
        "out = b''\n"
        "while True:\n"
        "    try:\n"
        "        data = os.read(fd, 4096)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not data:\n"
        "        break\n"
        "    out += data\n"
        "os.waitpid(pid, 0)\n"
        "sys.stdout.write(out.hex())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", f"json_env = {env!r}\n{script}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    shown = bytes.fromhex(proc.stdout).decode("utf-8", "replace")
    assert "evil" in shown and "answer" in shown
    assert "\x1b]0;" not in shown and "\x1b[2J" not in shown


# -- gateways -----------------------------------------------------------------------------


def test_unrelated_400_is_not_a_stream_options_refusal(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error(400, "The model `nope` does not exist", "invalid_request_error"))
    result = run_cli("ask", "-m", "nope", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5 and len(fake.chat_requests()) == 1


def test_stream_options_fallback_is_for_that_request_only(fake: FakeOpenAI) -> None:
    from chatcli.providers import connect
    from chatcli.providers.base import ChatRequest
    from chatcli.settings.loading import Profile

    fake.script(Error(400, "Unrecognized request argument supplied: stream_options"))
    profile = Profile("r", "relay", base_url=fake.base_url, api_key=DEFAULT_API_KEY)
    from chatcli.pricing import lookup

    provider = connect(profile, lookup, clock=ManualClock())
    msgs = [{"role": "user", "content": "hi"}]
    for _ in range(2):
        list(provider.chat(ChatRequest(model="gpt-4o-mini", messages=msgs, stream=True)))
    sent = [("stream_options" in (r.json or {})) for r in fake.chat_requests()]
    assert sent == [True, False, True]


def test_litellm_style_errors_one_line_quota_and_auth(fake: FakeOpenAI, tmp_path: Path) -> None:
    tail = "\n\nLiteLLM: model group gpt-4o-mini failed.\nReceived Model Group=gpt-4o-mini"
    fake.script(Error(500, f"upstream   broke{tail}"))
    result = run_cli("ask", "hi", env=relay(tmp_path, fake, retries=0))
    error = next(ln for ln in result.stderr.splitlines() if ln.startswith("chatcli: error"))
    assert error.endswith("upstream broke") and "LiteLLM" not in result.stderr
    fake.script(
        Error(429, "You exceeded your current quota, please check", "throttling_error", "429")
    )
    result = run_cli("ask", "hi", env=relay(tmp_path, fake))
    assert result.returncode == 5 and "billing" in result.stderr
    assert len(fake.chat_requests()) == 2  # the quota error was not retried
    fake.script(Error(400, "Authentication Error, No connected db.", "auth_error", "400"))
    result = run_cli("ask", "hi", env=relay(tmp_path, fake))
    assert result.returncode == 4 and "key" in result.stderr.split("hint:", 1)[1]


def test_json_wrapped_transcript_unwrapped(fake: FakeOpenAI, tmp_path: Path) -> None:
    srt = "1\n00:00:00,000 --> 00:00:01,000\nhello\n"
    fake.script(Malformed(body=json.dumps({"text": srt})), route="audio")
    audio = tmp_path / "a.wav"
    import wave

    with wave.open(str(audio), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000)
    result = run_cli("transcribe", "--format", "srt", str(audio), env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == srt.strip()


def test_every_request_says_user_agent_chatcli(fake: FakeOpenAI, tmp_path: Path) -> None:
    from chatcli import __version__

    env = fake_env(tmp_path, fake)
    run_cli("ask", "hi", env=env)
    run_cli("models", env=env)
    run_cli("image", "a cat", "-o", str(tmp_path), env=env)
    agents = {r.path: r.headers.get("user-agent") for r in fake.requests}
    assert set(agents.values()) == {f"chatcli/{__version__}"}, agents
    assert len(agents) >= 3


# -- sessions -----------------------------------------------------------------------------


@pytest.mark.process  # eight chatcli processes at once
def test_parallel_ask_session_new_keeps_every_turn(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "chatcli", "ask", "--session", "NEW", f"q{i}"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    codes = [p.wait(timeout=60) for p in procs]
    errors = [p.stderr.read() for p in procs if p.stderr is not None]
    assert codes == [0] * 8, errors
    db = sqlite3.connect(tmp_path / "data" / "chatcli.db")
    assert db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 16
    assert db.execute("SELECT COUNT(*) FROM usage").fetchone()[0] == 8


@pytest.mark.parametrize("name", [" bad", "", "bad\x01"])
def test_bad_session_name_refused_before_sending(
    fake: FakeOpenAI, tmp_path: Path, name: str
) -> None:
    result = run_cli("ask", "--session", name, "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 2 and fake.chat_requests() == []


def test_network_cut_keeps_partial_answer_in_session(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(CutStream("half of the answer"))
    result = run_cli("ask", "--session", "cut", "--json", "q", env=env)
    assert result.returncode == 6
    obj = json.loads(result.stdout)
    assert obj["incomplete"] is True and obj["answer"] == "half of the answer"
    export = json.loads(run_cli("sessions", "export", "cut", "--format", "json", env=env).stdout)
    assert [(m["content"], m["interrupted"]) for m in export["messages"]] == [
        ("q", False),
        ("half of the answer", True),
    ]
    fake.script(CutStream("more"))
    assert run_cli("ask", "-c", "again", env=env).returncode == 6
    export = json.loads(run_cli("sessions", "export", "cut", "--format", "json", env=env).stdout)
    assert export["messages"][-1] == {
        **export["messages"][-1],
        "content": "more",
        "interrupted": True,
    }


# -- values out of range ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("timeout = -1", "timeout"),
        ("timeout = nan", "timeout"),
        ("timeout = inf", "timeout"),
        ("temperature = 99", "temperature"),
        ("max_tokens = -3", "max_tokens"),
        ("requests_per_minute = -10", "requests_per_minute"),
        ("max_retries = 100000000", "max_retries"),
        ('base_url = "http://[::1/v1"', "base_url"),
    ],
)
def test_out_of_range_values_exit_3_with_position(tmp_path: Path, line: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.r]\ntype = "relay"\nbase_url = "http://h/v1"\n{line}\n')
    if key == "base_url":
        path.write_text(f'[profiles.r]\ntype = "relay"\n{line}\n')
    env = clean_env(tmp_path, OPENAI_API_KEY=DEFAULT_API_KEY)
    for args in (("ask", "-p", "r", "hi"), ("config", "validate")):
        result = run_cli(*args, env=env)
        assert result.returncode == 3, result.stderr
        assert f"{path}:{3 if key == 'base_url' else 4}:1" in result.stderr and key in result.stderr


def test_context_window_and_config_set_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[models."m"]\ncontext_window = -5\n')
    result = run_cli("config", "validate", env=clean_env(tmp_path))
    assert result.returncode == 3 and f"{path}:2:1" in result.stderr
    path.unlink()
    result = run_cli("config", "set", "defaults.temperature", "99", env=clean_env(tmp_path))
    assert result.returncode == 3 and "temperature" in result.stderr and not path.exists()


def test_nan_temperature_and_invalid_utf8_argument_exit_2(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "-t", "nan", "hi", env=env).returncode == 2
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"chatcli", b"ask", b"\xff\xfe"],
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    assert proc.returncode == 2 and b"UTF-8" in proc.stderr and b"Traceback" not in proc.stderr
    assert fake.chat_requests() == []


def test_chat_resume_preview_sanitised(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatcli.settings.resolve import ChatFlags
    from tests.test_repl import Chat

    fake.script(Reply(f"evil {TITLE_AND_CLEAR}answer"))
    chat = Chat(tmp_path, fake, monkeypatch)
    chat.run("q\r")
    chat.err = io.StringIO()
    chat.run(opts=ChatFlags(cont=True))
    preview = chat.err.getvalue()
    assert "ai  › evil answer" in preview and "\x1b]0;" not in preview and "\x07" not in preview


def test_models_404_on_azure_names_endpoint_not_base_url(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        f'[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\napi_version = "2024-10-21"\n'
        f'api_key = "{DEFAULT_API_KEY}"\nmodel = "gpt-4o"\n'
        '[profiles.az.deployments]\n"gpt-4o" = "gpt4o-prod"\n'
    )
    fake.script(
        Raw(status=404, body='{"error": {"message": "Resource not found"}}'), route="models"
    )
    result = run_cli("models", "-p", "az", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "its endpoint may still be right" in result.stderr and "base_url" not in result.stderr
    assert "gpt-4o" in result.stdout


def test_a_data_dir_that_is_a_file_is_named_as_such(fake: FakeOpenAI, tmp_path: Path) -> None:
    home = tmp_path / "home-file"
    home.write_text("not a directory\n")
    result = run_cli("sessions", "list", env=fake_env(tmp_path, fake, CHATCLI_HOME=str(home)))
    assert result.returncode == 1
    assert f"the data dir {home} is a file, not a directory" in result.stderr
    assert "File exists" not in result.stderr


@pytest.mark.parametrize("stream", [True, False])
def test_half_a_surrogate_pair_in_an_answer_becomes_a_replacement_character(
    fake: FakeOpenAI, tmp_path: Path, stream: bool
) -> None:
    """A relay cutting an emoji in two sends ``\\ud83d``: the answer is printed and stored with
    U+FFFD in its place, not 'unexpected UnicodeEncodeError'."""
    delta = {"choices": [{"index": 0, "delta": {"content": "smile \ud83d!"}}]}
    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    message = {"role": "assistant", "content": "smile \ud83d!"}
    body = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
    chunks = [json.dumps(delta), json.dumps(end)]  # the \ud83d escape, as a relay sends it
    fake.script(Raw(chunks=chunks) if stream else Raw(body=json.dumps(body)))
    args = ["ask", "--session", "s", "hi"] + ([] if stream else ["--no-stream"])
    result = run_cli(*args, env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "smile \ufffd!\n"
    with sqlite3.connect(tmp_path / "data" / "chatcli.db") as db:
        (stored,) = db.execute("SELECT content FROM messages WHERE role = 'assistant'").fetchone()
    assert stored == "smile \ufffd!"
