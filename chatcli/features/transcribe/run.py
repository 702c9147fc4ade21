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

ffmpeg runs die with chatcli, and the working folders of killed runs are removed by the next
(``work``).

``CHATCLI_UPLOAD_LIMIT`` (bytes) lowers the 25 MiB split threshold. It is a test and debugging
knob, also handy for a relay or gateway with a smaller upload limit than OpenAI's.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli import reading
from chatcli.environment import Environment
from chatcli.errors import ChatcliError, Interrupted, UsageError
from chatcli.events import Notice
from chatcli.features.outputs import check_folder, prepare_file, write_output
from chatcli.features.pacing import Limiter
from chatcli.features.transcribe.formats import EXTENSIONS
from chatcli.features.transcribe.split import UPLOAD_LIMIT, AudioKind, Piece, size_text, split
from chatcli.features.transcribe.subtitles import join
from chatcli.features.workers import Workers
from chatcli.output import flush_out, notifier_for, out
from chatcli.safetext import readable
from chatcli.settings.resolve import Env

if TYPE_CHECKING:
    from chatcli.features.usage.kept import Kept
    from chatcli.providers.base import Provider
    from chatcli.store import Store

DEFAULT_MODEL = "gpt-transcribe"
TIMESTAMPS_MODEL = "whisper-1"
"""Defaults without -m: gpt-transcribe (current) for text and json; whisper-1, the only model
with timestamps and translation, for srt, vtt, verbose_json and --translate (OpenAI retires it
on 2027-02-26 and names no replacement for those yet)."""
TEXT_ONLY = ("gpt-transcribe", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
"""Models that answer only ``json`` and ``text`` (no srt, vtt or verbose_json)."""
LIMIT_ENV = "CHATCLI_UPLOAD_LIMIT"
_BIG = "extract the audio first: ffmpeg -i FILE -vn -ac 1 -b:a 48k talk.mp3"
ACCEPTED = "flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav or webm"


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
    from chatcli.features.transcribe import work
    from chatcli.features.usage import budget
    from chatcli.features.usage.kept import Kept
    from chatcli.store import open_default

    work.sweep()  # the working folders of runs killed with SIGKILL
    names: list[str | None] = list(opts.files) or [None]
    one = len(names) == 1
    data, source, stem = read_input(environment, names[0]) if one else (b"", "", "")
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
            if one:
                _write(environment, transcribe_one(env, model, opts, data, source, stem, pace),
                       opts.output)  # fmt: skip
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
            printed += 1

    def one(name: str) -> str:
        data, source, stem = read_input(environment, name)
        return transcribe_one(env, model, opts, data, source, stem, pace)

    workers = max(1, min(opts.concurrency, len(todo)))
    # Ctrl-C: uploads in flight fail now (``Provider.abort``), so the workers end at once
    with Workers(workers, "transcribe", stop=pace.stop, interrupt=pace.provider.abort) as pool:
        futures = {pool.submit(one, name): name for name in todo}
        for done, future in enumerate(as_completed(futures), 1):
            name = futures[future]
            settled.add(name)
            try:
                texts[name] = future.result()
            except ChatcliError as exc:
                failed.append((name, exc))
                notifier.note(f"{name}: failed: {exc.message} ({done}/{len(todo)})")
            else:
                notifier.note(f"{name}: done ({done}/{len(todo)})")
                if folder is not None:
                    try:
                        _write(environment, texts[name], targets[name])
                    except ChatcliError as exc:  # the folder went away, a full disk...
                        failed.append((name, exc))
                        notifier.note(f"{name}: {exc.message}")
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
    env: Env, model: str, opts: TranscribeOptions, data: bytes, source: str, stem: str, pace: _Pace
) -> str:
    """One input's transcript in the requested format."""
    from chatcli.features.transcribe.extract import prepare

    audio, kind, extracted = prepare(data, source, _not_audio(data, source))
    if extracted:
        notifier_for(pace.environment).note(
            f"{source}: extracted the audio track ({size_text(len(audio))})"
        )
    pieces = split(audio, kind, upload_limit(), source)
    results = _upload(env, model, opts, pieces, kind, stem, pace)
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
    return text


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


