"""A proxy asking for credentials (407) is an authentication failure naming the proxy, and a
budget says when it cannot count the model about to be used (no known price)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import clean_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI

PAGE = b"<html><head><title>Proxy Authentication Required</title></head><body></body></html>"


class _Asks407(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(407)
        self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    do_GET = do_POST = _refuse


@pytest.fixture
def proxy_407() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Asks407)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _write(home: Path, text: str) -> None:
    (home / "config.toml").write_text(text)
    (home / "config.toml").chmod(0o600)


def _proxied(home: Path, proxy: str) -> dict[str, str]:
    _write(
        home,
        'default_profile = "r"\n[profiles.r]\ntype = "relay"\n'
        f'base_url = "http://192.0.2.1:9/v1"\napi_key = "{DEFAULT_API_KEY}"\n'
        f'proxy = "{proxy}"\nmax_retries = 0\n',
    )
    return clean_env(home, NO_PROXY="")


@pytest.mark.parametrize("user", ["", "me:secret@"])
def test_a_proxy_answering_407_is_exit_4_naming_the_proxy_with_a_hint(
    tmp_path: Path, proxy_407: str, user: str
) -> None:
    shown = proxy_407.replace("http://", "http://me:****@" if user else "http://")
    env = _proxied(tmp_path, proxy_407.replace("http://", f"http://{user}"))
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 4, result.stderr
    assert "secret" not in result.stderr
    said = f"the proxy {shown} (the profile's proxy) asks for credentials (407)"
    fix = "check the user name and password" if user else "put USER:PASS@ in front of the host"
    hint = f'{fix} in the profile\'s proxy (proxy = "{shown}")'
    assert result.stderr.splitlines()[-2:] == [f"chatcli: error: {said}", f"hint: {hint}"]

    doctor = run_cli("doctor", env=env)
    assert doctor.returncode == 1, doctor.stdout
    assert said in doctor.stdout and f"fix: {hint}" in doctor.stdout


def test_a_budget_says_once_it_cannot_count_a_model_without_a_price(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    config = (
        'default_profile = "r"\n[defaults]\nmodel = "qwen-max"\ndaily_budget_usd = 0.001\n'
        f'[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\n'
    )
    _write(tmp_path, config)
    notice = (
        "chatcli: the daily budget cannot count qwen-max: its price is unknown "
        '(set [models."qwen-max"] input_price and output_price)'
    )
    for _ in range(2):
        result = run_cli("ask", "hi", env=clean_env(tmp_path))
        assert result.returncode == 0, result.stderr
        assert result.stderr.count(notice) == 1, result.stderr
    priced = '[models."qwen-max"]\ninput_price = 1.0\noutput_price = 2.0\n'
    _write(tmp_path, config + priced)
    result = run_cli("ask", "hi", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "budget cannot count" not in result.stderr
