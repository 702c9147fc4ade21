"""What the ``sessions`` commands print: listings, transcripts and exports of stored sessions."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from chatcli.errors import UsageError
from chatcli.output import emit
from chatcli.pricing import json_usd
from chatcli.safetext import one_line
from chatcli.store import MessageRow, SessionRow, Store, content_text, open_default


def _get(store: Store, name: str) -> SessionRow:
    row = store.get_session(name)
    if row is None:
        raise UsageError(f"no session named {name!r}", hint="see: chatcli sessions list")
    return row


def _when(ts: datetime) -> str:
    return ts.astimezone().strftime("%Y-%m-%d %H:%M")


def list_sessions(search: str | None, limit: int, as_json: bool) -> None:
    with open_default() as store:
        rows = store.list_sessions(search, limit)
    if as_json:
        out = [
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
        emit(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
        return
    if not rows:
        print("no sessions" + (f" matching {search!r}" if search else ""), file=sys.stderr)
        return
    width = max(len(r.name) for r in rows)
    for r in rows:
        title = one_line(r.title or "", 200)
        kind = "ask" if r.one_shot else "   "
        emit(
            f"{r.name:<{width}}  {_when(r.updated_at)}  {kind}  {r.message_count:>5} msgs  "
            f"{r.model or '-':<18}  {title}\n"
        )


def search(text: str, limit: int, as_json: bool) -> None:
    """Messages containing ``text``, newest first: session, when, who, and a snippet."""
    with open_default() as store:
        hits = store.search_messages(text, limit)
    if as_json:
        out = [
            {
                "session": h.session,
                "message_id": h.message_id,
                "role": h.role,
                "created_at": h.created_at.isoformat(),
                "snippet": h.snippet,
            }
            for h in hits
        ]
        emit(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
        return
    if not hits:
        print(f"no messages contain {text!r}", file=sys.stderr)
        return
    width = max(len(h.session) for h in hits)
    for h in hits:
        who = "you" if h.role == "user" else "ai " if h.role == "assistant" else h.role
        emit(f"{h.session:<{width}}  {_when(h.created_at)}  {who}  {h.snippet}\n")


def _message_dict(m: MessageRow) -> dict[str, Any]:
    return {
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
    }


def _markdown(row: SessionRow, messages: list[MessageRow]) -> str:
    lines = [f"# {row.name}", ""]
    meta = [f"created {_when(row.created_at)}"]
    if row.model:
        meta.append(f"model {row.model}")
    if row.profile:
        meta.append(f"profile {row.profile}")
    lines += ["_" + ", ".join(meta) + "_", ""]
    if row.system:
        lines += ["## System", "", row.system, ""]
    for m in messages:
        heading = "User" if m.role == "user" else "Assistant" if m.role == "assistant" else m.role
        if m.role == "assistant" and m.model:
            heading += f" ({m.model})"
        lines += [f"## {heading}", "", content_text(m.content).rstrip()]
        if isinstance(m.content, list) and any(p.get("type") == "image_url" for p in m.content):
            lines.append("\n_[image attached]_")
        if m.interrupted:
            lines.append("\n_[interrupted]_")
        lines.append("")
    return "\n".join(lines)


def export(name: str, fmt: str, output: Path | None) -> None:
    with open_default() as store:
        row = _get(store, name)
        messages = store.all_messages(row.id)
    if fmt == "json":
        obj = {
            "name": row.name,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
            "profile": row.profile,
            "model": row.model,
            "system": row.system,
            "role": row.role,
            "messages": [_message_dict(m) for m in messages],
        }
        text = json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
    else:
        text = _markdown(row, messages)
    if output is None:
        if fmt != "json" and sys.stdout.isatty():  # stored answers may carry escape sequences
            from chatcli.safetext import sanitize

            text = sanitize(text)
        emit(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"wrote {output}", file=sys.stderr)


def remove(names: list[str]) -> None:
    with open_default() as store:
        for name in names:
            store.delete_session(name)
            print(f"deleted session {name!r}", file=sys.stderr)


def rename(old: str, new: str) -> None:
    with open_default() as store:
        store.rename_session(old, new)
    print(f"renamed {old!r} to {new!r}", file=sys.stderr)
