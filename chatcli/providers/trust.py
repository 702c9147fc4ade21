"""An SSL context that reads the CA store only when a TLS connection first needs it.

Reading the store is most of what building an httpx2 client costs (~45 ms of a ~280 ms
``chatcli ask``), and a profile whose endpoint and proxy are plain ``http://`` (a local server,
a relay on the LAN, the tests' fake) never makes a TLS connection. The store is the one httpx2
would read (``SSL_CERT_FILE``, ``SSL_CERT_DIR``, else OpenSSL's compiled-in paths), read
before the first handshake, so what is trusted does not change, only when it is read.

An ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` that names nothing usable is the user's setting, not a
network failure: ``check`` refuses a missing or unreadable path when the context is made, and a
file that is no PEM of certificates is refused at the handshake that reads it, both as one
``ConfigError`` (exit 3) naming the variable and the path.
"""

from __future__ import annotations

import os
import re
import ssl
import threading
from typing import Any

from chatcli.errors import ConfigError

_CANDIDATES = (  # httpcore2's, in its order
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)


class LazyTrust(ssl.SSLContext):
    """``ssl.SSLContext(PROTOCOL_TLS_CLIENT)`` (hostnames checked, certificates required)
    whose CA store is loaded at the first ``wrap_socket``/``wrap_bio``."""

    _lock = threading.Lock()
    _store: tuple[str | None, str | None]
    _loaded: bool

    @classmethod
    def where(cls, cafile: str | None, capath: str | None) -> LazyTrust:
        """A context trusting ``cafile``/``capath`` (the environment's ``SSL_CERT_*``), or
        the system's store when both are None."""
        ctx = cls(ssl.PROTOCOL_TLS_CLIENT)
        ctx._store = (cafile, capath)
        ctx._loaded = False
        keylog = os.environ.get("SSLKEYLOGFILE")
        if keylog:  # as ssl.create_default_context does
            ctx.keylog_filename = keylog
        return ctx

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._load()
        return super().wrap_bio(*args, **kwargs)

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            cafile, capath = self._store
            if cafile is None and capath is None:
                cafile, capath = _system_store()
            if cafile or capath:
                try:
                    self.load_verify_locations(cafile, capath)
                except OSError as exc:  # ssl.SSLError included
                    if self._store == (None, None):
                        raise
                    raise _unusable(self._store, exc) from None
            self._loaded = True


def _system_store() -> tuple[str | None, str | None]:
    """OpenSSL's compiled-in CA file or directory (what httpcore2 uses on Linux)."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if capath and not cafile:
        hashed = re.compile(r"[0-9a-fA-F]{8}\.\d")
        if not any(hashed.fullmatch(name) for name in os.listdir(capath)):
            capath = None
    if not cafile and not capath:
        cafile = next(filter(os.path.isfile, _CANDIDATES), None)
    return cafile, capath


_HINT = "point {name} at the CA certificates to trust ({what}), or unset it to use the system's"


def check(cafile: str | None, capath: str | None) -> None:
    """Refuse (``ConfigError``, exit 3) an ``SSL_CERT_FILE`` (``cafile``) that cannot be
    opened or an ``SSL_CERT_DIR`` (``capath``) that is no readable folder; what the file holds
    is read at the first handshake (``LazyTrust``), so only opening it is paid for here."""
    if cafile is not None:
        try:
            with open(cafile, "rb"):
                pass
        except OSError as exc:
            raise _unusable((cafile, None), exc) from None
    elif capath is not None:
        if not os.path.isdir(capath):
            why = "no such folder" if not os.path.exists(capath) else "not a folder"
            raise _error("SSL_CERT_DIR", capath, why)
        if not os.access(capath, os.R_OK | os.X_OK):
            raise _error("SSL_CERT_DIR", capath, "permission denied")


def _unusable(store: tuple[str | None, str | None], exc: OSError) -> ConfigError:
    """The error for a store that could not be read: which variable, which path, why."""
    cafile, capath = store
    name, path = ("SSL_CERT_FILE", cafile) if cafile else ("SSL_CERT_DIR", capath or "")
    if isinstance(exc, ssl.SSLError):
        why = "no certificate in it (it is not a PEM file of CA certificates)"
        if "NO_CERTIFICATE" not in str(exc):
            why = f"not a PEM file of CA certificates ({exc.reason or exc})"
    elif isinstance(exc, FileNotFoundError):
        why = "no such file"
    elif isinstance(exc, IsADirectoryError):
        why = "a folder, not a file (a folder of certificates is SSL_CERT_DIR)"
    elif isinstance(exc, PermissionError):
        why = "permission denied"
    else:
        why = exc.strerror or str(exc)
    return _error(name, path, why)


def _error(name: str, path: str, why: str) -> ConfigError:
    what = "a PEM file" if name == "SSL_CERT_FILE" else "a folder of hashed PEM files"
    return ConfigError(f"{name}={path}: {why}", hint=_HINT.format(name=name, what=what))
