"""``chatcli speak``: text to speech. Only typer and the stdlib at module level."""

from pathlib import Path
from typing import Annotated

import typer

from chatcli.cli.common import OverBudgetOpt, global_options
from chatcli.environment import Environment
from chatcli.features.speech.formats import AudioFormat
from chatcli.settings.options import Globals


@global_options
def speak(
    text: Annotated[
        list[str] | None,
        typer.Argument(help="What to say; - (or nothing) reads piped stdin."),
    ] = None,
    voice: Annotated[
        str, typer.Option("--voice", help="alloy, echo, fable, onyx, nova, shimmer, ...")
    ] = "alloy",
    response_format: Annotated[
        AudioFormat, typer.Option("--format", help="The audio format.")
    ] = AudioFormat.MP3,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the audio to this file.")
    ] = None,
    over_budget: OverBudgetOpt = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Text to speech (gpt-4o-mini-tts unless -m): to -o FILE, a pipe, or played on a terminal."""
    from chatcli.features.speech.run import SpeakOptions, run
    from chatcli.settings.resolve import resolve

    run(
        environment,
        resolve(g),
        SpeakOptions(
            text=text or [],
            voice=voice,
            response_format=str(response_format),
            output=output,
            over_budget=over_budget,
        ),
    )
