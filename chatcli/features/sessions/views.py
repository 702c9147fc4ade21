"""What the ``sessions`` commands print: listings, transcripts and exports of stored sessions."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from chatcli.environment import Environment
from chatcli.errors import UsageError
from chatcli.features.outputs import write_output
from chatcli.features.sessions.markdown import code_span, contained, fenced
from chatcli.output import err, out
from chatcli.pricing import json_usd
from chatcli.safetext import one_line
from chatcli.store import MessageRow, SessionRow, Store, content_text, open_default
from chatcli.terminal import shorten


def _get(store: Store, name: str) -> SessionRow:
    row = store.get_session(name)
    if row is None:
        raise UsageError(f"no session named {name!r}", hint="see: chatcli sessions list")
    return row


TITLE_COLUMNS = 60
"""Terminal columns a title takes in ``sessions list`` at most (fewer when the terminal is
narrower): the same for every script, a CJK character taking two."""


def _when(ts: datetime) -> str:
    return ts.astimezone().strftime("%Y-%m-%d %H:%M")


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (display width, not characters)."""
    from rich.cells import cell_len

    return text + " " * max(0, width - cell_len(text))


def _names_width(names: list[str]) -> int:
    from rich.cells import cell_len

    return max(cell_len(n) for n in names)


def list_sessions(environment: Environment, search: str | None, limit: int, as_json: bool) -> None:
    with open_default(reading=True) as store:
        rows = store.list_sessions(search, limit)
    if as_json:
        listed = [
            {
                "name": r.name,
                "messages": r.message_count,
                "created_at": r.created_at.isoformat(),
                "updated_at": r.updated_at.isoformat(),
                "profile": r.profile,
                "model": r.model,
                "title": r.title,
                "one_shot": r.one_shot,
            }
            for r in rows
        ]
        out(environment, json.dumps(listed, ensure_ascii=False, indent=2) + "\n")
        return
    if not rows:
        err(environment, "no sessions" + (f" matching {search!r}" if search else ""))
        return
    width = _names_width([r.name for r in rows])
    for r in rows:
        kind = "ask" if r.one_shot else "   "
        head = (
            f"{_pad(r.name, width)}  {_when(r.updated_at)}  {kind}  {r.message_count:>5} msgs  "
            f"{_pad(r.model or '-', 18)}  "
        )
        room = TITLE_COLUMNS
        if environment.width:  # the last column stays free: no terminal wraps the line
            from rich.cells import cell_len

            room = min(room, max(8, environment.width - 1 - cell_len(head)))
        out(environment, f"{head}{shorten(one_line(r.title or '', 500), room)}".rstrip() + "\n")


def search(environment: Environment, text: str, limit: int, as_json: bool) -> None:
    """Messages containing ``text``, newest first: session, when, who, and a snippet."""
    with open_default(reading=True) as store:
        hits = store.search_messages(text, limit)
    if as_json:
        listed = [
            {
                "session": h.session,
                "message_id": h.message_id,
                "role": h.role,
                "created_at": h.created_at.isoformat(),
                "snippet": h.snippet,
            }
            for h in hits
        ]
        out(environment, json.dumps(listed, ensure_ascii=False, indent=2) + "\n")
        return
    if not hits:
        err(environment, f"no messages contain {text!r}")
        return
    width = _names_width([h.session for h in hits])
    for h in hits:
        who = "you" if h.role == "user" else "ai " if h.role == "assistant" else h.role
        out(environment, f"{_pad(h.session, width)}  {_when(h.created_at)}  {who}  {h.snippet}\n")


def _message_dict(m: MessageRow, tree: bool = False) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if m.tool_calls:
        extra["tool_calls"] = m.tool_calls
    if m.tool_call_id is not None:
        extra["tool_call_id"] = m.tool_call_id
        extra["tool"] = m.tool_info or {}
    where = {"id": m.id, "parent_id": m.parent_id, "turn": m.turn} if tree else {}
    if m.reasoning:
        extra["reasoning"] = m.reasoning  # the summary shown while it thought; never resent
    return {
        **where,
        "role": m.role,
        "content": m.content,
        "model": m.model,
        "profile": m.profile,
        "tokens": m.tokens,
        "prompt_tokens": m.prompt_tokens,
        "completion_tokens": m.completion_tokens,
        "tokens_estimated": m.estimated,
        "cost_usd": json_usd(m.cost_usd),
        "finish_reason": m.finish_reason,
        "interrupted": m.interrupted,
        "created_at": m.created_at.isoformat(),
        "ttft_ms": m.ttft_ms,
        "duration_ms": m.duration_ms,
        **extra,
    }


def _header(row: SessionRow, level: int = 2) -> list[str]:
    """The title, a line about the session, and its system prompt (whose headings go below
    ``level``, the level of the messages)."""
    lines = [f"# {row.name}", ""]
    meta = [f"created {_when(row.created_at)}"]
    if row.model:
        meta.append(f"model {one_line(row.model, 200)}")
    if row.profile:
        meta.append(f"profile {one_line(row.profile, 200)}")
    if row.forked_from:
        source, _, turn = row.forked_from.rpartition("@")
        meta.append(f"forked from {source} at turn {turn}")
    lines += ["_" + ", ".join(meta) + "_", ""]
    if row.system:
        lines += ["## System", "", contained(row.system.rstrip(), level), ""]
    return lines


