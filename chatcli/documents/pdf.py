"""PDF to text with pypdf (the ``docs`` extra), one ``[page N]`` marker before each page.

The markers let a summary cite pages. A PDF whose pages carry no text but images is a scan:
chatcli does no OCR and says so rather than sending an empty message; one with neither (blank
pages) says that instead, since OCR would find nothing either.
"""

from __future__ import annotations

import io
import logging

from chatcli.errors import UsageError
from chatcli.safetext import one_line

EXTRA_HINT = "pip install 'chatcli[docs]' (it adds pypdf)"


def to_text(data: bytes, source: str) -> str:
    """The text of every page, each after a ``[page N]`` line."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError, PdfReadError
    except ImportError:
        raise UsageError(
            f"{source} is a PDF, and reading PDFs needs the docs extra", hint=EXTRA_HINT
        ) from None
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are not the user's business
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _open_without_password(reader):
            raise UsageError(
                f"{source} is an encrypted PDF (it needs a password to open)",
                hint="decrypt it first, e.g. qpdf --password=... --decrypt in.pdf out.pdf",
            )
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        pictures = any(pages) or _has_images(reader)
    except DependencyError:
        raise UsageError(
            f"{source} is an encrypted PDF that needs the cryptography package to open",
            hint="decrypt it first, e.g. qpdf --decrypt in.pdf out.pdf",
        ) from None
    except UsageError:
        raise
    except RecursionError:
        raise UsageError(f"{source} is a PDF nested too deeply to read") from None
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{source} is a damaged PDF: {one_line(str(exc), 200)}") from None
    except Exception as exc:  # pypdf on a hostile file raises what it meets (struct, zlib...)
        if type(exc).__name__ == "LimitReachedError":  # pypdf's own guard against bombs
            raise UsageError(
                f"{source} is refused: it goes past pypdf's safety limits ({one_line(str(exc))})",
                hint="is the file genuine? a PDF printer can make a plain copy",
            ) from None
        raise UsageError(
            f"{source} is a damaged PDF: {type(exc).__name__} {one_line(str(exc), 200)}"
        ) from None
    if not any(pages) and not pictures:
        return ""  # blank pages: ``extract`` says it is a PDF with no text, as for a Word file
    if not any(pages):
        raise UsageError(
            f"{source} is a PDF of images only (a scan?): it has no text layer, and chatcli "
            "does no OCR",
            hint="run OCR first, e.g. ocrmypdf in.pdf out.pdf",
        )
    return "\n\n".join(f"[page {n}]\n{text}" for n, text in enumerate(pages, 1))


def _has_images(reader: object) -> bool:
    """Whether any page draws an image (an XObject or inline image); True when pypdf cannot
    tell, so a PDF it fails on is still called a scan."""
    from pypdf import PdfReader

    assert isinstance(reader, PdfReader)
    try:
        return any(len(page.images) > 0 for page in reader.pages)
    except Exception:  # pypdf raises what it meets in a hostile file
        return True


def _open_without_password(reader: object) -> bool:
    """Many 'encrypted' PDFs only restrict printing: the empty user password opens them."""
    from pypdf import PdfReader

    assert isinstance(reader, PdfReader)
    try:
        return bool(reader.decrypt(""))
    except Exception as exc:  # pypdf raises assorted errors for unsupported crypto
        from pypdf.errors import DependencyError

        if isinstance(exc, DependencyError):
            raise
        return False
