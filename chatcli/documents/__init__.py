"""Text out of documents (PDF, DOCX, ODT, EPUB, HTML) and web pages, recognised by content.

``extract`` is the one entry point: it returns Markdown-ish text for a document, or None when
the bytes are not a document (plain text and images are the caller's business). Each format
lives in its own module and is imported only when a document of that kind is given.
"""

from __future__ import annotations

from chatcli.documents.sniff import document_kind
from chatcli.errors import UsageError


def extract(data: bytes, source: str, content_type: str | None = None) -> str | None:
    """The text of ``data`` if it is a document, else None (raises UsageError on a bad one)."""
    kind = document_kind(data, content_type)
    if kind is None:
        return None
    try:
        return _extract(kind, data, source, content_type)
    except RecursionError:
        raise UsageError(f"{source} is nested too deeply to read") from None


def _extract(kind: str, data: bytes, source: str, content_type: str | None) -> str:
    if kind == "pdf":
        from chatcli.documents import pdf

        return pdf.to_text(data, source)
    if kind == "docx":
        from chatcli.documents import docx

        return docx.to_text(data, source)
    if kind == "odt":
        from chatcli.documents import odt

        return odt.to_text(data, source)
    if kind == "epub":
        from chatcli.documents import epub

        return epub.to_text(data, source)
    from chatcli.documents import html

    return html.to_markdown(html.decode(data, content_type))
