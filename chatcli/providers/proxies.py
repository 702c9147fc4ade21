"""Which proxy a request goes through, so a failure to connect names the proxy, not the endpoint.

httpx2 takes ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` from the environment (minus
``NO_PROXY``) when the profile sets no ``proxy``; a dead proxy then looks like a dead endpoint
("cannot connect to https://api.openai.com") although the endpoint was never tried. This reads
them with httpx2's own rules (``environment_proxy``, which ``doctor`` shows too), so what is
said is where the request really went: ``NO_PROXY`` with hosts, domains, CIDR ranges
(``10.0.0.0/8``) and ``*``, the URL scheme's variable before ``ALL_PROXY``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatcli.providers.shapes import origin

if TYPE_CHECKING:
    from chatcli.errors import AuthError, ChatcliError


@dataclass(frozen=True)
class Via:
    """The proxy a URL is reached through: its URL (credentials hidden) and where it was set."""

    url: str
    source: str  # "the profile's proxy" or "the environment's HTTPS_PROXY" ...

    def describe(self) -> str:
        return f"the proxy {self.url} ({self.source})"


def shown(proxy: str) -> str:
    """A proxy URL without its credentials (``http://user:****@host:8080``; ``http://****@host``
    when the user name is the token, as commercial proxies write ``http://APIKEY:@host``)."""
    from chatcli.safetext import add_url_secrets, redact

    add_url_secrets(proxy)  # and wherever else it is quoted (an httpx2 error, a traceback)
    return redact(proxy)


def proxy_for(url: str, configured: str | None) -> Via | None:
    """The proxy ``url`` goes through: the profile's ``proxy``, else the environment's."""
    if configured:
        return Via(shown(configured), "the profile's proxy")
    found = environment_proxy(url)
    if found is None:
        return None
    proxy, variable = found
    return Via(shown(proxy), f"from the environment's {variable}" if variable else
               "from the system's proxy settings")  # fmt: skip


def environment_proxy(url: str) -> tuple[str, str] | None:
    """The proxy httpx2 sends a request to ``url`` through when the profile sets none, and
    the variable that holds it (``""``: the system's settings, macOS); None: direct. Read by
    httpx2's own rules (its ``get_environment_proxies`` and ``URLPattern``, matched most
    specific first as its Client does), so a ``NO_PROXY`` entry counts as it does for the
    request. A value without a scheme is an ``http://`` proxy."""
    import httpx2
    from httpx2._utils import URLPattern, get_environment_proxies

    try:
        target = httpx2.URL(url)
    except (httpx2.InvalidURL, TypeError, ValueError):
        return None
    mounts = [(URLPattern(key), via) for key, via in get_environment_proxies().items()]
    for pattern, via in sorted(mounts, key=lambda mount: mount[0]):
        if pattern.matches(target):
            return (via, _variable(pattern.scheme or "all")) if via else None
    return None


def _variable(scheme: str) -> str:
    """The variable the proxy for ``scheme`` came from (the lower-case one wins, as urllib
    reads them), or ``""`` when none holds it (the system's settings)."""
    import os

    for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY"):
        if os.environ.get(name):
            return name
    return ""


# -- a proxy that answers instead of the endpoint -------------------------------------------------

_SOCKS_AUTH = ("invalid username/password", "no acceptable methods", "got username/password")
"""httpcore's words for a SOCKS5 proxy refusing the credentials (RFC 1929) or wanting some."""
_PROXY_SERVERS = re.compile(
    r"squid|tinyproxy|privoxy|polipo|ziproxy|mitmproxy|zscaler|bluecoat|proxysg|"
    r"mcafee web gateway|fortigate|forcepoint|websense|ccproxy|3proxy|trafficserver|ats/",
    re.IGNORECASE,
)


def proxy_failure(url: str, proxy: str | None, exc: Exception) -> tuple[ChatcliError, bool]:
    """The error for httpx2's ``ProxyError`` on the way to ``url`` (a SOCKS5 handshake or an
    https CONNECT the proxy refused) and whether a retry may help: credentials refused or
    wanted are exit 4, not retried (a wrong password sent again counts against lock-outs), as
    an HTTP proxy's 407 is; a CONNECT answered with a status is ``refusal``; a SOCKS proxy that
    cannot reach the endpoint names both."""
    from chatcli.errors import AuthError, NetworkError
    from chatcli.safetext import one_line

    text = one_line(str(exc), 200)
    where = origin(url)
    lowered = text.lower()
    status = re.match(r"(\d{3})\b\s*(.*)", text)
    if status is not None:
        code = int(status.group(1))
        if code == 407:
            return proxy_auth(where, proxy), False
        return refusal(url, proxy, code, status.group(2) or "")
    via = _via(url, proxy)
    if any(words in lowered for words in _SOCKS_AUTH):
        said = "refused the user name and password" if "invalid" in lowered else (
            "asks for a user name and password")  # fmt: skip
        return proxy_auth(where, proxy, said=f"{said} ({text})"), False
    if "could not connect" in lowered:
        reason = text.split(":", 1)[-1].strip().rstrip(".")
        if "not allowed" in lowered:
            return AuthError(
                f"{via.describe()} refused to connect to {where}: {reason}",
                hint="the proxy's rules do not allow this host: ask its administrator",
            ), False
        return NetworkError(
            f"{via.describe()} cannot reach {where}: {reason}", hint=_UNREACHED
        ), True
    return NetworkError(f"{via.describe()} failed on the way to {where}: {text}",
                        hint="check the proxy"), True  # fmt: skip


_UNREACHED = (
    "the proxy works, but the endpoint did not answer it: check base_url and that the endpoint "
    "is running"
)


def refusal(url: str, proxy: str | None, status: int, said: str) -> tuple[ChatcliError, bool]:
    """The proxy itself answered ``status`` for ``url`` (a CONNECT refused, or its own error
    page for a plain-http request): a policy refusal (403) is exit 4, not retried, and not the
    key's fault; a proxy that cannot reach the endpoint (502/503/504) is exit 6, as a dead
    endpoint without a proxy is; each names the endpoint and the proxy."""
    from chatcli.errors import AuthError, NetworkError

    via = _via(url, proxy)
    where = origin(url)
    said = f" {said}" if said else ""
    if status == 403:
        return AuthError(
            f"{via.describe()} refused to connect to {where} (403{said})",
            hint="the proxy's rules do not allow this host (not the API key): ask its "
            "administrator to allow it",
        ), False
    if status in (502, 503, 504):
        return NetworkError(
            f"{via.describe()} cannot reach {where} ({status}{said})", hint=_UNREACHED
        ), True
    return NetworkError(
        f"{via.describe()} answered {status}{said} instead of {where}", hint="check the proxy"
    ), status >= 500


def own_answer(
    url: str, proxy: str | None, status: int, headers: Mapping[str, str], json_body: bool
) -> bool:
    """Whether a 403/5xx answer to a plain-http request through a proxy is the proxy's own
    error page, not the endpoint's: it says so (squid's ``X-Squid-Error``, an RFC 9209
    ``Proxy-Status``, a proxy product in ``Server``), or it is a 502/504 page that is not JSON
    (APIs answer JSON; a forward proxy that could not connect answers HTML or nothing)."""
    if status not in (403, 502, 503, 504) or proxy_for(url, proxy) is None:
        return False
    if url.startswith("https:"):  # the proxy only tunnels: every answer is the endpoint's
        return False
    lower = {k.lower(): v for k, v in headers.items()}
    if "x-squid-error" in lower or "proxy-status" in lower:
        return True
    if _PROXY_SERVERS.search(lower.get("server", "")):
        return True
    return status in (502, 504) and not json_body


def _via(url: str, proxy: str | None) -> Via:
    return proxy_for(url, proxy) or Via("(unknown)", "a proxy")


def proxy_auth(
    where: str, proxy: str | None, said: str = "asks for credentials (407)"
) -> AuthError:
    """A 407 (or a SOCKS5 proxy's refusal, ``said``): the proxy between chatcli and ``where``
    wants credentials, not the endpoint. The hint shows no ``scheme://USER:PASS@`` URL: the
    output masks any such password."""
    from chatcli.errors import AuthError

    via = proxy_for(where, proxy)
    if via is None:
        return AuthError(
            f"a proxy between chatcli and {where} {said}",
            hint="put USER:PASS@ in front of the host in the proxy's URL",
        )
    if via.source.startswith("from the environment"):
        setting = via.source.rsplit(" ", 1)[-1] + f" ({via.url})"
    else:
        setting = f'the profile\'s proxy (proxy = "{via.url}")'
    has_user = "@" in via.url.split("://", 1)[-1]
    hint = (
        f"check the user name and password in {setting}"
        if has_user
        else f"put USER:PASS@ in front of the host in {setting}"
    )
    return AuthError(f"{via.describe()} {said}", hint=hint)
