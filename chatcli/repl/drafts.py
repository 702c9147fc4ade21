"""A stored message back in the prompt (``/undo``, ``/edit N``): the words as they were typed and
the files that went with them, so that sending it again sends what was sent.

A message's images come back as attachments of the next message. With ``chat --template``,
the template's prompt is taken off again (the next send puts it back on), where wrapping the
words found reproduces the stored text exactly; a message the template did not make comes back
as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatcli.inputs import UserInput
from chatcli.store import content_text

if TYPE_CHECKING:
    from chatcli.features.templates.apply import Applied
    from chatcli.store import Content

_MARK = "\x00input\x00"
"""Stands for the typed words while the template's text around them is worked out."""


@dataclass(frozen=True)
class Draft:
    """What goes back into the prompt, and what goes with it when it is sent."""

    text: str
    attachments: UserInput | None = None


@dataclass(frozen=True)
class Editing:
    """A turn being edited (``/edit N``): the next message replaces turn ``number``, and the
    files it had (``attachments``: its images) go with it; Ctrl-C at the prompt drops both."""

    number: int
    attachments: UserInput | None = None


def draft_of(content: Content, template: Applied | None) -> Draft:
    """``content`` as the user gave it: its text as typed (``template``'s prompt taken off),
    its images, and the text of files a template's prompt was put before, as attachments."""
    typed, files = unwrap(content_text(content), template)
    images = [("image", url) for url in _image_urls(content)]
    if not files and not images:
        return Draft(typed)
    return Draft(typed, UserInput(texts=[files] if files else [], images=images))


def joined(first: UserInput | None, then: UserInput | None) -> UserInput | None:
    """Two sets of attachments as one (either may be None), ``first``'s first."""
    if first is None or then is None:
        return first or then
    return UserInput(texts=[*first.texts, *then.texts], images=[*first.images, *then.images])


def count(attachments: UserInput | None) -> int:
    """How many files (texts and images) ``attachments`` hold."""
    return 0 if attachments is None else len(attachments.texts) + len(attachments.images)


def unwrap(text: str, template: Applied | None) -> tuple[str, str]:
    """``text`` without ``template``'s prompt around it: (the words typed, the text of files
    attached after them); ``(text, "")`` when the template did not make it."""
    if template is None or template.template.prompt is None:
        return text, ""
    pieces = _wrap(template, _MARK).split(_MARK)  # the template's text around the words
    for end in _ends(text, pieces[-1]):
        typed = _inside(text[:end], pieces)
        if typed is not None and typed.strip() and _wrap(template, typed) == text[:end]:
            return typed, text[end + 2 :]
    return text, ""


def _wrap(template: Applied, words: str) -> str:
    message = UserInput(texts=[words])
    template.wrap(message)
    return message.text


def _ends(text: str, last: str) -> Iterator[int]:
    """Where the wrapped words may end: the whole text, else before a blank line (files were
    attached after them) where the template's last piece ends."""
    yield len(text)
    start = text.find("\n\n")
    while start != -1:
        if text.endswith(last, 0, start):
            yield start
        start = text.find("\n\n", start + 1)


def _inside(wrapped: str, pieces: list[str]) -> str | None:
    """The words that put between ``pieces`` (once per ``{{input}}``) would make ``wrapped``,
    judged by length alone (the caller wraps them again to be sure)."""
    uses = len(pieces) - 1
    size, rest = divmod(len(wrapped) - sum(map(len, pieces)), uses) if uses else (-1, 0)
    if size <= 0 or rest or not wrapped.startswith(pieces[0]):
        return None
    return wrapped[len(pieces[0]) : len(pieces[0]) + size]


def _image_urls(content: Content) -> list[str]:
    """The data URLs of ``content``'s images (``/file`` stores them as image_url parts)."""
    if isinstance(content, str):
        return []
    urls = []
    for part in content:
        image = part.get("image_url") if part.get("type") == "image_url" else None
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str):
            urls.append(url)
    return urls
