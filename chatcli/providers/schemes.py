"""A URL whose scheme its server does not speak: ``https://`` on a port that serves plain HTTP
(LM Studio, Ollama and most local servers do), or ``http://`` on one that serves only TLS.

Both arrive looking like network failures (OpenSSL's "wrong version number", a connection
reset), yet no retry can fix them: the fix is the URL's scheme, so the error says which one
to use, is not retried, and the request never reached the API (``ChatcliError.unsent``: no
usage row). Where the failure alone does not tell (a server that just closes the connection),
one small probe of the same host and port asks: a TLS handshake, or a plain ``HEAD`` request,
each bounded by ``PROBE_TIMEOUT``. Never with a proxy in the way: the failure may be the
proxy's, and a probe would go around it.
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

from chatcli.errors import NetworkError
from chatcli.providers.shapes import origin

PROBE_TIMEOUT = 3.0
"""The longest a probe may take (less when the profile's ``timeout`` is shorter)."""
_PLAIN_SAID = ("WRONG_VERSION_NUMBER", "wrong version number")
"""What OpenSSL says when the other side answered the handshake in plain text (an HTTP
server's "400 Bad Request" to the ClientHello)."""


def plain_http(url: str, proxy: str | None, exc: BaseException, timeout: float) -> bool:
    """Whether ``exc``, a failed connection to the https ``url``, is a server speaking plain
    HTTP: OpenSSL said so, or the handshake failed and the port answers a plain HTTP request.
    Never with a proxy in the way: the handshake that failed may have been the proxy's."""
    failed = _ssl_said(exc) if url.startswith("https:") else None
    address = _direct(url, proxy) if failed is not None else None
    if failed is None or address is None:
        return False
    if any(said in failed for said in _PLAIN_SAID):
        return True
    return _answers_http(*address, min(timeout, PROBE_TIMEOUT))


def speaks_tls(url: str, proxy: str | None, timeout: float) -> bool:
    """Whether the server of the http ``url``, which dropped a request without an answer,
    completes a TLS handshake on that port (no proxy in the way)."""
    if not url.startswith("http:"):
        return False
    address = _direct(url, proxy)
    return address is not None and _handshakes(*address, min(timeout, PROBE_TIMEOUT))


def mismatch(url: str, words: str = "cannot connect to") -> NetworkError:
    """The error of a URL whose scheme its server does not speak (``words``: the route's
    start of a connection error, then the endpoint)."""
    where = origin(url)
    https = url.startswith("https:")
    said, other = ("plain HTTP", "http") if https else ("TLS", "https")
    fixed = f"{other}://{where.split('://', 1)[-1]}"
    error = NetworkError(
        f"{words} {where}: the server speaks {said}, not {'TLS' if https else 'plain HTTP'}",
        hint=f"the server speaks {said}: use {other}:// in the profile's URL ({fixed})",
    )
    error.unsent = True
    return error


def _ssl_said(exc: BaseException) -> str | None:
    """What OpenSSL said, when ``exc`` is (or was caused by) a failed handshake; None for
    anything else, a refused certificate included (``transport.tls_failure`` has its words)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return None if isinstance(current, ssl.SSLCertVerificationError) else str(current)
        current = current.__cause__ or current.__context__
    text = str(exc)  # httpx2 may pass on OpenSSL's words without the exception
    return text if "[SSL:" in text and "CERTIFICATE_VERIFY" not in text else None


def _direct(url: str, proxy: str | None) -> tuple[str, int] | None:
    """The host and port chatcli connects to for ``url`` itself; None with a proxy between."""
    from chatcli.providers.proxies import proxy_for

    if proxy_for(url, proxy) is not None:
        return None
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname else None


def _answers_http(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            return sock.recv(5) == b"HTTP/"
    except OSError:
        return False


def _handshakes(host: str, port: int, timeout: float) -> bool:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only whether it speaks TLS, not whom to trust
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            context.wrap_socket(sock, server_hostname=host),
        ):
            return True
    except OSError:
        return False
