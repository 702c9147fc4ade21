"""Which wire protocol a chat request goes over (chat completions or the Responses API), and
the two fallbacks between them.

- ``api = "chat"`` / ``"responses"`` in the profile: that protocol, always. A refusal that the
  other protocol would have avoided is an error saying what to set.
- ``api = "auto"`` (the default): Responses where the endpoint module says it is the default
  (``type = "openai"``: the official API and whatever claims to be it), chat completions
  elsewhere (relays, Azure).
- A chat 400 saying the model is "only supported in v1/responses" (OpenAI's words for its pro
  and codex models): the same request is sent again, once, over Responses, one notice says
  so, and the model is remembered for the profile (``endpoint_quirks``: model, ``api`` =
  ``responses``), so the next request goes there first.
- A route-level 404 or 405 on ``/responses`` (not a 404 about the model), a 400 whose message
  names the ``/responses`` URL as unknown (``Invalid URL (POST /v1/responses)``), or a 200
  that is an error envelope saying the route is unknown (LM Studio's ``Unexpected endpoint or
  method. (POST /v1/responses)``): the same request is sent again over chat completions, and
  the profile remembers that its URL has no Responses API (``endpoint_quirks``: model ``*``,
  ``api`` = ``chat <url>``; a profile whose URL changes forgets it). Silent, but for
  ``--debug``: a relay without ``/responses`` is not the user's problem, and the answer they
  get is the same. A 400 about the body or the model is never taken for a missing route.

``raw_complete`` and ``raw_stream`` (verify's probes, which read chat-shaped fields) stay on
chat completions.

A tool round over the Responses API with a reasoning model asks for the reasoning's encrypted
content and sends the items kept from the turn's earlier rounds back (``responses``). A 400
about an item sent back gets the request again without them; one refusing the encrypted
content (``include``) gets it again without asking, and the model is remembered for the
profile (``endpoint_quirks``: ``reasoning_items`` = ``refused``).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chatcli.errors import APIError
from chatcli.events import Finish, Notice, StreamEvent, ToolCalls
from chatcli.providers import responses
from chatcli.providers.base import ChatRequest
from chatcli.providers.guards import (
    masked,
    noted_empty,
    plausible_usage,
    refused_reasoning,
    refused_tools,
)
from chatcli.providers.quirks import COMPLETION_PARAMS, rejects_classic_params

if TYPE_CHECKING:
    from chatcli.providers.chat import ChatProvider
    from chatcli.settings.loading import Profile
    from chatcli.store import Store

API = "api"
"""The quirk that remembers a protocol: per model (``responses``) or for the profile's URL."""
ANY_MODEL = "*"
SUMMARY = "reasoning_summary"
"""The quirk of a model whose reasoning summaries the endpoint refuses (an unverified
organisation at OpenAI): they are not asked for again."""
ENCRYPTED = "reasoning_items"
"""The quirk of a model whose encrypted reasoning the endpoint refuses to give."""
_REFUSED_ITEM = re.compile(
    r"\brs_\w|of type ['\"`]?reasoning\b|could not be (?:verified|decrypted)", re.I
)
"""A 400 about a reasoning item sent back ("Item 'rs_..' of type 'reasoning' was provided
without its required following item", "The encrypted content for item rs_.. could not be
verified")."""
_REFUSED_INCLUDE = re.compile(r"['\"`]include['\"`]|\binclude\[|encrypted[ _]content", re.I)
"""A 400 refusing to give encrypted reasoning ("Encrypted content is not supported with this
model", "Unknown parameter: 'include'")."""

_RESPONSES_ONLY = re.compile(
    r"only\s+(?:be\s+)?(?:supported|available|accessible|usable|served)\s+"
    r"(?:in|on|via|through|with|by)\s+(?:the\s+)?[`'\"]?/?(?:v1/)?responses\b"
    r"|use\s+(?:the\s+)?[`'\"]?/?(?:v1/)?responses[`'\"]?(?:\s+api)?(?:\s+endpoint)?\s+instead"
    r"|not\s+supported\s+(?:in|on|by)\s+(?:the\s+)?[`'\"]?/?(?:v1/)?chat/completions\b"
    r"[^.]*?\b(?:v1/)?responses\b"
    r"|chatcompletion operation does not work with the specified model",  # Azure's words
    re.I,
)
_ABOUT_MODEL = re.compile(r"\bmodel|deployment", re.I)
_UNKNOWN_ROUTE = re.compile(
    r"\b(?:invalid|unknown|unrecogni[sz]ed|unexpected|unsupported)\s+(?:request\s+)?"
    r"(?:url|endpoint|route|path)\b"
    r"|\b(?:url|endpoint|route|path)\s+(?:is\s+)?(?:not\s+found|not\s+supported|unknown)\b"
    r"|\bno\s+(?:such\s+)?(?:route|endpoint)\b",
    re.I,
)
_RESPONSES_URL = re.compile(r"(?:^|[\s(/'\"`])(?:v1/)?responses\b", re.I)


