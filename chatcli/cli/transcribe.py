"""``chatcli transcribe``: speech to text, with files over the upload limit split.

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module,
and the openai SDK (about a second to import) only loads once a transcription is really made.
"""

from pathlib import Path
from typing import Annotated

import typer

from chatcli.cli import completers
from chatcli.cli.common import OverBudgetOpt, global_options
from chatcli.environment import Environment
from chatcli.features.transcribe.formats import TranscriptFormat
from chatcli.settings.options import Globals


@global_options
def transcribe(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Audio or video files (anything ffmpeg reads); - (or nothing) for stdin.",
            autocompletion=completers.files,
        ),
    ] = None,
    response_format: Annotated[
        TranscriptFormat, typer.Option("--format", help="The transcript's format.")
    ] = TranscriptFormat.TEXT,
    language: Annotated[
        str | None,
        typer.Option("--language", help="Spoken language as ISO-639-1 (en, zh, ...)."),
    ] = None,
    prompt: Annotated[
        str | None,
        typer.Option("--prompt", help="Text to guide the style or spell names right."),
    ] = None,
    translate: Annotated[
        bool, typer.Option("--translate", help="Translate the speech into English.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write the result to this file (a folder for several inputs)."
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", min=1, max=16, help="Inputs transcribed at the same time."),
    ] = 4,
    force: Annotated[
        bool, typer.Option("--force", help="Redo inputs whose transcript exists in -o DIR.")
    ] = False,
    over_budget: OverBudgetOpt = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Transcribe speech to text (gpt-transcribe; whisper-1 for subtitles and --translate; or -m).

    Long audio is split at silences.
    """
    from chatcli.features.transcribe.run import TranscribeOptions, run
    from chatcli.settings.resolve import resolve

    run(
        environment,
        resolve(g),
        TranscribeOptions(
            files=files or [],
            response_format=str(response_format),
            language=language,
            prompt=prompt,
            translate=translate,
            output=output,
            concurrency=concurrency,
            force=force,
            over_budget=over_budget,
        ),
    )
