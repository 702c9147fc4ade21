"""Hostile documents: ZIP bombs, lying or odd ZIP members, an EPUB spine repeating itself, PDFs
past pypdf's limits. Each is a clear exit-2 error (never "unexpected"), and in a multi-input
``summarize`` it fails that input only. Documents are built in the test."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env
from tests.docs_helpers import make_docx, make_epub, make_odt, make_pdf
from tests.fakes import FakeOpenAI

pytest_plugins = ["tests.inprocess"]  # the in-process `cli` fixture
Run = Callable[..., "subprocess.CompletedProcess[str]"]

MiB = 1 << 20


@pytest.fixture(autouse=True)
def no_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))


def rezip(data: bytes, replace: dict[str, tuple[bytes, int]]) -> bytes:
    """``data`` (a ZIP) with members replaced by (bytes, compression method)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in replace:
                body, method = replace[info.filename]
                new = zipfile.ZipInfo(info.filename)
                new.compress_type = method
                dst.writestr(new, body)
            else:
                dst.writestr(info, src.read(info))
    return out.getvalue()


def patch_central(data: bytes, name: str, *, flags: int = 0, size: int | None = None) -> bytes:
    """``data`` with ``name``'s central-directory entry changed: flag bits or'ed in, and its
    declared (uncompressed) size set to ``size``: what a hostile ZIP can claim."""
    out = bytearray(data)
    start = 0
    while (at := out.find(b"PK\x01\x02", start)) >= 0:
        length = int.from_bytes(out[at + 28 : at + 30], "little")
        if out[at + 46 : at + 46 + length].decode() == name:
            flag = int.from_bytes(out[at + 8 : at + 10], "little") | flags
            out[at + 8 : at + 10] = flag.to_bytes(2, "little")
            if size is not None:
                out[at + 24 : at + 28] = size.to_bytes(4, "little")
        start = at + 4
    return bytes(out)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def ask_file(
    cli: Run, fake: FakeOpenAI, tmp_path: Path, path: Path
) -> subprocess.CompletedProcess[str]:
    return cli("ask", "-f", str(path), "summarise", env=fake_env(tmp_path, fake))


BOMBS = {
    "docx": (make_docx, "word/document.xml"),
    "odt": (make_odt, "content.xml"),
    "epub": (make_epub, "OEBPS/one.xhtml"),
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_member_inflating_past_the_ratio_is_refused(
    cli: Run, fake: FakeOpenAI, tmp_path: Path, kind: str
) -> None:
    make, member = BOMBS[kind]
    bomb = rezip(make(), {member: (b" " * (30 * MiB), zipfile.ZIP_DEFLATED)})  # ~30 KB
    result = ask_file(cli, fake, tmp_path, write(tmp_path, f"bomb.{kind}", bomb))
    assert result.returncode == 2, result.stderr
    assert "a ZIP bomb?" in result.stderr and "unexpected" not in result.stderr
    assert fake.chat_requests() == []


def test_a_member_declaring_too_much_is_refused_before_reading(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    big = patch_central(make_docx(), "word/document.xml", size=80 * MiB)
    result = ask_file(cli, fake, tmp_path, write(tmp_path, "big.docx", big))
    assert result.returncode == 2, result.stderr
    assert "declares 80 MiB, more than 64" in result.stderr


def test_a_member_lying_about_its_size_is_refused(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    data = bytearray(make_odt())
    # shrink content.xml's declared size in its local header and the central directory
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("content.xml")
    real = info.file_size.to_bytes(4, "little")
    for match in list(re.finditer(re.escape(real), bytes(data))):
        data[match.start() : match.start() + 4] = (10).to_bytes(4, "little")
    result = ask_file(cli, fake, tmp_path, write(tmp_path, "liar.odt", bytes(data)))
    assert result.returncode == 2, result.stderr
    assert "damaged OpenDocument" in result.stderr or "refused" in result.stderr


def test_encrypted_and_oddly_compressed_members_are_clear_errors(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    locked = patch_central(make_docx(), "word/document.xml", flags=1)
    result = ask_file(cli, fake, tmp_path, write(tmp_path, "locked.docx", locked))
    assert result.returncode == 2 and "is an encrypted Word document" in result.stderr
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        odd = rezip(make_epub(), {"OEBPS/one.xhtml": (b"<html>x</html>", method)})
        result = ask_file(cli, fake, tmp_path, write(tmp_path, "odd.epub", odd))
        assert result.returncode == 2, result.stderr
        assert f"ZIP method {method}, which chatcli does not read" in result.stderr


def test_an_epub_spine_repeating_a_chapter_is_read_once(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    epub = make_epub()
    with zipfile.ZipFile(io.BytesIO(epub)) as archive:
        opf = archive.read("OEBPS/content.opf").decode()
    spine = '<itemref idref="c1"/>' * 20_000
    opf = re.sub(r"<spine>.*</spine>", f"<spine>{spine}</spine>", opf)
    looped = rezip(epub, {"OEBPS/content.opf": (opf.encode(), zipfile.ZIP_DEFLATED)})
    result = ask_file(cli, fake, tmp_path, write(tmp_path, "loop.epub", looped))
    assert result.returncode == 0, result.stderr
    sent = fake.chat_requests()[0].json["messages"][-1]["content"]
    assert sent.count("It was a dark night.") == 1


def test_pdf_past_pypdfs_limits_is_a_clear_error(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    pdf = re.sub(rb"xref\n0 \d+", b"xref\n0 99999999", make_pdf(["hello"]))
    result = ask_file(cli, fake, tmp_path, write(tmp_path, "limit.pdf", pdf))
    assert result.returncode == 2, result.stderr
    assert "goes past pypdf's safety limits" in result.stderr
    nested = make_pdf(["hello"]).replace(
        b"/MediaBox", b"/X " + b"[" * 50_000 + b"]" * 50_000 + b" /MediaBox"
    )
    result = ask_file(cli, fake, tmp_path, write(tmp_path, "deep.pdf", nested))
    assert result.returncode in (0, 2), result.stderr
    assert "unexpected" not in result.stderr


def test_multi_input_summarize_a_bad_document_fails_that_input_only(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    good = write(tmp_path, "good.txt", b"The quarterly numbers were fine.\n")
    bomb = rezip(make_docx(), {"word/document.xml": (b" " * (30 * MiB), zipfile.ZIP_DEFLATED)})
    bad = write(tmp_path, "bad.docx", bomb)
    pdf = re.sub(rb"xref\n0 \d+", b"xref\n0 99999999", make_pdf(["x"]))
    worse = write(tmp_path, "worse.pdf", pdf)
    result = cli(
        "summarize", str(good), str(bad), str(worse), "--yes", env=fake_env(tmp_path, fake)
    )
    assert result.returncode == 2, result.stderr
    assert "good.txt\n\n" in result.stdout
    assert "2 of 3 inputs failed" in result.stderr
    assert "bad.docx: failed" in result.stderr and "worse.pdf: failed" in result.stderr
    assert "unexpected" not in result.stderr
    assert len(fake.chat_requests()) == 1
