"""Audit 9, area i18n: Japanese, Korean and Traditional Chinese files in their legacy encodings
are read in them (not as GB18030 garbage), or refused with the iconv hint that names them; file
names that are not UTF-8 work wherever a file is named; JSON output stays JSON on a stdout that
cannot encode a character; ``LC_ALL=C`` without UTF-8 mode takes CJK paths and REPL input;
``summarize`` cuts between grapheme clusters and after full-width sentence ends. Real CLI, real
files, real processes where the locale matters, the fake server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from chatcli.features.summarize.engine import SEPARATOR
from tests.cli_helpers import chatcli_argv, clean_env, fake_env, run_cli, run_process
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Recorded, Reply
from tests.test_transcribe import wav_file
from tests.tmux_helpers import Tmux, wait_until


def sent(request: Recorded) -> str:
    text: str = request.json["messages"][-1]["content"]
    return text


# --- 1: legacy CJK encodings ----------------------------------------------------------------

JAPANESE = (
    "これは日本語のテストファイルです。東京の天気について話しましょう。\n"
    "明日は雨が降るそうですが、週末は晴れる予定です。\n"
)
KOREAN = "대한민국의 수도는 서울이다. 오늘 날씨가 좋다.\n시민들은 공원에서 산책을 즐겼다.\n"
TRADITIONAL = "臺灣天氣很好 我們去臺北\n台北市政府今天宣布，將在明年推動新的交通政策。\n"
NOTEPAD = "①会議のお知らせ～\r\n②日時：３月１５日（金）午後２時から\r\n③場所：本社会議室\r\n"
SIMPLIFIED = "季度报告：收入增长百分之十。\n欧阳修 苏轼 辛弃疾 李清照\n"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (JAPANESE, "shift_jis"),
        (JAPANESE, "euc_jp"),
        (NOTEPAD, "cp932"),  # Notepad's Shift_JIS: NEC circled digits, its own wave dash
        (KOREAN, "euc_kr"),
        (TRADITIONAL, "big5"),
        (SIMPLIFIED, "gb18030"),  # as before
    ],
    ids=["shift_jis", "euc_jp", "cp932", "euc_kr", "big5", "gb18030"],
)
def test_legacy_cjk_files_are_read_in_their_own_encoding(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, encoding: str
) -> None:
    (tmp_path / "legacy.txt").write_bytes(text.encode(encoding))
    (tmp_path / "legacy.csv").write_bytes(f"prompt\n{text.splitlines()[0]}\n".encode(encoding))
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "--no-log", "q", "-f", str(tmp_path / "legacy.txt"), env=env)
    assert result.returncode == 0, result.stderr
    assert sent(fake.chat_requests()[-1]) == f"q\n\nFile legacy.txt:\n```\n{text.rstrip()}\n```"
    piped = run_cli("ask", "--no-log", "q", env=env, input=text.encode(encoding))
    assert piped.returncode == 0, piped.stderr
    assert sent(fake.chat_requests()[-1]) == f"q\n\n{text.rstrip(chr(10))}"
    monkeypatch.chdir(tmp_path)  # the dry run's file is written here
    batch = run_cli("batch", "submit", str(tmp_path / "legacy.csv"), "--dry-run", env=env)
    assert batch.returncode == 0, batch.stderr
    line = (tmp_path / "chatcli-batch-dry-run.jsonl").read_text(encoding="utf-8")
    assert json.loads(line)["body"]["messages"][-1]["content"] == text.splitlines()[0]


@pytest.mark.parametrize(
    ("text", "encoding", "label"),
    [("東京\n", "shift_jis", "SHIFT_JIS"), ("서울\n", "euc_kr", "EUC-KR"),
     ("臺北\n", "big5", "BIG5"), ("東京駅\n", "euc_jp", "EUC-JP")],
)  # fmt: skip
def test_too_short_to_tell_is_refused_with_the_encoding_in_the_hint(
    fake: FakeOpenAI, tmp_path: Path, text: str, encoding: str, label: str
) -> None:
    (tmp_path / "short.txt").write_bytes(text.encode(encoding))
    env = fake_env(tmp_path, fake)
    for args in (("ask", "q", "-f", str(tmp_path / "short.txt")),
                 ("summarize", str(tmp_path / "short.txt"))):  # fmt: skip
        result = run_cli(*args, env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "is not text in UTF-8, UTF-16 or GB18030; it may be" in result.stderr
        assert f"hint: convert it first, e.g. iconv -f {label} -t utf-8" in result.stderr
    assert fake.requests == []


# --- 2: file names that are not UTF-8 ---------------------------------------------------------

GBK_NAME = "报告".encode("gbk")  # what unzip makes of a zip from Chinese Windows
SHOWN = "\\xb1\\xa8\\xb8\\xe6"


def _gbk_file(folder: Path, suffix: str, data: bytes) -> str:
    """A file in ``folder`` whose name is the GBK bytes of 报告, as the OS hands it over."""
    path = os.path.join(os.fsencode(folder), GBK_NAME + suffix.encode())
    with open(path, "wb") as fh:
        fh.write(data)
    return os.fsdecode(path)


def test_a_file_name_that_is_not_utf8_is_attached_summarised_and_batched(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.default_reply = Reply(text="摘要。")
    docs = tmp_path / "docs"
    docs.mkdir()
    name = _gbk_file(docs, ".txt", "季度报告：收入增长百分之十。\n".encode())
    (docs / "b.txt").write_text("second\n", encoding="utf-8")
    env = fake_env(tmp_path, fake)
    asked = run_cli("ask", "--no-log", "总结", "-f", name, env=env)
    assert asked.returncode == 0, asked.stderr
    assert sent(fake.chat_requests()[-1]) == (
        f"总结\n\nFile {SHOWN}.txt:\n```\n季度报告：收入增长百分之十。\n```"
    )
    # a glob holding such a name: every file summarised, the name shown escaped
    summary = run_cli("summarize", name, str(docs / "b.txt"), env=env)
    assert summary.returncode == 0, summary.stderr
    assert f"# {docs}/{SHOWN}.txt\n\n摘要。\n" in summary.stdout
    assert f"# {docs}/b.txt\n" in summary.stdout
    assert "\\udc" not in summary.stdout + summary.stderr
    missing = run_cli("ask", "x", "-f", name.replace(".txt", ".md"), env=env)
    assert missing.returncode == 2
    assert f"chatcli: error: no such file: {docs}/{SHOWN}.md" in missing.stderr
    monkeypatch.chdir(tmp_path)
    csv = _gbk_file(docs, ".csv", "prompt\n你好\n".encode())
    batch = run_cli("batch", "submit", csv, "--dry-run", env=env)
    assert batch.returncode == 0, batch.stderr
    line = (tmp_path / "chatcli-batch-dry-run.jsonl").read_text(encoding="utf-8")
    assert json.loads(line)["body"]["messages"][-1]["content"] == "你好"


def test_audio_whose_name_is_not_utf8_is_transcribed(fake: FakeOpenAI, tmp_path: Path) -> None:
    name = _gbk_file(tmp_path, ".wav", wav_file(tmp_path).read_bytes())
    out = tmp_path / "out"
    result = run_cli("transcribe", name, str(tmp_path / "talk.wav"), "-o", str(out),
                     env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(os.fsencode(out))) == sorted([GBK_NAME + b".txt", b"talk.txt"])
    assert f"{SHOWN}.wav: done" in result.stderr


def test_text_arguments_that_are_not_utf8_are_refused(fake: FakeOpenAI, tmp_path: Path) -> None:
    word = os.fsdecode(GBK_NAME)
    for args in (("ask", word), ("ask", "--session", word, "hi"), ("ask", "-s", word, "hi")):
        result = run_cli(*args, env=fake_env(tmp_path, fake))
        assert result.returncode == 2, result.stderr
        assert f"chatcli: error: argument '{SHOWN}' is not valid UTF-8" in result.stderr
        assert "hint: text arguments are read as UTF-8" in result.stderr
    assert fake.requests == []


# --- 3: JSON on a stdout that cannot encode everything -------------------------------------


def _raw(args: list[str], env: dict[str, str]) -> bytes:
    proc = subprocess.run(chatcli_argv(*args), env=env, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return proc.stdout


@pytest.mark.parametrize("encoding", ["ascii", "big5", "latin-1"])
def test_json_output_stays_json_whatever_stdout_encodes(
    fake: FakeOpenAI, tmp_path: Path, encoding: str
) -> None:
    words = "繁體 好😀 café"
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "--session", "表情", words, env=env).returncode == 0
    env = fake_env(tmp_path, fake, PYTHONIOENCODING=encoding)
    answer = json.loads(_raw(["ask", "--no-log", "--json", words], env).decode(encoding))
    assert answer["answer"] == f"echo(1): {words}"
    found = json.loads(_raw(["sessions", "search", "café", "--json"], env).decode(encoding))
    assert words in json.dumps(found, ensure_ascii=False)
    export = json.loads(
        _raw(["sessions", "export", "表情", "--format", "json"], env).decode(encoding)
    )
    assert export["name"] == "表情"
    assert words in json.dumps(export, ensure_ascii=False)
    # plain text keeps its readable escapes
    plain = _raw(["ask", "--no-log", "好😀"], env).decode(encoding)
    assert plain.startswith("echo(1): ") and "\\U0001f600" in plain


# --- 4: LC_ALL=C without UTF-8 mode ---------------------------------------------------------

C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


def test_c_locale_takes_cjk_paths(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(text="摘要。")
    (tmp_path / "笔记.txt").write_text("内容\n", encoding="utf-8")
    env = fake_env(tmp_path, fake, **C_LOCALE)
    asked = run_process("ask", "--no-log", "总结", "-f", str(tmp_path / "笔记.txt"), env=env)
    assert asked.returncode == 0, asked.stderr
    assert sent(fake.chat_requests()[-1]) == "总结\n\nFile 笔记.txt:\n```\n内容\n```"
    missing = run_process("ask", "x", "-f", str(tmp_path / "没有.txt"), env=env)
    assert missing.returncode == 2, missing.stderr
    assert "chatcli: error: no such file:" in missing.stderr
    summary = run_process("summarize", str(tmp_path / "笔记.txt"), "-o", str(tmp_path / "输出"),
                          env=env)  # fmt: skip
    assert summary.returncode == 0, summary.stderr
    assert (tmp_path / "输出" / "笔记.md").read_text(encoding="utf-8") == "摘要。\n"
    assert sent(fake.chat_requests()[-1]).endswith(f"{SEPARATOR}内容")


def _c_prompt(screen: str) -> bool:
    """The REPL waits for input: its prompt, which an ASCII locale draws as ``?``."""
    lines = [line for line in screen.splitlines() if line.strip()]
    return bool(lines) and lines[-1].rstrip() in ("?", "›")


@pytest.mark.terminal
def test_c_locale_repl_sends_cjk_input(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "笔记.txt").write_text("内容\n", encoding="utf-8")
    env = clean_env(tmp_path, OPENAI_API_KEY=DEFAULT_API_KEY, OPENAI_BASE_URL=fake.base_url,
                    PYTHONPATH=str(Path(__file__).resolve().parent.parent), **C_LOCALE)  # fmt: skip
    tmux = Tmux(env, tmp_path)
    try:
        tmux.start([sys.executable, "-m", "chatcli", "chat", "--session", "C会话"])
        tmux.wait_for(_c_prompt, timeout=60)
        tmux.type("中文输入😀")
        tmux.keys("Enter")
        wait_until(lambda: len(fake.chat_requests()) == 1)
        tmux.wait_for(lambda s: "echo(1):" in s and _c_prompt(s), timeout=30)
        tmux.type(f"/file {tmp_path}/笔记.txt")  # the REPL goes on, and takes a CJK path
        tmux.keys("Enter")
        tmux.wait_for(lambda s: "attached" in s and _c_prompt(s), timeout=30)
        tmux.type("second")
        tmux.keys("Enter")
        wait_until(lambda: len(fake.chat_requests()) == 2)
        assert "unexpected" not in tmux.scrollback()
    finally:
        tmux.kill()
    assert [sent(r) for r in fake.chat_requests()] == [
        "中文输入😀",
        "second\n\nFile 笔记.txt:\n```\n内容\n```",
    ]


# --- 6: summarize cuts between grapheme clusters and after full-width sentence ends ---------

PART = re.compile(r"^This is part (\d+) of (\d+) of a longer text")


def _parts(fake: FakeOpenAI) -> list[str]:
    numbered = []
    for request in fake.chat_requests():
        match = PART.match(sent(request))
        if match:
            numbered.append((int(match.group(1)), sent(request).split(SEPARATOR, 1)[1]))
    return [text for _, text in sorted(numbered)]


def _starts_a_cluster(text: str) -> bool:
    first = text[0]
    return not (
        first in "\u200d\ufe0f" or unicodedata.category(first) in ("Mn", "Mc", "Me")
        or first == "\u0e33"
    )  # fmt: skip


def test_summarize_never_cuts_a_grapheme_cluster(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(text="摘要。")
    unit = "👨\u200d👩\u200d👧\u200d👦" + "e\u0301\u0302" + "ก้ำ" + "한" + "🇨🇳"
    text = unit * 3000
    (tmp_path / "graph.txt").write_text(text, encoding="utf-8")
    result = run_cli("summarize", str(tmp_path / "graph.txt"), "--chunk-tokens", "2000", "--yes",
                     env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 0, result.stderr
    parts = _parts(fake)
    assert len(parts) > 3 and "".join(parts) == text
    for part in parts:
        assert _starts_a_cluster(part), repr(part[:4])
        assert not part.endswith(("\u200d", "🇨")), repr(part[-4:])
        # each part holds whole units' pieces in order: flags stay paired
        assert part.count("🇨") == part.count("🇳")


def test_summarize_cuts_after_full_width_full_stops(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(text="摘要。")
    words = "本研究では提案手法の有効性を実験により検証した結果を示す"
    sentences = [
        "".join(words[(i * 7 + j) % len(words)] for j in range(20 + i % 20)) + "．"
        for i in range(600)
    ]
    text = "".join(sentences)
    (tmp_path / "ja.txt").write_text(text, encoding="utf-8")
    result = run_cli("summarize", str(tmp_path / "ja.txt"), "--chunk-tokens", "2000", "--yes",
                     env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 0, result.stderr
    parts = _parts(fake)
    assert len(parts) > 3 and "".join(parts) == text
    assert all(part.endswith("．") for part in parts)
