"""Fetch a web page or document for ``ask -f URL`` and ``summarize URL``.

Goes through the profile's proxy and ``timeout`` like every other request (the httpx2 client is
built the way ``transport`` builds it), follows a few redirects, and stops reading at
``limit`` bytes so a huge download cannot fill memory. Failures become ``chatcli.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatcli.errors import APIError, NetworkError, UsageError
from chatcli.providers.transport import proxy_error
from chatcli.settings.loading import Profile

MAX_REDIRECTS = 5
USER_AGENT = "chatcli (+https://github.com/) document fetcher"


@dataclass(frozen=True)
class Fetched:
    """The body of a URL and what the server said it is."""

    url: str
    data: bytes
    content_type: str | None


def fetch(url: str, profile: Profile, *, limit: int, timeout: float | None = None) -> Fetched:
    """GET ``url`` (through the profile's proxy); at most ``limit`` bytes of body."""
    import httpx2

    seconds = timeout or profile.timeout
    try:
        client = httpx2.Client(
            proxy=profile.proxy,
            timeout=httpx2.Timeout(seconds, connect=seconds, read=seconds),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": USER_AGENT, "Accept": "*/*"},
        )
    except (ImportError, ValueError) as exc:
        raise proxy_error(exc, profile.proxy) from None
    try:
        with client, client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise APIError(
                    f"{url} answered HTTP {response.status_code} {response.reason_phrase}",
                    status=response.status_code,
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise _too_big(url, limit)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise _too_big(url, limit)
            return Fetched(str(response.url), bytes(body), response.headers.get("content-type"))
    except httpx2.TooManyRedirects:
        raise APIError(f"{url} redirects more than {MAX_REDIRECTS} times") from None
    except httpx2.TimeoutException:
        raise NetworkError(f"fetching {url} timed out after {seconds:g} s") from None
    except httpx2.HTTPError as exc:
        raise NetworkError(f"cannot fetch {url}: {exc}") from None


def _too_big(url: str, limit: int) -> UsageError:
    return UsageError(
        f"{url} is larger than {limit // (1024 * 1024)} MiB",
        hint="download it and pass the file, or summarise a smaller page",
    )
