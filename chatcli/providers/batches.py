"""The Files and Batches APIs (OpenAI ``/v1/files``, ``/v1/batches``; Azure ``/openai/files``,
``/openai/batches`` with ``api-version``: the endpoint's ``files_root`` and ``files_query``),
over the same transport as chat.

Only HTTP lives here: uploading a JSONL file (streamed from disk, never held in memory),
creating, retrieving, listing and cancelling batches, and streaming a result file line by line.
Listing is what makes a killed submit resumable: files are found again by name and batches by
their ``metadata``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from chatcli.errors import APIError
from chatcli.events import Notice
from chatcli.providers import bodies
from chatcli.providers.endpoint import ChatEndpoint
from chatcli.providers.transport import Transport

LIST_PAGE = 100
MAX_RESULT_FILE = 2 << 30
"""A batch's result file: 50,000 answers of up to 40 KB each."""


class BatchAPI:
    """One profile's Files and Batches endpoints."""

    def __init__(
        self,
        endpoint: ChatEndpoint,
        transport: Transport,
        on_notice: Callable[[Notice], None] | None = None,
    ) -> None:
        """``on_notice``: where retry countdowns go (None: stderr, ``transport.send``)."""
        self.transport = transport
        self.on_notice = on_notice
        self.root = endpoint.files_root
        self.headers = endpoint.headers  # auth and the profile's own headers
        self._params = endpoint.files_query
        self.line = endpoint.batch  # the route, and how this Batch API fails
        self.chat_path = self.line.chat_path

    def _url(self, path: str, **params: str | int) -> str:
        query = {**self._params, **{k: str(v) for k, v in params.items()}}
        return f"{self.root}{path}" + (f"?{urlencode(query)}" if query else "")

    def _call(self, method: str, path: str, body: Any = None, **params: str | int) -> Any:
        response = self.transport.send(
            method, self._url(path, **params), headers=self.headers, json_body=body,
            on_notice=self.on_notice,
        )  # fmt: skip
        try:
            obj = self.transport.read_json(response)
        finally:
            response.close()
        if not isinstance(obj, dict):
            raise APIError(f"malformed answer from {path}: {str(obj)[:120]!r}")
        return obj

    # -- files ------------------------------------------------------------------------------

    def upload(self, path: Path, filename: str) -> str:
        """Upload a JSONL file for batch use; returns its file id. The file is streamed."""

        def files() -> dict[str, Any]:
            return {"file": (filename, path.open("rb"), "application/jsonl")}

        response = self.transport.send(
            "POST", self._url("/files"), headers=self.headers, files=files,
            data={"purpose": "batch"}, on_notice=self.on_notice,
        )  # fmt: skip
        try:
            obj = self.transport.read_json(response)
        finally:
            response.close()
        file_id = obj.get("id") if isinstance(obj, dict) else None
        if not isinstance(file_id, str):
            raise APIError(f"the file upload answered without an id: {str(obj)[:120]!r}")
        return file_id

    def find_file(self, filename: str) -> str | None:
        """The id of an uploaded batch file named ``filename`` (newest), or None."""
        obj = self._call("GET", "/files", purpose="batch")
        for item in obj.get("data") or []:
            if isinstance(item, dict) and item.get("filename") == filename:
                return str(item["id"])
        return None

    def lines(self, file_id: str) -> Iterator[str]:
        """The lines of a result file, streamed (each line capped, keys masked: ``bodies``)."""
        path = f"/files/{quote(file_id, safe='')}/content"
        response = self.transport.send(
            "GET", self._url(path), headers=self.headers, on_notice=self.on_notice
        )
        try:
            pieces = bodies.chunks(response, limit=MAX_RESULT_FILE, what="the batch's result file")
            for line in bodies.lines(pieces):
                if line.strip():
                    yield line
        finally:
            response.close()

    # -- batches ----------------------------------------------------------------------------

    def create(
        self, file_id: str, metadata: dict[str, str], route: str | None = None
    ) -> dict[str, Any]:
        """Create a batch over an uploaded file (24 h window) for its lines' ``route``
        (``/v1/responses``; None: chat completions), named as the endpoint type says."""
        endpoint = self.chat_path
        if route is not None:
            endpoint = self.line.responses_endpoint or route
        body = {
            "input_file_id": file_id,
            "endpoint": endpoint,
            "completion_window": "24h",
            "metadata": metadata,
        }
        result: dict[str, Any] = self._call("POST", "/batches", body)
        return result

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/batches/{quote(batch_id, safe='')}")
        return result

    def cancel(self, batch_id: str) -> dict[str, Any]:
        path = f"/batches/{quote(batch_id, safe='')}/cancel"
        result: dict[str, Any] = self._call("POST", path)
        return result

    def find_batch(self, metadata: dict[str, str], limit: int = 1000) -> dict[str, Any] | None:
        """The newest batch whose metadata holds every item of ``metadata``, searching at most
        ``limit`` batches back, or None."""
        after: str | None = None
        seen = 0
        while seen < limit:
            params: dict[str, str | int] = {"limit": LIST_PAGE}
            if after:
                params["after"] = after
            obj = self._call("GET", "/batches", **params)
            items = [b for b in obj.get("data") or [] if isinstance(b, dict)]
            for batch in items:
                found = batch.get("metadata") or {}
                if all(found.get(k) == v for k, v in metadata.items()):
                    return batch
            seen += len(items)
            if not obj.get("has_more") or not items:
                return None
            after = str(items[-1].get("id"))
        return None
