"""What ``chatcli summarize`` does: read every input, estimate, confirm, summarise, write.

One input and no ``-o``/``--combine``: the summary streams to stdout as before. Several inputs:
each is summarised on its own, up to ``--concurrency`` requests in flight and no faster than
``requests_per_minute`` across all of them; summaries go to stdout under a ``#`` heading each
(in input order) or to ``-o DIR`` one file per input. An input that fails is reported and the
others still finish; the exit code then says something failed. ``--combine`` adds a summary of
the summaries. Inputs whose file already exists in ``-o DIR`` are skipped unless ``--force``.
A summary paid for whose file cannot be written (a full disk) fails its input but is not lost:
it is kept in the database (``usage.kept``), or printed when even that fails, and the same
command again writes it without sending anything (``_deliver``).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import ChatcliError, Interrupted, unreadable
from chatcli.features.outputs import check_folder, write_output
from chatcli.features.pacing import Limiter
from chatcli.features.summarize.engine import Shared, SummarizeOptions, Summarizer
from chatcli.features.summarize.progress import BIG, Tracker, size, stage, stage_done
from chatcli.features.summarize.sources import Source, distinct, load, names
from chatcli.features.workers import Workers
from chatcli.output import Notifier, flush_out, notifier_for, out
from chatcli.settings.resolve import Env

if TYPE_CHECKING:
    from chatcli.providers.base import Provider
    from chatcli.store import Store

COMBINED = "combined"
COMBINE_INSTRUCTIONS = (
    "Below are summaries of {n} separate inputs, each under its name. Write one summary of "
    "all of them together: what they share, where they differ, and the key points of each."
)


def run(environment: Environment, env: Env, opts: SummarizeOptions) -> None:
    """Run one ``summarize``; raises chatcli errors for the funnel in ``__main__``."""
    inputs, repeated = distinct(
        names(opts.files, environment.stdin, environment.stdin_isatty), environment.stdin
    )
    check_folder(opts.output_dir)
    notifier = notifier_for(environment)
    for name, first in repeated:
        label, as_first = ("stdin" if n == "-" else n for n in (name, first))
        notifier.note(f"{label}: the same input as {as_first}, summarised once")
    sources = [_load(name, env, environment, notifier) for name in inputs]
    stage_done(notifier)
    many = len(sources) > 1 or opts.output_dir is not None or opts.combine
    if not many and sources[0].error is not None:
        raise sources[0].error
    targets = _targets(sources, opts.output_dir)
    done_before: dict[int, str] = {}
    if opts.output_dir is not None and not opts.force:
        for i, source in enumerate(sources):
            if source.error is None and targets[i].exists():
                try:
                    done_before[i] = targets[i].read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise unreadable(targets[i], exc, "a summary file") from None
                notifier.note(f"{source.label}: skipped, {targets[i]} exists (--force redoes it)")
    todo = [i for i, s in enumerate(sources) if s.error is None and i not in done_before]
    # inputs that could not be read are counted too: they are reported as done (failed)
    counted = sum(1 for i in range(len(sources)) if i not in done_before)
    tracker = Tracker(notifier, counted, env.config.model_info(env.model), many=many)
    shared = Shared(
        environment,
        Limiter(env.profile.requests_per_minute, environment.clock),
        threading.BoundedSemaphore(opts.concurrency),
        tracker,
        threading.Event(),
    )
    Job(env, opts, notifier, shared, sources, targets, done_before, todo).go(many)


def _load(name: str, env: Env, environment: Environment, notifier: Notifier) -> Source:
    """``load``, with a stage line on a terminal while a big file or a URL is read."""
    from chatcli.inputs import url_of

    if url_of(name) is not None:
        stage(notifier, f"fetching {name}")
    elif name != "-":
        try:
            big = Path(name).stat().st_size
        except (OSError, ValueError):
            big = 0
        if big >= BIG:
            stage(notifier, f"reading {name} ({size(big)})")
    return load(name, env.profile, environment.stdin)


def _targets(sources: list[Source], folder: Path | None) -> list[Path]:
    """One output file per input, unique even when two inputs share a name."""
    from chatcli.features.outputs import unique_stems

    base = folder or Path(".")
    stems = unique_stems([source.slug for source in sources], taken={COMBINED})
    return [base / f"{stem}.md" for stem in stems]


class Job:
    """One run over its inputs (see the module docstring)."""

    def __init__(
        self,
        env: Env,
        opts: SummarizeOptions,
        notifier: Notifier,
        shared: Shared,
        sources: list[Source],
        targets: list[Path],
        done_before: dict[int, str],
        todo: list[int],
    ) -> None:
        self.env, self.opts, self.notifier, self.shared = env, opts, notifier, shared
        self.sources, self.targets, self.todo = sources, targets, todo
        self.results: dict[int, str] = dict(done_before)
        self._keys: dict[int, str] = {}  # each input's ``whole_key``, to keep what is unwritten
        self.printed = 0
        self._said_stale = False  # the note that combined.md is made again, said once

    def _summarizer(
        self, provider: Provider | None, store: Store | None, i: int | None, *, combined: int = 0
    ) -> Summarizer:
        """Input ``i``'s summarizer, or (``i`` None) the one combining ``combined`` summaries."""
        if i is None:
            instructions = COMBINE_INSTRUCTIONS.format(n=combined)
            if self.opts.instructions:
                instructions = f"{self.opts.instructions.strip()}\n\n{instructions}"
            return Summarizer(
                self.env, self.opts, provider, store, self.notifier, self.shared,
                instructions=instructions, name="combined",
            )  # fmt: skip
        name = self.sources[i].label if self.shared.tracker.many else ""
        return Summarizer(
            self.env, self.opts, provider, store, self.notifier, self.shared, name=name
        )

    def go(self, many: bool) -> None:
        from chatcli.features.summarize import estimate as est

        plan = [(self._summarizer(None, None, i), self.sources[i].text) for i in self.todo]
        plan = [(summ, text) for summ, text in plan if summ.kept_summary(text) is None]
        readable = sum(1 for source in self.sources if source.error is None)
        combiner = None
        if self.opts.combine and self._kept_combined(bool(self.todo)) is None:
            combiner = self._summarizer(None, None, None, combined=readable)
        estimate = est.estimate(plan, combiner)
        stage_done(self.notifier)
        first = plan[0][0] if plan else self._summarizer(None, None, None, combined=readable)
        if self.opts.dry_run:
            out(self.shared.environment, est.describe(first, estimate, len(self.todo)))
            flush_out(self.shared.environment)
            self._fail_if_any()
            return
        if plan:
            est.confirm(first, estimate, yes=self.opts.yes)
        from chatcli.features.usage import budget
        from chatcli.store import open_default

        with open_default() as store:
            # every request (part, final, combined) passes the budgets; judged once now too,
            # so a spent budget is one refusal before anything is sent
            provider = budget.connect(self.env.profile, self.env.config.model_info,
                                      clock=self.shared.environment.clock, debug=self.env.debug,
                                      store=store, warn=self.notifier.note,
                                      over_budget=self.opts.over_budget,
                                      model=self.env.model)  # fmt: skip
            try:
                if not many:
                    self._stream_one(provider, store)
                    return
                self._all(provider, store)
            finally:
                provider.close()
        self._fail_if_any()

    def _stream_one(self, provider: Provider, store: Store) -> None:
        from chatcli.render import make_writer

        stdout = self.shared.environment.stdout
        writer = make_writer(self.opts.markdown or self.env.profile.markdown, stdout)
        self._summarizer(provider, store, 0).summarise(self.sources[0].text, writer)

    def _all(self, provider: Provider, store: Store) -> None:
        for source in self.sources:
            if source.error is not None:
                self.shared.tracker.input_done(f"{source.label}: failed: {source.error.message}")
        if self.todo:
            # create the shared HTTP client here, not racing in the workers
            provider.warm(self.env.model)
        workers = max(1, min(self.opts.concurrency, len(self.todo)))
        summarizers = {i: self._summarizer(provider, store, i) for i in self.todo}
        self._keys = {i: summarizers[i].whole_key(self.sources[i].text) for i in self.todo}

        def interrupt() -> None:
            self.shared.interrupted.set()
            for summ in summarizers.values():
                summ.stop.set()
            provider.abort()  # requests in flight fail now, so the workers end at once

        try:
            with Workers(workers, "input", stop=threading.Event(), interrupt=interrupt) as pool:
                futures: dict[Future[str], int] = {
                    pool.submit(summarizers[i].summarise, self.sources[i].text): i
                    for i in self.todo
                }
                for future in as_completed(futures):
                    self._finished(futures[future], future)
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None
        self._flush_stdout(final=True)
        if self.opts.combine and self.results:
            self._combine(provider, store)
        self.shared.tracker.finish()

    def _finished(self, i: int, future: Future[str]) -> None:
        source = self.sources[i]
        error = future.exception()
        if isinstance(error, ChatcliError):
            source.error = error
            self.shared.tracker.input_done(f"{source.label}: failed: {error.message}")
        elif error is not None:
            raise error
        else:
            self.results[i] = future.result().strip() + "\n"
            where = ""
            if self.opts.output_dir is not None:
                failed = self._deliver(
                    source.label, self.targets[i], self.results[i], self._keys[i]
                )
                if failed is not None:  # an input that failed: not combined, as any other
                    source.error = failed
                    del self.results[i]
                    self.shared.tracker.input_done(f"{source.label}: failed: {failed.message}")
                    return
                where = f" -> {self.targets[i]}"
            self.shared.tracker.input_done(f"{source.label}: done{where}")
        self._flush_stdout()

    def _deliver(self, label: str, target: Path, text: str, key: str) -> ChatcliError | None:
        """Write the paid summary ``text`` to ``target``; None when it was written. When it
        cannot be (a full disk, no permission) the summary is kept under ``key`` for the same
        command again, which then writes it without sending anything, or, if even that fails,
        printed on stdout: the error returned says which."""
        try:
            self._write(target, text)
        except ChatcliError as exc:
            from chatcli.features.paid import unwritten

            if not unwritten(self.shared.kept, {key: text}, exc, "the summary is", "writes it"):
                with self.shared.tracker.lock:
                    self.notifier.end_line()
                    out(self.shared.environment, f"# {label}\n\n{text}\n")
                    flush_out(self.shared.environment)
                exc.message += "; the summary is printed on stdout instead (it could not be kept)"
            return exc
        self.shared.kept.forget([key])  # delivered: a kept one is used up
        return None

    def _flush_stdout(self, final: bool = False) -> None:
        """Print finished summaries under headings, in input order, as soon as they can be."""
        if self.opts.output_dir is not None:
            return
        while self.printed < len(self.sources):
            i = self.printed
            if i not in self.results and self.sources[i].error is None and not final:
                return
            if i in self.results:
                with self.shared.tracker.lock:
                    self.notifier.end_line()
                    out(
                        self.shared.environment, f"# {self.sources[i].label}\n\n{self.results[i]}\n"
                    )
                    flush_out(self.shared.environment)
            self.printed += 1

    def _kept_combined(self, fresh: bool) -> Path | None:
        """``-o DIR``'s combined summary when it is kept: it exists, no input is (``fresh``)
        summarised in this run, no ``--force``, and it was made from the very summaries this
        run combines (its record, ``combined.py``): like the inputs' own files, no request
        and no overwrite. Made from others, only the combining request is sent again."""
        from chatcli.features.summarize import combined

        folder = self.opts.output_dir
        if folder is None or self.opts.force or fresh:
            return None
        target = folder / f"{COMBINED}.md"
        if not target.exists():
            return None
        made = combined.recorded(folder)
        if made == combined.made_from(self._combining()):
            return target
        if not self._said_stale:
            self._said_stale = True
            why = (
                "holds no record of the summaries it was made from"
                if made is None
                else ("was made from other summaries than these")
            )
            self.notifier.note(
                f"combined summary: {target} {why}; only the combining request is sent again"
            )
        return None

    def _combining(self) -> dict[str, str]:
        """The summaries a combined summary is made from: summary file name -> text."""
        return {self.targets[i].name: self.results[i] for i in self.results}

    def _combine(self, provider: Provider, store: Store) -> None:
        kept = self._kept_combined(any(i in self.results for i in self.todo))
        if kept is not None:
            self.notifier.note(f"combined summary: skipped, {kept} exists (--force redoes it)")
            return
        text = "\n\n".join(
            f"Summary of {self.sources[i].label}:\n{self.results[i].strip()}"
            for i in sorted(self.results)
        )
        combiner = self._summarizer(provider, store, None, combined=len(self.results))
        try:
            summary = combiner.summarise(text).strip() + "\n"
        except ChatcliError as exc:
            self.notifier.note(f"combined summary: failed: {exc.message}")
            self._combine_error: ChatcliError | None = exc
            return
        if self.opts.output_dir is not None:
            from chatcli.features.summarize import combined

            folder = self.opts.output_dir
            target = folder / f"{COMBINED}.md"
            combined.forget(folder)
            key = combiner.whole_key(text)
            failed = self._deliver("Combined summary", target, summary, key)
            if failed is not None:
                self.notifier.note(f"combined summary: failed: {failed.message}")
                self._combine_error = failed
                return
            record = combined.text(combined.made_from(self._combining()))
            try:
                self._write(folder / combined.RECORD, record)
            except ChatcliError as exc:  # without it the next run combines again: for free
                self.shared.kept.keep({key: summary})
                self.notifier.note(f"combined summary: {exc.message}; the same command again "
                                   "writes it again without sending anything")  # fmt: skip
            self.notifier.note(f"combined summary -> {target}")
        else:
            out(self.shared.environment, f"# Combined summary\n\n{summary}")
            flush_out(self.shared.environment)

    def _write(self, path: Path, text: str) -> None:
        from chatcli.settings.paths import ensure_private_dir

        try:
            ensure_private_dir(path.parent)  # -o DIR made 0700, as every folder chatcli makes
            write_output(path, text)  # whole or not at all; a FIFO or link written through
        except OSError as exc:
            raise ChatcliError(f"cannot write {path}: {exc.strerror or exc}") from None

    def _fail_if_any(self) -> None:
        failed = [s for s in self.sources if s.error is not None]
        combine_error = getattr(self, "_combine_error", None)
        if not failed and combine_error is None:
            return
        first = failed[0].error if failed else combine_error
        assert first is not None
        if len(self.sources) == 1 and not self.opts.combine:
            raise first
        what = f"{len(failed)} of {len(self.sources)} inputs failed" if failed else ""
        if combine_error is not None:
            what = f"{what}; the combined summary failed" if what else "the combined summary failed"
        raise type(first)(what, hint=f"first failure: {failed[0].label}" if failed else None)
