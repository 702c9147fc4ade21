"""``chatcli transcribe`` end to end: the real CLI and the real SDK against the fake server."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from chatcli.features.transcribe.subtitles import join_srt, join_verbose, join_vtt, shift_timing
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, Error, FakeOpenAI, make_png, make_wav

RATE = 8000  # mono 16-bit: 16,000 bytes per second


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


Run = Callable[..., Result]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """The real CLI (``__main__.run``) in this process: the SDK is imported once, not per test.

    Takes the same arguments as ``run_cli``; one test below runs the real subprocess too.
    """

    def run(*args: str, env: dict[str, str], input: bytes = b"") -> Result:
        from chatcli.__main__ import run as main

        for key in list(os.environ):
            if key not in env:
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(input)))
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def wav_file(tmp_path: Path, seconds: float = 1.0, name: str = "talk.wav") -> Path:
    path = tmp_path / name
    path.write_bytes(make_wav(seconds, RATE))
    return path


def write_config(tmp_path: Path, body: str) -> None:
    (tmp_path / "config.toml").write_text(body, encoding="utf-8")


def relay_config(fake: FakeOpenAI, retries: int = 0, key: str = DEFAULT_API_KEY) -> str:
    return (
        'default_profile = "relay"\n[profiles.relay]\ntype = "relay"\n'
        f'base_url = "{fake.root}"\napi_key = "{key}"\nmax_retries = {retries}\n'
    )


def test_text_to_stdout_with_gpt_transcribe_by_default(fake: FakeOpenAI, tmp_path: Path) -> None:
    audio = wav_file(tmp_path)
    result = run_cli("transcribe", str(audio), env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"transcript of talk.wav ({audio.stat().st_size} bytes)\n"
    assert result.stderr == ""
    upload = fake.uploads[0]
    assert upload.route == "audio/transcriptions"
    assert upload.fields["model"] == "gpt-transcribe"
    assert upload.fields["response_format"] == "text"
    assert upload.content_type == "audio/wav"
    assert upload.data == audio.read_bytes()
    subtitles = run_cli("transcribe", str(audio), "--format", "srt", env=fake_env(tmp_path, fake))
    assert subtitles.returncode == 0, subtitles.stderr
    assert fake.uploads[-1].fields["model"] == "whisper-1"  # the one model with timestamps


def test_every_format_and_model_flag(fake: FakeOpenAI, tmp_path: Path, cli: Run) -> None:
    audio = wav_file(tmp_path, 2.5)
    env = fake_env(tmp_path, fake)
    out = {}
    for fmt in ("json", "srt", "vtt", "verbose_json"):
        result = cli("transcribe", str(audio), "--format", fmt, "-m", "gpt-4o", env=env)
        assert result.returncode == 0, result.stderr
        out[fmt] = result.stdout
    assert json.loads(out["json"])["text"].startswith("transcript of talk.wav")
    assert out["srt"].startswith("1\n00:00:00,000 --> 00:00:02,500\ntranscript of talk.wav")
    assert out["vtt"].startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n")
    assert json.loads(out["verbose_json"])["segments"][0]["end"] == 2.5
    assert {u.fields["model"] for u in fake.uploads} == {"gpt-4o"}
    assert cli("transcribe", str(audio), "--format", "docx", env=env).returncode == 2


def test_translate_language_and_prompt_reach_the_form(
    fake: FakeOpenAI, tmp_path: Path, cli: Run
) -> None:
    audio = wav_file(tmp_path)
    env = fake_env(tmp_path, fake)
    first = cli("transcribe", str(audio), "--language", "zh", "--prompt", "人名：张三", env=env)
    second = cli("transcribe", str(audio), "--translate", "--prompt", "Names", env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert second.stdout.startswith("translation of talk.wav")
    one, two = fake.uploads
    assert one.route == "audio/transcriptions"
    assert one.fields["language"] == "zh" and one.fields["prompt"] == "人名：张三"
    assert two.route == "audio/translations"
    assert two.fields["prompt"] == "Names" and "language" not in two.fields
    both = cli("transcribe", str(audio), "--translate", "--language", "de", env=env)
    assert both.returncode == 2
    assert "--language does not apply with --translate" in both.stderr


def test_stdin_and_output_file(fake: FakeOpenAI, tmp_path: Path, cli: Run) -> None:
    env = fake_env(tmp_path, fake)
    data = make_wav(1.0, RATE)
    piped = cli("transcribe", env=env, input=data)
    dashed = cli("transcribe", "-", "-o", str(tmp_path / "out.txt"), env=env, input=data)
    assert piped.returncode == 0 and dashed.returncode == 0, piped.stderr + dashed.stderr
    assert piped.stdout == f"transcript of audio.wav ({len(data)} bytes)\n"
    assert dashed.stdout == ""
    assert dashed.stderr == f"chatcli: wrote {tmp_path / 'out.txt'}\n"
    assert (tmp_path / "out.txt").read_text() == piped.stdout


def test_bad_input_refused_before_any_request(fake: FakeOpenAI, tmp_path: Path, cli: Run) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "notes.txt").write_text("just some text\n")
    (tmp_path / "pic.png").write_bytes(make_png())
    cases = {
        "empty stdin": cli("transcribe", "-", env=env, input=b""),
        "garbage": cli("transcribe", "-", env=env, input=os.urandom(2048)),
        "image": cli("transcribe", str(tmp_path / "pic.png"), env=env),
        "text": cli("transcribe", str(tmp_path / "notes.txt"), env=env),
        "pdf": cli("transcribe", "-", env=env, input=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
        # FF FE, UTF-16LE's BOM, also reads as an MPEG-1 Layer I frame header
        "utf-16": cli("transcribe", "-", env=env, input="字幕 text\n".encode("utf-16")),
        "missing": cli("transcribe", str(tmp_path / "nope.mp3"), env=env),
    }
    for name, result in cases.items():
        assert result.returncode == 2, (name, result.stderr)
        assert result.stderr.startswith("chatcli: error: "), name
        assert "Traceback" not in result.stderr
    assert "piped input is empty" in cases["empty stdin"].stderr
    assert "piped input is not audio" in cases["garbage"].stderr
    assert "pic.png is an image (PNG)" in cases["image"].stderr
    assert "chatcli ask -f" in cases["image"].stderr
    assert "notes.txt is text" in cases["text"].stderr
    assert "piped input is a PDF document" in cases["pdf"].stderr  # not "is text"
    assert "chatcli summarize" in cases["pdf"].stderr
    assert "piped input is not audio" in cases["utf-16"].stderr
    assert "no such file" in cases["missing"].stderr
    assert fake.requests == []


def test_large_wav_split_and_srt_offsets(fake: FakeOpenAI, tmp_path: Path, cli: Run) -> None:
    audio = wav_file(tmp_path, 6.0)  # 96,044 bytes: 3 pieces of 16,000 frames (2 s)
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT="33000")
    result = cli("transcribe", str(audio), "--format", "srt", env=env)
    assert result.returncode == 0, result.stderr
    sizes = [u.size for u in fake.uploads]
    assert sizes == [32044, 32044, 32044]
    assert [u.filename for u in fake.uploads] == ["talk-1.wav", "talk-2.wav", "talk-3.wav"]
    for upload in fake.uploads:  # each piece is a valid WAV of whole frames
        with wave.open(io.BytesIO(upload.data)) as w:
            assert w.getframerate() == RATE and w.getnframes() > 0
    cues = result.stdout.split("\n\n")
    assert cues[0].splitlines()[:2] == ["1", "00:00:00,000 --> 00:00:02,000"]
    assert cues[1].splitlines()[:2] == ["2", "00:00:02,000 --> 00:00:04,000"]
    assert cues[2].splitlines()[:2] == ["3", "00:00:04,000 --> 00:00:06,000"]
    assert result.stdout.endswith("bytes)\n\n")
    assert "piece 1/3" in result.stderr and "piece 3/3" in result.stderr


def test_large_wav_verbose_json_and_vtt(fake: FakeOpenAI, tmp_path: Path, cli: Run) -> None:
    audio = wav_file(tmp_path, 4.0)
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT="40000")
    verbose = cli("transcribe", str(audio), "--format", "verbose_json", env=env)
    vtt = cli("transcribe", str(audio), "--format", "vtt", env=env)
    assert verbose.returncode == 0 and vtt.returncode == 0, verbose.stderr + vtt.stderr
    obj = json.loads(verbose.stdout)
    assert obj["duration"] == 4.0
    assert [(s["id"], s["start"], s["end"]) for s in obj["segments"]] == [
        (0, 0.0, 2.0),
        (1, 2.0, 4.0),
    ]
    assert obj["text"].count("transcript of") == 2
    assert vtt.stdout.count("WEBVTT") == 1
    assert "00:00:02.000 --> 00:00:04.000" in vtt.stdout


def test_large_non_wav_without_ffmpeg_is_refused(
    fake: FakeOpenAI, tmp_path: Path, cli: Run
) -> None:
    mp3 = tmp_path / "talk.mp3"
    mp3.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 5000)
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT="2048", PATH=str(tmp_path))
    result = cli("transcribe", str(mp3), env=env)
    assert result.returncode == 2
    assert f"{mp3} is over 2048 bytes and is not WAV; install ffmpeg to split it" in result.stderr
    assert fake.requests == []


def test_azure_profile_uses_the_deployment_route(
    fake: FakeOpenAI, tmp_path: Path, cli: Run
) -> None:
    write_config(
        tmp_path,
        'default_profile = "az"\n[profiles.az]\ntype = "azure"\n'
        f'endpoint = "{fake.root}/"\napi_version = "2024-10-21"\napi_key = "{DEFAULT_API_KEY}"\n'
        '[profiles.az.deployments]\n"whisper-1" = "whisper-prod"\n',
    )
    audio = wav_file(tmp_path)
    result = cli("transcribe", str(audio), "--translate", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    request = fake.requests[0]
    assert request.path == "/openai/deployments/whisper-prod/audio/translations"
    assert request.query == {"api-version": "2024-10-21"}
    assert request.headers["api-key"] == DEFAULT_API_KEY
    assert "authorization" not in request.headers


def test_relay_base_url_normalised_and_usage_logged(
    fake: FakeOpenAI, tmp_path: Path, cli: Run
) -> None:
    write_config(tmp_path, relay_config(fake))
    result = cli("transcribe", str(wav_file(tmp_path)), env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert fake.requests[0].path == "/v1/audio/transcriptions"
    with sqlite3.connect(tmp_path / "data" / "chatcli.db") as db:
        rows = db.execute("SELECT model, profile, command, status, cost_usd FROM usage").fetchall()
    # 1 s at gpt-transcribe's $0.27 per hour (genai-prices)
    assert rows == [("gpt-transcribe", "relay", "transcribe", "ok", pytest.approx(0.27 / 3600))]


def test_wrong_key_exits_4_without_leaking_it(fake: FakeOpenAI, tmp_path: Path, cli: Run) -> None:
    key = "sk-wrong-key-that-must-not-leak-9876"
    write_config(tmp_path, relay_config(fake, key=key))
    result = cli("transcribe", str(wav_file(tmp_path)), "--debug", env=clean_env(tmp_path))
    assert result.returncode == 4, result.stderr
    assert "refused the API key (401)" in result.stderr
    assert key not in result.stderr + result.stdout
    assert "> POST http://127.0.0.1" in result.stderr  # --debug shows the request


def test_server_error_after_retries_exits_5(fake: FakeOpenAI, tmp_path: Path, cli: Run) -> None:
    write_config(tmp_path, relay_config(fake, retries=1))
    fake.script(Error(500), Error(500), route="audio")
    result = cli("transcribe", str(wav_file(tmp_path)), env=clean_env(tmp_path))
    assert result.returncode == 5, result.stderr
    assert "answered 500: The server had an error" in result.stderr
    assert len(fake.uploads) == 2
    assert "Traceback" not in result.stderr


def test_retry_then_success(fake: FakeOpenAI, tmp_path: Path, cli: Run) -> None:
    write_config(tmp_path, relay_config(fake, retries=1))
    fake.script(Error(503), route="audio")
    result = cli("transcribe", str(wav_file(tmp_path)), env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("transcript of talk.wav")


def test_unreachable_endpoint_exits_6(tmp_path: Path, cli: Run) -> None:
    with FakeOpenAI() as gone:
        base = gone.base_url
    env = clean_env(tmp_path, OPENAI_API_KEY=DEFAULT_API_KEY, OPENAI_BASE_URL=base)
    write_config(tmp_path, "[defaults]\nmax_retries = 0\n")
    result = cli("transcribe", str(wav_file(tmp_path)), env=env)
    assert result.returncode == 6, result.stderr
    assert "cannot reach the endpoint" in result.stderr


# -- joining, unit level ------------------------------------------------------------------------


def test_shift_timing_handles_hours_and_short_vtt_stamps() -> None:
    assert shift_timing("00:59:59,500 --> 01:00:00,250", 1.5, ",") == (
        "01:00:01,000 --> 01:00:01,750"
    )
    assert shift_timing("00:01.000 --> 00:02.500 align:start", 60, ".") == (
        "00:01:01.000 --> 00:01:02.500 align:start"
    )


def test_join_srt_renumbers_and_keeps_multiline_cues() -> None:
    a = "1\n00:00:00,000 --> 00:00:01,000\nHello\nthere\n\n2\n00:00:01,000 --> 00:00:02,000\nB\n"
    b = "1\r\n00:00:00,500 --> 00:00:01,000\r\nC\r\n\r\n"
    assert join_srt([a, b], [0.0, 10.0]) == (
        "1\n00:00:00,000 --> 00:00:01,000\nHello\nthere\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\nB\n\n"
        "3\n00:00:10,500 --> 00:00:11,000\nC\n\n"
    )


def test_join_vtt_one_header_and_cue_ids_kept() -> None:
    a = "WEBVTT\n\n00:00.000 --> 00:01.000\nA\n"
    b = "WEBVTT\nKind: captions\n\nid-1\n00:00.000 --> 00:01.000\nB\n"
    assert join_vtt([a, b], [0.0, 5.0]) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nA\n\nid-1\n00:00:05.000 --> 00:00:06.000\nB\n\n"
    )


def test_join_verbose_shifts_words_too() -> None:
    one = {"text": "a", "duration": 1.0, "segments": [], "words": [{"word": "a", "start": 0.2}]}
    two = {"text": " b ", "duration": 2.0, "words": [{"word": "b", "start": 0.5, "end": 0.9}]}
    result = join_verbose([one, two], [0.0, 1.0])
    assert result["text"] == "a b"
    assert result["duration"] == 3.0
    assert result["words"] == [
        {"word": "a", "start": 0.2},
        {"word": "b", "start": 1.5, "end": 1.9},
    ]
    assert result["segments"] == []


def test_help_does_not_import_the_sdk() -> None:
    probe = (
        "import sys\nfrom chatcli.__main__ import run\nimport contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    code = run(sys.argv[1:])\n"
        "print(code, 'openai' in sys.modules, 'httpx2' in sys.modules)"
    )
    for command in ("transcribe", "summarize"):
        proc = subprocess.run(
            [sys.executable, "-c", probe, command, "--help"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.stdout.split() == ["0", "False", "False"], proc.stderr


@pytest.mark.external
def test_large_flac_split_by_ffmpeg_with_offsets(
    fake: FakeOpenAI, tmp_path: Path, cli: Run
) -> None:
    """Non-WAV audio is cut by ffmpeg (CI installs it; see .ci/run)."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None, "ffmpeg is needed for this test: apt-get install ffmpeg"
    flac = tmp_path / "talk.flac"
    noise = ["-f", "lavfi", "-i", "anoisesrc=d=6:c=pink:r=16000:a=0.5"]
    subprocess.run(
        [ffmpeg, "-v", "error", "-nostdin", *noise, "-c:a", "flac", str(flac)], check=True
    )
    assert flac.stat().st_size > 40_000
    limit = flac.stat().st_size // 2
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT=str(limit))
    result = cli("transcribe", str(flac), "--format", "srt", env=env)
    assert result.returncode == 0, result.stderr
    assert len(fake.uploads) >= 2
    assert all(u.size < limit and u.data.startswith(b"fLaC") for u in fake.uploads)
    starts = [c.splitlines()[1].split(" --> ")[0] for c in result.stdout.strip().split("\n\n")]
    assert (
        starts[0] == "00:00:00,000" and starts == sorted(starts) and len(set(starts)) == len(starts)
    )


def test_several_inputs_into_a_link_to_nowhere_are_refused_before_uploading(
    fake: FakeOpenAI, tmp_path: Path, cli: Run
) -> None:
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "nowhere")
    a, b = wav_file(tmp_path, name="a.wav"), wav_file(tmp_path, name="b.wav")
    result = cli("transcribe", str(a), str(b), "-o", str(out), env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert f"-o {out} is a link to nowhere; with several inputs give a directory" in result.stderr
    assert fake.uploads == []
