"""The local runner: a job's requests sent one by one, concurrently, where there is no Batch API.

Relays and local servers answer 404 on ``/files`` and ``/batches``; the same job then runs here
through the ordinary chat path, at most ``--concurrency`` requests at a time and no faster than
the profile's ``requests_per_minute`` (the limiter ``summarize`` uses). Each answer is written to
the store with its usage-log entry the moment it arrives, so a killed run resumes with only the
requests that never finished (at most ``--concurrency`` were in flight and are sent again).
Prices are the normal ones: no provider discount applies. Each request goes through
``provider.chat``, so it speaks the profile's protocol (Chat Completions or the Responses API,
with the provider's own fallbacks) and is read by that protocol's parser; how it ended counts
as for the Batch API (``lines.ending``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from typing import TYPE_CHECKING, Any

from chatcli import accounting
from chatcli.environment import Clock
from chatcli.errors import AuthError, BudgetExceeded, ChatcliError, ConfigError, Interrupted
from chatcli.events import (
    Finish,
    Notice,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Thought,
    ToolCall,
    ToolCalls,
    Usage,
)
from chatcli.features.batch.lines import ending
from chatcli.features.pacing import Limiter
from chatcli.features.schema.batch import Fallback, checked, schema_of
from chatcli.features.schema.spec import Schema
from chatcli.features.workers import Workers
from chatcli.providers.base import ChatRequest, Provider
from chatcli.store.jobs import JobRow, Jobs, RequestResult
from chatcli.store.records import UsageRecord

if TYPE_CHECKING:
    from chatcli.pricing import ModelInfo

_FATAL = (AuthError, ConfigError, BudgetExceeded)
"""Failures that every other request would meet too: stop the run instead of failing each (a
spent budget too: the requests stay pending, for ``batch wait JOB --over-budget``)."""


def request_of(model: str, line: str) -> ChatRequest:
    """The chat request a stored JSONL line describes (``model`` is the user-facing name);
    its ``response_format`` becomes the request's own, which each wire protocol encodes."""
    from chatcli.features.schema.batch import format_of

    body: dict[str, Any] = dict(json.loads(line)["body"])
    body.pop("model", None)
    messages = body.pop("messages")
    max_tokens = body.pop("max_tokens", None) or body.pop("max_completion_tokens", None)
    temperature = body.pop("temperature", None)
    body.pop("stream", None)
    fmt = format_of(body.get("response_format"))
    if fmt is not None:  # one chatcli knows: encoded by the wire protocol in use
        del body["response_format"]
    return ChatRequest(
        model, messages, temperature, max_tokens, stream=False, extra=body, response_format=fmt
    )


