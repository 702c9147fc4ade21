"""Chat completions over the lean transport, shared by the openai, azure and relay providers.

The three endpoint types differ only in URL, auth header and a few quirks, so each of their
modules builds a ``ChatEndpoint`` and this module does the request body, streaming and
non-streaming parsing, the stream_options fallback and the reasoning-model quirks.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from chatcli.errors import APIError
from chatcli.events import Notice, StreamEvent
from chatcli.pricing import ModelInfo
from chatcli.providers import answers
from chatcli.providers.base import ChatRequest
from chatcli.providers.transport import Transport
from chatcli.safetext import one_line


@dataclass(frozen=True)
class ChatEndpoint:
    """Where and how to send chat completions for one profile."""

    url_for: Callable[[str], str]  # model -> full chat/completions URL
    headers: dict[str, str]
    stream_usage: bool = True  # send stream_options.include_usage
    send_model: bool = True
    models_url: str | None = None  # GET: the models the endpoint offers
    root: str | None = None  # base for other OpenAI-style routes (billing)


class ChatProvider:
    """A ``Provider`` speaking the OpenAI chat-completions protocol through ``Transport``."""

    def __init__(
        self,
        name: str,
        endpoint: ChatEndpoint,
        transport: Transport,
        model_info: Callable[[str], ModelInfo],
    ) -> None:
        self.name = name
        self.endpoint = endpoint
        self.transport = transport
        self.model_info = model_info
        self._stream_usage = endpoint.stream_usage

    def body(self, request: ChatRequest, *, stream_usage: bool) -> dict[str, Any]:
        """The JSON body; reasoning models get max_completion_tokens and no temperature."""
        info = self.model_info(request.model)
        body: dict[str, Any] = {"messages": request.messages}
        if self.endpoint.send_model:
            body["model"] = request.model
        if request.temperature is not None and not info.reasoning:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            key = "max_completion_tokens" if info.reasoning else "max_tokens"
            body[key] = request.max_tokens
        if request.stream:
            body["stream"] = True
            if stream_usage:
                body["stream_options"] = {"include_usage": True}
        body.update(request.extra)
        return body

    def chat(self, request: ChatRequest) -> Generator[StreamEvent, None, None]:
        """Send ``request``; yield text deltas, usage and a finish event (or raise)."""
        info = self.model_info(request.model)
        if request.temperature is not None and info.reasoning:
            yield Notice(f"{request.model} does not take a temperature; not sent")
        fallback: list[Notice] = []
        use_usage = request.stream and self._stream_usage

        def body() -> dict[str, Any]:
            return self.body(request, stream_usage=use_usage)

        def on_status(status: int, text: str) -> bool:
            nonlocal use_usage
            if use_usage and status in (400, 422) and names_stream_options(text):
                use_usage = False  # for this request only: other errors must not turn it off
                fallback.append(
                    Notice(
                        f"the endpoint refused stream_options ({status}); retrying without it "
                        "(set stream_usage = false in this profile to skip this; "
                        "usage is then estimated)"
                    )
                )
                return True
            return False

        url = self.endpoint.url_for(request.model)
        response = None
        for item in self.transport.open(
            "POST",
            url,
            headers=self.endpoint.headers,
            json_body=body,
            stream=request.stream,
            on_status=on_status,
        ):
            if isinstance(item, Notice):
                yield item
            else:
                response = item
            yield from fallback
            fallback.clear()
        assert response is not None
        try:
            content_type = response.headers.get("content-type", "")
            if request.stream and "json" not in content_type:
                yield from self._stream(response)
            else:
                yield from self._whole(response)
        finally:
            response.close()

    def get_json(self, url: str) -> Any:
        """GET ``url`` with this endpoint's auth, retries and error mapping."""
        response = self.transport.send("GET", url, headers=self.endpoint.headers)
        try:
            return self.transport.read_json(response)
        finally:
            response.close()

    def list_models(self) -> list[str]:
        """Every model id the endpoint lists (relays list many non-gpt names), sorted."""
        if self.endpoint.models_url is None:
            return []
        obj = self.get_json(self.endpoint.models_url)
        items = obj.get("data") if isinstance(obj, dict) else obj
        if not isinstance(items, list):
            raise APIError(
                f"malformed model list: {str(obj)[:120]!r}",
                hint="the endpoint is not answering like an OpenAI-compatible API",
            )
        ids = {m["id"] for m in items if isinstance(m, dict) and isinstance(m.get("id"), str)}
        return sorted(one_line(i, 200) for i in ids if one_line(i, 200))

    def _stream(self, response: Any) -> Iterator[StreamEvent]:
        yield from answers.stream_events(self.transport.events(response))

    def _whole(self, response: Any) -> Iterator[StreamEvent]:
        yield from answers.whole_events(self.transport.read_json(response))


def names_stream_options(text: str) -> bool:
    """Whether an error message blames ``stream_options`` (the only reason to resend without)."""
    lowered = text.lower()
    return "stream_options" in lowered or "include_usage" in lowered
