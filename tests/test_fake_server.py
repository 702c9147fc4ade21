"""The fake server, driven through the real openai SDK and plain HTTP.

Why: every other test trusts this fake to behave like the real API; these tests pin that down.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionContentPartParam, ChatCompletionMessageParam

from tests.cli_helpers import python_argv
from tests.fakes import (
    DEFAULT_API_KEY,
    DEFAULT_BILLING,
    CutStream,
    Delay,
    Error,
    FakeControl,
    FakeOpenAI,
    Malformed,
    RejectStreamOptions,
    Reply,
    ScriptItem,
    SilentStream,
    StreamError,
    generate_words,
    make_wav,
    reply_from_dict,
    reply_to_dict,
    split_chunks,
)

ROOT = Path(__file__).resolve().parent.parent
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello 世界"}]


def client(fake: FakeOpenAI, **kwargs: Any) -> openai.OpenAI:
    """An SDK client on the fake that never retries (errors surface at once)."""
    kwargs.setdefault("api_key", DEFAULT_API_KEY)
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=fake.base_url, **kwargs)


def http(
    method: str, url: str, data: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Plain urllib call returning (status, headers, body) even for error statuses."""
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def stream_text(stream: Any) -> tuple[str, Any]:
    """Collect content deltas and the final usage from an SDK stream."""
    text, usage = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    return "".join(text), usage


# -- chat ----------------------------------------------------------------------------------


def test_non_streaming_echo_counts_user_messages_and_keeps_chinese(fake: FakeOpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "第二个 question"},
    ]
    resp = client(fake).chat.completions.create(model="deepseek-chat", messages=messages)
    assert resp.choices[0].message.content == "echo(2): 第二个 question"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "deepseek-chat"
    assert resp.usage is not None
    assert resp.usage.prompt_tokens == (2 + 4) + (1 + 4) + (1 + 4) + (2 + 4)
    assert resp.usage.completion_tokens == len(split_chunks("echo(2): 第二个 question"))
    rec = fake.chat_requests()[-1]
    assert rec.headers["authorization"] == f"Bearer {DEFAULT_API_KEY}"
    assert rec.json["messages"][-1]["content"] == "第二个 question"


