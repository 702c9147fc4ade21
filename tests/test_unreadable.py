"""Every file chatcli reads is refused with the one wording of ``errors.unreadable`` (missing,
a directory, not UTF-8 text, the system's reason), whichever command reads it: attachments,
``--schema`` files, MCP imports, templates and the config file itself (exit 3 for those two).
The real CLI in process."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI

NOT_UTF8 = b"\xff\xfe\x00 not text"


def test_attachments_schemas_and_mcp_imports_say_the_same_thing(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    folder = tmp_path / "folder"
    folder.mkdir()
    attached = run_cli("ask", "-f", str(folder), "hi", env=env)
    assert attached.returncode == 2
    assert f"chatcli: error: {folder} is a directory, not a file" in attached.stderr
    schema = tmp_path / "schema.json"
    schema.write_bytes(NOT_UTF8)
    shaped = run_cli("ask", "--schema", str(schema), "hi", env=env)
    assert shaped.returncode == 2
    assert f"chatcli: error: --schema: {schema} is not UTF-8 text" in shaped.stderr
    missing = tmp_path / "servers.json"
    imported = run_cli("mcp", "import", str(missing), env=env)
    assert imported.returncode == 2
    assert f"chatcli: error: no such file: {missing}" in imported.stderr
    assert fake.chat_requests() == []
    for result in (attached, shaped, imported):
        assert "Traceback" not in result.stderr and "Errno" not in result.stderr


def test_the_config_file_and_templates_are_config_errors(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "mangled.md").write_bytes(NOT_UTF8)
    shown = run_cli("templates", "show", "mangled", env=env)
    assert shown.returncode == 3
    assert "chatcli: error: template: " in shown.stderr
    assert "mangled.md is not UTF-8 text" in shown.stderr
    (tmp_path / "config.toml").write_bytes(NOT_UTF8)
    asked = run_cli("ask", "hi", env=env)
    assert asked.returncode == 3
    assert f"chatcli: error: config file: {tmp_path / 'config.toml'} is not UTF-8 text" in (
        asked.stderr
    )
    assert "Traceback" not in shown.stderr + asked.stderr and fake.chat_requests() == []
