"""What the ``sessions`` commands print: listings, transcripts and exports of stored sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatcli.environment import Environment
from chatcli.errors import UsageError
from chatcli.features.outputs import write_output
from chatcli.features.sessions import transcript
from chatcli.features.sessions.transcript import when as _when
from chatcli.output import err, json_text, out
from chatcli.pricing import json_usd
from chatcli.safetext import one_line
from chatcli.store import MessageRow, SessionRow, SessionSummary, Store, open_default


def _get(store: Store, name: str) -> SessionRow:
    row = store.get_session(name)
    if row is None:
        raise UsageError(f"no session named {name!r}", hint="see: chatcli sessions list")
    return row


TITLE_COLUMNS = 60
"""Terminal columns a title takes in ``sessions list`` at most (fewer when the terminal is
narrower): the same for every script, a CJK character taking two."""


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (display width, not characters)."""
    from rich.cells import cell_len

    return text + " " * max(0, width - cell_len(text))


NAME_COLUMNS = 32
"""Terminal columns the name column of ``sessions list`` and ``search`` takes at most (a
fifth of a narrower terminal, but 16 at least: a date name fits): a longer name is cut with
"…" rather than pushing every row past the edge of the terminal."""
MODEL_COLUMNS = 18
"""Terminal columns of the model column of ``sessions list`` (a longer name is cut)."""


def _names_width(environment: Environment, names: list[str]) -> int:
    from rich.cells import cell_len

    cap = NAME_COLUMNS
    if environment.width:
        cap = min(cap, max(16, environment.width // 5))
    return min(cap, max(cell_len(n) for n in names))


def _name_cell(name: str, width: int) -> str:
    """``name`` on one line in ``width`` columns: cut with "…", padded."""
    from chatcli.store.text import cut

    return _pad(cut(one_line(name, 500), width), width)


def listed_title(title: str | None, used: int, width: int | None) -> str:
    """A session's title for a listing line whose other columns take ``used`` columns: at most
    ``TITLE_COLUMNS``, fewer on a terminal ``width`` wide (the last column stays free, so no
    terminal wraps the line), at least 8 (``sessions list``, the REPL's ``/sessions``)."""
    from chatcli.store.text import cut

    room = TITLE_COLUMNS
    if width:
        room = min(room, max(8, width - 1 - used))
    return cut(one_line(title or "", 500), room)


def list_sessions(environment: Environment, search: str | None, limit: int, as_json: bool) -> None:
    with open_default(reading=True) as store:
        rows = store.list_sessions(search, limit)
        more = store.count_sessions(search) - len(rows) if len(rows) == limit else 0
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
        out(environment, json_text(listed, indent=2) + "\n")
    elif not rows:
        err(environment, "no sessions" + (f" matching {search!r}" if search else ""))
    else:
        _list_lines(environment, rows)
    if more > 0:  # on stderr: --json's stdout stays the list alone
        err(environment, f"… and {more} more; -n to show more")


def _list_lines(environment: Environment, rows: list[SessionSummary]) -> None:
    """``sessions list``'s table, one session a line."""
    from rich.cells import cell_len

    width = _names_width(environment, [r.name for r in rows])
    for r in rows:
        kind = "ask" if r.one_shot else "   "
        head = (
            f"{_name_cell(r.name, width)}  {_when(r.updated_at)}  {kind}  "
            f"{r.message_count:>5} msgs  {_name_cell(r.model or '-', MODEL_COLUMNS)}  "
        )
        title = listed_title(r.title or _empty(r), cell_len(head), environment.width)
        out(environment, f"{head}{title}".rstrip() + "\n")


def _empty(r: SessionSummary) -> str:
    """The title of a session with no message on its current branch: kept and listed (a
    ``/save``d name, an undone first turn), but said to be empty."""
    if r.message_count:
        return ""
    if r.elsewhere:
        return f"(empty; {r.elsewhere} msgs on other branches)"  # show --all-branches
    return "(empty)"


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
        out(environment, json_text(listed, indent=2) + "\n")
        return
    if not hits:
        err(environment, f"no messages contain {text!r}")
        return
    width = _names_width(environment, [h.session for h in hits])
    for h in hits:
        who = "you" if h.role == "user" else "ai " if h.role == "assistant" else h.role
        name = _name_cell(h.session, width)
        out(environment, f"{name}  {_when(h.created_at)}  {who}  {h.snippet}\n")


def _message_dict(m: MessageRow, tree: bool = False, *, awaiting: bool = False) -> dict[str, Any]:
    """One message of the JSON export; a user message says the system prompt its turn was
    sent with (where recorded) and whether it still awaits an answer."""
    extra: dict[str, Any] = {}
    if m.role == "user":
        if m.system is not None:
            extra["system"] = m.system or None
        extra["awaiting_answer"] = awaiting
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


_markdown = transcript.current
_markdown_tree = transcript.tree


def _awaiting(branch: list[MessageRow], every: list[MessageRow]) -> set[int]:
    """The user messages awaiting an answer, as the Markdown marks them ``_[no answer]_``: on
    the current ``branch``, those no answer follows; in the tree, those none is attached to."""
    on_branch = {
        m.id
        for n, m in enumerate(branch)
        if m.role == "user" and (n + 1 == len(branch) or branch[n + 1].role != "assistant")
    }
    answered = {m.parent_id for m in every if m.role == "assistant"}
    return on_branch | {m.id for m in every if m.role == "user" and m.id not in answered}


def export(
    environment: Environment, name: str, fmt: str, output: Path | None, all_branches: bool = False
) -> None:
    """A session as Markdown or JSON, to stdout or ``output`` (``-``: stdout too)."""
    if output is not None and str(output) == "-":
        output = None
    with open_default(reading=True) as store:
        row = _get(store, name)
        messages = store.all_messages(row.id)
        every = store.every_message(row.id)
    waiting = _awaiting(messages, every)
    if fmt == "json":
        obj: dict[str, Any] = {
            "name": row.name,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
            "profile": row.profile,
            "model": row.model,
            "system": row.system or None,  # the one its next turn will have
            "role": row.role,
            "forked_from": row.forked_from,
            **({"forked_from_deleted": row.source_deleted} if row.forked_from else {}),
            "messages": [_message_dict(m, awaiting=m.id in waiting) for m in messages],
        }
        if all_branches:
            obj["head_id"] = row.head_id
            obj["all_messages"] = [
                _message_dict(m, tree=True, awaiting=m.id in waiting) for m in every
            ]
        text = json_text(obj, indent=2) + "\n"
    elif all_branches:
        text = _markdown_tree(row, messages, every)
    else:
        text = _markdown(row, messages, every)
    newer = 0 if all_branches else transcript.newer_branches(messages, every)
    if newer:  # another process's turns (or an undone turn): not shown, but not hidden either
        import shlex

        branches = "1 other branch" if newer == 1 else f"{newer} other branches"
        err(environment, f"{branches} of {row.name} {'has' if newer == 1 else 'have'} newer "
            f"messages than the one shown; see: chatcli sessions show {shlex.quote(row.name)} "
            "--all-branches")  # fmt: skip
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
        missing = store.delete_sessions(wanted)  # one transaction: all of them, or none
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        sessions = "session" if len(missing) == 1 else "sessions"
        raise UsageError(
            f"no {sessions} named {listed}",
            hint="nothing was deleted; see: chatcli sessions list",
        )
    for name in wanted:
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