def _alternatives(messages: list[MessageRow], every: list[MessageRow]) -> dict[int, str]:
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


def _body(messages: list[MessageRow], notes: dict[int, str], level: int = 2) -> list[str]:
    """One section per message, under a heading of ``level`` that nothing in a message can
    pass for (see ``markdown.contained``)."""
    lines = []
    for n, m in enumerate(messages):
        answered = n + 1 < len(messages) and messages[n + 1].role == "assistant"
        lines += _section(m, notes.get(m.id), level, awaiting=m.role == "user" and not answered)
    return lines


def _section(m: MessageRow, note: str | None, level: int, *, awaiting: bool) -> list[str]:
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
        lines += [f"_[{note}; sessions export --all-branches shows them all]_", ""]
    if m.reasoning and m.reasoning.strip():
        lines += _reasoning(m.reasoning)
    text = content_text(m.content).rstrip()
    if text:
        lines.append(contained(text, level))
    if isinstance(m.content, list) and any(p.get("type") == "image_url" for p in m.content):
        lines.append("\n_[image attached]_")
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


def _markdown(row: SessionRow, messages: list[MessageRow], every: list[MessageRow]) -> str:
    return "\n".join(_header(row) + _body(messages, _alternatives(messages, every)))


def _branches(every: list[MessageRow]) -> list[list[MessageRow]]:
    """Every branch (root to leaf) of a session's tree, in the order their ends were written."""
    by_id = {m.id: m for m in every}
    parents = {m.parent_id for m in every}
    branches = []
    for leaf in (m for m in every if m.id not in parents):
        branch: list[MessageRow] = []
        node: MessageRow | None = leaf
        while node is not None:
            branch.append(node)
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
        branches.append(branch[::-1])
    return branches


def _markdown_tree(row: SessionRow, current: list[MessageRow], every: list[MessageRow]) -> str:
    lines = _header(row, 3)
    head = current[-1].id if current else None
    for n, branch in enumerate(_branches(every), 1):
        mark = " (current)" if branch and branch[-1].id == head else ""
        lines += [f"## Branch {n}{mark}", ""]
        lines += _body(branch, {}, 3)
    return "\n".join(lines)


def export(
    environment: Environment, name: str, fmt: str, output: Path | None, all_branches: bool = False
) -> None:
    with open_default(reading=True) as store:
        row = _get(store, name)
        messages = store.all_messages(row.id)
        every = store.every_message(row.id)
    if fmt == "json":
        obj: dict[str, Any] = {
            "name": row.name,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
            "profile": row.profile,
            "model": row.model,
            "system": row.system,
            "role": row.role,
            "forked_from": row.forked_from,
            "messages": [_message_dict(m) for m in messages],
        }
        if all_branches:
            obj["head_id"] = row.head_id
            obj["all_messages"] = [_message_dict(m, tree=True) for m in every]
        text = json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
    elif all_branches:
        text = _markdown_tree(row, messages, every)
    else:
        text = _markdown(row, messages, every)
    if output is None:
        out(environment, text)  # sanitised on a terminal: stored answers may carry escape sequences
        return
    try:
        write_output(output, text)  # as `>` would: a FIFO or link written through
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    err(environment, f"wrote {output}")


def fork(environment: Environment, source: str, at: int | None, new: str | None) -> None:
    """Copy SOURCE's current branch (up to turn ``at``) into a new session."""
    with open_default() as store:
        row = _get(store, source)
        upto = None
        if at is not None:
            turn = [m for m in store.all_messages(row.id) if m.turn == at]
            if at < 1 or not turn:
                last = max((m.turn for m in store.all_messages(row.id)), default=0)
                raise UsageError(
                    f"{source} has no turn {at}" + (f" (turns 1-{last})" if last else ""),
                    hint=f"see: chatcli sessions show {source}",
                )
            upto = turn[-1].id
        copy = store.fork_session(row, upto, new)
    where = f" up to turn {at}" if at is not None else ""
    err(environment, f"forked {source}{where} into {copy.name}")
    out(environment, copy.name + "\n")


def remove(environment: Environment, names: list[str]) -> None:
    """Delete every named session, or none: a missing name stops it before anything is
    deleted, so a typo never leaves the list half done."""
    wanted = list(dict.fromkeys(names))
    with open_default() as store:
        missing = [name for name in wanted if store.get_session(name) is None]
        if missing:
            listed = ", ".join(repr(name) for name in missing)
            sessions = "session" if len(missing) == 1 else "sessions"
            raise UsageError(
                f"no {sessions} named {listed}",
                hint="nothing was deleted; see: chatcli sessions list",
            )
        for name in wanted:
            store.delete_session(name)
            err(environment, f"deleted session {name!r}")


def rename(environment: Environment, old: str, new: str) -> None:
    """Rename ``old`` to ``new``; the same name twice changes nothing and says so (exit 0),
    as ``/save`` does for the name a session already has."""
    with open_default() as store:
        if old == new:
            _get(store, old)  # a missing one is still an error
            err(environment, f"session {old!r} is already called that; nothing changed")
            return
        store.rename_session(old, new)
    err(environment, f"renamed {old!r} to {new!r}")
