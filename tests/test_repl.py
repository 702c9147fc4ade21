"""The chat REPL in-process: prompt_toolkit reads keys from a pipe, replies come from the fake.

Keys are typed ahead into the pipe (prompt_toolkit keeps typeahead between prompts), so a test
reads as the keystrokes a person would type. Where a key's effect is asynchronous (Tab
completion), the test waits for the input line to change before typing on.
"""

from __future__ import annotations

import functools
import io
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from chatcli.clipboard import copy_to_clipboard
from chatcli.environment import Environment
from chatcli.repl import prepare
from chatcli.repl.commands import SlashCompleter
from chatcli.repl.loop import Repl, footer_text
from chatcli.session import TurnResult
from chatcli.settings.resolve import ChatFlags, Globals, invocation
from chatcli.store import Store
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, Error, FakeOpenAI, Reply

ALT_ENTER = "\x1b\r"
CTRL_J = "\n"
CTRL_C = "\x03"
CTRL_D = "\x04"
UP = "\x1b[A"
LEFT = "\x1b[D"
BACKSPACE = "\x7f"


def paste(text: str) -> str:
    """Keys of a bracketed paste, as a terminal sends it."""
    return f"\x1b[200~{text}\x1b[201~"


class Chat:
    """One REPL run in this process against ``fake``, with stdout/stderr captured."""

    def __init__(self, home: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
        self.home = home
        self.fake = fake
        for key, value in fake_env(home, fake).items():
            monkeypatch.setenv(key, value)
        self.out = io.StringIO()
        self.err = io.StringIO()

    @property
    def environment(self) -> Environment:
        """What the REPL runs in: ``out`` and ``err`` as they are now (a test may swap them)."""
        return Environment(None, self.out, self.err)

    def store(self) -> Store:
        return Store.open(self.home / "data")

    def run(
        self,
        *keys: str,
        opts: ChatFlags | None = None,
        over_budget: bool = False,
        model: str | None = None,
        during: Callable[[Repl, PipeInput], None] | None = None,
    ) -> Repl:
        """Type ``keys`` (then Ctrl-D) into a fresh REPL and run it to the end."""
        with create_pipe_input() as inp, self.store() as store:
            repl = prepare(
                self.environment,
                invocation(Globals(model=model)),
                opts or ChatFlags(),
                store,
                over_budget=over_budget,
                input=inp,
                output=DummyOutput(),
            )
            if during is None:
                inp.send_text("".join(keys) + CTRL_D)
            else:
                feeder = threading.Thread(target=during, args=(repl, inp), daemon=True)
                feeder.start()
            repl.run()
        return repl

    def sent(self) -> list[str]:
        """The last user message of every chat request the fake received."""
        return [r.json["messages"][-1]["content"] for r in self.fake.chat_requests()]


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chat]:
    yield Chat(tmp_path, fake, monkeypatch)


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


# keys


def test_enter_sends_alt_enter_and_ctrl_j_insert_newlines(chat: Chat) -> None:
    chat.run(f"one{ALT_ENTER}two{CTRL_J}three\r")
    assert chat.sent() == ["one\ntwo\nthree"]
    assert "echo(1): one\ntwo\nthree" in chat.out.getvalue()


def test_bracketed_paste_of_many_lines_is_one_message(chat: Chat) -> None:
    chat.run(paste("first line\r\nsecond line\r\n\r\nfourth line") + "\r")
    assert chat.sent() == ["first line\nsecond line\n\nfourth line"]


def test_ctrl_c_at_the_prompt_clears_the_line(chat: Chat) -> None:
    chat.run(f"never sent{CTRL_C}sent\r")
    assert chat.sent() == ["sent"]


def test_cjk_input_edits_by_character(chat: Chat) -> None:
    chat.run(f"你好{LEFT}世\r", f"中文输入{BACKSPACE}{BACKSPACE}测试\r")
    assert chat.sent() == ["你世好", "中文测试"]
    assert "echo(2): 中文测试" in chat.out.getvalue()


def test_ctrl_x_ctrl_e_edits_in_the_editor_then_enter_sends(
    chat: Chat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "written in the editor\\nline 2\\n" > "$1"\n')
    editor.chmod(0o755)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))

    def feed(repl: Repl, inp: PipeInput) -> None:
        inp.send_text("draft\x18\x05")  # Ctrl+X Ctrl+E
        wait_until(lambda: repl.prompt.default_buffer.text.startswith("written"))
        inp.send_text("\r" + CTRL_D)

    chat.run(during=feed)
    assert chat.sent() == ["written in the editor\nline 2"]


