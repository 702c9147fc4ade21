"""The smaller leftovers of ``chatcli sessions`` (audit 8): a fork's origin follows a rename of
its source and says when the source is gone; a message's images are counted where they are
marked; text after a NUL is found; ``sessions search`` and ``sessions list TEXT`` fold case the
same way (``ß``/``ss``, dotted ``İ``, final sigma), with or without the search index; a session
with nothing on its current branch is listed as empty; a template shadowed by another of its
name is said to be.

Through the real CLI (in process) against the fake server, the REPL in process where only it
makes the case (``tests/test_repl.py``'s ``Chat``), and a database as chatcli 15 migrations old
left it for the migrations.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from chatcli.settings.resolve import ChatFlags
from chatcli.store import MIGRATIONS
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply, make_png
from tests.test_repl import Chat


@pytest.fixture
def env(fake: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    return fake_env(tmp_path, fake)


def exported(env: dict[str, str], name: str) -> dict[str, Any]:
    done = run_cli("sessions", "export", name, "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    obj = json.loads(done.stdout)
    assert isinstance(obj, dict)
    return obj


def header(env: dict[str, str], name: str) -> str:
    """The line about the session under the title of ``sessions show``."""
    done = run_cli("sessions", "show", name, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[2]


# 1. a fork's origin follows its source


def test_a_forks_origin_follows_a_rename_and_says_when_the_source_is_deleted(
    env: dict[str, str],
) -> None:
    run_cli("ask", "--session", "src", "hello one", env=env)
    run_cli("ask", "--session", "src", "hello two", env=env)
    assert run_cli("sessions", "fork", "src", "--at", "1", "--as", "f1", env=env).returncode == 0
    assert run_cli("sessions", "fork", "f1", "--as", "f2", env=env).returncode == 0
    assert run_cli("sessions", "rename", "src", "renamed@2", env=env).returncode == 0
    assert run_cli("sessions", "rename", "f1", "first", env=env).returncode == 0
    assert header(env, "first").endswith("forked from renamed@2 at turn 1_")
    assert header(env, "f2").endswith("forked from first at turn 1_")
    obj = exported(env, "first")
    assert (obj["forked_from"], obj["forked_from_deleted"]) == ("renamed@2@1", False)
    assert "forked_from_deleted" not in exported(env, "renamed@2")  # not a fork

    assert run_cli("sessions", "rm", "renamed@2", env=env).returncode == 0
    assert header(env, "first").endswith(
        "forked from renamed@2 at turn 1 (renamed@2 has been deleted)_"
    )
    obj = exported(env, "first")
    assert (obj["forked_from"], obj["forked_from_deleted"]) == ("renamed@2@1", True)
    # a new session of the old name is not the source
    run_cli("ask", "--session", "renamed@2", "another", env=env)
    assert header(env, "first").endswith("(renamed@2 has been deleted)_")


def _database_at_15(data: Path) -> None:
    """A chatcli.db as the release before this one left it (schema 15): a session, a fork
    of it, a fork of a session since renamed, and the search index of that release (its
    unfolded text, kept by its triggers)."""
    data.mkdir(parents=True, exist_ok=True)
    (data / "chatcli.db").unlink(missing_ok=True)
    conn = sqlite3.connect(data / "chatcli.db", isolation_level=None)
    for statements in MIGRATIONS[:15]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 15")
    now = "2026-11-01T10:00:00.000000+00:00"
    for sid, name, fork in ((1, "src9", None), (2, "copy", "src9@1"), (3, "orphan", "gone@3")):
        conn.execute(
            "INSERT INTO sessions (id, name, created_at, updated_at, model, title, forked_from)"
            " VALUES (?, ?, ?, ?, 'gpt-4o-mini', 't', ?)",
            (sid, name, now, now, fork),
        )
    conn.execute("CREATE VIRTUAL TABLE messages_fts USING fts5(text, tokenize = 'trigram')")
    conn.execute(
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
        " INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.content); END"
    )
    conn.execute(
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
        " DELETE FROM messages_fts WHERE rowid = old.id; END"
    )
    for sid, content in ((1, "Die Straße"), (2, "Die Straße")):
        conn.execute(
            "INSERT INTO messages (session_id, created_at, role, content, tokens, turn)"
            " VALUES (?, ?, 'user', ?, 3, 1)",
            (sid, now, content),
        )
    conn.execute("UPDATE sessions SET head_id = id")  # message i is session i's
    conn.close()


def test_migrations_link_old_forks_and_rebuild_the_search_index(
    env: dict[str, str], tmp_path: Path
) -> None:
    _database_at_15(tmp_path / "data")
    assert run_cli("sessions", "rename", "src9", "src10", env=env).returncode == 0
    assert header(env, "copy").endswith("forked from src10 at turn 1_")
    assert header(env, "orphan").endswith("forked from gone at turn 3 (gone has been deleted)_")
    found = json.loads(run_cli("sessions", "search", "STRASSE", "--json", env=env).stdout)
    assert sorted(h["session"] for h in found) == ["copy", "src10"]
    conn = sqlite3.connect(tmp_path / "data" / "chatcli.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert "messages_fts" not in tables and "messages_fts_insert" not in tables


# 2. images counted where they are marked


def test_show_counts_a_messages_images(env: dict[str, str], tmp_path: Path) -> None:
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(make_png())
    done = run_cli("ask", "--session", "pics", "-f", str(tmp_path / "a.png"),
                   "-f", str(tmp_path / "b.png"), "what are these", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_cli("ask", "--session", "pics", "-f", str(tmp_path / "a.png"), "and this", env=env)
    shown = run_cli("sessions", "show", "pics", env=env).stdout
    assert "what are these\n\n_[2 images attached]_" in shown
    assert "and this\n\n_[image attached]_" in shown


# 3. text after a NUL


def test_text_after_a_nul_is_found_and_stored_as_it_came(
    env: dict[str, str], fake: FakeOpenAI
) -> None:
    fake.script(Reply(text="before\0after the marker"))
    assert run_cli("ask", "--session", "nul", "q", env=env).returncode == 0
    for needle in ("after the", "MARKER", "af"):  # "af": a scan, too short for the index
        found = json.loads(run_cli("sessions", "search", needle, "--json", env=env).stdout)
        assert [h["session"] for h in found] == ["nul"], needle
        assert found[0]["snippet"] == "before after the marker"  # one line, no NUL
        listed = json.loads(run_cli("sessions", "list", needle, "--json", env=env).stdout)
        assert [s["name"] for s in listed] == ["nul"], needle
    plain = run_cli("sessions", "search", "marker", env=env).stdout
    assert "\0" not in plain and plain.endswith("before after the marker\n")
    (_, answer) = exported(env, "nul")["messages"]
    assert answer["content"] == "before\0after the marker"  # the stored text is as it came


# 6. one folding for search and list, with and without the index

FOLDED = "Die Straße am Fluss, ΣΊΣΥΦΟΣ und σοφός in İSTANBUL"


@pytest.mark.parametrize(
    ("needle", "found"),
    [
        ("strasse", True), ("STRASSE", True), ("straße", True), ("STRAẞE", True),
        ("ss", True), ("ß", True), ("flu", True), ("fluß", True),
        ("σίσυφος", True), ("σίσυφοσ", True), ("ΣΟΦΌΣ", True), ("σοφοσ", False),
        ("istanbul", True), ("İstanbul", True), ("İSTANBUL", True), ("ıstanbul", False),
        ("i̇stanbul", False),
    ],
)  # fmt: skip
def test_search_and_list_fold_case_the_same_way(
    env: dict[str, str], needle: str, found: bool
) -> None:
    run_cli("ask", "--session", "de", FOLDED, env=env)
    run_cli("ask", "--session", "other", "nothing of the kind", env=env)

    def both() -> tuple[list[str], list[str]]:
        done = run_cli("sessions", "search", needle, "--json", env=env)
        searched = sorted({h["session"] for h in json.loads(done.stdout)})
        done = run_cli("sessions", "list", needle, "--json", env=env)
        return searched, [s["name"] for s in json.loads(done.stdout)]

    listed_first = run_cli("sessions", "list", needle, "--json", env=env)  # no index yet: a scan
    expected = ["de"] if found else []
    assert [s["name"] for s in json.loads(listed_first.stdout)] == expected
    assert both() == (expected, expected)  # the search built the index: list uses it too
    if found:
        hit = json.loads(run_cli("sessions", "search", needle, "--json", env=env).stdout)[0]
        assert hit["snippet"] in (FOLDED, f"echo(1): {FOLDED}")


def test_names_fold_as_the_text_does(env: dict[str, str]) -> None:
    run_cli("ask", "--session", "Straßenbau", "x", env=env)
    run_cli("ask", "--session", "İzmir", "y", env=env)
    for needle, name in (("STRASSEN", "Straßenbau"), ("izmir", "İzmir"), ("İZMİR", "İzmir")):
        listed = json.loads(run_cli("sessions", "list", needle, "--json", env=env).stdout)
        assert [s["name"] for s in listed] == [name], needle


@pytest.mark.parametrize(
    ("stored", "needle"),
    [
        ("cafe\u0301 cre\u0300me", "caf\u00e9"),  # NFD text (macOS, some IMEs), NFC typed
        ("caf\u00e9 cr\u00e8me", "cafe\u0301"),  # and the other way round
        ("\u1109\u1165\u110b\u116e\u11af \uc5ec\ud589", "\uc11c\uc6b8"),  # 서울 stored as jamo
        ("CAFE\u0301 au lait", "caf\u00e9"),  # case and form at once
    ],
)
def test_canonically_equal_text_is_found(env: dict[str, str], stored: str, needle: str) -> None:
    """Text that is the same to Unicode (one precomposed character, or a letter and its
    combining mark) is found whichever form was typed, by search and by list TEXT."""
    run_cli("ask", "--session", "nfd", stored, env=env)
    listed = json.loads(run_cli("sessions", "list", needle, "--json", env=env).stdout)
    assert [s["name"] for s in listed] == ["nfd"]
    hits = json.loads(run_cli("sessions", "search", needle, "--json", env=env).stdout)
    assert {h["session"] for h in hits} == {"nfd"}
    assert stored in hits[0]["snippet"]  # the snippet shows the text as it was stored


# 5. sessions with nothing on their current branch


def test_empty_sessions_are_listed_as_empty(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = Chat(tmp_path, fake, monkeypatch)
    chat.run("/save saved0\r", "/new\r")
    chat.run("only turn\r", "/undo\r", "\x15", opts=ChatFlags(session="undone"))
    env = fake_env(tmp_path, fake)
    run_cli("ask", "--session", "full", "a question", env=env)
    lines = run_cli("sessions", "list", env=env).stdout.splitlines()
    rows = {line.split()[0]: line for line in lines}
    assert rows["saved0"].endswith(" 0 msgs  gpt-6-luna          (empty)"), lines
    assert rows["undone"].endswith("(empty; 2 msgs on other branches)"), lines
    assert rows["full"].endswith("a question")
    listed = json.loads(run_cli("sessions", "list", "--json", env=env).stdout)
    assert {s["name"]: (s["messages"], s["title"]) for s in listed} == {
        "full": (2, "a question"), "undone": (0, None), "saved0": (0, None)
    }  # fmt: skip


# 4. a shadowed template is said to be


def test_templates_list_and_show_say_what_a_template_shadows(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[templates.rev]\nprompt = "Table {{input}}"\n', encoding="utf-8")
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "rev.md").write_text("Markdown {{input}}\n", encoding="utf-8")
    (folder / "rev.toml").write_text('prompt = "Toml {{input}}"\n', encoding="utf-8")
    (folder / "two.md").write_text("Md {{input}}\n", encoding="utf-8")
    (folder / "two.toml").write_text('prompt = "Toml {{input}}"\n', encoding="utf-8")
    (folder / "solo.md").write_text("Solo {{input}}\n", encoding="utf-8")
    table = f"[templates.rev] in {config}"
    assert run_cli("templates", "list", env=env).stdout.splitlines() == [
        f"rev   input  ({table})",
        f"      not used: {folder / 'rev.toml'} (shadowed by {table})",
        f"      not used: {folder / 'rev.md'} (shadowed by {table})",
        f"solo  input  ({folder / 'solo.md'})",
        f"two   input  ({folder / 'two.toml'})",
        f"      not used: {folder / 'two.md'} (shadowed by {folder / 'two.toml'})",
    ]
    shown = run_cli("templates", "show", "two", env=env).stdout.splitlines()
    assert shown[:2] == [
        f"# two  ({folder / 'two.toml'})",
        f"not used: {folder / 'two.md'} (shadowed by {folder / 'two.toml'})",
    ]
    assert "not used" not in run_cli("templates", "show", "solo", env=env).stdout
    # a broken winner still says what it hides
    (folder / "two.toml").write_text("prompt = \n", encoding="utf-8")
    lines = run_cli("templates", "list", env=env).stdout.splitlines()
    assert lines[-2].startswith("two   (broken: ")
    assert lines[-1] == f"      not used: {folder / 'two.md'} (shadowed by {folder / 'two.toml'})"
