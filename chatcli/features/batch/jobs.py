"""``chatcli batch``: a job's life from submit to results, and the commands that move it on.

States: ``draft`` (requests stored, not confirmed) -> ``submitting`` (parts being uploaded and
created) -> ``running`` -> ``done`` | ``cancelled`` | ``failed``; ``cancelling`` while the
provider winds a cancelled batch down. Every command reads the job from the store and takes it
as far as it can, so ``batch wait`` after a crash (or on another day) finishes a submit that
was cut short, then follows the batches and collects their results. Remote jobs use the
provider's Batch API (``remote``); jobs on endpoints without one run through ``local``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcli.environment import Environment
from chatcli.errors import (
    APIError,
    AuthError,
    ChatcliError,
    ConfigError,
    StoreBusy,
    StoreFull,
    UsageError,
)
from chatcli.events import Notice
from chatcli.features.batch import estimate, remote
from chatcli.features.batch.outcome import EVERY_FAILED, NETWORK_FAILED, every_failed, failure
from chatcli.output import emit, err, json_text, notifier_for, out
from chatcli.pricing import batch_cost_usd, cost_usd
from chatcli.settings.resolve import Env, Invocation
from chatcli.store.jobs import JobRow, Jobs, NewRequest, ResultRow

if TYPE_CHECKING:
    from chatcli.events import Usage
    from chatcli.features.batch.inputs import Builder
    from chatcli.features.batch.lines import UsageFor
    from chatcli.pricing import ModelInfo
    from chatcli.providers.base import Provider
    from chatcli.providers.batches import BatchAPI
    from chatcli.settings.loading import Config, Profile
    from chatcli.store import Status, Store, UsageRecord

POLL_START = 0.5
POLL_MAX = 30.0
POLL_GROWTH = 1.5
FINAL = frozenset({"done", "cancelled", "failed"})
DRY_RUN_NAME = "chatcli-batch-dry-run"


@dataclass
class SubmitOptions:
    """The parsed options of ``batch submit``."""

    inputs: list[str]
    prompt: str | None = None
    column: str | None = None
    local: bool = False
    dry_run: bool = False
    yes: bool = False
    concurrency: int = 8
    over_budget: bool = False
    schema: str | None = None  # --schema SPEC for every line (a line's "schema" key wins)
    schema_multi: bool = False
    new: bool = False  # --new: a second job even when the same one is unfinished


class Context:
    """What every batch command works with: config, store, notifier, and clients on demand."""

    def __init__(self, environment: Environment, config: Config, store: Store, debug: bool) -> None:
        self.environment = environment
        self.config = config
        self.store = store
        self.jobs = Jobs(store)
        self.debug = debug
        self.notifier = notifier_for(environment)
        self.over_budget = False  # --over-budget: spent budgets do not stop this command
        self._ready: dict[str, Provider] = {}  # made by ``prepare``, not yet taken

    def profile(self, job: JobRow) -> Profile:
        return self.config.profile(job.profile)

    def prepare(self, profile: Profile) -> None:
        """Connect now: the key (``api_key_cmd`` run once), headers and proxy are resolved,
        so a profile that cannot be used fails the command before a job is made. The next
        ``connect`` for ``profile`` gets this provider."""
        if profile.name not in self._ready:
            self._ready[profile.name] = self.connect(profile)

    def close(self) -> None:
        """Close the providers ``prepare`` made that no one took."""
        ready, self._ready = self._ready, {}
        for provider in ready.values():
            provider.close()

    def connect(self, profile: Profile) -> Provider:
        """A provider whose paid requests (the local runner's, a Batch API batch's creation)
        pass this command's budget check first (``budget.connect``)."""
        from chatcli.features.usage import budget

        ready = self._ready.pop(profile.name, None)
        if ready is not None:
            return ready
        return budget.connect(profile, self.config.model_info, clock=self.environment.clock,
                              debug=self.debug, store=self.store, warn=self.notifier.note,
                              over_budget=self.over_budget)  # fmt: skip

    def api(self, profile: Profile) -> BatchAPI:
        return self.connect(profile).batches(self.notifier.notice)

    def usage_for(self, job: JobRow) -> UsageFor:
        """(model, status, usage) -> the usage-log entry at batch prices (cached input at
        its own rate, reasoning tokens counted)."""
        return _BatchUsage(self.config, job.profile)


