"""Every file or stream a user names is read through one bounded reader (``chatcli.reading``):
``/dev/zero``, a huge sparse file or an endless pipe is refused with one line past its kind's
limit instead of filling the memory; a path that is not a regular file is refused as such."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from chatcli import reading
from chatcli.errors import ConfigError, UsageError
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply


def test_the_reader_stops_at_its_limit_on_endless_and_sparse_files(tmp_path: Path) -> None:
    sparse = tmp_path / "sparse.bin"
    with sparse.open("wb") as f:
        f.truncate(10 * 1024**3)  # 10 GiB that take no disk
    for path in (Path("/dev/zero"), sparse):
        with pytest.raises(UsageError) as info:
            reading.read_file(path, 4096, hint="split it")
        assert info.value.message == f"{path} is larger than 4096 bytes"
        assert info.value.hint == "split it"
    with pytest.raises(UsageError, match="piped input is larger than 1 MiB"):
        reading.read_stream(io.BytesIO(b"x" * (1024 * 1024 + 1)), 1024 * 1024, "piped input")


def test_a_config_of_dev_zero_is_exit_3_and_a_bom_is_read(tmp_path: Path) -> None:
    result = run_cli("config", "show", env=clean_env(tmp_path, CHATCLI_CONFIG="/dev/zero"))
    assert result.returncode == 3
    assert result.stderr.startswith("chatcli: error: config file: /dev/zero is larger than 1 MiB")
    config = tmp_path / "config.toml"
    toml = 'default_profile = "r"\n[profiles.r]\ntype = "relay"\nmodel = "gpt-4.1"\n'
    toml += 'base_url = "http://127.0.0.1:9/v1"\napi_key = "sk-test-0000"\n'
    config.write_bytes(b"\xef\xbb\xbf" + toml.encode())  # as Notepad saves it
    shown = run_cli("config", "show", env=clean_env(tmp_path))
    assert shown.returncode == 0, shown.stderr
    assert "gpt-4.1" in shown.stdout
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        from chatcli.settings.loading import read_text

        read_text(Path("/dev/zero"))


def test_summarize_refuses_dev_zero_and_a_closed_stdin(tmp_path: Path, fake: FakeOpenAI) -> None:
    env = fake_env(tmp_path, fake)
    result = run_cli("summarize", "/dev/zero", "--dry-run", env=env)
    assert result.returncode == 2
    assert "/dev/zero is larger than 200 MiB" in result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr

    from chatcli.__main__ import run
    from chatcli.environment import Environment

    err = io.StringIO()
    saved = dict(os.environ)
    os.environ.update(env)
    try:  # ``summarize - <&-``: the command has no stdin at all
        code = run(["summarize", "-", "--dry-run"], Environment(None, io.StringIO(), err))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert code == 2
    assert "nothing to summarise: stdin is closed" in err.getvalue()


@pytest.mark.parametrize("kind", ["directory", "dangling link", "dev zero"])
def test_a_schema_path_that_is_not_a_file_is_refused_not_read_as_fields(
    tmp_path: Path, fake: FakeOpenAI, kind: str
) -> None:
    if kind == "directory":
        path = tmp_path / "schemas.d"
        path.mkdir()
        said = "is a directory, not a JSON Schema file"
    elif kind == "dangling link":
        path = tmp_path / "gone.json"
        path.symlink_to(tmp_path / "nowhere.json")
        said = "no such file"
    else:
        path, said = Path("/dev/zero"), "is larger than 1 MiB"
    fake.script(Reply(text='{"name": "x"}'))
    result = run_cli("ask", "--schema", str(path), "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 2, result.stdout
    assert said in result.stderr
    assert fake.chat_requests() == []  # refused before anything is sent


def test_batch_refuses_a_pipe_saying_why(tmp_path: Path, fake: FakeOpenAI) -> None:
    fifo = tmp_path / "lines"
    os.mkfifo(fifo)
    result = run_cli("batch", "submit", str(fifo), "--local", env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert f"input {fifo} is not a regular file" in result.stderr
    assert "reads its inputs again when it resumes" in result.stderr
