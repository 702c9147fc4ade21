"""The one way chatcli makes an httpx2 client: the chat transport's, the openai SDK's (audio,
speech, images, and their downloads) and URL fetches (``ask -f URL``, ``summarize URL``) all
come from ``build``, so they share the profile's proxy, its ``timeout`` for connecting and for
the longest silence, a deadline for the whole response head (``deadlines``: a server
dripping its headers cannot hold a command), our User-Agent, the compressions ``bodies`` can
bound, one error for a SOCKS proxy without SOCKS support, one for an ``SSL_CERT_FILE`` or
``SSL_CERT_DIR`` that names nothing usable (``trust.check``, exit 3), and a provider's
``Cutoff`` (Ctrl-C cuts requests waiting in other threads), and one rule for a URL's
``user:password@`` (``UrlCredentials``). httpx2 is imported inside ``build``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

from chatcli import __version__
from chatcli.errors import ConfigError
from chatcli.providers import bodies

if TYPE_CHECKING:
    import ssl

    import httpx2

    from chatcli.providers.cutoff import Cutoff

USER_AGENT = f"chatcli/{__version__}"


class ClientSettings(Protocol):
    """What a client takes of a profile (``settings.loading.Profile`` is one)."""

    @property
    def timeout(self) -> float: ...
    @property
    def proxy(self) -> str | None: ...


def build(
    settings: ClientSettings,
    *,
    seconds: float | None = None,
    headers: dict[str, str] | None = None,
    factory: Callable[..., httpx2.Client] | None = None,
    follow_redirects: bool = False,
    cutoff: Cutoff | None = None,
    **options: Any,
) -> httpx2.Client:
    """An httpx2 client through ``settings.proxy`` that waits ``seconds`` (default: the
    profile's ``timeout``) to connect, for each read, and for a response head from its first
    byte to its end; ``headers`` go over our User-Agent
    and Accept-Encoding; ``factory`` is the client class (the SDK's ``DefaultHttpxClient``)
    and ``options`` go to it (``verify``, ``event_hooks``). Redirects are not followed unless
    asked: a fetch follows them by hand, checking each target. ``cutoff``: the provider's,
    which can then cut this client's requests from another thread."""
    import httpx2

    from chatcli.providers.deadlines import Deadlines

    limit = seconds or settings.timeout
    hooks = dict(options.get("event_hooks") or {})
    first = [Deadlines(limit).on_request] + ([cutoff.on_request] if cutoff is not None else [])
    hooks["request"] = [*first, *hooks.get("request", [])]
    options["event_hooks"] = hooks
    if options.get("verify", True) is True:
        options["verify"] = _trusted()
    options.setdefault("auth", url_credentials())
    try:
        return (factory or httpx2.Client)(
            proxy=settings.proxy,
            timeout=httpx2.Timeout(limit, connect=limit, read=limit),
            follow_redirects=follow_redirects,
            headers={
                "User-Agent": USER_AGENT,
                "Accept-Encoding": bodies.ACCEPT_ENCODING,
                **(headers or {}),
            },
            **options,
        )
    except (ImportError, ValueError, httpx2.InvalidURL) as exc:
        raise _proxy_error(exc, settings.proxy) from None


@functools.cache
def url_credentials() -> httpx2.Auth:
    """The ``auth`` of every client: what to do with a URL's ``user:password@``.

    httpx2 sends it as HTTP Basic auth, which replaces any ``Authorization`` header: a
    ``base_url`` holding one silently stopped sending the API key (``Authorization: Bearer``),
    and the 401 then blamed the key. So a request that already carries an ``Authorization``
    header and a URL with credentials is refused (exit 3, before anything is sent); one
    without (a document URL of ``ask -f`` or ``summarize``, an Azure endpoint whose key goes
    in ``api-key``) gets Basic auth as before. Either way the credentials are registered as
    secrets first, so no message, file name or traceback can show them."""
    import httpx2

    class UrlCredentials(httpx2.Auth):
        def auth_flow(
            self, request: httpx2.Request
        ) -> Generator[httpx2.Request, httpx2.Response, None]:
            url = request.url
            if not (url.username or url.password):
                yield request
                return
            from chatcli.safetext import add_url_secrets, redact

            add_url_secrets(str(url))
            if "authorization" in request.headers:
                shown = redact(str(url.copy_with(path="/", query=None, fragment=None)))
                raise ConfigError(
                    f"the endpoint URL {shown.rstrip('/')} holds a user name and password "
                    "(USER:PASS@): sent as HTTP Basic auth they would replace the API key "
                    "(Authorization: Bearer), so nothing was sent",
                    hint="remove USER:PASS@ from base_url (or OPENAI_BASE_URL); a gateway's own "
                    "credentials go in the profile's headers",
                )
            yield from httpx2.BasicAuth(url.username, url.password).auth_flow(request)

    return UrlCredentials()


def _trusted() -> ssl.SSLContext:
    """The system's CA store as an SSL context, loaded once per process and shared by every
    client (loading it takes ~20 ms, and a summary of many parts, a batch or a REPL session
    builds several clients); loaded again if ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` change.
    As in httpcore2, a set ``SSL_CERT_FILE`` wins over ``SSL_CERT_DIR``; empty is unset."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = None if cafile else os.environ.get("SSL_CERT_DIR") or None
    return _context(cafile, capath)


@functools.cache
def _context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    import platform

    import httpx2

    from chatcli.providers.trust import LazyTrust, check

    check(cafile, capath)  # a path that names nothing usable: exit 3, naming it
    if platform.system() in ("Windows", "Darwin"):  # the system's own store (truststore)
        return httpx2.create_ssl_context()  # it reads SSL_CERT_* from the environment itself
    return LazyTrust.where(cafile, capath)


def _proxy_error(exc: Exception, proxy: str | None) -> Exception:
    """What a client that cannot be built for ``proxy`` (None: the environment's
    ``*_PROXY`` variables, which httpx2 reads itself) should raise: exit 3 naming the proxy
    and where it was set (SOCKS without socksio, a URL that is not one, a scheme httpx2 has
    no transport for)."""
    from chatcli.providers.proxies import shown

    where = "the profile's proxy"
    if proxy is None:
        from urllib.request import getproxies_environment

        found = [(k, v) for k, v in getproxies_environment().items() if k != "no"]
        if not found:
            return exc if isinstance(exc, ImportError) else ConfigError(str(exc))
        key, proxy = found[0]
        where = f"the environment's {key.upper()}_PROXY"
    if isinstance(exc, ImportError):
        if "socksio" not in str(exc):
            return exc
        return ConfigError(
            f"proxy {shown(proxy)} ({where}) is a SOCKS proxy, but SOCKS support is not installed",
            hint="pip install 'chatcli[socks]' (it adds the socksio package)",
        )
    return ConfigError(
        f"cannot use proxy {shown(proxy)!r} ({where}): {shown(str(exc))}",
        hint="a proxy is http://host:port, https://host:port or socks5://host:port",
    )