class _BatchUsage:
    """A job's usage-log entries at batch prices, and the windows reports are judged by."""

    def __init__(self, config: Config, profile: str) -> None:
        self.config = config
        self.profile = profile

    def __call__(self, model: str, status: str, u: Usage, /) -> UsageRecord:
        from chatcli.store import UsageRecord

        info = self.config.model_info(model)
        p, c = u.prompt_tokens, u.completion_tokens
        cost = batch_cost_usd(info, p, c, u.cached_tokens)
        ok: Status = "ok" if status == "ok" else "error"
        return UsageRecord(
            model, self.profile, "batch", ok, p, c, estimated=u.estimated, cost_usd=cost,
            cached_tokens=u.cached_tokens, reasoning_tokens=u.reasoning_tokens,
        )  # fmt: skip

    def window(self, model: str, /) -> int | None:
        return self.config.model_info(model).context_window


@contextmanager
def _open(environment: Environment, invoked: Invocation) -> Iterator[Context]:
    from chatcli.store import open_default

    with open_default() as store:
        ctx = Context(environment, invoked.config, store, invoked.debug)
        try:
            yield ctx
        finally:
            ctx.close()


# -- submit -----------------------------------------------------------------------------------


def builder_for(
    env: Env, remote_mode: bool, opts: SubmitOptions | None = None, store: Store | None = None
) -> Builder:
    """A builder for ``env``'s profile: Azure bodies name deployments; prices are batch ones
    for the Batch API and normal ones for the local runner; a profile on the Responses API
    (for the job's model, ``store`` saying what the endpoint was found to take) gets
    Responses lines."""
    from chatcli.features.batch.inputs import Builder
    from chatcli.features.batch.route import on_responses
    from chatcli.features.schema.batch import Resolver
    from chatcli.pricing import batch_cost_usd
    from chatcli.providers import batch_line

    profile = env.profile
    line = batch_line(profile)
    price_fn = batch_cost_usd if remote_mode else cost_usd

    def price(model: str, p: int, c: int) -> float | None:
        return price_fn(env.config.model_info(model), p, c)

    return Builder(
        default_model=env.model,
        system=profile.system,
        temperature=profile.temperature,
        max_tokens=profile.max_tokens,
        chat_path=line.chat_path,
        deployment=profile.batch_deployment if line.deployments and remote_mode else (lambda m: m),
        model_info=env.config.model_info,
        price=price,
        schemas=Resolver(
            env.config.schemas,
            env.config.path.parent,
            opts.schema if opts else None,
            opts.schema_multi if opts else False,
        ),
        responses_path=line.responses_path if on_responses(profile, env.model, store) else None,
        store=profile.store,
        completion=completion_params(profile.name, env.config.model_info, store),
    )


def completion_params(
    profile: str, model_info: Callable[[str], ModelInfo], store: Store | None
) -> Callable[[str], bool]:
    """model -> whether its lines take max_completion_tokens and no temperature: a reasoning
    model, or one this profile's endpoint refused ``max_tokens``/``temperature`` for before
    (``providers/quirks.py``: what ``ask`` learnt, a batch file cannot learn line by line)."""
    from chatcli.providers.quirks import COMPLETION_PARAMS, Quirks

    quirks = Quirks(store)
    learnt: dict[str, bool] = {}

    def completion(model: str) -> bool:
        if model not in learnt:
            learnt[model] = bool(model_info(model).reasoning) or (
                quirks.get(profile, model, "params") == COMPLETION_PARAMS
            )
        return learnt[model]

    return completion


