"""PDF to text with pypdf (the ``docs`` extra), one ``[page N]`` marker before each page.

The markers let a summary cite pages. A PDF whose pages carry no text but images is a scan:
chatcli does no OCR and says so rather than sending an empty message; one with neither (blank
pages) says that instead, since OCR would find nothing either. Pages that are scans in a PDF
that has text elsewhere (a contract's scanned annex) are marked as such in the text and named
in a notice. The page tree is counted before anything is read: past ``MAX_PAGES`` (or a tree
that loops) the PDF is refused, and a page object the tree lists again is read once, so a
small file listing one page 100,000 times costs nothing.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from chatcli.errors import UsageError
from chatcli.safetext import one_line

EXTRA_HINT = "pip install 'chatcli[docs]' (it adds pypdf)"
MAX_PAGES = 10_000
"""More pages than this is refused (5,000 pages of text take about 5 s)."""
SCANNED = "(this page holds only images: no text layer, and chatcli does no OCR)"


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
        size, again = _tree_size(reader)
        if size > MAX_PAGES and again:
            raise UsageError(f"{source} is a damaged PDF: its page tree loops")
        if size > MAX_PAGES:
            raise UsageError(
                f"{source} lists more than {MAX_PAGES:,} pages",
                hint="split it first, e.g. qpdf --split-pages=5000 in.pdf part.pdf",
            )
        objects = _distinct(reader)
        pages = [(page.extract_text() or "").strip() for page in objects]
        scans = [n for n, page in enumerate(objects, 1) if not pages[n - 1] and _draws(page)]
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
    if not any(pages) and not scans:
        return ""  # blank pages: ``extract`` says it is a PDF with no text, as for a Word file
    if not any(pages):
        raise UsageError(
            f"{source} is a PDF of images only (a scan?): it has no text layer, and chatcli "
            "does no OCR",
            hint="run OCR first, e.g. ocrmypdf in.pdf out.pdf",
        )
    if scans:
        from chatcli.documents.notices import notice

        notice(
            f"{source}: {_spans(scans)} hold{'s' if len(scans) == 1 else ''} only images (no "
            "text layer), so no text was read from them: chatcli does no OCR (run it first, e.g. "
            "ocrmypdf in.pdf out.pdf)"
        )
    for n in scans:
        pages[n - 1] = SCANNED
    return "\n\n".join(f"[page {n}]\n{text}" for n, text in enumerate(pages, 1))


def _spans(numbers: list[int]) -> str:
    """``page 3`` or ``pages 3-6, 9``."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)
    return f"page{'s' if len(numbers) > 1 else ''} {text}"


def _tree_size(reader: object) -> tuple[int, bool]:
    """The pages the page tree lists, counted without reading them, up to ``MAX_PAGES`` + 1
    (also for a tree that loops or goes on without end), and whether a node of the tree (not
    a page) is listed twice: a loop, when the count runs past the cap."""
    from pypdf import PdfReader

    assert isinstance(reader, PdfReader)
    stack: list[Any] = [reader.root_object["/Pages"]]
    nodes: set[int] = set()
    leaves = steps = 0
    again = False
    while stack and leaves <= MAX_PAGES:
        steps += 1
        if steps > 4 * MAX_PAGES:
            return MAX_PAGES + 1, again
        node = stack.pop()
        number = getattr(node, "idnum", None)
        node = node.get_object() if hasattr(node, "get_object") else node
        kids = node.get("/Kids") if isinstance(node, dict) else None
        if kids is None:
            leaves += 1
            continue
        if number is not None:
            again |= number in nodes
            nodes.add(number)
        kids = kids.get_object() if hasattr(kids, "get_object") else kids
        if isinstance(kids, list):
            stack.extend(kids)
    return leaves, again


def _distinct(reader: object) -> list[Any]:
    """The pages, each page object once (a tree listing one page again reads it once)."""
    from pypdf import PdfReader

    assert isinstance(reader, PdfReader)
    out: list[Any] = []
    seen: set[object] = set()
    for page in reader.pages:
        ref = page.indirect_reference
        key = (ref.idnum, ref.generation) if ref is not None else id(page)
        if key not in seen:
            seen.add(key)
            out.append(page)
    return out


def _draws(page: object) -> bool:
    """Whether ``page`` draws an image (an XObject or inline image); True when pypdf cannot
    tell, so a page it fails on is still called a scan."""
    try:
        return len(page.images) > 0  # type: ignore[attr-defined]
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
