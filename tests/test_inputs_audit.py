"""Audit 7, area inputs: source code that looks like HTML is sent as it is, Latin-1 is not taken
for GB18030, declared charsets are used, an empty attachment alone is refused, an attachment
holding fences gets a longer fence, and errors name the kind of file they met."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Recorded, Reply, make_png

VUE = """<template>
  <div class="app">
    <p>{{ message }}</p>
    <button @click="inc">Count: {{ count }}</button>
  </div>
</template>

<script>
export default {
  data() { return { message: 'Hello', count: 0 } },
  methods: { inc() { this.count++ } }
}
</script>"""
SVG = '<svg xmlns="http://www.w3.org/2000/svg"><title>Icon</title><path d="M0 0h24v24H0z"/></svg>'
PHP = """<?php
$items = get_items();
if (count($items) > 0) {
    echo "<div class='list'>";
    foreach ($items as $item) { echo "<p>" . htmlspecialchars($item) . "</p>"; }
    echo "</div>";
}
?>"""
SNIPPET = (
    '<div id="x"><p>Hi</p></div>\n'
    '<script>document.getElementById("y").textContent = "oops";</script>'
)
XML = '<?xml version="1.0"?>\n<config><title>Build</title><p>keep me</p><body>raw</body></config>'
SPA = (
    '<!doctype html><html><head><title>App</title></head><body><div id="app"></div>'
    '<script src="/app.js"></script></body></html>'
)
GERMAN = "Grüße aus München, schöne Grüße"


def sent(request: Recorded) -> str:
    text: str = request.json["messages"][-1]["content"]
    return text


def empty_docx() -> bytes:
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", f"<w:document {w}><w:body></w:body></w:document>")
    return out.getvalue()


# --- 2: markup that is not an HTML page is text ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("App.vue", VUE),
        ("icon.svg", SVG),
        ("index.php", PHP),
        ("snippet.html", SNIPPET),
        ("settings.xml", XML),
    ],
)
def test_source_that_looks_like_html_is_sent_as_it_is(
    fake: FakeOpenAI, tmp_path: Path, name: str, source: str
) -> None:
    (tmp_path / name).write_text(source + "\n", encoding="utf-8")
    env = fake_env(tmp_path, fake)
    attached = run_cli("ask", "explain", "-f", str(tmp_path / name), env=env)
    piped = run_cli("ask", "explain", env=env, input=source + "\n")
    assert attached.returncode == 0 and piped.returncode == 0, attached.stderr + piped.stderr
    first, second = fake.chat_requests()
    assert sent(first) == f"explain\n\nFile {name}:\n```\n{source}\n```"
    assert sent(second) == f"explain\n\n{source}"


def test_a_page_named_or_written_as_server_code_is_not_converted(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    page = "<!DOCTYPE html>\n<html><body><h1>Shop</h1>\n<p><?php echo $total; ?></p></body></html>"
    jsx = (
        "<html><body><main>{items.map(i => <li>{i}</li>)}</main><script>go()</script></body></html>"
    )
    (tmp_path / "cart.php").write_text(page, encoding="utf-8")
    (tmp_path / "Page.jsx").write_text(jsx, encoding="utf-8")
    env = fake_env(tmp_path, fake)
    for args in (("-f", str(tmp_path / "cart.php")), ("-f", str(tmp_path / "Page.jsx"))):
        assert run_cli("ask", "q", *args, env=env).returncode == 0
    assert run_cli("ask", "q", env=env, input=page).returncode == 0  # no name: <?php says it
    php, component, piped = (sent(r) for r in fake.chat_requests())
    assert php == f"q\n\nFile cart.php:\n```\n{page}\n```"
    assert component == f"q\n\nFile Page.jsx:\n```\n{jsx}\n```"
    assert piped == f"q\n\n{page}"


def test_urls_follow_their_content_type(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.pages["App.vue"] = (VUE.encode(), "text/plain; charset=utf-8")
    fake.pages["snippet"] = (SNIPPET.encode(), "text/html")
    env = fake_env(tmp_path, fake)
    for page in ("App.vue", "snippet"):
        result = run_cli("ask", "q", "-f", f"{fake.root}/pages/{page}", env=env)
        assert result.returncode == 0, result.stderr
    raw, converted = (sent(r) for r in fake.chat_requests())
    assert raw == f"q\n\nFile {fake.root}/pages/App.vue:\n```\n{VUE}\n```"
    assert converted == f"q\n\nFile {fake.root}/pages/snippet:\n```\nHi\n```"  # still a page


def test_a_page_with_no_readable_text_is_said_not_sent_empty(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.default_reply = Reply(text="Summary.")
    (tmp_path / "spa.html").write_text(SPA, encoding="utf-8")
    env = fake_env(tmp_path, fake)
    asked = run_cli("ask", "what is it?", "-f", str(tmp_path / "spa.html"), env=env)
    alone = run_cli("ask", "-f", str(tmp_path / "spa.html"), env=env)
    summary = run_cli("summarize", str(tmp_path / "spa.html"), env=env)
    assert asked.returncode == 0, asked.stderr
    assert "is an HTML page with no readable text" in asked.stderr
    (request,) = fake.chat_requests()
    assert sent(request) == "what is it?\n\nFile spa.html: (no text)"
    assert alone.returncode == 2 and summary.returncode == 2
    assert "nothing to ask: file" in alone.stderr and "no readable text" in alone.stderr
    assert "no readable text" in summary.stderr and "is empty" not in summary.stderr


# --- 8: Latin-1 is not GB18030 -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [GERMAN, "Ich möchte über die Brücke gehen", "München Bünde Lübeck", "Übermäßig schöne Brücke"],
)
def test_latin1_text_is_refused_not_read_as_gb18030(
    fake: FakeOpenAI, tmp_path: Path, text: str
) -> None:
    (tmp_path / "de.txt").write_bytes(f"{text}\n".encode("cp1252"))
    (tmp_path / "de.csv").write_bytes(f"id,prompt\n1,{text}\n".encode("cp1252"))
    env = fake_env(tmp_path, fake)
    for args in (
        ("ask", "translate:", "-f", str(tmp_path / "de.txt")),
        ("batch", "submit", str(tmp_path / "de.csv"), "--dry-run"),
    ):
        result = run_cli(*args, env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "is not text in UTF-8, UTF-16 or GB18030" in result.stderr
        assert "hint: convert it first, e.g. iconv -f latin1" in result.stderr
    assert fake.requests == []


# --- 9: declared charsets ----------------------------------------------------------------------


def test_a_url_is_decoded_with_the_charset_it_declares(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.pages["latin1"] = (GERMAN.encode("latin-1"), "text/plain; charset=iso-8859-1")
    fake.pages["koi8"] = ("Привет, мир".encode("koi8-r"), "text/plain; Charset=KOI8-R")
    env = fake_env(tmp_path, fake)
    for page in ("latin1", "koi8"):
        result = run_cli("ask", "q", "-f", f"{fake.root}/pages/{page}", env=env)
        assert result.returncode == 0, result.stderr
    latin, cyrillic = (sent(r) for r in fake.chat_requests())
    assert latin == f"q\n\nFile {fake.root}/pages/latin1:\n```\n{GERMAN}\n```"
    assert cyrillic == f"q\n\nFile {fake.root}/pages/koi8:\n```\nПривет, мир\n```"


def test_html_without_a_charset_is_decoded_like_text(fake: FakeOpenAI, tmp_path: Path) -> None:
    page = "<html><body><p>中文网页内容</p></body></html>\n"
    (tmp_path / "gbpage.html").write_bytes(page.encode("gb18030"))
    declared = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">'
    (tmp_path / "meta.html").write_bytes(
        f"{declared}</head><body><p>你好</p></body></html>".encode("gbk")
    )
    fake.pages["gb"] = (page.encode("gb18030"), "text/html")
    env = fake_env(tmp_path, fake)
    for target in (tmp_path / "gbpage.html", tmp_path / "meta.html", f"{fake.root}/pages/gb"):
        result = run_cli("ask", "q", "-f", str(target), env=env)
        assert result.returncode == 0, result.stderr
    texts = [sent(r) for r in fake.chat_requests()]
    assert texts[0] == "q\n\nFile gbpage.html:\n```\n中文网页内容\n```"
    assert texts[1] == "q\n\nFile meta.html:\n```\n你好\n```"
    assert texts[2] == f"q\n\nFile {fake.root}/pages/gb:\n```\n中文网页内容\n```"


# --- 14: an empty attachment -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("empty.txt", b"", "file {path} is empty"),
        ("blank.txt", b"\n \n", "file {path} is empty"),
        ("empty.docx", empty_docx(), "file {path} is a Word document with no text"),
    ],
)
def test_an_empty_attachment_alone_is_refused_beside_a_prompt_noted(
    fake: FakeOpenAI, tmp_path: Path, name: str, data: bytes, why: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    env = fake_env(tmp_path, fake)
    alone = run_cli("ask", "-f", str(path), env=env)
    assert alone.returncode == 2, alone.stdout + alone.stderr
    assert f"chatcli: error: nothing to ask: {why.format(path=path)}" in alone.stderr
    assert fake.requests == []
    asked = run_cli("ask", "what is in it?", "-f", str(path), env=env)
    assert asked.returncode == 0, asked.stderr
    assert f"chatcli: {why.format(path=path)}" in asked.stderr
    (request,) = fake.chat_requests()
    assert sent(request).startswith(f"what is in it?\n\nFile {name}: (")


# --- 17: fences and messages -------------------------------------------------------------------


def test_an_attachment_holding_fences_gets_a_longer_fence(fake: FakeOpenAI, tmp_path: Path) -> None:
    notes = "# Notes\n\n```sh\nmake\n```\n\nand a longer one:\n\n````\n```\n````"
    (tmp_path / "notes.md").write_text(notes + "\n", encoding="utf-8")
    result = run_cli("ask", "q", "-f", str(tmp_path / "notes.md"), env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    (request,) = fake.chat_requests()
    assert sent(request) == f"q\n\nFile notes.md:\n`````\n{notes}\n`````"


def test_summarize_of_an_image_says_it_is_an_image(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "pic.png").write_bytes(make_png(2, 2))
    result = run_cli("summarize", str(tmp_path / "pic.png"), env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert f"file {tmp_path / 'pic.png'} is an image (PNG), not text" in result.stderr
    assert "binary data" not in result.stderr
    assert fake.requests == []
