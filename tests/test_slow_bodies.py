"""A body dripped a byte at a time never trips a read timeout (each read gets something), so
``bodies`` holds every whole body, answer or error, to a pace after the profile's ``timeout``;
and no route follows a redirect of an API request (the key would go along), the SDK's too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Raw

BODY = '{"object": "list", "data": [' + ", ".join(['{"id": "m"}'] * 8) + "]}"


def _relay(tmp_path: Path, fake: FakeOpenAI) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(
        'default_profile = "r"\n[profiles.r]\ntype = "relay"\n'
        f'base_url = "{fake.base_url}"\napi_key = "{DEFAULT_API_KEY}"\n'
        "timeout = 0.5\nmax_retries = 0\n"
    )
    return clean_env(tmp_path)


def _dripped(status: int) -> Raw:
    return Raw(status=status, lines=[BODY], drip=True, interval=0.05)


@pytest.mark.parametrize(
    ("route", "args"),
    [
        ("models", ["models"]),
        ("speech", ["speak", "hello", "-o", "out.mp3"]),
        ("images", ["image", "a cat"]),
    ],
)
@pytest.mark.parametrize("status", [200, 500])
def test_a_dripped_body_ends_the_command_at_its_pace(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
    route: str, args: list[str], status: int,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    fake.script(_dripped(status), route=route)
    started = time.monotonic()
    result = run_cli(*args, env=_relay(tmp_path, fake))
    took = time.monotonic() - started
    assert result.returncode in (5, 6), result.stderr
    assert took < 0.05 * len(BODY) / 2, f"read {took:.1f} s of a {0.05 * len(BODY):.0f} s drip"
    if status == 200:
        assert "arrived too slowly" in result.stderr
    assert not (tmp_path / "out.mp3").exists()


@pytest.mark.parametrize(
    ("route", "args"), [("speech", ["speak", "hello", "-o", "out.mp3"]), ("images", ["image", "x"])]
)
def test_an_sdk_route_does_not_follow_a_redirect(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
    route: str, args: list[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    fake.script(Raw(status=307, headers={"Location": fake.base_url + "/elsewhere"}), route=route)
    result = run_cli(*args, env=_relay(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    assert "answered 307, redirecting" in result.stderr and "/elsewhere" in result.stderr
    assert len(fake.requests) == 1  # not followed, not retried


def test_an_sdk_answer_cut_mid_body_is_said_as_such(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cut = Raw(status=200, lines=["partial audio"], cut=True, content_type="audio/mpeg")
    fake.script(cut, route="speech")
    result = run_cli("speak", "hello", "-o", "out.mp3", env=_relay(tmp_path, fake))
    assert result.returncode == 6, result.stderr
    assert "closed mid-response" in result.stderr and "cannot reach" not in result.stderr
    assert not (tmp_path / "out.mp3").exists()
