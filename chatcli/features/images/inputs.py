"""The input files of ``image --edit``/``--variations``, checked before anything is sent.

Every check here refuses (exit 2) what the endpoint is sure to refuse after the upload, which a
large image makes slow: a file that is no image, a mask that is no PNG, has no transparent
pixels (no alpha channel, no ``tRNS``: it marks nothing to paint) or is not the image's size,
and an image or mask over what a known model takes.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from chatcli.errors import UsageError, unreadable

MB = 1024 * 1024
INPUT_LIMITS = {"dall-e-2": 4 * MB, "gpt-image": 50 * MB}
"""The largest image a known model takes for edits and variations, in bytes (dall-e-2: "less
than 4 MB"; the gpt-image family, every snapshot and size of it: "less than 50MB"); models not
listed are sent as given."""
MASK_LIMIT = 4 * MB
"""The largest mask a known model takes ("less than 4MB", dall-e-2 and gpt-image alike)."""


def check_files(source: Path | None, mask: Path | None) -> None:
    """Each input is an image (PNG, JPEG, WebP or GIF); the mask a PNG with transparency of
    the image's size."""
    from chatcli.providers.images import sniff

    for path, what in ((source, "image"), (mask, "mask")):
        if path is None:
            continue
        head = _read(path, 16, what)
        kind = sniff(head)
        if kind is None:
            raise UsageError(f"{path} is not an image (PNG, JPEG, WebP or GIF)")
        if what == "mask" and kind[0] != "png":
            raise UsageError(f"the mask {path} must be a PNG: its transparent pixels are the mask")
    if source is None or mask is None:
        return
    if not _transparent(mask):
        raise UsageError(
            f"the mask {mask} has no transparency (no alpha channel): it marks nothing to "
            "paint; its transparent pixels are the mask",
            hint="save it as a PNG with an alpha channel (RGBA), transparent where to paint",
        )
    image_size, mask_size = dimensions(source), dimensions(mask)
    if image_size is not None and mask_size is not None and image_size != mask_size:
        raise UsageError(
            f"the mask {mask} is {mask_size[0]}x{mask_size[1]} and the image {source} is "
            f"{image_size[0]}x{image_size[1]}: they must be the same size",
            hint="resize the mask, e.g. magick MASK -resize "
            f"{image_size[0]}x{image_size[1]}! MASK.png",
        )


def check_sizes(model: str, source: Path | None, mask: Path | None) -> None:
    """Refuse an input image or mask over what a known model takes, before it is sent."""
    base = model.rsplit("/", 1)[-1]
    limit = next((v for k, v in INPUT_LIMITS.items() if base == k or base.startswith(k)), None)
    if limit is None:
        return
    for path, most in ((source, limit), (mask, min(limit, MASK_LIMIT))):
        if path is None:
            continue
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise unreadable(path, exc, "an image") from None
        if size > most:
            raise UsageError(
                f"{path} is {size / MB:.1f} MiB; {model} takes "
                f"{'masks' if path == mask else 'images'} of at most {most // MB} MB",
                hint="shrink it first, e.g. magick IN -resize 50% OUT.png",
            )


def _read(path: Path, n: int, what: str) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise unreadable(path, exc, "an image" if what == "image" else "a mask") from None


def _transparent(path: Path) -> bool:
    """Whether a PNG can hold transparent pixels: an alpha channel (grey or RGB with alpha)
    or a ``tRNS`` chunk before its image data."""
    try:
        with path.open("rb") as fh:
            fh.seek(8)
            while True:
                header = fh.read(8)
                if len(header) < 8:
                    return True  # damaged: the endpoint says what is wrong with it
                size, tag = struct.unpack(">I4s", header)
                if tag == b"IHDR":
                    body = fh.read(size)
                    if len(body) >= 10 and body[9] in (4, 6):
                        return True
                    fh.seek(4, 1)
                    continue
                if tag == b"tRNS":
                    return True
                if tag in (b"IDAT", b"IEND"):
                    return False
                fh.seek(size + 4, 1)
    except OSError:
        return True


def dimensions(path: Path) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, WebP or JPEG file; None when they cannot be read."""
    try:
        with path.open("rb") as fh:
            head = fh.read(32)
            if head.startswith(b"\x89PNG") and head[12:16] == b"IHDR":
                return struct.unpack(">II", head[16:24])
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return struct.unpack("<HH", head[6:10])
            if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                return _webp(head)
            if head.startswith(b"\xff\xd8"):
                fh.seek(2)
                return _jpeg(fh)
    except (OSError, struct.error):
        return None
    return None


def _webp(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    return None


def _jpeg(fh: BinaryIO) -> tuple[int, int] | None:
    """The frame size from a JPEG's first SOF marker (walked segment by segment)."""
    while True:
        marker = fh.read(2)
        while len(marker) == 2 and marker[0] == 0xFF and marker[1] == 0xFF:  # fill bytes
            marker = marker[1:] + fh.read(1)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:
            continue  # markers without a length
        length = fh.read(2)
        if len(length) < 2:
            return None
        size = struct.unpack(">H", length)[0]
        if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
            body = fh.read(5)
            if len(body) < 5:
                return None
            h, w = struct.unpack(">HH", body[1:5])
            return w, h
        if kind in (0xD9, 0xDA) or size < 2:
            return None
        fh.seek(size - 2, 1)
