"""A job on the provider's Batch API: upload and create each part, follow it, collect results.

Each call that changes something at the provider is recorded as begun before it is made and
as done after (``PartRow.step``). A part found at ``uploading`` or ``creating`` after a crash
may or may not have reached the provider, so the file is looked up by its name and the batch by
its metadata (job name + part number) before anything is sent again: one job never uploads or
creates the same part twice.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatcli.errors import APIError
from chatcli.features.batch.lines import Unreadable, UsageFor, read_line
from chatcli.features.batch.route import is_responses, wire_line
from chatcli.features.schema.batch import checked, schema_of
from chatcli.features.schema.spec import Schema
from chatcli.providers.batches import BatchAPI
from chatcli.providers.shapes import excerpt
from chatcli.safetext import one_line
from chatcli.store.jobs import CHUNK, JobRow, Jobs, PartRow, RequestResult
from chatcli.store.records import UsageRecord

TERMINAL = frozenset({"completed", "expired", "cancelled", "failed"})
_MISSING = {
    "completed": "the provider returned no result for this request",
    "expired": "the batch expired (24 h window) before this request ran",
    "cancelled": "the batch was cancelled before this request ran",
    "failed": "the batch failed",
}


def file_name(job: JobRow, part: int) -> str:
    return f"chatcli-{job.name}-part{part}.jsonl"


def metadata(job: JobRow, part: int) -> dict[str, str]:
    return {"chatcli_job": job.name, "chatcli_part": str(part)}


def submit_parts(jobs: Jobs, job: JobRow, api: BatchAPI, note: Callable[[str], None]) -> None:
    """Upload and create every part not created yet (resuming after a crash)."""
    for part in jobs.parts(job.id):
        if part.step in ("created", "collected"):
            continue
        file_id = part.file_id
        if file_id is None:
            file_id = _upload(jobs, job, part, api, note)
        batch = None
        if part.step == "creating":  # a create may have reached the provider: look first
            batch = api.find_batch(metadata(job, part.part))
        if batch is None:
            jobs.update_part(job.id, part.part, step="creating")
            try:
                batch = api.create(file_id, metadata(job, part.part), _route(jobs, job, part))
            except APIError as exc:
                if api.line.failure_hint and exc.status in (400, 404):
                    exc.hint = api.line.failure_hint
                raise
        jobs.update_part(
            job.id, part.part, step="created", batch_id=str(batch.get("id")),
            status=str(batch.get("status") or "validating"),
        )  # fmt: skip
        note(f"part {part.part}: batch {batch.get('id')} created")


def _route(jobs: Jobs, job: JobRow, part: PartRow) -> str | None:
    """The route a part's lines name (all lines of a job share it), or None for chat."""
    for _idx, _model, line in jobs.lines(job.id, part.part):
        return str(json.loads(line).get("url")) if is_responses(line) else None
    return None


def _upload(
    jobs: Jobs, job: JobRow, part: PartRow, api: BatchAPI, note: Callable[[str], None]
) -> str:
    name = file_name(job, part.part)
    file_id = api.find_file(name) if part.step == "uploading" else None
    if file_id is None:
        jobs.update_part(job.id, part.part, step="uploading")
        with tempfile.TemporaryDirectory(prefix="chatcli-batch-") as tmp:
            path = Path(tmp) / name
            with path.open("w", encoding="utf-8") as f:
                for _idx, _model, line in jobs.lines(job.id, part.part):
                    f.write(wire_line(line) + "\n")
            note(f"part {part.part}: uploading {part.requests} requests ({_size(part.bytes)})")
            file_id = api.upload(path, name)
    jobs.update_part(job.id, part.part, step="uploaded", file_id=file_id)
    return file_id


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def refresh(
    jobs: Jobs,
    job: JobRow,
    api: BatchAPI,
    usage_for: UsageFor,
) -> list[PartRow]:
    """Ask the provider about every running part; collect the results of finished ones."""
    for part in jobs.parts(job.id):
        if part.step != "created" or part.batch_id is None:
            continue
        batch = api.retrieve(part.batch_id)
        status = _status(batch, part.batch_id)
        counts = batch.get("request_counts")
        counts = counts if isinstance(counts, dict) else {}
        jobs.update_part(
            job.id, part.part, status=status,
            completed=_count(counts.get("completed")), failed=_count(counts.get("failed")),
            output_file_id=_file_id(batch, "output_file_id"),
            error_file_id=_file_id(batch, "error_file_id"),
            error=_batch_error(batch),
        )  # fmt: skip
        if status in TERMINAL:
            collect(jobs, job, part.part, batch, api, usage_for)
    return jobs.parts(job.id)


