"""Strange 200 answers and dead proxies on the SDK routes (``image``, ``speak``, ``transcribe``).

A relay's login page, a body that is not JSON, an empty body or a JSON error object sent with
200 is an API error (exit 5) in one line, as in chat: never a crash, an image, a sound file or
a transcript. A dead proxy is named as the proxy, as chat names it. The real CLI and the real
SDK against the fake server; every reply is scripted on the route the command uses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Malformed, Raw, make_wav
from tests.fakes.speech import MAGIC

LOGIN = "<html><head><title>Login</title></head><body>Please log in</body></html>"
NO_RETRY = "[defaults]\nmax_retries = 0\n"


def _args(command: str, tmp_path: Path) -> list[str]:
    """The command line of ``command``, with its output under ``tmp_path / "out"``."""
    if command == "image":
        return ["image", "a cat", "-o", str(tmp_path / "out")]
    if command == "speak":
        return ["speak", "hello", "-o", str(tmp_path / "out" / "x.mp3")]
    wav = tmp_path / "a.wav"
    wav.write_bytes(make_wav(1.0))
    return ["transcribe", str(wav)]


ROUTES = {"image": "images", "speak": "speech", "transcribe": "audio"}


@pytest.mark.parametrize("command", sorted(ROUTES))
@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (Raw(body=LOGIN, content_type="text/html"), "(text/html): Login — Please log in"),
        (Raw(body=LOGIN, content_type="text/html; charset=utf-8"), "Login — Please log in"),
        (Malformed(), "{not json"),
        (Raw(body=""), "from http://127.0.0.1:"),
    ],
    ids=["html", "html-charset", "not-json", "empty"],
)
def test_a_200_that_is_not_the_answer_is_an_api_error(
    fake: FakeOpenAI, tmp_path: Path, command: str, reply: Raw | Malformed, said: str
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "config.toml").write_text(NO_RETRY)
    fake.script(reply, route=ROUTES[command])
    result = run_cli(*_args(command, tmp_path), env=fake_env(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    error, hint = result.stderr.splitlines()
    assert error.startswith("chatcli: error: ") and said in error
    assert "unexpected" not in error and "Traceback" not in result.stderr
    assert hint == "hint: the endpoint is not answering like an OpenAI-compatible API"
    assert result.stdout == ""
    assert list((tmp_path / "out").iterdir()) == []  # no image, no sound file written
    assert fake.pending_script == 0 and len(fake.requests) == 1  # refused, not retried


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            Raw(body=LOGIN, content_type="text/html"),
            "the speech answer from {origin} is not audio (text/html): Login — Please log in",
        ),
        (
            Raw(body='{"error": {"message": "quota exceeded", "type": "x"}}'),
            "the speech answer from {origin} is not audio (application/json): quota exceeded",
        ),
        (
            Raw(body="upstream busy", content_type="text/plain"),
            "the speech answer from {origin} is not audio (text/plain): upstream busy",
        ),
        (
            Raw(body="", content_type="audio/mpeg"),
            "the speech answer from {origin} is empty",
        ),
    ],
    ids=["html", "error-object", "text", "empty-audio"],
)
def test_speak_writes_nothing_for_an_answer_that_is_not_audio(
    fake: FakeOpenAI, tmp_path: Path, reply: Raw, message: str
) -> None:
    (tmp_path / "config.toml").write_text(NO_RETRY)
    fake.script(reply, route="speech")
    out = tmp_path / "x.mp3"
    result = run_cli("speak", "hello", "-o", str(out), env=fake_env(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    origin = fake.base_url.rsplit("/", 1)[0]
    assert result.stderr.splitlines()[0] == "chatcli: error: " + message.format(origin=origin)
    assert not out.exists()


@pytest.mark.parametrize("content_type", ["audio/mpeg", "application/octet-stream", ""])
def test_speak_takes_audio_however_it_is_labelled(
    fake: FakeOpenAI, tmp_path: Path, content_type: str
) -> None:
    audio = MAGIC["mp3"][0] + b"hello"
    fake.script(Raw(body_hex=audio.hex(), content_type=content_type), route="speech")
    out = tmp_path / "x.mp3"
    result = run_cli("speak", "hello", "-o", str(out), env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == audio


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_an_empty_plain_transcript_is_silence_not_an_error(
    fake: FakeOpenAI, tmp_path: Path, fmt: str
) -> None:
    fake.script(Raw(body="", content_type="text/plain; charset=utf-8"), route="audio")
    args = _args("transcribe", tmp_path)
    result = run_cli(*args, "--format", fmt, "-m", "whisper-1",
                     env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("fmt", ["json", "verbose_json"])
@pytest.mark.parametrize(
    "reply",
    [
        Raw(body="", content_type="text/plain"),
        Raw(body=""),
        Raw(body="just words", content_type="text/plain"),
        Raw(body="[1, 2]"),
    ],
    ids=["empty-text", "empty-json", "words", "array"],
)
def test_a_json_transcript_must_be_a_json_object(
    fake: FakeOpenAI, tmp_path: Path, fmt: str, reply: Raw
) -> None:
    (tmp_path / "config.toml").write_text(NO_RETRY)
    fake.script(reply, route="audio")
    args = _args("transcribe", tmp_path)
    result = run_cli(*args, "--format", fmt, "-m", "whisper-1",
                     env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert result.stderr.startswith("chatcli: error: ")
    assert "transcription answer from http://127.0.0.1:" in result.stderr
    assert result.stdout == ""


def test_a_transcript_wrapped_as_json_is_still_unwrapped(fake: FakeOpenAI, tmp_path: Path) -> None:
    """A relay's ``{"text": ...}`` for ``text`` (LiteLLM) is JSON that says so: still read."""
    fake.script(Raw(body='{"text": "hello there"}'), route="audio")
    result = run_cli(*_args("transcribe", tmp_path), env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello there\n"


def test_an_images_answer_that_is_a_json_array_is_malformed(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text(NO_RETRY)
    fake.script(Raw(body="[]"), route="images")
    result = run_cli(*_args("image", tmp_path), env=fake_env(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    assert result.stderr.splitlines()[0].endswith(": []")
    assert "malformed images answer from http://127.0.0.1:" in result.stderr


@pytest.mark.parametrize("command", sorted(ROUTES))
def test_a_dead_proxy_from_the_environment_is_named(
    fake: FakeOpenAI, tmp_path: Path, command: str
) -> None:
    (tmp_path / "config.toml").write_text(NO_RETRY)
    env = fake_env(tmp_path, fake, HTTP_PROXY="http://user:pw-secret@127.0.0.1:9")
    env.pop("NO_PROXY")
    result = run_cli(*_args(command, tmp_path), env=env)
    assert result.returncode == 6, result.stderr
    assert result.stderr.splitlines() == [
        "chatcli: error: cannot connect to the proxy http://user:****@127.0.0.1:9 "
        "(from the environment's HTTP_PROXY): connection refused",
        "hint: check that the proxy is running, or unset HTTP_PROXY (or list the host in "
        "NO_PROXY) to connect directly",
    ]
    assert fake.requests == []


@pytest.mark.parametrize("command", sorted(ROUTES))
def test_a_dead_profile_proxy_is_named(fake: FakeOpenAI, tmp_path: Path, command: str) -> None:
    (tmp_path / "config.toml").write_text(
        f'default_profile = "r"\n{NO_RETRY}[profiles.r]\ntype = "relay"\n'
        f'base_url = "{fake.base_url}"\napi_key = "{DEFAULT_API_KEY}"\n'
        'proxy = "http://127.0.0.1:9"\n'
    )
    result = run_cli(*_args(command, tmp_path), env=clean_env(tmp_path))
    assert result.returncode == 6, result.stderr
    assert result.stderr.endswith(  # after a warning about the key in the config file
        "chatcli: error: cannot connect to the proxy http://127.0.0.1:9 (the profile's proxy): "
        "connection refused\nhint: check that the proxy is running\n"
    )
    assert fake.requests == []
