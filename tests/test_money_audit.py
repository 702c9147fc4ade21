"""Audit 7's money findings, end to end: budgets judged before every paid request whatever
command sends it (and a budget of 0 meaning "spend nothing"), an unknown price confirmed like a
costly run, the confirmation read from the terminal when stdin is piped, Ctrl-C / SIGTERM in
bulk commands leaving every request in the usage log, paid partial work kept (images, split
audio, part summaries, speech a player could not play), and the small things (rounded batch
costs, the dry run's token range, per-minute and per-image prices in ``models``, ``-o`` folders
made 0700)."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from chatcli.store import Store
from tests.cli_helpers import chatcli_argv, fake_env, run_cli
from tests.fakes import Delay, Error, FakeOpenAI, Raw, Reply, make_png, make_wav

SPENT = "[defaults]\ndaily_budget_usd = 0.0000001\n"
"""A daily budget any earlier request has spent."""


def _config(home: Path, text: str) -> None:
    (home / "config.toml").write_text(text, encoding="utf-8")


def _usage(home: Path) -> list[tuple[str, str, float | None]]:
    with Store.open(home / "data") as store:
        return [(r.command, r.status, r.cost_usd) for r in store.usage_rows()]


def _spend_something(fake: FakeOpenAI, env: dict[str, str]) -> None:
    fake.script(Reply(text="hello", prompt_tokens=100, completion_tokens=100))
    assert run_cli("ask", "hi", env=env).returncode == 0
    fake.reset()


# -- (5) budgets on every command that spends --------------------------------------------------


@pytest.mark.parametrize("command", ["image", "transcribe", "speak", "verify"])
def test_a_spent_budget_refuses_every_paid_command_before_it_sends(
    fake: FakeOpenAI, tmp_path: Path, command: str
) -> None:
    env = fake_env(tmp_path, fake)
    _spend_something(fake, env)
    _config(tmp_path, SPENT)
    wav = tmp_path / "t.wav"
    wav.write_bytes(make_wav(1.0))
    argv = {
        "image": ["image", "a cat", "-o", str(tmp_path / "img")],
        "transcribe": ["transcribe", str(wav)],
        "speak": ["speak", "hi", "-o", str(tmp_path / "s.mp3")],
        "verify": ["verify"],
    }[command]
    refused = run_cli(*argv, env=env)
    assert refused.returncode == 1, refused.stderr
    assert "of your daily budget $0.0000001 is spent" in refused.stderr
    assert "hint: pass --over-budget to go on" in refused.stderr
    assert fake.requests == []  # nothing sent, nothing paid
    forced = run_cli(*argv, "--over-budget", env=env)
    assert forced.returncode in (0, 1), forced.stderr  # verify: 1 for a fake that is not gpt
    assert "is spent" in forced.stderr and fake.requests != []


def test_doctor_reports_a_spent_budget_and_how_to_go_on(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    _spend_something(fake, env)
    _config(tmp_path, SPENT)
    result = run_cli("doctor", env=env)
    assert result.returncode == 1
    assert re.search(r"\[FAIL\] request +\$\S+ of your daily budget \$0.0000001 is spent",
                     result.stdout), result.stdout  # fmt: skip
    assert "fix: pass --over-budget to go on" in result.stdout
    assert fake.chat_requests() == []
    assert run_cli("doctor", "--over-budget", env=env).returncode == 0


def test_batch_retry_and_a_local_wait_pass_the_budget(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    _spend_something(fake, env)
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"prompt": "x"}\n')
    fake.script(Error(400, "no"))
    failed = run_cli("batch", "submit", str(lines), "--local", "--yes", env=env)
    job = failed.stdout.strip()
    # a local job stopped by a 401 (fatal: the rest stays pending, to resume with wait)
    three = tmp_path / "three.jsonl"
    three.write_text("".join(f'{{"prompt": "q{i}"}}\n' for i in range(3)))
    fake.script(Error(401, "bad key"))
    stopped = run_cli("batch", "submit", str(three), "--local", "--yes", "--concurrency", "1",
                      env=env)  # fmt: skip
    assert stopped.returncode == 4, stopped.stderr
    pending = stopped.stdout.strip()
    fake.reset()
    _config(tmp_path, SPENT)
    retried = run_cli("batch", "retry", job, env=env)
    assert retried.returncode == 1 and "is spent" in retried.stderr, retried.stderr
    assert "--over-budget" in retried.stderr
    waited = run_cli("batch", "wait", pending, env=env)
    assert waited.returncode == 1 and "is spent" in waited.stderr, waited.stderr
    assert fake.chat_requests() == []
    assert run_cli("batch", "retry", job, "--over-budget", env=env).returncode == 0
    done = run_cli("batch", "wait", pending, "--over-budget", env=env)
    assert done.returncode == 0, done.stderr
    assert f"{pending}: done: 3 completed, 0 failed" in done.stderr
    assert len(fake.chat_requests()) >= 2  # the retry, and what the 401 left pending


# -- (16) a budget of 0 is a budget -----------------------------------------------------------


def test_a_budget_of_zero_spends_nothing(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    _config(tmp_path, "[defaults]\ndaily_budget_usd = 0\n")
    refused = run_cli("ask", "hi", env=env)
    assert refused.returncode == 1
    assert "your daily budget is $0 (daily_budget_usd = 0): nothing may be spent" in refused.stderr
    assert "leave it out for no budget" in refused.stderr
    image = run_cli("image", "a cat", "-o", str(tmp_path / "img"), env=env)
    assert image.returncode == 1 and fake.requests == []


# -- (6) an unknown price is confirmed like a costly run --------------------------------------


def test_many_requests_at_an_unknown_price_need_yes_off_a_terminal(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    text = tmp_path / "long.txt"
    text.write_text("\n\n".join(f"Paragraph {i}: " + "word " * 60 for i in range(40)))
    refused = run_cli("summarize", str(text), "-m", "qwen-max", "--chunk-tokens", "100", env=env)
    assert refused.returncode == 2, refused.stderr
    assert "requests whose cost is unknown (no price for qwen-max)" in refused.stderr
    many = tmp_path / "many.jsonl"
    many.write_text("".join(f'{{"prompt": "q{i}"}}\n' for i in range(20)))
    batch = run_cli("batch", "submit", str(many), "-m", "qwen-max", "--local", env=env)
    assert batch.returncode == 2, batch.stderr
    assert "this run sends 20 requests whose cost is unknown" in batch.stderr
    assert fake.requests == []
    few = tmp_path / "few.jsonl"
    few.write_text("".join(f'{{"prompt": "q{i}"}}\n' for i in range(3)))
    assert (
        run_cli("batch", "submit", str(few), "-m", "qwen-max", "--local", env=env).returncode == 0
    )


# -- (15) piped stdin, a terminal on stderr: the question is read from /dev/tty ----------------


def test_piped_input_asks_on_the_terminal(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from chatcli.features import spending

    asked: list[str] = []

    def terminal(env: object) -> io.StringIO:
        asked.append("tty")
        return io.StringIO("y\n")

    monkeypatch.setattr(spending, "open_terminal", terminal)
    fake.default_reply = Reply(text="Short summary.")
    env = fake_env(tmp_path, fake)
    _config(tmp_path, "[defaults]\nconfirm_above_usd = 0.0000001\n")
    result = run_cli("summarize", input="Some text to summarise.\n", env=env, stderr_tty=True)
    assert result.returncode == 0, result.stderr
    assert asked == ["tty"]
    assert "above confirm_above_usd ($0.0000001). Go on? [y/N]" in result.stderr
    assert result.stdout.strip() == "Short summary."


@pytest.mark.process
def test_piped_input_asks_on_the_real_terminal(fake: FakeOpenAI, tmp_path: Path) -> None:
    """``cat FILE | chatcli summarize`` in a terminal: stderr and /dev/tty are that terminal
    (a pseudo-terminal made the process's controlling one), stdin is a pipe."""
    import pty

    fake.default_reply = Reply(text="Short summary.")
    _config(tmp_path, "[defaults]\nconfirm_above_usd = 0.0000001\n")
    master, slave = pty.openpty()
    name = os.ttyname(slave)

    def controlling_terminal() -> None:  # in the child: a new session whose terminal is the pty
        os.setsid()
        os.close(os.open(name, os.O_RDWR))

    proc = subprocess.Popen(
        chatcli_argv("summarize"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave,
        env=fake_env(tmp_path, fake), preexec_fn=controlling_terminal,
    )  # fmt: skip
    os.close(slave)
    os.write(master, b"y\n")  # typed ahead: the line waits for the question's read
    out, _ = proc.communicate(b"Some text to summarise.\n", timeout=60)
    said = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        said += chunk
    os.close(master)
    assert proc.returncode == 0, said
    assert b"Go on? [y/N]" in said
    assert out.decode().strip() == "Short summary."


# -- (3) Ctrl-C / SIGTERM: every request sent is in the usage log, no traceback ----------------


@pytest.mark.process
@pytest.mark.parametrize("command", ["summarize", "batch"])
def test_sigterm_in_a_bulk_command_logs_every_request_it_sent(
    fake: FakeOpenAI, tmp_path: Path, command: str
) -> None:
    if command == "summarize":  # streamed parts, cut mid-stream
        fake.default_reply = Reply(words=300, words_per_second=20)
        text = tmp_path / "long.txt"
        text.write_text("\n\n".join(f"Paragraph {i}: " + "word " * 80 for i in range(30)))
        argv = ["summarize", str(text), "--chunk-tokens", "200", "--yes"]
    else:  # the local runner's requests are not streamed: cut while the server holds them
        fake.script(*[Delay(120, Reply("late")) for _ in range(8)])
        lines = tmp_path / "in.jsonl"
        lines.write_text("".join(f'{{"prompt": "q{i}"}}\n' for i in range(8)))
        argv = ["batch", "submit", str(lines), "--local", "--yes", "--concurrency", "4"]
    proc = subprocess.Popen(
        chatcli_argv(*argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=fake_env(tmp_path, fake),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while len(fake.chat_requests()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the four are streaming now
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert b"Traceback" not in err and b"Exception ignored" not in err, err
    sent = len(fake.chat_requests())
    logged = [status for cmd, status, _ in _usage(tmp_path) if cmd == command]
    assert len(logged) == sent, (logged, sent)
    assert logged.count("interrupted") == 4, logged


# -- (4) one bad image among several ----------------------------------------------------------


@pytest.mark.parametrize("bad", ["not an image", "404"])
def test_one_bad_image_keeps_the_others_and_the_request_is_priced(
    fake: FakeOpenAI, tmp_path: Path, bad: str
) -> None:
    good = {"b64_json": base64.b64encode(make_png()).decode()}
    other = (
        {"b64_json": base64.b64encode(b"not an image").decode()}
        if bad == "not an image"
        else {"url": f"{fake.base_url}/no-such-image.png"}
    )
    body = json.dumps({"created": 1, "data": [good, other]})
    fake.script(Raw(body=body), route="images")
    out = tmp_path / "imgout"
    result = run_cli("image", "two cats", "-n", "2", "-m", "dall-e-2", "--size", "256x256",
                     "-o", str(out), env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 5, result.stderr
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    assert path.parent == out and path.read_bytes() == make_png()
    assert sorted(out.iterdir()) == [path]
    assert "1 of 2 images could not be saved (the other 1 saved)" in result.stderr
    ((command, status, cost),) = _usage(tmp_path)  # priced as made: two 256x256 images
    assert (command, status) == ("image", "ok") and cost == pytest.approx(0.032)


# -- (7) paid partial work is kept for a re-run -----------------------------------------------


def test_a_failed_piece_keeps_the_pieces_done_for_the_next_run(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    audio = tmp_path / "talk.wav"
    audio.write_bytes(_varied_wav(6.0))  # three pieces (each its own sound) under the limit
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT="33000")
    fake.script(Reply(), Reply(), Error(400, "bad piece"), route="audio")
    out = tmp_path / "talk.srt"
    failed = run_cli("transcribe", str(audio), "--format", "srt", "-o", str(out), env=env)
    assert failed.returncode == 5, failed.stderr
    assert "the transcripts of 2 pieces of 3 are kept" in failed.stderr
    assert len(fake.uploads) == 3
    again = run_cli("transcribe", str(audio), "--format", "srt", "-o", str(out), env=env)
    assert again.returncode == 0, again.stderr
    assert "2 of 3 pieces were transcribed (and paid for) by an earlier run" in again.stderr
    assert [u.filename for u in fake.uploads[3:]] == ["talk-3.wav"]  # only the missing one
    cues = out.read_text().split("\n\n")
    assert cues[2].splitlines()[:2] == ["3", "00:00:04,000 --> 00:00:06,000"]


def test_a_failed_combining_request_keeps_the_part_summaries(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    text = tmp_path / "parts.txt"
    text.write_text(
        "\n\n".join(f"Paragraph {i} talks about topic {i} in some detail here." for i in range(60))
    )
    env = fake_env(tmp_path, fake)
    fake.script(
        Reply(text="part one summary"), Reply(text="part two summary"),
        Reply(text="part three summary"), Error(400, "combine refused"),
    )  # fmt: skip
    argv = ["summarize", str(text), "--chunk-tokens", "300"]
    failed = run_cli(*argv, env=env)
    assert failed.returncode == 5, failed.stderr
    assert "3 part summaries kept: the same command again sends only what is missing" in (
        failed.stderr
    )
    fake.reset()
    fake.script(Reply(text="the whole summary"))
    again = run_cli(*argv, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "the whole summary"
    (combining,) = fake.chat_requests()  # the parts were not sent (nor paid for) again
    assert "part two summary" in combining.json["messages"][-1]["content"]
    fake.reset()
    fake.default_reply = Reply(text="fresh")
    third = run_cli(*argv, env=env)  # used once, then dropped: a later run starts afresh
    assert third.returncode == 0 and len(fake.chat_requests()) == 4


def _varied_wav(seconds: float, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV whose every second sounds different (pieces of it are not alike)."""
    import io
    import struct
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", (i // rate) * 100 + i % 7)
                               for i in range(int(seconds * rate))))  # fmt: skip
    return buf.getvalue()


# -- (13) speak: a player that cannot play ----------------------------------------------------


def test_a_player_that_cannot_play_is_an_error_and_the_audio_is_kept(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    player = bin_dir / "ffplay"
    player.write_text(
        "#!/bin/sh\necho 'ALSA lib confmisc.c: cannot find card 0' >&2\n"
        "echo 'No more combinations to try, audio open failed' >&2\nexit 0\n"
    )
    player.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    env = fake_env(tmp_path, fake, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    result = run_cli("speak", "hello world", "--format", "wav", env=env, tty=True)
    assert result.returncode == 1, result.stderr
    (kept,) = list(work.iterdir())
    assert re.fullmatch(r"chatcli-speech-\d{8}-\d{6}\.wav", kept.name)
    assert kept.read_bytes().startswith(b"RIFF")
    error = [line for line in result.stderr.splitlines() if line.startswith("chatcli: error:")]
    assert error == [
        "chatcli: error: ffplay could not play the audio (No more combinations to try, audio "
        f"open failed); it was saved to {kept.name}"
    ]


# -- (17) small things ------------------------------------------------------------------------


def test_batch_results_round_costs(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    lines = tmp_path / "b.jsonl"
    lines.write_text('{"id": "b", "prompt": "y"}\n')
    fake.script(Reply(text="e", prompt_tokens=1, completion_tokens=3))  # 1.6000000000000001e-06
    job = run_cli("batch", "submit", str(lines), "--local", "--yes", env=env).stdout.strip()
    with Store.open(tmp_path / "data") as store:
        (cost,) = [r.cost_usd for r in store.usage_rows() if r.command == "batch"]
    assert cost is not None and cost != float(f"{cost:.10g}")  # float noise in the store
    shown = run_cli("batch", "results", job, env=env).stdout
    assert f'"cost_usd": {float(f"{cost:.10g}")!r}' in shown


def test_dry_run_token_range_is_low_to_high(fake: FakeOpenAI, tmp_path: Path) -> None:
    text = tmp_path / "big.txt"  # more parts than a combining request's share of 50 each
    text.write_text("\n\n".join("alpha beta gamma delta epsilon. " * 12 for _ in range(60)))
    result = run_cli("summarize", str(text), "-m", "qwen-max", "--chunk-tokens", "100",
                     "--dry-run", env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = re.search(r"input tokens: ([\d,]+)(?: to ([\d,]+))? \(", result.stdout)
    assert found is not None, result.stdout
    low, high = found.group(1), found.group(2) or found.group(1)
    assert int(low.replace(",", "")) <= int(high.replace(",", ""))


def test_models_show_per_minute_and_per_image_prices(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    rows = {r["id"]: r for r in json.loads(run_cli("models", "--json", env=env).stdout)}
    assert rows["whisper-1"]["minute_price"] == 0.006
    assert rows["dall-e-3"]["image_prices"]["hd 1024x1792"] == 0.12
    table = {line.split()[0]: line for line in run_cli("models", env=env).stdout.splitlines()}
    assert "$0.006/min" in table["whisper-1"]
    assert "$0.04-$0.12/image" in table["dall-e-3"]


def test_summarize_output_folder_is_private(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(text="Short summary.")
    text = tmp_path / "notes.txt"
    text.write_text("Some notes.\n")
    out = tmp_path / "a" / "summaries"
    old = os.umask(0o022)
    try:
        result = run_cli("summarize", str(text), "-o", str(out), env=fake_env(tmp_path, fake))
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("spent", "limit", "figure", "percent"),
    [
        (0.196, 0.20, "$0.19 of your daily budget $0.20", "98%"),
        (0.1999, 0.20, "$0.19 of your daily budget $0.20", "99%"),
        (4.996, 5.0, "$4.99 of your daily budget $5.00", "99%"),
        (0.20, 0.20, "$0.20 of your daily budget $0.20", "100%"),
        (0.25, 0.20, "$0.25 of your daily budget $0.20", "125%"),
        (0.004, 1.0, "$0.004 of your daily budget $1.00", "0%"),
        (0.045, 0.05, "$0.045 of your daily budget $0.05", "90%"),
    ],
)
def test_a_budget_below_its_limit_is_never_shown_as_reached(
    spent: float, limit: float, figure: str, percent: str
) -> None:
    """Rounding up said "$0.20 of $0.20 (100%)" for a budget not used up (note 9)."""
    from chatcli.features.usage.budget import Spending

    s = Spending(name="daily", spent=spent, limit=limit, unknown=False)
    assert (s.figure(), s.percent()) == (figure, percent)