def submit(environment: Environment, env: Env, opts: SubmitOptions) -> None:
    """Build the job, show the estimate, confirm, then hand it to the provider (or run it)."""
    from chatcli.features.batch.inputs import check_paths, read_inputs

    paths = check_paths(opts.inputs, notifier_for(environment).note)
    from chatcli.features.usage import budget

    with _open(environment, Invocation(env.config, debug=env.debug)) as ctx:
        ctx.over_budget = opts.over_budget
        builder = builder_for(env, remote_mode=not opts.local, opts=opts, store=ctx.store)
        inputs = read_inputs(paths, opts.prompt, opts.column, ctx.notifier.note)
        if opts.dry_run:
            _dry_run(environment, builder, inputs, remote_mode=not opts.local)
            return
        budget.check(ctx.store, env.profile, over_budget=opts.over_budget, warn=ctx.notifier.note,
                     model=env.model, model_info=env.config.model_info)  # fmt: skip
        ctx.prepare(env.profile)  # no key (or any config problem): said before a job is made
        mode = "local" if opts.local else "remote"
        # prices are looked up while the requests are stored, inside one write transaction:
        # the price cache is read (and, once per installed version, written) before it
        env.config.model_info(env.model)
        with ctx.jobs.draft(env.profile.name, env.model, mode) as draft:
            draft.add(builder.build(inputs))
            t = builder.totals
            draft.finish(t.input_hash, t.requests, t.parts)
        job = ctx.jobs.get(draft.name)
        if job.total == 0:
            ctx.jobs.delete(job.id)
            raise UsageError("the inputs hold no requests")
        twin = None if opts.new else ctx.jobs.unfinished_like(job)
        if twin is not None and opts.local and twin.mode != "local":
            # --local never resumes a job on the provider's Batch API: it runs a job here
            ctx.notifier.note(
                f"job {twin.name} ({twin.state}, on the Batch API) has the same inputs; "
                f"--local makes a job of its own (chatcli batch cancel {twin.name} drops that one)"
            )
            twin = None
        if twin is not None:  # run again (killed, a closed terminal, cron twice): no new job
            ctx.jobs.delete(job.id)
            out(environment, twin.name + "\n", flush=True)
            ctx.notifier.note(
                f"resuming job {twin.name} ({twin.state}): the same inputs, model, parameters "
                "and profile; --new submits a second job"
            )
            _advance(ctx, twin, opts.concurrency, follow=False, yes=opts.yes)
            return
        ctx.notifier.note(estimate.describe(builder.totals, remote_mode=mode == "remote"))
        try:
            estimate.confirm(environment, builder.totals, env.profile, opts.yes,
                             hint="pass --yes to submit anyway")  # fmt: skip
        except BaseException:
            ctx.jobs.delete(job.id)
            raise
        ctx.jobs.set_state(job.id, "submitting")
        out(environment, job.name + "\n", flush=True)
        ctx.notifier.note(f"job {job.name}: {job.total} requests")
        _submit_new(ctx, job, opts.concurrency, yes=opts.yes)


def _submit_new(ctx: Context, job: JobRow, concurrency: int, *, yes: bool) -> None:
    """Advance a job just made. One that could not be submitted at all, for a reason a run
    again would meet too (the profile's key or config, a refused key), nothing of it sent or
    answered, is marked failed with that reason instead of staying "submitting" or "running"
    for ever; a network error or an interruption leaves it to resume (``batch wait``)."""
    try:
        _advance(ctx, ctx.jobs.get(job.name), concurrency, follow=False, yes=yes)
    except APIError as exc:
        # the endpoint's Files/Batch API failed (5xx, after the retries) before any part of a
        # remote job reached it: a job `batch wait` would only fail again on is failed, with
        # the way to run it here (a gateway whose Files API is broken or not set up)
        broken = exc.status is not None and exc.status >= 500
        if job.mode == "remote" and broken and _untouched(ctx, job):
            reason = f"not submitted: {exc.message}"
            ctx.jobs.fail_pending(job.id, reason)
            ctx.jobs.refresh_counts(job.id)
            ctx.jobs.set_state(job.id, "failed", reason)
            exc.hint = exc.hint or (
                f"job {job.name} failed before anything was sent; the same `batch submit` with "
                "--local runs it here, request by request, at normal prices"
            )
        raise
    except (ConfigError, AuthError) as exc:
        # a refused key on the local runner: its requests were sent and refused, so they stay
        # pending, for `batch wait` once the key is fixed (the runner's hint says so)
        resumable = isinstance(exc, AuthError) and job.mode == "local"
        if not resumable and _untouched(ctx, job):
            reason = f"not submitted: {exc.message}"
            ctx.jobs.fail_pending(job.id, reason)
            ctx.jobs.refresh_counts(job.id)
            ctx.jobs.set_state(job.id, "failed", reason)
        raise


