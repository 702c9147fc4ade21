"""What ``chatcli summarize`` does: read text, summarise it in one request or in parts, print.

Text that fits the model's context window (less the reply's reserve, the instructions and the
framing) goes in one request. Longer text is cut on paragraph boundaries (``chunking``), the
parts are summarised in worker threads, at most ``--concurrency`` at a time and no faster than
the profile's ``requests_per_minute`` (one request start every 60/rpm s), and the part summaries
are combined in a final request; if they do not fit one request either, they are summarised
again the same way. Only the final answer is streamed to stdout; progress goes to stderr. A part
that fails (after the transport's retries) stops the whole run with its error: no summary of
the rest is printed. Every request is written to the usage log as command ``summarize``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.errors import APIError, Interrupted, UsageError
from chatcli.events import Notice, StreamEvent, TextDelta
from chatcli.output import Notifier, stream_to
from chatcli.settings.resolve import Env, Globals, resolve

if TYPE_CHECKING:
    from chatcli.providers.chat import ChatProvider
    from chatcli.store import Store

DEFAULT_INSTRUCTIONS = (
    "Summarise the text below. Keep the key facts, names, numbers, decisions and conclusions. "
    "Write the summary in the language of the text."
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


@dataclass
class SummarizeOptions:
    """The parsed options of ``summarize``."""

    files: list[str]
    instructions: str | None = None
    concurrency: int = 4
    chunk_tokens: int | None = None
    markdown: str | None = None
    over_budget: bool = False


def run(g: Globals, opts: SummarizeOptions) -> None:
    """Run one ``summarize``; raises chatcli errors for the funnel in ``__main__``."""
    text = read_inputs(opts.files)
    env = resolve(g)
    from chatcli.features.usage import budget
    from chatcli.providers import connect
    from chatcli.store import open_default

    notifier = Notifier()
    with open_default() as store:
        budget.check(store, env.profile, over_budget=opts.over_budget, warn=notifier.note)
        provider = connect(env.profile, env.config.model_info, debug=env.debug)
        try:
            Summarizer(env, opts, provider, store, notifier).summarise(text)
        finally:
            provider.transport.close()


# -- input ------------------------------------------------------------------------------------


def read_inputs(files: list[str]) -> str:
    """The text of every FILE (``-`` is stdin) in order, each under a header when several."""
    from chatcli.inputs import decode_text

    if not files:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError(
                "nothing to summarise: give a FILE or pipe text in",
                hint="chatcli summarize report.md",
            )
        files = ["-"]
    texts: list[tuple[str, str]] = []
    for name in files:
        data, label = _read(name)
        try:
            text = decode_text(data, label)
        except UsageError as exc:
            hint = exc.hint if exc.hint and "transcribe" in exc.hint else None
            raise UsageError(exc.message, hint=hint or "chatcli summarize reads text") from None
        if text.strip():
            texts.append((name if name != "-" else "stdin", text.strip("\n")))
    if not texts:
        what = "the input is" if len(files) == 1 else "all inputs are"
        raise UsageError(f"nothing to summarise: {what} empty")
    if len(texts) == 1:
        return texts[0][1]
    return "\n\n".join(f"File {name}:\n{text}" for name, text in texts)


def _read(name: str) -> tuple[bytes, str]:
    if name == "-":
        return sys.stdin.buffer.read(), "piped input"
    path = Path(name)
    try:
        return path.read_bytes(), f"file {path}"
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


# -- pacing -----------------------------------------------------------------------------------


class Limiter:
    """Client-side rate limit: request starts at least 60/rpm seconds apart, across threads."""

    def __init__(self, requests_per_minute: float | None) -> None:
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> None:
        """Take the next start slot and sleep until it (or until ``stop`` is set)."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            stop.wait(at - now)


class _Cancelled(Exception):
    """Another part failed or Ctrl-C was pressed: this worker stops without a result."""


# -- the summariser ---------------------------------------------------------------------------


