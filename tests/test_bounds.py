"""Nothing unbounded: body sizes (after decompression), stream lines, stream and fetch time, and
the retry policy of the SDK routes (transcribe, image, speak).

The real CLI against the fake server; the memory figure is the child process's own peak RSS.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env
from tests.fakes import DEFAULT_API_KEY, Delay, Error, FakeOpenAI, Raw

pytest_plugins = ["tests.inprocess"]  # the in-process `cli` fixture
Run = Callable[..., "subprocess.CompletedProcess[str]"]

GiB = 1 << 30


@pytest.fixture(autouse=True)
def no_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))


def configured(tmp_path: Path, fake: FakeOpenAI, **defaults: float) -> dict[str, str]:
    """A relay profile at ``fake`` with ``defaults`` (timeout, max_retries, ...)."""
    lines = "".join(f"{k} = {v}\n" for k, v in {"max_retries": 0, **defaults}.items())
    (tmp_path / "config.toml").write_text(
        f'default_profile = "r"\n[defaults]\n{lines}'
        f'[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\n',
        encoding="utf-8",
    )
    (tmp_path / "config.toml").chmod(0o600)
    return clean_env(tmp_path)


def run_measured(
    tmp_path: Path, env: dict[str, str], *args: str
) -> tuple[subprocess.CompletedProcess[str], int]:
    """The real CLI in a subprocess; its result and its peak resident memory in MiB."""
    rss = tmp_path / "maxrss"
    code = (
        "import atexit, resource, sys\n"
        f"atexit.register(lambda: open({str(rss)!r}, 'w').write("
        "str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))\n"
        "from chatcli.__main__ import main\n"
        f"sys.argv = ['chatcli', *{list(args)!r}]\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return proc, int(rss.read_text()) // 1024


@pytest.mark.process
@pytest.mark.parametrize(
    ("route", "args"), [("models", ("models",)), ("chat", ("ask", "--no-stream", "hi"))]
)
def test_gzip_bomb_refused_with_a_clear_error_at_a_few_mb(
    fake: FakeOpenAI, tmp_path: Path, route: str, args: tuple[str, ...]
) -> None:
    env = configured(tmp_path, fake)
    fake.script(Raw(body="[not json"), route=route)  # the same command failing on a small body
    baseline, base_rss = run_measured(tmp_path, env, *args)
    assert baseline.returncode == 5, baseline.stderr
    fake.script(Raw(bomb=4 * GiB), route=route)  # 4 MB on the wire, 4 GiB inflated
    result, rss = run_measured(tmp_path, env, *args)
    assert result.returncode == 5, result.stderr
    assert "is larger than 8 MiB; refused" in result.stderr
    assert "Traceback" not in result.stderr
    assert rss - base_rss < 24, (rss, base_rss)


@pytest.mark.process
def test_gzip_bomb_as_error_body_is_read_only_to_its_start(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = configured(tmp_path, fake)
    fake.script(Raw(status=500, body="short"))
    baseline, base_rss = run_measured(tmp_path, env, "ask", "hi")
    assert baseline.returncode == 5, baseline.stderr
    fake.script(Raw(status=500, bomb=4 * GiB))
    result, rss = run_measured(tmp_path, env, "ask", "hi")
    assert result.returncode == 5, result.stderr
    assert "answered 500" in result.stderr and "Traceback" not in result.stderr
    assert rss - base_rss < 8, (rss, base_rss)


def test_an_endless_sse_line_is_refused(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Raw(lines=["data: " + "x" * (5 << 20)], content_type="text/event-stream"))
    result = cli("ask", "hi", env=configured(tmp_path, fake))
    assert result.returncode == 5
    assert "a line of the stream is longer than 4 MiB" in result.stderr


def test_keep_alive_comments_alone_time_out_after_timeout(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "thinking hard"}}]}
    lines = [f"data: {json.dumps(chunk)}", ""] + [": keep-alive"] * 40
    fake.script(Raw(lines=lines, interval=0.1, content_type="text/event-stream"))
    result = cli("ask", "hi", env=configured(tmp_path, fake, timeout=1))
    assert result.returncode == 6, result.stderr
    assert "sent no data for more than 1 s" in result.stderr
    assert result.stdout.startswith("thinking hard")


def test_a_dripping_stream_cannot_outlast_timeout(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Raw(lines=[": " + "z" * 60], drip=True, interval=0.05,
                    content_type="text/event-stream"))  # fmt: skip
    result = cli("ask", "hi", env=configured(tmp_path, fake, timeout=1))
    assert result.returncode == 6 and "no data" in result.stderr, result.stderr


# -- URL fetching ----------------------------------------------------------------------------


def test_url_fetched_exactly_as_given(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.pages["docs//guide/"] = Raw(body="the guide", content_type="text/plain")
    url = f"{fake.root}/pages/docs//guide/"
    result = cli("ask", "-f", url, "summarise", env=configured(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    page = [r for r in fake.requests if r.target.startswith("/pages/")]
    assert [r.target for r in page] == ["/pages/docs//guide/"]
    assert "the guide" in fake.chat_requests()[0].json["messages"][-1]["content"]


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x"])
def test_redirects_only_to_http_urls(
    cli: Run, fake: FakeOpenAI, tmp_path: Path, location: str
) -> None:
    fake.pages["moved"] = Raw(status=302, headers={"Location": location})
    result = cli("ask", "-f", f"{fake.root}/pages/moved", "x", env=configured(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    assert "only http(s) redirects are followed" in result.stderr
    assert fake.chat_requests() == []


def test_http_redirects_are_followed(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.pages["old"] = Raw(status=301, headers={"Location": "/pages/new"})
    fake.pages["new"] = Raw(body="moved text", content_type="text/plain")
    result = cli("ask", "-f", f"{fake.root}/pages/old", "x", env=configured(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert "moved text" in fake.chat_requests()[0].json["messages"][-1]["content"]


def test_the_timeout_bounds_the_whole_fetch(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    # a byte every 0.3 s: each read is quick, the whole would take 30 s
    fake.pages["slow"] = Raw(lines=["x" * 100], drip=True, interval=0.3, content_type="text/plain")
    env = configured(tmp_path, fake, timeout=1)
    result = cli("ask", "-f", f"{fake.root}/pages/slow", "x", env=env)
    assert result.returncode == 6, result.stderr
    assert "took longer than 1 s" in result.stderr
    assert fake.chat_requests() == []


def test_the_timeout_bounds_a_fetch_whose_headers_drip(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.pages["slower"] = Raw(lines=[], drip_headers=True, interval=0.3)
    env = configured(tmp_path, fake, timeout=1)
    result = cli("ask", "-f", f"{fake.root}/pages/slower", "x", env=env)
    assert result.returncode == 6, result.stderr
    assert "took longer than 1 s" in result.stderr
    assert fake.chat_requests() == []


def test_a_compressed_page_cannot_expand_past_the_input_limit(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.pages["bomb"] = Raw(bomb=GiB, content_type="text/plain")
    result = cli("ask", "-f", f"{fake.root}/pages/bomb", "x", env=configured(tmp_path, fake))
    assert result.returncode == 2, result.stderr
    assert "is larger than" in result.stderr


# -- the SDK routes follow the profile ---------------------------------------------------------


def _speak(cli: Run, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return cli("speak", "hello", "-o", str(tmp_path / "out.mp3"), env=env)


def _image(cli: Run, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return cli("image", "a fox", "-o", str(tmp_path), env=env)


def _transcribe(cli: Run, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    from tests.fakes import make_wav

    audio = tmp_path / "a.wav"
    audio.write_bytes(make_wav(1.0))
    return cli("transcribe", str(audio), env=env)


ROUTES = {"speech": _speak, "images": _image, "audio": _transcribe}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_sdk_routes_honour_timeout(cli: Run, fake: FakeOpenAI, tmp_path: Path, route: str) -> None:
    fake.script(Delay(3.0), Delay(3.0), route=route)
    result = ROUTES[route](cli, configured(tmp_path, fake, timeout=0.5), tmp_path)
    assert result.returncode == 6, result.stderr
    assert re.search(r"no response from http://127\.0\.0\.1:\d+ within 0\.5 s", result.stderr)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_sdk_routes_honour_max_retries_and_max_retry_wait(
    cli: Run, fake: FakeOpenAI, tmp_path: Path, route: str
) -> None:
    fake.script(Error.rate_limit(retry_after=120), route=route)
    env = configured(tmp_path, fake, max_retries=3, max_retry_wait=5)
    result = ROUTES[route](cli, env, tmp_path)
    assert result.returncode == 5, result.stderr
    assert "longer than max_retry_wait (5 s)" in result.stderr
    fake.reset()
    fake.script(Error(503), Error(503), route=route)
    result = ROUTES[route](cli, configured(tmp_path, fake, max_retries=1), tmp_path)
    assert result.returncode == 5, result.stderr
    assert "retry 1/1" in result.stderr
    assert len(fake.requests) == 2
