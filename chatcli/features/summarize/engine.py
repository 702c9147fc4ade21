"""One input's summary: in one request, or map-reduce over parts (``run`` handles many inputs).

Text that fits the model's context window (less the reply's reserve, the instructions and the
framing) goes in one request. Longer text is cut on paragraph boundaries (``split``), the
parts are summarised in worker threads, at most ``--concurrency`` at a time and no faster than
the profile's ``requests_per_minute`` (one request start every 60/rpm s), and the part summaries
are combined in a final request; if they do not fit one request either, they are summarised
again the same way. Only the final answer is streamed to stdout; progress goes to stderr. A part
that fails (after the transport's retries) stops the whole run with its error: no summary of
the rest is printed, but the part summaries already paid for are kept (``usage.kept``, in the
database) and the same command run again takes them from there, sending only what is missing
(a failed combining request: only that one); not the part summaries it judged no shorter than
their text (useless: a run again sends them anew), and ``--force`` sends kept ones again. A
whole summary whose ``-o`` file could not be written is kept the same way (``whole_key``), and
taken from there by the same command again.
Every request, part or final, goes through the one turn flow (``features.flow.take_turn``)
and so the one finish policy: a part cut at the token limit is reported, a filtered one fails
the input (exit 5). Every request is written to the usage log as command ``summarize``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import APIError, Interrupted, UsageError
from chatcli.events import Notice, StreamEvent, TextDelta, Usage
from chatcli.features.flow import take_turn
from chatcli.features.pacing import Limiter
from chatcli.features.summarize.progress import Tracker
from chatcli.features.usage.kept import Kept, digest
from chatcli.features.workers import Workers
from chatcli.output import Notifier, Writer
from chatcli.settings.resolve import Env

if TYPE_CHECKING:
    from chatcli.pricing import ModelInfo
    from chatcli.providers.base import Provider
    from chatcli.store import Store

DEFAULT_INSTRUCTIONS = (
    "Summarise the text below. Keep the key facts, names, numbers, decisions and conclusions. "
    "Write the summary in the language of the text. Where the text carries [page N] markers, "
    "cite the pages a point comes from, as (p. N)."
)
PART_PROMPT = (
    "This is part {index} of {total} of a longer text. Summarise this part in detail, keeping "
    "every key fact, name, number, decision and conclusion: the part summaries will be combined "
    "into one summary that follows these instructions: {instructions}"
)
COMBINE_PROMPT = (
    "{instructions}\n\nThe text was too long to read at once, so it was summarised in {total} "
    "consecutive parts. Below are the part summaries in order; write one summary of the whole "
    "text from them."
)
SEPARATOR = "\n\n---\n\n"
UNKNOWN_WINDOW = 8192
"""Context window assumed for a model chatcli knows nothing about (relays serve many)."""
SLACK = 32
"""Tokens kept free for the small gap between a chunk's size and the count of its parts."""


def price_tier(info: ModelInfo) -> int | None:
    """The fewest prompt tokens at which the model's input price goes up (a long-context
    tier: gpt-6-luna's above 272,000), or None when its prices have no tier."""
    if info.catalog is None:
        return None
    starts = [
        int(start)
        for price in info.catalog.rates().values()
        if isinstance(price, dict)
        for start, _ in price.get("tiers", ())
    ]
    return min(starts, default=None)


@dataclass
class SummarizeOptions:
    """The parsed options of ``summarize``."""

    files: list[str]
    instructions: str | None = None
    concurrency: int = 4
    chunk_tokens: int | None = None
    markdown: str | None = None
    over_budget: bool = False
    output_dir: Path | None = None
    combine: bool = False
    dry_run: bool = False
    yes: bool = False
    force: bool = False


# -- pacing -----------------------------------------------------------------------------------