def _untouched(ctx: Context, job: JobRow) -> bool:
    """Nothing of ``job`` reached the provider as a batch, and no request was answered."""
    if any(p.step in ("creating", "created", "collected") for p in ctx.jobs.parts(job.id)):
        return False
    return ctx.jobs.refresh_counts(job.id) == (0, 0)


def _dry_run(environment: Environment, builder: Builder, inputs: Any, *, remote_mode: bool) -> None:
    """Write the JSONL the provider would get into the current directory; send nothing; the
    estimate at the prices the job would pay (batch ones, or normal ones with ``--local``)."""
    from chatcli.features.batch.route import wire_line

    written: list[Path] = []
    out = None
    current = 0
    try:
        for request in builder.build(inputs):
            if request.part != current:
                if out is not None:
                    out.close()
                current = request.part
                suffix = "" if current == 1 else f"-part{current}"
                written.append(Path(f"{DRY_RUN_NAME}{suffix}.jsonl").resolve())
                out = written[-1].open("w", encoding="utf-8")
            assert out is not None
            out.write(wire_line(request.line) + "\n")
    finally:
        if out is not None:
            out.close()
    note = notifier_for(environment).note
    note(estimate.describe(builder.totals, remote_mode=remote_mode))
    if len(written) > 1:
        first = written[0].with_name(written[0].stem + "-part1.jsonl")
        written[0].rename(first)
        written[0] = first
    for path in written:
        note(f"dry run: wrote {path} (nothing was sent)")


# -- moving a job on ----------------------------------------------------------------------------


def _advance(
    ctx: Context, job: JobRow, concurrency: int, *, follow: bool, yes: bool = False
) -> JobRow:
    """Take ``job`` as far as it goes: finish submitting; run it locally or follow it (one
    process at a time per job). ``yes``: the ``--yes`` of the command, for a job that has to
    run locally after all (``_to_local``)."""
    if job.state == "draft":
        raise UsageError(f"job {job.name} was never confirmed", hint="submit it again")
    if job.state in FINAL:
        return job
    with ctx.jobs.running(job.id, job.name):
        return _advance_held(ctx, ctx.jobs.get(job.name), concurrency, follow=follow, yes=yes)


def _advance_held(
    ctx: Context, job: JobRow, concurrency: int, *, follow: bool, yes: bool
) -> JobRow:
    if job.state in FINAL:  # finished by the runner before us
        return job
    profile = ctx.profile(job)
    if job.mode == "remote" and job.state == "submitting":
        api = ctx.api(profile)
        try:
            remote.submit_parts(ctx.jobs, job, api, ctx.notifier.note)
        except APIError as exc:
            if not _no_batch_api(exc, missing_is_404=api.line.missing_is_404):
                raise
            _to_local(ctx, job, profile, exc, yes)
        else:
            ctx.jobs.set_state(job.id, "running")
            if not follow:
                ctx.notifier.note(f"submitted; follow it with: chatcli batch wait {job.name}")
                return ctx.jobs.get(job.name)
        job = ctx.jobs.get(job.name)
    if job.mode == "local":
        return _run_local(ctx, job, profile, concurrency)
    return _follow(ctx, job, once=not follow)


_NOT_SET_UP = re.compile(
    r"files?[_ ]settings|\bfiles?\b.{0,40}\bnot (?:set|configured|supported|implemented|enabled)"
    r"|not (?:supported|implemented|configured|enabled)\b.{0,40}\bfiles?\b",
    re.IGNORECASE | re.DOTALL,
)
"""An answer saying the endpoint has no Files (Batch) API set up: LiteLLM without
``files_settings`` answers 500 ``files_settings is not set, set it on your config.yaml``."""


def _no_batch_api(exc: APIError, *, missing_is_404: bool) -> bool:
    """Whether ``exc`` says the endpoint has no Files/Batch API (the job can run locally):
    404 where that means a missing route, 405/501 (no such method or route), or a 4xx/5xx
    whose message says files are not set up (a gateway without a Files API)."""
    if exc.status == 404:
        return missing_is_404
    if exc.status in (405, 501):
        return True
    return exc.status is not None and exc.status >= 400 and bool(_NOT_SET_UP.search(exc.message))


