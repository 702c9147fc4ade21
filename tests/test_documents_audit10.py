"""Audit 10, area media (documents): what Word keeps in content controls, tables as rows of
cells, text boxes once, Strict Open XML, headers, footers, footnotes and ``List Number``; ODT
cells and nested tables; EPUBs with DRM or percent-encoded chapter names; PDFs with scanned
pages, control characters or a page listed 100,000 times; HTML tables; RTF; the formats chatcli
names but does not read; pages in a compression chatcli does not decode; ``/file URL`` in the
REPL. Every document is built here with zipfile or by hand, and sent through the real CLI to
the fake server, which records what the model would have been given."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.docs_helpers import assemble_pdf
from tests.fakes import FakeOpenAI, Raw, Reply
from tests.test_repl import Chat

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/wordprocessingml/main"
NAMESPACES = (
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)


def _zip(files: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return out.getvalue()


def P(text: str, style: str = "") -> str:
    props = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f'<w:p>{props}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def tc(*paragraphs: str, props: str = "") -> str:
    return f"<w:tc>{props}" + "".join(P(p) for p in paragraphs) + "</w:tc>"


def docx(
    body: str,
    parts: dict[str, str] | None = None,
    ns: str = W_NS,
    extra: dict[str, str] | None = None,
) -> bytes:
    """A Word document of ``body``, plus ``parts`` (a header, footnotes) with their
    relationships and ``extra`` files (styles, numbering)."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{ns}" {NAMESPACES}>'
    files: dict[str, str | bytes] = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.'
        'openxmlformats.org/package/2006/content-types"/>',
        "word/document.xml": f"{head}<w:body>{body}<w:sectPr/></w:body></w:document>",
    }
    rels = ""
    for n, (name, xml) in enumerate((parts or {}).items()):
        kind = name.removeprefix("word/").removesuffix(".xml").rstrip("0123456789")
        target = name.removeprefix("word/")
        rels += (
            f'<Relationship Id="rId{n}" Target="{target}" Type="http://schemas.openxmlformats.'
            f'org/officeDocument/2006/relationships/{kind}"/>'
        )
        files[name] = xml
    if rels:
        files["word/_rels/document.xml.rels"] = (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships">{rels}</Relationships>'
        )
    return _zip({**files, **(extra or {})})


def ask(tmp_path: Path, fake: FakeOpenAI, name: str, data: bytes) -> tuple[int, str, str]:
    """``ask Q -f NAME``: exit code, stderr and the text the fake was sent ("" for none)."""
    fake.default_reply = Reply(text="ok")
    path = tmp_path / name
    path.write_bytes(data)
    before = len(fake.chat_requests())
    result = run_cli("ask", "Q", "-f", str(path), env=fake_env(tmp_path, fake))
    requests = fake.chat_requests()[before:]
    sent = requests[-1].json["messages"][-1]["content"] if requests else ""
    return result.returncode, result.stderr, sent


# --- 2: content controls and custom XML -------------------------------------------------------


def test_text_in_content_controls_and_custom_xml_is_sent(fake: FakeOpenAI, tmp_path: Path) -> None:
    sdt = "<w:sdt><w:sdtPr><w:alias w:val='Main'/></w:sdtPr><w:sdtContent>{}</w:sdtContent></w:sdt>"
    table = (
        "<w:tbl><w:tr>" + tc("Item") + tc("Price") + "</w:tr>"
        + sdt.format("<w:tr>" + tc("Widget") + tc("99 EUR") + "</w:tr>")
        + "<w:tr><w:tc>" + sdt.format(P("Gadget")) + "</w:tc>" + tc("5 EUR") + "</w:tr></w:tbl>"
    )  # fmt: skip
    body = (
        P("Intro.")
        + sdt.format(P("Clause 1: the buyer pays 5000 EUR.") + P("Clause 2: delivery in May."))
        + '<w:customXml w:element="clause">' + P("Custom XML clause.") + "</w:customXml>"
        + table
    )  # fmt: skip
    code, err, sent = ask(tmp_path, fake, "contract.docx", docx(body))
    assert code == 0, err
    assert "Intro.\n\nClause 1: the buyer pays 5000 EUR.\n\nClause 2: delivery in May." in sent
    assert "Custom XML clause." in sent
    assert "| Item | Price |\n| --- | --- |\n| Widget | 99 EUR |\n| Gadget | 5 EUR |" in sent
    # a document whose only paragraph is in a content control has text
    code, err, sent = ask(tmp_path, fake, "form.docx", docx(sdt.format(P("Only in a control."))))
    assert code == 0 and "no text" not in err, err
    assert sent.endswith("File form.docx:\n```\nOnly in a control.\n```")


