"""ChatSession: one conversation's history, system prompt and context trimming.

``chatcli ask`` (a one-shot conversation), the chat REPL and summarize talk through it, and
all of them start one with ``ChatSession.open`` from a resolved ``ChatSettings``. ``send()``
builds the request (system prompt, as many recent turns as fit the model's context window, the
new message), passes the provider's stream events on unchanged, and records the turn when the
stream ends:

- completed: user message and reply are saved at once (if the session is persisted), usage logged;
- interrupted (consumer closed the generator, or Ctrl-C inside it): the partial reply is kept and
  marked, and the provider's stream is closed so the HTTP connection goes away;
- cut (the connection failed mid-answer, or a relay reported the upstream's failure in-band):
  like interrupted, the partial reply the user paid for is kept and marked; usage logged as
  error (``retry()`` replaces it);
- no answer (cut at the token limit before any text or tool call: a reasoning model that spent
  ``max_tokens`` thinking): usage logged, no turn kept, ``NoAnswer`` raised (exit 5), as failed;
- failed (the provider raised before any text): no turn is kept, so ``retry()`` can resend; the
  REPL keeps the message with ``keep_unanswered`` (the end of the branch, no answer: a continued
  session takes it back as the message awaiting one). A failed ``regenerate`` leaves the branch
  as it was, and ``retry()`` asks that turn again; so does a failed ``edit``, whose message is
  kept as another version of the turn, awaiting an answer, which ``retry()`` sends.

A session that another process deletes while this one has it open (``sessions rm``) is made
again, with the conversation held here, before anything is written to it (``_recreate``).

It imports no UI, SDK or HTTP library, so tests drive it with a scripted ``Chat`` provider.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chatcli import accounting, tokens
from chatcli.errors import (
    ChatcliError,
    Interrupted,
    NoAnswer,
    SessionExists,
    TooLong,
    UsageError,
)
from chatcli.events import (
    Finish,
    Message,
    Notice,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Thought,
    ToolCall,
    ToolCalls,
    Usage,
)
from chatcli.providers.base import Chat, ChatRequest, ResponseFormat
from chatcli.store import (
    Content,
    MessageRow,
    NewMessage,
    SessionRow,
    Status,
    Store,
    UsageRecord,
    branches,
    content_text,
)
from chatcli.tokens import REPLY_PRIMING, count_message

if TYPE_CHECKING:
    from chatcli.pricing import ModelInfo
    from chatcli.settings.resolve import ChatSettings

REPLY_RESERVE = 4096
"""Tokens of the context window kept free for the reply when ``max_tokens`` is not set (at most
a quarter of the window)."""


def reply_reserve(window: int, max_tokens: int | None) -> int:
    """Tokens of a ``window`` kept free for the reply: ``max_tokens`` when set, else
    ``REPLY_RESERVE`` or a quarter of the window, whichever is less."""
    return max_tokens or min(REPLY_RESERVE, window // 4)


@dataclass(frozen=True)
class TurnResult:
    """What one reply came to: the footer line, ``/copy`` and ``ask --json`` read this."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    estimated: bool
    cost_usd: float | None
    ttft: float | None
    duration: float
    finish_reason: str | None
    interrupted: bool
    calls: tuple[ToolCall, ...] = ()  # the tool calls this reply asked for
    requests: int = 1  # requests the turn took (one per tool round)
    cached_tokens: int = 0  # of prompt_tokens, from the provider's prompt cache
    reasoning_tokens: int = 0  # of completion_tokens, spent thinking
    reasoning: str = ""  # the reasoning summary the model gave (kept, never resent)

    @property
    def tokens_per_second(self) -> float | None:
        """Output speed after the first token, or None when it cannot be measured."""
        generating = self.duration - (self.ttft or 0.0)
        if self.completion_tokens <= 0 or generating <= 0:
            return None
        return self.completion_tokens / generating


def combined(replies: list[TurnResult]) -> TurnResult:
    """One ``TurnResult`` for the requests of one turn (``replies``, oldest first: the rounds
    of a tool turn, a ``--schema`` answer and its retry): texts joined, tokens and costs summed
    (the cost unknown when one is), ``requests`` counted; the rest is the last reply's."""
    last = replies[-1]
    costs = [r.cost_usd for r in replies]
    return replace(
        last,
        text="\n\n".join(r.text for r in replies if r.text),
        reasoning="\n\n".join(r.reasoning for r in replies if r.reasoning),
        prompt_tokens=sum(r.prompt_tokens for r in replies),
        completion_tokens=sum(r.completion_tokens for r in replies),
        cached_tokens=sum(r.cached_tokens for r in replies),
        reasoning_tokens=sum(r.reasoning_tokens for r in replies),
        estimated=any(r.estimated for r in replies),
        cost_usd=None if None in costs else sum(c for c in costs if c is not None),
        ttft=next((r.ttft for r in replies if r.ttft is not None), None),
        duration=sum(r.duration for r in replies),
        requests=sum(r.requests for r in replies),
    )


@dataclass(frozen=True)
class FailedEdit:
    """An ``edit`` of turn ``number`` that got no answer: the conversation stayed as it was,
    and ``content`` is kept as another version of the turn awaiting an answer (stored as ``id``,
    when it could be), which ``retry`` sends."""

    number: int
    content: Content
    id: int | None = None


@dataclass
class _Entry:
    """A history message and its row id once stored."""

    message: NewMessage
    id: int | None = None
    parent: int | None = None  # the stored message it attaches to


