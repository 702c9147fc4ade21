"""What ``sessions`` and ``templates`` show and do with awkward contents (audit 7, area shape):
Markdown transcripts that keep each message in its own section whatever it holds, searches
that look at the text of messages only, ``sessions rm`` all or nothing, template variables in
any script with one rule for defaults, front-matter errors at the file's line, and
``templates edit`` leaving nothing behind when the editor fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from chatcli.store import MessageRow, NewMessage, SessionRow, Store
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import CutStream, FakeOpenAI
from tests.test_scripting_audit9 import run_in_terminal

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAFuzu_x"


def sections(markdown: str, level: int = 2) -> list[str]:
    """The text of each top-level heading of ``level`` or above, in order: the transcript's
    structure as a Markdown reader sees it."""
    tokens = MarkdownIt().parse(markdown)
    return [
        tokens[i + 1].content
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.level == 0 and int(t.tag[1:]) <= level
    ]


def _store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "data")


# Markdown transcripts


def test_a_reply_cut_inside_a_code_block_is_closed_at_its_end(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(CutStream("Here is code:\n```python\nimport os\nfor i in range(10):\n    print(i)"))
    assert run_cli("ask", "--session", "md", "code please", env=env).returncode == 6
    assert run_cli("ask", "--session", "md", "after interrupt", env=env).returncode == 0
    shown = run_cli("sessions", "show", "md", env=env).stdout
    model = "Assistant (gpt-6-luna)"
    assert sections(shown) == ["md", "User", model, "User", model]
    tokens = MarkdownIt().parse(shown)
    (fence,) = [t for t in tokens if t.type == "fence"]
    assert fence.content == "import os\nfor i in range(10):\n    print(i)\n"
    paragraphs = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "paragraph_open"]
    assert "_[interrupted]_" in paragraphs and "echo(2): after interrupt" in paragraphs
    out = tmp_path / "md.md"
    assert run_cli("sessions", "export", "md", "-o", str(out), env=env).returncode == 0
    assert out.read_text(encoding="utf-8") == shown


def _hostile_session(tmp_path: Path) -> None:
    """A session whose every message holds something that would pass for structure."""
    call = {"id": "c1", "name": "t", "arguments": '{"q":\n"## User ``` x"}'}
    tool = {"name": "t", "approved": True}
    first = [
        NewMessage("user", "hi\n## Assistant (fake)\n\nI am fake\n\nTitle\n---", 1),
        NewMessage("assistant", "Here:\n~~~py\nx = 1\n## User\n", 1, model="m1",
                   interrupted=True, reasoning="thinking\r## Assistant (r)"),
    ]  # fmt: skip
    second = [
        NewMessage("user", "<!-- an open comment\n\n## User\n\n<pre>\n## User", 1),
        NewMessage("assistant", "", 1, model="m1", tool_calls=[call]),
        NewMessage("tool", "res ```\n## Assistant (tool)\n````", 1, tool_call_id="c1",
                   tool_info=tool),
        NewMessage("assistant", "# Big\nSmall\n===\n### smaller", 1, model="m1"),
    ]  # fmt: skip
    with _store(tmp_path) as store:
        row = store.create_session("h", model="m1", system="Be brief.\n# Rules\n```\nopen")
        store.add_messages(row.id, *first)
        store.add_messages(row.id, *second)


def test_each_message_stays_in_its_own_section_whatever_it_holds(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    _hostile_session(tmp_path)
    shown = run_cli("sessions", "show", "h", env=env).stdout
    assert sections(shown) == [
        "h", "System", "User", "Assistant (m1)", "User", "Assistant (m1)",
        "Tool result: t (ran)", "Assistant (m1)",
    ]  # fmt: skip
    assert "### Rules" in shown and "### Assistant (fake)" in shown  # kept, below the sections
    assert "### Big\n### Small\n##### smaller" in shown  # their order kept
    tokens = MarkdownIt().parse(shown)
    fences = [t.content for t in tokens if t.type == "fence"]
    assert fences == ["open\n", "x = 1\n## User\n", "res ```\n## Assistant (tool)\n````\n"]
    (call,) = [t for t in tokens if t.type == "inline" and "tool call" in t.content]
    assert call.content == '_[tool call]_ ```` t {"q": "## User ``` x"} ````'  # one line

    tree = run_cli("sessions", "export", "h", "--all-branches", env=env).stdout
    assert sections(tree, 3) == [
        "h", "System", "Branch 1 (current)", "User", "Assistant (m1)", "User",
        "Assistant (m1)", "Tool result: t (ran)", "Assistant (m1)",
    ]  # fmt: skip


def test_a_message_awaiting_an_answer_is_marked(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    run_cli("ask", "--session", "p", "answered", env=env)
    with _store(tmp_path) as store:
        row = store.get_session("p")
        assert row is not None
        store.add_messages(row.id, NewMessage("user", "still waiting", 1))
    shown = run_cli("sessions", "show", "p", env=env).stdout
    assert shown.endswith("## User\n\nstill waiting\n\n_[no answer]_\n")
    assert shown.count("[no answer]") == 1
    tree = run_cli("sessions", "export", "p", "--all-branches", env=env).stdout
    assert tree.endswith("### User\n\nstill waiting\n\n_[no answer]_\n")


_LINES = st.sampled_from([
    "```", "````", "~~~", "```py", "  ```", "## User", "# Assistant (x)", "###### deep", "---",
    "===", "text", "<!--", "-->", "<pre>", "</pre>", "<?php", "<!DOCTYPE", "<![CDATA[",
    "<div>", "    indented", "> ## quoted", "- item", "1. one", "", "\r", "[ref]: /url", "`",
])  # fmt: skip


@given(
    texts=st.lists(st.lists(_LINES, max_size=8).map("\n".join), min_size=1, max_size=4),
    system=st.lists(_LINES, max_size=4).map("\n".join),
)
def test_no_text_makes_or_hides_a_section(texts: list[str], system: str) -> None:
    from chatcli.features.sessions.views import _markdown, _markdown_tree

    when = datetime(2026, 12, 5, tzinfo=UTC)
    row = SessionRow(1, "s", when, when, None, None, system or None, None, None)
    roles = ["user", "assistant", "tool"]
    messages = [
        MessageRow(role=roles[i % 3], content=text, tokens=1, id=i + 1, session_id=1,
                   created_at=when, parent_id=i or None, turn=i // 3 + 1)
        for i, text in enumerate(texts)
    ]  # fmt: skip
    names = {"user": "User", "assistant": "Assistant", "tool": "Tool result: ? (not run)"}
    head = ["s", "System"] if system else ["s"]
    expected = head + [names[m.role] for m in messages]
    assert sections(_markdown(row, messages, messages)) == expected
    tree = sections(_markdown_tree(row, messages, messages), 3)
    assert tree == [*head, "Branch 1 (current)", *expected[len(head) :]]


# searching the text of messages only


def _image_session(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        row = store.create_session("att")
        image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
        store.add_messages(
            row.id,
            NewMessage("user", [{"type": "text", "text": "what color"}, image], 1),
            NewMessage("assistant", "Красный: red", 1),
        )


def test_short_searches_and_sessions_list_see_only_the_text_of_messages(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    _image_session(tmp_path)

    def found(text: str) -> list[str]:
        done = run_cli("sessions", "search", text, "--json", env=env)
        return [h["snippet"] for h in json.loads(done.stdout or "[]")]

    for inside_the_image in ("Fu", "_", "iVBORw0KGgo", "image_url", "base64", "ty"):
        assert found(inside_the_image) == [], inside_the_image
        listed = run_cli("sessions", "list", inside_the_image, env=env)
        assert listed.stdout == "", inside_the_image
    assert found("wh") == found("what") == ["what color"]  # LIKE, then the index
    assert found("кр") == found("кра") == ["Красный: red"]  # both fold case in any script
    assert run_cli("sessions", "list", "olo", env=env).stdout.startswith("att ")


# sessions rm: all or nothing


def test_rm_deletes_nothing_when_a_name_is_missing(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    for name in ("a1", "c1"):
        run_cli("ask", "--session", name, "hi", env=env)
    refused = run_cli("sessions", "rm", "a1", "nope", "c1", "gone", env=env)
    assert refused.returncode == 2
    assert refused.stderr == (
        "chatcli: error: no sessions named 'nope', 'gone'\n"
        "hint: nothing was deleted; see: chatcli sessions list\n"
    )
    names = {s["name"] for s in json.loads(run_cli("sessions", "list", "--json", env=env).stdout)}
    assert names == {"a1", "c1"}
    done = run_cli("sessions", "rm", "a1", "c1", "a1", env=env)
    assert done.returncode == 0
    assert done.stderr == "deleted session 'a1'\ndeleted session 'c1'\n"


# templates


def test_variables_named_in_any_script(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "cjk.toml").write_text(
        'prompt = "A {{名字}} B {{城市|北京}} C {{x名}} D {{नाम|राम}}"\n', encoding="utf-8"
    )
    listed = run_cli("templates", "list", env=env).stdout
    assert listed.startswith("cjk  名字, 城市=北京, x名, नाम=राम  (")
    done = run_cli("ask", "--template", "cjk", "-V", "名字=张三", "-V", "x名=值", env=env)
    assert (done.returncode, done.stderr) == (0, "")
    sent = fake.chat_requests()[-1].json["messages"][-1]["content"]
    assert sent == "A 张三 B 北京 C 值 D राम"
    missing = run_cli("ask", "--template", "cjk", "-V", "x名=值", env=env)
    assert missing.returncode == 2
    assert "needs a value for {{名字}}" in missing.stderr and "-V 名字=VALUE" in missing.stderr
    assert len(fake.chat_requests()) == 1


def test_a_default_given_once_applies_everywhere_and_two_defaults_break_it(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "d2.toml").write_text('prompt = "x {{a}} y {{a|dflt}}"\n')
    (folder / "d3.toml").write_text('prompt = "x {{a|one}} y {{a|two}}"\n')
    listed = run_cli("templates", "list", env=env).stdout.splitlines()
    assert listed[0].startswith("d2  a=dflt  (")
    assert listed[1].startswith("d3  (broken: ") and "{{a}} has two defaults" in listed[1]
    done = run_cli("ask", "--template", "d2", "--no-log", env=env)
    assert done.returncode == 0, done.stderr
    assert fake.chat_requests()[-1].json["messages"][-1]["content"] == "x dflt y dflt"
    for command in (["ask", "--template", "d3", "--no-log"], ["templates", "show", "d3"]):
        broken = run_cli(*command, env=env)
        assert broken.returncode == 3, command
        assert "{{a}} has two defaults, 'one' and 'two'" in broken.stderr
    assert len(fake.chat_requests()) == 1


def test_a_front_matter_error_names_the_files_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "bad1.md").write_text('+++\nmodel = "gpt\n+++\nhello\n')
    listed = run_cli("templates", "list", env=env).stdout
    assert "(at line 2, column 13)" in listed, listed
    shown = run_cli("templates", "show", "bad1", env=env)
    assert shown.returncode == 3 and "(at line 2, column 13)" in shown.stderr


def test_edit_leaves_no_skeleton_behind_when_the_editor_fails(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    folder = tmp_path / "templates"
    missing = run_in_terminal({**env, "EDITOR": "nonexistent-ed"}, "templates", "edit", "x3")
    assert missing.returncode == 3
    assert missing.stderr.startswith("chatcli: error: the editor 'nonexistent-ed' was not found")
    assert not (folder / "x3.md").exists()

    failing = tmp_path / "failing-editor"
    failing.write_text('#!/bin/sh\necho "draft" > "$1"\nexit 4\n')
    failing.chmod(0o755)
    failed = run_in_terminal({**env, "EDITOR": str(failing)}, "templates", "edit", "x3")
    assert failed.returncode == 1
    assert "exited with status 4" in failed.stderr and "not created" in failed.stderr
    assert not (folder / "x3.md").exists()

    kept = folder / "kept.md"
    kept.write_text("mine {{input}}\n")
    again = run_in_terminal({**env, "EDITOR": "/bin/false"}, "templates", "edit", "kept")
    assert again.returncode == 1 and "kept as is" in again.stderr
    assert kept.read_text() == "mine {{input}}\n"
