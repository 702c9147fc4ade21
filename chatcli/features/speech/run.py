"""What ``chatcli speak`` does: gather the text, synthesise it, then save, play or pipe the audio.

Where the audio goes: ``-o FILE``; else, when stdout is a terminal, an installed player (ffplay,
mpv, then aplay/paplay for WAV) plays it, since audio bytes on a terminal are noise; else the
bytes go to stdout, so ``chatcli ask ... | chatcli speak > answer.mp3`` works like ``-o``.
Every request goes into the usage log as command ``speak``. A player that cannot play it (no
sound device: ffplay then still exits 0, so what it says is read too) is an error (exit 1), and
the paid audio is kept: saved in the current directory as ``chatcli-speech-DATE-TIME.FORMAT``
(the error names the file). Audio that ``-o`` cannot take after it was paid for (a full disk)
is kept in the database for the same command again (``features.paid``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import ChatcliError, UsageError
from chatcli.features.outputs import prepare_file, write_output
from chatcli.output import notifier_for, out_bytes
from chatcli.settings.resolve import Env

if TYPE_CHECKING:
    from typing import TextIO

    from chatcli.features.usage.kept import Kept

DEFAULT_MODEL = "gpt-4o-mini-tts"
"""OpenAI's newest speech model (tts-1 and tts-1-hd retire with it on 2027-01-06; no replacement
is named yet)."""
MAX_CHARS = 4096
"""The longest input ``/audio/speech`` accepts."""


@dataclass
class SpeakOptions:
    """The parsed options of ``speak``."""

    text: list[str]
    voice: str = "alloy"
    response_format: str = "mp3"
    output: Path | None = None
    over_budget: bool = False


def run(environment: Environment, env: Env, opts: SpeakOptions) -> None:
    """Run one ``speak``; raises chatcli errors for the funnel in ``__main__``."""
    if not opts.voice.strip():
        raise UsageError("--voice is empty", hint="give a voice: --voice alloy")
    text = read_text(opts.text, environment.stdin, environment.stdin_isatty)
    model = env.asked_model or DEFAULT_MODEL
    # where the audio goes is settled before it is paid for
    if opts.output is not None:
        prepare_file(opts.output)
        mismatch = suffix_mismatch(opts.output, opts.response_format)
        if mismatch:
            notifier_for(environment).note(mismatch)
    elif environment.stdout_isatty:
        player(opts.response_format)
    from chatcli.retirements import notice_on

    retiring = notice_on(model, env.profile)
    if retiring is not None:
        notifier_for(environment).note(retiring)
    from chatcli.features import paid
    from chatcli.features.usage.kept import digest

    kept = paid.media("speak")
    key = digest("speech", env.profile.name, model, text, opts.voice, opts.response_format)
    earlier = kept.get(key)
    if earlier is not None:
        audio = paid.unpack(earlier)[0]
        notifier_for(environment).note(
            "the audio an earlier run paid for but could not write is taken from there: "
            "nothing sent"
        )
    else:
        audio = _synthesize(environment, env, model, text, opts)
    if opts.output is not None:
        _save(audio, opts.output, opts.response_format, kept, key)
        notifier_for(environment).note(f"wrote {opts.output} ({len(audio)} bytes)")
    elif environment.stdout_isatty:
        play(audio, opts.response_format)
    else:
        out_bytes(environment, audio)
    if earlier is not None:
        kept.forget([key])  # delivered: a kept one is used up


def _save(audio: bytes, output: Path, fmt: str, kept: Kept, key: str) -> None:
    """Write the paid ``audio`` to ``output``, as ``>`` would (a FIFO or link written
    through; a file whole or not at all). When it cannot be (a full disk, a read-only disk),
    the audio is kept for the same command again, else saved in the current directory or the
    temporary folder, and the error (exit 1) says where."""
    from chatcli.features import paid

    try:
        write_output(output, audio)
    except OSError as exc:
        error = paid.cannot_write(output, exc)
        if not paid.unwritten(kept, {key: paid.pack([audio])}, error, "the audio is",
                              "writes it"):  # fmt: skip
            error.message += f"; {_aside(audio, fmt)}"
        raise error from None


SUFFIXES = {
    "mp3": (".mp3",),
    "opus": (".opus", ".ogg", ".oga"),
    "aac": (".aac", ".adts"),
    "flac": (".flac",),
    "wav": (".wav", ".wave"),
}
"""The file name endings that fit each ``--format`` (opus comes in an Ogg container)."""
_AUDIO_SUFFIXES = frozenset(
    (*(s for fits in SUFFIXES.values() for s in fits), ".m4a", ".mp4", ".webm", ".mka", ".wma",
     ".aif", ".aiff", ".amr")
)  # fmt: skip


def suffix_mismatch(path: Path, fmt: str) -> str | None:
    """A notice when ``-o``'s file name says another audio format than the one it will hold
    (``--format wav -o out.mp3``: players and file managers go by the name); None when it
    fits, or names no audio format (``-o /dev/stdout``, ``-o speech``, ``-o take.v2``)."""
    suffix = path.suffix.lower()
    if suffix not in _AUDIO_SUFFIXES or suffix in SUFFIXES.get(fmt, ()):
        return None
    return (
        f"{path} will hold {fmt} audio, which its extension {suffix} does not say "
        f"(use --format to match it, or name it .{fmt})"
    )


def read_text(words: list[str], stdin: TextIO | None, stdin_isatty: bool) -> str:
    """The words given, or piped ``stdin`` for ``-`` or no words."""
    if words and words != ["-"]:
        text = " ".join(words)
    elif stdin is None or (stdin_isatty and not words):
        raise UsageError("nothing to say: give TEXT or pipe text in", hint='chatcli speak "Hi"')
    else:
        from chatcli.inputs import decode_text
        from chatcli.reading import MiB, read_stream

        # bounded like every pipe (``speak < /dev/zero`` must not fill the memory); the
        # character limit below says the exact figure for anything shorter
        data = read_stream(
            stdin.buffer,
            MiB,
            "piped input",
            hint=f"speak takes at most "
            f"{MAX_CHARS} characters: shorten it, e.g. chatcli summarize first",
        )
        text = decode_text(data, "piped input", reads="chatcli speak reads text")
    text = text.strip()
    if not text:
        raise UsageError("nothing to say: the text is empty")
    if len(text) > MAX_CHARS:
        raise UsageError(
            f"the text is {len(text)} characters; /audio/speech takes at most {MAX_CHARS}",
            hint="shorten it, e.g. chatcli summarize first",
        )
    return text


def _synthesize(
    environment: Environment, env: Env, model: str, text: str, opts: SpeakOptions
) -> bytes:
    from chatcli.features.usage import budget
    from chatcli.features.usage.media import logged, speech_price
    from chatcli.providers.base import SpeechRequest
    from chatcli.store import open_default

    request = SpeechRequest(model, text, opts.voice, opts.response_format)
    info = env.config.model_info(model)
    made: list[bytes] = []

    def cost(status: str) -> float | None:
        return speech_price(info, text, made[0] if made else None) if status == "ok" else 0.0

    with open_default() as store:
        provider = budget.connect(env.profile, env.config.model_info, clock=environment.clock,
                                  debug=env.debug, store=store,
                                  warn=notifier_for(environment).note,
                                  over_budget=opts.over_budget, model=model)  # fmt: skip
        try:
            with logged(store, model, env.profile.name, "speak", cost):
                made.append(provider.speak(request))
        finally:
            provider.close()
    return made[0]


def players(fmt: str) -> list[list[str]]:
    """Commands that can play a file of format ``fmt``, best first, among those installed."""
    candidates = [
        ["ffplay", "-nodisp", "-autoexit", "-loglevel", "error"],
        ["mpv", "--no-video", "--really-quiet"],
    ]
    if fmt == "wav":
        candidates += [["paplay"], ["aplay", "-q"]]
    return [c for c in candidates if shutil.which(c[0])]


def player(fmt: str) -> list[str]:
    """The command that will play ``fmt``; without one, say how to save it instead."""
    found = players(fmt)
    if not found:
        raise UsageError(
            f"no audio player found to play {fmt} (looked for ffplay, mpv, paplay, aplay)",
            hint="save it instead: chatcli speak ... -o speech." + fmt,
        )
    return found[0]


FAILED = (
    "audio open failed",
    "failed to open",
    "could not open",
    "couldn't open",
    "cannot open",
    "can't open",
    "unable to open",
    "failed to initialize",
    "could not initialize",
    "no such audio device",
)
"""What a player says when it played nothing although it may exit 0 (ffplay without a sound
device: "audio open failed", "Failed to open file"; mpv: "Could not open/initialize audio
device"), matched without regard to case."""


def play(audio: bytes, fmt: str) -> None:
    """Play ``audio`` with the first available player. When it cannot (its exit status, or
    what it says: ffplay exits 0 without a sound device), the paid audio is saved in the
    current directory and the error (exit 1) names the file."""
    command = player(fmt)
    with tempfile.TemporaryDirectory(prefix="chatcli-") as tmp:
        path = Path(tmp) / f"speech.{fmt}"
        path.write_bytes(audio)
        why: str | None
        try:
            done = subprocess.run(
                [*command, str(path)], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as exc:
            why = exc.strerror or str(exc)
        else:
            why = _failure(done.returncode, done.stderr)
        if why is None:
            return
        kept = _aside(audio, fmt)
    raise ChatcliError(
        f"{command[0]} could not play the audio ({why}); {kept}",
        hint=f"play it yourself, or save the next one with -o speech.{fmt}",
    )


def _failure(code: int, said: bytes | None) -> str | None:
    """Why the player did not play the audio, or None when it did."""
    from chatcli.safetext import one_line

    lines = [line.strip() for line in (said or b"").decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    reason = next((line for line in lines if any(f in line.lower() for f in FAILED)), None)
    if code != 0:
        return one_line(reason or (lines[-1] if lines else f"exit {code}"), 200)
    return None if reason is None else one_line(reason, 200)


def _aside(audio: bytes, fmt: str) -> str:
    """Save paid ``audio`` that could not go where it was meant to as
    ``chatcli-speech-DATE-TIME[-N].FORMAT`` in the current directory (never overwriting a
    file), else in the temporary folder; what to tell the user."""
    import time

    from chatcli.features import paid

    stamp = time.strftime("%Y%m%d-%H%M%S")
    folders = [Path("."), Path(tempfile.gettempdir())]
    path = paid.aside(audio, f"chatcli-speech-{stamp}", fmt, folders)
    if path is None:
        return "the audio could not be saved in . or the temporary folder either"
    return f"it was saved to {path}"
