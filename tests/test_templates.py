"""Prompt templates through the real CLI against the fake server: variables and defaults,
{{input}} from words and stdin, settings under the flags, files beside the config, the
``templates`` commands and completion of names and variables."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatcli.errors import UsageError
from chatcli.features.templates.library import Template, fill
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI
from tests.test_completion import _complete
from tests.test_scripting_audit9 import run_in_terminal

CONFIG = """\
[templates.translate]
system = "You translate into {{lang|English}} with a {{tone}} tone."
prompt = "Translate:\\n{{input}}"
model = "gpt-4o"
temperature = 0.2

[templates.haiku]
prompt = "Write a haiku about {{topic|autumn}}."
"""


def sent(fake: FakeOpenAI) -> tuple[list[dict[str, str]], dict[str, object]]:
    body = fake.chat_requests()[-1].json
    return body["messages"], body


def test_variables_defaults_and_input(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(CONFIG)
    done = run_cli(
        "ask", "--template", "translate", "-V", "tone=dry", "bonjour", env=env, input="le monde"
    )
    assert done.returncode == 0, done.stderr
    messages, body = sent(fake)
    assert messages == [
        {"role": "system", "content": "You translate into English with a dry tone."},
        {"role": "user", "content": "Translate:\nbonjour\n\nle monde"},
    ]
    assert (body["model"], body["temperature"]) == ("gpt-4o", 0.2)

    # flags win over the template's settings; -V overrides a default
    done = run_cli(
        "ask", "--template", "translate", "-V", "tone=warm", "-V", "lang=French",
        "-m", "gpt-4o-mini", "-t", "1", "hello", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    messages, body = sent(fake)
    assert messages[0]["content"] == "You translate into French with a warm tone."
    assert (body["model"], body["temperature"]) == ("gpt-4o-mini", 1.0)


def test_prompt_without_input_appends_the_words(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(CONFIG)
    assert run_cli("ask", "--template", "haiku", env=env).returncode == 0
    assert sent(fake)[0] == [{"role": "user", "content": "Write a haiku about autumn."}]
    run_cli("ask", "--template", "haiku", "-V", "topic=rain", "make it sad", env=env)
    assert sent(fake)[0][-1]["content"] == "Write a haiku about rain.\n\nmake it sad"


def test_missing_variable_unknown_template_and_bad_var(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(CONFIG)
    missing = run_cli("ask", "--template", "translate", "hi", env=env)
    assert missing.returncode == 2
    assert "template 'translate' needs a value for {{tone}}" in missing.stderr
    assert "hint: add -V tone=VALUE" in missing.stderr
    no_input = run_cli("ask", "--template", "translate", "-V", "tone=dry", env=env)
    assert no_input.returncode == 2 and "needs input" in no_input.stderr
    unknown = run_cli("ask", "--template", "nope", "hi", env=env)
    assert unknown.returncode == 3 and "unknown template 'nope'" in unknown.stderr
    assert "haiku, translate" in unknown.stderr
    bad = run_cli("ask", "--template", "haiku", "-V", "topic", env=env)
    assert bad.returncode == 2 and "-V 'topic' is not KEY=VALUE" in bad.stderr
    typo = run_cli("ask", "--template", "haiku", "-V", "topik=x", env=env)
    assert typo.returncode == 0 and "template 'haiku' has no variable 'topik'" in typo.stderr
    assert fake.chat_requests()[-1].json["messages"][0]["content"].endswith("about autumn.")
    assert "Traceback" not in missing.stderr + unknown.stderr + bad.stderr


def test_template_files_list_show_and_edit(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(CONFIG)
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "review.md").write_text(
        '+++\nsystem = "You review {{language|Python}} code."\n+++\nReview this:\n{{input}}\n'
    )
    (folder / "bad.toml").write_text("prompt = [")
    done = run_cli("ask", "--template", "review", env=env, input="print(1)")
    assert done.returncode == 0, done.stderr
    assert sent(fake)[0] == [
        {"role": "system", "content": "You review Python code."},
        {"role": "user", "content": "Review this:\nprint(1)"},
    ]
    listed = run_cli("templates", "list", env=env).stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["bad", "haiku", "review", "translate"]
    assert "broken" in listed[0]
    assert "language=Python, input" in listed[2]
    assert "lang=English, tone, input" in listed[3]
    shown = run_cli("templates", "show", "translate", env=env).stdout
    assert "model: gpt-4o" in shown and "## prompt\nTranslate:\n{{input}}" in shown
    broken = run_cli("ask", "--template", "bad", "x", env=env)
    assert broken.returncode == 3 and "bad.toml" in broken.stderr

    # edit: a new template starts from the skeleton; the "editor" appends a line
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "Summarise in {{n|3}} bullets: {{input}}\\n" > "$1"\n')
    editor.chmod(0o755)
    made = run_in_terminal({**env, "EDITOR": str(editor)}, "templates", "edit", "bullets")
    assert made.returncode == 0, made.stderr
    assert (folder / "bullets.md").read_text() == "Summarise in {{n|3}} bullets: {{input}}\n"
    assert "created" in made.stderr
    refused = run_cli("templates", "edit", "haiku", env={**env, "EDITOR": str(editor)})
    assert refused.returncode == 2 and "[templates.haiku]" in refused.stderr


def test_completion_of_template_names_and_variables(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(CONFIG)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "review.md").write_text("Review {{input}} in {{language}}")
    assert _complete(tmp_path, env, "chatcli", "ask", "--template", "") == [
        "haiku",
        "review",
        "translate",
    ]
    assert _complete(tmp_path, env, "chatcli", "ask", "--template", "translate", "-V", "") == [
        "lang=",
        "tone=",
    ]
    assert _complete(tmp_path, env, "chatcli", "templates", "show", "re") == ["review"]


def test_chat_template_wraps_every_message(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The REPL in process with prompt_toolkit's pipe input: each typed line goes through."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from chatcli.environment import Environment
    from chatcli.repl import run
    from chatcli.settings.resolve import ChatFlags, Globals, invocation

    (tmp_path / "config.toml").write_text(CONFIG)
    for key, value in fake_env(tmp_path, fake).items():
        monkeypatch.setenv(key, value)
    with create_pipe_input() as pipe:
        pipe.send_text("salut\r")
        pipe.send_text("\x04")
        run(
            Environment(None, io.StringIO(), io.StringIO()),
            invocation(Globals()),
            ChatFlags(),
            template="translate",
            variables=["tone=plain"],
            input=pipe,
            output=DummyOutput(),
        )
    messages, body = sent(fake)
    assert messages[0]["content"] == "You translate into English with a plain tone."
    assert messages[-1]["content"] == "Translate:\nsalut"
    assert body["model"] == "gpt-4o"


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=20),
        max_size=4,
    )
)
def test_fill_uses_values_and_defaults_and_names_what_is_missing(values: dict[str, str]) -> None:
    template = Template("t", "test")
    text = "".join(f"[{{{{{name}}}}}]" for name in values) + "{{other|fallback}}"
    assert fill(text, values, template) == "".join(f"[{v}]" for v in values.values()) + "fallback"
    with pytest.raises(UsageError, match=r"needs a value for \{\{missing\}\}"):
        fill("{{missing}}", values if "missing" not in values else {}, template)


def test_template_schema_makes_the_answer_json(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(
        '[templates.person]\nprompt = "Extract the person: {{input}}"\nschema = "name, age int"\n'
    )
    done = run_cli("ask", "--template", "person", "Alice is 30", env=env)
    assert done.returncode == 0, done.stderr
    body = fake.chat_requests()[-1].json
    assert body["response_format"]["type"] == "json_schema"
    assert set(json.loads(done.stdout)) == {"name", "age"}


@pytest.mark.parametrize("value", ["1979-05-27", "nan", "inf"])
def test_a_template_schema_json_cannot_carry_is_a_config_error(
    fake: FakeOpenAI, tmp_path: Path, value: str
) -> None:
    (tmp_path / "config.toml").write_text(
        f'[templates.t]\nprompt = "{{{{input}}}}"\n[templates.t.schema]\ntype = "object"\n'
        f"[templates.t.schema.properties.a]\nconst = {value}\n"
    )
    done = run_cli("ask", "--template", "t", "x", env=fake_env(tmp_path, fake))
    assert done.returncode == 3, done.stderr
    assert "template 't' (" in done.stderr and "which JSON has no" in done.stderr
    assert fake.chat_requests() == []


def test_template_settings_sit_under_the_flags(tmp_path: Path) -> None:
    from chatcli.features.templates.apply import apply
    from chatcli.settings.loading import load
    from chatcli.settings.resolve import ChatFlags, Invocation, resolve_chat

    path = tmp_path / "config.toml"
    path.write_text(
        'default_profile = "p"\n[profiles.p]\ntype = "relay"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key = "sk-test-0123456789"\n'
        '[templates.t]\nsystem = "s"\ntools = ["time"]\nmodel = "m"\n'
        '[mcp.servers.time]\ncommand = "mcp-server-time"\n'  # a template's tools must exist
    )
    config = load(path)
    g, flags, _ = apply(Invocation(config), ChatFlags(tools=("git",)), "t", [])
    settings = resolve_chat(g, flags, command="ask")
    assert (settings.model, settings.system, flags.tools) == ("m", "s", ("time", "git"))
    g, flags, _ = apply(
        Invocation(config, model="x"), ChatFlags(tools=("none",), system="own"), "t", []
    )
    settings = resolve_chat(g, flags, command="ask")
    assert (settings.model, settings.system, flags.tools) == ("x", "own", ("none",))