@dataclass
class _Reply:
    """The reply as it streams in."""

    started: float
    parts: list[str] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)  # the reasoning summary's pieces
    hidden: list[str] = field(default_factory=list)  # reasoning never shown (``Thought``)
    first_text: float | None = None
    usage: Usage | None = None
    finish: Finish | None = None
    calls: tuple[ToolCall, ...] = ()

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            if self.first_text is None:
                self.first_text = time.monotonic()
            self.parts.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self.thoughts.append(event.text)
        elif isinstance(event, Thought):
            self.hidden.append(event.reasoning)
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Finish):
            self.finish = event
        elif isinstance(event, ToolCalls):
            self.calls = event.calls


def _cut_before_answer(reply: _Reply) -> bool:
    """Whether ``reply`` stopped at the token limit before any text or tool call: a reasoning
    model that spent the whole limit thinking has produced no answer (a failed request, not
    an empty success a script would take for one)."""
    finish = reply.finish
    if finish is None or finish.reason != "length":
        return False
    return not reply.calls and not "".join(reply.parts)


def _no_answer(reply: _Reply, limit: int | None) -> NoAnswer:
    """The plain fact of a reply cut before its answer (``hints`` names the setting)."""
    where = f"the token limit ({limit:,})" if limit else "the model's output limit"
    usage = reply.usage
    spent = ""
    if usage is not None and usage.reasoning_tokens > 0 and not usage.estimated:
        total = usage.completion_tokens
        share = "all" if usage.reasoning_tokens >= total else f"{usage.reasoning_tokens:,} of"
        spent = f"; {share} {total:,} output tokens went to reasoning"
    elif reply.thoughts or reply.hidden:
        spent = "; the model was still reasoning"
    return NoAnswer(
        f"no answer: cut at {where} before any text (finish_reason=length{spent})", limit=limit
    )


def wire(m: NewMessage) -> Message:
    """A stored message as a request carries it (tool calls and results included)."""
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content}
    message: Message = {"role": m.role, "content": m.content}
    if m.tool_calls:
        message["content"] = m.content or None
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in m.tool_calls
        ]
    return message


@dataclass(frozen=True)
class ToolResult:
    """What one tool call came to, as the model will read it; ``info`` is kept beside it
    (tool name, approved, duration, error) for exports and the user's own record."""

    call_id: str
    content: str
    info: dict[str, Any] = field(default_factory=dict)


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