def responses_only(status: int, message: str) -> bool:
    """Whether a chat error says the model is served over the Responses API only."""
    return status in (400, 404, 422) and _RESPONSES_ONLY.search(message) is not None


def route_missing(status: int, message: str) -> bool:
    """Whether an error answer to ``POST /responses`` means the route is not there (a relay
    or local server without it), rather than a model or deployment it does not know: a 405,
    a 404 not about the model, or a 400 (some relays' answer to any unknown URL) whose message
    names the responses URL as unknown (``Invalid URL (POST /v1/responses)``); never a 400
    about the request's body or model."""
    if status == 405 or (status == 404 and _ABOUT_MODEL.search(message) is None):
        return True
    return status == 400 and _unknown_route(message, named=True)


def _unknown_route(message: str, *, named: bool) -> bool:
    """Whether ``message`` says the URL, route or endpoint is unknown (``named``: and names
    the responses URL), not the model."""
    if _UNKNOWN_ROUTE.search(message) is None or _ABOUT_MODEL.search(message) is not None:
        return False
    return not named or _RESPONSES_URL.search(message) is not None


def choose(provider: ChatProvider, model: str) -> str:
    """``"responses"`` or ``"chat"`` for a request of ``model`` on ``provider``'s profile."""
    endpoint, profile = provider.endpoint, provider.profile
    url = endpoint.responses_url
    if url is None or profile.api == "chat":
        return "chat"
    if profile.api == "responses":
        return "responses"
    if endpoint.responses_default:
        from chatcli.settings.loading import OPENAI_URL

        if endpoint.root == OPENAI_URL:
            return "responses"  # the official API has the route: nothing to look up
        noted = provider.quirks.get(profile.name, ANY_MODEL, API)
        return "chat" if noted == f"chat {url}" else "responses"
    return "responses" if provider.quirks.get(profile.name, model, API) == "responses" else "chat"


def batch_over_responses(profile: Profile, model: str, store: Store | None) -> bool:
    """Whether a batch of ``model`` on ``profile`` goes over the Responses API. A batch file
    cannot fall back request by request, so ``auto`` takes Responses only where it is known
    to be served: the official API (on ``openai`` profiles), or a model this profile learnt
    is Responses-only."""
    if profile.api != "auto":
        return profile.api == "responses"
    import importlib

    from chatcli.providers.quirks import Quirks
    from chatcli.settings.endpoint_types import endpoint_type
    from chatcli.settings.loading import OPENAI_URL

    module = importlib.import_module(f"chatcli.providers.{endpoint_type(profile).module}")
    route = getattr(module, "responses_route", None)  # (url, auto takes it), without the key
    if route is None:
        return False
    url, default = route(profile)
    if default and url == f"{OPENAI_URL}/responses":
        return True
    quirks = Quirks(store)
    try:
        return quirks.get(profile.name, model, API) == "responses"
    finally:
        quirks.close()


def send(provider: ChatProvider, request: ChatRequest) -> Generator[StreamEvent, None, None]:
    """``request`` over the protocol ``choose`` picks, with the fallbacks above; a usage
    report the model cannot have produced is dropped (``guards.plausible_usage``) and an
    empty answer is noted (``guards.noted_empty``)."""
    events = _send(provider, request)
    try:
        info = provider.model_info(request.model)
        yield from noted_empty(plausible_usage(events, request, info))
    finally:
        events.close()


