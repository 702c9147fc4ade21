"""Sessions through the real CLI: ask -c / --session, and the sessions command group."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import CutStream, Error, FakeOpenAI


def test_plain_ask_is_recorded_one_shot_and_no_log_keeps_only_usage(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "one-off", env=env).returncode == 0
    assert run_cli("ask", "--no-log", "secret", env=env).returncode == 0
    (listed,) = json.loads(run_cli("sessions", "list", "--json", env=env).stdout)
    assert (listed["title"], listed["messages"], listed["one_shot"]) == ("one-off", 2, True)
    from chatcli.store import Store

    with Store.open(tmp_path / "data") as store:
        rows = store.usage_rows()
        assert store.search_messages("secret") == []
    assert [(r.command, r.status, r.model) for r in rows] == [("ask", "ok", "gpt-6-luna")] * 2


def test_named_session_continues_and_exports(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    first = run_cli("ask", "--session", "work", "first question", env=env)
    assert first.stdout == "echo(1): first question\n"
    second = run_cli("ask", "--session", "work", "--json", "second 问题", env=env)
    obj = json.loads(second.stdout)
    assert obj["answer"] == "echo(2): second 问题" and obj["session"] == "work"
    sent = fake.chat_requests()[-1].json["messages"]
    assert [m["content"] for m in sent] == [
        "first question",
        "echo(1): first question",
        "second 问题",
    ]
    third = run_cli("ask", "-c", "and a third", env=env)
    assert third.stdout == "echo(3): and a third\n"

    exported = json.loads(run_cli("sessions", "export", "work", "--format", "json", env=env).stdout)
    assert exported["name"] == "work"
    msgs = exported["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant"] * 3
    assert msgs[3]["content"] == "echo(2): second 问题"
    assert msgs[3]["model"] == "gpt-6-luna" and msgs[3]["completion_tokens"] > 0
    assert msgs[3]["interrupted"] is False and "tokens" in msgs[3]

    md = run_cli("sessions", "show", "work", env=env).stdout
    assert md.startswith("# work\n") and "## User\n\nsecond 问题" in md

    out = tmp_path / "work.md"
    assert run_cli("sessions", "export", "work", "-o", str(out), env=env).returncode == 0
    assert out.read_text(encoding="utf-8") == md

    listing = run_cli("sessions", "list", env=env).stdout
    assert listing.startswith("work ") and "6 msgs" in listing and "first question" in listing
    assert run_cli("sessions", "list", "问题", env=env).stdout.startswith("work ")
    assert run_cli("sessions", "list", "nomatch", env=env).stdout == ""


def test_rename_and_rm(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    run_cli("ask", "--session", "a", "hi", env=env)
    run_cli("ask", "--session", "b", "hi", env=env)
    clash = run_cli("sessions", "rename", "a", "b", env=env)
    assert clash.returncode == 2 and "already exists" in clash.stderr
    assert run_cli("sessions", "rename", "a", "c", env=env).returncode == 0
    assert run_cli("sessions", "rm", "c", env=env).returncode == 0
    names = [s["name"] for s in json.loads(run_cli("sessions", "list", "--json", env=env).stdout)]
    assert names == ["b"]
    missing = run_cli("sessions", "show", "nope", env=env)
    assert missing.returncode == 2 and "no session named 'nope'" in missing.stderr


def test_failed_turn_is_not_saved_but_a_cut_one_is_marked(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    run_cli("ask", "--session", "s", "kept", env=env)
    fake.script(Error(400, "bad request"))
    assert run_cli("ask", "--session", "s", "lost", env=env).returncode == 5
    fake.script(CutStream("half an ans"))
    assert run_cli("ask", "--session", "s", "cut", env=env).returncode == 6
    exported = json.loads(run_cli("sessions", "export", "s", "--format", "json", env=env).stdout)
    assert [(m["content"], m["interrupted"]) for m in exported["messages"]] == [
        ("kept", False),
        ("echo(1): kept", False),
        ("cut", False),
        ("half an ans", True),
    ]
