"""Stored sessions tell the truth (audit 8, area "sessions"): the system prompt each turn was
asked under is part of the history; a turn that another process's writes put on a branch is
said so; ``--template`` on a continued session is for that run only; ``sessions list TEXT``
folds case in every script and cuts long names; titles follow the current first turn; and the
smaller items (``-o -``, grapheme-safe snippets, ``-c`` with nothing to continue, one-shot
marks, empty forks, ``-s`` with ``-r``, the JSON export's unanswered messages, branch counts).

Through the real CLI (in process, or as real processes where two must write at once) and the
REPL in process (``tests/test_repl.py``'s ``Chat``), against the fake server.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import PipeInput
from rich.cells import cell_len

from chatcli.output import log_to
from chatcli.repl.loop import Repl
from chatcli.settings.resolve import ChatFlags
from tests.cli_helpers import chatcli_argv, clean_env, fake_env, run_cli, run_process
from tests.fakes import DEFAULT_API_KEY, Error, FakeOpenAI
from tests.test_repl import CTRL_D, Chat, wait_until

ROLES = (
    '[roles.translator]\nsystem = "Translate to English."\n'
    '[roles.pirate]\nsystem = "Talk like a pirate."\n'
    "[templates.translate]\n"
    'system = "You translate into {{lang|English}}."\n'
    'prompt = "Translate, keeping the tone {{tone}}:\\n{{input}}"\n'
)


@pytest.fixture
def env(fake: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(ROLES, encoding="utf-8")
    return fake_env(tmp_path, fake)


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Chat:
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n", encoding="utf-8")
    return Chat(tmp_path, fake, monkeypatch)


def systems(fake: FakeOpenAI, index: int = -1) -> list[str]:
    """The system messages of a chat request the fake received (the last by default)."""
    sent = fake.chat_requests()[index].json["messages"]
    return [m["content"] for m in sent if m["role"] == "system"]


def exported(env: dict[str, str], name: str, *more: str) -> dict[str, Any]:
    done = run_cli("sessions", "export", name, "--format", "json", *more, env=env)
    assert done.returncode == 0, done.stderr
    obj = json.loads(done.stdout)
    assert isinstance(obj, dict)
    return obj


# 2. the system prompt is part of the history


def test_a_changed_system_prompt_is_kept_at_the_turn_it_changed(
    env: dict[str, str], fake: FakeOpenAI
) -> None:
    assert run_cli("ask", "--session", "p2", "-r", "translator", "one", env=env).returncode == 0
    assert run_cli("ask", "--session", "p2", "-r", "pirate", "two", env=env).returncode == 0
    assert systems(fake) == ["Talk like a pirate."]  # requests carry the current one only
    assert run_cli("ask", "--session", "p2", "-s", "", "three", env=env).returncode == 0
    assert systems(fake) == []

    md = run_cli("sessions", "show", "p2", env=env).stdout
    assert "## System\n\nTranslate to English.\n\n## User\n\none\n" in md
    assert "## System (from turn 2)\n\nTalk like a pirate.\n\n## User\n\ntwo\n" in md
    assert "## System (from turn 3)\n\n_[none]_\n\n## User\n\nthree\n" in md
    assert (
        md.index("Translate to English.") < md.index("one") < md.index("pirate") < md.index("two")
    )

    obj = exported(env, "p2")
    users = [m for m in obj["messages"] if m["role"] == "user"]
    assert [u["system"] for u in users] == ["Translate to English.", "Talk like a pirate.", None]
    assert obj["system"] is None  # the one the next turn will have
    tree = exported(env, "p2", "--all-branches")
    assert "Translate to English." in json.dumps(tree)


def test_a_system_prompt_set_after_the_last_turn_shows_as_the_next_ones(
    env: dict[str, str], fake: FakeOpenAI
) -> None:
    run_cli("ask", "--session", "nx", "-s", "Be brief.", "hello", env=env)
    fake.script(Error(400, "bad request"))  # -s switches the session; no turn is kept
    assert run_cli("ask", "--session", "nx", "-s", "Be long.", "lost", env=env).returncode == 5
    md = run_cli("sessions", "show", "nx", env=env).stdout
    assert md.index("## System\n\nBe brief.") < md.index("hello")
    assert md.rstrip().endswith("## System (from the next turn)\n\nBe long.")


def test_regenerate_asks_a_turn_under_the_prompt_it_had(chat: Chat) -> None:
    chat.run(
        "q one\r",
        "/system Answer in German.\r",
        "q two\r",
        "/regenerate 1\r",
        opts=ChatFlags(session="sysc", system="Answer in French."),
    )
    sent = [r.json["messages"] for r in chat.fake.chat_requests()]
    assert sent[1][0] == {"role": "system", "content": "Answer in German."}
    assert sent[2][0] == {"role": "system", "content": "Answer in French."}  # turn 1's
    assert [m["role"] for m in sent[2]] == ["system", "user"]
    env = fake_env(chat.home, chat.fake)
    md = run_cli("sessions", "show", "sysc", env=env).stdout  # the branch of the new answer
    assert md.index("## System\n\nAnswer in French.") < md.index("q one")
    assert md.rstrip().endswith("## System (from the next turn)\n\nAnswer in German.")
    every = run_cli("sessions", "show", "sysc", "--all-branches", env=env).stdout
    assert every.index("### System (from turn 2)\n\nAnswer in German.") < every.index("q two")


# 3. two processes writing one session


class _AllAtOnce(BaseHTTPRequestHandler):
    """Answers each chat request only once ``server.gate`` (a barrier) has every one of them:
    the processes are all open on the session before any of them saves."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.gate.wait(timeout=30)  # type: ignore[attr-defined]
        answer = {
            "id": "c1", "object": "chat.completion", "created": 1, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        }  # fmt: skip
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_parallel_asks_on_one_session_say_which_went_on_a_branch(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AllAtOnce)
    server.gate = threading.Barrier(3)  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    config = tmp_path / "config.toml"
    config.write_text(
        f'default_profile = "local"\n[profiles.local]\ntype = "relay"\nbase_url = "{base}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\nmodel = "gpt-4o-mini"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    env = clean_env(tmp_path)
    try:
        procs = [
            subprocess.Popen(
                chatcli_argv("ask", "--no-stream", "--session", "par", f"parallel {i}"),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for i in (1, 2, 3)
        ]
        errs = [p.communicate(timeout=60)[1].decode() for p in procs]
    finally:
        server.shutdown()
        server.server_close()
    assert [p.returncode for p in procs] == [0, 0, 0], errs
    told = [e for e in errs if "went on a branch of its own" in e]
    assert len(told) == 2, errs  # the first to save continued the session; the others branched
    assert all("see: chatcli sessions show par --all-branches" in e for e in told)
    every = run_cli("sessions", "show", "par", "--all-branches", env=env).stdout
    assert all(f"parallel {i}" in every for i in (1, 2, 3))


def test_a_repl_told_when_another_chatcli_wrote_meanwhile_and_show_says_newer_branches(
    chat: Chat,
) -> None:
    env = fake_env(chat.home, chat.fake)

    def feed(repl: Repl, inp: PipeInput) -> None:
        try:
            inp.send_text("A says one\r")
            wait_until(lambda: "echo(1): A says one" in chat.out.getvalue())
            other = run_process("ask", "--session", "two", "B says one", env=env)
            assert other.returncode == 0, other.stderr
            inp.send_text("A says two\r")
            wait_until(lambda: "A says two" in chat.out.getvalue())
            inp.send_text("/undo\r")
            wait_until(lambda: "A says two" in repl.prompt.default_buffer.text)
            inp.send_text("\x15")  # Ctrl-U: nothing is sent again
        finally:
            inp.send_text(CTRL_D)

    with log_to(chat.environment):
        chat.run(during=feed, opts=ChatFlags(session="two"))
    err = chat.err.getvalue()
    assert "session 'two' was changed by another chatcli meanwhile" in err
    assert "see: chatcli sessions show two --all-branches" in err
    shown = run_cli("sessions", "show", "two", env=env)
    assert "2 other branches of two have newer messages than the one shown" in shown.stderr
    assert "sessions show two --all-branches" in shown.stderr
    assert "B says one" not in shown.stdout
    every = run_cli("sessions", "show", "two", "--all-branches", env=env)
    assert "B says one" in every.stdout and "A says two" in every.stdout
    assert every.stderr == ""


# 4. --template on a continued session is for that run only


def test_a_template_does_not_switch_a_continued_session(
    env: dict[str, str], fake: FakeOpenAI, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "mt.md").write_text(
        '+++\nmodel = "gpt-4.1-mini"\ntemperature = 0.2\n+++\nSay {{input}}\n', encoding="utf-8"
    )
    run_cli("ask", "--session", "t2", "plain", env=env)
    first = fake.chat_requests()[-1].json["model"]
    done = run_cli("ask", "--session", "t2", "--template", "mt", "hi", env=env)
    assert done.returncode == 0 and "now uses" not in done.stderr, done.stderr
    sent = fake.chat_requests()[-1].json
    assert (sent["model"], sent["temperature"]) == ("gpt-4.1-mini", 0.2)
    run_cli("ask", "--session", "t2", "after", env=env)
    assert fake.chat_requests()[-1].json["model"] == first
    listed = json.loads(run_cli("sessions", "list", "t2", "--json", env=env).stdout)
    assert listed[0]["model"] == first

    run_cli("ask", "--session", "t1", "-s", "Be terse.", "x", env=env)
    done = run_cli("ask", "--session", "t1", "--template", "translate", "-V", "tone=dry",
                   input="bonjour", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert systems(fake) == ["You translate into English."]
    run_cli("ask", "--session", "t1", "later", env=env)
    assert systems(fake) == ["Be terse."]
    md = run_cli("sessions", "show", "t1", env=env).stdout
    assert "## System (from turn 2)\n\nYou translate into English." in md
    assert "## System (from turn 3)\n\nBe terse." in md

    # -m typed by the user still switches the session, and says so
    done = run_cli("ask", "--session", "t2", "--template", "mt", "-m", "gpt-4.1", "y", env=env)
    assert "t2 now uses gpt-4.1" in done.stderr and "-m changes it" in done.stderr
    run_cli("ask", "--session", "t2", "z", env=env)
    assert fake.chat_requests()[-1].json["model"] == "gpt-4.1"


# 5. and 6. sessions list TEXT in every script; long names cut


@pytest.mark.parametrize("text", ["äpfel", "über", "москва", "МОСКВА", "σίσυφος", "grösse"])
def test_sessions_list_matches_any_script_in_any_case(env: dict[str, str], text: str) -> None:
    run_cli("ask", "--session", "ci", "Größe ÄPFEL Über ΣΊΣΥΦΟΣ Москва", env=env)
    run_cli("ask", "--session", "Проект", "x", env=env)
    listed = run_cli("sessions", "list", text, env=env)
    assert listed.stdout.startswith("ci "), listed.stderr
    assert run_cli("sessions", "list", "проЕКТ", env=env).stdout.startswith("Проект ")


def test_sessions_list_cuts_long_names(env: dict[str, str]) -> None:
    long = "a-rather-long-session-name-for-the-quarterly-planning-discussion-with-the-team-2026"
    run_cli("ask", "--session", long, "x", env=env)
    run_cli("ask", "--session", "short", "a normal title here", env=env)
    lines = run_cli("sessions", "list", env=env).stdout.splitlines()
    assert lines[0].startswith("short" + " " * 29 + "2")  # a 32-column name column
    assert lines[1].startswith(long[:31] + "…  ")
    assert lines[0].endswith("a normal title here")
    assert max(cell_len(line) for line in lines) < 120


# 7. the title follows the current first turn


def test_the_title_follows_the_first_turn(chat: Chat) -> None:
    def feed(repl: Repl, inp: PipeInput) -> None:
        try:
            inp.send_text("original secret title\r")
            wait_until(lambda: "echo(1): original secret title" in chat.out.getvalue())
            inp.send_text("/edit 1\r")
            wait_until(lambda: repl.prompt.default_buffer.text == "original secret title")
            inp.send_text("\x15harmless text\r")
            wait_until(lambda: ": harmless text" in chat.out.getvalue())
        finally:
            inp.send_text(CTRL_D)

    chat.run(during=feed, opts=ChatFlags(session="te"))
    env = fake_env(chat.home, chat.fake)
    listed = json.loads(run_cli("sessions", "list", "--json", env=env).stdout)
    assert [(s["name"], s["title"]) for s in listed] == [("te", "harmless text")]
    assert run_cli("sessions", "fork", "te", "--as", "te2", env=env).returncode == 0
    listed = json.loads(run_cli("sessions", "list", "te2", "--json", env=env).stdout)
    assert listed[0]["title"] == "harmless text"
    assert "secret" not in run_cli("sessions", "list", env=env).stdout


# 9. -o - is stdout


def test_export_to_dash_writes_stdout(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run_cli("ask", "--session", "keep9", "x", env=env)
    done = run_cli("sessions", "export", "keep9", "-o", "-", env=env)
    assert done.returncode == 0 and done.stdout.startswith("# keep9\n")
    assert not (tmp_path / "-").exists() and "wrote" not in done.stderr


# 11. the smaller items


def test_repl_sessions_cuts_titles(chat: Chat) -> None:
    env = fake_env(chat.home, chat.fake)
    run_cli("ask", "--session", "zz", "长" * 300, env=env)
    chat.run("/sessions\r")
    lines = [line for line in chat.err.getvalue().splitlines() if "zz" in line]
    assert lines and all(cell_len(line) < 80 for line in lines), lines
    assert lines[0].endswith("长…")


def test_search_snippets_never_end_inside_a_grapheme_cluster(env: dict[str, str]) -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    run_cli("ask", "--session", "long", "长" * 200 + f" {family}" * 30, env=env)
    run_cli("ask", "--session", "marks", "e\u0301" * 100 + " NEEDLE " + "y" * 200, env=env)
    snippets = []
    for needle in ("👨\u200d👩", "NEEDLE"):
        done = run_cli("sessions", "search", needle, "--json", env=env)
        snippets += [hit["snippet"] for hit in json.loads(done.stdout)]
    assert len(snippets) == 4  # each question and its echo
    for snippet in snippets:
        assert not re.search("\u200d…|…\u200d|^\u200d|\u200d$", snippet), snippet
        assert not snippet.startswith(("…\u0301", "\u0301")), snippet


def test_continue_with_nothing_to_continue_says_so(env: dict[str, str]) -> None:
    done = run_cli("ask", "-c", "hello", env=env)
    assert done.returncode == 0
    assert "no conversation to continue; starting a new one" in done.stderr
    done = run_cli("ask", "-c", "again", env=env)
    assert "no conversation to continue" not in done.stderr


def test_a_continued_one_shot_is_no_longer_one_shot(env: dict[str, str]) -> None:
    run_cli("ask", "one-off", env=env)
    assert json.loads(run_cli("sessions", "list", "--json", env=env).stdout)[0]["one_shot"]
    run_cli("ask", "-c", "and more", env=env)
    assert not json.loads(run_cli("sessions", "list", "--json", env=env).stdout)[0]["one_shot"]
    assert "  ask  " not in run_cli("sessions", "list", env=env).stdout


def test_forking_a_session_with_no_turns_is_refused(chat: Chat) -> None:
    chat.run("/save empty\r", "/new\r")
    env = fake_env(chat.home, chat.fake)
    done = run_cli("sessions", "fork", "empty", "--as", "copy", env=env)
    assert done.returncode == 2 and "nothing to fork" in done.stderr
    names = [s["name"] for s in json.loads(run_cli("sessions", "list", "--json", env=env).stdout)]
    assert "copy" not in names


def test_role_with_system_is_a_usage_error(env: dict[str, str], fake: FakeOpenAI) -> None:
    done = run_cli("ask", "-r", "pirate", "-s", "Be terse.", "hi", env=env)
    assert done.returncode == 2 and "-s/--system and -r/--role" in done.stderr
    assert fake.chat_requests() == []


def test_json_export_marks_the_message_awaiting_an_answer(chat: Chat) -> None:
    chat.fake.script(Error(400, "bad request"))
    chat.run("kept\r", opts=ChatFlags(session="aw"))
    chat.run("later\r", opts=ChatFlags(session="aw2"))
    env = fake_env(chat.home, chat.fake)
    obj = exported(env, "aw")
    assert [(m["content"], m["awaiting_answer"]) for m in obj["messages"]] == [("kept", True)]
    obj = exported(env, "aw2", "--all-branches")
    answered = [m for m in obj["all_messages"] if m["role"] == "user"]
    assert [m["awaiting_answer"] for m in answered] == [False]


def test_message_counts_are_of_the_current_branch(chat: Chat) -> None:
    chat.run("q one\r", "/regenerate 1\r", "/regenerate 1\r", opts=ChatFlags(session="cnt"))
    env = fake_env(chat.home, chat.fake)
    listed = json.loads(run_cli("sessions", "list", "cnt", "--json", env=env).stdout)
    assert listed[0]["messages"] == 2
    assert "    2 msgs" in run_cli("sessions", "list", env=env).stdout


def test_turns_stored_without_their_prompt_stand_under_the_sessions(
    env: dict[str, str], tmp_path: Path
) -> None:
    from chatcli.store import NewMessage, Store

    with Store.open(tmp_path / "data") as store:  # as an older chatcli wrote them
        row = store.create_session("old", system="Be kind.")
        store.add_messages(row.id, NewMessage("user", "q", 1), NewMessage("assistant", "a", 1))
    md = run_cli("sessions", "show", "old", env=env).stdout
    assert "## System\n\nBe kind.\n\n## User\n\nq\n" in md and "(from" not in md
    (user, _) = exported(env, "old")["messages"]
    assert "system" not in user and user["awaiting_answer"] is False
    run_cli("ask", "--session", "old", "-s", "Be brief.", "q2", env=env)
    md = run_cli("sessions", "show", "old", env=env).stdout
    assert md.index("Be kind.") < md.index("## System (from turn 2)\n\nBe brief.")
