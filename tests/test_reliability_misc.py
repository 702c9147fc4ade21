"""Reliability fixes of the seventh audit: ``verify`` keeps its paid verdict when the database
is busy; a hanging ``*_cmd`` is killed whole (process group) after its timeout and on a signal;
``config validate`` checks the profile ``-p``/``CHATCLI_PROFILE`` chose; ``batch submit``
resolves the provider before it creates a job, and a job that could not be submitted is marked
failed; ``mcp list`` starts its servers concurrently and reports a timeout with its exit code."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli_helpers import chatcli_argv, clean_env, fake_env, run_cli
from tests.fakes import Error, FakeOpenAI
from tests.test_recovery_journal import holding
from tests.test_verify import script as verify_script
from tests.tools_helpers import own_server

# 7: verify under a busy database


@pytest.mark.process
def test_verify_prints_its_verdict_when_the_database_stays_busy(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    verify_script(fake)
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    env = fake_env(tmp_path, fake, TIKTOKEN_CACHE_DIR=str(cache), CHATCLI_STORE_WAIT="1")
    with holding(tmp_path / "data" / "chatcli.db"):
        r = run_cli("verify", "--json", env=env)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["verdict"] == "consistent with gpt-6-luna"
    assert {c["name"]: c["status"] for c in result["checks"]}["json_schema"] == "pass"
    assert (
        "chatcli: what the json_schema probe found (for --schema) was not saved: the database "
        "is busy\n" in r.stderr
    )
    assert "error" not in r.stderr


# 8: a hanging *_cmd is killed whole


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _until(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def _hanging_cmd(pidfile: Path) -> str:
    """A command whose shell starts a child that would hang for ever, noting the child's pid."""
    return f"sleep 600 & echo $! > {pidfile}; wait"