def test_history_is_private_and_kept_across_runs(chat: Chat) -> None:
    chat.run("remember me\r")
    history = chat.home / "data" / "history"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert stat.S_IMODE(history.parent.stat().st_mode) == 0o700
    chat.run(f"{UP}\r")
    assert chat.sent() == ["remember me", "remember me"]


def _buffer_reads(repl: Repl, text: str) -> bool:
    return bool(repl.prompt.default_buffer.text == text)


def tab_steps(*steps: tuple[str, str]) -> Callable[[Repl, PipeInput], None]:
    """For each (keys, line): type the keys and Tab, then wait until the input reads line;
    then Enter and Ctrl-D. Completion runs asynchronously, hence the waits."""

    def feed(repl: Repl, inp: PipeInput) -> None:
        for keys, line in steps:
            inp.send_text(keys + "\t")
            wait_until(functools.partial(_buffer_reads, repl, line))
        inp.send_text("\r" + CTRL_D)

    return feed


def test_tab_completes_command_then_model_name(chat: Chat) -> None:
    repl = chat.run(during=tab_steps(("/mo", "/model "), ("gpt-4.1-n", "/model gpt-4.1-nano")))
    assert repl.session.model == "gpt-4.1-nano"


def test_completions_for_commands_and_arguments(
    chat: Chat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text(
        'default_profile = "main"\n'
        "[profiles.main]\n"
        'type = "relay"\n'
        f'base_url = "{chat.fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\n'
        "[profiles.backup]\n"
        'type = "relay"\n'
        f'base_url = "{chat.fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\n'
        "[aliases]\n"
        'fast = "gpt-4o-mini"\n'
        '[models."local-llama"]\n'
        "context_window = 8192\n"
        "[roles.translator]\n"
        'system = "Translate."\n',
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    repl = chat.run()
    completer = SlashCompleter(repl)

    def complete(text: str) -> list[str]:
        """The input line after each completion offered for ``text``."""
        found = completer.get_completions(Document(text), CompleteEvent())
        return [text[: len(text) + c.start_position] + c.text for c in found]

    assert complete("/mo") == ["/model "]
    assert complete("/s") == ["/system ", "/save ", "/sessions", "/schema "]
    assert "/model gpt-4o" in complete("/model gpt-4")
    assert {"/model fast", "/model local-llama"} <= set(complete("/model "))
    assert complete("/profile b") == ["/profile backup"]
    assert complete("/role ") == ["/role translator"]
    assert complete(f"/file {tmp_path}/no") == [f"/file {tmp_path}/notes.txt"]
    assert complete("hello /mo") == []


# slash commands


def test_unknown_command_is_one_line_and_the_repl_goes_on(chat: Chat) -> None:
    chat.run("/frobnicate\r", "still here\r")
    assert "chatcli: error: unknown command /frobnicate\nhint: /help" in chat.err.getvalue()
    assert chat.sent() == ["still here"]


def test_stray_arguments_are_refused_not_swallowed(chat: Chat) -> None:
    chat.run("/exit now\r", "/model gpt-4o extra args\r", "/save a b\r", "/system " + "S" * 5000
             + "\r", "/system\r", "still here\r")  # fmt: skip
    err = chat.err.getvalue()
    assert "chatcli: error: /exit takes no argument\nhint: usage: /exit" in err
    assert "chatcli: error: /model takes one NAME\nhint: usage: /model NAME" in err
    assert "chatcli: error: /save takes one NAME" in err
    assert "… (3,000 more characters)" in err  # a long system prompt is not all shown
    assert chat.sent() == ["still here"]  # the REPL went on, the model was not renamed
    assert chat.fake.chat_requests()[-1].json["model"] != "gpt-4o extra args"


def test_help_lists_every_command(chat: Chat) -> None:
    chat.run("/help\r")
    err = chat.err.getvalue()
    for name in ("/exit", "/new", "/model NAME", "/file PATH", "/copy", "/cost"):
        assert name in err


def test_exit_leaves(chat: Chat) -> None:
    chat.run("/exit\r", "not sent\r")
    assert chat.sent() == []


def test_undo_puts_the_message_back_and_retry_resends(chat: Chat) -> None:
    chat.run("first\r", "second\r", "/undo\r", " edited\r", "/retry\r")
    requests = chat.fake.chat_requests()
    assert chat.sent() == ["first", "second", "second edited", "second edited"]
    last = requests[-1].json["messages"]
    assert [m["content"] for m in last] == ["first", "echo(1): first", "second edited"]
    with chat.store() as store:
        row = store.latest_session()
        assert row is not None
        contents = [m.content for m in store.all_messages(row.id)]
    assert contents == ["first", "echo(1): first", "second edited", "echo(2): second edited"]


def test_model_system_and_role_change_the_next_request(
    chat: Chat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text(
        '[roles.pirate]\nsystem = "Talk like a pirate."\n', encoding="utf-8"
    )
    chat.run(
        "/model gpt-4o\r", "a\r", "/system Be brief.\r", "b\r", "/role pirate\r", "c\r",
        "/system -\r", "d\r",
    )  # fmt: skip
    bodies = [r.json for r in chat.fake.chat_requests()]
    assert [b["model"] for b in bodies] == ["gpt-4o"] * 4
    systems = [b["messages"][0]["content"] if b["messages"][0]["role"] == "system" else None
               for b in bodies]  # fmt: skip
    assert systems == [None, "Be brief.", "Talk like a pirate.", None]


def test_profile_switches_endpoint_and_model(chat: Chat, tmp_path: Path) -> None:
    relay = f'type = "relay"\nbase_url = "{chat.fake.base_url}"\napi_key = "{DEFAULT_API_KEY}"\n'
    (tmp_path / "config.toml").write_text(
        'default_profile = "main"\n'
        f"[profiles.main]\n{relay}"
        f'[profiles.backup]\n{relay}model = "qwen-max"\n',
        encoding="utf-8",
    )
    chat.run("a\r", "/profile backup\r", "b\r", "/profile nowhere\r")
    assert [r.json["model"] for r in chat.fake.chat_requests()] == ["gpt-6-luna", "qwen-max"]
    err = chat.err.getvalue()
    assert "profile backup · model qwen-max" in err
    assert "chatcli: error: unknown profile 'nowhere'" in err
    with chat.store() as store:
        row = store.latest_session()
        assert row is not None
        assert (row.profile, row.model) == ("backup", "qwen-max")


def test_profile_resolves_aliases_and_settings_like_dash_p(chat: Chat, tmp_path: Path) -> None:
    """``/profile NAME`` gives what ``chat -c -p NAME`` gives: the profile's model through the
    aliases, its temperature; the conversation's system prompt stays."""
    relay = f'type = "relay"\nbase_url = "{chat.fake.base_url}"\napi_key = "{DEFAULT_API_KEY}"\n'
    (tmp_path / "config.toml").write_text(
        'default_profile = "main"\n[aliases]\nfast = "gpt-4o-mini"\nsmart = "gpt-4o"\n'
        f"[profiles.main]\n{relay}"
        f'[profiles.backup]\n{relay}model = "smart"\ntemperature = 0.3\n',
        encoding="utf-8",
    )
    chat.run("/system Be brief.\r", "a\r", "/profile backup\r", "b\r")
    bodies = [r.json for r in chat.fake.chat_requests()]
    assert [b["model"] for b in bodies] == ["gpt-6-luna", "gpt-4o"]
    assert bodies[1].get("temperature") == 0.3
    assert bodies[1]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "profile backup · model gpt-4o" in chat.err.getvalue()
    with chat.store() as store:
        row = store.latest_session()
        assert row is not None
        assert (row.profile, row.model, row.system) == ("backup", "gpt-4o", "Be brief.")


def test_file_attaches_to_the_next_message_only(chat: Chat, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# 笔记\nline two\n", encoding="utf-8")
    chat.run(f"/file {notes}\r", "summarise\r", "again\r", "/file /nonexistent\r")
    assert chat.sent() == ["summarise\n\nFile notes.md:\n```\n# 笔记\nline two\n```", "again"]
    assert "chatcli: error: no such file: /nonexistent" in chat.err.getvalue()


def test_new_save_and_sessions(chat: Chat) -> None:
    chat.run("one\r", "/save first-chat\r", "/new\r", "two\r", "/sessions\r")
    assert chat.fake.chat_requests()[-1].json["messages"] == [{"role": "user", "content": "two"}]
    err = chat.err.getvalue()
    assert "session saved as first-chat" in err
    listing = err[err.index("new session started") :]
    assert "first-chat" in listing
    assert "* " in listing  # the current (automatically named) session is marked
    with chat.store() as store:
        assert len(store.list_sessions()) == 2


def test_tokens_and_cost(chat: Chat) -> None:
    chat.run("/cost\r", "hello\r", "/tokens\r", "/cost\r", "/model my-local-model\r", "hi\r",
             "/cost\r")  # fmt: skip
    lines = chat.err.getvalue().splitlines()
    assert "session cost: nothing spent yet" in lines
    assert any(line.startswith("context: ") and "of 1,050,000 tokens" in line for line in lines)
    costs = [line for line in lines if line.startswith("session cost: $")]
    assert len(costs) == 2
    assert costs[1].endswith("plus replies of unknown price")


def test_footer_says_tokens_cost_and_speed(chat: Chat) -> None:
    chat.fake.script(Reply(text="fine", prompt_tokens=1000, completion_tokens=500))
    chat.run("hello\r")
    assert "1000 in · 500 out · $0.00035 · " in chat.err.getvalue()


def test_footer_text_never_calls_an_unknown_price_zero() -> None:
    turn = TurnResult("x", "m", 10, 20, True, None, 0.5, 1.5, "stop", False)
    assert footer_text(turn) == "~10 in · ~20 out · cost unknown · 0.50 s to first token · 20 tok/s"


def test_copy_uses_osc52_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    done = copy_to_clipboard("héllo", tty)
    assert done.sent == ["the terminal (OSC 52)"]
    assert tty.getvalue() == "\x1b]52;c;aMOpbGxv\x07"
    assert done.summary(5).startswith("sent 5 characters to the terminal's clipboard (OSC 52)")


def test_copy_without_a_terminal_or_tool_says_so(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    chat.run("/copy\r", "hi\r", "/copy\r")
    err = chat.err.getvalue()
    assert "chatcli: error: no reply to copy yet" in err
    assert "chatcli: error: no way to reach the clipboard" in err


# turns


def test_an_error_is_one_line_and_the_message_can_be_retried(chat: Chat) -> None:
    chat.fake.script(Error(404, "no such model", "invalid_request_error", "model_not_found"))
    chat.run("try me\r", "/retry\r")
    err = chat.err.getvalue()
    assert "chatcli: error: " in err
    assert "Traceback" not in err
    assert chat.sent() == ["try me", "try me"]
    assert "echo(1): try me" in chat.out.getvalue()


def test_resume_shows_the_last_turns_and_sends_them(chat: Chat) -> None:
    chat.run("one\r", "two\r", "three\r", "four\r")
    chat.err = io.StringIO()
    chat.run("five\r", opts=ChatFlags(cont=True))
    err = chat.err.getvalue()
    assert "4 turns loaded" in err
    assert "… 1 earlier turn\n" in err
    assert "you › two" in err
    assert "ai  › echo(4): four" in err
    assert "you › one" not in err
    assert chat.out.getvalue().endswith("echo(5): five\n")


def test_resume_preview_fits_the_terminal_by_display_width(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prefix, text and ``[interrupted]`` mark together fit a row; CJK counts two columns."""
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", "100")
    chat.run("中文问题" * 40 + "\r", "english " * 40 + "\r")
    chat.err = io.StringIO()
    chat.run("more\r", opts=ChatFlags(cont=True))
    preview = [line for line in chat.err.getvalue().splitlines() if " › " in line]
    assert len(preview) == 4
    for line in preview:
        assert cell_len(line.removeprefix("\x1b[2m").removesuffix("\x1b[0m")) < 100
    assert preview[0].endswith("…")
    assert "earlier turn" not in chat.err.getvalue()


def test_named_session_is_created_then_continued(chat: Chat) -> None:
    chat.run("hello\r", opts=ChatFlags(session="work"))
    chat.run("again\r")  # a new, automatically named session in between
    chat.run("more\r", opts=ChatFlags(session="work"))
    last = chat.fake.chat_requests()[-1].json["messages"]
    assert [m["content"] for m in last] == ["hello", "echo(1): hello", "more"]


# the command


def test_chat_refuses_a_non_terminal_stdin(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("chat", env=fake_env(tmp_path, fake), input="hello\n")
    assert result.returncode == 2
    assert "chatcli: error: chatcli chat needs a terminal on stdin" in result.stderr


def test_chat_help_loads_no_heavy_modules() -> None:
    probe = (
        "import json, sys, io, contextlib\n"
        "from chatcli.__main__ import run\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    code = run(['chat', '--help'])\n"
        "print(json.dumps({'code': code, 'out': out.getvalue(), 'mods': sorted(sys.modules)}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": "100"},
    )  # fmt: skip
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["code"] == 0
    assert "--continue" in result["out"]
    assert [m for m in ("prompt_toolkit", "httpx2", "sqlite3") if m in result["mods"]] == []


def test_spent_budget_refuses_a_turn_and_the_repl_goes_on(chat: Chat) -> None:
    (chat.home / "config.toml").write_text("[defaults]\ndaily_budget_usd = 0.001\n")
    chat.fake.script(Reply(text="pricey", prompt_tokens=0, completion_tokens=2400))
    chat.run("first\r", "second\r", "/exit\r")
    err = chat.err.getvalue()
    assert "chatcli: error: $0.0012 of your daily budget $0.001 is spent" in err
    assert "/budget continue to go on in this session" in err and "--over-budget" not in err
    assert chat.sent() == ["first"]
    chat.fake.script(Reply(text="ok"))
    chat.run("third\r", opts=ChatFlags(cont=True), over_budget=True)
    assert chat.sent() == ["first", "third"]


def test_budget_command_shows_spending_and_lets_the_session_go_on(chat: Chat) -> None:
    (chat.home / "config.toml").write_text("[defaults]\ndaily_budget_usd = 0.001\n")
    chat.fake.script(
        Reply(text="pricey", prompt_tokens=0, completion_tokens=2400), Reply(text="ok")
    )
    chat.run("first\r", "second\r", "/budget\r", "/budget continue\r", "third\r", "/exit\r")
    out = chat.err.getvalue()
    assert "$0.0012 of your daily budget $0.001: 120% spent" in out
    assert "/budget continue to go on for the rest of this session" in out
    assert "budgets no longer stop this session" in out
    assert chat.sent() == ["first", "third"]


def test_file_takes_a_path_as_a_terminal_pastes_a_dropped_file(chat: Chat, tmp_path: Path) -> None:
    """GNOME Terminal pastes '/p/my file.txt', iTerm2 and kitty /p/my\\ file.txt, some a URI."""
    folder = tmp_path / "my docs"
    folder.mkdir()
    (folder / "my file.txt").write_text("dropped", encoding="utf-8")
    spelt = [f"'{folder}/my file.txt'", f'"{folder}/my file.txt"',
             str(folder / "my file.txt").replace(" ", "\\ "),
             f"file://{str(folder).replace(' ', '%20')}/my%20file.txt"]  # fmt: skip
    chat.run(*(f"/file {path}\r" + f"q{n}\r" for n, path in enumerate(spelt)))
    assert chat.sent() == [f"q{n}\n\nFile my file.txt:\n```\ndropped\n```" for n in range(4)]
    assert "error" not in chat.err.getvalue()


def test_tab_on_a_folder_adds_a_slash_so_the_next_tab_goes_inside(
    chat: Chat, tmp_path: Path
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.txt").write_text("x", encoding="utf-8")
    completer = SlashCompleter(chat.run())

    def complete(text: str) -> list[str]:
        found = completer.get_completions(Document(text), CompleteEvent())
        return [text[: len(text) + c.start_position] + c.text for c in found]

    assert complete(f"/file {tmp_path}/su") == [f"/file {tmp_path}/sub/"]
    assert complete(f"/file {tmp_path}/sub/") == [f"/file {tmp_path}/sub/inner.txt"]


def test_role_list_marks_the_role_in_use(chat: Chat, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[roles.pirate]\nsystem = "Talk like a pirate."\n[roles.poet]\nsystem = "Rhyme."\n',
        encoding="utf-8",
    )
    chat.run("/role pirate\r", "/role\r")
    assert "roles: *pirate, poet" in chat.err.getvalue()


def test_file_reads_a_device_or_fifo_bounded_not_to_the_end(chat: Chat) -> None:
    """/dev/zero says its size is 0: the read itself must stop at the limit."""
    chat.run("/file /dev/zero\r", "still here\r")
    assert "chatcli: error: /dev/zero is larger than 20 MiB" in chat.err.getvalue()
    assert chat.sent() == ["still here"]
