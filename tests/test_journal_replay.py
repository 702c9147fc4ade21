"""The recovery journal replayed by a real command into a real database: an entry that can
never be written (not JSON, a wrong shape or type) is set aside in ``recovery.rejected.jsonl``
with one notice, and neither blocks the good entries around it nor any later command."""

from __future__ import annotations

import json
import stat
from dataclasses import asdict
from pathlib import Path

from chatcli.store import Store
from chatcli.store.records import NewMessage, UsageRecord
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI

ODD = "line\u2028separator and next\u0085line"  # str.splitlines() would cut the entry here


def usage(**fields: object) -> dict[str, object]:
    return {**asdict(UsageRecord("gpt-4o-mini", "openai", "ask", "ok", 3, 4)), **fields}


def turn_entry(entry_id: str, name: str, answer: str) -> dict[str, object]:
    messages = [asdict(NewMessage("user", "q", 1)), asdict(NewMessage("assistant", answer, 2))]
    session = {"id": None, "name": name, "one_shot": False, "profile": "openai",
               "model": "gpt-4o-mini", "system": None, "role": None}  # fmt: skip
    turn = {"session": session, "messages": messages}
    return {"id": entry_id, "turn": turn, "usage": usage()}


BAD = [
    b'{"id": "cut", "usage": {"model": "m", "prof',  # a torn line
    json.dumps({"id": "u1", "usage": {"x": 1}}).encode(),  # missing fields
    json.dumps({"id": "u2", "usage": usage(prompt_tokens="3")}).encode(),  # wrong type
    json.dumps({"id": "t1", "turn": {"session": {"name": ["x"]}, "messages": []}}).encode(),
    json.dumps({"id": "t2", "turn": {"messages": [{"role": 5, "content": {"a": 1}}]}}).encode(),
    json.dumps(
        {"id": "t3", "turn": {"messages": [{"role": "user", "content": [1], "tokens": 1}]}}
    ).encode(),
    json.dumps({"id": "b1", "batch": {"result": {}}}).encode(),
    json.dumps({"id": "j1", "job": {"id": 1, "state": "bogus"}}).encode(),
    json.dumps(["not", "an", "entry"]).encode(),
    b"\xff\xfe not utf-8",
]


def test_bad_entries_are_set_aside_and_the_good_ones_written(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    data = tmp_path / "data"
    assert run_cli("ask", "seed", env=env).returncode == 0
    good = [
        json.dumps(turn_entry("g1", "kept", ODD), ensure_ascii=False).encode(),
        json.dumps({"id": "g2", "usage": usage(command="summarize")}).encode(),
    ]
    lines = [good[0], *BAD[:5], good[1], *BAD[5:]]
    (data / "recovery.jsonl").write_bytes(b"\n".join(lines) + b"\n")

    first = run_cli("sessions", "list", env=env)
    assert first.returncode == 0, first.stderr
    rejected = data / "recovery.rejected.jsonl"
    notices = first.stderr.splitlines()
    assert (
        notices[0] == "chatcli: wrote 2 saved answers from the recovery journal into the database"
    )
    assert len(notices) == 2 and notices[1].startswith(f"chatcli: {len(BAD)} recovery journal")
    assert notices[1].endswith(f"were set aside in {rejected}")
    assert "kept" in first.stdout
    assert rejected.read_bytes() == b"".join(line + b"\n" for line in BAD)  # byte for byte
    assert stat.S_IMODE(rejected.stat().st_mode) == 0o600
    assert not list(data.glob("recovery.jsonl*"))
    with Store.open(data) as store:
        row = store.get_session("kept")
        assert row is not None
        assert [m.content for m in store.all_messages(row.id)] == ["q", ODD]
        assert sorted(r.command for r in store.usage_rows()) == ["ask", "ask", "summarize"]

    again = run_cli("ask", "hi", env=env)  # set aside for good: not replayed, not said again
    assert again.returncode == 0 and again.stderr == ""
    assert rejected.read_bytes() == b"".join(line + b"\n" for line in BAD)


def test_one_bad_entry_alone_does_not_block_any_command(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    data = tmp_path / "data"
    assert run_cli("ask", "seed", env=env).returncode == 0
    (data / "recovery.jsonl").write_text(json.dumps({"id": "u1", "usage": {"x": 1}}) + "\n")
    result = run_cli("usage", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "chatcli: 1 recovery journal entry could not be written into the database (usage: "
        f"'model' is missing) and was set aside in {data / 'recovery.rejected.jsonl'}\n"
    )
    assert not list(data.glob("recovery.jsonl*"))
    assert run_cli("sessions", "list", env=env).stderr == ""


def test_a_journaled_job_state_does_not_undo_a_later_one(fake: FakeOpenAI, tmp_path: Path) -> None:
    from tests.test_batch import write_jsonl

    env = fake_env(tmp_path, fake)
    data = tmp_path / "data"
    inputs = write_jsonl(tmp_path / "in.jsonl", 2)
    submitted = run_cli("batch", "submit", str(inputs), "--local", "--yes", env=env)
    assert submitted.returncode == 0, submitted.stderr
    name = submitted.stdout.strip()
    with Store.open(data) as store, store._write() as conn:
        job_id = conn.execute("SELECT id FROM batch_jobs WHERE name = ?", (name,)).fetchone()[0]
        conn.execute("UPDATE batch_jobs SET state = 'cancelled', completed = 0 WHERE id = ?",
                     (job_id,))  # fmt: skip
    job = {"id": job_id, "state": "done", "finished_at": "2026-01-01", "runner": "elsewhere:1"}
    entry = {"id": "j1", "job": job}
    (data / "recovery.jsonl").write_text(json.dumps(entry) + "\n")
    listed = run_cli("batch", "list", "--json", env=env)
    assert listed.returncode == 0 and listed.stderr == ""
    [job] = json.loads(listed.stdout)
    assert (job["state"], job["completed"]) == ("cancelled", 2)  # recounted, state kept
