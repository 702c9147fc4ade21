"""Image generation, edits and variations through the openai SDK (``/images/*`` routes).

Known OpenAI image models have hard limits (dall-e-3 makes one image per request, variations
exist only for dall-e-2, gpt-image-1 takes no ``response_format``); ``check`` says so before a
request is paid for, instead of relaying the API's 400. Models this table does not know (relays
serve many) are sent as asked. Answers may carry base64 data or URLs, whatever the endpoint
prefers; URLs are downloaded at once with the same proxy, because they expire within the hour.
The answer is read here as plain JSON (after ``sdk.answer``: a web page, an empty body or
anything but a JSON object is an ``APIError``, exit 5), not as the SDK's model, which would
hand over a login page as a string; no field of it is trusted. Each listed image is read on its
own: one that cannot be downloaded or is no image is reported in ``Images.failures`` and the
others are still returned (the answer was a 200: every image it lists is paid for).
"""

from __future__ import annotations

import base64
import binascii
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcli.environment import Clock
from chatcli.errors import APIError, ChatcliError, Interrupted, UsageError
from chatcli.providers import sdk
from chatcli.providers.base import Image, ImageJob
from chatcli.providers.endpoint import ChatEndpoint
from chatcli.settings.loading import Profile

if TYPE_CHECKING:
    import httpx2
    import openai
    from openai._legacy_response import LegacyAPIResponse

    from chatcli.providers.cutoff import Cutoff

MAX_IMAGES_BODY = 256 * 1024 * 1024
"""The largest images answer read: ten 4K PNGs as base64 JSON."""
MAX_IMAGE = 64 * 1024 * 1024
"""The largest image downloaded from a returned URL."""


@dataclass(frozen=True)
class ImageModel:
    """What one OpenAI image model accepts."""

    max_n: int
    sizes: tuple[str, ...]
    edits: bool
    variations: bool
    response_format: bool


IMAGE_MODELS: dict[str, ImageModel] = {
    "dall-e-3": ImageModel(1, ("1024x1024", "1792x1024", "1024x1792"), False, False, True),
    "dall-e-2": ImageModel(10, ("256x256", "512x512", "1024x1024"), True, True, True),
    "gpt-image-1": ImageModel(10, ("1024x1024", "1536x1024", "1024x1536"), True, False, False),
    "gpt-image-1-mini": ImageModel(10, ("1024x1024", "1536x1024", "1024x1536"), True, False, False),
    **{
        name: ImageModel(10, ("auto", "1024x1024", "1536x1024", "1024x1536"), True, False, False)
        for name in (
            "gpt-image-1.5",
            "gpt-image-2",
            "gpt-image-2.5-sunburst",
            "gpt-image-2.5-flare",
        )
    },
}

MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
)


def sniff(data: bytes) -> tuple[str, str] | None:
    """``(extension, mime type)`` of PNG, JPEG, GIF or WebP bytes; None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image/webp"
    for magic, ext, mime in MAGIC:
        if data.startswith(magic):
            return ext, mime
    return None


@dataclass(frozen=True)
class ImageUsage:
    """Tokens an image response reports (gpt-image models bill by token)."""

    text_in: int
    image_in: int
    output: int


class Images(list[Image]):
    """The images of one response that arrived whole, the usage it reported (if any), how
    many it listed (``made``: what the provider bills) and why the others could not be had
    (``failures``: a URL that would not download, data that is no image), in its order."""

    usage: ImageUsage | None = None
    made: int = 0
    failures: list[ChatcliError]

    def __init__(self) -> None:
        super().__init__()
        self.failures = []


def _usage(value: Any) -> ImageUsage | None:
    """The response's ``usage``, or None when missing or not plausible token counts."""

    def count(obj: Any, name: str) -> int | None:
        n = obj.get(name) if isinstance(obj, dict) else None
        ok = isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 100_000_000
        return n if ok else None

    if value is None:
        return None
    total_in, output = count(value, "input_tokens"), count(value, "output_tokens")
    if total_in is None or output is None:
        return None
    image_in = count(value.get("input_tokens_details"), "image_tokens") or 0
    image_in = min(image_in, total_in)
    return ImageUsage(total_in - image_in, image_in, output)


def check(job: ImageJob) -> None:
    """Refuse what a known model cannot do, with what it can do instead (exit 2)."""
    rules = IMAGE_MODELS.get(job.model.rsplit("/", 1)[-1])
    if rules is None:
        return
    op = job.operation
    if op == "edits" and not rules.edits:
        raise UsageError(
            f"{job.model} cannot edit images",
            hint="use --edit without -m (gpt-image-2.5-sunburst), or another gpt-image model",
        )
    if op == "variations" and not rules.variations:
        raise UsageError(
            f"{job.model} cannot make variations; only dall-e-2 can",
            hint="use -m dall-e-2 with --variations where a relay still serves it (OpenAI shut "
            "it down on 2026-05-12), or --edit IMAGE PROMPT",
        )
    if job.n > rules.max_n:
        hint = "use -n 1 (run the command again for more)"
        if rules.max_n == 1:
            hint = "use -n 1, or a gpt-image model (the default), which makes up to 10 at once"
        raise UsageError(f"{job.model} makes at most {rules.max_n} image(s) per request", hint=hint)
    if job.size is not None and job.size not in rules.sizes:
        raise UsageError(
            f"{job.model} cannot make {job.size} images",
            hint=f"sizes for {job.model}: {', '.join(rules.sizes)}",
        )
    # b64_json is what these models return anyway: asked for, it is a no-op, not an error
    if job.response_format not in (None, "b64_json") and not rules.response_format:
        takers = " and ".join(name for name, r in IMAGE_MODELS.items() if r.response_format)
        raise UsageError(
            f"{job.model} takes no --response-format {job.response_format}; it always "
            "returns the image data (b64_json)",
            hint=f"only {takers} take --response-format {job.response_format} (-m dall-e-3, "
            "where a relay still serves it); leave the option out for gpt-image models",
        )


