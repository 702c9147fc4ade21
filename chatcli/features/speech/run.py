"""What ``chatcli speak`` does: gather the text, synthesise it, then save, play or pipe the audio.

Where the audio goes: ``-o FILE``; else, when stdout is a terminal, an installed player (ffplay,
mpv, then aplay/paplay for WAV) plays it, since audio bytes on a terminal are noise; else the
bytes go to stdout, so ``chatcli ask ... | chatcli speak > answer.mp3`` works like ``-o``.
Every request goes into the usage log as command ``speak``.
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
from chatcli.features.outputs import prepare_file
from chatcli.output import notifier_for, out_bytes
from chatcli.settings.resolve import Env

if TYPE_CHECKING:
    from typing import TextIO

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


def run(environment: Environment, env: Env, opts: SpeakOptions) -> None:
    """Run one ``speak``; raises chatcli errors for the funnel in ``__main__``."""
    text = read_text(opts.text, environment.stdin, environment.stdin_isatty)
    model = env.asked_model or DEFAULT_MODEL
    # where the audio goes is settled before it is paid for
    if opts.output is not None:
        prepare_file(opts.output)
    elif environment.stdout_isatty:
        player(opts.response_format)
    audio = _synthesize(environment, env, model, text, opts)
    if opts.output is not None:
        try:
            opts.output.write_bytes(audio)
        except OSError as exc:
            raise ChatcliError(f"cannot write {opts.output}: {exc.strerror or exc}") from None
        notifier_for(environment).note(f"wrote {opts.output} ({len(audio)} bytes)")
    elif environment.stdout_isatty:
        play(audio, opts.response_format)
    else:
        out_bytes(environment, audio)


def read_text(words: list[str], stdin: TextIO | None, stdin_isatty: bool) -> str:
    """The words given, or piped ``stdin`` for ``-`` or no words."""
    if words and words != ["-"]:
        text = " ".join(words)
    elif stdin is None or (stdin_isatty and not words):
        raise UsageError("nothing to say: give TEXT or pipe text in", hint='chatcli speak "Hi"')
    else:
        from chatcli.inputs import decode_text

        text = decode_text(stdin.buffer.read(), "piped input")
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
    from chatcli.features.usage.media import logged, speech_price
    from chatcli.providers import connect
    from chatcli.providers.base import SpeechRequest
    from chatcli.store import open_default

    request = SpeechRequest(model, text, opts.voice, opts.response_format)
    provider = connect(env.profile, env.config.model_info, clock=environment.clock,
                       debug=env.debug)  # fmt: skip
    info = env.config.model_info(model)
    made: list[bytes] = []

    def cost(status: str) -> float | None:
        return speech_price(info, text, made[0] if made else None) if status == "ok" else 0.0

    with open_default() as store, logged(store, model, env.profile.name, "speak", cost):
        made.append(provider.speak(request))
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


def play(audio: bytes, fmt: str) -> None:
    """Play ``audio`` with the first available player."""
    command = player(fmt)
    with tempfile.NamedTemporaryFile(prefix="chatcli-", suffix=f".{fmt}") as tmp:
        tmp.write(audio)
        tmp.flush()
        code = subprocess.run([*command, tmp.name], stdin=subprocess.DEVNULL).returncode
    if code != 0:
        raise ChatcliError(f"{command[0]} could not play the audio (exit {code})")
