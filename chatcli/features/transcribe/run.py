"""What ``chatcli transcribe`` does: read the audio, split it if too big, upload, join, print.

Video, or audio in a container the endpoints refuse, has its audio track extracted first
(``extract``). Pieces of a split file are transcribed one after the other and joined in the
requested format: plain text one piece per line; ``json`` texts joined with a space; ``srt`` and
``vtt`` cues shifted by the piece's start time (and srt cues renumbered); ``verbose_json``
segments (and words) shifted, renumbered and concatenated, durations summed. A piece that starts
with an overlap (cut outside any silence) loses the cues that lie in the overlap, and in text
the words that repeat the end of the piece before. Several FILEs are transcribed one after the
other; one that fails does not stop the others, and the exit code says that something failed.
A split file whose later piece fails keeps the transcripts of the pieces already paid for
(``usage.kept``, in the database): the same command run again uploads only the pieces missing.
A transcript whose ``-o`` file cannot be written (a full disk) keeps its pieces' transcripts the
same way (``features.paid``): the same command again writes it without uploading anything.

Inputs are read from their files (``source``): ffmpeg works from the path, and one piece at a
time is in memory, never a whole recording.

ffmpeg runs die with chatcli, and the working folders of killed runs are removed by the next
(``work``).

``CHATCLI_UPLOAD_LIMIT`` (bytes) lowers the 25 MiB split threshold. It is a test and debugging
knob, also handy for a relay or gateway with a smaller upload limit than OpenAI's.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import threading
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import ChatcliError, Interrupted, UsageError
from chatcli.events import Notice
from chatcli.features.outputs import check_folder, prepare_file, write_output
from chatcli.features.pacing import Limiter
from chatcli.features.transcribe import work
from chatcli.features.transcribe.formats import EXTENSIONS
from chatcli.features.transcribe.source import Input, not_audio, open_input
from chatcli.features.transcribe.split import UPLOAD_LIMIT, AudioKind, Piece, size_text, split
from chatcli.features.transcribe.subtitles import join
from chatcli.features.workers import Workers
from chatcli.output import flush_out, notifier_for, out
from chatcli.settings.resolve import Env

if TYPE_CHECKING:
    from chatcli.features.usage.kept import Kept
    from chatcli.pricing import ModelInfo
    from chatcli.providers.base import Provider
    from chatcli.store import Status, Store

DEFAULT_MODEL = "gpt-transcribe"
TIMESTAMPS_MODEL = "whisper-1"
"""Defaults without -m: gpt-transcribe (current) for text and json; whisper-1, the only model
with timestamps and translation, for srt, vtt, verbose_json and --translate (OpenAI retires it
on 2027-02-26 and names no replacement for those yet)."""
TEXT_ONLY = ("gpt-transcribe", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
"""Models that answer only ``json`` and ``text`` (no srt, vtt or verbose_json)."""
LIMIT_ENV = "CHATCLI_UPLOAD_LIMIT"


@dataclass
class TranscribeOptions:
    """The parsed options of ``transcribe``."""

    files: list[str]
    response_format: str = "text"
    language: str | None = None
    prompt: str | None = None
    translate: bool = False
    output: Path | None = None
    concurrency: int = 4  # inputs transcribed at the same time, when there are several
    force: bool = False  # redo inputs whose transcript already exists in the -o folder
    over_budget: bool = False  # go on although a budget is spent


@dataclass
class _Pace:
    """What the uploads of one run share: the command's environment, the provider (one, so
    Ctrl-C can cut every upload in flight), the profile's request rate, and the stop flag."""

    environment: Environment
    provider: Provider
    limiter: Limiter
    stop: threading.Event
    progress: bool  # per-piece progress lines (one input only: several would interleave)
    store: Store  # the command's database: the usage log
    kept: Kept  # piece transcripts an earlier, failed run paid for


def run(environment: Environment, env: Env, opts: TranscribeOptions) -> None:
    """Run one ``transcribe``; raises chatcli errors for the funnel in ``__main__``."""
    if opts.translate and opts.language:
        raise UsageError(
            "--language does not apply with --translate (the translation is always English)",
            hint="drop --language; the spoken language is detected",
        )
    work.sweep()  # the working folders of runs killed with SIGKILL
    names: list[str | None] = list(opts.files) or [None]
    with contextlib.ExitStack() as stack:
        folder = inp = None
        if len(names) == 1:
            folder = Path(stack.enter_context(work.folder()))
            inp = open_input(environment, names[0], folder)
        _run(environment, env, opts, names, inp, folder)


