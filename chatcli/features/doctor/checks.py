"""The checks of ``chatcli doctor``, in the order a request meets them; stops at the first
failure that makes later checks meaningless, and prints a fix for every failure. Its one tiny
request is paid like any other: a spent budget refuses it (the ``request`` check fails, with
``--over-budget`` as the fix)."""

from __future__ import annotations

import contextlib
import difflib
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chatcli.environment import Environment
from chatcli.errors import AuthError, ChatcliError, Reported
from chatcli.events import Usage
from chatcli.output import flush_out, out
from chatcli.providers.proxies import environment_proxy, shown
from chatcli.settings import keys
from chatcli.settings.resolve import Staged

if TYPE_CHECKING:
    from chatcli.pricing import ModelInfo
    from chatcli.providers.base import ChatRequest
    from chatcli.store import Status, Store

MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "info": "    "}


class Report:
    """Prints one line per check; remembers whether anything failed."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.failed = False

    def line(self, status: str, name: str, detail: str, hint: str | None = None) -> None:
        self.failed |= status == "fail"
        out(self.environment, f"[{MARK[status]}] {name:<12} {detail}\n")
        if hint:
            out(self.environment, f"       {'':<12} fix: {hint}\n")
        flush_out(self.environment)


def _api(url: str) -> str:
    """The wire protocol a turn URL speaks, as users call it."""
    return "Responses API" if url.split("?", 1)[0].endswith("/responses") else "Chat Completions"


def _proxy_for(url: str, proxy: str | None) -> tuple[str | None, str]:
    """The proxy a request to ``url`` goes through (None: direct) and where it was set: the
    profile's ``proxy``, else the environment's read by httpx2's own rules, which the request
    follows (``proxies.environment_proxy``: the one reading errors name the proxy by too)."""
    if proxy:
        return proxy, "profile proxy"
    found = environment_proxy(url)
    if found is None:
        return None, "none"
    via, variable = found
    return via, f"env {variable}" if variable else "system proxy settings"


def _reachable(url: str, timeout: float) -> str | None:
    """None if a TCP connection to the URL's host opens, else why not (a URL without a
    scheme is read as ``http://``, as a proxy variable's is)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is no number, or out of range
        return f"{shown(url)} has no valid port"
    if not host:
        return f"{shown(url)} names no host"
    port = port or (443 if parts.scheme in ("https", "socks5") else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror:
        return f"host name {host} not found"
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


@dataclass(frozen=True)
class _Paid:
    """doctor's one request, for the usage log: it is paid like any other, so it is logged
    (command ``doctor``) by the rule every command's requests follow (``accounting.logs``,
    ``accounting.row``), and budgets and ``chatcli usage`` count it."""

    report: Report
    store: Store
    info: ModelInfo
    request: ChatRequest
    profile: str
    started: float

    def log(self, text: str, usage: Usage | None, served: str | None, exc: ChatcliError | None
            ) -> None:  # fmt: skip
        from chatcli import accounting

        if exc is not None and not accounting.logs(exc):
            return
        status: Status = "ok" if exc is None else "error"
        latency = round((time.monotonic() - self.started) * 1000)
        row = accounting.row(self.info, self.request, accounting.Generated(text), usage,
                             profile=self.profile, command="doctor", status=status,
                             latency_ms=latency, served=served)  # fmt: skip
        try:
            self.store.log_usage(row)
        except ChatcliError as failed:  # the check's own verdict stands
            self.report.line("warn", "usage", f"the request is not in the usage log: "
                             f"{failed.message}")  # fmt: skip


def run(environment: Environment, steps: Staged, *, over_budget: bool = False) -> None:
    """Report each step; ``steps`` is the command's settings resolved as far as they went."""
    with contextlib.ExitStack() as stack:
        _checks(environment, steps, stack, over_budget=over_budget)


def _checks(
    environment: Environment, steps: Staged, stack: contextlib.ExitStack[bool | None], *,
    over_budget: bool,
) -> None:  # fmt: skip
    from chatcli.features.usage import budget
    from chatcli.providers.base import ChatRequest
    from chatcli.retirements import retirement
    from chatcli.settings.endpoint_types import endpoint_type
    from chatcli.store import open_default

    r = Report(environment)
    cfg, env = steps.config, steps.env
    if cfg is not None:
        r.line("ok", "config", f"{cfg.path}" + ("" if cfg.exists else " (absent: zero-config)"))
    if cfg is None or env is None:
        step, exc = steps.failed or ("config", ChatcliError("not resolved"))
        r.line("fail", step, exc.message, exc.hint)
        raise Reported() from None
    profile, model = env.profile, env.model
    r.line("ok", "profile", f"{profile.name} (type {profile.type}), model {model}")
    try:
        key, source = keys.key_with_source(profile)
    except ChatcliError as exc:
        r.line("fail", "key", exc.message, exc.hint)
        raise Reported() from None
    r.line("ok", "key", f"{keys.redact_key(key)} from {keys.redact(source, (key,))}")
    try:  # the usage log: the budgets are judged from it
        store = stack.enter_context(open_default())
    except ChatcliError as exc:
        r.line("fail", "database", exc.message, exc.hint)
        raise Reported() from None
    provider = budget.connect(profile, cfg.model_info, clock=environment.clock, debug=env.debug,
                              store=store, warn=lambda text: r.line("warn", "budget", text),
                              over_budget=over_budget)  # fmt: skip
    stack.callback(provider.close)
    url = provider.turn_url(model)
    r.line("info", "url", f"{url} ({_api(url)})")
    proxy, proxy_source = _proxy_for(url, profile.proxy)
    r.line("info", "proxy", f"{shown(proxy)} ({proxy_source})" if proxy else "none")
    target = proxy or url
    why = _reachable(target, min(profile.timeout, 10))
    if why:
        what = "proxy" if proxy else "endpoint"
        r.line("fail", "reachable", why, f"check the {what} address and that it is running")
        raise Reported()
    r.line("ok", "reachable", urlsplit(target).netloc.rpartition("@")[2])  # no USER:PASS@
    shutdowns: dict[str, str | None] = {}
    try:
        listed = provider.model_list()
        models = [m.id for m in listed]
        shutdowns = {m.id: m.shutdown_date for m in listed}
    except AuthError as exc:  # the key, or a proxy refusing (credentials, its rules)
        proxy_said = exc.message.startswith(("the proxy ", "a proxy "))
        r.line("fail", "proxy" if proxy_said else "auth", exc.message, exc.hint)
        raise Reported() from None
    except ChatcliError as exc:  # Azure's answer to an api_version it lacks: the fix too
        fix = exc.hint if provider.deployment_only else None
        r.line("warn", "models", f"could not list models: {exc.message}", fix)
        models = []
    else:
        r.line("ok", "auth", "the key was accepted")
        if provider.deployment_only:  # the list holds base models; a deployment is named freely
            r.line("info", "model", f"{model}: Azure lists models, not deployments; "
                   "the request below checks the deployment")  # fmt: skip
        elif model in models:
            r.line("ok", "model", f"{model} is listed ({len(models)} models)")
        elif models:
            close = difflib.get_close_matches(model, models, n=3, cutoff=0.5)
            r.line(
                "warn",
                "model",
                f"{model} is not among the {len(models)} listed models",
                "pick one from `chatcli models`" + (f", e.g. {', '.join(close)}" if close else ""),
            )
    retiring = retirement(
        model, shutdowns.get(model), own_schedule=endpoint_type(profile).own_retirements
    )
    if retiring is not None:
        replace = f"use -m {retiring.replacement}" if retiring.replacement else None
        r.line("warn", "retirement", f"{model} {retiring.describe()}", replace)
    started = time.monotonic()
    request = ChatRequest(model, [{"role": "user", "content": "Reply with OK."}], max_tokens=5)
    text, answered, usage = "", None, None
    paid = _Paid(r, store, cfg.model_info(model), request, profile.name, started)
    try:
        for event in provider.chat(request):
            text += getattr(event, "text", "")
            answered = getattr(event, "model", None) or answered
            usage = event if isinstance(event, Usage) else usage
    except ChatcliError as exc:
        paid.log(text, usage, answered, exc)
        r.line("fail", "request", exc.message, exc.hint)
        raise Reported() from None
    paid.log(text, usage, answered, None)
    took = time.monotonic() - started
    note = f", answered as {answered}" if answered and answered != model else ""
    now = provider.turn_url(model)
    if now != url:  # a relay without /responses, or a model it serves over Responses only
        api = _api(now).removesuffix(" API")
        note += f"; over the {api} API from now on ({now}, remembered for this profile)"
    r.line("ok", "request", f"{took * 1000:.0f} ms: {text.strip()[:40]!r}{note}")
    if r.failed:
        raise Reported()
