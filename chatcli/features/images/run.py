"""What ``chatcli image`` does once its options are parsed: check inputs, request, save, print.

Every input problem is found before the request is sent (and paid for). Files are created with
``open(..., "xb")``, so an existing file, or one another chatcli writes at the same moment, is
never overwritten: the number in the name moves on instead. Paths go to stdout one per line, so
``chatcli image ... | xargs open`` works; notes go to stderr. An answer listing an image that
cannot be had (a URL that will not download, data that is no image) still has the others saved
and printed; the bad one is reported and the command exits with its error (5). The request is
logged as made: every image the 200 answer listed is paid for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import ChatcliError, UsageError, unreadable
from chatcli.features.outputs import check_folder
from chatcli.output import flush_out, notifier_for, out
from chatcli.settings.resolve import Env

if TYPE_CHECKING:
    from chatcli.providers.base import Image

GENERATE_MODEL = "gpt-image-2.5-sunburst"
EDIT_MODEL = GENERATE_MODEL
VARIATIONS_MODEL = "dall-e-2"
"""Defaults without -m: OpenAI's recommended image model for generating and editing; variations
exist only on dall-e-2 (shut down by OpenAI on 2026-05-12, still served by some relays)."""
INPUT_LIMITS = {"dall-e-2": 4 * 1024 * 1024}
"""The largest image (and mask) a known model takes for edits and variations, in bytes
(dall-e-2: "less than 4 MB"); models not listed are sent as given."""


@dataclass
class ImageOptions:
    """The parsed options of ``image``."""

    prompt: str
    n: int = 1
    size: str | None = None
    out_dir: Path = Path(".")
    edit: Path | None = None
    mask: Path | None = None
    variations: Path | None = None
    response_format: str | None = None
    over_budget: bool = False


def run(environment: Environment, env: Env, opts: ImageOptions) -> None:
    """Run one ``image``; raises chatcli errors for the funnel in ``__main__``."""
    from chatcli.features.usage import budget
    from chatcli.features.usage.media import images_cost, logged
    from chatcli.providers import images
    from chatcli.providers.base import ImageJob
    from chatcli.store import open_default

    source = _check_inputs(opts)
    default = GENERATE_MODEL if source is None else EDIT_MODEL
    if opts.variations is not None:
        default = VARIATIONS_MODEL
    model = env.asked_model or default
    job = ImageJob(
        model=model,
        prompt=opts.prompt or None,
        n=opts.n,
        size=opts.size,
        response_format=opts.response_format,
        image=source,
        mask=opts.mask,
        variation=opts.variations is not None,
    )
    images.check(job)
    _check_sizes(model, (source, opts.mask))
    check_folder(opts.out_dir)  # made now: a folder that cannot be made is refused unpaid
    notifier = notifier_for(environment)
    from chatcli.retirements import notice_on

    # as ask/chat say it; not for --variations, which only dall-e-2 makes (its README line)
    retiring = notice_on(model, env.profile) if opts.variations is None else None
    if retiring is not None:
        notifier.note(retiring)
    if notifier.tty:
        what = {"generation": "generating", "edits": "editing", "variations": "making variations"}
        notifier.note(f"{what[job.operation]} ({opts.n} × {model}) ...")
    info = env.config.model_info(model)
    got: list[list[Image]] = []

    def tokens() -> tuple[int, int, int] | None:
        usage = getattr(got[0], "usage", None) if got else None
        return None if usage is None else (usage.text_in, usage.image_in, usage.output)

    def made() -> int:
        """The images the answer listed (paid for, whether or not each could be read)."""
        return (getattr(got[0], "made", 0) or len(got[0])) if got else opts.n

    with open_default() as store:
        provider = budget.connect(env.profile, env.config.model_info, clock=environment.clock,
                                  debug=env.debug, store=store, warn=notifier.note,
                                  over_budget=opts.over_budget, model=model)  # fmt: skip
        try:
            with logged(
                store,
                model,
                env.profile.name,
                "image",
                lambda status: images_cost(info, made(), opts.size, status, tokens()),
            ):
                results = provider.images(job)
                got.append(results)
        finally:
            provider.close()
    for path in save(results, opts.out_dir):
        out(environment, f"{path}\n")
        flush_out(environment)
    for result in results:
        if result.revised_prompt and result.revised_prompt.strip() != opts.prompt:
            notifier.note(f"revised prompt: {result.revised_prompt}")
    failures: list[ChatcliError] = list(getattr(results, "failures", []))
    if failures:
        count = made()
        for failure in failures[1:]:
            notifier.note(f"another image could not be saved: {failure.message}")
        saved = f"the other {len(results)} saved" if results else "none saved"
        raise type(failures[0])(
            f"{len(failures)} of {count} images could not be saved ({saved}): "
            f"{failures[0].message}",
            hint=failures[0].hint,
        )


def _check_inputs(opts: ImageOptions) -> Path | None:
    """Validate flag combinations and input files; return the source image, if any."""
    from chatcli.providers.images import sniff

    if opts.edit is not None and opts.variations is not None:
        raise UsageError("use either --edit or --variations, not both")
    if opts.mask is not None and opts.edit is None:
        raise UsageError("--mask goes with --edit IMAGE")
    if opts.variations is not None and opts.prompt:
        raise UsageError(
            "--variations takes no PROMPT: it varies the image as it is",
            hint="to change the image as a prompt says, use --edit IMAGE PROMPT",
        )
    if opts.variations is None and not opts.prompt:
        raise UsageError("a PROMPT is required", hint='e.g. chatcli image "a red fox in snow"')
    source = opts.edit or opts.variations
    for path, what in ((source, "image"), (opts.mask, "mask")):
        if path is None:
            continue
        try:
            with path.open("rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise unreadable(path, exc, "an image" if what == "image" else "a mask") from None
        kind = sniff(head)
        if kind is None:
            raise UsageError(f"{path} is not an image (PNG, JPEG, WebP or GIF)")
        if what == "mask" and kind[0] != "png":
            raise UsageError(f"the mask {path} must be a PNG: its transparent pixels are the mask")
    return source


def _check_sizes(model: str, paths: tuple[Path | None, ...]) -> None:
    """Refuse an input image over what a known model takes, before it is sent."""
    limit = INPUT_LIMITS.get(model.rsplit("/", 1)[-1])
    for path in paths:
        if limit is None or path is None:
            continue
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise unreadable(path, exc, "an image") from None
        if size > limit:
            raise UsageError(
                f"{path} is {size / 1024 / 1024:.1f} MiB; {model} takes images of at most "
                f"{limit // 1024 // 1024} MB",
                hint="shrink it first, e.g. magick IN -resize 50% OUT.png",
            )


def save(results: list[Image], out_dir: Path) -> Iterator[Path]:
    """Write each image as ``chatcli-YYYYMMDD-HHMMSS-N.ext``; N skips names already taken.

    Yields each path once its file is complete, so a failure later still reports the earlier.
    """
    from chatcli.providers.images import sniff

    stamp = time.strftime("%Y%m%d-%H%M%S")
    number = 1
    for result in results:
        kind = sniff(result.data)
        ext = kind[0] if kind else "png"
        while True:
            path = out_dir / f"chatcli-{stamp}-{number}.{ext}"
            number += 1
            try:
                with path.open("xb") as fh:
                    fh.write(result.data)
            except FileExistsError:
                continue
            except OSError as exc:
                raise ChatcliError(f"cannot write {path}: {exc.strerror or exc}") from None
            yield path
            break