def _send(provider: ChatProvider, request: ChatRequest) -> Generator[StreamEvent, None, None]:
    profile = provider.profile
    if choose(provider, request.model) == "responses":
        missing = yield from _over_responses(provider, request, auto=profile.api == "auto")
        if missing:
            yield from provider.completions(request)
        return
    started = [False]
    try:
        yield from _tracked(provider.completions(request), started)
    except APIError as exc:
        status = exc.status or 0
        if started[0] or not responses_only(status, exc.message):
            raise
        if profile.api == "chat" or provider.endpoint.responses_url is None:
            exc.hint = exc.hint or (
                f"{request.model} is served over the Responses API only: set api = "
                f'"auto" (or "responses") in profile {profile.name!r}'
            )
            raise
        provider.quirks.set(profile.name, request.model, API, "responses")
        yield Notice(
            f"{request.model} is served over the Responses API only; sent again over it "
            f"(remembered for profile {profile.name})"
        )
        yield from _over_responses(provider, request, auto=False, switched=True)


def _tracked(events: Generator[StreamEvent, None, None], started: list[bool]) -> Iterator[Any]:
    """``events``, noting in ``started`` once anything but a notice came (then a failure is
    the answer's, not the request's, and nothing is re-sent)."""
    try:
        for event in events:
            if not isinstance(event, Notice):
                started[0] = True
            yield event
    finally:
        close = getattr(events, "close", None)  # a generator: its stream is dropped now
        if close is not None:
            close()


def _over_responses(
    provider: ChatProvider, request: ChatRequest, *, auto: bool, switched: bool = False
) -> Generator[StreamEvent, None, bool]:
    """Send ``request`` to the Responses API and yield its events; returns True (having
    yielded nothing of an answer) when ``auto`` and the endpoint has no such route.
    ``switched``: chat completions refused the model as Responses-only."""
    endpoint, profile, quirks = provider.endpoint, provider.profile, provider.quirks
    url = endpoint.responses_url
    assert url is not None
    completion = provider.completion_params(request)
    if completion:
        yield from provider.no_temperature(request)
    asks_reasoning = bool(request.reasoning) or completion
    summary = asks_reasoning and quirks.get(profile.name, request.model, SUMMARY) is None
    sent = replace(request, model=endpoint.responses_model(request.model))
    later: list[Notice] = []
    missing: list[str] = []
    # a tool loop: the reasoning of the turn's rounds goes back (never to another model)
    loop = bool(request.tools) and quirks.get(profile.name, request.model, ENCRYPTED) is None
    kept = _turn_reasoning(provider, request) if loop else {}

    def body() -> dict[str, Any]:
        out = responses.body(sent, send_model=True, store=profile.store, completion=completion,
                             encrypted=loop and completion, reasoning=kept)  # fmt: skip
        reasoning = out.get("reasoning")
        if not summary and isinstance(reasoning, dict):
            reasoning.pop("summary", None)
            if not reasoning:
                del out["reasoning"]
        return out

    def on_status(status: int, text: str) -> bool:
        nonlocal completion, summary, loop, kept
        if not completion and rejects_classic_params(status, text):
            completion = True
            quirks.set(profile.name, request.model, "params", COMPLETION_PARAMS)
            provider.temperature_told.add(request.model)  # the notice below says it
            later.append(Notice(
                f"{request.model} takes no temperature; sent again without it "
                f"(remembered for profile {profile.name})"
            ))  # fmt: skip
            return True
        lowered = text.lower()
        if summary and status == 400 and "summar" in lowered:
            summary = False  # e.g. "Your organization must be verified to generate reasoning
            quirks.set(profile.name, request.model, SUMMARY, "refused")  # summaries"
            later.append(Notice(
                f"the endpoint refuses reasoning summaries for {request.model}; sent again "
                f"without (remembered for profile {profile.name})"
            ))  # fmt: skip
            return True
        if kept and status == 400 and _REFUSED_ITEM.search(text):
            kept = {}  # this round's only: the next may take what it gives
            later.append(Notice(
                "the endpoint did not take back the reasoning of the previous tool round; "
                "sent again without it"
            ))  # fmt: skip
            return True
        if loop and completion and status == 400 and _REFUSED_INCLUDE.search(text):
            loop, kept = False, {}
            quirks.set(profile.name, request.model, ENCRYPTED, "refused")
            later.append(Notice(
                f"the endpoint refuses encrypted reasoning for {request.model}; sent again "
                f"without it (remembered for profile {profile.name})"
            ))  # fmt: skip
            return True
        if route_missing(status, text):
            missing.append(f"{status}: {text}")
        return False

    opened = provider.transport.open(
        "POST", url, headers=endpoint.headers, json_body=body, on_status=on_status
    )
    response = None
    try:
        refusals = refused_reasoning(opened, request.reasoning, request.model)
        for item in refused_tools(refusals, bool(request.tools)):
            if isinstance(item, Notice):
                yield item
            else:
                response = item
            yield from later
            later.clear()
    except APIError as exc:
        if not missing:
            if exc.status == 404 and provider.deployment_only:  # Azure: the body's deployment
                from chatcli.providers.errorbody import deployment_hint

                exc.hint = deployment_hint(sent.model, profile.name)
            raise
        if auto:
            yield from _no_route(provider, url, missing[0])
            return True
        _no_route_hint(provider, exc, request.model, switched)
        raise
    assert response is not None
    offered = bool(request.tools or request.extra.get("tools"))
    thoughts: list[dict[str, Any]] | None = [] if loop and completion else None
    try:
        if request.stream and provider.transport.streamed(response):
            from chatcli.providers.responses_stream import stream_events

            stream = provider.transport.events(response)
            events = stream_events(stream, tools_offered=offered, reasoning=thoughts)
            events = _as_asked(events, sent.model, request.model)
            yield from _keeping(masked(events), provider, request.model, thoughts)
            return False
        try:
            obj = provider.transport.read_json(response)
        except APIError as exc:  # a 200 error envelope: LM Studio's answer to unknown routes
            if exc.status is not None or not _unknown_route(exc.message, named=False):
                raise
            if auto:
                yield from _no_route(provider, url, f"200: {exc.message}")
                return True
            _no_route_hint(provider, exc, request.model, switched)
            raise
        events = responses.whole_events(obj, tools_offered=offered, reasoning=thoughts)
        events = _as_asked(events, sent.model, request.model)
        yield from _keeping(masked(events), provider, request.model, thoughts)
    finally:
        response.close()
    return False