def _status(batch: Any, batch_id: str) -> str:
    """The status of a batch object the provider sent; an answer that is no batch object
    (no ``status`` string, or another ``object``: a relay answering every path alike, a
    wrong ``base_url``) is a malformed answer (exit 5), never a batch still running, which
    ``batch wait`` would poll for ever."""
    status = batch.get("status") if isinstance(batch, dict) else None
    kind = batch.get("object", "batch") if isinstance(batch, dict) else None
    if isinstance(status, str) and status.strip() and kind in ("batch", None):
        return one_line(status, 40)
    raise APIError(
        f"malformed answer about batch {batch_id}: not a batch object: {excerpt(batch, 160)}",
        hint="the endpoint is not answering like the Batch API; check base_url",
    )


def _file_id(batch: dict[str, Any], key: str) -> str | None:
    """A file id the provider named, when it is a plausible one (a short string)."""
    value = batch.get(key)
    return value if isinstance(value, str) and 0 < len(value) <= 200 else None


def _count(value: Any) -> int:
    """A progress count as shown by ``status``; one of the wrong type or sign is 0."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**9:
        return 0
    return value


def _batch_error(batch: dict[str, Any]) -> str | None:
    errors = batch.get("errors")
    data = errors.get("data") if isinstance(errors, dict) else errors
    if not isinstance(data, list) or not data:
        return None
    first = data[0] if isinstance(data[0], dict) else {}
    message = str(first.get("message") or first.get("code") or "the batch failed")
    more = f" (and {len(data) - 1} more)" if len(data) > 1 else ""
    return message + more


def collect(
    jobs: Jobs,
    job: JobRow,
    part: int,
    batch: dict[str, Any],
    api: BatchAPI,
    usage_for: UsageFor,
) -> None:
    """Read the output and error files into the store (idempotent), then close the part."""
    models: dict[int, str] = {}
    sizes: dict[int, int] = {}  # request lengths, for estimates where usage is unusable
    schemas: dict[int, Schema] = {}  # --schema lines: their answers are checked
    seen: dict[str, Schema] = {}
    responses: set[int] = set()  # requests on the Responses API: their own parser
    for idx, model, line in jobs.lines(job.id, part, state="pending"):
        models[idx], sizes[idx] = model, len(line)
        if is_responses(line):
            responses.add(idx)
        schema = schema_of(line, seen)
        if schema is not None:
            schemas[idx] = schema
    unreadable: list[str] = []
    for key in ("output_file_id", "error_file_id"):
        file_id = _file_id(batch, key)
        if not file_id or not models:
            continue
        chunk: list[tuple[RequestResult, UsageRecord | None]] = []
        for line in api.lines(str(file_id)):
            if not line.strip():
                continue
            parsed = read_line(line, models, sizes, usage_for, responses)
            if isinstance(parsed, Unreadable):
                unreadable.append(parsed.problem)
            else:
                result, record = parsed
                chunk.append((checked(result, schemas.get(result.idx)), record))
            if len(chunk) >= CHUNK:
                jobs.record(job.id, chunk)
                chunk = []
        jobs.record(job.id, chunk)
    status = str(batch.get("status"))
    reason = _MISSING.get(status, f"the batch ended as {status}")
    if status == "failed":
        reason = f"the batch failed: {_batch_error(batch) or 'no reason given'}"
    if unreadable:
        more = f" and {len(unreadable) - 1} more" if len(unreadable) > 1 else ""
        reason += f"; the provider's files held {unreadable[0]}{more}"
    jobs.fail_pending(job.id, reason, part)
    jobs.update_part(job.id, part, step="collected")