class Summarizer:
    """Plans the requests for one input, runs them, logs their usage and prints the result."""

    def __init__(
        self,
        env: Env,
        opts: SummarizeOptions,
        provider: ChatProvider,
        store: Store,
        notifier: Notifier,
    ) -> None:
        from chatcli.tokens import REPLY_PRIMING, TOKENS_PER_MESSAGE, count_text

        self.env = env
        self.opts = opts
        self.provider = provider
        self.store = store
        self.notifier = notifier
        self.instructions = (opts.instructions or "").strip() or DEFAULT_INSTRUCTIONS
        self.info = env.config.model_info(env.model)
        encoding = self.info.tokenizer
        self.count: Callable[[str], int] = lambda s: count_text(s, encoding).n
        self.window = self.info.context_window or UNKNOWN_WINDOW
        self.budget = self._budget(REPLY_PRIMING + 2 * TOKENS_PER_MESSAGE)
        self.limiter = Limiter(env.profile.requests_per_minute)
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def _budget(self, framing: int) -> int:
        """Tokens of text one request can carry: the window less reply reserve and prompts."""
        from chatcli.session import REPLY_RESERVE

        reserve = self.env.profile.max_tokens or min(REPLY_RESERVE, self.window // 4)
        longest = max(
            PART_PROMPT.format(index=999, total=999, instructions=self.instructions),
            COMBINE_PROMPT.format(instructions=self.instructions, total=999),
            key=self.count,
        )
        system = self.env.profile.system or ""
        fits = self.window - reserve - framing - SLACK
        fits -= self.count(longest + SEPARATOR) + self.count(system)
        if fits < 64:
            raise UsageError(
                f"the instructions leave no room for text in the context of {self.env.model}",
                hint="shorten --instructions or lower max_tokens",
            )
        return min(fits, self.opts.chunk_tokens) if self.opts.chunk_tokens else fits

    def summarise(self, text: str) -> None:
        """Summarise ``text`` and stream the result to stdout."""
        if self.count(text) <= self.budget:
            self._final(f"{self.instructions}{SEPARATOR}{text}")
            return
        if self.info.context_window is None and not self.opts.chunk_tokens:
            self.notifier.note(
                f"the context window of {self.env.model} is unknown; assuming {UNKNOWN_WINDOW} "
                f'tokens (set context_window in [models."{self.env.model}"] to change it)'
            )
        current = text
        while True:
            chunks = [c.strip() for c in self._split(current)]
            summaries = self._parts([c for c in chunks if c])
            joined = "\n\n".join(f"Part {i}:\n{s.strip()}" for i, s in enumerate(summaries, 1))
            if self.count(joined) >= self.count(current):
                raise APIError(
                    "the part summaries came back no shorter than the text they summarise",
                    hint="try another model, or a larger --chunk-tokens",
                )
            current = joined
            if self.count(current) <= self.budget:
                break
            self.notifier.note("the part summaries are still too long; summarising them again")
        prompt = COMBINE_PROMPT.format(instructions=self.instructions, total=len(summaries))
        self.notifier.note(f"combining {len(summaries)} part summaries…")
        self._final(f"{prompt}{SEPARATOR}{current}")

    def _split(self, text: str) -> list[str]:
        from chatcli.features.summarize.split import split_text

        return split_text(text, self.budget, self.count)

    # -- requests -----------------------------------------------------------------------------

    def _send(self, content: str) -> Generator[StreamEvent, None, None]:
        """One request as a one-off session: it logs the request's usage (estimated when the
        endpoint reports none) and records interrupted and failed requests too."""
        from chatcli.session import ChatSession

        settings = self.env.chat_settings("summarize")
        return ChatSession.open(self.provider, settings, store=self.store).send(content)

    def _part(self, index: int, total: int, chunk: str) -> str:
        """One part's summary (runs in a worker thread)."""
        if self.stop.is_set():
            raise _Cancelled
        self.limiter.wait(self.stop)
        if self.stop.is_set():
            raise _Cancelled
        prompt = PART_PROMPT.format(index=index, total=total, instructions=self.instructions)
        events = self._send(f"{prompt}{SEPARATOR}{chunk}")
        text: list[str] = []
        try:
            for event in events:
                if self.stop.is_set():
                    raise _Cancelled
                if isinstance(event, TextDelta):
                    text.append(event.text)
                elif isinstance(event, Notice):
                    with self._lock:
                        self.notifier.notice(event)
        finally:
            events.close()
        return "".join(text)

    def _parts(self, chunks: list[str]) -> list[str]:
        """Summaries of ``chunks`` in order; the first failure cancels the rest and is raised."""
        total = len(chunks)
        workers = min(self.opts.concurrency, total)
        pace = ""
        if self.env.profile.requests_per_minute:
            pace = f", at most {self.env.profile.requests_per_minute:g}/min"
        head = f"summarising {total} parts ({workers} at a time{pace})…"
        self._progress(f"{head}  0/{total}", 0, total)
        results: list[str] = [""] * total
        # create the shared HTTP client here, not racing in the workers
        self.provider.transport.client(self.provider.endpoint.url_for(self.env.model))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="summarize") as pool:
            futures: dict[Future[str], int] = {
                pool.submit(self._part, i + 1, total, chunk): i for i, chunk in enumerate(chunks)
            }
            try:
                for done, future in enumerate(_completed(futures), 1):
                    results[futures[future]] = future.result()
                    self._progress(f"{head}  {done}/{total}", done, total)
            except BaseException as exc:
                self.stop.set()
                for future in futures:
                    future.cancel()  # parts in flight see ``stop`` at their next event
                if isinstance(exc, KeyboardInterrupt):
                    raise Interrupted("interrupted") from None
                raise
        with self._lock:
            self.notifier.end_line()
        return results

    def _progress(self, message: str, done: int, total: int) -> None:
        """Updated in place on a terminal; off one, a line at the start and every tenth."""
        with self._lock:
            if self.notifier.tty:
                self.notifier.notice(Notice(message, key="progress"))
            elif done in (0, total) or done * 10 // total != (done - 1) * 10 // total:
                self.notifier.note(message)

    def _final(self, content: str) -> None:
        """The last request, streamed to stdout like ``ask``."""
        from chatcli.render import make_writer

        self.limiter.wait(self.stop)
        writer = make_writer(self.opts.markdown or self.env.profile.markdown, sys.stdout)
        answer = stream_to(self._send(content), writer, self.notifier)
        reason = answer.finish.reason if answer.finish else None
        if reason == "length":
            self.notifier.note("the summary was cut at the token limit (finish_reason=length)")
        elif reason == "content_filter":
            raise APIError("the summary was stopped by the provider's content filter")


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