def _as_asked(events: Iterator[StreamEvent], sent: str, asked: str) -> Iterator[StreamEvent]:
    """``events``, where a finish naming ``sent`` (the Azure deployment the body named for
    ``asked``; its v1 route echoes it) names no model: that is no other model answering."""
    try:
        for event in events:
            if isinstance(event, Finish) and sent != asked and event.model == sent:
                event = replace(event, model=None)
            yield event
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def _turn_reasoning(provider: ChatProvider, request: ChatRequest) -> responses.Reasoning:
    """The reasoning items kept for the calls of the turn ``request`` continues (made by its
    model); what belongs to no such call is forgotten, so nothing outlives its turn."""
    calls = responses.turn_calls(request.messages)
    table = provider.reasoning_kept
    for call_id in [c for c in table if c not in calls]:
        table.pop(call_id, None)
    return {c: items for c, (model, items) in table.items() if model == request.model}


def _keeping(
    events: Iterator[StreamEvent],
    provider: ChatProvider,
    model: str,
    thoughts: list[dict[str, Any]] | None,
) -> Iterator[StreamEvent]:
    """``events``; the reasoning items read with them (``thoughts``, filled by the time the
    calls come) are kept for the answer's function calls, to go back in the next round."""
    try:
        for event in events:
            if isinstance(event, ToolCalls) and thoughts:
                for call in event.calls:
                    provider.reasoning_kept[call.id] = (model, list(thoughts))
            yield event
    finally:
        close = getattr(events, "close", None)  # a generator: its stream is dropped now
        if close is not None:
            close()


def _no_route_hint(provider: ChatProvider, exc: APIError, model: str, switched: bool) -> None:
    """The hint of an endpoint without a Responses API that was not asked through ``auto``;
    ``switched``: chat completions refused ``model`` as Responses-only (neither API serves
    it here, remembered so)."""
    profile = provider.profile
    if switched:
        provider.quirks.set(profile.name, model, API, "")
        exc.hint = (
            f"{model} is served over the Responses API only, and this endpoint has none: use "
            "it through an endpoint that has /responses"
        )
    else:
        exc.hint = (
            f'this endpoint has no Responses API: set api = "chat" (or "auto") in profile '
            f"{profile.name!r}"
        )


def _no_route(provider: ChatProvider, url: str, why: str) -> Iterator[Notice]:
    """Remember that the profile's URL has no Responses API (chat completions from now on);
    a notice only with ``--debug``."""
    name = provider.profile.name
    provider.quirks.set(name, ANY_MODEL, API, f"chat {url}")
    if provider.transport.debug:
        yield Notice(
            f"{url} has no Responses API ({why}); chat completions used instead "
            f"(remembered for profile {name})"
        )