def _run(
    environment: Environment,
    env: Env,
    opts: TranscribeOptions,
    names: list[str | None],
    inp: Input | None,
    folder: Path | None,
) -> None:
    """``run`` once the one input (``inp``, in its working ``folder``) is open."""
    from chatcli.features.usage import budget
    from chatcli.features.usage.kept import Kept
    from chatcli.store import open_default

    one = inp is not None
    model = _model(env, opts)
    check_model(model, opts.response_format, translate=opts.translate)
    from chatcli.retirements import notice_on

    retiring = notice_on(model, env.profile)  # as ask/chat say it
    if retiring is not None:
        notifier_for(environment).note(retiring)
    if one:
        prepare_file(opts.output)
    with open_default() as store:
        # every upload passes the budgets; judged once now, before any audio is prepared
        provider = budget.connect(env.profile, env.config.model_info, clock=environment.clock,
                                  debug=env.debug, store=store,
                                  warn=notifier_for(environment).note,
                                  over_budget=opts.over_budget, model=model)  # fmt: skip
        limiter = Limiter(env.profile.requests_per_minute, environment.clock)
        pace = _Pace(environment, provider, limiter, threading.Event(), one, store,
                     Kept("transcribe"))  # fmt: skip
        try:
            if inp is not None and folder is not None:
                text, paid = transcribe_one(env, model, opts, inp, folder, pace)
                failed = _deliver(pace, text, paid, opts.output)
                if failed is not None:
                    raise failed
            else:
                _several(environment, env, pace, model, opts, [n for n in names if n is not None])
        finally:
            provider.close()


def _targets(folder: Path | None, names: list[str], fmt: str) -> dict[str, Path]:
    """Each input's file in ``-o DIR``: its stem, made distinct (``talk.mp3`` and ``talk.wav``,
    or ``a/talk.mp3`` and ``b/talk.mp3``, get ``talk`` and ``talk-2``)."""
    from chatcli.features.outputs import unique_stems

    stems = unique_stems([Path(n).stem or "stdin" for n in names])
    return {
        n: (folder or Path(".")) / f"{stem}.{EXTENSIONS[fmt]}"
        for n, stem in zip(names, stems, strict=True)
    }


def _several(
    environment: Environment,
    env: Env,
    pace: _Pace,
    model: str,
    opts: TranscribeOptions,
    names: list[str],
) -> None:
    """Each input on its own, ``opts.concurrency`` at a time within the profile's rate: to
    stdout under a heading per input (in input order), or one file per input in ``-o DIR``
    (written as each finishes; one that exists is skipped unless ``--force``). A failed input
    does not stop the others; the exit code says that something failed."""
    folder = opts.output
    check_folder(folder, "with several inputs give a directory")  # made now, before paying
    notifier = notifier_for(environment)
    names = distinct(names)  # the same file twice is transcribed (and paid) once
    targets = _targets(folder, names, opts.response_format)
    todo = names
    if folder is not None and not opts.force:
        todo = [n for n in names if not targets[n].exists()]
        for name in names:
            if name not in todo:
                notifier.note(f"{name}: skipped ({targets[name]} exists; --force redoes it)")
    texts: dict[str, str] = {}
    paid: dict[str, dict[str, str]] = {}
    failed: list[tuple[str, ChatcliError]] = []
    settled: set[str] = set()
    printed = 0

    def print_in_order() -> None:
        """Headings and transcripts go to stdout in input order, as soon as they can."""
        nonlocal printed
        while printed < len(todo) and todo[printed] in settled:
            name = todo[printed]
            if name in texts:
                out(environment, f"# {name}\n\n{texts[name]}\n")
                flush_out(environment)
                pace.kept.forget(paid[name])  # delivered: kept pieces are used up
            printed += 1

    def one(name: str) -> tuple[str, dict[str, str]]:
        with work.folder() as tmp:
            inp = open_input(environment, name, Path(tmp))
            return transcribe_one(env, model, opts, inp, Path(tmp), pace)

    workers = max(1, min(opts.concurrency, len(todo)))
    # Ctrl-C: uploads in flight fail now (``Provider.abort``), so the workers end at once
    with Workers(workers, "transcribe", stop=pace.stop, interrupt=pace.provider.abort) as pool:
        futures = {pool.submit(one, name): name for name in todo}
        for done, future in enumerate(as_completed(futures), 1):
            name = futures[future]
            settled.add(name)
            try:
                texts[name], paid[name] = future.result()
            except ChatcliError as exc:
                failed.append((name, exc))
                notifier.note(f"{name}: failed: {exc.message} ({done}/{len(todo)})")
            else:
                notifier.note(f"{name}: done ({done}/{len(todo)})")
                if folder is not None:
                    # the folder went away, a full disk...: kept for the same command again
                    error = _deliver(pace, texts[name], paid[name], targets[name], name)
                    if error is not None:
                        failed.append((name, error))
                        notifier.note(f"{name}: {error.message}")
            if folder is None:
                print_in_order()
    if failed:
        first = failed[0][1]
        raise type(first)(
            f"{len(failed)} of {len(names)} inputs failed", hint=f"first failure: {failed[0][0]}"
        )


