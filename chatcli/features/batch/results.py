"""``batch results``: a finished job's answers in input order, as files or one JSONL.

The provider returns results in any order; they are stored per request index, so reading the
store in index order is input order. Rows are streamed from the store, never all held at once.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, TextIO

from chatcli.environment import Environment
from chatcli.errors import ChatcliError, UsageError
from chatcli.output import err, json_text
from chatcli.pricing import json_usd
from chatcli.store.jobs import ResultRow

SHOWN_FAILURES = 10


def as_object(row: ResultRow, structured: bool = False) -> dict[str, Any]:
    """The JSONL object of one request: input id, answer, usage, cost and error; a
    ``--schema`` request's validated JSON also under ``data``. A failed request that got an
    answer (not valid against its schema, cut at the token limit, stopped by the content
    filter) keeps that paid-for text under ``answer``, beside the ``error``."""
    usage = None
    if row.prompt_tokens is not None or row.completion_tokens is not None:
        usage = {
            "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens,
            "cached_tokens": row.cached_tokens or 0,
            "reasoning_tokens": row.reasoning_tokens or 0,
        }
    obj = {
        "id": row.input_id,
        "model": row.served_model or row.model,
        "answer": row.answer if row.state in ("done", "failed") else None,
        "finish_reason": row.finish_reason,
        "usage": usage,
        "cost_usd": json_usd(row.cost_usd),
        "error": row.error if row.state != "done" else None,
    }
    if structured:
        obj["data"] = json.loads(row.answer) if row.state == "done" and row.answer else None
    return obj


def write_jsonl(
    rows: Iterator[ResultRow], write: Callable[[str], None],
    structured: AbstractSet[int] = frozenset(),
) -> list[ResultRow]:  # fmt: skip
    """One JSON object per request, in input order (with ``data`` for every request when
    some in ``structured`` asked for JSON), each line to ``write`` (``output.out`` or a file's
    ``emit``); returns the failed rows."""
    failed = []
    for row in rows:
        obj = as_object(row, bool(structured) and row.idx in structured)
        if structured:
            obj.setdefault("data", None)
        write(json_text(obj) + "\n")
        if row.state != "done":
            failed.append(row)
    return failed


def write_files(
    rows: Iterator[ResultRow],
    directory: Path,
    total: int,
    structured: AbstractSet[int] = frozenset(),
) -> list[ResultRow]:
    """One ``NNNN-<id>.txt`` answer file per succeeded request (numbered in input order;
    ``.json`` for the requests in ``structured``)."""
    from chatcli.settings.paths import ensure_private_dir

    try:
        ensure_private_dir(directory)  # 0700, missing parents too, as every folder chatcli makes
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror or exc}") from None
    width = len(str(total))
    failed = []
    for row in rows:
        if row.state != "done":
            failed.append(row)
            continue
        suffix = ".json" if row.idx in structured else ".txt"
        name = f"{row.idx + 1:0{width}d}-{_slug(row.input_id)}{suffix}"
        written = row.idx - len(failed)
        with output_file(directory / name, f"{written} answer file(s) written before it") as f:
            f.write((row.answer or "") + "\n")
    return failed


@contextlib.contextmanager
def output_file(path: Path, progress: str = "") -> Iterator[TextIO]:
    """Write ``path`` as ``>`` would (``outputs.written``: a FIFO, ``/dev/stdout`` or a
    link's target written through, a regular file whole or not at all), so a full disk never
    leaves a half answer that looks complete; the failure is one ChatcliError saying the
    answers are still in the database."""
    from chatcli.features.outputs import written

    try:
        with written(path) as f:
            yield f
    except OSError as exc:
        done = f" ({progress})" if progress else ""
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
        fix = "free some space" if full else "give another path"
        fix += " and run it again"
        raise ChatcliError(
            f"cannot write {path}: {exc.strerror or exc}{done}",
            hint=f"the answers are kept in the database: {fix}",
        ) from None


def _slug(text: str) -> str:
    """A file-name-safe form of an input id (paths lose their directories)."""
    base = text.replace("\\", "/").rsplit("/", 1)[-1]
    slug = re.sub(r"[^\w.-]+", "_", base).strip("._")
    return slug[:60] or "input"


def report_failures(
    environment: Environment, failed: list[ResultRow], job: str, *, hint: bool = True
) -> None:
    """List failed requests on stderr with the command that resubmits them (``hint``: said
    here, not by the error the command ends with)."""
    if not failed:
        return
    err(environment, f"chatcli: {len(failed)} request(s) failed:")
    for row in failed[:SHOWN_FAILURES]:
        err(environment, f"  {row.input_id}: {row.error or row.state}")
    if len(failed) > SHOWN_FAILURES:
        more = len(failed) - SHOWN_FAILURES
        err(environment, f"  … and {more} more (see the JSONL's error field)")
    if hint:
        err(environment, f"hint: chatcli batch retry {job}  # submits only these")
