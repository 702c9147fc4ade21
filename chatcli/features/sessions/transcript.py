"""A stored session as a Markdown transcript (``sessions show``, ``sessions export``).

A header (name, a line about the session, the system prompt its first turn was asked under),
then one section per message. The system prompt is part of the history: where a later turn
was asked under another one (``-s``/``-r`` on a continued session, ``/system``, ``/role``, a
template), a ``System (from turn N)`` section stands before it, so no answer is shown under a
prompt it never had; a prompt set after the last turn shows as ``System (from the next turn)``.
Turns stored by a chatcli that did not record their prompt stand under the session's own.
"""

from __future__ import annotations

from datetime import datetime

from chatcli.features.sessions.markdown import code_span, contained, fenced
from chatcli.safetext import one_line
from chatcli.store import MessageRow, SessionRow, content_text, images_attached


def when(ts: datetime) -> str:
    """A stored time as the local minute it was."""
    return ts.astimezone().strftime("%Y-%m-%d %H:%M")


def forked_from(row: SessionRow) -> str:
    """Where the fork ``row`` came from: its source's name now (renames are followed), or the
    name it last had and that it is gone."""
    source, _, turn = (row.forked_from or "").rpartition("@")
    source = one_line(source, 200)
    gone = f" ({source} has been deleted)" if row.source_deleted else ""
    return f"forked from {source} at turn {turn}{gone}"


def asked_under(m: MessageRow, row: SessionRow) -> str | None:
    """The system prompt the user message ``m`` was sent with (None: none); where it was not
    recorded, the session's own."""
    return (row.system if m.system is None else m.system) or None


def first_prompt(messages: list[MessageRow], row: SessionRow) -> str | None:
    """The system prompt the first turn of ``messages`` was asked under (the session's when
    there is no turn yet)."""
    first = next((m for m in messages if m.role == "user"), None)
    return (row.system or None) if first is None else asked_under(first, row)


def header(row: SessionRow, level: int, system: str | None) -> list[str]:
    """The title, a line about the session, and ``system``, the prompt the transcript starts
    under (whose headings go below ``level``, the level of the messages)."""
    lines = [f"# {row.name}", ""]
    meta = [f"created {when(row.created_at)}"]
    if row.model:
        meta.append(f"model {one_line(row.model, 200)}")
    if row.profile:
        meta.append(f"profile {one_line(row.profile, 200)}")
    if row.forked_from:
        meta.append(forked_from(row))
    lines += ["_" + ", ".join(meta) + "_", ""]
    if system:
        lines += ["## System", "", contained(system.rstrip(), level), ""]
    return lines


def alternatives(messages: list[MessageRow], every: list[MessageRow]) -> dict[int, str]:
    """For each message of the branch, a note when the store holds other versions of it."""
    siblings: dict[int | None, int] = {}
    for m in every:
        siblings[m.parent_id] = siblings.get(m.parent_id, 0) + 1
    notes = {}
    for m in messages:
        count = siblings.get(m.parent_id, 1)
        if count > 1:
            kind = "answers" if m.role == "assistant" else "versions"
            notes[m.id] = f"turn {m.turn}: 1 of {count} {kind}"
    return notes


def _system(text: str | None, level: int, where: str) -> list[str]:
    """A section saying the system prompt changed (``_[none]_``: removed)."""
    said = contained(text.rstrip(), level) if text else "_[none]_"
    return [f"{'#' * level} System ({where})", "", said, ""]


def body(
    messages: list[MessageRow],
    notes: dict[int, str],
    level: int,
    *,
    row: SessionRow,
    system: str | None,
    upcoming: tuple[str | None] | None = None,
) -> list[str]:
    """One section per message, under a heading of ``level`` that nothing in a message can
    pass for (see ``markdown.contained``), and one where the system prompt changes (from
    ``system``, the one in effect before them; ``upcoming``: the one the next turn will have)."""
    lines = []
    for n, m in enumerate(messages):
        if m.role == "user" and m.system is not None and asked_under(m, row) != system:
            system = asked_under(m, row)
            lines += _system(system, level, f"from turn {m.turn}")
        answered = n + 1 < len(messages) and messages[n + 1].role == "assistant"
        lines += section(m, notes.get(m.id), level, awaiting=m.role == "user" and not answered)
    if upcoming is not None and upcoming[0] != system:
        lines += _system(upcoming[0], level, "from the next turn")
    return lines