def distinct(names: list[str]) -> list[str]:
    """``names`` without the ones naming a file given before, however spelt (``x.wav``,
    ``./x.wav``, its absolute path, a link to it): the same device and inode. ``-`` counts
    once; a name that cannot be looked at is kept by its path (it fails on its own later)."""
    seen: set[object] = set()
    kept: list[str] = []
    for name in names:
        key: object = name
        if name != "-":
            try:
                found = os.stat(name)
                key = (found.st_dev, found.st_ino)
            except (OSError, ValueError):
                key = os.path.abspath(name)
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return kept


def _model(env: Env, opts: TranscribeOptions) -> str:
    if env.asked_model:
        return env.asked_model
    if opts.translate or opts.response_format not in ("json", "text"):
        return TIMESTAMPS_MODEL
    return DEFAULT_MODEL


def check_model(model: str, response_format: str, *, translate: bool = False) -> None:
    """Refuse early, before any upload, what the gpt-*-transcribe family (snapshots too) is
    sure to be refused: srt/vtt/verbose_json (they answer json and text only) and
    ``--translate`` (``/audio/translations`` takes whisper-1 only). Other names pass: a relay
    may serve its own whisper models on both routes."""
    base = model.rsplit("/", 1)[-1].lower()
    if not base.startswith(TEXT_ONLY):
        return
    if translate:
        raise UsageError(
            f"{model} does not translate: the translation route takes only {TIMESTAMPS_MODEL}",
            hint=f"use -m {TIMESTAMPS_MODEL} for --translate (or drop -m)",
        )
    if response_format not in ("json", "text"):
        raise UsageError(
            f"{model} gives only json or text transcripts, not {response_format}",
            hint=f"use -m {TIMESTAMPS_MODEL} for {response_format}",
        )


def transcribe_one(
    env: Env, model: str, opts: TranscribeOptions, inp: Input, folder: Path, pace: _Pace
) -> tuple[str, dict[str, str]]:
    """One input's transcript in the requested format, and its pieces' transcripts by their
    keys (what is kept when the transcript cannot be written). ``folder`` is the input's
    working folder."""
    from chatcli.features.transcribe.extract import prepare

    audio, size, kind, extracted = prepare(inp, folder, not_audio(inp))
    source = inp.source
    if extracted:
        notifier_for(pace.environment).note(
            f"{source}: extracted the audio track ({size_text(size)})"
        )
    pieces = split(audio, size, kind, upload_limit(), source, folder)
    results, keys = _upload(env, model, opts, pieces, kind, inp.stem, pace)
    notifier = notifier_for(pace.environment)
    text = join(
        opts.response_format,
        results,
        [p.start for p in pieces],
        [p.keep_from for p in pieces],
        report=lambda problem: notifier.note(f"{source}: {problem}"),
    )
    if speechless(opts.response_format, text):
        notifier.note(f"no speech found in {source}")
    return text, dict(zip(keys, results, strict=True))


def speechless(fmt: str, text: str) -> bool:
    """Whether a transcript in format ``fmt`` holds no words (silence, music, noise): an
    empty text, a JSON ``text`` that is empty, subtitles without a cue."""
    if fmt in ("json", "verbose_json"):
        import json

        try:
            obj = json.loads(text)
        except ValueError:
            return not text.strip()
        return isinstance(obj, dict) and not str(obj.get("text") or "").strip()
    if fmt in ("srt", "vtt"):
        return "-->" not in text
    return not text.strip()


def upload_limit() -> int:
    """The split threshold: 25 MiB, or ``CHATCLI_UPLOAD_LIMIT`` bytes."""
    raw = os.environ.get(LIMIT_ENV)
    if not raw:
        return UPLOAD_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if limit < 1024:
        raise UsageError(f"{LIMIT_ENV}={raw!r} must be a byte count of at least 1024")
    return limit


