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
from chatcli.features.schema.batch import checked, schema_of, wire_line
from chatcli.features.schema.spec import Schema
from chatcli.providers.batches import BatchAPI
from chatcli.store.jobs import CHUNK, JobRow, Jobs, PartRow, RequestResult
from chatcli.store.records import UsageRecord

TERMINAL = frozenset({"completed", "expired", "cancelled", "failed"})
AZURE_HINT = (
    "Azure runs batches only on a Global-Batch deployment: create one and map the model to it "
    "under [profiles.NAME.deployments]"
)
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
                batch = api.create(file_id, metadata(job, part.part))
            except APIError as exc:
                if api.azure and exc.status in (400, 404):
                    exc.hint = AZURE_HINT
                raise
        jobs.update_part(
            job.id, part.part, step="created", batch_id=str(batch.get("id")),
            status=str(batch.get("status") or "validating"),
        )  # fmt: skip
        note(f"part {part.part}: batch {batch.get('id')} created")


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
    usage_for: Callable[[str, str, dict[str, Any]], UsageRecord | None],
) -> list[PartRow]:
    """Ask the provider about every running part; collect the results of finished ones."""
    for part in jobs.parts(job.id):
        if part.step != "created" or part.batch_id is None:
            continue
        batch = api.retrieve(part.batch_id)
        status = str(batch.get("status") or "unknown")
        counts = batch.get("request_counts") or {}
        jobs.update_part(
            job.id, part.part, status=status,
            completed=int(counts.get("completed") or 0), failed=int(counts.get("failed") or 0),
            output_file_id=batch.get("output_file_id"), error_file_id=batch.get("error_file_id"),
            error=_batch_error(batch),
        )  # fmt: skip
        if status in TERMINAL:
            collect(jobs, job, part.part, batch, api, usage_for)
    return jobs.parts(job.id)


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
    usage_for: Callable[[str, str, dict[str, Any]], UsageRecord | None],
) -> None:
    """Read the output and error files into the store (idempotent), then close the part."""
    models: dict[int, str] = {}
    schemas: dict[int, Schema] = {}  # --schema lines: their answers are checked
    seen: dict[str, Schema] = {}
    for idx, model, line in jobs.lines(job.id, part, state="pending"):
        models[idx] = model
        schema = schema_of(line, seen)
        if schema is not None:
            schemas[idx] = schema
    for key in ("output_file_id", "error_file_id"):
        file_id = batch.get(key)
        if not file_id or not models:
            continue
        chunk: list[tuple[RequestResult, UsageRecord | None]] = []
        for line in api.lines(str(file_id)):
            parsed = parse_line(line, models, usage_for)
            if parsed is not None:
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
    jobs.fail_pending(job.id, reason, part)
    jobs.update_part(job.id, part, step="collected")


def parse_line(
    line: str,
    models: dict[int, str],
    usage_for: Callable[[str, str, dict[str, Any]], UsageRecord | None],
) -> tuple[RequestResult, UsageRecord | None] | None:
    """One output or error line -> the request's result and its usage-log entry."""
    try:
        obj = json.loads(line)
        idx = int(str(obj["custom_id"]).removeprefix("r"))
    except (ValueError, KeyError, TypeError):
        return None
    if idx not in models:
        return None
    response = obj.get("response") or {}
    error = obj.get("error")
    body = response.get("body") if isinstance(response, dict) else None
    status = response.get("status_code") if isinstance(response, dict) else None
    if error or status != 200 or not isinstance(body, dict):
        detail = error if error else (body.get("error") if isinstance(body, dict) else None)
        text = _error_text(detail) or f"HTTP {status}"
        failed = usage_for(models[idx], "error", body) if isinstance(body, dict) else None
        return RequestResult(idx, ok=False, error=text), failed
    choice = (body.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    usage = body.get("usage") or {}
    record = usage_for(models[idx], "ok", body)
    return RequestResult(
        idx,
        ok=True,
        answer=str(reply.get("content") or ""),
        served_model=body.get("model"),
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        cost_usd=record.cost_usd if record else None,
    ), record


def _error_text(detail: Any) -> str | None:
    if isinstance(detail, dict):
        code = detail.get("code")
        message = detail.get("message") or code
        return f"{message} ({code})" if code and message != code else str(message or "")
    return str(detail) if detail else None