def section(m: MessageRow, note: str | None, level: int, *, awaiting: bool) -> list[str]:
    """One message: its heading, notes, reasoning, text and marks."""
    marks = "#" * level
    if m.role == "tool":
        info = m.tool_info or {}
        stopped = info.get("interrupted")  # "while running" / "before it ran" (Ctrl-C)
        ran = (
            "interrupted while running"
            if stopped == "while running"
            else "not run"
            if stopped or not info.get("approved")
            else "ran"
        )
        name = one_line(str(info.get("name", "?")), 200)
        return [f"{marks} Tool result: {name} ({ran})", "", fenced(content_text(m.content)), ""]
    heading = "User" if m.role == "user" else "Assistant" if m.role == "assistant" else m.role
    if m.role == "assistant" and m.model:
        heading += f" ({one_line(m.model, 200)})"
    lines = [f"{marks} {heading}", ""]
    if note:
        lines += [f"_[{note}; sessions show --all-branches shows them all]_", ""]
    if m.reasoning and m.reasoning.strip():
        lines += _reasoning(m.reasoning)
    text = content_text(m.content).rstrip()
    if text:
        lines.append(contained(text, level))
    images = images_attached(m.content)
    if images:
        lines.append(f"\n_[{images}]_")
    for call in m.tool_calls or []:
        called = f"{call.get('name')} {call.get('arguments')}"
        lines.append(f"\n_[tool call]_ {code_span(called)}")
    if m.interrupted:
        lines.append("\n_[interrupted]_")
    if awaiting:
        lines.append("\n_[no answer]_")
    lines.append("")
    return lines


def _reasoning(text: str) -> list[str]:
    """A reasoning summary as a marked quote above its answer (kept, never sent back)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # the line ends Markdown knows
    quoted = [f"> {line}".rstrip() for line in text.strip().split("\n")]
    return ["> _Reasoning (summary):_", ">", *quoted, ""]


def current(row: SessionRow, messages: list[MessageRow], every: list[MessageRow]) -> str:
    """The current branch (``messages``) of a session whose every message is ``every``."""
    system = first_prompt(messages, row)
    notes = alternatives(messages, every)
    lines = header(row, 2, system)
    lines += body(messages, notes, 2, row=row, system=system, upcoming=(row.system or None,))
    return "\n".join(lines)


def branches(every: list[MessageRow]) -> list[list[MessageRow]]:
    """Every branch (root to leaf) of a session's tree, in the order their ends were written."""
    by_id = {m.id: m for m in every}
    parents = {m.parent_id for m in every}
    found = []
    for leaf in (m for m in every if m.id not in parents):
        branch: list[MessageRow] = []
        node: MessageRow | None = leaf
        while node is not None:
            branch.append(node)
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
        found.append(branch[::-1])
    return found


def tree(row: SessionRow, messages: list[MessageRow], every: list[MessageRow]) -> str:
    """Every branch of a session, the current one (``messages``) marked."""
    system = first_prompt(messages, row)
    lines = header(row, 3, system)
    head = messages[-1].id if messages else None
    for n, branch in enumerate(branches(every), 1):
        on = bool(branch) and branch[-1].id == head
        lines += [f"## Branch {n}{' (current)' if on else ''}", ""]
        upcoming = (row.system or None,) if on else None
        lines += body(branch, {}, 3, row=row, system=system, upcoming=upcoming)
    return "\n".join(lines)


def newer_branches(messages: list[MessageRow], every: list[MessageRow]) -> int:
    """How many other branches end in a message newer than the last one of ``messages`` (the
    current branch): another process's turns, an undone or re-picked turn."""
    parents = {m.parent_id for m in every}
    last = messages[-1].id if messages else 0
    return sum(1 for m in every if m.id not in parents and m.id > last)
