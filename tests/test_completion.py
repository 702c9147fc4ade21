"""Shell completion driven through a real bash: source the script, call its function with
COMP_WORDS and COMP_CWORD set, read COMPREPLY."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash"),
]

CONFIG = """\
[profiles.relay]
type = "relay"
base_url = "http://127.0.0.1:9/v1"
[profiles.work]
type = "openai"
[aliases]
fast = "gpt-4o-mini"
[roles.translator]
system = "Translate."
[mcp.servers.time]
command = "mcp-server-time"
[mcp.servers.git]
command = "mcp-server-git"
"""


def _complete(tmp_path: Path, env: dict[str, str], *words: str) -> list[str]:
    """Source ``chatcli completion bash`` in bash and complete the last of ``words``."""
    script = run_cli("completion", "bash", env=env).stdout
    (tmp_path / "completion.bash").write_text(script)
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "chatcli").write_text(f'#!/bin/sh\nexec {sys.executable} -m chatcli "$@"\n')
    (shim / "chatcli").chmod(0o755)
    quoted = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {tmp_path / 'completion.bash'}\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
        "_chatcli_completion chatcli\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**env, "PATH": f"{shim}{os.pathsep}{env['PATH']}"}
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        capture_output=True, text=True, env=env, timeout=60, cwd=Path.cwd(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_profiles_sessions_and_values(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(CONFIG)
    for name in ("alpha", "beta"):
        assert run_cli("ask", "-p", "openai", "--session", name, "hi", env=env).returncode == 0
    assert _complete(tmp_path, env, "chatcli", "-p", "") == ["openai", "relay", "work"]
    assert _complete(tmp_path, env, "chatcli", "ask", "--profile", "w") == ["work"]
    assert _complete(tmp_path, env, "chatcli", "chat", "--session", "") == ["beta", "alpha"]
    assert _complete(tmp_path, env, "chatcli", "sessions", "show", "al") == ["alpha"]
    assert _complete(tmp_path, env, "chatcli", "ask", "-r", "") == ["translator"]
    assert _complete(tmp_path, env, "chatcli", "chat", "-T", "") == ["git", "time"]
    assert _complete(tmp_path, env, "chatcli", "ask", "--approve", "t") == ["time"]
    assert _complete(tmp_path, env, "chatcli", "mcp", "list", "g") == ["git"]
    models = _complete(tmp_path, env, "chatcli", "ask", "-m", "")
    assert models[0] == "fast" and "gpt-4o" in models and "o3-mini" in models
    assert _complete(tmp_path, env, "chatcli", "sessions", "export", "--format", "") == [
        "md",
        "json",
    ]
    assert "srt" in _complete(tmp_path, env, "chatcli", "transcribe", "--format", "")
    assert "sessions" in _complete(tmp_path, env, "chatcli", "")
    assert "--extract" in _complete(tmp_path, env, "chatcli", "ask", "--")
    files = _complete(tmp_path, env, "chatcli", "ask", "-f", "tests/test_compl")
    assert files == ["tests/test_completion.py"]


def test_completion_scripts_and_bad_shell(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    for shell, marker in (
        ("bash", "complete -o nosort"),
        ("zsh", "compdef"),
        ("fish", "complete -c"),
    ):
        result = run_cli("completion", shell, env=env)
        assert result.returncode == 0 and marker in result.stdout
    bad = run_cli("completion", "tcsh", env=env)
    assert bad.returncode == 2 and "not one of 'bash', 'zsh', 'fish'" in bad.stderr


def test_completing_loads_no_heavy_module(tmp_path: Path) -> None:
    probe = (
        "import json, sys, io, contextlib\n"
        "from chatcli.__main__ import run\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    code = run([])\n"
        "print(json.dumps({'code': code, 'out': out.getvalue(), 'mods': sorted(sys.modules)}))\n"
    )
    env = {
        **clean_env(tmp_path),
        "_CHATCLI_COMPLETE": "bash_complete",
        "COMP_WORDS": "chatcli ask -m ",
        "COMP_CWORD": "3",
    }
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env
    )
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["code"] == 0 and "plain,gpt-4o\n" in result["out"]
    heavy = ("openai", "prompt_toolkit", "httpx2", "rich", "pydantic")
    assert [m for m in heavy if m in result["mods"]] == []


def _shim(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """``chatcli`` on PATH running this checkout, as an installed one would."""
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "chatcli").write_text(f'#!/bin/sh\nexec {sys.executable} -m chatcli "$@"\n')
    (shim / "chatcli").chmod(0o755)
    return {**env, "PATH": f"{shim}{os.pathsep}{env['PATH']}"}


@pytest.mark.skipif(shutil.which("fish") is None, reason="needs fish (.ci/run installs it)")
def test_fish_completes_profiles_options_and_commands(tmp_path: Path) -> None:
    env = _shim(tmp_path, clean_env(tmp_path))
    (tmp_path / "config.toml").write_text(CONFIG)
    (tmp_path / "c.fish").write_text(run_cli("completion", "fish", env=env).stdout)
    program = (
        f"source {tmp_path / 'c.fish'}\n"
        "complete -C 'chatcli -p '; echo ==\n"
        "complete -C 'chatcli ask --pro'; echo ==\n"
        "complete -C 'chatcli ses'\n"
    )
    done = subprocess.run(
        ["fish", "--no-config", "-c", program], capture_output=True, text=True, env=env,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    profiles, options, commands = (
        [line.split("\t")[0] for line in part.strip().splitlines()]
        for part in done.stdout.split("==")
    )
    assert profiles == ["relay", "work"]
    assert options == ["--profile"]
    assert commands == ["sessions"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="needs zsh (.ci/run installs it)")
def test_zsh_completes_profiles_options_and_files(tmp_path: Path) -> None:
    """The zsh function run outside the completion system: ``compadd`` and ``_files`` (zsh's
    builtins, which need a live line editor) are replaced by functions that print what they
    are given; ``words`` and ``CURRENT`` are set as zsh sets them."""
    env = _shim(tmp_path, clean_env(tmp_path))
    (tmp_path / "config.toml").write_text(CONFIG)
    (tmp_path / "c.zsh").write_text(run_cli("completion", "zsh", env=env).stdout)
    program = (
        "compdef() { :; }\n"
        "compadd() { local name=${@[-1]}; print -l -- ${(P)name}; }\n"
        "_files() { print -- FILES; }\n"
        f"source {tmp_path / 'c.zsh'}\n"
        "words=(chatcli -p ''); CURRENT=3; _chatcli_completion; print -- '=='\n"
        "words=(chatcli ask --pro); CURRENT=3; _chatcli_completion; print -- '=='\n"
        "words=(chatcli ask -f te); CURRENT=4; _chatcli_completion\n"
    )
    done = subprocess.run(
        ["zsh", "-f", "-c", program], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    profiles, options, files = (part.split() for part in done.stdout.split("=="))
    assert profiles == ["relay", "work"]
    assert options == ["--profile"]
    assert files == ["FILES"]