def test_streaming_with_usage(fake: FakeOpenAI) -> None:
    fake.script(Reply("one two three", model="gpt-4o-2024-08-06", prompt_tokens=42))
    stream = client(fake).chat.completions.create(
        model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    text, usage = stream_text(stream)
    assert text == "one two three"
    assert usage.prompt_tokens == 42
    assert usage.completion_tokens == 3
    assert usage.total_tokens == 45


def test_streaming_events_are_sse_and_end_with_done(fake: FakeOpenAI) -> None:
    status, headers, body = http(
        "POST",
        fake.base_url + "/chat/completions",
        {"model": "m", "messages": USER, "stream": True},
        {"Authorization": f"Bearer {DEFAULT_API_KEY}", "Content-Type": "application/json"},
    )
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    events = [e for e in body.decode().split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    first = json.loads(events[0][6:])
    assert first["choices"][0]["delta"]["role"] == "assistant"
    last = json.loads(events[-2][6:])
    assert last["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in last  # no include_usage requested


def test_stream_arrives_incrementally(fake: FakeOpenAI) -> None:
    fake.script(Reply(words=20, words_per_second=20))
    stream = client(fake).chat.completions.create(model="m", messages=USER, stream=True)
    start = time.monotonic()
    arrivals = [
        time.monotonic() - start for c in stream if c.choices and c.choices[0].delta.content
    ]
    assert len(arrivals) == 20
    assert arrivals[-1] > 0.9  # paced: 20 words at 20/s
    # The first word did not wait for the last (with room for a test process kept off the CPU
    # for a while on a loaded machine: then the words that came meanwhile arrive at once).
    assert arrivals[0] < arrivals[-1] - 0.2


def test_max_tokens_truncates_with_length(fake: FakeOpenAI) -> None:
    fake.script(Reply(words=50))
    resp = client(fake).chat.completions.create(model="m", messages=USER, max_tokens=5)
    assert resp.choices[0].finish_reason == "length"
    assert len((resp.choices[0].message.content or "").split()) == 5
    assert resp.usage is not None and resp.usage.completion_tokens == 5


def test_generated_words_are_exact_and_markdown(fake: FakeOpenAI) -> None:
    text = generate_words(900)
    assert len(text.split()) == 900
    assert "```python" in text and "| model |" in text and "- item 1" in text
    assert "中文" in text
    assert generate_words(900) == text  # deterministic


def test_vision_content_parts_are_echoed(fake: FakeOpenAI) -> None:
    content: list[ChatCompletionContentPartParam] = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    resp = client(fake).chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": content}],
    )
    assert resp.choices[0].message.content == "echo(1): what is this [image]"


def test_wrong_key_is_401_without_echoing_the_key(fake: FakeOpenAI) -> None:
    bad = client(fake, api_key="sk-wrong-secret-key-9999")
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model="m", messages=USER)
    assert info.value.status_code == 401
    assert info.value.code == "invalid_api_key"
    assert "sk-wrong-secret-key-9999" not in str(info.value)
    assert "9999" in str(info.value)


def test_429_retry_after_is_visible(fake: FakeOpenAI) -> None:
    fake.script(Error.rate_limit(retry_after=1))
    with pytest.raises(openai.RateLimitError) as info:
        client(fake).chat.completions.create(model="m", messages=USER)
    assert info.value.response.headers["retry-after"] == "1"
    assert info.value.code == "rate_limit_exceeded"
    # The script is consumed: the next request gets the default reply.
    assert client(fake).chat.completions.create(model="m", messages=USER).choices


def test_sdk_retries_through_scripted_errors(fake: FakeOpenAI) -> None:
    fake.script(Error(500), Error(502, html=True))
    resp = client(fake, max_retries=2).chat.completions.create(model="m", messages=USER)
    assert resp.choices[0].message.content == "echo(1): hello 世界"
    assert len(fake.chat_requests()) == 3


def test_quota_and_html_errors(fake: FakeOpenAI) -> None:
    fake.script(Error.quota(), Error(502, html=True))
    with pytest.raises(openai.RateLimitError) as quota:
        client(fake).chat.completions.create(model="m", messages=USER)
    assert quota.value.code == "insufficient_quota"
    with pytest.raises(openai.InternalServerError) as bad_gateway:
        client(fake).chat.completions.create(model="m", messages=USER)
    assert "text/html" in bad_gateway.value.response.headers["content-type"]


def test_cut_stream_raises_after_partial_text(fake: FakeOpenAI) -> None:
    fake.script(CutStream("partial answer"))
    stream = client(fake).chat.completions.create(model="m", messages=USER, stream=True)
    seen: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                seen.append(chunk.choices[0].delta.content)
    assert "".join(seen) == "partial answer"


def test_silent_stream_trips_the_read_timeout(fake: FakeOpenAI) -> None:
    fake.script(SilentStream("before silence", silence=3))
    stream = client(fake, timeout=0.5).chat.completions.create(
        model="m", messages=USER, stream=True
    )
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        stream_text(stream)
    assert time.monotonic() - start < 2.5
    assert fake.wait_for_disconnects(1, timeout=2)


def test_closing_a_stream_counts_a_disconnect(fake: FakeOpenAI) -> None:
    fake.script(Reply(words=500, words_per_second=200))
    stream = client(fake).chat.completions.create(model="m", messages=USER, stream=True)
    next(iter(stream))
    stream.close()
    assert fake.wait_for_disconnects(1, timeout=3)


def test_malformed_json_and_sse(fake: FakeOpenAI) -> None:
    fake.script(Malformed(), Malformed(sse=True))
    # The SDK surfaces a non-JSON body as a decode error (ValueError) or an APIError.
    with pytest.raises((ValueError, openai.APIError)):
        client(fake).chat.completions.create(model="m", messages=USER)
    stream = client(fake).chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises((ValueError, openai.APIError)):
        stream_text(stream)
    assert len(fake.chat_requests()) == 2


def test_reject_stream_options_then_plain_stream_works(fake: FakeOpenAI) -> None:
    fake.script(RejectStreamOptions())
    with pytest.raises(openai.BadRequestError) as info:
        client(fake).chat.completions.create(
            model="m", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    assert "stream_options" in str(info.value)
    fake.reject_stream_options = True
    text, usage = stream_text(
        client(fake).chat.completions.create(model="m", messages=USER, stream=True)
    )
    assert text == "echo(1): hello 世界" and usage is None


def test_delay_postpones_first_token(fake: FakeOpenAI) -> None:
    fake.script(Delay(0.3, Reply("late")))
    start = time.monotonic()
    resp = client(fake).chat.completions.create(model="m", messages=USER)
    assert time.monotonic() - start >= 0.3
    assert resp.choices[0].message.content == "late"


def test_azure_route_key_and_deployment() -> None:
    with FakeOpenAI(azure_key="azure-key-123456") as fake:
        azure = openai.AzureOpenAI(
            azure_endpoint=fake.root,
            api_version="2024-10-21",
            api_key="azure-key-123456",
            max_retries=0,
        )
        stream = azure.chat.completions.create(
            model="gpt4o-prod", messages=USER, stream=True, stream_options={"include_usage": True}
        )
        text, usage = stream_text(stream)
        assert text == "echo(1): hello 世界" and usage is not None
        rec = fake.chat_requests()[-1]
        assert rec.deployment == "gpt4o-prod"
        assert rec.query["api-version"] == "2024-10-21"
        assert rec.headers["api-key"] == "azure-key-123456"
        status, _, body = http(
            "POST",
            fake.root + "/openai/deployments/x/chat/completions",
            {"messages": USER},
            {"api-key": "azure-key-123456", "Content-Type": "application/json"},
        )
        assert status == 400 and b"api-version" in body
        wav = make_wav(0.5)
        result = azure.audio.transcriptions.create(model="whisper", file=("az.wav", wav))
        assert result.text == f"transcript of az.wav ({len(wav)} bytes)"
        assert fake.requests[-1].deployment == "whisper"
        wrong = openai.AzureOpenAI(
            azure_endpoint=fake.root, api_version="2024-10-21", api_key="nope", max_retries=0
        )
        with pytest.raises(openai.AuthenticationError):
            wrong.chat.completions.create(model="gpt4o-prod", messages=USER)


def test_tool_calls_streamed_and_not(fake: FakeOpenAI) -> None:
    call = {"name": "get_weather", "arguments": {"city": "北京"}}
    fake.script(Reply(tool_calls=[call]), Reply(tool_calls=[call]))
    tools: Any = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    resp = client(fake).chat.completions.create(model="m", messages=USER, tools=tools)
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert choice.message.tool_calls is not None
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"city": "北京"}  # type: ignore[union-attr]
    args, finish = "", None
    streamed = client(fake).chat.completions.create(
        model="m", messages=USER, stream=True, tools=tools
    )
    for chunk in streamed:
        delta = chunk.choices[0].delta
        if delta.tool_calls:
            args += delta.tool_calls[0].function.arguments or ""  # type: ignore[union-attr]
        finish = chunk.choices[0].finish_reason or finish
    assert json.loads(args) == {"city": "北京"} and finish == "tool_calls"


def test_in_band_stream_error(fake: FakeOpenAI) -> None:
    fake.script(StreamError("half", message="upstream overloaded"))
    stream = client(fake).chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(openai.APIError, match="upstream overloaded"):
        stream_text(stream)


def test_stopping_the_server_mid_stream_ends_it_without_a_disconnect() -> None:
    fake = FakeOpenAI().start()
    fake.script(Reply(words=1000, words_per_second=100))
    stream = client(fake).chat.completions.create(model="m", messages=USER, stream=True)
    next(iter(stream))
    start = time.monotonic()
    fake.stop()
    with pytest.raises(openai.APIConnectionError):
        stream_text(stream)
    assert time.monotonic() - start < 2
    assert fake.disconnects == 0


# -- models, billing, routes ------------------------------------------------------------------


def test_models_list_includes_non_gpt_names(fake: FakeOpenAI) -> None:
    ids = [m.id for m in client(fake).models.list()]
    assert ids == fake.models
    assert {"deepseek-chat", "claude-3-5-sonnet", "gpt-4o", "whisper-1"} <= set(ids)
    status, _, body = http(
        "GET",
        fake.root + "/openai/models?api-version=2024-10-21",
        headers={"api-key": fake.api_key or ""},
    )
    assert status == 200 and json.loads(body)["data"][0]["object"] == "model"


def test_billing_endpoints(fake: FakeOpenAI) -> None:
    auth = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    status, _, _ = http("GET", fake.root + "/dashboard/billing/subscription", headers=auth)
    assert status == 404  # like the official API: no billing endpoints
    fake.billing = DEFAULT_BILLING
    status, _, body = http("GET", fake.root + "/dashboard/billing/subscription", headers=auth)
    assert status == 200 and json.loads(body)["hard_limit_usd"] == 100.0
    url = fake.base_url + "/dashboard/billing/usage?start_date=2024-01-01&end_date=2024-02-01"
    status, _, body = http("GET", url, headers=auth)
    assert status == 200 and json.loads(body)["total_usage"] == 1234.5
    assert fake.requests[-1].query["start_date"] == "2024-01-01"


def test_unknown_route_is_404_json(fake: FakeOpenAI) -> None:
    status, _, body = http(
        "GET", fake.base_url + "/nope", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    )
    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"


# -- audio and images ------------------------------------------------------------------------


def test_transcription_formats(fake: FakeOpenAI) -> None:
    wav = make_wav(1.5)
    sdk = client(fake)
    result = sdk.audio.transcriptions.create(model="whisper-1", file=("talk.wav", wav))
    assert result.text == f"transcript of talk.wav ({len(wav)} bytes)"
    text = sdk.audio.transcriptions.create(
        model="whisper-1", file=("talk.wav", wav), response_format="text"
    )
    assert str(text).strip() == result.text
    srt = sdk.audio.transcriptions.create(
        model="whisper-1", file=("talk.wav", wav), response_format="srt", language="zh"
    )
    assert "00:00:00,000 --> 00:00:01,500" in str(srt)
    upload = fake.uploads[-1]
    assert (upload.filename, upload.size) == ("talk.wav", len(wav))
    assert upload.fields["language"] == "zh" and upload.fields["response_format"] == "srt"
    remote = FakeControl(fake.root).requests()[-1]  # multipart bodies are not echoed back
    assert "body" not in remote and remote["body_size"] > len(wav)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks translations deprecated
def test_translation_verbose_json_and_upload_limit(fake: FakeOpenAI) -> None:
    wav = make_wav(2.0)
    resp = client(fake).audio.translations.create(
        model="whisper-1", file=("a.wav", wav), response_format="verbose_json"
    )
    assert resp.text.startswith("translation of a.wav")
    fake.max_upload_bytes = 100
    with pytest.raises(openai.APIStatusError) as info:
        client(fake).audio.transcriptions.create(model="whisper-1", file=("a.wav", wav))
    assert info.value.status_code == 413


def test_image_generation_b64_and_url(fake: FakeOpenAI) -> None:
    sdk = client(fake)
    resp = sdk.images.generate(prompt="a cat", n=2, size="256x256", response_format="b64_json")
    assert len(resp.data or []) == 2
    png = base64.b64decode((resp.data or [])[0].b64_json or "")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(png[16:20], "big") == 256  # IHDR width
    resp = sdk.images.generate(prompt="a cat", response_format="url")
    url = (resp.data or [])[0].url or ""
    status, headers, body = http("GET", url)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert body.startswith(b"\x89PNG")


def test_image_edit_multipart(fake: FakeOpenAI) -> None:
    from tests.fakes import make_png

    resp = client(fake).images.edit(
        image=("in.png", make_png(4, 4)), mask=("mask.png", make_png(4, 4)), prompt="hat"
    )
    assert (resp.data or [])[0].b64_json
    assert sorted(u.filename for u in fake.uploads) == ["in.png", "mask.png"]


# -- control API and standalone process ---------------------------------------------------------


def test_reset_undoes_configure_for_the_next_test(fake: FakeOpenAI) -> None:
    """One fake process serves every tmux test of a worker: a reset leaves nothing behind."""
    control = FakeControl(fake.base_url)
    models, responses = list(fake.models), fake.responses
    control.configure(models=["only-one"], responses=not responses)
    assert fake.models == ["only-one"] and fake.responses is not responses
    control.hurry()
    control.reset()
    assert fake.models == models and fake.responses is responses and fake._hurry is None


def test_hurry_speeds_up_a_paced_stream_in_flight(fake: FakeOpenAI) -> None:
    fake.script(Reply(words=400, words_per_second=20))  # 20 s at this pace
    stream = client(fake).chat.completions.create(model="m", messages=USER, stream=True)
    pieces = iter(stream)
    first = next(pieces)  # the stream is open and paced
    FakeControl(fake.base_url).hurry()
    text = "".join(c.choices[0].delta.content or "" for c in [first, *pieces] if c.choices)
    assert len(text.split()) == 400  # all of it, at once (the 60 s client timeout never hit)


def test_reply_kinds_round_trip_as_json() -> None:
    items: list[ScriptItem] = [
        Reply(words=3),
        Error.rate_limit(),
        Delay(0.1, CutStream()),
        Malformed(sse=True),
    ]
    assert [reply_from_dict(json.loads(json.dumps(reply_to_dict(i)))) for i in items] == items


def test_control_api_over_http(fake: FakeOpenAI) -> None:
    control = FakeControl(fake.base_url)
    control.script(Reply("scripted over http"), Error(503))
    assert control.state()["pending_script"] == 2
    sdk = client(fake)
    assert sdk.chat.completions.create(model="m", messages=USER).choices[0].message.content == (
        "scripted over http"
    )
    with pytest.raises(openai.InternalServerError):
        sdk.chat.completions.create(model="m", messages=USER)
    recorded = control.requests()
    assert [r["json"]["messages"] for r in recorded] == [USER, USER]
    assert recorded[0]["headers"]["authorization"].startswith("Bearer ")
    control.reset()
    assert control.state() == {"disconnects": 0, "pending_script": 0, "requests": 0}
    status, _, body = http("POST", fake.root + "/_fake/script", [{"kind": "Bogus"}])
    assert status == 400 and b"Bogus" in body
    control.configure(models=["only-one"], billing=DEFAULT_BILLING, default_reply={"text": "hi"})
    assert [m.id for m in sdk.models.list()] == ["only-one"]
    assert fake.billing == DEFAULT_BILLING
    assert sdk.chat.completions.create(model="m", messages=USER).choices[0].message.content == "hi"


@pytest.mark.process
def test_standalone_process_prints_url_and_serves() -> None:
    proc = subprocess.Popen(
        python_argv("-m", "tests.fakes", "--no-auth", "--reply-words", "7"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        sdk = openai.OpenAI(base_url=url, api_key="anything", max_retries=0)
        text = sdk.chat.completions.create(model="m", messages=USER).choices[0].message.content
        assert len((text or "").split()) == 7
        assert FakeControl(url).state()["requests"] == 1
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: exit quietly, like SIGTERM
        _, err = proc.communicate(timeout=5)
    assert proc.returncode == 0
    assert err == ""


def test_tool_results_must_answer_the_calls_they_name(fake: FakeOpenAI) -> None:
    calls = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    unanswered: Any = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "user", "content": "and?"},
    ]
    with pytest.raises(openai.BadRequestError, match="call_1"):
        client(fake).chat.completions.create(model="m", messages=unanswered)
    stray: Any = [
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "x", "content": "1"},
    ]
    with pytest.raises(openai.BadRequestError, match="must be a response to a preceeding"):
        client(fake).chat.completions.create(model="m", messages=stray)
    answered: Any = [*unanswered[:2], {"role": "tool", "tool_call_id": "call_1", "content": "1"}]
    reply = client(fake).chat.completions.create(model="m", messages=answered)
    assert reply.choices[0].message.content == "tools said: 1"
