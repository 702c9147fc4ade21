"""A local batch run's failed requests are said, and a run in which all of them failed ends as
a remote batch that failed does (SPEC §7: 6 when the network failed them, else 5), never a
silent 0 a script would take for success."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import Error, FakeOpenAI
from tests.test_batch import write_jsonl


def _env(tmp_path: Path, fake: FakeOpenAI, **extra: str) -> dict[str, str]:
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n")
    return fake_env(tmp_path, fake, **extra)


def test_every_request_refused_a_connection_exits_6(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = _env(tmp_path, fake, OPENAI_BASE_URL="http://127.0.0.1:1/v1")
    inputs = write_jsonl(tmp_path / "in.jsonl", 3)
    result = run_cli("batch", "submit", str(inputs), "--local", "--yes", env=env)
    assert result.returncode == 6, result.stderr
    name = result.stdout.strip()
    error, hint = result.stderr.splitlines()[-2:]
    assert error.startswith(f"chatcli: error: batch job {name} failed: cannot connect")
    assert hint == (
        f"hint: see: chatcli batch results {name}; chatcli batch retry {name} sends them again"
    )
    listed = run_cli("batch", "list", env=env).stdout
    assert f"{name}  failed" in listed and "0/3 done, 3 failed" in listed


def test_every_request_failed_by_the_server_exits_5_and_retry_sends_them(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = _env(tmp_path, fake)
    fake.script(*[Error(500)] * 3)
    inputs = write_jsonl(tmp_path / "in.jsonl", 3)
    result = run_cli("batch", "submit", str(inputs), "--local", "--yes", env=env)
    assert result.returncode == 5, result.stderr
    name = result.stdout.strip()
    assert f"chatcli batch retry {name}" in result.stderr
    retried = run_cli("batch", "retry", name, env=env)  # a local job is retried locally
    assert retried.returncode == 0, retried.stderr
    again = run_cli("batch", "wait", retried.stdout.strip(), env=env)
    assert again.returncode == 0, again.stderr
    assert "3 completed, 0 failed" in again.stderr


def test_some_requests_failed_says_so_and_exits_0(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = _env(tmp_path, fake)
    fake.script(Error(500))
    inputs = write_jsonl(tmp_path / "in.jsonl", 3)
    result = run_cli(
        "batch", "submit", str(inputs), "--local", "--yes", "--concurrency", "1", env=env
    )
    assert result.returncode == 0, result.stderr
    name = result.stdout.strip()
    assert (
        f"chatcli: {name}: 1 request failed; see: chatcli batch results {name}; "
        f"chatcli batch retry {name} sends them again"
    ) in result.stderr.splitlines()


def test_submit_keeps_the_price_cache_it_builds(fake: FakeOpenAI, tmp_path: Path) -> None:
    """Requests are priced inside the transaction that stores them: the cache is built and
    kept before it, not written against the command's own lock (a 5 s stall, and the cache
    was never kept, so every submit stalled again)."""
    import sqlite3

    from chatcli.store import DB_NAME
    from tests.cli_helpers import run_process

    env = _env(tmp_path, fake)
    db = Path(env["CHATCLI_HOME"]) / DB_NAME
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM caches")  # as a first run after installing finds it
    conn.close()
    inputs = write_jsonl(tmp_path / "in.jsonl", 2)
    result = run_process("batch", "submit", str(inputs), "--local", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        assert [name for (name,) in conn.execute("SELECT name FROM caches")] == ["prices"]
    conn.close()