def _to_local(ctx: Context, job: JobRow, profile: Profile, exc: APIError, yes: bool) -> None:
    """The endpoint has no Batch API: the job can run here, at normal prices, so it is priced
    again and ``confirm_above_usd`` asked again before any request is sent. Refused, the job
    stays as it is (nothing was sent): ``batch wait JOB --yes``, or the same ``submit`` with
    ``--yes``, runs it."""
    ctx.notifier.note(
        f"{profile.name} has no Batch API ({exc.message}): the job can run here, request by "
        "request, at normal prices"
    )
    totals = estimate.local_totals(ctx.jobs, job, ctx.config.model_info)
    ctx.notifier.note(estimate.describe(totals, remote_mode=False))
    estimate.confirm(ctx.environment, totals, profile, yes,
                     hint=f"nothing was sent; chatcli batch wait {job.name} --yes "
                          "runs it here")  # fmt: skip
    ctx.notifier.note(f"{job.name}: running the job locally")
    ctx.jobs.set_mode(job.id, "local")


def _follow(ctx: Context, job: JobRow, *, once: bool) -> JobRow:
    """Poll the provider with backoff until every part is collected (or once)."""
    profile = ctx.profile(job)
    api = ctx.api(profile)
    usage_for = ctx.usage_for(job)
    delay = POLL_START
    clock = ctx.environment.clock
    started = clock.monotonic()
    last = ""
    while True:
        parts = remote.refresh(ctx.jobs, job, api, usage_for)
        if all(p.step == "collected" for p in parts):
            job = _close(ctx, job, parts, hint=api.line.failure_hint)
            ctx.notifier.end_line()
            return job
        done = sum(p.completed for p in parts)
        failed = sum(p.failed for p in parts)
        status = ", ".join(sorted({p.status or p.step for p in parts}))
        line = f"{done}/{job.total} completed, {failed} failed · {_clock(ctx, started)} · {status}"
        if ctx.notifier.tty:
            ctx.notifier.notice(Notice(f"{job.name}: {line}", key="progress"))
        elif status != last:
            ctx.notifier.note(f"{job.name}: {line}")
        last = status
        if once:
            ctx.notifier.end_line()
            return ctx.jobs.get(job.name)
        clock.sleep(delay)
        delay = min(delay * POLL_GROWTH, POLL_MAX)


def _clock(ctx: Context, started: float) -> str:
    seconds = int(ctx.environment.clock.monotonic() - started)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _close(ctx: Context, job: JobRow, parts: list[Any], *, hint: str | None) -> JobRow:
    """Every part collected: the job's final state from its parts' provider statuses, and
    the local runner's rule (``outcome``): no request answered is a failed job."""
    done, failed = ctx.jobs.refresh_counts(job.id)
    statuses = {p.status for p in parts}
    errors = [p.error for p in parts if p.error]
    if statuses == {"failed"} or (done == 0 and "failed" in statuses):
        ctx.jobs.set_state(job.id, "failed", errors[0] if errors else "the batch failed")
    elif job.state == "cancelling" or "cancelled" in statuses:
        ctx.jobs.set_state(job.id, "cancelled")
    elif done == 0 and failed:
        ctx.jobs.set_state(job.id, "failed", every_failed([_first_error(ctx, job)]))
    else:
        ctx.jobs.set_state(job.id, "done")
    job = ctx.jobs.get(job.name)
    if job.state == "failed":
        raise failure(job, hint)
    return job


def _first_error(ctx: Context, job: JobRow) -> str:
    """The error of ``job``'s first failed request (for a job none of whose was answered)."""
    for row in ctx.jobs.results(job.id):
        if row.state != "done":
            return row.error or row.state
    return "no reason given"


