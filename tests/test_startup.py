"""Start-up cost is a feature: help and version must not load the heavy modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Typer's own Rich help formatter loads rich.markdown for --help, as any Typer app would.
HEAVY = ("openai", "prompt_toolkit", "httpx2", "pydantic", "tiktoken", "sqlite3", "jsonschema")

PROBE = """
import json, sys
from chatcli.__main__ import run
import io, contextlib
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    code = run(sys.argv[1:])
print(json.dumps({"code": code, "out": buf.getvalue(), "mods": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["ask", "--help"]])
def test_help_and_version_load_no_heavy_modules(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60
    )
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["code"] == 0
    assert "chatcli" in result["out"]
    heavy = HEAVY if "--help" in args else (*HEAVY, "rich", "rich.markdown")
    assert [m for m in heavy if m in result["mods"]] == []


def test_ask_off_a_tty_loads_neither_sdk_nor_rich(tmp_path: object) -> None:
    from pathlib import Path

    from tests.cli_helpers import fake_env
    from tests.fakes import FakeOpenAI

    with FakeOpenAI() as fake:
        env = fake_env(Path(str(tmp_path)), fake)
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, "ask", "hi"],
            capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["code"] == 0, proc.stderr
    assert result["out"] == "echo(1): hi\n"
    assert "httpx2" in result["mods"]
    assert [
        m
        for m in ("openai", "rich", "prompt_toolkit", "pydantic", "jsonschema")
        if m in result["mods"]
    ] == []
