"""Chat completions over the lean transport, shared by the openai, azure and relay providers.

The three endpoint types differ only in URL, auth header and a few quirks, so each of their
modules builds a ``ChatEndpoint`` and this module does the request body, streaming and
non-streaming parsing, the stream_options fallback and the reasoning-model quirks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import suppress
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chatcli.errors import APIError, ChatcliError
from chatcli.events import Notice, StreamEvent
from chatcli.pricing import ModelInfo
from chatcli.providers import answers
from chatcli.providers.base import (
    AudioRequest,
    ChatRequest,
    Image,
    ImageJob,
    ResponseFormat,
    SpeechRequest,
)
from chatcli.providers.endpoint import ChatEndpoint
from chatcli.providers.guards import masked as _masked
from chatcli.providers.guards import refused_reasoning, refused_tools
from chatcli.providers.modelmeta import ListedModel, listed, window_of
from chatcli.providers.quirks import COMPLETION_PARAMS, Quirks, rejects_classic_params
from chatcli.providers.shapes import excerpt
from chatcli.providers.transport import Transport
from chatcli.settings.loading import Profile

if TYPE_CHECKING:
    from chatcli.providers.audio import AudioClient
    from chatcli.providers.batches import BatchAPI


class ChatProvider:
    """A ``Provider`` speaking the OpenAI chat-completions protocol through ``Transport``."""

    def __init__(
        self,
        profile: Profile,
        endpoint: ChatEndpoint,
        transport: Transport,
        model_info: Callable[[str], ModelInfo],
        *,
        key: str,
        debug: bool = False,
    ) -> None:
        self.name = profile.name
        self.profile = profile
        self.endpoint = endpoint
        self.deployment_only = not endpoint.send_model
        self.url_setting = endpoint.url_setting
        self.transport = transport
        self.model_info = model_info
        self._stream_usage = endpoint.stream_usage
        self._key = key
        self._debug = debug
        self._audio: AudioClient | None = None
        self._audio_lock = threading.Lock()
        self.quirks = Quirks()
        self._stated: dict[str, int] | None = None  # ``stated_windows``, once asked
        self.reasoning_kept: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        """A function call's id -> (model, the reasoning items that came with it): sent back
        in the turn's next tool round over the Responses API (``wire``); never stored."""
        self.temperature_told: set[str] = set()
        """Models already said to take no temperature (``no_temperature``)."""

    def no_temperature(self, request: ChatRequest) -> Iterator[Notice]:
        """The notice that ``request.model`` takes no temperature and none is sent: once per
        model for this provider (a REPL's turns, a tool loop's rounds and a fallback from one
        API to the other say it once)."""
        if request.temperature is not None and request.model not in self.temperature_told:
            self.temperature_told.add(request.model)
            yield Notice(f"{request.model} does not take a temperature; not sent")

    def completion_params(self, request: ChatRequest) -> bool:
        """Whether the request's model takes max_completion_tokens and no temperature: known
        so, or learnt from this endpoint's 400 earlier (``providers/quirks.py``; asked only
        when the request sets either, since otherwise the body is the same)."""
        if self.model_info(request.model).reasoning:
            return True
        if request.temperature is None and request.max_tokens is None:
            return False
        return self.quirks.get(self.name, request.model, "params") == COMPLETION_PARAMS

    def body(
        self, request: ChatRequest, *, stream_usage: bool, completion: bool | None = None
    ) -> dict[str, Any]:
        """The JSON body; reasoning models get max_completion_tokens and no temperature."""
        if completion is None:
            completion = self.completion_params(request)
        body: dict[str, Any] = {"messages": request.messages}
        if self.endpoint.send_model:
            body["model"] = request.model
        if request.temperature is not None and not completion:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            key = "max_completion_tokens" if completion else "max_tokens"
            body[key] = request.max_tokens
        if request.stream:
            body["stream"] = True
            if stream_usage:
                body["stream_options"] = {"include_usage": True}
        if request.response_format is not None:
            body["response_format"] = response_format(request.response_format)
        if request.tools:
            body["tools"] = [{"type": "function", "function": spec} for spec in request.tools]
        if request.reasoning:
            body["reasoning_effort"] = request.reasoning
        if request.service_tier:
            body["service_tier"] = request.service_tier
        body.update(request.extra)
        return body

    def chat(self, request: ChatRequest) -> Generator[StreamEvent, None, None]:
        """Send ``request``; yield text deltas, usage and a finish event (or raise). Over chat
        completions or the Responses API, as ``providers/wire.py`` decides."""
        from chatcli.providers import wire

        return wire.send(self, request)

    def completions(self, request: ChatRequest) -> Generator[StreamEvent, None, None]:
        """``request`` over chat completions."""
        completion = self.completion_params(request)
        if completion:
            yield from self.no_temperature(request)
        fallback: list[Notice] = []
        use_usage = request.stream and self._stream_usage

        def body() -> dict[str, Any]:
            return self.body(request, stream_usage=use_usage, completion=completion)

        def on_status(status: int, text: str) -> bool:
            nonlocal use_usage, completion
            if not completion and rejects_classic_params(status, text):
                completion = True  # once: the fixed body is not refused for this again
                self.quirks.set(self.name, request.model, "params", COMPLETION_PARAMS)
                self.temperature_told.add(request.model)  # this notice says it
                fallback.append(
                    Notice(
                        f"{request.model} takes max_completion_tokens and no temperature; "
                        f"sent again so (remembered for profile {self.name})"
                    )
                )
                return True
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
        opened = self.transport.open(
            "POST", url, headers=self.endpoint.headers, json_body=body, on_status=on_status
        )
        refusals = refused_reasoning(opened, request.reasoning, request.model)
        for item in refused_tools(refusals, bool(request.tools)):
            if isinstance(item, Notice):
                yield item
            else:
                response = item
            yield from fallback
            fallback.clear()
        assert response is not None
        try:
            offered = bool(
                request.tools or request.extra.get("tools") or request.extra.get("functions")
            )
            if request.stream and self.transport.streamed(response):
                yield from self._stream(response, offered)
            else:
                yield from self._whole(response, offered)
        finally:
            response.close()

    def chat_url(self, model: str) -> str:
        """The URL a chat request for ``model`` goes to (shown by doctor and verify)."""
        return self.endpoint.url_for(model)

    def turn_url(self, model: str) -> str:
        """The URL a conversation turn for ``model`` goes to now (``providers/wire.py``)."""
        from chatcli.providers import wire

        url = self.endpoint.responses_url
        if url is not None and wire.choose(self, model) == "responses":
            return url
        return self.chat_url(model)

    def warm(self, model: str) -> None:
        """Pay the HTTP client's one-off costs (httpx2 import, TLS context) ahead of a request."""
        self.transport.client(self.endpoint.url_for(model))

    def close(self) -> None:
        """Close the connection pools; the provider reopens them if used again."""
        self.transport.close()
        self.quirks.close()
        if self._audio is not None:
            self._audio.close()
            self._audio = None

    def abort(self) -> None:
        """Cut every open connection (see ``Transport.abort``)."""
        self.transport.abort()

    def transcribe(self, filename: str, data: bytes, mime: str, request: AudioRequest) -> str:
        """Speech to text for one upload (through the SDK: multipart is rare and its encoder
        is worth its import cost there); the response body as text."""
        with self._audio_lock:  # ``transcribe`` uploads several inputs at once
            if self._audio is None:
                from chatcli.providers.audio import AudioClient

                self._audio = AudioClient(self.profile, self.endpoint, self._key,
                                          self.transport.clock, debug=self._debug,
                                          cutoff=self.transport.cutoff)  # fmt: skip
            audio = self._audio
        return audio.transcribe(filename, data, mime, request)

    def batches(self, on_notice: Callable[[Notice], None]) -> BatchAPI:
        """The Files and Batches APIs of this endpoint, on the same transport and key."""
        from chatcli.providers.batches import BatchAPI

        return BatchAPI(self.endpoint, self.transport, on_notice)

    def speak(self, request: SpeechRequest) -> bytes:
        """Text to speech: the audio bytes."""
        from chatcli.providers.speech import synthesize

        return synthesize(self.profile, self.endpoint, request, key=self._key,
                          clock=self.transport.clock, debug=self._debug,
                          cutoff=self.transport.cutoff)  # fmt: skip

    def images(self, job: ImageJob) -> list[Image]:
        """Generate, edit or vary images; their bytes (returned URLs downloaded)."""
        from chatcli.providers import images

        return images.create(self.profile, self.endpoint, job, key=self._key,
                             clock=self.transport.clock, debug=self._debug,
                             cutoff=self.transport.cutoff)  # fmt: skip

    def get_json(self, url: str) -> Any:
        """GET ``url`` with this endpoint's auth, retries and error mapping."""
        response = self.transport.send("GET", url, headers=self.endpoint.headers)
        try:
            return self.transport.read_json(response)
        finally:
            response.close()

    def billing(self, *routes: str) -> tuple[str, list[Any]]:
        """GET ``routes`` (``subscription``, ``usage?...``) of the dashboard billing API relays
        implement, all from the first base that has them: the API root, then the bare origin.
        Returns that base and the JSON bodies; ``APIError`` (404) when neither has them."""
        root = self.endpoint.root
        if root is None or self.endpoint.no_billing:
            what = self.endpoint.no_billing or self.endpoint.label
            where = "its dashboard" if self.endpoint.no_billing else f"the {what} portal"
            raise ChatcliError(
                f"profile {self.name!r} is {what}, which has no balance endpoint",
                hint=f"see cost and quota in {where}; `chatcli usage` shows what chatcli spent",
            )
        scheme, _, rest = root.partition("://")
        origin = f"{scheme}://{rest.split('/', 1)[0]}"
        bases = [f"{b}/dashboard/billing" for b in dict.fromkeys((root, origin))]
        for i, base in enumerate(bases):
            try:
                return base, [self.get_json(f"{base}/{route}") for route in routes]
            except APIError as exc:
                if exc.status not in (404, 405) or i == len(bases) - 1:
                    raise
        raise AssertionError("unreachable")

    def raw_complete(self, request: ChatRequest, on_notice: Callable[[Notice], None]) -> Any:
        """One non-streamed completion, its JSON body as the endpoint sent it (verify's probes
        read fields the event stream does not carry)."""
        body = self.body(replace(request, stream=False), stream_usage=False)
        response = self.transport.send(
            "POST", self.chat_url(request.model), headers=self.endpoint.headers,
            json_body=body, on_notice=on_notice,
        )  # fmt: skip
        try:
            return self.transport.read_json(response)
        finally:
            response.close()

    def raw_stream(
        self, request: ChatRequest, on_notice: Callable[[Notice], None]
    ) -> tuple[list[Any], bool]:
        """``request`` streamed with usage asked for: the raw chunks, and False when the
        endpoint answered with one JSON body instead of a stream."""
        body = self.body(replace(request, stream=True), stream_usage=True)
        response = self.transport.send(
            "POST", self.chat_url(request.model), headers=self.endpoint.headers,
            json_body=body, on_notice=on_notice,
        )  # fmt: skip
        try:
            if not self.transport.streamed(response):
                obj = self.transport.read_json(response)
                return ([obj] if isinstance(obj, dict) else []), False
            return list(self.transport.events(response, carries=answers.carries)), True
        finally:
            response.close()

    def list_models(self) -> list[str]:
        """Every model id the endpoint lists (relays list many non-gpt names), sorted."""
        return [m.id for m in self.model_list()]

    def context_window(self, model: str) -> int | None:
        """The context window the endpoint states for ``model`` (OpenRouter's
        ``context_length``, vLLM's ``max_model_len`` in ``/models``; a LiteLLM proxy's
        ``/model/info``), asked once per profile and model and remembered; None when it
        states none. Failures are not errors here: the window then stays unknown."""
        if not self.endpoint.states_windows:
            return None  # the official list and Azure's deployments state none
        known = self.quirks.get(self.name, model, "context_window")
        if known is not None:
            return int(known) if known.isdigit() and int(known) > 0 else None
        window: int | None = None
        with suppress(ChatcliError):
            window = next((m.context_window for m in self.model_list() if m.id == model), None)
        if window is None:
            window = self.stated_windows().get(model)
        self.quirks.set(self.name, model, "context_window", str(window or 0))
        return window

    def stated_windows(self) -> dict[str, int]:
        """Model name -> the context window a LiteLLM-style ``/model/info`` states (asked once
        per provider; {} where the endpoint has no such route or states none): what ``ask``
        learns for its model, and what ``models`` shows for the ones its list states none
        for."""
        if self._stated is not None:
            return self._stated
        self._stated = {}
        if not self.endpoint.states_windows or self.endpoint.root is None:
            return self._stated
        try:
            info = self.get_json(f"{self.endpoint.root.removesuffix('/v1')}/model/info")
        except ChatcliError:
            return self._stated
        items = info.get("data") if isinstance(info, dict) else None
        for item in items if isinstance(items, list) else []:
            name = item.get("model_name") if isinstance(item, dict) else None
            if isinstance(name, str) and name not in self._stated:
                window = window_of(item)
                if window is not None:
                    self._stated[name] = window
        return self._stated

    def model_list(self) -> list[ListedModel]:
        """The endpoint's models with what the list says of them (context window, shutdown
        date), sorted by id."""
        if self.endpoint.models_url is None:
            return []
        obj = self.get_json(self.endpoint.models_url)
        items = obj.get("data") if isinstance(obj, dict) else obj
        if not isinstance(items, list):
            raise APIError(
                f"malformed model list: {excerpt(obj, 120)}",
                hint="the endpoint is not answering like an OpenAI-compatible API",
            )
        return listed(items)

    def _stream(self, response: Any, tools: bool) -> Iterator[StreamEvent]:
        stream = self.transport.events(response, carries=answers.carries, finishes=finishes)
        events = answers.stream_events(stream, completed=lambda: stream.done, tools_offered=tools)
        yield from _masked(events)

    def _whole(self, response: Any, tools: bool) -> Iterator[StreamEvent]:
        yield from answers.whole_events(self.transport.read_json(response), tools_offered=tools)


def finishes(chunk: dict[str, Any]) -> bool:
    """Whether a stream chunk ends choice 0's answer (a ``finish_reason``): what follows is
    only its usage and ``[DONE]``, waited for briefly (``transport.FINISH_GRACE``), since
    some relays send neither and keep the connection open."""
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        return False
    return any(
        isinstance(c, dict)
        and c.get("index", i) == 0
        and isinstance(c.get("finish_reason"), str)
        and bool(c["finish_reason"])
        for i, c in enumerate(choices)
    )


def response_format(fmt: ResponseFormat) -> dict[str, Any]:
    """Chat Completions' ``response_format`` for structured output."""
    if fmt.json_object:
        return {"type": "json_object"}
    spec = {"name": fmt.name, "schema": fmt.schema, "strict": fmt.strict}
    return {"type": "json_schema", "json_schema": spec}


def names_stream_options(text: str) -> bool:
    """Whether an error message blames ``stream_options`` (the only reason to resend without)."""
    lowered = text.lower()
    return "stream_options" in lowered or "include_usage" in lowered
