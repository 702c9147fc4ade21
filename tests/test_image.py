"""``chatcli image`` end to end: the real CLI and the real SDK against the fake's images routes."""

from __future__ import annotations

import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, Error, FakeOpenAI, make_png

pytest_plugins = ["tests.inprocess"]  # the in-process `cli` fixture
Run = Callable[..., "subprocess.CompletedProcess[str]"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk of a PNG file (which must be one)."""
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC), data[:16]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def saved(stdout: str) -> list[Path]:
    return [Path(line) for line in stdout.splitlines()]


def test_generates_n_pngs_and_prints_only_their_paths(fake: FakeOpenAI, tmp_path: Path) -> None:
    """End to end in a subprocess: stdout holds the paths and nothing else."""
    out = tmp_path / "new" / "dir"
    args = ("image", "a", "red", "fox", "-n", "2", "--size", "256x256", "-m", "dall-e-2")
    # a day before dall-e-2's retirement, which image says as ask does (test_state_audit9)
    env = fake_env(tmp_path, fake, CHATCLI_TODAY="2026-04-01")
    result = run_cli(*args, "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    paths = saved(result.stdout)
    assert len(paths) == 2 and len(set(paths)) == 2
    for path in paths:
        assert path.parent == out
        assert path.name.startswith("chatcli-") and path.suffix == ".png"
        assert png_size(path) == (256, 256)
    (request,) = fake.requests
    assert request.path == "/v1/images/generations"
    assert request.json == {
        "prompt": "a red fox",
        "model": "dall-e-2",
        "n": 2,
        "size": "256x256",
        "response_format": "b64_json",
    }
    from chatcli.store import Store

    with Store.open(tmp_path / "data") as store:
        (row,) = store.usage_rows()
    assert (row.command, row.model, row.cost_usd) == ("image", "dall-e-2", 2 * 0.016)


def test_default_model_is_current_and_priced_by_the_tokens_it_reports(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    result = cli("image", "a fox", "-n", "2", "-o", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    assert fake.requests[0].json["model"] == "gpt-image-2.5-sunburst"
    assert "response_format" not in fake.requests[0].json
    assert png_size(saved(result.stdout)[0]) == (1, 1)  # the fake's default size
    from chatcli.store import Store

    with Store.open(tmp_path / "data") as store:
        (row,) = store.usage_rows()
    # 20 text tokens in at $5/1M, 2 x 1056 image tokens out at $30/1M (genai-prices)
    assert row.cost_usd == pytest.approx((20 * 5 + 2 * 1056 * 30) / 1e6)


def test_dall_e_3_makes_one_image(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    too_many = cli("image", "a fox", "-m", "dall-e-3", "-n", "2", "-o", str(tmp_path), env=env)
    assert too_many.returncode == 2
    assert "dall-e-3 makes at most 1 image(s) per request" in too_many.stderr
    assert "a gpt-image model" in too_many.stderr
    assert fake.requests == []  # refused before anything was sent


def test_default_output_dir_is_the_current_directory(fake: FakeOpenAI, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "chatcli", "image", "a fox"],
        cwd=work, env=fake_env(tmp_path, fake), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (name,) = proc.stdout.splitlines()
    assert "/" not in name and (work / name).is_file()


def test_edit_with_mask_uploads_both_files(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    image, mask = tmp_path / "cat.png", tmp_path / "mask.png"
    image.write_bytes(make_png(8, 8))
    mask.write_bytes(make_png(8, 8, (0, 0, 0, 0)))  # transparent: where to paint
    result = cli(
        "image", "add a hat", "--edit", str(image), "--mask", str(mask), "-o", str(tmp_path / "o"),
        env=fake_env(tmp_path, fake),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(saved(result.stdout)) == 1
    assert fake.requests[0].path == "/v1/images/edits"
    uploads = {u.fields["name"]: u for u in fake.uploads}
    assert set(uploads) == {"image", "mask"}
    assert uploads["image"].filename == "cat.png" and uploads["image"].data == image.read_bytes()
    assert uploads["mask"].filename == "mask.png" and uploads["mask"].data == mask.read_bytes()
    assert uploads["image"].content_type == "image/png"
    assert uploads["image"].fields["prompt"] == "add a hat"
    assert uploads["image"].fields["model"] == "gpt-image-2.5-sunburst"


def test_variations(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(make_png(4, 4))
    result = cli(
        "image", "--variations", str(image), "-n", "3", "--size", "512x512",
        "-o", str(tmp_path / "o"), env=fake_env(tmp_path, fake),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    paths = saved(result.stdout)
    assert len(paths) == 3 and all(png_size(p) == (512, 512) for p in paths)
    assert fake.requests[0].path == "/v1/images/variations"
    (upload,) = fake.uploads
    assert upload.fields["name"] == "image" and "prompt" not in upload.fields
    assert upload.fields["n"] == "3"


def test_url_responses_are_downloaded(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    result = cli(
        "image", "a fox", "-m", "dall-e-2", "-n", "2", "--size", "256x256",
        "--response-format", "url", "-o", str(tmp_path), env=fake_env(tmp_path, fake),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert fake.requests[0].json["response_format"] == "url"
    assert [png_size(p) for p in saved(result.stdout)] == [(256, 256), (256, 256)]


def test_existing_files_are_never_overwritten(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    now = time.time()
    taken = []
    for offset in range(-1, 10):  # whatever second the command runs in, "-1" is taken
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now + offset))
        path = out / f"chatcli-{stamp}-1.png"
        path.write_bytes(b"keep me")
        taken.append(path)
    env = fake_env(tmp_path, fake)
    first = cli("image", "a fox", "-m", "dall-e-2", "-n", "2", "-o", str(out), env=env)
    second = cli("image", "a fox", "-m", "dall-e-2", "-n", "2", "-o", str(out), env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    paths = saved(first.stdout) + saved(second.stdout)
    assert len(set(paths)) == 4 and all(p.parent == out for p in paths)
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in paths)
    assert all(p.read_bytes() == b"keep me" for p in taken)
    assert all(not p.name.endswith("-1.png") for p in paths)


def test_bad_key_exits_4_without_showing_it(fake: FakeOpenAI, tmp_path: Path) -> None:
    """End to end in a subprocess: the exit code and the one-line error of the funnel."""
    env = fake_env(tmp_path, fake, OPENAI_API_KEY="sk-wrong-key-0000000000zzzz")
    result = run_cli("image", "a fox", "-o", str(tmp_path), env=env)
    assert result.returncode == 4
    assert "refused the API key (401)" in result.stderr
    assert "sk-wrong-key-0000000000zzzz" not in result.stderr + result.stdout
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_api_error_exits_5(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error(400, "Your request was rejected by the safety system."), route="images")
    result = cli("image", "a fox", "-o", str(tmp_path), env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    assert "answered 400: Your request was rejected by the safety system." in result.stderr
    assert result.stdout == ""


def test_azure_uses_the_deployment_url(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'default_profile = "az"\n[profiles.az]\ntype = "azure"\n'
        f'endpoint = "{fake.root}/"\napi_version = "2024-10-21"\napi_key_env = "AZ_KEY"\n'
        '[profiles.az.deployments]\n"gpt-image-2.5-sunburst" = "draw"\n'
    )
    env = fake_env(tmp_path, fake, AZ_KEY=DEFAULT_API_KEY)
    result = cli("image", "a fox", "-o", str(tmp_path / "o"), env=env)
    assert result.returncode == 0, result.stderr
    (request,) = fake.requests
    assert request.path == "/openai/deployments/draw/images/generations"
    assert request.query == {"api-version": "2024-10-21"}
    assert request.headers["api-key"] == DEFAULT_API_KEY


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a fox", "--size", "1024"], "is not WIDTHxHEIGHT"),
        (["a fox", "--size", "0x512"], "is not WIDTHxHEIGHT"),
        (["a fox", "-m", "dall-e-3", "--size", "256x256"], "dall-e-3 cannot make 256x256"),
        (["a fox", "-n", "11"], "-n"),
        (["x", "--edit", "IMG", "--variations", "IMG"], "either --edit or --variations"),
        (["x", "--mask", "IMG"], "--mask goes with --edit"),
        (["x", "--variations", "IMG"], "--variations takes no PROMPT"),
        (["--edit", "IMG"], "a PROMPT is required"),
        (["x", "--edit", "missing.png"], "no such file: "),
        (["x", "--edit", "TEXT"], "is not an image"),
        (["x", "--edit", "IMG", "--mask", "JPEG"], "must be a PNG"),
        (["x", "--edit", "IMG", "-m", "dall-e-3"], "dall-e-3 cannot edit"),
        (["--variations", "IMG", "-m", "gpt-image-1"], "only dall-e-2 can"),
    ],
)
def test_usage_errors_exit_2_before_any_request(
    cli: Run, fake: FakeOpenAI, tmp_path: Path, args: list[str], message: str
) -> None:
    files = {
        "IMG": tmp_path / "in.png",
        "TEXT": tmp_path / "notes.png",
        "JPEG": tmp_path / "mask.jpg",
        "missing.png": tmp_path / "missing.png",
    }
    files["IMG"].write_bytes(make_png(2, 2))
    files["TEXT"].write_text("not an image")
    files["JPEG"].write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 16)
    argv = [str(files[a]) if a in files else a for a in args]
    result = cli("image", *argv, "-o", str(tmp_path), env=fake_env(tmp_path, fake))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert fake.requests == []
