"""``chatcli summarize`` end to end: the real CLI in a subprocess against the fake server."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

import pytest

from chatcli.environment import ManualClock
from chatcli.features.pacing import Limiter
from chatcli.features.summarize.engine import DEFAULT_INSTRUCTIONS, SEPARATOR
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, Error, FakeOpenAI, Recorded, Reply

PARAGRAPHS = [
    f"Paragraph {i}: " + " ".join(f"fact{i}_{j} holds." for j in range(12)) for i in range(14)
]
LONG = "\n\n".join(PARAGRAPHS)
PART = re.compile(r"^This is part (\d+) of (\d+) of a longer text")


@pytest.fixture
def summaries(fake: FakeOpenAI) -> FakeOpenAI:
    """The fake answering every chat request with a short summary."""
    fake.default_reply = Reply(text="Short summary.")
    return fake


def content(request: Recorded) -> str:
    text: str = request.json["messages"][-1]["content"]
    return text


def parts_in_order(fake: FakeOpenAI) -> tuple[list[str], list[Recorded]]:
    """The text slices the part requests carried, by part number, and the other requests."""
    numbered: list[tuple[int, str]] = []
    others = []
    for request in fake.chat_requests():
        match = PART.match(content(request))
        if match:
            numbered.append((int(match.group(1)), content(request).split(SEPARATOR, 1)[1]))
        else:
            others.append(request)
    numbered.sort()
    assert [n for n, _ in numbered] == list(range(1, len(numbered) + 1))
    return [text for _, text in numbered], others


def relay_config(tmp_path: Path, fake: FakeOpenAI, **settings: object) -> dict[str, str]:
    lines = [
        'default_profile = "relay"',
        "[profiles.relay]",
        'type = "relay"',
        f'base_url = "{fake.base_url}"',
        f'api_key = "{DEFAULT_API_KEY}"',
        'model = "gpt-4o-mini"',
        *(f"{k} = {v}" for k, v in settings.items()),
    ]
    (tmp_path / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return clean_env(tmp_path)


def test_short_input_is_one_request(summaries: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("summarize", env=fake_env(tmp_path, summaries), input="A short text.\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Short summary.\n"
    assert result.stderr == ""
    (request,) = summaries.chat_requests()
    assert content(request) == f"{DEFAULT_INSTRUCTIONS}{SEPARATOR}A short text."
    assert request.json["stream"] is True


def test_each_input_summarised_on_its_own(summaries: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("First file.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes("第二个文件。".encode("gb18030"))
    result = run_cli(
        "summarize",
        str(tmp_path / "a.md"),
        "-",
        str(tmp_path / "b.txt"),
        "--instructions",
        "One line, in French.",
        env=fake_env(tmp_path, summaries),
        input="Piped text.",
    )
    assert result.returncode == 0, result.stderr
    sent = sorted(content(r) for r in summaries.chat_requests())
    assert sent == sorted(
        f"One line, in French.{SEPARATOR}{text}"
        for text in ("First file.", "Piped text.", "第二个文件。")
    )
    # each input summarised on its own, printed under its name in input order
    assert result.stdout == "".join(
        f"# {name}\n\nShort summary.\n\n"
        for name in (tmp_path / "a.md", "stdin", tmp_path / "b.txt")
    )


@pytest.mark.parametrize("concurrency", ["1", "3"])
def test_long_input_split_on_paragraphs_then_combined(
    summaries: FakeOpenAI, tmp_path: Path, concurrency: str
) -> None:
    env = fake_env(tmp_path, summaries)
    args = ("summarize", "--chunk-tokens", "200", "--concurrency", concurrency)
    result = run_cli(*args, env=env, input=LONG)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Short summary.\n"
    slices, others = parts_in_order(summaries)
    assert len(slices) > 3
    # contiguous, paragraph-aligned, in order, nothing lost
    assert "\n\n".join(slices) == LONG
    assert all(s.startswith("Paragraph ") and s.endswith("holds.") for s in slices)
    (combine,) = others
    assert combine is summaries.chat_requests()[-1]
    assert f"summarised in {len(slices)} consecutive parts" in content(combine)
    assert content(combine).endswith(f"Part {len(slices)}:\nShort summary.")
    if concurrency == "1":  # one at a time: sent in order
        texts = [content(r) for r in summaries.chat_requests()[:-1]]
        assert [int(PART.match(t).group(1)) for t in texts] == list(range(1, len(slices) + 1))  # type: ignore[union-attr]
    assert f"summarising {len(slices)} parts ({concurrency} at a time)" in result.stderr
    assert f"{len(slices)}/{len(slices)}" in result.stderr
    with sqlite3.connect(tmp_path / "data" / "chatcli.db") as db:
        rows = db.execute("SELECT command, status, model FROM usage").fetchall()
    assert rows == [("summarize", "ok", "gpt-6-luna")] * (len(slices) + 1)


def test_summaries_too_long_to_combine_are_summarised_again(
    summaries: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, summaries)
    # counted exactly (o200k_base), 14 of these still overflow one 120-token request
    summaries.default_reply = Reply(text="Short summary of this part, in a few more words.")
    result = run_cli("summarize", "--chunk-tokens", "120", env=env, input=LONG)
    assert result.returncode == 0, result.stderr
    assert "summarising them again" in result.stderr
    texts = [content(r) for r in summaries.chat_requests()]
    first = [t for t in texts if PART.match(t) and "of 14 " in t]
    second = [t for t in texts if PART.match(t) and "of 14 " not in t]
    assert len(first) == 14 and 1 < len(second) < 14
    assert all(t.split(SEPARATOR, 1)[1].startswith("Part ") for t in second)
    assert f"summarised in {len(second)} consecutive parts" in texts[-1]
    assert len(texts) == 14 + len(second) + 1


def test_chinese_without_spaces_splits_on_sentences(summaries: FakeOpenAI, tmp_path: Path) -> None:
    sentences = [f"第{i}句话讲的是一件很重要的事情，而且没有任何空格。" for i in range(30)]
    text = "".join(sentences[:20]) + "\n\n" + "".join(sentences[20:])
    env = fake_env(tmp_path, summaries)
    result = run_cli("summarize", "--chunk-tokens", "100", env=env, input=text)
    assert result.returncode == 0, result.stderr
    slices, _ = parts_in_order(summaries)
    assert len(slices) >= 4
    assert all(s.endswith("。") for s in slices)
    assert "".join(slices) == text.replace("\n\n", "")


def test_requests_per_minute_spaces_request_starts(
    summaries: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = relay_config(tmp_path, summaries, requests_per_minute=600)
    clock = ManualClock()
    started = clock.monotonic()
    result = run_cli("summarize", "--chunk-tokens", "200", env=env, input=LONG, clock=clock)
    assert result.returncode == 0, result.stderr
    assert "at most 600/min" in result.stderr
    starts = len(summaries.chat_requests())
    assert starts >= 5
    # the starts were spaced 60/600 s apart on the command's clock (which never really waits)
    assert clock.monotonic() - started >= (starts - 1) * 0.1 - 1e-9


def test_a_part_cut_at_the_token_limit_is_reported(summaries: FakeOpenAI, tmp_path: Path) -> None:
    summaries.script(Reply(text="Half a summ", finish_reason="length"))
    env = relay_config(tmp_path, summaries)
    result = run_cli("summarize", "--chunk-tokens", "200", "--concurrency", "1", env=env,
                     input=LONG)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"the summary of part 1 of \d+ was cut at the token limit \(finish_reason=length\)",
        result.stderr,
    ), result.stderr


def test_a_filtered_part_fails_the_input_with_exit_5(summaries: FakeOpenAI, tmp_path: Path) -> None:
    summaries.script(Reply(text="", finish_reason="content_filter"))
    env = relay_config(tmp_path, summaries)
    result = run_cli("summarize", "--chunk-tokens", "200", "--concurrency", "1", env=env,
                     input=LONG)  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert "was stopped by the provider's content filter" in result.stderr
    assert "part 1 of" in result.stderr and result.stdout == ""


def test_limiter_is_shared_across_threads() -> None:
    stop = threading.Event()
    clock = ManualClock()
    limiter = Limiter(1200, clock)  # 50 ms apart
    started = clock.monotonic()
    threads = [threading.Thread(target=limiter.wait, args=(stop,)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # five starts, one slot each: the last cannot begin before 4 x 50 ms
    assert clock.monotonic() - started >= 0.2 - 1e-9
    waits = len(clock.slept)
    Limiter(None, clock).wait(stop)  # no limit: returns at once
    assert len(clock.slept) == waits


def test_failing_part_fails_the_command(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(text="Short summary.", delay=0.2)
    fake.script(Error(500))
    env = relay_config(tmp_path, fake, max_retries=0)
    result = run_cli("summarize", "--chunk-tokens", "200", env=env, input=LONG)
    assert result.returncode == 5, result.stderr
    assert result.stdout == ""
    assert "answered 500" in result.stderr
    assert "Traceback" not in result.stderr
    assert all(PART.match(content(r)) for r in fake.chat_requests())  # no combine request


def test_bad_input_refused(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "blank.txt").write_text("\n  \n")
    binary = run_cli("summarize", env=env, input=b"\x7fELF\x02\x01\x01" + bytes(range(256)))
    empty = run_cli("summarize", env=env, input=b"")
    blank = run_cli("summarize", str(tmp_path / "blank.txt"), env=env)
    missing = run_cli("summarize", str(tmp_path / "nope.txt"), env=env)
    wav = run_cli("summarize", env=env, input=b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64)
    for result in (binary, empty, blank, missing, wav):
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
    assert "piped input is an executable, not text" in binary.stderr
    assert "hint: chatcli summarize reads text" in binary.stderr
    assert "nothing to summarise: the input is empty" in empty.stderr
    assert "nothing to summarise" in blank.stderr
    assert "no such file" in missing.stderr
    assert "chatcli transcribe" in wav.stderr
    assert fake.requests == []


def test_parts_fit_the_window_the_endpoint_states(summaries: FakeOpenAI, tmp_path: Path) -> None:
    from chatcli.tokens import count_text

    summaries.models = ["local-llm"]
    summaries.model_meta = {"local-llm": {"max_model_len": 1024}}  # as vLLM lists it
    text = "\n\n".join(PARAGRAPHS * 4)
    env = fake_env(tmp_path, summaries)
    result = run_cli("summarize", "-m", "local-llm", env=env, input=text)
    assert result.returncode == 0, result.stderr
    assert "context window of local-llm is unknown" not in result.stderr
    slices, _ = parts_in_order(summaries)
    assert len(slices) > 2
    assert all(count_text(s, None).n < 1024 for s in slices)
    assert "\n\n".join(slices) == text