# --- 5: tables as rows of cells, text boxes once ----------------------------------------------


def test_docx_cells_keep_their_words_and_columns_and_a_text_box_is_read_once(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    span = '<w:tcPr><w:gridSpan w:val="2"/></w:tcPr>'
    merged_below = "<w:tcPr><w:vMerge/></w:tcPr>"
    table = (
        "<w:tbl><w:tr>" + tc("Name", "(full)", props=span) + tc("City") + "</w:tr>"
        "<w:tr>" + tc("Alice", "Smith") + tc("a|b") + tc("12 High St", "London") + "</w:tr>"
        "<w:tr>" + tc("Bob") + tc(props=merged_below) + tc("Leeds") + "</w:tr></w:tbl>"
    )
    box = f"<w:txbxContent>{P('TEXTBOX CONTENT')}</w:txbxContent>"
    alternate = (
        '<w:p><w:r><w:t xml:space="preserve">Before box.</w:t></w:r><w:r><mc:AlternateContent>'
        f'<mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx>{box}</wps:txbx></wps:wsp>'
        "</w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>"
        f"{box}</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"
    )
    code, err, sent = ask(tmp_path, fake, "people.docx", docx(table + alternate))
    assert code == 0, err
    assert (
        "| Name (full) |  | City |\n| --- | --- | --- |\n"
        "| Alice Smith | a\\|b | 12 High St London |\n| Bob |  | Leeds |"
    ) in sent
    assert sent.count("TEXTBOX CONTENT") == 1
    assert "Before box.\nTEXTBOX CONTENT" in sent


def _odt(body: str) -> bytes:
    content = (
        '<?xml version="1.0"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
        f"<office:text>{body}</office:text></office:body></office:document-content>"
    )
    return _zip({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": content})


def _odt_row(*cells: str) -> str:
    return "<table:table-row>" + "".join(cells) + "</table:table-row>"


def _odt_cell(*paragraphs: str, extra: str = "", attrs: str = "") -> str:
    texts = "".join(f"<text:p>{p}</text:p>" for p in paragraphs)
    return f"<table:table-cell{attrs}>{texts}{extra}</table:table-cell>"


def test_odt_cells_merges_and_a_nested_table_read_once(fake: FakeOpenAI, tmp_path: Path) -> None:
    inner = (
        '<table:table table:name="I"><table:table-column table:number-columns-repeated="2"/>'
        + _odt_row(_odt_cell("in1"), _odt_cell("in2")) + "</table:table>"
    )  # fmt: skip
    outer = (
        '<table:table table:name="O"><table:table-column table:number-columns-repeated="3"/>'
        "<table:table-header-rows>"
        + _odt_row(_odt_cell("Wide", attrs=' table:number-columns-spanned="2"'),
                   "<table:covered-table-cell/>", _odt_cell("C"))
        + "</table:table-header-rows>"
        + _odt_row(_odt_cell("Alice", "Smith"), _odt_cell("x"), _odt_cell(extra=inner))
        + "</table:table>"
    )  # fmt: skip
    code, err, sent = ask(tmp_path, fake, "people.odt", _odt(outer))
    assert code == 0, err
    assert "| Wide |  | C |\n| --- | --- | --- |\n| Alice Smith | x | in1 / in2 |" in sent
    assert sent.count("in1") == 1


# --- 6: Strict Open XML -------------------------------------------------------------------------


def test_a_strict_open_xml_document_is_read(fake: FakeOpenAI, tmp_path: Path) -> None:
    body = P("Strict paragraph one.") + P("Second paragraph.")
    code, err, sent = ask(tmp_path, fake, "strict.docx", docx(body, ns=STRICT_NS))
    assert code == 0, err
    assert "no text" not in err
    assert sent.endswith("```\nStrict paragraph one.\n\nSecond paragraph.\n```")


# --- 10: headers, footers, footnotes, List Number -----------------------------------------------


def test_headers_footers_footnotes_and_list_number_style(fake: FakeOpenAI, tmp_path: Path) -> None:
    ns = f'xmlns:w="{W_NS}"'
    styles = (
        f'<?xml version="1.0"?><w:styles {ns}><w:style w:type="paragraph" '
        'w:styleId="ListNumber"><w:name w:val="List Number"/><w:pPr><w:numPr>'
        '<w:numId w:val="5"/></w:numPr></w:pPr></w:style></w:styles>'
    )
    numbering = (
        f'<?xml version="1.0"?><w:numbering {ns}><w:abstractNum w:abstractNumId="7">'
        '<w:lvl w:ilvl="0"><w:numFmt w:val="decimal"/></w:lvl></w:abstractNum>'
        '<w:num w:numId="5"><w:abstractNumId w:val="7"/></w:num></w:numbering>'
    )
    notes = (
        f'<?xml version="1.0"?><w:footnotes {ns}><w:footnote w:type="separator" w:id="-1">'
        '<w:p><w:r><w:separator/></w:r></w:p></w:footnote><w:footnote w:id="1">'
        f"{P('This is the footnote text.')}</w:footnote></w:footnotes>"
    )
    parts = {
        "word/header1.xml": f"<w:hdr {ns}>{P('CONFIDENTIAL HEADER')}</w:hdr>",
        "word/footer1.xml": f"<w:ftr {ns}>{P('Footer text')}</w:ftr>",
        "word/footnotes.xml": notes,
    }
    body = (
        '<w:p><w:r><w:t>A claim.</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r></w:p>'
        + P("First step", "ListNumber") + P("Second step", "ListNumber")
    )  # fmt: skip
    data = docx(body, parts, extra={"word/styles.xml": styles, "word/numbering.xml": numbering})
    code, err, sent = ask(tmp_path, fake, "report.docx", data)
    assert code == 0, err
    assert sent.endswith(
        "```\nHeader: CONFIDENTIAL HEADER\n\nA claim.[^1]\n\n1. First step\n1. Second step"
        "\n\nFooter: Footer text\n\n[^1]: This is the footnote text.\n```"
    )


# --- 4 and 7: EPUB with DRM; chapter names percent-encoded ----------------------------------

CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:'
    'xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" '
    'media-type="application/oebps-package+xml"/></rootfiles></container>'
)


def _epub(chapters: list[tuple[str, str, bytes]], extra: dict[str, str | bytes]) -> bytes:
    """An EPUB of ``chapters`` (member name, href in the OPF, bytes) in spine order."""
    items = "".join(
        f'<item id="c{i}" href="{href}" media-type="application/xhtml+xml"/>'
        for i, (_name, href, _body) in enumerate(chapters)
    )
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        f"<metadata/><manifest>{items}</manifest><spine>{spine}</spine></package>"
    )
    files: dict[str, str | bytes] = {
        "mimetype": "application/epub+zip",
        "META-INF/container.xml": CONTAINER,
        "OEBPS/content.opf": opf,
    }
    files.update({f"OEBPS/{name}": body for name, _href, body in chapters})
    files.update(extra)
    return _zip(files)


def _chapter(title: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
        f"<body><h1>{title}</h1><p>Text of {title}.</p></body></html>"
    ).encode()


def test_an_epub_with_drm_is_refused_and_nothing_is_sent(fake: FakeOpenAI, tmp_path: Path) -> None:
    import random

    cipher = random.Random(1).randbytes(4000)
    encryption = (
        '<?xml version="1.0"?><encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:'
        'container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
        '<enc:CipherData><enc:CipherReference URI="OEBPS/ch1.xhtml"/></enc:CipherData>'
        "</enc:EncryptedData></encryption>"
    )
    book = _epub([("ch1.xhtml", "ch1.xhtml", cipher)], {"META-INF/encryption.xml": encryption})
    code, err, sent = ask(tmp_path, fake, "drm.epub", book)
    assert code == 2 and sent == ""
    assert "drm.epub is a DRM-protected EPUB" in err and "Traceback" not in err
    # ciphertext a book does not declare is not sent as mojibake either
    book = _epub([("ch1.xhtml", "ch1.xhtml", cipher)], {})
    code, err, sent = ask(tmp_path, fake, "odd.epub", book)
    assert code == 2 and sent == ""
    assert "odd.epub is a damaged or encrypted EPUB: OEBPS/ch1.xhtml is not text" in err
    # font obfuscation hides no text: such a book is read
    fonts = encryption.replace("http://www.w3.org/2001/04/xmlenc#aes128-cbc",
                               "http://www.idpf.org/2008/embedding").replace(
        "OEBPS/ch1.xhtml", "OEBPS/font.otf")  # fmt: skip
    book = _epub([("ch1.xhtml", "ch1.xhtml", _chapter("One"))], {"META-INF/encryption.xml": fonts})
    code, err, sent = ask(tmp_path, fake, "fonts.epub", book)
    assert code == 0 and "Text of One." in sent, err


def test_epub_chapter_hrefs_are_urls(fake: FakeOpenAI, tmp_path: Path) -> None:
    from urllib.parse import quote

    book = _epub(
        [
            ("intro.xhtml", "intro.xhtml#start", _chapter("Intro")),
            ("第1章.xhtml", quote("第1章.xhtml"), _chapter("第1章")),
            ("my chapter.xhtml", "my%20chapter.xhtml", _chapter("Three")),
        ],
        {},
    )
    code, err, sent = ask(tmp_path, fake, "pct.epub", book)
    assert code == 0, err
    assert (
        "# Intro\n\nText of Intro.\n\n# 第1章\n\nText of 第1章.\n\n# Three\n\nText of Three."
        in sent
    )


# --- 3, control characters, page cap: PDFs --------------------------------------------------


def _pdf(pages: list[str | None], kids: list[int] | None = None) -> bytes:
    """A PDF whose pages show a line of text each, or (None) draw only an image, a scan;
    ``kids``: the page indexes the page tree lists (default: each once)."""
    image = (
        b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Length 1 >>\nstream\n\x80\nendstream"
    )
    objects = [b"", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", image]
    ids = []
    for text in pages:
        if text is None:
            stream = b"q 100 0 0 100 0 0 cm /Im1 Do Q"
        else:
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            stream = b"BT /F1 12 Tf 72 720 Td (" + escaped.encode("latin-1") + b") Tj ET"
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font "
            b"<< /F1 3 0 R >> /XObject << /Im1 4 0 R >> >> /Contents %d 0 R >>" % len(objects)
        )
        ids.append(len(objects))
    listed = [ids[i] for i in (kids if kids is not None else range(len(pages)))]
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    refs = b" ".join(b"%d 0 R" % n for n in listed)
    objects[1] = b"<< /Type /Pages /Kids [" + refs + b"] /Count %d >>" % len(listed)
    return assemble_pdf(objects)


def test_scanned_pages_amid_text_are_marked_and_named(fake: FakeOpenAI, tmp_path: Path) -> None:
    pytest.importorskip("pypdf")
    pages = ["Typed page 1", "Typed page 2", None, None, None, None, "Typed page 7", None]
    code, err, sent = ask(tmp_path, fake, "mixed.pdf", _pdf(pages))
    assert code == 0, err
    assert "mixed.pdf: pages 3-6, 8 hold only images (no text layer)" in err
    assert "chatcli does no OCR" in err
    scanned = "(this page holds only images: no text layer, and chatcli does no OCR)"
    assert f"[page 2]\nTyped page 2\n\n[page 3]\n{scanned}\n\n[page 4]\n{scanned}" in sent
    assert f"[page 7]\nTyped page 7\n\n[page 8]\n{scanned}\n```" in sent


def test_control_characters_of_a_pdf_are_not_sent(fake: FakeOpenAI, tmp_path: Path) -> None:
    pytest.importorskip("pypdf")
    data = _pdf(["Ctl:\x00\x01\x1b[2J\x1b]0;pwned\x07 end"])
    code, err, sent = ask(tmp_path, fake, "ctl.pdf", data)
    assert code == 0, err
    assert "[page 1]\nCtl: end" in sent
    assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in sent), repr(sent)