@pytest.mark.process
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_kills_a_hanging_api_key_cmd_whole(tmp_path: Path, signum: signal.Signals) -> None:
    pidfile = tmp_path / "child.pid"
    (tmp_path / "config.toml").write_text(
        'default_profile = "r"\n[profiles.r]\ntype = "relay"\n'
        f'base_url = "http://127.0.0.1:9/v1"\napi_key_cmd = "{_hanging_cmd(pidfile)}"\n'
    )
    proc = subprocess.Popen(chatcli_argv("models"), env=clean_env(tmp_path),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert _until(lambda: pidfile.exists() and pidfile.read_text().strip() != "")
        child = int(pidfile.read_text())
        assert _alive(child)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum if signum != signal.SIGINT else 130, err
    killed = _until(lambda: not _alive(child))
    if not killed:
        os.kill(child, signal.SIGKILL)
    assert killed, "the command's child outlived chatcli"


@pytest.mark.process
def test_a_secret_command_that_times_out_is_killed_whole(tmp_path: Path) -> None:
    from chatcli.errors import ConfigError
    from chatcli.settings import commands

    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        commands.run(_hanging_cmd(pidfile), "api_key_cmd of profile 'r' (x)", timeout=1)
    assert time.monotonic() - started < 5
    assert (
        caught.value.message == "api_key_cmd of profile 'r' (x) timed out after 1 s and was stopped"
    )
    assert caught.value.exit_code == 3
    child = int(pidfile.read_text())
    assert _until(lambda: not _alive(child), 5)
    assert commands.run("echo hi", "x").stdout == b"hi\n"


# 12: config validate checks the chosen profile

TWO_PROFILES = (
    'default_profile = "r"\n'
    '[profiles.r]\ntype = "relay"\nbase_url = "http://127.0.0.1:9/v1"\n'
    'api_key = "sk-test-0123456789abcdef"\n'
    '[profiles.nokey]\ntype = "relay"\nbase_url = "http://127.0.0.1:9/v1"\n'
)


@pytest.mark.parametrize(
    ("args", "extra", "said"),
    [
        (("-p", "work"), {}, "unknown profile 'work' from -p/--profile (known: nokey, r)"),
        ((), {"CHATCLI_PROFILE": "work"}, "unknown profile 'work' from CHATCLI_PROFILE"),
        (("-p", "nokey"), {}, "no API key found for profile 'nokey'"),
        ((), {"CHATCLI_PROFILE": "nokey"}, "no API key found for profile 'nokey'"),
    ],
)
def test_config_validate_checks_the_chosen_profile_as_the_commands_do(
    tmp_path: Path, args: tuple[str, ...], extra: dict[str, str], said: str
) -> None:
    (tmp_path / "config.toml").write_text(TWO_PROFILES)
    (tmp_path / "config.toml").chmod(0o600)
    env = clean_env(tmp_path, **extra)
    checked = run_cli(*args, "config", "validate", env=env)
    asked = run_cli(*args, "ask", "hi", env=env)
    assert (checked.returncode, asked.returncode) == (3, 3), checked.stdout + checked.stderr
    assert f"chatcli: error: {said}" in checked.stderr
    assert checked.stderr == asked.stderr  # the same words as every request command
    assert "OK" not in checked.stdout


def test_config_validate_with_a_good_chosen_profile_is_ok(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(TWO_PROFILES)
    (tmp_path / "config.toml").chmod(0o600)
    plain = run_cli("config", "validate", env=clean_env(tmp_path))
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr == "warning: no API key found for profile 'nokey'\n"  # not chosen
    chosen = run_cli("-p", "r", "config", "validate", env=clean_env(tmp_path))
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.endswith(": OK (2 profiles)\n")
    bare = tmp_path / "bare"
    bare.mkdir()  # no config file: the zero-config profiles
    env = clean_env(bare, OPENAI_API_KEY="sk-test-0123456789abcdef", CHATCLI_PROFILE="openai")
    assert run_cli("config", "validate", env=env).returncode == 0
    env["CHATCLI_PROFILE"] = "work"
    missing = run_cli("config", "validate", env=env)
    assert missing.returncode == 3
    assert "chatcli: error: unknown profile 'work' from CHATCLI_PROFILE" in missing.stderr


# 13: batch submit resolves the provider before it makes a job


def _jobs(env: dict[str, str]) -> list[dict[str, object]]:
    listed = run_cli("batch", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    assert isinstance(jobs, list)
    return jobs


@pytest.mark.parametrize("mode", [("--local",), ("--new",)])
@pytest.mark.parametrize(
    ("key_line", "said"),
    [
        ("", "no API key found for profile 'r'"),
        ('api_key_cmd = "exit 4"\n', "api_key_cmd of profile 'r' exited with 4"),
    ],
)
def test_batch_submit_without_a_usable_key_makes_no_job(
    fake: FakeOpenAI, tmp_path: Path, mode: tuple[str, ...], key_line: str, said: str
) -> None:
    (tmp_path / "config.toml").write_text(
        f'default_profile = "r"\n[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        + key_line
    )
    env = clean_env(tmp_path)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"prompt": "hi one"}\n{"prompt": "hi two"}\n')
    r = run_cli("batch", "submit", str(inputs), *mode, "--yes", env=env)
    assert r.returncode == 3, r.stderr
    assert r.stdout == ""  # no job name for a script to capture
    assert f"chatcli: error: {said}" in r.stderr
    assert _jobs(env) == []
    assert fake.requests == []


def test_a_local_job_refused_by_the_key_stays_resumable_whatever_the_timing(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Its requests were sent and refused: they stay pending, and `batch wait` finishes the
    job once the key is right (never "failed" on one run and pending on the next)."""
    refused = Error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key")
    fake.script(refused, refused)  # each request the runner may have begun
    env = fake_env(tmp_path, fake)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"prompt": "hi one"}\n{"prompt": "hi two"}\n')
    r = run_cli("batch", "submit", str(inputs), "--local", "--yes", "--concurrency", "1", env=env)
    assert r.returncode == 4, r.stderr
    name = r.stdout.strip()
    [job] = _jobs(env)
    assert job["name"] == name and job["state"] != "failed"
    fake.reset()  # the key is right now (a refusal the runner did not get to is not one)
    done = run_cli("batch", "wait", name, env=env)
    assert done.returncode == 0, done.stderr
    assert f"{name}: done: 2 completed, 0 failed" in done.stderr


# 17: mcp list starts the servers at once; a timeout is reported with its exit code


@contextmanager
def _silent_http() -> Iterator[str]:
    """An HTTP address that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    finally:
        sock.close()


def _hanging(name: str, timeout: int = 2) -> str:
    return (
        f'\n[mcp.servers.{name}]\ncommand = "sleep"\nargs = ["600"]\nstartup_timeout = {timeout}\n'
    )


@pytest.mark.external
def test_mcp_list_starts_unresponsive_servers_at_once(fake: FakeOpenAI, tmp_path: Path) -> None:
    with _silent_http() as url:
        (tmp_path / "config.toml").write_text(
            own_server("own")
            + _hanging("hang1")
            + _hanging("hang2")
            + f'\n[mcp.servers.web]\nurl = "{url}"\nstartup_timeout = 2\n'
        )
        began = time.monotonic()
        r = run_cli("mcp", "list", env=fake_env(tmp_path, fake))
        took = time.monotonic() - began
    assert r.returncode == 3, r.stderr  # a local command to fix is a configuration error
    assert took < 9, took  # one after another: 3 x (2 s + the 2 s stop) and more
    assert "MCP server hang1 (sleep 600) did not answer within 2 s" in r.stderr
    assert "MCP server hang2 (sleep 600) did not answer within 2 s" in r.stderr
    assert f"MCP server web ({url}) did not answer within 2 s" in r.stderr
    assert r.stdout.startswith("own  ")  # the others are listed all the same
    assert r.stderr.count("chatcli: error: ") == 3


@pytest.mark.external
def test_mcp_list_an_http_server_that_does_not_answer_is_a_network_timeout(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    with _silent_http() as url:
        (tmp_path / "config.toml").write_text(
            f'[mcp.servers.web]\nurl = "{url}"\nstartup_timeout = 1\n'
        )
        r = run_cli("mcp", "list", "--json", env=fake_env(tmp_path, fake))
    assert r.returncode == 6, r.stderr
    assert f"chatcli: error: MCP server web ({url}) did not answer within 1 s" in r.stderr
    [entry] = json.loads(r.stdout)
    assert "did not answer within 1 s" in entry["error"]


@pytest.mark.external
def test_a_hanging_mcp_value_command_is_bounded_by_the_startup_timeout(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    pidfile = tmp_path / "child.pid"
    (tmp_path / "config.toml").write_text(
        own_server("own")
        + "startup_timeout = 3\n"
        + f'[mcp.servers.own.env]\nTOKEN = {{ cmd = "{_hanging_cmd(pidfile)}" }}\n'
    )
    began = time.monotonic()
    r = run_cli("mcp", "list", env=fake_env(tmp_path, fake))
    assert time.monotonic() - began < 10  # not the 30 s of a command's own limit
    assert r.returncode == 3, r.stderr
    assert "chatcli: error: MCP server own" in r.stderr  # its start took too long
    assert "timed out after 3 s" in r.stderr or "did not answer within 3 s" in r.stderr
    child = int(pidfile.read_text())
    assert _until(lambda: not _alive(child), 5)


@pytest.mark.process
def test_a_refused_schema_is_answered_when_its_note_cannot_be_saved(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Remembering that the endpoint refuses ``response_format`` is a memo, like verify's: a
    busy database skips it in one quick try, and the paid answer is printed and journaled."""
    fake.structured = "refuse"
    env = fake_env(tmp_path, fake, CHATCLI_STORE_WAIT="1")
    run_cli("ask", "warm up", env=env)  # the database exists, so another process can lock it
    with holding(tmp_path / "data" / "chatcli.db"):
        r = run_cli("ask", "--schema", "city, population int", "Paris?", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"city": "example", "population": 0}
    assert "gpt-6-luna refuses json_schema answers was not saved: the database is busy" in r.stderr
    assert "error" not in r.stderr
