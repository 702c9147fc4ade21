"""The provider and its transport in-process, against the fake server: retries, error mapping,
timeouts and stream parsing, without a subprocess per case (the CLI tests cover the funnel)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatcli.environment import ManualClock
from chatcli.errors import APIError, AuthError, NetworkError
from chatcli.events import Finish, Notice, StreamEvent, TextDelta, Usage
from chatcli.pricing import lookup
from chatcli.providers import connect
from chatcli.providers.base import ChatRequest, Provider
from chatcli.settings.loading import Profile
from tests.fakes import (
    DEFAULT_API_KEY,
    CutStream,
    Delay,
    Error,
    FakeOpenAI,
    Malformed,
    RejectStreamOptions,
    Reply,
    SilentStream,
)


def _profile(fake: FakeOpenAI, **overrides: object) -> Profile:
    settings: dict[str, object] = {
        "name": "t",
        "type": "relay",
        "base_url": fake.base_url,
        "api_key": DEFAULT_API_KEY,
        "timeout": 5.0,
        "max_retries": 2,
    }
    settings.update(overrides)
    return Profile(**settings)  # type: ignore[arg-type]


@pytest.fixture
def provider(fake: FakeOpenAI) -> Iterator[Provider]:
    p = connect(_profile(fake), lookup, clock=ManualClock())
    yield p
    p.close()


def _ask(provider: Provider, stream: bool = True) -> list[StreamEvent]:
    request = ChatRequest("gpt-4o-mini", [{"role": "user", "content": "hi"}], stream=stream)
    return list(provider.chat(request))


def _text(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_stream_yields_text_usage_and_finish(fake: FakeOpenAI, provider: Provider) -> None:
    fake.script(Reply(text="hello there", prompt_tokens=9, completion_tokens=2))
    events = _ask(provider)
    assert _text(events) == "hello there"
    assert Usage(9, 2) in events
    assert isinstance(events[-1], Finish) and events[-1].reason == "stop"


def test_whole_body_when_not_streamed(fake: FakeOpenAI, provider: Provider) -> None:
    fake.script(Reply(text="whole", prompt_tokens=3, completion_tokens=1))
    events = _ask(provider, stream=False)
    assert _text(events) == "whole" and Usage(3, 1) in events
    assert fake.requests[-1].json.get("stream") is None


def test_5xx_is_retried_with_a_countdown_notice(fake: FakeOpenAI, provider: Provider) -> None:
    fake.script(Error(503, headers={"Retry-After": "0.2"}), Reply(text="ok"))
    events = _ask(provider)
    assert _text(events) == "ok"
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert notices and "retry 1/2" in notices[0]
    assert len(fake.chat_requests()) == 2


def test_retries_stop_at_max_retries(fake: FakeOpenAI, provider: Provider) -> None:
    fake.script(*[Error(500, headers={"Retry-After": "0"})] * 3)
    with pytest.raises(APIError) as info:
        _ask(provider)
    assert info.value.status == 500 and len(fake.chat_requests()) == 3


def test_401_is_an_auth_error_without_retry(fake: FakeOpenAI, provider: Provider) -> None:
    fake.script(Error(401, message="Incorrect API key provided", code="invalid_api_key"))
    with pytest.raises(AuthError):
        _ask(provider)
    assert len(fake.chat_requests()) == 1


def test_cut_stream_is_a_network_error(fake: FakeOpenAI, provider: Provider) -> None:
    fake.script(CutStream())
    events: list[StreamEvent] = []
    with pytest.raises(NetworkError):
        events.extend(provider.chat(ChatRequest("gpt-4o-mini", [{"role": "user", "content": "x"}])))
    assert "partial answer" in _text(events)


def test_silent_stream_times_out(fake: FakeOpenAI) -> None:
    provider = connect(_profile(fake, timeout=0.3, max_retries=0), lookup, clock=ManualClock())
    fake.script(SilentStream(silence=5.0))
    with pytest.raises(NetworkError) as info:
        _ask(provider)
    assert "silent" in info.value.message
    provider.close()


def test_malformed_json_is_an_api_error(fake: FakeOpenAI, provider: Provider) -> None:
    fake.script(Malformed(body="{not json"))
    with pytest.raises(APIError):
        _ask(provider, stream=False)


def test_stream_options_refused_then_resent_without(fake: FakeOpenAI, provider: Provider) -> None:
    fake.script(RejectStreamOptions(), Reply(text="fine"))
    events = _ask(provider)
    assert _text(events) == "fine"
    first, second = fake.chat_requests()
    assert "stream_options" in first.json and "stream_options" not in second.json


def test_connection_refused_is_a_network_error() -> None:
    profile = Profile(
        name="down", type="relay", base_url="http://127.0.0.1:9/v1", api_key="sk-test-key-0000",
        timeout=2.0, max_retries=0,
    )  # fmt: skip
    provider = connect(profile, lookup, clock=ManualClock())
    with pytest.raises(NetworkError) as info:
        _ask(provider)
    assert "connection refused" in info.value.message
    provider.close()


def test_key_never_in_errors(fake: FakeOpenAI) -> None:
    key = "sk-secret-value-123456"
    fake.api_key = key
    provider = connect(_profile(fake, api_key=key), lookup, clock=ManualClock())
    fake.script(Error(400, message=f"bad key {key} here"))
    with pytest.raises(APIError) as info:
        _ask(provider, stream=False)
    assert key not in info.value.message and "****3456" in info.value.message
    provider.close()


@pytest.mark.parametrize("warm", [False, True])
def test_abort_cuts_a_request_whose_connection_opens_after_it(fake: FakeOpenAI, warm: bool) -> None:
    """Ctrl-C aborts from the main thread while a worker is between the abort check and its
    connection (summarize's parts): that connection is cut too, not left to wait on the server."""
    import threading

    from chatcli.errors import Interrupted
    from chatcli.providers.transport import Transport

    transport = Transport(_profile(fake, timeout=60.0), ManualClock())
    url = f"{fake.base_url}/chat/completions"
    headers = {"authorization": f"Bearer {DEFAULT_API_KEY}"}
    if warm:  # a pooled connection as well as the new one
        fake.script(Reply(text="first"))
        transport.send("POST", url, headers=headers, json_body=_BODY).close()
    fake.script(Delay(120, Reply(text="late")))

    def body() -> dict[str, object]:
        transport.abort()  # lands after ``open`` checked for an abort, before it connects
        return _BODY

    outcome: list[BaseException] = []

    def worker() -> None:
        try:
            transport.send("POST", url, headers=headers, json_body=body).close()
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join(timeout=15)  # the server holds the request for 120 s; the read timeout is 60 s
    transport.close()
    assert not thread.is_alive(), "the request opened after abort() still waits on the server"
    assert len(outcome) == 1 and isinstance(outcome[0], Interrupted), outcome


_BODY: dict[str, object] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
