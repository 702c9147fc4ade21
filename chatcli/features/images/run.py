"""What ``chatcli image`` does once its options are parsed: check inputs, request, save, print.

Every input problem is found before the request is sent (and paid for: ``inputs``). Each file
is written whole under a temporary name and linked to its own (``outputs.write_new``), so an
existing file, or one another chatcli writes at the same moment, is never overwritten (the
number in the name moves on instead) and a full disk leaves no truncated image. Images paid for
that cannot be written are kept for the same command again (``features.paid``). Paths go to
stdout one per line, so ``chatcli image ... | xargs open`` works; notes go to stderr. An answer
listing an image that cannot be had (a URL that will not download, data that is no image) still
has the others saved and printed; the bad one is reported and the command exits with its error
(5). The request is
logged as made: every image the 200 answer listed is paid for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import ChatcliError, UsageError
from chatcli.features import paid
from chatcli.features.images.inputs import check_files, check_sizes
from chatcli.features.outputs import check_folder, write_new
from chatcli.output import flush_out, notifier_for, out
from chatcli.settings.resolve import Env

if TYPE_CHECKING:
    from chatcli.features.usage.kept import Kept
    from chatcli.providers.base import Image, ImageJob

GENERATE_MODEL = "gpt-image-2.5-sunburst"
EDIT_MODEL = GENERATE_MODEL
VARIATIONS_MODEL = "dall-e-2"
"""Defaults without -m: OpenAI's recommended image model for generating and editing; variations
exist only on dall-e-2 (shut down by OpenAI on 2026-05-12, still served by some relays)."""


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
    check_sizes(model, source, opts.mask)
    check_folder(opts.out_dir)  # made now: a folder that cannot be made is refused unpaid
    notifier = notifier_for(environment)
    kept = paid.media("image")
    key = _key(env.profile.name, job, source, opts.mask)
    earlier = kept.get(key)
    if earlier is not None:
        datas = paid.unpack(earlier)
        notifier.note(
            f"{_count(len(datas))} an earlier run paid for but could not save: taken from "
            "there, nothing sent"
        )
        _deliver(environment, datas, opts.out_dir, kept, key)
        kept.forget([key])  # delivered: a kept one is used up
        return
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
    for result in results:  # said first: a write that fails below must not lose them
        if result.revised_prompt and result.revised_prompt.strip() != opts.prompt:
            notifier.note(f"revised prompt: {result.revised_prompt}")
    _deliver(environment, [r.data for r in results], opts.out_dir, kept, key)
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
    check_files(source, opts.mask)
    return source


def _key(profile: str, job: ImageJob, source: Path | None, mask: Path | None) -> str:
    """What identifies one request's images (kept under it when they cannot be written): the
    profile, model, operation, options and the exact input files."""
    import hashlib

    from chatcli.features.usage.kept import digest

    files: list[str | None] = []
    for path in (source, mask):
        if path is None:
            files.append(None)
            continue
        with path.open("rb") as fh:
            files.append(hashlib.file_digest(fh, "sha256").hexdigest())
    return digest("image", profile, job.model, job.operation, job.prompt, str(job.n), job.size,
                  job.response_format, *files)  # fmt: skip


def _count(n: int) -> str:
    return "1 image" if n == 1 else f"{n} images"


def _deliver(
    environment: Environment, datas: list[bytes], out_dir: Path, kept: Kept, key: str
) -> None:
    """Save the paid images, printing each path once its file is whole. One that cannot be
    written (a full disk, a read-only disk) leaves no file; it and the rest are kept for the
    same command again, else saved in the temporary folder, and the error (exit 1) says
    where."""
    done = 0
    try:
        for path in save(datas, out_dir):
            out(environment, f"{path}\n")
            flush_out(environment)
            done += 1
    except Unwritten as exc:
        rest = datas[done:]
        error = paid.cannot_write(exc.path, exc.error)
        what, again = (
            (f"the {len(rest)} images not saved are", "saves them")
            if len(rest) > 1
            else ("the image not saved is", "saves it")
        )
        if not paid.unwritten(kept, {key: paid.pack(rest)}, error, what, again):
            aside = [paid.aside(data, exc.path.stem, exc.path.suffix.lstrip(".")) for data in rest]
            for path in (p for p in aside if p is not None):
                out(environment, f"{path}\n")
                flush_out(environment)
            where = sorted({str(p.parent) for p in aside if p is not None})
            error.message += (
                f"; saved in {', '.join(where)} instead" if where else "; they could not be kept"
            )
        raise error from None


class Unwritten(Exception):
    """An image that could not be written to ``path``."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(str(path))
        self.path, self.error = path, error


def save(datas: list[bytes], out_dir: Path) -> Iterator[Path]:
    """Write each image as ``chatcli-YYYYMMDD-HHMMSS-N.ext``, whole or not at all; N skips
    names already taken. Yields each path once its file is complete, so a failure later still
    reports the earlier; raises ``Unwritten`` for one that cannot be written."""
    from chatcli.providers.images import sniff

    stamp = time.strftime("%Y%m%d-%H%M%S")
    number = 1
    for data in datas:
        kind = sniff(data)
        ext = kind[0] if kind else "png"
        while True:
            path = out_dir / f"chatcli-{stamp}-{number}.{ext}"
            number += 1
            try:
                write_new(path, data)
            except FileExistsError:
                continue
            except OSError as exc:
                raise Unwritten(path, exc) from None
            yield path
            break