@dataclass
class Shared:
    """What every input's summariser of one run shares: the command's environment, pace, a
    cap on requests in flight, the overall progress, and the Ctrl-C flag."""

    environment: Environment
    limiter: Limiter
    slots: threading.BoundedSemaphore
    tracker: Tracker
    interrupted: threading.Event
    kept: Kept = field(default_factory=lambda: Kept("summarize"))  # paid parts of failed runs


class _Useless(APIError):
    """The part summaries came back no shorter than their text: none of them is kept."""


class _Cancelled(Exception):
    """Another part failed or Ctrl-C was pressed: this worker stops without a result."""


# -- the summariser ---------------------------------------------------------------------------


class Summarizer:
    """Plans the requests for one input, runs them, logs their usage and prints the result."""

    def __init__(
        self,
        env: Env,
        opts: SummarizeOptions,
        provider: Provider | None,
        store: Store | None,
        notifier: Notifier,
        shared: Shared,
        *,
        instructions: str | None = None,
        name: str = "",
    ) -> None:
        from chatcli.tokens import REPLY_PRIMING, TOKENS_PER_MESSAGE, count_text

        self.env = env
        self.settings = env.chat_settings("summarize")  # resolved once, for every request
        self.opts = opts
        self.provider = provider
        self.store = store
        self.notifier = notifier
        self.shared = shared
        self.name = name
        self.instructions = (
            instructions or (opts.instructions or "").strip() or DEFAULT_INSTRUCTIONS
        )
        self.info = env.config.model_info(env.model)
        if self.info.context_window is None and provider is not None:
            # a relay's or local server's own model: the window its endpoint states (asked
            # once per profile and model, then remembered), so parts fit it
            stated = provider.context_window(env.model)
            if stated:
                self.info = replace(self.info, context_window=stated)
        encoding = self.info.tokenizer
        self.count: Callable[[str], int] = lambda s: count_text(s, encoding).n
        self.window = self.info.context_window or UNKNOWN_WINDOW
        self.budget = self._budget(REPLY_PRIMING + 2 * TOKENS_PER_MESSAGE)
        self.limiter = shared.limiter
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._paid: dict[str, str] = {}  # part summaries this input has (key -> summary)
        self._reused: set[str] = set()  # ... of which an earlier run paid for
        self._passed: set[str] = set()  # kept ones --force sent again instead

    def _budget(self, framing: int) -> int:
        """Tokens of text one request can carry: the window less reply reserve and prompts."""
        from chatcli.session import reply_reserve

        reserve = reply_reserve(self.window, self.env.profile.max_tokens)
        longest = max(
            PART_PROMPT.format(index=999, total=999, instructions=self.instructions),
            COMBINE_PROMPT.format(instructions=self.instructions, total=999),
            key=self.count,
        )
        system = self.env.profile.system or ""
        prompts = framing + SLACK + self.count(longest + SEPARATOR) + self.count(system)
        fits = self.window - reserve - prompts
        if fits < 64:
            raise UsageError(
                f"the instructions leave no room for text in the context of {self.env.model}",
                hint="shorten --instructions or lower max_tokens",
            )
        if self.opts.chunk_tokens:
            return min(fits, self.opts.chunk_tokens)
        tier = price_tier(self.info)
        if tier is not None and tier - prompts >= min(fits, 1024):
            # parts below the long-context tier: more requests, each at the base rate
            return min(fits, tier - prompts)
        return fits

    def plan(self, text: str) -> list[str]:
        """The parts ``text`` is sent in: itself alone when it fits one request."""
        if self.count(text) <= self.budget:
            return [text]
        return [c.strip() for c in self._split(text) if c.strip()]

    def summarise(self, text: str, writer: Writer | None = None) -> str:
        """Summarise ``text``; the summary is streamed to ``writer`` (if any) and returned.
        When it fails (or is interrupted) after parts were summarised, those are kept for
        the next run (``usage.kept``). A whole summary an earlier run paid for and could not
        write (``kept_summary``) is taken from there: nothing is sent."""
        kept = self.kept_summary(text)
        if kept is not None:
            self._note("the summary an earlier run paid for but could not write is taken "
                       "from there: nothing sent")  # fmt: skip
            if writer is not None:
                writer.feed(kept)
                writer.finish()
            return kept
        try:
            summary = self._summarise(text, writer)
        except _Useless:
            raise  # nothing kept: the same parts would come back the same
        except BaseException:
            self._keep_parts()
            raise
        self.shared.kept.forget(self._reused | self._passed)
        return summary

    def whole_key(self, text: str) -> str:
        """What identifies the whole summary of ``text`` (kept under it when its output file
        cannot be written): where it goes, its options, the instructions and the text."""
        s = self.settings
        return digest("summary", self.env.profile.name, self.env.model, s.system,
                      str(s.temperature), str(s.max_tokens), self.instructions, text)  # fmt: skip

    def kept_summary(self, text: str) -> str | None:
        """The whole summary of ``text`` an earlier run paid for and could not write, kept
        for this run (None when there is none, or with ``--force``)."""
        if self.opts.force:
            return None
        return self.shared.kept.get(self.whole_key(text))

    def _keep_parts(self) -> None:
        """Keep the part summaries paid for (or kept before) for the next run, and say so."""
        with self._lock:
            paid = dict(self._paid)
        if not paid:
            return
        n = len(paid)
        what = "1 part summary" if n == 1 else f"{n} part summaries"
        if self.shared.kept.keep(paid):
            self._note(f"{what} kept: the same command again sends only what is missing")
        else:
            self._note(f"{what} could not be kept (the database is busy)")

    def _drop_parts(self) -> None:
        """Part summaries judged useless are not kept, and kept ones that were are dropped:
        a run again must send them again, not fail the same way without sending anything."""
        with self._lock:
            useless = set(self._paid) | self._reused
            self._paid.clear()
            self._reused.clear()
        self.shared.kept.forget(useless)

    def _summarise(self, text: str, writer: Writer | None) -> str:
        if self.count(text) <= self.budget:
            return self._final(f"{self.instructions}{SEPARATOR}{text}", writer)
        if self.info.context_window is None and not self.opts.chunk_tokens:
            self._note(
                f"the context window of {self.env.model} is unknown; assuming {UNKNOWN_WINDOW} "
                f'tokens (set context_window in [models."{self.env.model}"] to change it)'
            )
        current = text
        while True:
            chunks = [c.strip() for c in self._split(current)]
            summaries = self._parts([c for c in chunks if c])
            joined = "\n\n".join(f"Part {i}:\n{s.strip()}" for i, s in enumerate(summaries, 1))
            if self.count(joined) >= self.count(current):
                self._drop_parts()
                raise _Useless(
                    "the part summaries came back no shorter than the text they summarise",
                    hint="try another model, or a larger --chunk-tokens",
                )
            current = joined
            if self.count(current) <= self.budget:
                break
            self._note("the part summaries are still too long; summarising them again")
        prompt = COMBINE_PROMPT.format(instructions=self.instructions, total=len(summaries))
        if not self.shared.tracker.many:
            self.notifier.note(f"combining {len(summaries)} part summaries…")
        return self._final(f"{prompt}{SEPARATOR}{current}", writer)

    def _split(self, text: str) -> list[str]:
        from chatcli.features.summarize.split import split_text

        return split_text(text, self.budget, self.count)

    # -- requests -----------------------------------------------------------------------------

    def _note(self, message: str) -> None:
        with self._lock:
            self.notifier.note(f"{self.name}: {message}" if self.name else message)

    def _send(self, content: str) -> Generator[StreamEvent, None, None]:
        """One request, holding one of the run's slots; usage goes to the tracker. Closing
        this closes the session's request at once (it records the request, interrupted), not
        whenever the garbage collector gets to it (the database may be closed by then)."""
        with self.shared.slots:
            if self.stop.is_set() or self.shared.interrupted.is_set():
                raise _Cancelled
            events = self._session_send(content)
            try:
                for event in events:
                    if isinstance(event, Usage):
                        self.shared.tracker.add_usage(event.prompt_tokens, event.completion_tokens)
                    yield event
            finally:
                events.close()
        self.shared.tracker.request_done()

    def _turn(self, content: str, writer: Writer, notifier: Notifier, what: str) -> None:
        """One request through the turn flow; its events are closed however it ends (a
        failed or cancelled turn's request is recorded now, in this thread)."""
        events = self._send(content)
        try:
            take_turn(lambda: events, writer, notifier, what=what)
        finally:
            events.close()

    def _session_send(self, content: str) -> Generator[StreamEvent, None, None]:
        """One request as a one-off session: it logs the request's usage (estimated when the
        endpoint reports none) and records interrupted and failed requests too."""
        from chatcli.session import ChatSession

        assert self.provider is not None, "a summariser made for an estimate sends nothing"
        return ChatSession.open(self.provider, self.settings, store=self.store).send(content)

    def _part(self, index: int, total: int, chunk: str) -> str:
        """One part's summary (runs in a worker thread); one an earlier, failed run paid for
        is taken from ``usage.kept`` instead of being asked (and paid) for again."""
        if self.stop.is_set():
            raise _Cancelled
        content = self._part_content(index, total, chunk)
        key = self._key(content)
        kept = self.shared.kept.get(key)
        if kept is not None and self.opts.force:  # --force redoes: sent again, then dropped
            with self._lock:
                self._passed.add(key)
            kept = None
        if kept is not None:
            with self._lock:
                self._paid[key] = kept
                self._reused.add(key)
            self.shared.tracker.request_done()
            return kept
        self.limiter.wait(self.stop)
        if self.stop.is_set():
            raise _Cancelled
        collected = _Collect(self.stop)
        # the one turn flow: a part cut at the token limit is said (its summary is short), a
        # filtered part fails this input (exit 5) instead of becoming a silent gap
        self._turn(content, collected, self._guarded(quiet=self.shared.tracker.many),
                   what=f"summary of part {index} of {total}")  # fmt: skip
        summary = "".join(collected.parts)
        with self._lock:
            self._paid[key] = summary
        return summary

    def _part_content(self, index: int, total: int, chunk: str) -> str:
        prompt = PART_PROMPT.format(index=index, total=total, instructions=self.instructions)
        return f"{prompt}{SEPARATOR}{chunk}"

    def _key(self, content: str) -> str:
        """What identifies one part's request: where it goes and everything it sends."""
        s = self.settings
        return digest(self.env.profile.name, self.env.model, s.system, str(s.temperature),
                      str(s.max_tokens), content)  # fmt: skip

    def _guarded(self, *, quiet: bool) -> Notifier:
        """The run's notifier for a worker thread: under the summariser's lock; ``quiet``
        swallows retry countdowns (the run's progress line says enough)."""
        return _Guarded(self.notifier, self._lock, quiet=quiet)

    def _parts(self, chunks: list[str]) -> list[str]:
        """Summaries of ``chunks`` in order; the first failure cancels the rest and is raised."""
        total = len(chunks)
        workers = min(self.opts.concurrency, total)
        pace = ""
        if self.env.profile.requests_per_minute:
            pace = f", at most {self.env.profile.requests_per_minute:g}/min"
        head = f"summarising {total} parts ({workers} at a time{pace})…"
        self.shared.tracker.add_requests(total)
        self._progress(f"{head}  0/{total}", 0, total)
        results: list[str] = [""] * total
        # create the shared HTTP client here, not racing in the workers
        assert self.provider is not None
        self.provider.warm(self.env.model)
        provider = self.provider
        known = 0
        if not self.opts.force:  # --force sends them again
            keys = (self._key(self._part_content(i, total, c)) for i, c in enumerate(chunks, 1))
            known = sum(1 for key in keys if self.shared.kept.get(key) is not None)
        if known:
            self._note(
                f"{known} of {total} part summaries were paid for by an earlier run that "
                "failed: taken from there, not sent again"
            )

        def interrupt() -> None:
            self.shared.interrupted.set()
            provider.abort()  # parts in flight fail now, however slow the server

        try:
            # a failed part stops the others: ``stop`` is seen at their next event
            with Workers(workers, "summarize", stop=self.stop, interrupt=interrupt) as pool:
                futures: dict[Future[str], int] = {
                    pool.submit(self._part, i + 1, total, chunk): i
                    for i, chunk in enumerate(chunks)
                }
                for done, future in enumerate(_completed(futures), 1):
                    results[futures[future]] = future.result()
                    self._progress(f"{head}  {done}/{total}", done, total)
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None
        with self._lock:
            self.notifier.end_line()
        return results

    def _progress(self, message: str, done: int, total: int) -> None:
        """Updated in place on a terminal; off one, a line at the start and every tenth.
        With several inputs the run's ``Tracker`` shows overall progress instead."""
        if self.shared.tracker.many:
            return
        with self._lock:
            if self.notifier.tty:
                self.notifier.notice(Notice(message, key="progress"))
            elif done in (0, total) or done * 10 // total != (done - 1) * 10 // total:
                self.notifier.note(message)

    def _final(self, content: str, writer: Writer | None) -> str:
        """The last request: streamed to ``writer`` like ``ask``, or collected."""
        self.shared.tracker.add_requests(1)
        self.limiter.wait(self.stop)
        collected = _Collect()
        if writer is not None:  # streamed like ask's answer
            events = self._send(content)
            teed = _tee(events, collected)
            try:
                take_turn(lambda: teed, writer, self.notifier, what="summary")
            finally:
                teed.close()
                events.close()
        else:
            self._turn(content, collected, self._guarded(quiet=True), what="summary")
        return "".join(collected.parts)


