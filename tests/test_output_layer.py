"""The one output layer: text that came from a server, the store or a file name reaches a
terminal only through ``output.out``/``err``/``Notifier``, sanitised; off a terminal the
answer's bytes stay exact; and no module outside the listed ones writes to ``sys.stdout`` or
``sys.stderr`` itself. The CLI runs in process with an environment that says "terminal"."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import Error, FakeOpenAI, Reply
from tests.source_helpers import parsed

EVIL = "\x1b]0;owned\x07\x1b[2J\x1b[31m"
PACKAGE = Path(__file__).resolve().parent.parent / "chatcli"


def _clean(text: str) -> bool:
    return "\x1b" not in text and "\x07" not in text


def test_session_search_usage_and_verify_sanitised_on_a_terminal(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(f"needle {EVIL}answer", model=f"gpt-4o-mini{EVIL}"))
    asked = run_cli("ask", "--session", "s1", "find the needle", env=env)
    assert asked.returncode == 0, asked.stderr
    for args in (
        ["sessions", "search", "needle"],
        ["sessions", "list"],
        ["sessions", "show", "s1"],
        ["usage", "--by", "model"],
        ["batch", "list"],
    ):
        result = run_cli(*args, env=env, tty=True)
        assert result.returncode == 0, (args, result.stderr)
        assert _clean(result.stdout) and _clean(result.stderr), args
    found = run_cli("sessions", "search", "needle", env=env, tty=True)
    assert "needle answer" in found.stdout  # the text around the sequences is kept


def test_verify_names_the_served_model_sanitised(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply("ANSWER: 4", model=f"gpt-4o{EVIL}")
    result = run_cli("verify", "-m", "gpt-4o", env=fake_env(tmp_path, fake), tty=True)
    assert "gpt-4o" in result.stdout
    assert _clean(result.stdout) and _clean(result.stderr)


def test_image_revised_prompt_and_file_names_sanitised(fake: FakeOpenAI, tmp_path: Path) -> None:
    out_dir = tmp_path / "imgs"
    result = run_cli(
        "image", f"a cat {EVIL}", "-o", str(out_dir), "-m", "dall-e-3",
        env=fake_env(tmp_path, fake), tty=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert str(out_dir) in result.stdout
    assert _clean(result.stdout) and _clean(result.stderr)


def test_off_a_terminal_the_answer_and_json_stay_exact(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(f"raw {EVIL}bytes"))
    asked = run_cli("ask", "--session", "s2", "q", env=env)
    assert asked.stdout == f"raw {EVIL}bytes\n"  # piped: byte-exact
    shown = run_cli("sessions", "export", "s2", "--format", "json", env=env)
    assert f"raw {EVIL}bytes" in json.loads(shown.stdout)["messages"][1]["content"]


# The only modules that touch the process's standard streams themselves: the entry point (its
# last-resort error line, and pointing a closed stdout at /dev/null) and the environment (it
# takes the streams and installs the command's for libraries that look them up). Everything
# else prints through chatcli.output with the environment it was handed.
DIRECT_WRITERS = {
    "chatcli.__main__",
    "chatcli.environment",
}


def _writers() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        name = ".".join(parts)
        for node in ast.walk(parsed(path)):
            # Unparse only what can match: a call's text starts with its callee's.
            stream = isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr")
            if (stream and ast.unparse(node) in ("sys.stdout", "sys.stderr")) or (
                isinstance(node, ast.Call)
                and (ast.unparse(node.func) + "(").startswith(("print(", "typer.echo("))
            ):
                found.add(name)
    return found


def test_only_the_listed_modules_write_to_the_standard_streams() -> None:
    writers = _writers()
    assert writers - DIRECT_WRITERS == set(), "print through chatcli.output instead"
    assert writers >= DIRECT_WRITERS


def test_debug_trace_reaches_the_commands_stderr_sanitised(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """The transport is not handed the environment: its --debug lines go through the
    ``chatcli`` logger, which the output layer writes to the command's own stderr."""
    result = run_cli("--debug", "ask", f"a {EVIL}question", env=fake_env(tmp_path, fake),
                     tty=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "> POST " in result.stderr and "question" in result.stderr
    assert _clean(result.stderr)
    assert "> POST" not in run_cli("ask", "again", env=fake_env(tmp_path, fake)).stderr


def _named(func: ast.expr, last: str) -> bool:
    """Whether the callee ``func`` can be a name ending in ``last`` (before unparsing it)."""
    return (isinstance(func, ast.Name) and func.id == last) or (
        isinstance(func, ast.Attribute) and func.attr == last
    )


def _calls(name: str) -> set[str]:
    """Modules that call ``name(...)`` (as a bare or dotted name)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Call) and _named(node.func, name.rpartition(".")[2]):
                called = ast.unparse(node.func)
                if called == name or called.endswith("." + name):
                    found.add(module)
    return found


def test_the_environment_is_handed_down_not_read_from_a_global() -> None:
    """Features receive the environment from the command's edge, and providers the command's
    clock through ``connect``: nothing reads a global environment or clock."""
    assert _calls("current") == set()
    assert _calls("clock") == set()


def test_one_turn_flow_streams_and_judges_every_reply() -> None:
    """ask, the REPL, summarize, cmd and --schema turns all go through features/flow.py: no
    other module streams a reply or applies the finish policy itself."""
    assert _calls("stream_to") == {"chatcli.features.flow"}
    assert _calls("check_finish") == {"chatcli.features.flow"}


def test_config_and_template_text_sanitised_on_a_terminal_exact_off_one(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Text from the user's own files is as untrusted as a server's on a terminal (a copied
    config can carry escapes): ``config show`` and ``templates show`` print it sanitised
    there, and exactly what the file says into a pipe."""
    system = EVIL.replace("\x1b", "\\u001b").replace("\x07", "\\u0007")
    (tmp_path / "config.toml").write_text(
        f'[defaults]\nsystem = "be {system}brief"\n'
        f'[templates.evil]\nprompt = "say {system}{{{{x}}}}"\n'
    )
    env = fake_env(tmp_path, fake)
    for args in (["config", "show"], ["templates", "show", "evil"]):
        shown = run_cli(*args, env=env, tty=True)
        assert shown.returncode == 0, (args, shown.stderr)
        assert _clean(shown.stdout) and _clean(shown.stderr), args
    piped = run_cli("templates", "show", "evil", env=env)
    assert f"say {EVIL}{{{{x}}}}" in piped.stdout


@pytest.mark.parametrize("args", [("ask", "hi"), ("ask", "--no-stream", "hi"), ("cmd", "ls")])
def test_an_error_after_a_countdown_starts_on_its_own_line(
    fake: FakeOpenAI, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """stdout piped, stderr a terminal (``chatcli ... | cat``): the retry countdown is drawn in
    place, and the error that ends the retries first erases it, whichever command failed."""
    fake.script(*[Error(500, "down")] * 4)
    result = run_cli(*args, env=fake_env(tmp_path, fake), tty=False, stderr_tty=True)
    assert result.returncode == 5, result.stderr
    before, error = result.stderr.split("chatcli: error: ", 1)
    assert "retrying in" in before and before.endswith("\r\x1b[2K"), repr(result.stderr)
    assert "retrying" not in error
