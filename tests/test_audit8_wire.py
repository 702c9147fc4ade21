"""Audit 8, area ``wire``: how chatcli talks to providers, end to end through the real CLI
against the fake server (``Raw`` replies for the shapes relays and local servers really send).

A key spelt over two stream chunks stays out of the ``--debug`` trace; LM Studio's answers to a
missing ``/responses`` route fall back to chat completions; made-up tool-call ids are unique
across a conversation; Responses text sent only whole is printed once; SSE framing (BOM, empty
events, named keep-alives, a mislabelled content type) and the silence watchdog; an Azure
endpoint pasted with its deployment path; absurd usage reports; an empty answer; a non-UTF-8
whole body; verify of a Responses-only model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, Error, FakeOpenAI, Raw, Reply
from tests.tools_helpers import own_server

SSE = "text/event-stream"


def relay(tmp_path: Path, fake: FakeOpenAI, defaults: str = "") -> dict[str, str]:
    """A config with one relay profile at ``fake`` (Chat Completions)."""
    (tmp_path / "config.toml").write_text(
        f'default_profile = "r"\n[defaults]\nmax_retries = 0\n{defaults}\n'
        f'[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\n',
        encoding="utf-8",
    )
    (tmp_path / "config.toml").chmod(0o600)
    return clean_env(tmp_path)


def chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> str:
    """One chat stream chunk (choice 0): ``content`` and any other ``delta`` fields."""
    if content is not None:
        delta["content"] = content
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return json.dumps({"id": "c1", "model": "gpt-4o-mini", "choices": [choice]})


def events(*payloads: str, done: bool = True) -> list[str]:
    """SSE lines: each payload as one ``data:`` event, then ``[DONE]``."""
    lines = [line for p in payloads for line in (f"data: {p}", "")]
    return [*lines, "data: [DONE]", ""] if done else lines


def response_events(*items: tuple[str, dict[str, Any]]) -> list[str]:
    """A Responses API stream: each ``(type, fields)`` as a named event."""
    lines: list[str] = []
    for kind, fields in items:
        lines += [f"event: {kind}", f"data: {json.dumps({'type': kind, **fields})}", ""]
    return lines


RESPONSE = {"id": "resp_1", "object": "response", "model": "gpt-4o-mini"}
CREATED = ("response.created", {"response": {**RESPONSE, "status": "in_progress", "output": []}})
USAGE = {"input_tokens": 5, "output_tokens": 3}


def completed(output: list[dict[str, Any]] | None = None) -> tuple[str, dict[str, Any]]:
    body = {**RESPONSE, "status": "completed", "output": output or [], "usage": USAGE}
    return "response.completed", {"response": body}


def message(text: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}]
    return {"type": "message", "id": "msg_1", "role": "assistant", "content": content}


# -- 1: a key spelt over two stream chunks stays out of the --debug trace -------------------


@pytest.mark.parametrize("cut", [7, 10, 16])
def test_debug_trace_masks_a_key_split_over_two_chunks(
    fake: FakeOpenAI, tmp_path: Path, cut: int
) -> None:
    key = DEFAULT_API_KEY
    said = [chunk("Your key is " + key[:cut]), chunk(key[cut:] + " ok", "stop")]
    fake.script(Raw(content_type=SSE, lines=events(*said)))
    result = run_cli("--debug", "ask", "hi", env=relay(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Your key is ****{key[-4:]} ok\n"
    assert "< data:" in result.stderr  # the trace shows the stream
    for piece in (key[:cut], key[cut:], key[2:12], key[-10:]):
        assert piece not in result.stderr


def test_debug_trace_masks_a_key_spelt_with_json_escapes(fake: FakeOpenAI, tmp_path: Path) -> None:
    key = DEFAULT_API_KEY
    spelt = "".join(f"\\u{ord(c):04x}" if i % 3 == 0 else c for i, c in enumerate(key))
    fake.script(Raw(content_type=SSE, lines=events(chunk("KEY", "stop").replace("KEY", spelt))))
    result = run_cli("--debug", "ask", "hi", env=relay(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"****{key[-4:]}\n"
    assert spelt not in result.stderr and key not in result.stderr
    assert f"****{key[-4:]}" in result.stderr


# -- 2: no /responses route, as LM Studio and some relays say it ------------------------------


NOT_A_MISSING_ROUTE = [
    Error(400, "Invalid value for 'input': expected an array (POST /v1/responses).",
          "invalid_request_error"),
    Error(400, "Unknown model 'gpt-x' for this endpoint (POST /v1/responses)",
          "invalid_request_error"),
]  # fmt: skip


@pytest.mark.parametrize(
    "refusal",
    [
        Raw(status=200, body='{"error": "Unexpected endpoint or method. (POST /v1/responses)"}'),
        Raw(
            status=400,
            body='{"error": {"message": "Invalid URL (POST /v1/responses)", '
            '"type": "invalid_request_error"}}',
        ),
    ],
    ids=["lmstudio-200", "invalid-url-400"],
)
@pytest.mark.parametrize("stream", [True, False])
def test_an_unknown_responses_route_falls_back_to_chat_and_is_remembered(
    fake: FakeOpenAI, tmp_path: Path, refusal: Raw, stream: bool
) -> None:
    fake.responses = True
    env = fake_env(tmp_path, fake)
    flags = [] if stream else ["--no-stream"]
    for about_the_request in NOT_A_MISSING_ROUTE:  # never taken for a missing route
        fake.script(about_the_request)
        refused = run_cli("ask", *flags, "hi", env=env)
        assert refused.returncode == 5 and fake.chat_requests() == []
    fake.script(refusal, Reply(text="from chat"), Reply(text="again"))
    first = run_cli("ask", *flags, "hi", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "from chat\n" and first.stderr == ""
    second = run_cli("ask", *flags, "hi", env=env)
    assert second.returncode == 0 and second.stdout == "again\n"
    assert len(fake.responses_requests()) == 3  # remembered: the next one went to chat
    assert len(fake.chat_requests()) == 2


# -- 3: made-up tool-call ids are unique across the conversation ------------------------------


def id_less_call(text: str) -> Raw:
    call = {
        "index": 0,
        "type": "function",
        "function": {"name": "t__echo", "arguments": json.dumps({"text": text})},
    }
    said = chunk(role="assistant", tool_calls=[call])  # no "id": some local servers send none
    return Raw(content_type=SSE, lines=events(said, chunk(None, "tool_calls")))


def test_id_less_calls_in_two_rounds_get_ids_unique_across_the_session(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text(own_server("t"))
    env = fake_env(tmp_path, fake)
    fake.script(id_less_call("r0"), id_less_call("r1"), Reply(text="done"), Reply(text="more"))
    first = run_cli("ask", "-T", "t", "--approve", "t", "--session", "ids", "hi", env=env)
    assert first.returncode == 0, first.stderr
    again = run_cli("ask", "--session", "ids", "again", env=env)
    assert again.returncode == 0, again.stderr
    messages = fake.chat_requests()[-1].json["messages"]
    asked = [c["id"] for m in messages for c in m.get("tool_calls") or []]
    answered = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    assert len(asked) == 2 and len(set(asked)) == 2 and answered == asked
    assert all(re.fullmatch(r"call_[0-9a-f]{24}", i) for i in asked)


# -- 4: Responses text sent only whole -----------------------------------------------------


DONE_ONLY = {
    "output_text.done": [
        ("response.output_text.done",
         {"item_id": "msg_1", "output_index": 0, "content_index": 0, "text": "Only in done"}),
    ],
    "content_part.done": [
        ("response.content_part.done",
         {"item_id": "msg_1", "output_index": 0, "content_index": 0,
          "part": {"type": "output_text", "text": "Only in done"}}),
    ],
    "output_item.done": [
        ("response.output_item.done", {"output_index": 0, "item": message("Only in done")}),
    ],
    "all three": [
        ("response.output_text.done",
         {"item_id": "msg_1", "output_index": 0, "content_index": 0, "text": "Only in done"}),
        ("response.content_part.done",
         {"item_id": "msg_1", "output_index": 0, "content_index": 0,
          "part": {"type": "output_text", "text": "Only in done"}}),
        ("response.output_item.done", {"output_index": 0, "item": message("Only in done")}),
    ],
}  # fmt: skip


@pytest.mark.parametrize("done", list(DONE_ONLY), ids=list(DONE_ONLY))
def test_responses_text_only_in_done_events_is_printed_and_stored_once(
    fake: FakeOpenAI, tmp_path: Path, done: str
) -> None:
    fake.responses = True
    added = ("response.output_item.added",
             {"output_index": 0, "item": {**message(""), "content": []}})  # fmt: skip
    stream = response_events(CREATED, added, *DONE_ONLY[done], completed())
    fake.script(Raw(content_type=SSE, lines=stream))
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "--json", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answer"] == "Only in done"
    shown = run_cli("sessions", "show", json.loads(result.stdout)["session"], env=env)
    assert shown.stdout.count("Only in done") == 1


def test_responses_done_text_adds_only_what_the_deltas_missed(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.responses = True
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    stream = response_events(
        CREATED,
        ("response.output_text.delta", {**where, "delta": "Hello"}),
        ("response.output_text.done", {**where, "text": "Hello world"}),
        ("response.output_item.done", {"output_index": 0, "item": message("Hello world")}),
        completed([message("Hello world")]),
    )
    fake.script(Raw(content_type=SSE, lines=stream))
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world\n"


# -- 5 and 6: SSE framing ----------------------------------------------------------------------


FRAMINGS = {
    "bom": ["\ufeff" + f"data: {chunk('Hello')}", "", *events(chunk(" world", "stop"))],
    "empty data": [*events(chunk("Hello"), done=False), "data: ", "",
                   *events(chunk(" world", "stop"))],
    "ping event": [*events(chunk("Hello"), done=False), "event: ping", "data: ping", "",
                   *events(chunk(" world", "stop"))],
}  # fmt: skip


@pytest.mark.parametrize("framing", list(FRAMINGS), ids=list(FRAMINGS))
def test_sse_framing_bom_empty_events_and_named_keepalives(
    fake: FakeOpenAI, tmp_path: Path, framing: str
) -> None:
    fake.script(Raw(content_type=SSE, lines=FRAMINGS[framing]))
    result = run_cli("ask", "hi", env=relay(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world\n"


def test_a_stream_labelled_json_is_read_as_the_stream_it_is(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    lines = events(chunk("JSON"), chunk("typed", "stop"))
    fake.script(Raw(content_type="application/json", lines=lines))
    result = run_cli("ask", "hi", env=relay(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "JSONtyped\n"


def test_a_responses_stream_labelled_json_is_read_as_the_stream_it_is(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.responses = True
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    stream = response_events(
        CREATED, ("response.output_text.delta", {**where, "delta": "mislabelled"}), completed()
    )
    fake.script(Raw(content_type="application/json; charset=utf-8", lines=stream))
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "mislabelled\n"


@pytest.mark.parametrize(
    "keepalive",
    [
        ['data: {"id": "x", "object": "chat.completion.chunk", "choices": []}', ""],
        ["event: ping", "data: ping", ""],
        ["data: ", ""],
    ],
    ids=["empty-choices", "ping-event", "empty-data"],
)
def test_chunks_carrying_nothing_do_not_hold_off_the_silence_watchdog(
    fake: FakeOpenAI, tmp_path: Path, keepalive: list[str]
) -> None:
    lines = [*events(chunk("Hi"), done=False), *keepalive * 12, *events(chunk(" there", "stop"))]
    fake.script(Raw(content_type=SSE, lines=lines, interval=0.12))
    result = run_cli("ask", "hi", env=relay(tmp_path, fake, "timeout = 1"))
    assert result.returncode == 6, result.stderr
    assert "sent no data for more than 1 s" in result.stderr
    assert result.stdout == "Hi\n"  # the partial answer is kept


# -- 7: an Azure endpoint pasted with its deployment path ------------------------------------


def test_an_azure_endpoint_with_the_deployment_path_means_the_resource(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key="az-env-key-1111") as fake:
        pasted = f"{fake.root}/openai/deployments/gpt4o-prod/chat/completions"
        (tmp_path / "config.toml").write_text(
            f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{pasted}"\n'
            'api_version = "2024-10-21"\napi_key = "az-env-key-1111"\nmodel = "gpt-4o"\n'
            '[profiles.az.deployments]\n"gpt-4o" = "gpt4o-prod"\n'
        )
        result = run_cli("ask", "hi", env=clean_env(tmp_path))
        assert result.returncode == 0, result.stderr
        env = clean_env(
            tmp_path / "zero",
            AZURE_OPENAI_API_KEY="az-env-key-1111",
            AZURE_OPENAI_ENDPOINT=f"{fake.root}/openai/deployments/gpt-4o/chat/completions/",
            OPENAI_API_VERSION="2024-10-21",
        )
        zero = run_cli("ask", "-m", "gpt-4o", "hi", env=env)
        assert zero.returncode == 0, zero.stderr
        paths = [r.path for r in fake.chat_requests()]
        assert paths == [
            "/openai/deployments/gpt4o-prod/chat/completions",
            "/openai/deployments/gpt-4o/chat/completions",
        ]


# -- 8: usage reports far beyond the model ---------------------------------------------------


@pytest.mark.parametrize(
    ("model", "prompt", "completion"),
    [
        ("gpt-4o-mini", 10_000_000, 5),  # above its 128k window
        ("gpt-4o-mini", 10, 500_000),  # more output than the window holds
        ("my-local-model", 5_000_000, 5),  # unknown window: 100x the local count + 100k
    ],
)
def test_a_usage_report_beyond_the_model_is_estimated_instead(
    fake: FakeOpenAI, tmp_path: Path, model: str, prompt: int, completion: int
) -> None:
    fake.script(Reply(text="Big", prompt_tokens=prompt, completion_tokens=completion))
    env = relay(tmp_path, fake)
    result = run_cli("ask", "--json", "-m", model, "hi", env=env)
    assert result.returncode == 0, result.stderr
    usage = json.loads(result.stdout)["usage"]
    assert usage["estimated"] is True
    assert usage["prompt_tokens"] < 1000 and usage["completion_tokens"] < 1000
    assert "ignored, the tokens are counted locally" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    logged = run_cli("usage", "--json", env=env)
    assert json.loads(logged.stdout)["total"]["prompt_tokens"] < 1000
    fake.script(Reply(text="ok", prompt_tokens=100_500, completion_tokens=5))  # possible
    kept = run_cli("ask", "--json", "-m", "my-local-model", "hi", env=env)
    assert kept.returncode == 0 and kept.stderr == ""
    assert json.loads(kept.stdout)["usage"]["prompt_tokens"] == 100_500


# -- 9: smaller things ---------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_an_empty_answer_says_so_on_stderr(fake: FakeOpenAI, tmp_path: Path, stream: bool) -> None:
    fake.script(Reply(text=""))
    flags = [] if stream else ["--no-stream"]
    result = run_cli("ask", *flags, "hi", env=relay(tmp_path, fake))
    assert result.returncode == 0
    assert result.stderr == "chatcli: the model returned an empty answer\n"


def test_invalid_utf8_in_a_whole_body_is_replaced_not_refused(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    body = (
        b'{"id":"x","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,'
        b'"message":{"role":"assistant","content":"Caf\xe9 cr\xe8me"},"finish_reason":"stop"}]}'
    )
    fake.script(Raw(body_hex=body.hex()))
    result = run_cli("ask", "--no-stream", "hi", env=relay(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Caf\ufffd cr\ufffdme\n"


def test_verify_of_a_responses_only_model_says_verify_cannot_check_it(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.responses_only = {"gpt-5-codex"}
    result = run_cli("verify", "-m", "gpt-5-codex", env=relay(tmp_path, fake))
    assert result.returncode == 5
    assert "only supported in v1/responses" in result.stderr
    assert "hint:" in result.stderr and "verify cannot check this model" in result.stderr