def _upload(
    env: Env,
    model: str,
    opts: TranscribeOptions,
    pieces: list[Piece],
    kind: AudioKind,
    stem: str,
    pace: _Pace,
) -> tuple[list[str], list[str]]:
    """Upload each piece in order, within the profile's rate; every request goes into the
    usage log. A piece an earlier, failed run paid for is taken from ``pace.kept``; when a
    piece fails, those done are kept for the next run. The transcripts, and each piece's key
    (the kept ones are dropped once the transcript is delivered: ``_deliver``)."""
    from chatcli.features.usage.kept import digest
    from chatcli.features.usage.media import logged, transcription_cost
    from chatcli.providers.base import AudioRequest

    request = AudioRequest(
        model=model,
        response_format=opts.response_format,
        language=opts.language,
        prompt=opts.prompt,
        translate=opts.translate,
    )
    notifier = notifier_for(pace.environment)
    info = env.config.model_info(model)
    results: list[str] = []
    total = len(pieces)
    asked = (env.profile.name, model, opts.response_format, opts.language, opts.prompt)
    loaded = [piece.load() for piece in pieces[:1]]  # one piece: read once; more: as uploaded
    keys = [
        digest(*asked, str(opts.translate), kind.mime, data)
        for data in (loaded if total == 1 else (piece.load() for piece in pieces))
    ]
    reused = [key for key in keys if pace.kept.get(key) is not None]
    if len(reused) == total:
        what = "transcript" if total == 1 else f"transcripts of all {total} pieces"
        notifier.note(
            f"{stem}: the {what} an earlier run paid for but could not write or finish: "
            "taken from there, nothing uploaded"
        )
    elif reused:
        notifier.note(
            f"{stem}: {len(reused)} of {total} pieces were transcribed (and paid for) by an "
            "earlier run that failed: taken from there, not uploaded again"
        )
    try:
        for index, (piece, key) in enumerate(zip(pieces, keys, strict=True), 1):
            if key in reused:
                results.append(pace.kept.get(key) or "")
                continue
            data = loaded[0] if total == 1 else piece.load()
            name = f"{stem}.{kind.ext}" if total == 1 else f"{stem}-{index}.{kind.ext}"
            pace.limiter.wait(pace.stop)
            if pace.stop.is_set():
                raise Interrupted("interrupted")
            if total > 1 and pace.progress:
                message = f"transcribing piece {index}/{total}"
                if notifier.tty:
                    notifier.notice(Notice(message, key="progress"))
                else:
                    notifier.note(message)
            if piece.seconds is None:  # the audio's own length, read from its bytes
                cost = functools.partial(transcription_cost, info, data)
            else:  # a cut's length, as ffmpeg or the WAV frames give it
                cost = functools.partial(_seconds_cost, info, piece.seconds)
            with logged(pace.store, model, env.profile.name, "transcribe", cost):
                results.append(pace.provider.transcribe(name, data, kind.mime, request))
            del data
            if total > 1:  # the SDK's request objects hold the piece in reference cycles:
                gc.collect()  # freed now, not with 14 others (140 MB of a 300 MB WAV)
    except BaseException:
        _keep_pieces(pace, stem, total, len(results), dict(zip(keys, results, strict=False)))
        raise
    finally:
        notifier.end_line()
    return results, keys


def _seconds_cost(info: ModelInfo, seconds: float, status: Status) -> float | None:
    """An uploaded piece ``seconds`` long: priced by its length when transcribed, else 0."""
    from chatcli.pricing import audio_cost

    return audio_cost(info, seconds) if status == "ok" else 0.0


def _keep_pieces(pace: _Pace, stem: str, total: int, count: int, done: dict[str, str]) -> None:
    """Keep the transcripts of the ``count`` pieces done (paid for; ``done`` by their keys:
    pieces of the same audio share one) when a later one failed, and say so."""
    if not done:
        return
    notifier = notifier_for(pace.environment)
    pieces = "1 piece" if count == 1 else f"{count} pieces"
    if pace.kept.keep(done):
        notifier.note(
            f"{stem}: the transcripts of {pieces} of {total} are kept: the same command again "
            "uploads only the pieces missing"
        )
    else:
        notifier.note(f"{stem}: the transcripts of {pieces} could not be kept (database busy)")


def _deliver(
    pace: _Pace, text: str, paid: dict[str, str], output: Path | None, heading: str | None = None
) -> ChatcliError | None:
    """The transcript to stdout, or written to ``output`` whole or not at all (as ``>``
    would: a FIFO or ``/dev/stdout`` written through); None when delivered, and the pieces'
    kept transcripts are then dropped. One that cannot be written (a full disk, a read-only
    disk) keeps its pieces' transcripts (``paid``) for the same command again, or is printed
    on stdout when even that fails; the error returned says which."""
    from chatcli.features.paid import cannot_write, unwritten

    environment = pace.environment
    if output is None:
        out(environment, text)
        flush_out(environment)
        pace.kept.forget(paid)
        return None
    try:
        write_output(output, text)
    except OSError as exc:
        error = cannot_write(output, exc)
        if not unwritten(pace.kept, paid, error, "the transcript is", "writes it"):
            out(environment, text if heading is None else f"# {heading}\n\n{text}\n")
            flush_out(environment)
            error.message += "; the transcript is printed on stdout instead (it could not be kept)"
        return error
    notifier_for(environment).note(f"wrote {output}")
    pace.kept.forget(paid)
    return None
