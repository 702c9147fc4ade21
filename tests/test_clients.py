"""One way to build an HTTP client (``providers/clients.py``): the chat transport, the openai
SDK's client (speech, audio, images) and URL fetches take the profile's proxy, say who they are
and fail the same way on a SOCKS proxy without SOCKS support."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chatcli import __version__
from tests.cli_helpers import clean_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI


def _relay(tmp_path: Path, fake: FakeOpenAI, proxy: str) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(
        f'default_profile = "r"\n[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\nproxy = "{proxy}"\n'
    )
    (tmp_path / "config.toml").chmod(0o600)  # a key in a file others can read is warned about
    return clean_env(tmp_path)


def test_chat_the_sdk_and_url_fetches_share_the_proxy(fake: FakeOpenAI, tmp_path: Path) -> None:
    from tests.fakes.proxy import FakeProxy

    fake.pages["p"] = (b"<html><body><p>A page.</p></body></html>", "text/html")
    with FakeProxy() as proxy:
        env = _relay(tmp_path, fake, proxy.url)
        asked = run_cli("ask", "-f", f"{fake.root}/pages/p", "what is it?", env=env)
        spoken = run_cli("speak", "hello", "-o", str(tmp_path / "hi.mp3"), env=env)
    assert (asked.returncode, spoken.returncode) == (0, 0), asked.stderr + spoken.stderr
    assert proxy.seen == [
        f"{fake.root}/pages/p",
        f"{fake.base_url}/chat/completions",
        f"{fake.base_url}/audio/speech",
    ]
    agents = {r.path: r.headers.get("user-agent") for r in fake.requests}
    assert agents["/v1/chat/completions"] == agents["/v1/audio/speech"] == f"chatcli/{__version__}"


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "hi"],  # the chat transport
        ["speak", "hi", "-o", "out.mp3"],  # the SDK's client
        ["summarize", "http://127.0.0.1:9/page"],  # a URL fetch
    ],
)
def test_a_socks_proxy_without_socks_support_is_one_config_error(
    args: list[str], fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "socksio", None)  # as if it were not installed
    monkeypatch.chdir(tmp_path)
    result = run_cli(*args, env=_relay(tmp_path, fake, "socks5://127.0.0.1:1080"))
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(
        "chatcli: error: proxy socks5://127.0.0.1:1080 (the profile's proxy) is a SOCKS proxy"
    )
    assert "pip install 'chatcli[socks]'" in result.stderr
    assert fake.requests == []
