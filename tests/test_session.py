"""ChatSession driven by a scripted Provider (a test double of our own protocol, not the SDK)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chatcli.errors import APIError, NetworkError, UsageError
from chatcli.events import Finish, Notice, StreamEvent, TextDelta, Usage
from chatcli.pricing import ModelInfo, cost_usd, lookup
from chatcli.providers.base import ChatRequest
from chatcli.session import ChatSession, TurnResult
from chatcli.settings.loading import Profile
from chatcli.settings.resolve import ChatSettings
from chatcli.store import Store
from chatcli.tokens import count_messages, count_text

Script = list[StreamEvent | BaseException]


class ScriptedProvider:
    """Answers each request with the next script; records requests and whether it was closed."""

    name = "scripted"
    deployment_only = False

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts)
        self.requests: list[ChatRequest] = []
        self.closed = 0

    def add(self, *scripts: Script) -> None:
        self.scripts.extend(scripts)

    def chat(self, request: ChatRequest) -> Generator[StreamEvent, None, None]:
        self.requests.append(request)
        return self._play(self.scripts.pop(0))

    def _play(self, script: Script) -> Generator[StreamEvent, None, None]:
        try:
            for item in script:
                if isinstance(item, BaseException):
                    raise item
                yield item
        except GeneratorExit:
            self.closed += 1
            raise


def reply(text: str, prompt: int = 10, completion: int = 5, model: str | None = None) -> Script:
    return [
        TextDelta(text[:3]),
        TextDelta(text[3:]),
        Usage(prompt, completion),
        Finish("stop", model),
    ]


def roles(request: ChatRequest) -> list[tuple[str, Any]]:
    return [(m["role"], m["content"]) for m in request.messages]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path)
    yield s
    s.close()


def settings(**kw: Any) -> ChatSettings:
    kw.setdefault("model", "gpt-4o-mini")
    kw.setdefault("model_info", lookup)
    return ChatSettings(profile=Profile("openai", "openai"), **kw)


def session(
    provider: ScriptedProvider,
    store: Store | None = None,
    *,
    persist: bool = False,
    name: str | None = None,
    **kw: Any,
) -> ChatSession:
    return ChatSession.open(provider, settings(**kw), store=store, persist=persist, name=name)


def drain(events: Iterator[StreamEvent]) -> list[StreamEvent]:
    return list(events)


def test_multi_turn_history_is_sent_and_turn_results_reported(store: Store) -> None:
    provider = ScriptedProvider(
        reply("Hi there!"), reply("Paris.", 40, 2, "gpt-4o-mini-2024-07-18")
    )
    chat = session(provider, store, persist=True, system="Be brief.")
    events = drain(chat.send("hello"))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hi ", "there!"]
    drain(chat.send("capital of France?"))
    assert roles(provider.requests[1]) == [
        ("system", "Be brief."),
        ("user", "hello"),
        ("assistant", "Hi there!"),
        ("user", "capital of France?"),
    ]
    turn = chat.last_turn
    assert turn is not None
    assert (turn.text, turn.prompt_tokens, turn.completion_tokens) == ("Paris.", 40, 2)
    assert turn.model == "gpt-4o-mini-2024-07-18" and turn.finish_reason == "stop"
    assert turn.cost_usd == pytest.approx((40 * 0.15 + 2 * 0.60) / 1e6)
    assert not turn.estimated and not turn.interrupted
    assert turn.ttft is not None and turn.duration >= turn.ttft
    assert chat.row is not None and chat.name == chat.row.name
    stored = store.all_messages(chat.row.id)
    assert [(m.role, m.content) for m in stored] == [
        ("user", "hello"),
        ("assistant", "Hi there!"),
        ("user", "capital of France?"),
        ("assistant", "Paris."),
    ]
    assert stored[-1].model == "gpt-4o-mini-2024-07-18" and stored[-1].prompt_tokens == 40
    assert [u.status for u in store.usage_rows()] == ["ok", "ok"]
    assert store.usage_rows()[1].session_id == chat.row.id


def test_ephemeral_ask_saves_no_session_but_logs_usage(store: Store) -> None:
    chat = session(ScriptedProvider(reply("42")), store, command="ask")
    drain(chat.send("meaning of life?"))
    assert store.list_sessions() == [] and chat.row is None and chat.name is None
    (usage,) = store.usage_rows()
    assert (usage.command, usage.status, usage.session_id) == ("ask", "ok", None)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.profile) == (10, 5, "openai")


def test_resume_after_reopening_the_store(tmp_path: Path) -> None:
    with Store.open(tmp_path) as first:
        chat = session(ScriptedProvider(reply("Noted.")), first, persist=True, name="trip")
        chat.set_system("You plan trips.", role="planner")
        drain(chat.send("I fly on Monday."))
    with Store.open(tmp_path) as second:
        row = second.latest_session()
        assert row is not None and row.name == "trip"
        provider = ScriptedProvider(reply("Monday."))
        kept = ChatSettings(
            Profile("relay", "relay"), "gpt-4o", lookup, system=row.system, role=row.role
        )
        resumed = ChatSession.open(provider, kept, store=second, row=row)
        assert [m.content for m in resumed.history] == ["I fly on Monday.", "Noted."]
        drain(resumed.send("When do I fly?"))
        assert roles(provider.requests[0]) == [
            ("system", "You plan trips."),
            ("user", "I fly on Monday."),
            ("assistant", "Noted."),
            ("user", "When do I fly?"),
        ]
        assert provider.requests[0].model == "gpt-4o"
        updated = second.get_session("trip")
        assert updated is not None
        assert (updated.profile, updated.model, updated.role) == ("relay", "gpt-4o", "planner")
        assert len(second.all_messages(row.id)) == 4


def small_model(window: int) -> Any:
    return lambda name: ModelInfo(name, context_window=window, input_price=1.0, output_price=2.0)


def test_trimming_leaves_out_oldest_turns_keeps_system_and_says_so(store: Store) -> None:
    turns = 12
    provider = ScriptedProvider(*[reply("word " * 50) for _ in range(turns + 1)])
    chat = session(
        provider, store, model="tiny", model_info=small_model(1200), max_tokens=200,
        system="SYSTEM PROMPT", persist=True,
    )  # fmt: skip
    notices: list[str] = []
    for i in range(turns):
        events = drain(chat.send(f"question {i} " + "text " * 50))
        notices += [e.message for e in events if isinstance(e, Notice)]
    assert notices, "the history outgrew the window, so a notice was due"
    assert all(n.endswith("left out to fit the context window of tiny") for n in notices)
    last = provider.requests[-1]
    assert last.messages[0] == {"role": "system", "content": "SYSTEM PROMPT"}
    assert last.messages[1]["role"] == "user"
    assert last.messages[-1]["content"].startswith(f"question {turns - 1} ")
    left_out = int(notices[-1].split()[0])
    assert len(last.messages) == 1 + 2 * (turns - 1 - left_out) + 1
    assert count_messages(last.messages, None).n <= 1200 - 200
    used, window = chat.context_tokens()
    assert window == 1200 and used <= 1200 - 200
    # all turns are still stored; only the request was trimmed
    assert chat.row is not None and len(store.all_messages(chat.row.id)) == 2 * turns


def test_resume_loads_only_what_fits_and_reports_the_rest(store: Store) -> None:
    chat = session(
        ScriptedProvider(*[reply("answer " * 40) for _ in range(30)]), store, persist=True
    )
    for i in range(30):
        drain(chat.send(f"q{i} " + "text " * 40))
    assert chat.row is not None
    provider = ScriptedProvider(reply("ok"))
    resumed = ChatSession.open(
        provider, settings(model="tiny", model_info=small_model(1500)), store=store, row=chat.row
    )
    loaded = len(resumed.history)
    assert 0 < loaded < 60 and loaded % 2 == 0
    events = drain(resumed.send("next"))
    notice = next(e.message for e in events if isinstance(e, Notice))
    assert notice.startswith(f"{30 - loaded // 2} earlier turns left out")
    assert provider.requests[0].messages[0]["role"] == "user"


def test_unknown_context_window_never_trims(store: Store) -> None:
    provider = ScriptedProvider(*[reply("x " * 500) for _ in range(5)])
    chat = session(provider, store, model="mystery-model", model_info=lambda n: ModelInfo(n))
    events: list[StreamEvent] = []
    for i in range(5):
        events += drain(chat.send(f"q{i} " + "y " * 500))
    assert not any(isinstance(e, Notice) for e in events)
    assert len(provider.requests[-1].messages) == 9


def test_closing_the_stream_keeps_the_partial_reply_marked_interrupted(store: Store) -> None:
    provider = ScriptedProvider(
        [TextDelta("Once upon"), TextDelta(" a time"), TextDelta(" never seen")]
    )
    chat = session(provider, store, persist=True)
    stream = chat.send("tell me a story")
    assert next(stream) == TextDelta("Once upon")
    assert next(stream) == TextDelta(" a time")
    stream.close()
    assert provider.closed == 1  # the provider's generator (its HTTP stream) was closed
    turn = chat.last_turn
    assert turn is not None and turn.interrupted and turn.text == "Once upon a time"
    assert turn.estimated and turn.completion_tokens > 0 and turn.prompt_tokens > 0
    assert chat.row is not None
    user, partial = store.all_messages(chat.row.id)
    assert user.content == "tell me a story"
    assert partial.content == "Once upon a time" and partial.interrupted
    (usage,) = store.usage_rows()
    assert usage.status == "interrupted" and usage.estimated
    assert [m.content for m in chat.history] == ["tell me a story", "Once upon a time"]


def test_ctrl_c_inside_the_provider_keeps_the_partial_reply(store: Store) -> None:
    provider = ScriptedProvider([TextDelta("partial"), KeyboardInterrupt()])
    chat = session(provider, store, persist=True)
    received: list[StreamEvent] = []
    with pytest.raises(KeyboardInterrupt):
        for event in chat.send("go"):
            received.append(event)
    assert received == [TextDelta("partial")]
    assert chat.row is not None
    assert [(m.content, m.interrupted) for m in store.all_messages(chat.row.id)] == [
        ("go", False),
        ("partial", True),
    ]
    assert store.usage_rows()[0].status == "interrupted"


def test_provider_error_leaves_no_half_turn_and_retry_resends(store: Store) -> None:
    provider = ScriptedProvider(
        [APIError("bad gateway", status=502)],
        [APIError("rate limited", status=429)],
        reply("Full answer."),
    )
    chat = session(provider, store, persist=True, name="flaky")
    with pytest.raises(APIError):
        drain(chat.send("question"))
    assert chat.history == [] and chat.last_turn is None
    assert store.get_session("flaky") is None  # not even an empty session
    with pytest.raises(APIError):
        drain(chat.retry())
    drain(chat.retry())
    assert [r.messages[-1]["content"] for r in provider.requests] == ["question"] * 3
    assert all(len(r.messages) == 1 for r in provider.requests)
    row = store.get_session("flaky")
    assert row is not None
    assert [m.content for m in store.all_messages(row.id)] == ["question", "Full answer."]
    assert [u.status for u in store.usage_rows()] == ["error", "error", "ok"]


def test_network_cut_keeps_partial_answer_marked_and_retry_replaces_it(store: Store) -> None:
    provider = ScriptedProvider(
        [TextDelta("half an ans"), NetworkError("the connection closed")],
        reply("Full answer."),
    )
    chat = session(provider, store, persist=True, name="cut")
    with pytest.raises(NetworkError):
        drain(chat.send("question"))
    assert chat.last_turn is not None and chat.last_turn.interrupted
    row = store.get_session("cut")
    assert row is not None
    assert [(m.content, m.interrupted) for m in store.all_messages(row.id)] == [
        ("question", False),
        ("half an ans", True),
    ]
    assert [u.status for u in store.usage_rows()] == ["error"]
    drain(chat.retry())
    assert [m.content for m in store.all_messages(row.id)] == ["question", "Full answer."]
    assert all(len(r.messages) == 1 for r in provider.requests)


def test_undo_and_retry(store: Store) -> None:
    provider = ScriptedProvider(reply("one"), reply("two"), reply("two, again"))
    chat = session(provider, store, persist=True)
    drain(chat.send("first"))
    drain(chat.send("second"))
    drain(chat.retry())
    assert roles(provider.requests[-1]) == [
        ("user", "first"),
        ("assistant", "one"),
        ("user", "second"),
    ]
    assert chat.row is not None
    contents = [m.content for m in store.all_messages(chat.row.id)]
    assert contents == ["first", "one", "second", "two, again"]
    assert chat.undo() == "second"
    assert [m.content for m in chat.history] == ["first", "one"]
    assert [m.content for m in store.all_messages(chat.row.id)] == ["first", "one"]
    assert chat.undo() == "first"
    assert chat.undo() is None
    with pytest.raises(UsageError, match="nothing to retry"):
        drain(chat.retry())


def test_unknown_prices_give_no_cost_not_zero(store: Store) -> None:
    chat = session(
        ScriptedProvider(reply("hi")), store, model="llama3:8b", model_info=lambda n: ModelInfo(n)
    )
    drain(chat.send("hello"))
    assert chat.last_turn is not None and chat.last_turn.cost_usd is None
    assert store.usage_rows()[0].cost_usd is None
    assert chat.total_cost() == (0.0, True)


def test_missing_usage_is_estimated(store: Store) -> None:
    chat = session(ScriptedProvider([TextDelta("hello there"), Finish("stop")]), store)
    drain(chat.send("say hello"))
    turn = chat.last_turn
    assert turn is not None and turn.estimated
    said = [{"role": "user", "content": "say hello"}]
    assert turn.prompt_tokens == count_messages(said, "o200k_base").n
    assert turn.completion_tokens > 0
    assert turn.cost_usd == cost_usd(
        lookup("gpt-4o-mini"), turn.prompt_tokens, turn.completion_tokens
    )
    assert store.usage_rows()[0].estimated


def test_chinese_and_image_content_round_trip(tmp_path: Path) -> None:
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": "这是什么？"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    with Store.open(tmp_path) as store:
        chat = session(
            ScriptedProvider(reply("你好，世界！"), reply("一只猫。")), store, persist=True
        )
        drain(chat.send("你好，世界"))
        drain(chat.send(parts))
        name = chat.name
    with Store.open(tmp_path) as store:
        assert name is not None
        row = store.get_session(name)
        assert row is not None and row.title == "你好，世界"
        assert [m.content for m in store.all_messages(row.id)] == [
            "你好，世界", "你好，世界！", parts, "一只猫。",
        ]  # fmt: skip
        assert [s.name for s in store.list_sessions("世界")] == [name]


def test_save_persists_an_ephemeral_session_with_its_turns(store: Store) -> None:
    provider = ScriptedProvider(reply("a1"), reply("a2"), reply("a3"))
    chat = session(provider, store)
    drain(chat.send("q1"))
    drain(chat.send("q2"))
    assert store.list_sessions() == []
    row = chat.save("keep")
    assert [m.content for m in store.all_messages(row.id)] == ["q1", "a1", "q2", "a2"]
    drain(chat.send("q3"))
    assert len(store.all_messages(row.id)) == 6
    chat.save("renamed")
    assert store.get_session("keep") is None and chat.name == "renamed"
    other = session(ScriptedProvider(), store)
    with pytest.raises(UsageError, match="already exists"):
        other.save("renamed")


def test_settings_changes_are_persisted_and_used(store: Store) -> None:
    provider = ScriptedProvider(reply("a"), reply("b"))
    chat = session(provider, store, persist=True)
    drain(chat.send("q"))
    chat.set_system("Answer in French.", role="french")
    chat.set_model("gpt-4o")
    other = ScriptedProvider(reply("c"))
    relay = replace(chat.settings.profile, name="relay")
    chat.switch(other, replace(chat.settings, profile=relay))
    assert chat.settings.system == "Answer in French." and chat.model == "gpt-4o"
    drain(chat.send("q2"))
    assert other.requests[0].model == "gpt-4o"
    assert other.requests[0].messages[0] == {"role": "system", "content": "Answer in French."}
    assert chat.row is not None
    row = store.get_session(chat.row.name)
    assert row is not None
    assert (row.system, row.role, row.model, row.profile) == (
        "Answer in French.", "french", "gpt-4o", "relay",
    )  # fmt: skip


def test_new_starts_a_fresh_persisted_session(store: Store) -> None:
    provider = ScriptedProvider(reply("a"), reply("b"))
    chat = session(provider, store, persist=True, system="S")
    drain(chat.send("q"))
    first = chat.row
    chat.new()
    assert chat.history == [] and chat.name is None
    drain(chat.send("fresh"))
    assert roles(provider.requests[-1]) == [("system", "S"), ("user", "fresh")]
    assert chat.row is not None and first is not None and chat.row.id != first.id
    assert len(store.list_sessions()) == 2


def test_context_tokens_and_total_cost(store: Store) -> None:
    # the tokenizer loaded first, as the REPL does while you type: counts are exact whatever
    # ran before in this process (until then a short one-shot message is only estimated)
    count_text("warm up", "o200k_base")
    chat = session(ScriptedProvider(reply("hi", 100, 10), reply("yo", 200, 20)), store, system="S")
    drain(chat.send("hello"))
    drain(chat.send("again"))
    used, window = chat.context_tokens()
    expected = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "again"},
        {"role": "assistant", "content": "yo"},
    ]
    assert (used, window) == (count_messages(expected, "o200k_base").n, 128_000)
    total, unknown = chat.total_cost()
    assert total == pytest.approx((300 * 0.15 + 30 * 0.60) / 1e6) and unknown is False


def test_tokens_per_second() -> None:
    turn = TurnResult("x", "m", 10, 50, False, None, 0.5, 2.5, "stop", False)
    assert turn.tokens_per_second == pytest.approx(25.0)
    assert (
        TurnResult("", "m", 10, 0, False, None, None, 0.1, "stop", False).tokens_per_second is None
    )


def test_session_module_loads_no_ui_sdk_http_or_config() -> None:
    import json
    import subprocess
    import sys

    probe = "import json, sys, chatcli.session; print(json.dumps(sorted(sys.modules)))"
    mods = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True,
                                     text=True, check=True, timeout=60).stdout)  # fmt: skip
    banned = ("typer", "rich", "prompt_toolkit", "openai", "httpx2", "chatcli.settings")
    assert [m for m in mods if m.startswith(banned)] == []
