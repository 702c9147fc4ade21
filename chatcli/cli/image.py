"""``chatcli image``: generate, edit or vary images and save them.

Only typer and the stdlib are imported at module level: ``chatcli --help`` loads this module.
"""

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from chatcli.cli import completers
from chatcli.cli.common import OverBudgetOpt, global_options
from chatcli.environment import Environment
from chatcli.settings.options import Globals


def check_size(value: str | None) -> str | None:
    """``WxH`` with positive integers, e.g. 1024x1024."""
    if value is not None and not re.fullmatch(r"[1-9]\d{0,4}x[1-9]\d{0,4}", value):
        raise typer.BadParameter(f"{value!r} is not WIDTHxHEIGHT, e.g. 1024x1024")
    return value


class ImageData(StrEnum):
    """How the endpoint returns the images (``--response-format``)."""

    B64_JSON = "b64_json"
    URL = "url"


@global_options
def image(
    prompt: Annotated[
        list[str] | None,
        typer.Argument(help="What to draw, or how to change --edit IMAGE.", show_default=False),
    ] = None,
    n: Annotated[int, typer.Option("-n", min=1, max=10, help="Number of images.")] = 1,
    size: Annotated[
        str | None,
        typer.Option(
            "--size",
            callback=check_size,
            help="WIDTHxHEIGHT, e.g. 1024x1024.",
            autocompletion=completers.image_sizes,
        ),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("-o", "--output-dir", help="Directory to save into (created).")
    ] = Path("."),
    edit: Annotated[
        Path | None, typer.Option("--edit", help="Edit this image as PROMPT says.")
    ] = None,
    mask: Annotated[
        Path | None,
        typer.Option("--mask", help="PNG whose transparent pixels mark where --edit may paint."),
    ] = None,
    variations: Annotated[
        Path | None, typer.Option("--variations", help="Make variations of this image.")
    ] = None,
    response_format: Annotated[
        ImageData | None,
        typer.Option(
            "--response-format",
            help="b64_json (the default; what gpt-image models always return) or url "
            "(dall-e models only; URLs are downloaded at once).",
        ),
    ] = None,
    over_budget: OverBudgetOpt = False,
    *,
    g: Globals,
    environment: Environment,
) -> None:
    """Generate images (gpt-image-2.5-sunburst unless -m; dall-e-2 for --variations).

    Files go to -o DIR as chatcli-DATE-TIME-N.png, never overwriting; paths print one per line.
    """
    from chatcli.features.images.run import ImageOptions, run
    from chatcli.settings.resolve import resolve

    run(
        environment,
        resolve(g),
        ImageOptions(
            prompt=" ".join(prompt or []).strip(),
            n=n,
            size=size,
            out_dir=out_dir,
            edit=edit,
            mask=mask,
            variations=variations,
            response_format=str(response_format) if response_format else None,
            over_budget=over_budget,
        ),
    )
