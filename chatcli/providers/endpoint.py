"""What an endpoint type's module (``openai_compat``, ``azure``) hands the code that sends
requests: where and how to send each route for one profile (chat, models, billing, files and
batches, and the SDK's audio, speech and images). A plain value: it imports no implementation,
so the endpoint modules do not depend on the protocol code that uses them (no import cycle),
and that code never asks which type of endpoint it talks to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2
    import openai

SdkClient = Callable[[str, "httpx2.Client", dict[str, str]], "openai.OpenAI"]
"""(model, http client, headers) -> the openai SDK's client for that model's routes."""


def _as_named(model: str) -> str:
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
    no_billing: str | None = None  # set (what users call it): it has no relay billing routes
    label: str = "an OpenAI-compatible endpoint"  # what users call it, in messages
    url_setting: str = "base_url"  # the profile key that says where it is
    states_windows: bool = True  # its model list (or /model/info) may state context windows
    # the Files and Batches APIs (``batches``): their root, the query each of their routes
    # carries (Azure: api-version), and how a Batch API input line names its route and model
    files_root: str = ""
    files_query: dict[str, str] = field(default_factory=dict)
    batch: BatchLine = field(default_factory=lambda: BatchLine())
    # the routes on the openai SDK (``audio``, ``speech``, ``images``)
    sdk_client: SdkClient | None = None
    upload_model: Callable[[str], str] = _as_named  # model -> what SDK bodies name
    responses_url: str | None = None  # POST: the Responses API; None: the endpoint has none
    responses_model: Callable[[str], str] = _as_named  # model -> the body's model (a deployment)
    responses_default: bool = False  # ``api = "auto"`` picks Responses here (providers/wire)
    # on a 401: the credential fetched again (an Azure Entra token), as the auth headers to
    # send instead; None from it, or no ``renew``: the 401 stands
    renew: Callable[[], dict[str, str] | None] | None = None


@dataclass(frozen=True)
class BatchLine:
    """How one request line of a Batch API input file names its route and model: the path of
    the chat route and of the Responses route as the Batch API wants them, and whether bodies
    name a deployment; and how the endpoint's Batch API fails: whether a 404 means it has none
    (the job then runs locally), and what to do when a batch is refused or fails (None: see
    ``batch status``). ``responses_endpoint`` is what a batch of Responses lines is created
    with (None: their route, as OpenAI wants; Azure reads each line's route itself)."""

    chat_path: str = "/v1/chat/completions"
    deployments: bool = False
    missing_is_404: bool = True
    failure_hint: str | None = None
    responses_path: str = "/v1/responses"
    responses_endpoint: str | None = None