def _run_local(ctx: Context, job: JobRow, profile: Profile, concurrency: int) -> JobRow:
    from chatcli.features.batch.local import LocalRunner

    if job.state == "submitting":
        ctx.jobs.set_state(job.id, "running")
    done, failed = ctx.jobs.refresh_counts(job.id)
    counts = [done, failed]
    started = ctx.environment.clock.monotonic()
    tick = [0]

    def progress(ok: int, bad: int) -> None:
        counts[0] += ok
        counts[1] += bad
        n = counts[0] + counts[1]
        line = f"{job.name}: {counts[0]}/{job.total} completed, {counts[1]} failed · " + _clock(
            ctx, started
        )
        if ctx.notifier.tty:
            ctx.notifier.notice(Notice(line + " · local", key="progress"))
        elif n == job.total or n * 10 // job.total != tick[0]:
            tick[0] = n * 10 // job.total
            ctx.notifier.note(line + " · local")

    provider = ctx.connect(profile)
    runner = LocalRunner(
        ctx.jobs, job, provider, concurrency=concurrency,
        requests_per_minute=profile.requests_per_minute, clock=ctx.environment.clock,
        info=ctx.config.model_info,
        progress=progress, notice=ctx.notifier.notice,
    )  # fmt: skip
    try:
        runner.run()
    finally:
        provider.close()
        ctx.notifier.end_line()
    everything_failed = counts[0] == 0 and counts[1] > 0
    if ctx.jobs.settle(job.id, job.name, "failed" if everything_failed else "done"):
        job = ctx.jobs.get(job.name)
        if job.state == "failed":  # why, for the status and the commands that come later
            reason = every_failed(runner.errors or [_first_error(ctx, job)])
            with suppress(StoreBusy, StoreFull):
                ctx.jobs.set_state(job.id, "failed", reason)
            job = dataclasses.replace(job, error=reason)
    else:
        current = ctx.jobs.get(job.name)  # its state waits in the journal: what it will be
        state = current.state
        if state == "running":
            state = "failed" if everything_failed else "done"
        job = dataclasses.replace(current, state=state, completed=counts[0], failed=counts[1])
    _failures(ctx, job, runner.errors)
    return job


def _failures(ctx: Context, job: JobRow, errors: list[ChatcliError]) -> None:
    """Failed requests are said, with the way to send them again; a local run in which every
    request failed ends as the remote one does (``failure``: exit 6 when the network failed
    them all, else 5), not a silent 0."""
    if not job.failed:
        return
    hint = f"see: chatcli batch results {job.name}; chatcli batch retry {job.name} sends them again"
    if job.completed:
        plural = "s" if job.failed != 1 else ""
        ctx.notifier.note(f"{job.name}: {job.failed} request{plural} failed; {hint}")
        return
    if not (job.error or "").startswith((EVERY_FAILED, NETWORK_FAILED)):
        job = dataclasses.replace(job, error=every_failed(errors))
    raise failure(job)


# -- the other commands -------------------------------------------------------------------------


def wait(
    environment: Environment, invoked: Invocation, name: str, concurrency: int,
    over_budget: bool = False, yes: bool = False,
) -> None:  # fmt: skip
    """Finish submitting if needed, then follow (or locally run) the job to its end; a job
    that ended ``failed`` (now or before) ends the command with its error."""
    with _open(environment, invoked) as ctx:
        ctx.over_budget = over_budget
        job = _advance(ctx, ctx.jobs.get(name), concurrency, follow=True, yes=yes)
        if job.state == "failed":
            raise failure(job)
        ctx.notifier.note(
            f"{job.name}: {job.state}: {job.completed} completed, {job.failed} failed; "
            f"results: chatcli batch results {job.name}"
        )


def status(environment: Environment, invoked: Invocation, name: str | None) -> None:
    """Print a job's state, refreshed from the provider while it runs."""
    with _open(environment, invoked) as ctx:
        job = _peek(ctx, ctx.jobs.get(name))
        completed, failed = ctx.jobs.shown_counts(job.id)
        job = dataclasses.replace(ctx.jobs.get(job.name), completed=completed, failed=failed)
        out(environment, f"job:      {job.name}\n")
        out(environment, f"state:    {job.state} ({job.mode})\n")
        out(environment, f"profile:  {job.profile}, model {job.model}\n")
        out(
            environment, f"requests: {job.total} ({job.completed} completed, {job.failed} failed)\n"
        )
        out(environment, f"created:  {_local(job.created_at)}\n")
        if job.finished_at:
            out(environment, f"finished: {_local(job.finished_at)}\n")
        out(environment, f"input:    sha256 {job.input_hash[:16]}\n")
        if job.retry_of:
            out(environment, f"retry of: {job.retry_of}\n")
        if job.error:
            out(environment, f"error:    {job.error}\n")
        if job.mode == "remote":
            for p in ctx.jobs.parts(job.id):
                where = p.batch_id or p.file_id or "-"
                out(
                    environment,
                    f"part {p.part}:   {where} {p.status or p.step}, "
                    f"{p.completed}/{p.requests} completed, {p.failed} failed\n",
                )
        if job.state == "submitting":
            out(environment, f"hint: chatcli batch wait {job.name}  # finishes the submit\n")
        if job.state == "failed":
            raise failure(job)


