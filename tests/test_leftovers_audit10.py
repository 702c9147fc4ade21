"""audit10 leftovers: a template's schema stands in ``chat``; ``batch results`` keeps the answer a
failed ``--schema`` line paid for; a secret's command that fails on an unset variable names it;
``/help``'s ``/budget`` and ``/file``; what ``summarize`` and ``transcribe`` say a file is; the
proxy errors name follows httpx2's ``NO_PROXY`` (CIDR, ``*``); a first ``ask`` without a key
leaves no data dir. The real CLI (or the in-process REPL) against the fake server."""

from __future__ import annotations

import io
import json
import socket
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import clean_env, fake_env, json_documents, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Reply
from tests.test_repl import CTRL_D, Chat

PERSON = '[templates.person]\nprompt = "Extract the person: {{input}}"\nschema = "name, age int"\n'


def _chat_with(chat: Chat, keys: str, **options: Any) -> None:
    """``chat`` with ``options`` (``template=``, ``schema=``), ``keys`` typed, then Ctrl-D."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from chatcli.repl import prepare
    from chatcli.settings.resolve import ChatFlags, Globals, invocation

    with create_pipe_input() as inp, chat.store() as store:
        repl = prepare(chat.environment, invocation(Globals()), ChatFlags(), store,
                       input=inp, output=DummyOutput(), **options)  # fmt: skip
        inp.send_text(keys + CTRL_D)
        repl.run()


# -- 1: chat --template NAME takes the template's schema ---------------------------------------


def test_chat_template_schema_stands_for_every_reply(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text(PERSON)
    chat = Chat(tmp_path, fake, monkeypatch)
    _chat_with(chat, "Alice is 30\rBob is 40\r", template="person")
    requests = fake.chat_requests()
    assert len(requests) == 2
    assert all(r.json["response_format"]["type"] == "json_schema" for r in requests)
    assert requests[0].json["messages"][-1]["content"] == "Extract the person: Alice is 30"
    assert [set(doc) for doc in json_documents(chat.out.getvalue())] == [{"name", "age"}] * 2
    assert "every reply is JSON valid against" in chat.err.getvalue()


def test_chat_template_schema_multi_and_schema_flag_winning(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text(PERSON)
    chat = Chat(tmp_path, fake, monkeypatch)
    _chat_with(chat, "people\r", template="person", schema=(None, True))
    sent = fake.chat_requests()[-1].json["response_format"]["json_schema"]["schema"]
    assert sent["properties"]["items"]["type"] == "array"  # a list of the template's records
    _chat_with(chat, "a city\r", template="person", schema=("city", False))  # --schema wins
    sent = fake.chat_requests()[-1].json["response_format"]["json_schema"]["schema"]
    assert set(sent["properties"]) == {"city"}
    # on the command line --schema-multi with a template is not refused for lack of --schema
    done = run_cli("chat", "--template", "person", "--schema-multi", env=fake_env(tmp_path, fake))
    assert done.returncode == 2 and "needs a terminal" in done.stderr, done.stderr


# -- 2: batch results keeps the answer of a line that failed validation ------------------------


def test_batch_results_show_the_paid_answer_of_an_invalid_line(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.batch_api.enabled = False
    fake.script(Reply(), Reply(structured="invalid"))
    env = fake_env(tmp_path, fake)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"q {i}"}) + "\n"
                              for i in range(2)))  # fmt: skip
    done = run_cli("batch", "submit", str(inputs), "--schema", "name, age int",
                   "--concurrency", "1", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = run_cli("batch", "results", done.stdout.strip(), env=env)
    ok, bad = (json.loads(line) for line in result.stdout.splitlines())
    assert ok["data"] == {"name": "example", "age": 0} and ok["error"] is None
    assert bad["data"] is None and "not valid against the schema" in bad["error"]
    assert bad["answer"] is not None and set(json.loads(bad["answer"])) == {"name", "age"}
    assert bad["usage"] is not None


# -- 3: a secret's command that fails on an unset variable names it ----------------------------


@pytest.mark.parametrize("where", ["key", "header"])
def test_a_secret_command_failing_on_an_unset_variable_names_it(
    fake: FakeOpenAI, tmp_path: Path, where: str
) -> None:
    cmd = 'printf %s \\"${RELAY_SECRET_X:?}\\"'
    secret = f'api_key_cmd = "{cmd}"' if where == "key" else 'api_key_env = "RELAY_KEY_Y"'
    header = f'\n[profiles.r.headers]\n"X-Sig" = {{ cmd = "{cmd}" }}' if where == "header" else ""
    (tmp_path / "config.toml").write_text(
        f'default_profile = "r"\n[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f"{secret}{header}\n"
    )
    done = run_cli("ask", "hi", env=clean_env(tmp_path, RELAY_KEY_Y=DEFAULT_API_KEY))
    assert done.returncode == 3, done.stderr
    setting = "api_key_cmd of profile 'r'" if where == "key" else "header X-Sig of profile 'r'"
    fix = "api_key_cmd in [profiles.r]" if where == "key" else "headers in [profiles.r]"
    assert done.stderr.splitlines() == [
        "chatcli: error: environment variable RELAY_SECRET_X is not set, or empty "
        f"(needed by {setting})",
        f"hint: set it (export RELAY_SECRET_X=...), or change {fix}",
    ]
    assert fake.chat_requests() == []
    env = clean_env(tmp_path, RELAY_SECRET_X=DEFAULT_API_KEY, RELAY_KEY_Y=DEFAULT_API_KEY)
    assert run_cli("ask", "hi", env=env).returncode == 0


# -- 4: /help ---------------------------------------------------------------------------------


def test_help_writes_budget_argument_optional_and_file_takes_documents_and_urls(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = Chat(tmp_path, fake, monkeypatch)
    chat.run("/help\r")
    lines = {line.split()[0]: line for line in chat.err.getvalue().splitlines() if "  /" in line}
    assert lines["/budget"].split()[1] == "[continue]"
    assert "document" in lines["/file"] and "URL" in lines["/file"]


# -- 5: what summarize and transcribe say a file is --------------------------------------------


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def test_summarize_hint_names_rtf(fake: FakeOpenAI, tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02\x03" * 64)
    done = run_cli("summarize", str(blob), env=fake_env(tmp_path, fake))
    assert done.returncode == 2
    assert "hint: chatcli summarize reads text and documents (PDF, DOCX, ODT, EPUB, HTML, RTF)" in (
        done.stderr
    )


HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200
_WORD = '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>'
NOT_AUDIO = [  # (file, what it is said to be, what the hint points to)
    ("photo.heic", "is a HEIC image", "chatcli ask -f FILE"),  # an ISO media file, not video
    ("shot.png", "is an image (PNG)", "chatcli ask -f FILE"),
    ("letter.docx", "is a Word document (DOCX)", "chatcli summarize"),
    ("sheet.xlsx", "is an Excel workbook (XLSX)", "chatcli ask -f FILE"),
    ("notes.rtf", "is an RTF document", "chatcli summarize"),
]


def _write(path: Path) -> Path:
    if path.suffix == ".docx":
        return _zip(path, {"[Content_Types].xml": "<Types/>", "word/document.xml": _WORD})
    if path.suffix == ".xlsx":
        return _zip(path, {"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"})
    if path.suffix == ".rtf":
        path.write_bytes(b"{\\rtf1\\ansi a talk about {\\b nothing}.}\n" * 20)
    else:
        path.write_bytes(HEIC if path.suffix == ".heic" else b"\x89PNG\r\n\x1a\n" + b"\0" * 200)
    return path


def test_transcribe_names_what_a_file_that_is_not_audio_is(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    for name, said, hint in NOT_AUDIO:
        done = run_cli("transcribe", str(_write(tmp_path / name)), env=env)
        assert done.returncode == 2, (name, done.stderr)
        first, second = done.stderr.splitlines()[:2]
        assert said in first and "(transcription takes" in first, first
        assert hint in second and "ffmpeg" not in second, second
    assert fake.requests == []  # nothing uploaded, nothing paid


# -- 6: the proxy named in errors follows httpx2's NO_PROXY --------------------------------------


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_host_no_proxy_exempts_by_cidr_or_star_is_not_said_to_be_behind_the_proxy(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n")
    for no_proxy, proxied in [("127.0.0.0/8", False), ("10.0.0.0/8,*", False), ("*", False),
                              ("10.0.0.0/8", True)]:  # fmt: skip
        endpoint, proxy = _dead_port(), _dead_port()
        env = clean_env(tmp_path, OPENAI_API_KEY=DEFAULT_API_KEY, NO_PROXY=no_proxy,
                        OPENAI_BASE_URL=f"http://127.0.0.1:{endpoint}/v1",
                        HTTP_PROXY=f"http://127.0.0.1:{proxy}")  # fmt: skip
        for lower in ("no_proxy", "http_proxy", "all_proxy"):
            env.pop(lower, None)
        done = run_cli("ask", "hi", env=env)
        assert done.returncode == 6, done.stderr
        first = done.stderr.splitlines()[0]
        if proxied:  # the request went through the proxy: it is named, and where it was set
            assert f"the proxy http://127.0.0.1:{proxy}" in first, first
            assert "(from the environment's HTTP_PROXY)" in first
        else:  # httpx2 connected directly: the endpoint is the one that is down
            assert first.startswith(
                f"chatcli: error: cannot connect to http://127.0.0.1:{endpoint}"
            )
            assert "proxy" not in first, (no_proxy, first)


# -- 7: a first run without a key leaves nothing behind ----------------------------------------


@pytest.mark.parametrize("command", [["ask", "hi"], ["cmd", "list", "files"]])
@pytest.mark.parametrize("configured", [False, True])
def test_a_first_run_without_a_key_creates_no_data_dir(
    tmp_path: Path, command: list[str], configured: bool
) -> None:
    fresh = tmp_path / "fresh"
    if configured:
        (tmp_path / "config.toml").write_text(
            '[profiles.r]\ntype = "relay"\nbase_url = "http://127.0.0.1:9/v1"\n'
            'api_key_env = "NO_SUCH_KEY_X"\n'
        )
    done = run_cli(*command, env=clean_env(tmp_path, CHATCLI_HOME=str(fresh)))
    assert done.returncode == 3, done.stderr
    said = "no API key found for profile 'r'" if configured else "no profile configured"
    assert said in done.stderr
    assert not fresh.exists()


def test_a_first_chat_without_a_key_creates_no_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from chatcli.environment import Environment
    from chatcli.errors import ConfigError
    from chatcli.repl import run
    from chatcli.settings.resolve import ChatFlags, Globals, invocation

    fresh = tmp_path / "fresh"
    for key, value in clean_env(tmp_path, CHATCLI_HOME=str(fresh)).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with create_pipe_input() as pipe, pytest.raises(ConfigError, match="no profile configured"):
        run(Environment(None, io.StringIO(), io.StringIO()), invocation(Globals()), ChatFlags(),
            input=pipe, output=DummyOutput())  # fmt: skip
    assert not fresh.exists()