def test_a_pdf_listing_pages_past_the_cap_is_refused_at_once(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    pytest.importorskip("pypdf")
    import time

    started = time.monotonic()
    code, err, sent = ask(tmp_path, fake, "many.pdf", _pdf(["Same page"], kids=[0] * 20_000))
    assert code == 2 and sent == ""
    assert "many.pdf lists more than 10,000 pages" in err
    assert time.monotonic() - started < 10
    # a page the tree lists again is read once
    code, err, sent = ask(tmp_path, fake, "twice.pdf", _pdf(["One", "Two"], kids=[0, 1, 0, 1]))
    assert code == 0, err
    assert sent.endswith("```\n[page 1]\nOne\n\n[page 2]\nTwo\n```")


# --- 10: HTML tables, RTF, formats named, the ZIP limit's unit --------------------------------


def test_html_tables_keep_their_structure(fake: FakeOpenAI, tmp_path: Path) -> None:
    page = (
        b"<!doctype html><html><body><table><caption>Stock</caption>"
        b"<tr><th colspan=2>Wide</th><th>C</th></tr>"
        b"<tr><td rowspan=2>a|b</td><td>x<br>y</td><td><p>z1</p><p>z2</p></td></tr>"
        b"<tr><td>m</td><td>n</td></tr></table>"
        b"<ol start=5><li>five</li><li>six</li></ol>"
        b"<details><summary>Sum</summary>Hidden text</details></body></html>"
    )
    code, err, sent = ask(tmp_path, fake, "table.html", page)
    assert code == 0, err
    assert (
        "Stock\n\n| Wide |  | C |\n| --- | --- | --- |\n| a\\|b | x y | z1 z2 |\n| | m | n |"
    ).replace("| | m", "|  | m") in sent
    assert "5. five\n6. six" in sent
    assert "Sum\n\nHidden text" in sent
    # a table that lays a page out (headings, prose in its cells) keeps its blocks
    page = (
        b"<!doctype html><html><body><table><tr><td><h1>Site</h1></td><td>"
        b"<h2>Article</h2><p>First paragraph.</p><ul><li>point</li></ul></td></tr></table>"
        b"</body></html>"
    )
    code, err, sent = ask(tmp_path, fake, "layout.html", page)
    assert code == 0, err
    assert "# Site" in sent and "## Article\n\nFirst paragraph." in sent and "- point" in sent


def test_rtf_is_sent_as_its_text(fake: FakeOpenAI, tmp_path: Path) -> None:
    rtf = (
        rb"{\rtf1\ansi\ansicpg1252{\fonttbl\f0\fswiss Helvetica;}{\colortbl;\red255\green0\blue0;}"
        rb"{\*\generator Writer;}{\info{\title Secret title}}\f0\pard Hello from RTF.\par"
        b"\n"
        rb"Caf\'e9 \u8364? and \{braces\}.\par}"
    )
    code, err, sent = ask(tmp_path, fake, "doc.rtf", rtf)
    assert code == 0, err
    assert sent.endswith("File doc.rtf:\n```\nHello from RTF.\nCafé € and {braces}.\n```")
    gbk = rb"{\rtf1\ansi\ansicpg936{\fonttbl{\f0 SimSun;}}\f0 \'c4\'e3\'ba\'c3\par}"
    code, err, sent = ask(tmp_path, fake, "zh.rtf", gbk)
    assert code == 0 and sent.endswith("```\n你好\n```"), err


@pytest.mark.parametrize(
    ("name", "data", "what", "hint"),
    [
        ("sheet.xlsx", _zip({"[Content_Types].xml": "x", "xl/workbook.xml": "<w/>"}),
         "is an Excel workbook (XLSX), which chatcli does not read", "as CSV"),
        ("sheet.ods", _zip({"mimetype": "application/vnd.oasis.opendocument.spreadsheet",
                            "content.xml": "<x/>"}),
         "is an OpenDocument spreadsheet (ODS)", "as CSV"),
        ("slides.pptx", _zip({"ppt/presentation.xml": "<p/>"}),
         "is a PowerPoint presentation (PPTX)", "as PDF"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)
         + "WordDocument".encode("utf-16-le") + bytes(100),
         "is a Word 97-2003 document (.doc)", "save it as DOCX or PDF"),
        ("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)
         + "EncryptionInfo".encode("utf-16-le") + bytes(100),
         "is a password-protected Office document", "unprotected copy"),
        ("photo.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200),
         "is a HEIC image, which the API does not take", "PNG, JPEG, WebP and GIF"),
        ("photo.avif", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1" + bytes(200),
         "is an AVIF image", "convert it first"),
        ("scan.tiff", b"II*\x00\x08\x00\x00\x00" + bytes(200), "is a TIFF image", "magick"),
        ("icon.bmp", b"BM" + (254).to_bytes(4, "little") + bytes(8)
         + (40).to_bytes(4, "little") + bytes(240), "is a BMP image", "magick"),
    ],
)  # fmt: skip
def test_formats_chatcli_does_not_read_are_named_with_what_to_do(
    fake: FakeOpenAI, tmp_path: Path, name: str, data: bytes, what: str, hint: str
) -> None:
    code, err, sent = ask(tmp_path, fake, name, data)
    assert code == 2 and sent == ""
    assert f"chatcli: error: file {tmp_path / name} {what}" in err
    assert "hint:" in err and hint in err.split("hint:")[1]
    assert "binary data" not in err and "ZIP archive" not in err