def _peek(ctx: Context, job: JobRow) -> JobRow:
    """A running remote job refreshed once from the provider (a failed batch is shown, not
    raised: the job's state and error say what happened; an answer that could not be read
    leaves the last known state, and a note says it is not fresh)."""
    if job.mode == "remote" and job.state in ("running", "cancelling"):
        try:
            _follow(ctx, job, once=True)
        except APIError as exc:
            if ctx.jobs.get(job.name).state == job.state:  # not the job's own end
                ctx.notifier.note(f"{job.name}: not refreshed, the last known state: {exc.message}")
    return ctx.jobs.get(job.name)


def _local(when: Any) -> str:
    return str(when.astimezone().strftime("%Y-%m-%d %H:%M:%S"))


def list_jobs(environment: Environment, invoked: Invocation, json_out: bool) -> None:
    """Jobs, newest first: one line each (or one JSON array)."""
    with _open(environment, invoked) as ctx:
        jobs = ctx.jobs.all()
    if json_out:
        rows = [
            {
                "name": j.name, "state": j.state, "mode": j.mode, "profile": j.profile,
                "model": j.model, "total": j.total, "completed": j.completed,
                "failed": j.failed, "created_at": j.created_at.isoformat(),
                "finished_at": j.finished_at.isoformat() if j.finished_at else None,
                "retry_of": j.retry_of,
            }
            for j in jobs
        ]  # fmt: skip
        out(environment, json_text(rows, indent=2) + "\n")
        return
    if not jobs:
        err(environment, "chatcli: no batch jobs yet")
    for j in jobs:
        out(
            environment,
            f"{j.name}  {j.state:<10} {j.mode:<6} {j.completed}/{j.total} done, "
            f"{j.failed} failed  {_local(j.created_at)}  {j.profile}/{j.model}\n",
        )


def results(
    environment: Environment,
    invoked: Invocation,
    name: str,
    out_dir: Path | None,
    jsonl: Path | None,
) -> None:
    """Write a finished job's results in input order; list the failed requests."""
    from chatcli.features.batch import results as write
    from chatcli.features.schema.batch import structured

    with _open(environment, invoked) as ctx:
        job = _peek(ctx, ctx.jobs.get(name))
        if job.state not in FINAL:
            raise UsageError(
                f"job {job.name} is still {job.state}",
                hint=f"chatcli batch wait {job.name}",
            )
        rows = _with_retries(ctx.jobs.results(job.id), _retried(ctx, job))
        json_rows = structured(ctx.jobs.lines(job.id))  # their answers go under "data"
        if out_dir is not None:
            failed = write.write_files(rows, out_dir, job.total, json_rows)
            ctx.notifier.note(f"wrote {job.total - len(failed)} answer file(s) to {out_dir}")
        elif jsonl is not None:
            with write.output_file(jsonl) as f:
                failed = write.write_jsonl(rows, lambda line: emit(environment, line, f),
                                           json_rows)  # fmt: skip
            ctx.notifier.note(f"wrote {job.total} result(s) to {jsonl}")
        else:
            failed = write.write_jsonl(rows, lambda line: out(environment, line), json_rows)
        if failed and len(failed) == job.total and job.state != "cancelled":
            # not one answer (retried ones count): the job failed, and the command says so
            write.report_failures(environment, failed, job.name, hint=False)
            if job.state != "failed":  # one that ended before this rule: "done"
                job = dataclasses.replace(job, error=every_failed([failed[0].error or "?"]))
            raise failure(job, results_said=True)
        write.report_failures(environment, failed, job.name)


def _retried(ctx: Context, job: JobRow) -> dict[str, ResultRow]:
    """The answers that ``batch retry`` got for ``job``'s failed requests, by input id (a
    retry of a retry comes later, so it wins)."""
    found: dict[str, ResultRow] = {}
    for again in ctx.jobs.retries_of(job.name):
        if again.state not in FINAL:
            continue
        found.update((r.input_id, r) for r in ctx.jobs.results(again.id) if r.state == "done")
        found.update(_retried(ctx, again))
    return found