def create(
    profile: Profile, endpoint: ChatEndpoint, job: ImageJob, *, key: str, clock: Clock,
    debug: bool = False, cutoff: Cutoff | None = None,
) -> list[Image]:  # fmt: skip
    """Run ``job`` on ``profile``'s endpoint and return the images' bytes (URLs downloaded)."""
    check(job)
    http = sdk.http_client(profile, key, debug=debug, limit=MAX_IMAGES_BODY, cutoff=cutoff)
    with http:
        client = sdk.client(endpoint, job.model, http)
        raw = sdk.call(lambda: _call(client, job), profile, key, clock, cutoff=cutoff,
                       renew=endpoint.renew)  # fmt: skip
        with sdk.errors(key, profile.proxy):
            response = sdk.answer(raw, "images answer", "JSON").json_object()
            items = response.get("data")
            if not isinstance(items, list) or not items:
                raise APIError("the endpoint returned no images")
        found = Images()
        found.made = len(items)
        found.usage = _usage(response.get("usage"))
        # each image on its own: one that cannot be had does not throw away the others,
        # which are paid for all the same
        for item in items:
            try:
                with sdk.errors(key, profile.proxy):
                    found.append(_image(http, _field(item, "b64_json"), _field(item, "url"),
                                        _field(item, "revised_prompt")))  # fmt: skip
            except Interrupted:
                raise
            except ChatcliError as exc:
                found.failures.append(exc)
        return found


def _field(item: object, name: str) -> str | None:
    """A text field of one returned image, whatever the server put there (``data: [null]``
    or ``"url": 7`` arrive as they are)."""
    value = item.get(name) if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def _call(client: openai.OpenAI, job: ImageJob) -> LegacyAPIResponse[Any]:
    """The SDK call for the job's operation, its raw answer (``sdk.answer`` reads it);
    omitted parameters stay the API's defaults.

    Parameters go in as a dict (sizes and formats of unknown relay models are plain strings the
    SDK's literal types do not list), so the overloads cannot tell we never ask for a stream.
    """
    params: dict[str, Any] = {"model": job.model, "n": job.n}
    if job.size is not None:
        params["size"] = job.size
    rules = IMAGE_MODELS.get(job.model.rsplit("/", 1)[-1])
    if rules is None or rules.response_format:
        params["response_format"] = job.response_format or "b64_json"
    images = client.images.with_raw_response
    if job.image is None:
        made: LegacyAPIResponse[Any] = images.generate(prompt=job.prompt or "", **params)
        return made
    if job.variation:
        # The SDK marks variations deprecated with dall-e-2, their only model; relays still
        # serve them and chatcli offers them, so the warning would only be noise here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return images.create_variation(image=_upload(job.image), **params)
    if job.mask is not None:
        params["mask"] = _upload(job.mask)
    edited: LegacyAPIResponse[Any] = images.edit(
        image=_upload(job.image), prompt=job.prompt or "", **params
    )
    return edited


def _upload(path: Path) -> tuple[str, bytes, str]:
    """A multipart file with its real MIME type (dall-e-2 refuses PNGs sent as octet-stream)."""
    data = path.read_bytes()
    kind = sniff(data)
    return path.name, data, kind[1] if kind else "application/octet-stream"


def _download(http: httpx2.Client, url: str) -> bytes:
    """GET an image URL the endpoint returned: http(s) only, at most ``MAX_IMAGE`` bytes
    (the client's response hook caps the decoded body), a few redirects."""
    from chatcli.providers.web import shown

    if url.partition(":")[0].lower() not in ("http", "https"):
        raise APIError(f"the endpoint returned an image URL that is not http(s): {shown(url)}")
    with http.stream("GET", url, follow_redirects=True) as response:
        if response.status_code >= 300:
            raise APIError(f"downloading {shown(url)} failed: HTTP {response.status_code}")
        body = bytearray()
        for piece in response.iter_bytes():
            body += piece
            if len(body) > MAX_IMAGE:
                raise APIError(f"the image at {shown(url)} is larger than 64 MiB; refused")
        return bytes(body)


def _image(
    http: httpx2.Client, b64: str | None, url: str | None, revised_prompt: str | None
) -> Image:
    if b64:
        try:
            data = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise APIError("malformed image data (b64_json is not base64)") from None
    elif url:
        data = _download(http, url)
    else:
        raise APIError("the endpoint returned an image with neither b64_json nor url")
    if sniff(data) is None:
        raise APIError(
            f"the endpoint returned something that is not an image ({data[:16]!r}...)",
            hint="the endpoint is not answering like an OpenAI-compatible images API",
        )
    return Image(data, revised_prompt)