class _Collect:
    """A writer that keeps the text (the summary is also needed for ``-o`` and --combine);
    once ``stop`` is set (another part failed, Ctrl-C) it ends the request."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.parts: list[str] = []
        self.stop = stop

    def feed(self, text: str) -> None:
        if self.stop is not None and self.stop.is_set():
            raise _Cancelled
        self.parts.append(text)

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def above(self, write: Callable[[], None]) -> bool:
        return False


def _tee(
    events: Generator[StreamEvent, None, None], into: _Collect
) -> Generator[StreamEvent, None, None]:
    """Pass ``events`` on, keeping a copy of their text; closing it closes ``events``."""
    try:
        for event in events:
            if isinstance(event, TextDelta):
                into.feed(event.text)
            yield event
    finally:
        events.close()


class _Guarded(Notifier):
    """The run's notifier, shared by worker threads: each call under ``lock``; ``quiet``
    swallows retry countdowns of collected requests."""

    def __init__(self, inner: Notifier, lock: threading.Lock, *, quiet: bool) -> None:
        super().__init__(inner.stream, inner.tty)
        self.inner, self.lock, self.quiet = inner, lock, quiet

    def notice(self, event: Notice, writer: Writer | None = None) -> None:
        if not self.quiet:
            with self.lock:
                self.inner.notice(event, writer)

    def note(self, message: str) -> None:
        with self.lock:
            self.inner.note(message)

    def line(self, text: str, writer: Writer | None = None) -> None:
        with self.lock:
            self.inner.line(text, writer)

    def text_arrived(self) -> None:
        pass

    def end_line(self) -> None:
        pass

    def reasoning(self, text: str, writer: Writer | None, *, answer_began: bool) -> None:
        pass


def _completed(futures: dict[Future[str], int]) -> Iterator[Future[str]]:
    """Futures as they finish; a failed one is raised at once (a cancelled part is not an
    error of its own: the failure that cancelled it is)."""
    for future in as_completed(futures):
        error = future.exception()
        if isinstance(error, _Cancelled):
            continue
        if error is not None:
            raise error
        yield future
