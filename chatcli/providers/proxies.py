"""Which proxy a request goes through, so a failure to connect names the proxy, not the endpoint.

httpx2 takes ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` from the environment (minus
``NO_PROXY``) when the profile sets no ``proxy``; a dead proxy then looks like a dead endpoint
("cannot connect to https://api.openai.com") although the endpoint was never tried. This reads
the same variables the same way (stdlib only) to say which proxy and where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment  # type: ignore[attr-defined]


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
    proxies = getproxies_environment()
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or proxy_bypass_environment(host, proxies):
        return None
    for key in (parts.scheme, "all"):
        proxy = proxies.get(key)
        if proxy:
            return Via(shown(proxy), f"from the environment's {key.upper()}_PROXY")
    return None