class ChatSession:
    """A conversation with one model through one provider.

    With ``store`` None nothing is written. With a store, usage is always logged; messages are
    saved when the session is persisted: resumed, saved with ``save()``, or created with
    ``persist=True`` (its row is created with the first completed turn, so a failed first
    request leaves no empty session behind).
    """

    def __init__(
        self,
        provider: Chat,
        settings: ChatSettings,
        *,
        store: Store | None = None,
        persist: bool = False,
        name: str | None = None,
        one_shot: bool = False,
    ) -> None:
        """Use ``ChatSession.open``: the one way to start or continue a conversation."""
        self.provider = provider
        self.settings = settings
        """The one settings value: replaced whole (``dataclasses.replace``) by ``/model``,
        ``/system``, ``/role`` and ``/profile``; the properties below read it."""
        self.info = settings.model_info(settings.model)
        self.store = store
        self.row: SessionRow | None = None
        self.last_turn: TurnResult | None = None
        self.rounds: list[TurnResult] = []
        """Every reply kept since the last user message, partial ones too: the requests of a
        tool turn so far, whichever of them failed (``ask --json`` reports them all)."""
        self._log = settings.log and store is not None
        self._persist = persist and self._log
        self._name = name
        self._one_shot = one_shot
        self._made = False  # this command made the session's row
        self._history: list[_Entry] = []
        self._pending: Content | None = None  # a user message whose request did not complete
        self._pending_id: int | None = None  # its stored row, if it has one
        self._again: int | None = None  # a turn whose regeneration failed (``retry`` redoes it)
        self._edited: FailedEdit | None = None  # an edit that got no answer (``retry`` sends it)
        self._stored_left_out = 0  # turns of a resumed session not loaded from the store
        self._notified_left_out = 0
        self._tip: int | None = None  # the stored message the next turn attaches to
        self._reuse: int | None = None  # a stored user message being answered again
        self._journaled = False  # a turn went to the recovery journal (``_catch_up``)
        self._key: str | None = None  # names this session in the journal before it has a row
        self._asked_under: tuple[str | None] | None = None  # ``regenerate``: the turn's prompt

    @classmethod
    def open(
        cls,
        provider: Chat,
        settings: ChatSettings,
        *,
        store: Store | None = None,
        row: SessionRow | None = None,
        name: str | None = None,
        persist: bool = False,
        one_shot: bool = False,
    ) -> ChatSession:
        """Start a conversation, or continue the stored ``row``.

        A new one is saved with its first completed turn when ``persist`` (named ``name`` or
        automatically; ``one_shot`` marks it as made by ``ask``). A continued one loads only the
        recent turns that fit the context window, and the settings that differ from the row's
        (profile, model, system prompt, role) are written back to it, unless ``settings.log``
        is off, in which case nothing is written at all.
        """
        session = cls(
            provider, settings, store=store, persist=persist, name=name, one_shot=one_shot
        )
        if row is None or store is None:
            return session
        session.row = row
        session._persist = session._log
        session._tip = row.head_id
        session._load(row.head_id)
        kept = {
            "profile": session.profile,
            "model": session.model,
            "system": session.system,
            "role": session.role,
            **settings.kept,  # a template's model or prompt: this run's, not the session's
        }
        session._update_row(**{k: value for k, value in kept.items() if getattr(row, k) != value})
        return session

    def _load(self, head: int | None) -> None:
        """Make the stored branch ending at ``head`` the conversation (its recent turns)."""
        assert self.store is not None and self.row is not None
        if head != self.row.head_id or head != self._tip:
            self.store.set_head(self.row.id, head)
            self.row = replace(self.row, head_id=head)
        rows, self._stored_left_out = self.store.recent_messages(
            self.row.id, self._history_budget()
        )
        self._history = [_Entry(r, r.id, r.parent_id) for r in rows]
        self._tip = head
        self._pending = self._pending_id = self._again = self._reuse = self._edited = None
        self.last_turn = None
        self.rounds = []
        if self._history and self._history[-1].message.role == "user":  # kept without answer
            last = self._history.pop()
            self._pending, self._pending_id, self._tip = last.message.content, last.id, last.parent

    @property
    def profile(self) -> str:
        return self.settings.profile.name

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def system(self) -> str | None:
        return self.settings.system

    @property
    def role(self) -> str | None:
        return self.settings.role

    @property
    def temperature(self) -> float | None:
        return self.settings.temperature

    @property
    def max_tokens(self) -> int | None:
        return self.settings.max_tokens

    @property
    def stream(self) -> bool:
        return self.settings.stream

    @property
    def command(self) -> str:
        return self.settings.command

    def _model_info(self, model: str) -> ModelInfo:
        return self.settings.model_info(model)

    @property
    def name(self) -> str | None:
        """The session's name; None while nothing has been saved under an automatic name."""
        return self.row.name if self.row is not None else self._name

    @property
    def history(self) -> list[NewMessage]:
        """The loaded conversation, oldest first (system prompt not included)."""
        return [e.message for e in self._history]

    # building requests

    def _encoding(self) -> str | None:
        return self.info.tokenizer

    def _tokens(self, message: Message, against: int | None = None) -> int:
        """What ``message`` adds to a request. Exact once the tokenizer is loaded (the REPL
        loads it while you type); before that, a one-shot ``ask`` takes the generous estimate
        unless it comes within half of ``against`` (the budget it is checked against), so a
        short question does not pay 50 ms to load a tokenizer for a count that decides nothing.
        """
        if not tokens.loaded(self._encoding()):  # either count stops once past its limit
            half = None if against is None else against // 2
            guess = count_message(message, None, limit=half).n
            if against is None or 2 * guess <= against:
                return guess
        return count_message(message, self._encoding(), limit=against).n

    def _sent_system(self) -> str | None:
        """The system prompt the request being made carries: the session's, or the one the
        turn being asked again was sent with (``regenerate``)."""
        return self.system if self._asked_under is None else self._asked_under[0]

    def _system_tokens(self) -> int:
        system = self._sent_system()
        if not system:
            return 0
        return self._tokens({"role": "system", "content": system})

    def _history_budget(self) -> int | None:
        """Tokens available to history messages, or None when the window is unknown."""
        window = self.info.context_window
        if window is None:
            return None
        reserve = reply_reserve(window, self.max_tokens)
        return window - reserve - REPLY_PRIMING - self._system_tokens()

    def _plan(self, new: NewMessage | None) -> tuple[list[Message], int, int]:
        """The request messages, their token count and how many earlier turns are left out.

        The oldest whole turns go first; the system prompt and the new message always stay.
        """
        entries = [e.message for e in self._history]
        if new is not None:
            entries.append(new)
        budget = self._history_budget()
        used = sum(m.tokens for m in entries)
        start = 0
        dropped_turns = 0
        while budget is not None and used > budget and start < len(self._history):
            dropped_turns += 1
            used -= entries[start].tokens
            start += 1
            while start < len(self._history) and entries[start].role != "user":
                used -= entries[start].tokens
                start += 1
        messages: list[Message] = []
        system = self._sent_system()
        if system:
            messages.append({"role": "system", "content": system})
        messages.extend(wire(m) for m in entries[start:])
        total = used + self._system_tokens() + REPLY_PRIMING
        return messages, total, self._stored_left_out + dropped_turns

    def context_tokens(self) -> tuple[int, int | None]:
        """Tokens the history would take in the next request, and the model's context window."""
        _, used, _ = self._plan(None)
        return used, self.info.context_window

    # sending

    def send(
        self,
        content: Content | None,
        *,
        tools: list[dict[str, Any]] | None = None,
        response_format: ResponseFormat | None = None,
        tool_choice: str | None = None,
    ) -> Generator[StreamEvent, None, None]:
        """Send a user message; yields the reply's stream events and records the turn.
        ``response_format`` asks for structured output (``--schema``) for this turn only.

        ``tools`` (function specs) lets the model call them: the reply then may end in a
        ``ToolCalls`` event, stored with it; the caller runs them, adds the results with
        ``add_tool_results`` and calls ``send(None, tools=...)`` for the next round;
        ``tool_choice="none"`` asks for an answer without more calls.
        """
        budget = self._history_budget()
        user: NewMessage | None = None
        if content is not None:
            unanswered = self.open_calls()  # a turn stopped between calls and results
            if unanswered:
                self.add_tool_results([ToolResult(c.id, "not run") for c in unanswered])
            held = self.row.head_id if self.row is not None and self._persist else None
            if self._reuse is None and held is not None and held == self._pending_id:
                with contextlib.suppress(ChatcliError):  # moved on: the kept one is a branch
                    self._set_head(self._tip)
            self._pending, self._pending_id, self._again = content, self._reuse, None
            self._edited = None
            self.rounds = []
            user = NewMessage(
                "user",
                content,
                self._tokens({"role": "user", "content": content}, budget),
                model=self.model,
                profile=self.profile,
                system=self._sent_system() or "",  # the prompt this turn is asked under
            )
            if budget is not None and user.tokens > budget:
                self._reuse = None
                raise TooLong(
                    f"the message is about {user.tokens:,} tokens, more than {self.model}'s "
                    f"context window of {self.info.context_window:,} leaves room for"
                )
        messages, _, left_out = self._plan(user)
        if left_out and left_out != self._notified_left_out:
            self._notified_left_out = left_out
            turns = "1 earlier turn" if left_out == 1 else f"{left_out} earlier turns"
            yield Notice(f"{turns} left out to fit the context window of {self.model}")
        request = ChatRequest(
            model=self.model,
            messages=messages,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stream=self.stream,
            tools=tools or None,
            response_format=response_format,
            extra={"tool_choice": tool_choice} if tools and tool_choice else {},
            reasoning=self.settings.reasoning,
            service_tier=self.settings.service_tier,
        )
        reply = _Reply(time.monotonic())
        self.last_turn = None
        events = self.provider.chat(request)
        try:
            for event in events:
                reply.add(event)
                if isinstance(event, ReasoningDelta) and not self.settings.profile.show_reasoning:
                    continue  # kept with the reply, not shown (show_reasoning = false)
                if isinstance(event, Thought):
                    continue  # counted, never shown
                yield event
        except (GeneratorExit, KeyboardInterrupt, Interrupted):
            events.close()
            self._record(request, user, reply, "interrupted")
            raise
        except ChatcliError as exc:  # a cut connection, or a relay's in-band error after it
            events.close()
            self._record(request, user, reply, "error", keep_partial=True,
                         logged=accounting.logs(exc))  # fmt: skip
            if exc.hint is None:  # longer than the window: how to tell chatcli its size
                from chatcli.hints import window_hint

                exc.hint = window_hint(exc, self.model, self.info.context_window)
            raise
        except Exception:
            events.close()
            self._record(request, user, reply, "error")
            raise
        if _cut_before_answer(reply):  # no answer, paid for: logged, not kept (``retry``)
            self._record(request, user, reply, "error")
            raise _no_answer(reply, request.max_tokens)
        self._record(request, user, reply, "ok")

    def _record(
        self,
        request: ChatRequest,
        user: NewMessage | None,
        reply: _Reply,
        status: Status,
        *,
        keep_partial: bool = False,
        logged: bool = True,
    ) -> None:
        """Keep the turn (unless it failed or nothing arrived) and log the request's usage
        (``logged`` False: it never reached the endpoint, ``accounting.logs``)."""
        text = "".join(reply.parts) or (reply.finish and reply.finish.refusal) or ""
        duration = time.monotonic() - reply.started
        ttft = None if reply.first_text is None else reply.first_text - reply.started
        model = (reply.finish.model if reply.finish else None) or self.model
        thought = "".join(reply.thoughts) + "".join(reply.hidden)
        generated = accounting.Generated(text, reply.calls, thought)
        spent = accounting.used(reply.usage, request, generated, self._encoding(),
                                completed=status == "ok")  # fmt: skip
        prompt, completion, estimated = (
            spent.prompt_tokens,
            spent.completion_tokens,
            spent.estimated,
        )
        cached, reasoning = spent.cached_tokens, spent.reasoning_tokens
        served = reply.finish.model if reply.finish else None
        requested = self._requested(served)
        cost = accounting.cost(self._model_info(requested), spent)
        partial = status != "ok" or (reply.finish is not None and reply.finish.reason == "error")
        keep = status == "ok" or ((status == "interrupted" or keep_partial) and bool(text))
        entries: list[_Entry] = []
        calls = reply.calls if status == "ok" else ()
        if keep:
            finish_reason = reply.finish.reason if reply.finish else None
            stored_calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls]
            counted = text + "".join(c.name + c.arguments for c in calls)
            assistant = NewMessage(
                "assistant",
                text,
                self._tokens({"role": "assistant", "content": counted}),
                model=model,
                profile=self.profile,
                prompt_tokens=prompt,
                completion_tokens=completion,
                estimated=estimated,
                cost_usd=cost,
                finish_reason=finish_reason,
                interrupted=partial,
                ttft_ms=_ms(ttft),
                duration_ms=_ms(duration),
                tool_calls=stored_calls or None,
                reasoning="".join(reply.thoughts) or None,
            )
            entries = [_Entry(user)] if user is not None else []
            entries.append(_Entry(assistant))
            self._history.extend(entries)
            self._pending = self._pending_id = None
            self.last_turn = TurnResult(
                text, model, prompt, completion, estimated, cost, ttft, duration,
                finish_reason, partial, calls,
                cached_tokens=cached, reasoning_tokens=reasoning,
                reasoning="".join(reply.thoughts),
            )  # fmt: skip
            self.rounds.append(self.last_turn)
        if self.store is not None and (logged or entries):
            usage = UsageRecord(
                requested,
                self.profile,
                self.command,
                status,
                prompt,
                completion,
                estimated=estimated,
                cost_usd=cost,
                latency_ms=_ms(duration),
                ttft_ms=_ms(ttft),
                served_model=served,
                cached_tokens=cached,
                reasoning_tokens=reasoning,
            )
            self._store_turn(entries, usage)
        self._reuse = None  # used by ``_save``, or not at all: never by a later message

    def _store_turn(self, entries: list[_Entry], usage: UsageRecord) -> None:
        """The turn and its usage entry into the store; a database that stays busy, or a full
        disk, sends both to the recovery journal (``store.journal``): the answer was paid for."""
        from dataclasses import asdict

        from chatcli.store import journal

        assert self.store is not None
        store = self.store

        def write() -> None:
            if self._journaled:  # an earlier turn first, or it would be replayed after this one
                self._catch_up(store)
            self._save(entries)

        saved = not entries or journal.attempt(store, write, store.notify)
        if saved:
            sid = self.row.id if self.row is not None else None
            if sid is not None and not entries:  # a failed turn: is its session still there?
                with contextlib.suppress(ChatcliError):  # log_usage reports the database's state
                    if store.find_session(sid) is None:
                        sid = None  # deleted by another process meanwhile: logged on its own
            store.log_usage(replace(usage, session_id=sid))
            return
        spec = {
            "id": self.row.id if self.row is not None else None,
            "name": self.row.name if self.row is not None else self._name,
            "one_shot": self._one_shot, "profile": self.profile, "model": self.model,
            "system": self.system, "role": self.role,
        }  # fmt: skip
        messages = [asdict(e.message) for e in entries] if self._persist else []
        turn = {"session": spec, "messages": messages}
        if messages and self.row is None and self._key is None:
            self._key = os.urandom(8).hex()  # its turns come back as one session, in order
        if self._key is not None and self.row is None:
            spec["key"] = self._key
        if journal.keep(store, {"turn": turn, "usage": asdict(usage)}, store.notify, resume=False):
            self._journaled = self._journaled or bool(messages)
        journal.resume_stop()  # a Ctrl-C or signal that cut the wait short: stop now

    def _catch_up(self, store: Store) -> None:
        """This session's journaled turns into the database (replayed where its branch ends),
        and their ids into the history; while the journal cannot be written back, StoreBusy:
        the next turn goes to the journal too, after them."""
        from chatcli.errors import StoreBusy
        from chatcli.store import journal

        journal.replay(store, store.notify)
        if any(store.path.parent.glob(f"{journal.JOURNAL}*")):
            raise StoreBusy("the recovery journal is not written back yet")
        self._journaled = False
        if self.row is None and self._key is not None:  # its first turns made it: found by key
            self.row = store.journal_session(self._key)
            self._key = None
            if self.row is not None:
                self._tip = self.row.head_id
        if self.row is None:  # ``new`` since: that session's turns went back to it
            return
        unsaved = 0  # the turns written back: the history's last entries without an id
        for entry in reversed(self._history):
            if entry.id is not None:
                break
            unsaved += 1
        branch = store.all_messages(self.row.id)
        if unsaved and len(branch) >= unsaved:  # the journaled turns end the branch now
            for entry, row in zip(self._history[-unsaved:], branch[-unsaved:], strict=True):
                entry.id, entry.parent = row.id, row.parent_id
            self._tip = branch[-1].id
            self.row = replace(self.row, head_id=self._tip)

    def _requested(self, served: str | None) -> str:
        """The model to log as asked for: ``self.model``, except where that is only an Azure
        deployment name (the endpoint takes no model, and chatcli knows no such model): then
        the model the response names is the only true name there is."""
        if self.provider.deployment_only and served and not self.info.known:
            return served
        return self.model

    def _save(self, entries: list[_Entry]) -> None:
        """Write entries to the store when this session is persisted (creating its row)."""
        if self.store is None or not self._persist:
            return
        self.row = self._ensure_row(self.store)
        expected = {self._tip, self._reuse}  # the stored head, unless another process moved it
        answering = sent = None
        if self._reuse is not None and entries and entries[0].message.role == "user":
            answering, sent = self._reuse, entries[0].message.system
            entries[0].id, entries[0].parent = self._reuse, self._tip  # answered again
            self._tip = self._reuse
            entries = entries[1:]
        self._reuse = None
        ids, before = self.store.add_turn(self.row.id, [e.message for e in entries],
                                          parent=self._tip, answering=answering,
                                          system=sent, same_command=self._made)  # fmt: skip
        if ids and before not in expected:
            self._say_branched(self.store, self.row.name)
        parent = self._tip
        for entry, row_id in zip(entries, ids, strict=True):
            entry.id, entry.parent, parent = row_id, parent, row_id
        if ids:
            self._tip = ids[-1]
            self.row = replace(self.row, head_id=self._tip)

    @staticmethod
    def _say_branched(store: Store, name: str) -> None:
        """Another process added to the session (or moved its head) since this one last wrote:
        the turn just saved went on its own branch, and the user is told where the other is."""
        import shlex

        store.notify(
            f"session {name!r} was changed by another chatcli meanwhile; this turn went on a "
            f"branch of its own (see: chatcli sessions show {shlex.quote(name)} --all-branches)"
        )

    def _ensure_row(self, store: Store) -> SessionRow:
        """The session's row, created (named, or automatically) when it has none yet, and made
        again when another process deleted it (``_row_now``)."""
        if self.row is None and self._key is not None:  # its first turns wait in the journal
            self._catch_up(store)  # StoreBusy while they cannot be written back
        if self.row is not None:
            return self._row_now(store)
        settings = {
            "profile": self.profile,
            "model": self.model,
            "system": self.system,
            "role": self.role,
        }
        if self._name:
            return store.session_named(self._name, **settings)
        self._made = True  # its later turns are this command's (an ``ask`` stays one-shot)
        return store.create_session(None, one_shot=self._one_shot, **settings)

    def _row_now(self, store: Store) -> SessionRow:
        """The session's row as stored now (the title its first turn gave it, a rename by
        another process), with this conversation's head; made again when another process
        deleted it (``_recreate``). A session is known by its id *and* its creation time:
        SQLite gives a deleted session's id (and its messages' ids) to the next rows made, so
        the same id with another ``created_at`` is another session, never one to write into."""
        assert self.row is not None
        stored = store.find_session(self.row.id)
        if stored is None or stored.created_at != self.row.created_at:
            return self._recreate(store)
        self.row = replace(stored, head_id=self.row.head_id)
        return self.row

    def _recreate(self, store: Store) -> SessionRow:
        """Another process deleted this session while it was open here (``sessions rm``): it is
        made again, under its name while that is free, with the conversation held here, so the
        turn being saved and the ones before it are not lost; the store's notice says so."""
        assert self.row is not None
        gone = self.row
        held = [e for e in self._history if e.id is not None]  # those in the deleted session

        def create(name: str | None) -> SessionRow:
            return store.create_session(name, profile=self.profile, model=self.model,
                                        system=self.system, role=self.role,
                                        one_shot=gone.one_shot)  # fmt: skip

        try:
            row = create(gone.name)
        except SessionExists:  # another session took the name since
            row = create(None)
        self.row, self._tip, self._reuse, self._pending_id = row, None, None, None
        self._stored_left_out = 0
        if held:
            self._save(held)
        turns = sum(e.message.role == "user" for e in self._history)
        where = "" if row.name == gone.name else f" as {row.name!r} (the name is taken now)"
        store.notify(
            f"session {gone.name!r} was deleted while this chat had it open; saved it again"
            f"{where} with the {turns} turn{'s' if turns != 1 else ''} held here"
        )
        return self.row

    def ensure_stored(self) -> None:
        """Make the session again if another process deleted it while it was open here
        (``_recreate``; the REPL asks before each message or command that uses it). One that
        holds nothing yet waits for its next turn."""
        if self.store is None or self.row is None or not self._persist:
            return
        if self._history or self._pending is not None:
            self._row_now(self.store)

    @property
    def failed_turn(self) -> int | None:
        """The turn whose ``regenerate`` got no answer (``retry`` asks it again), or None."""
        return self._again

    @property
    def failed_edit(self) -> FailedEdit | None:
        """The edit that got no answer (``retry`` sends it; the conversation is as it was)."""
        return self._edited

    @property
    def unanswered(self) -> Content | None:
        """The user message that got no answer (the request failed before any text, or it
        was refused before it was sent), which ``retry`` sends; None when there is none."""
        return self._pending

    def keep_unanswered(self, content: Content | None = None) -> None:
        """Keep the unanswered message in the store, as the end of the current branch with no
        answer, so a continued session (``chat -c``) has it back for ``retry``; it is never sent
        as history. ``content``: a message refused before it was sent (a spent budget), which
        becomes the unanswered one."""
        if content is not None:
            self._pending, self._pending_id, self._again = content, None, None
            self._edited = None
        content = self._pending
        if content is None or self.store is None or not self._persist:
            return
        row = self.row = self._ensure_row(self.store)
        if self._pending_id is None:
            user = NewMessage("user", content, self._tokens({"role": "user", "content": content}),
                              model=self.model, profile=self.profile,
                              system=self.system or "")  # fmt: skip
            [self._pending_id] = self.store.add_messages(row.id, user, parent=self._tip)
            self.row = replace(row, head_id=self._pending_id)
        elif row.head_id != self._pending_id:
            self._set_head(self._pending_id)

    def keep_edit(self, number: int, content: Content) -> None:
        """An edit of turn ``number`` refused before it was sent (a spent budget): the
        conversation stays as it is, and the edit is kept as a failed one for ``retry``."""
        user = self._turn(number)
        stored = self._store_version(user.parent_id, content)
        self._edited = FailedEdit(number, content, stored)

    def _store_version(self, parent: int | None, content: Content) -> int | None:
        """Store ``content`` as a user message attached at ``parent``, awaiting an answer,
        without moving the conversation (another version of a turn); its id, or None when
        nothing is stored."""
        if self.store is None or not self._persist:
            return None
        row = self.row = self._ensure_row(self.store)
        user = NewMessage("user", content, self._tokens({"role": "user", "content": content}),
                          model=self.model, profile=self.profile,
                          system=self.system or "")  # fmt: skip
        [stored] = self.store.add_messages(row.id, user, parent=parent)
        self.store.set_head(row.id, row.head_id)  # the conversation's head, not the version
        return stored

    def _set_head(self, head: int | None) -> None:
        """Move the stored session's head (``keep_unanswered``, ``undo``)."""
        if self.store is not None and self.row is not None:
            self.store.set_head(self.row.id, head)
            self.row = replace(self.row, head_id=head)

    def add_tool_results(self, results: list[ToolResult]) -> None:
        """Store the results of the last reply's tool calls (one message each, in call order),
        so the next ``send(None, ...)`` carries them and ``-c`` or ``/resume`` find them."""
        entries = [
            _Entry(
                NewMessage(
                    "tool",
                    r.content,
                    self._tokens({"role": "tool", "content": r.content}),
                    model=self.model,
                    profile=self.profile,
                    tool_call_id=r.call_id,
                    tool_info=r.info,
                )
            )
            for r in results
        ]
        self._history.extend(entries)
        self._save(entries)

    def open_calls(self) -> list[ToolCall]:
        """The last reply's tool calls that no result answers yet."""
        answered: set[str] = set()
        for entry in reversed(self._history):
            m = entry.message
            if m.role == "tool" and m.tool_call_id:
                answered.add(m.tool_call_id)
            elif m.role == "assistant":
                calls = m.tool_calls or []
                return [
                    ToolCall(c["id"], c["name"], c["arguments"])
                    for c in calls
                    if c["id"] not in answered
                ]
            else:
                break
        return []

    # editing the conversation

    def _pop_turn(self) -> NewMessage | None:
        """Step back before the last user message: it and what followed leave the
        conversation (and the session's head moves back); in the store they stay a branch."""
        starts = [i for i, e in enumerate(self._history) if e.message.role == "user"]
        if not starts:
            return None
        removed = self._history[starts[-1] :]
        del self._history[starts[-1] :]
        first = removed[0]
        if first.id is not None and self.store is not None and self.row is not None:
            self.store.set_head(self.row.id, first.parent)
            self.row = replace(self.row, head_id=first.parent)
            self._tip = first.parent
        self.last_turn = None
        self.rounds = []
        return removed[0].message

    def undo(self) -> str | None:
        """``step_back``, as text (image parts left out)."""
        content = self.step_back()
        return None if content is None else content_text(content)

    def step_back(self) -> Content | None:
        """Step back before the last message: an edit that got no answer (the conversation
        stays as it is), else the unanswered one if there is one (the turns before it stay),
        else the last completed turn; returns its content (text and images) to edit and resend,
        or None when there is none. What was stored stays in the store as a branch."""
        edited, self._edited = self._edited, None
        if edited is not None:
            return edited.content
        pending, self._pending, self._again = self._pending, None, None
        if pending is not None:
            if self._pending_id is not None:
                self._set_head(self._tip)
            self._pending_id = None
            return pending
        removed = self._pop_turn()
        return None if removed is None else removed.content

    def retry(
        self,
        *,
        tools: list[dict[str, Any]] | None = None,
        response_format: ResponseFormat | None = None,
    ) -> Generator[StreamEvent, None, None]:
        """Resend the last user message: the failed one (or the edit that got no answer, or ask
        again the turn whose ``regenerate`` failed), or the last turn's (a new answer to it; the
        old one stays as another answer, see ``answers``). ``response_format`` as ``send``."""
        fmt = response_format
        edited = self._edited
        if edited is not None:
            yield from self._edit_turn(edited.number, edited.content, edited.id, tools, fmt)
            return
        if self._again is not None:
            yield from self.regenerate(self._again, tools=tools, response_format=fmt)
            return
        content = self._pending
        if content is not None:
            self._reuse = self._pending_id  # a stored message is answered, not stored again
            yield from self.send(content, tools=tools, response_format=fmt)
            return
        turns = self.turns()
        if turns:
            yield from self.regenerate(turns[-1][0], tools=tools, response_format=fmt)
            return
        removed = self._pop_turn()
        if removed is None:
            raise UsageError("nothing to retry yet")
        yield from self.send(removed.content, tools=tools, response_format=fmt)

    # the history as a tree (stored sessions only)

    def _stored(self) -> tuple[Store, SessionRow]:
        if self.store is None or self.row is None:
            raise UsageError("nothing stored in this conversation yet")
        return self.store, self.row

    def turns(self) -> list[tuple[int, list[MessageRow]]]:
        """The current branch's turns: (turn number, its messages), oldest first."""
        if self.store is None or self.row is None:
            return []
        grouped: dict[int, list[MessageRow]] = {}
        for m in self.store.all_messages(self.row.id):
            grouped.setdefault(m.turn, []).append(m)
        return sorted((n, ms) for n, ms in grouped.items() if n > 0)

    def _turn(self, number: int) -> MessageRow:
        """The user message of turn ``number`` on the current branch."""
        for n, messages in self.turns():
            if n == number and messages[0].role == "user":
                return messages[0]
        count = len(self.turns())
        raise UsageError(
            f"there is no turn {number}" + (f" (turns 1-{count})" if count else ""),
            hint="/history lists the turns",
        )

    def turn_text(self, number: int) -> str:
        """The text of turn ``number``'s message."""
        return content_text(self.turn_content(number))

    def turn_content(self, number: int) -> Content:
        """Turn ``number``'s message, images included (for ``/edit``)."""
        return self._turn(number).content

    def edit(
        self,
        number: int,
        content: Content,
        *,
        tools: list[dict[str, Any]] | None = None,
        response_format: ResponseFormat | None = None,
    ) -> Generator[StreamEvent, None, None]:
        """Replace turn ``number``'s message with ``content`` and ask it: the turns after it
        leave the conversation (kept in the store as the old branch). When no answer comes,
        the conversation stays as it was and ``retry`` sends the edit (``failed_edit``)."""
        yield from self._edit_turn(number, content, None, tools, response_format)

    def _edit_turn(
        self,
        number: int,
        content: Content,
        stored: int | None,
        tools: list[dict[str, Any]] | None,
        response_format: ResponseFormat | None = None,
    ) -> Generator[StreamEvent, None, None]:
        """``edit``, of a kept edit too (``stored``: its row, answered where it is)."""
        user = self._turn(number)
        head = self.row.head_id if self.row is not None else None
        self._load(user.parent_id)
        self._reuse = stored
        try:
            yield from self.send(content, tools=tools, response_format=response_format)
        finally:
            if self.last_turn is None:  # no answer: the edit goes aside, not the turns
                try:
                    if stored is None:
                        stored = self._store_version(user.parent_id, content)
                    self._load(head)
                except ChatcliError:  # the failure is what is reported
                    self._pending = self._pending_id = None
                self._edited = FailedEdit(number, content, stored)

    def regenerate(
        self,
        number: int,
        *,
        tools: list[dict[str, Any]] | None = None,
        response_format: ResponseFormat | None = None,
    ) -> Generator[StreamEvent, None, None]:
        """Ask turn ``number`` again, under the system prompt it was asked under (where that
        was recorded); its earlier answers stay (``answers``, ``pick``). When no answer comes,
        the branch is left as it was and ``retry`` asks again."""
        user = self._turn(number)
        head = self.row.head_id if self.row is not None else None
        self._load(user.parent_id)
        self._reuse = user.id
        if user.system is not None:
            self._asked_under = (user.system or None,)
        try:
            yield from self.send(user.content, tools=tools, response_format=response_format)
        finally:
            self._asked_under = None
            if self._pending is not None and self._pending_id == user.id:  # no answer
                try:
                    self._load(head)
                except ChatcliError:  # the failure is what is reported
                    self._pending = self._pending_id = None
                self._again = number

    def answers(self, number: int) -> list[MessageRow]:
        """Every answer turn ``number``'s message got, oldest first."""
        return self.answers_to(self._turn(number))

    def answers_to(self, message: MessageRow) -> list[MessageRow]:
        """Every answer the stored user ``message`` got, oldest first (none: it awaits one)."""
        store, _ = self._stored()
        return [m for m in store.children(message.id) if m.role != "user"]

    def versions(self, number: int) -> list[MessageRow]:
        """Every version turn ``number``'s message has had (``edit`` makes one), oldest first,
        the one on the current branch among them (``current_version``)."""
        store, _ = self._stored()
        return branches.versions_of(store, self._turn(number))

    def current_version(self, number: int) -> int:
        """The id of turn ``number``'s message on the current branch."""
        return self._turn(number).id

    def current_answer(self, number: int) -> int | None:
        """The id of the answer to turn ``number`` on the current branch."""
        for n, messages in self.turns():
            if n == number and len(messages) > 1:
                return messages[1].id
        return None

    def pick(self, number: int, k: int) -> MessageRow:
        """Go on from answer ``k`` (1-based) of turn ``number``, where its branch left off (the
        answer the conversation goes on from already: it stays as it is)."""
        return self._go_to(number, k, self.answers(number), self.current_answer(number), "answer")

    def pick_version(self, number: int, k: int) -> MessageRow:
        """Go on from version ``k`` (1-based) of turn ``number``'s message, where its branch
        left off (one that got no answer becomes the message ``retry`` sends)."""
        versions = self.versions(number)
        return self._go_to(number, k, versions, self.current_version(number), "version")

    def _go_to(
        self, number: int, k: int, choices: list[MessageRow], current: int | None, kind: str
    ) -> MessageRow:
        """``pick`` and ``pick_version``: the end of the newest branch from ``choices[k-1]``."""
        store, _ = self._stored()
        if not 1 <= k <= len(choices):
            raise UsageError(
                f"turn {number} has {len(choices)} {kind}{'s' if len(choices) != 1 else ''}",
                hint=f"/answers {number} lists them",
            )
        chosen = choices[k - 1]
        if chosen.id != current:
            self._load(store.latest_leaf(chosen.id))
        return chosen

    def fork(self, name: str | None, upto: int | None = None) -> SessionRow:
        """Copy this conversation (up to turn ``upto``; else with the message awaiting an
        answer, if any) into a new session, with its title, and continue there."""
        store, _ = self._stored()
        if upto is None and self._tip is None and self._pending is None:
            raise UsageError("nothing to fork yet: this conversation has no turns")
        row = self._row_now(store)  # its title; made again if another process deleted it
        end = None
        if upto is not None:
            messages = dict(self.turns()).get(upto)
            if not messages:
                self._turn(upto)  # raises the usage error
            end = messages[-1].id if messages else None
        pending, kept = self._pending, self._pending_id
        head = kept if upto is None and kept is not None else self._tip
        fork = store.fork_session(replace(row, head_id=head), end, name)
        self.row = fork
        self._load(fork.head_id)
        if upto is None and pending is not None and kept is None:  # never stored: goes along
            self._pending = pending
        return fork

    def new(self) -> None:
        """Start a fresh conversation with the same model, profile and system prompt."""
        self.row = None
        self._name = None
        self._key = None  # journaled turns of the one before go back to that one
        self._tip = None
        self._reuse = None
        self._history = []
        self._pending = self._pending_id = self._again = None
        self._stored_left_out = 0
        self._notified_left_out = 0
        self.last_turn = None
        self.rounds = []

    # settings, persisted on the session row

    def _update_row(self, **fields: str | None) -> None:
        if self.row is not None and self.store is not None and self._log and fields:
            self.row = self.store.update_session(self.row.id, **fields)

    def set_model(self, model: str) -> None:
        """Switch model (already resolved from any alias) for the following turns."""
        self.settings = replace(self.settings, model=model)
        self.info = self._model_info(model)
        self._update_row(model=model)

    def switch(self, provider: Chat, settings: ChatSettings) -> None:
        """Go on with other settings through ``provider`` (``/profile``: resolved like ``-p``
        on a continued session); the row follows."""
        self.provider = provider
        before = self.settings
        self.settings = settings
        self.info = self._model_info(settings.model)
        changed = {
            key: value
            for key, value, old in (
                ("profile", settings.profile.name, before.profile.name),
                ("model", settings.model, before.model),
                ("system", settings.system, before.system),
                ("role", settings.role, before.role),
            )
            if value != old
        }
        self._update_row(**changed)

    def set_system(self, text: str | None, role: str | None = None) -> None:
        """Replace the system prompt (and the role name it came from, if any)."""
        self.settings = replace(self.settings, system=text, role=role)
        self._update_row(system=text, role=role)

    def save(self, name: str) -> SessionRow:
        """Keep this session under ``name``: renames a stored one, or stores an unsaved one
        with all its turns so far."""
        if self.store is None:
            raise UsageError("there is no database to save the session in")
        self._persist = self._log = True
        if self.row is None and self._key is not None:  # its turns are in the journal
            self._catch_up(self.store)
        if self.row is not None:
            self.store.rename_session(self.row.name, name)
            self.row = replace(self.row, name=name)
        else:
            self.row = self.store.create_session(
                name, profile=self.profile, model=self.model, system=self.system, role=self.role
            )
            self._save(self._history)
        return self.row

    def total_cost(self) -> tuple[float, bool]:
        """Known cost of the session's replies so far, and whether any reply's cost is unknown."""
        if self.row is not None and self.store is not None:
            return self.store.session_cost(self.row.id)
        costs = [e.message.cost_usd for e in self._history if e.message.role == "assistant"]
        return sum(c for c in costs if c is not None), any(c is None for c in costs)