def test_a_zip_member_over_the_limit_names_its_unit(fake: FakeOpenAI, tmp_path: Path) -> None:
    data = bytearray(docx(P("small")))
    # the central directory's uncompressed size of word/document.xml: 300 MiB
    entry = data.rfind(b"PK\x01\x02", 0, data.rfind(b"word/document.xml"))
    data[entry + 24 : entry + 28] = (300 * 1024 * 1024).to_bytes(4, "little")
    code, err, _sent = ask(tmp_path, fake, "bomb.docx", bytes(data))
    assert code == 2
    assert "word/document.xml declares 300 MiB, more than 64 MiB" in err


# --- 10: URLs: undecodable compression; the REPL's /file URL ----------------------------------


@pytest.mark.parametrize(
    ("coding", "body"),
    [("zstd", "28b52ffd20676172626167650a"), ("br", "1b0000"), ("gzip, gzip", "1f8b0800"),
     ("x-custom", "000102")],
)  # fmt: skip
def test_a_page_in_a_compression_chatcli_cannot_decode_is_refused(
    fake: FakeOpenAI, tmp_path: Path, coding: str, body: str
) -> None:
    fake.pages["packed"] = Raw(
        body_hex=body, content_type="text/html", headers={"Content-Encoding": coding}
    )
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "Q", "-f", f"{fake.root}/pages/packed", env=env)
    assert result.returncode == 5, result.stderr
    assert f"sent its content compressed with {coding}, which chatcli does not decode" in (
        result.stderr
    )
    assert fake.chat_requests() == []


def test_repl_file_fetches_a_url_as_ask_f_does(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.pages["notes"] = (
        b"<html><body><main><h1>Notes</h1><p>Fetched text.</p></main></body></html>",
        "text/html",
    )
    chat = Chat(tmp_path, fake, monkeypatch)
    url = f"{fake.root}/pages/notes"
    chat.run(f"/file {url}\r", "summarise\r")
    assert chat.sent() == [f"summarise\n\nFile {url}:\n```\n# Notes\n\nFetched text.\n```"]
    assert "no such file" not in chat.err.getvalue()
