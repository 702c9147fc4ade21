"""Every chat request body chatcli sends is valid against OpenAI's own schema
(``CreateChatCompletionRequest`` from openai/openai-openapi, kept in tests/openapi/)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, make_png

SCHEMA = Path(__file__).parent / "openapi" / "chat_request.schema.json"


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _problems(body: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator().iter_errors(body)]


def test_the_schema_rejects_what_openai_rejects() -> None:
    assert _problems({"model": "gpt-4o", "messages": []})  # at least one message
    assert _problems({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}],
                      "reasoning_effort": "extreme"})  # fmt: skip


def test_request_bodies_follow_the_official_schema(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.completion_only = {"gpt-9-preview"}
    env = fake_env(tmp_path, fake)
    image = tmp_path / "dot.png"
    image.write_bytes(make_png(2, 2))
    runs = [
        ("ask", "hello"),
        ("ask", "-c", "and then?"),
        ("ask", "--no-stream", "-s", "Be brief.", "-t", "0.3", "--max-tokens", "20", "hi"),
        ("ask", "-m", "gpt-9-preview", "-t", "0.5", "--max-tokens", "50", "hi"),
        ("ask", "-m", "gpt-5", "--reasoning", "minimal", "--service-tier", "flex", "hi"),
        ("ask", "-f", str(image), "what is this?"),
        ("ask", "--schema", "city, population int", "Paris?"),
    ]
    for args in runs:
        result = run_cli(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
    bodies = [r.json for r in fake.chat_requests()]
    assert len(bodies) == len(runs) + 1  # gpt-9-preview's refused first try, then fixed
    for body in bodies:
        assert _problems(body) == [], body