def read_input(environment: Environment, file: str | None) -> tuple[bytes, str, str]:
    """The audio bytes (``-`` or None: the environment's stdin), a name for messages, and a
    file stem for the upload name."""
    if file is None or file == "-":
        stdin = environment.stdin
        if stdin is None or (file is None and environment.stdin_isatty):
            raise UsageError(
                "nothing to transcribe: give an audio FILE or pipe audio in",
                hint="chatcli transcribe talk.mp3",
            )
        data = reading.read_stream(stdin.buffer, reading.MEDIA, "piped input", hint=_BIG)
        _refuse_empty(data, "piped input")
        return data, "piped input", "audio"
    path = Path(file)
    data = reading.read_file(path, reading.MEDIA, "an audio file", hint=_BIG)
    shown = readable(str(path))  # a name that is not UTF-8: sent and shown as \xNN
    _refuse_empty(data, shown)
    return data, shown, readable(path.stem) or "audio"


def _refuse_empty(data: bytes, source: str) -> None:
    """An empty input, or a WAV header with no sound after it, is refused before it is paid
    for."""
    if not data:
        raise UsageError(f"{source} is empty: there is no audio to transcribe")
    from chatcli.features.usage.media import wav_audio

    wav = wav_audio(data)
    riff = data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    if (wav is not None and not wav.frames) or (riff and b"data" not in data):
        raise UsageError(f"{source} is empty: a WAV header with no audio after it")


def _not_audio(data: bytes, source: str) -> UsageError:
    """Why ``data`` cannot be transcribed, naming what it is when chatcli knows."""
    from chatcli.inputs import kind_of

    kind = kind_of(data)
    if kind is not None and not kind.startswith("audio"):  # a PDF, an image, an archive...
        hint = (
            "to summarise a document, use `chatcli summarize`"
            if "document" in kind
            else "to ask about an image, use `chatcli ask -f FILE`"
            if kind.startswith("an image")
            else "convert it first, e.g. ffmpeg -i IN out.mp3"
        )
        return UsageError(f"{source} is {kind} (transcription takes {ACCEPTED})", hint=hint)
    head = data[:4096]
    sample = head.decode("utf-8", "replace")
    looks_text = b"\x00" not in head and sample.count("\ufffd") <= len(sample) // 100
    what = "text" if looks_text else "not audio that chatcli recognises"
    hint = (
        "to summarise text, use `chatcli summarize`"
        if looks_text
        else "convert it first, e.g. ffmpeg -i IN out.mp3"
    )
    return UsageError(f"{source} is {what} (transcription takes {ACCEPTED})", hint=hint)


def _upload(
    env: Env,
    model: str,
    opts: TranscribeOptions,
    pieces: list[Piece],
    kind: AudioKind,
    stem: str,
    pace: _Pace,
) -> list[str]:
    """Upload each piece in order, within the profile's rate; every request goes into the
    usage log. A piece an earlier, failed run paid for is taken from ``pace.kept``; when a
    piece fails, those done are kept for the next run."""
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
    keys = [digest(*asked, str(opts.translate), kind.mime, piece.data) for piece in pieces]
    reused = [key for key in keys if pace.kept.get(key) is not None] if total > 1 else []
    if reused:
        notifier.note(
            f"{stem}: {len(reused)} of {total} pieces were transcribed (and paid for) by an "
            "earlier run that failed: taken from there, not uploaded again"
        )
    try:
        for index, (piece, key) in enumerate(zip(pieces, keys, strict=True), 1):
            if key in reused:
                results.append(pace.kept.get(key) or "")
                continue
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
            with logged(
                pace.store, model, env.profile.name, "transcribe",
                functools.partial(transcription_cost, info, piece.data),
            ):  # fmt: skip
                results.append(pace.provider.transcribe(name, piece.data, kind.mime, request))
    except BaseException:
        _keep_pieces(pace, stem, total, len(results), dict(zip(keys, results, strict=False)))
        raise
    finally:
        notifier.end_line()
    pace.kept.forget(reused)
    return results


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


def _write(environment: Environment, text: str, output: Path | None) -> None:
    if output is None:
        out(environment, text)
        flush_out(environment)
        return
    try:
        write_output(output, text)  # as ``>`` would: a FIFO or /dev/stdout written through
    except OSError as exc:
        raise ChatcliError(f"cannot write {output}: {exc.strerror or exc}") from None
    notifier_for(environment).note(f"wrote {output}")