class LocalRunner:
    """Runs a local job's pending requests; ``progress(done, failed, total)`` after each."""

    def __init__(
        self,
        jobs: Jobs,
        job: JobRow,
        provider: Provider,
        *,
        concurrency: int,
        requests_per_minute: float | None,
        clock: Clock,
        info: Callable[[str], ModelInfo],
        progress: Callable[[int, int], None],
        notice: Callable[[Notice], None],
    ) -> None:
        self.jobs = jobs
        self.job = job
        self.provider = provider
        self.concurrency = concurrency
        self.limiter = Limiter(requests_per_minute, clock)
        self.info = info  # a model's prices and tokenizer
        self.progress = progress
        self.notice = notice
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.errors: list[ChatcliError] = []  # why requests of this run failed
        self.fallback = Fallback(jobs.store, job.profile, lambda text: self.notice(Notice(text)))

    def run(self) -> None:
        """Send every pending request; the first fatal error (or Ctrl-C) stops the rest."""
        pending = list(self.jobs.lines(self.job.id, state="pending"))
        if not pending:
            return
        self.provider.warm(self.job.model)
        workers = min(self.concurrency, len(pending))
        try:
            # Ctrl-C: the requests in flight fail now and stay pending (``_one``)
            with Workers(workers, "batch", stop=self.stop, interrupt=self.provider.abort) as pool:
                futures = [pool.submit(self._one, idx, model, line) for idx, model, line in pending]
                for future in as_completed(futures):
                    future.result()
        except KeyboardInterrupt:
            raise Interrupted("interrupted; `chatcli batch wait` resumes the job") from None

    def _one(self, idx: int, model: str, line: str) -> None:
        if self.stop.is_set():
            return
        self.limiter.wait(self.stop)
        if self.stop.is_set():
            return
        schema = schema_of(line)  # --schema: the answer is checked, the format may be refused
        request = self.fallback.prepare(request_of(model, line), schema)
        started = time.perf_counter()
        text: list[str] = []
        thoughts: list[str] = []  # streamed reasoning: output, counted when usage is not
        calls: tuple[ToolCall, ...] = ()
        usage: Usage | None = None
        finish: Finish | None = None
        try:
            for event in self._chat(request, schema):
                if isinstance(event, TextDelta):
                    text.append(event.text)
                elif isinstance(event, ReasoningDelta):
                    thoughts.append(event.text)
                elif isinstance(event, Thought):
                    thoughts.append(event.reasoning)
                elif isinstance(event, ToolCalls):
                    calls = event.calls
                elif isinstance(event, Usage):
                    usage = event
                elif isinstance(event, Finish):
                    finish = event
                elif isinstance(event, Notice):
                    with self._lock:
                        self.notice(event)
        except ChatcliError as exc:
            generated = accounting.Generated("".join(text), calls, "".join(thoughts))
            if isinstance(exc, _FATAL):  # answered (a 401) is in the usage log all the same
                record = self._failed(model, request, generated, usage, started, exc)
                if record is not None:
                    self.jobs.store.log_usage(record)
                raise
            if self.stop.is_set():  # cut by Ctrl-C or a fatal error: left pending, resent later
                if isinstance(exc, Interrupted):  # sent and cut: in the usage log all the same
                    self._cut(model, request, generated, usage, started)
                return
            with self._lock:
                self.errors.append(exc)
            record = self._failed(model, request, generated, usage, started, exc)
            self._save(RequestResult(idx, ok=False, error=exc.message), record)
            return
        latency = round((time.perf_counter() - started) * 1000)
        # the one accounting rule: no usage reported is an estimate, not 0 tokens at no cost
        info = self.info(model)
        generated = accounting.Generated("".join(text), calls, "".join(thoughts))
        spent = accounting.used(usage, request, generated, info.tokenizer)
        cost = accounting.cost(info, spent)
        problem = ending(finish)  # cut, filtered or refused: failed, its tokens logged
        result = RequestResult(
            idx, ok=problem is None, answer="".join(text),
            served_model=finish.model if finish else None,
            finish_reason=finish.reason if finish else None,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None, cost_usd=cost,
            error=problem, cached_tokens=usage.cached_tokens if usage else None,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
        )  # fmt: skip
        result = checked(result, schema)  # --schema: invalid answers fail
        record = UsageRecord(
            model, self.job.profile, "batch", "ok" if problem is None else "error",
            spent.prompt_tokens, spent.completion_tokens, estimated=spent.estimated,
            cost_usd=cost, latency_ms=latency, cached_tokens=spent.cached_tokens,
            reasoning_tokens=spent.reasoning_tokens,
        )  # fmt: skip
        self._save(result, record)

    def _cut(
        self,
        model: str,
        request: ChatRequest,
        generated: accounting.Generated,
        usage: Usage | None,
        started: float,
    ) -> None:
        """A request cut in flight (Ctrl-C) is in the usage log, marked interrupted, as
        ``ask`` logs one: it stays pending in the job and is sent again on resume."""
        latency = round((time.perf_counter() - started) * 1000)
        record = accounting.row(self.info(model), request, generated, usage,
                                profile=self.job.profile, command="batch",
                                status="interrupted", latency_ms=latency)  # fmt: skip
        self.jobs.store.log_usage(record)

    def _failed(
        self,
        model: str,
        request: ChatRequest,
        generated: accounting.Generated,
        usage: Usage | None,
        started: float,
        exc: ChatcliError,
    ) -> UsageRecord | None:
        """The usage-log row of a request that failed, by the rule every command's failures
        follow (``accounting.logs``): the server answered it (any status, cut or malformed:
        with the usage it reported, else the estimate), or None: it never reached it."""
        if not accounting.logs(exc):
            return None
        latency = round((time.perf_counter() - started) * 1000)
        return accounting.row(self.info(model), request, generated, usage,
                              profile=self.job.profile, command="batch", status="error",
                              latency_ms=latency)  # fmt: skip

    def _chat(self, request: ChatRequest, schema: Schema | None) -> Iterator[StreamEvent]:
        """The reply's events; a refused ``response_format`` is asked for in words instead."""
        while True:
            try:
                yield from self.provider.chat(request)
                return
            except ChatcliError as exc:
                again = self.fallback.refused(exc, request, schema)
                if again is None:
                    raise
                request = again

    def _save(self, result: RequestResult, record: UsageRecord | None) -> None:
        """Store one answer the moment it arrives; a database that stays busy (or a full disk)
        sends it to the recovery journal, which the next command writes into the job."""
        from dataclasses import asdict

        from chatcli.store import journal

        store = self.jobs.store
        if not journal.attempt(
            store, lambda: self.jobs.record(self.job.id, [(result, record)]), store.notify
        ):
            usage = asdict(record) if record is not None else None
            entry = {"job_id": self.job.id, "result": asdict(result), "usage": usage}
            journal.keep(store, {"batch": entry}, store.notify)
        with self._lock:
            self.progress(1 if result.ok else 0, 0 if result.ok else 1)
