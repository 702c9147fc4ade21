"""What an endpoint type's module (``openai_compat``, ``azure``) hands the wire protocol: where
and how to send each route for one profile. A plain value: it imports no implementation, so the
endpoint modules do not depend on the protocol code that uses them (no import cycle)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _same(model: str) -> str:
    return model


@dataclass(frozen=True)
class ChatEndpoint:
    """Where and how to send chat completions for one profile."""

    url_for: Callable[[str], str]  # model -> full chat/completions URL
    headers: dict[str, str]
    stream_usage: bool = True  # send stream_options.include_usage
    send_model: bool = True
    models_url: str | None = None  # GET: the models the endpoint offers
    root: str | None = None  # base for other OpenAI-style routes (billing); None: no billing
    label: str = "an OpenAI-compatible endpoint"  # what users call it, in messages
    url_setting: str = "base_url"  # the profile key that says where it is
    responses_url: str | None = None  # POST: the Responses API; None: the endpoint has none
    responses_model: Callable[[str], str] = _same  # model -> the body's model (a deployment)
    responses_default: bool = False  # ``api = "auto"`` picks Responses here (providers/wire)


@dataclass(frozen=True)
class BatchLine:
    """How one request line of a Batch API input file names its route and model: the path of
    the chat route as the Batch API wants it, and whether bodies name a deployment."""

    chat_path: str = "/v1/chat/completions"
    deployments: bool = False
