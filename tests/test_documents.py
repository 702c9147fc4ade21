"""Documents and web pages as input: PDF, DOCX, ODT, EPUB and HTML read by content, for
``ask -f``, piped stdin and ``summarize``; URLs fetched (through the profile's proxy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatcli.documents import extract
from chatcli.documents.html import to_markdown
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.docs_helpers import encrypt_pdf, make_docx, make_epub, make_odt, make_pdf
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Recorded, Reply

PAGE = b"""<!doctype html><html><head><title>Release notes</title>
<script>window.tracking = "do not send";</script><style>body { color: red }</style></head>
<body><nav><a href="/">Home</a> <a href="/blog">Blog</a></nav>
<header>Example Corp site header</header>
<main><h1>Version 2.0</h1><p>The <b>new</b> engine is twice as fast.</p>
<ul><li>Faster start-up</li><li>Smaller downloads</li></ul></main>
<aside>Related: version 1.9</aside><footer>Copyright Example Corp</footer></body></html>"""


def sent(request: Recorded) -> str:
    text: str = request.json["messages"][-1]["content"]
    return text


@pytest.fixture
def replies(fake: FakeOpenAI) -> FakeOpenAI:
    fake.default_reply = Reply(text="Summary.")
    return fake


def test_pdf_attached_to_ask_is_sent_page_by_page(replies: FakeOpenAI, tmp_path: Path) -> None:
    # no .pdf suffix: the content decides, not the name
    doc = tmp_path / "report.bin"
    doc.write_bytes(make_pdf(["Revenue rose.", "Costs fell.", "Outlook is good."]))
    result = run_cli("ask", "Summarise", "-f", str(doc), env=fake_env(tmp_path, replies))
    assert result.returncode == 0, result.stderr
    (request,) = replies.chat_requests()
    assert sent(request) == (
        "Summarise\n\nFile report.bin:\n```\n[page 1]\nRevenue rose.\n\n[page 2]\nCosts fell."
        "\n\n[page 3]\nOutlook is good.\n```"
    )


def test_piped_docx_to_summarize_keeps_headings_and_lists(
    replies: FakeOpenAI, tmp_path: Path
) -> None:
    result = run_cli("summarize", env=fake_env(tmp_path, replies), input=make_docx())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Summary.\n"
    (request,) = replies.chat_requests()
    text = sent(request)
    assert "# Quarterly report\n\n# Sales\n\nSales grew in every region." in text
    assert "- North up 12 percent\n- South up 7 percent" in text
    assert "## Next steps\n\n1. Hire two engineers\n1. Open the Lyon office" in text
    assert "| Region | Growth |\n| --- | --- |\n| North | 12 |" in text


def test_encrypted_and_scanned_pdfs_are_refused_with_the_reason(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(encrypt_pdf(make_pdf(["secret"]), "pw"))
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(make_pdf(["", ""]))
    env = fake_env(tmp_path, fake)
    enc = run_cli("ask", "x", "-f", str(locked), env=env)
    img = run_cli("summarize", str(scan), env=env)
    assert enc.returncode == 2 and img.returncode == 2
    assert f"chatcli: error: file {locked} is an encrypted PDF" in enc.stderr
    assert "hint: decrypt it first" in enc.stderr
    # blank pages are no scan (audit 8); a PDF that draws images is: test_audit8_media.py
    assert "is a PDF with no text" in img.stderr and "OCR" not in img.stderr
    assert fake.requests == []


def test_odt_and_epub_become_markdown() -> None:
    assert extract(make_odt(), "minutes") == "# Minutes\n\nWe met on Monday.\n\n- Budget approved"
    assert extract(make_epub(), "book") == (
        "# Chapter one\n\nIt was a dark night.\n\n# Chapter two\n\nMorning came."
    )


def test_html_keeps_main_content_only() -> None:
    text = to_markdown(PAGE.decode())
    assert text == (
        "# Version 2.0\n\nThe new engine is twice as fast.\n\n- Faster start-up\n"
        "- Smaller downloads\n"
    )


def test_url_fetched_and_typed_by_the_response(replies: FakeOpenAI, tmp_path: Path) -> None:
    # no doctype and no <html>: only the Content-Type says it is HTML
    replies.pages["notes"] = (PAGE.split(b"<body>")[1], "text/html; charset=utf-8")
    replies.pages["doc"] = (make_pdf(["Only page."]), "application/pdf")
    env = fake_env(tmp_path, replies)
    page = run_cli("summarize", f"{replies.root}/pages/notes", env=env)
    pdf = run_cli("ask", "What is it?", "-f", f"{replies.root}/pages/doc", env=env)
    assert page.returncode == 0, page.stderr
    assert pdf.returncode == 0, pdf.stderr
    first, second = replies.chat_requests()
    assert "# Version 2.0" in sent(first) and "- Smaller downloads" in sent(first)
    assert "Home" not in sent(first) and "tracking" not in sent(first)
    assert "Copyright" not in sent(first)
    assert sent(second).endswith(f"File {replies.root}/pages/doc:\n```\n[page 1]\nOnly page.\n```")


def test_url_errors_are_one_line(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    missing = run_cli("summarize", f"{fake.root}/pages/nope", env=env)
    assert missing.returncode == 5
    assert f"chatcli: error: {fake.root}/pages/nope answered HTTP 404" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_url_goes_through_the_profile_proxy(replies: FakeOpenAI, tmp_path: Path) -> None:
    from tests.fakes.proxy import FakeProxy

    replies.pages["p"] = (PAGE, "text/html")
    with FakeProxy() as proxy:
        (tmp_path / "config.toml").write_text(
            f'default_profile = "relay"\n[profiles.relay]\ntype = "relay"\n'
            f'base_url = "{replies.base_url}"\napi_key = "{DEFAULT_API_KEY}"\n'
            f'proxy = "{proxy.url}"\n',
            encoding="utf-8",
        )
        result = run_cli("summarize", f"{replies.root}/pages/p", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"{replies.root}/pages/p" in proxy.seen


def test_plain_text_loads_no_document_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from chatcli.inputs import to_text; to_text(b'hello', 'x'); "
        "print(*(m in sys.modules for m in ('pypdf', 'zipfile', 'html.parser')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.split() == ["False", "False", "False"], proc.stderr