def _with_retries(rows: Iterator[ResultRow], retried: dict[str, ResultRow]) -> Iterator[ResultRow]:
    """``rows`` with each failed request replaced by its retried answer, in its place."""
    for row in rows:
        again = retried.get(row.input_id) if row.state != "done" else None
        yield row if again is None else dataclasses.replace(again, idx=row.idx)


def retry(
    environment: Environment, invoked: Invocation, name: str, yes: bool, concurrency: int,
    over_budget: bool = False,
) -> None:  # fmt: skip
    """A new job made of the failed requests of ``name``, priced and confirmed as ``submit``
    is (``confirm_above_usd``; refused off a terminal without ``yes``), then submitted the
    same way."""
    with _open(environment, invoked) as ctx:
        ctx.over_budget = over_budget
        old = ctx.jobs.get(name)
        if old.state not in FINAL:
            raise UsageError(f"job {old.name} is still {old.state}", hint="wait for it first")
        failed = list(ctx.jobs.failed_requests(old.id))
        if not failed:
            raise UsageError(f"job {old.name} has no failed requests")
        from chatcli.features.usage import budget  # refused before a new job is made

        budget.check(ctx.store, ctx.profile(old), over_budget=over_budget,
                     warn=ctx.notifier.note, model=old.model,
                     model_info=ctx.config.model_info)  # fmt: skip
        ctx.prepare(ctx.profile(old))  # no key: said before the new job is made
        # priced and confirmed as `submit` is (confirm_above_usd), before the new job is made
        remote_mode = old.mode == "remote"
        again = ((model, line) for _input_id, model, line in failed)
        totals = estimate.stored_totals(again, ctx.config.model_info, remote_mode=remote_mode)
        ctx.notifier.note(estimate.describe(totals, remote_mode=remote_mode))
        estimate.confirm(environment, totals, ctx.profile(old), yes,
                         hint="nothing was sent; pass --yes to retry anyway")  # fmt: skip
        parts = 1
        with ctx.jobs.draft(old.profile, old.model, old.mode, retry_of=old.name) as draft:
            new = []
            for idx, (input_id, model, line) in enumerate(failed):
                obj = json.loads(line)
                obj["custom_id"] = f"r{idx}"
                new.append(NewRequest(idx, 1, input_id, model, json.dumps(obj, ensure_ascii=False)))
            draft.add(new)
            size = sum(len(r.line.encode()) + 1 for r in new)
            digest = hashlib.sha256("\n".join(r.line for r in new).encode()).hexdigest()
            draft.finish(digest, len(new), [(parts, len(new), size)])
        job = ctx.jobs.get(draft.name)
        ctx.jobs.set_state(job.id, "submitting")
        out(environment, job.name + "\n", flush=True)
        ctx.notifier.note(f"job {job.name}: retrying {job.total} failed request(s) of {old.name}")
        _submit_new(ctx, job, concurrency, yes=yes)


def cancel(environment: Environment, invoked: Invocation, name: str) -> None:
    """Cancel a job: its provider batches, or the local runner's remaining requests."""
    with _open(environment, invoked) as ctx:
        job = ctx.jobs.get(name)
        if job.state in FINAL:
            raise UsageError(f"job {job.name} is already {job.state}")
        if job.mode == "local" or job.state == "submitting":
            ctx.jobs.fail_pending(job.id, "cancelled before it was sent")
            if job.mode == "remote":
                api = ctx.api(ctx.profile(job))
                for p in ctx.jobs.parts(job.id):
                    if p.batch_id and p.step == "created":
                        api.cancel(p.batch_id)
            ctx.jobs.refresh_counts(job.id)
            ctx.jobs.set_state(job.id, "cancelled")
            ctx.notifier.note(f"{job.name}: cancelled")
            return
        api = ctx.api(ctx.profile(job))
        for p in ctx.jobs.parts(job.id):
            if p.batch_id and p.step == "created":
                answer = api.cancel(p.batch_id)
                ctx.jobs.update_part(job.id, p.part, status=str(answer.get("status")))
        ctx.jobs.set_state(job.id, "cancelling")
        ctx.notifier.note(
            f"{job.name}: cancelling; finished requests stay available: "
            f"chatcli batch wait {job.name}"
        )
