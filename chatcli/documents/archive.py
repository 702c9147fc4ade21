"""Reading the members of a ZIP-based document (DOCX, ODT, EPUB) within limits.

A 100 KB .docx can declare or hide gigabytes: a member that inflates a thousandfold, a header
that lies about its size, hundreds of members each under any one limit. Every member is checked
before it is read (declared size, compression ratio, encryption, compression method) and
counted while it is read (actual size, and the total of all reads), so a hostile document is a
clear ``UsageError`` (exit 2) at a few MB of memory, never an exhausted machine or a traceback.
"""

from __future__ import annotations

import io
import zipfile
from types import TracebackType

from chatcli.errors import UsageError

MiB = 1024 * 1024
MAX_MEMBER = 64 * MiB
"""The most one member may inflate to (a novel's XHTML is a few MB)."""
MAX_TOTAL = 256 * MiB
"""The most all reads of one document may inflate to together."""
MAX_RATIO = 100
"""Inflating more than this many times (for members over ``_RATIO_FLOOR``) is a bomb: real XML
compresses 5-20 times."""
_RATIO_FLOOR = 1 * MiB
_STEP = 64 * 1024
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


class Archive:
    """A ZIP document opened for bounded reads; ``read`` raises ``KeyError`` for a missing
    member (the formats treat some as optional) and ``UsageError`` for a refused one."""

    def __init__(self, data: bytes, source: str, kind: str) -> None:
        self.source, self.kind = source, kind
        self._read_total = 0
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            why = str(exc)
            if why == "File is not a zip file":  # no directory at the end: cut short
                why = "the end of the file is missing (an interrupted download?)"
            raise UsageError(f"{source} is a damaged {kind}: {why}") from None

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._zip.close()

    def namelist(self) -> list[str]:
        return self._zip.namelist()

    def read(self, name: str) -> bytes:
        """The bytes of member ``name``, checked before and while reading."""
        info = self._zip.getinfo(name)  # KeyError when absent
        self._check(info)
        out = bytearray()
        try:
            with self._zip.open(info) as member:
                while piece := member.read(_STEP):
                    out += piece
                    self._read_total += len(piece)
                    if len(out) > max(info.file_size, 0) or len(out) > MAX_MEMBER:
                        raise self._refuse(f"{name} expands past its declared size")
                    if self._read_total > MAX_TOTAL:
                        raise self._refuse(
                            f"its members expand past {MAX_TOTAL // MiB} MiB together"
                        )
        except UsageError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
            raise UsageError(f"{self.source} is a damaged {self.kind}: {name}: {exc}") from None
        except Exception as exc:  # zlib.error and friends from a corrupt stream
            raise UsageError(
                f"{self.source} is a damaged {self.kind}: {name}: {type(exc).__name__} {exc}"
            ) from None
        return bytes(out)

    def _check(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        if info.flag_bits & 0x1:
            raise UsageError(
                f"{self.source} is an encrypted {self.kind} ({name} needs a password)",
                hint="save an unprotected copy and pass that",
            )
        if info.compress_type not in _METHODS:
            raise UsageError(
                f"{self.source}: {name} is compressed with ZIP method {info.compress_type}, "
                "which chatcli does not read (only stored and deflate)",
                hint="re-save the document with the application that made it",
            )
        if info.file_size > MAX_MEMBER:
            raise self._refuse(
                f"{name} declares {info.file_size // MiB:,} MiB, more than {MAX_MEMBER // MiB} MiB"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > MAX_RATIO:
            raise self._refuse(f"{name} inflates {ratio:,.0f} times (a ZIP bomb?)")

    def _refuse(self, why: str) -> UsageError:
        return UsageError(
            f"{self.source} is refused: {why}",
            hint=f"chatcli reads a {self.kind} only within safe limits; is the file genuine?",
        )
