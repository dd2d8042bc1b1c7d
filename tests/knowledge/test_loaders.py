"""Each supported format loads into sections or FAQ entries; bad files fail with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import openpyxl
import pytest
from fpdf import FPDF

from core.errors import LoaderError
from knowledge.loaders import discover_files, load_source

MB = 1_048_576


def load(path: Path, max_bytes: int = 20 * MB):  # type: ignore[no-untyped-def]
    return load_source(path, path.name, max_bytes)


def test_plain_text_is_one_section_titled_by_file_name(tmp_path: Path) -> None:
    path = tmp_path / "opening-hours.txt"
    path.write_text("We are open every day from 9:00 to 21:00.\n", encoding="utf-8")
    loaded = load(path)
    assert loaded.title == "opening-hours"
    assert [s.text for s in loaded.sections] == ["We are open every day from 9:00 to 21:00."]


def test_markdown_headings_become_section_paths_but_not_inside_code(tmp_path: Path) -> None:
    path = tmp_path / "returns.md"
    path.write_text(
        "# Returns\n\nIntro text.\n\n## Refunds\n\nRefunds take 3 days.\n\n"
        "```\n# not a heading\n```\n\n### By card\n\nCard refunds\ntake 5 days.\n",
        encoding="utf-8",
    )
    loaded = load(path)
    assert loaded.title == "Returns"
    sections = {s.heading: s.text for s in loaded.sections}
    assert sections["Returns"] == "Intro text."
    assert "# not a heading" in sections["Returns > Refunds"]
    # hard-wrapped lines of one paragraph are joined so the sentence stays whole
    assert sections["Returns > Refunds > By card"] == "Card refunds take 5 days."


def test_html_drops_scripts_and_navigation_and_keeps_headings(tmp_path: Path) -> None:
    path = tmp_path / "help.html"
    path.write_text(
        "<html><head><title>Help centre</title><script>var x = 1;</script></head><body>"
        "<nav>Home | Shop</nav><h1>Help</h1><p>Welcome.</p><h2>Payment</h2>"
        "<p>We accept <b>Alipay</b> and WeChat Pay.</p><footer>© Shop</footer></body></html>",
        encoding="utf-8",
    )
    loaded = load(path)
    assert loaded.title == "Help centre"
    sections = {s.heading: s.text for s in loaded.sections}
    assert sections == {"Help": "Welcome.", "Help > Payment": "We accept Alipay and WeChat Pay."}


def test_pdf_pages_become_sections(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_title("Warranty")
    pdf.set_font("Helvetica", size=12)
    for text in ("Laptops have a two year warranty.", "Batteries are covered for one year."):
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    path = tmp_path / "warranty.pdf"
    pdf.output(str(path))
    loaded = load(path)
    assert loaded.title == "Warranty"
    assert [(s.heading, s.text) for s in loaded.sections] == [
        ("p. 1", "Laptops have a two year warranty."),
        ("p. 2", "Batteries are covered for one year."),
    ]


def test_docx_headings_and_tables_in_document_order(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("会员权益", level=1)
    document.add_paragraph("会员分为三个等级。")
    document.add_heading("积分", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "等级", "积分倍数"
    table.cell(1, 0).text, table.cell(1, 1).text = "钻石", "2倍"
    path = tmp_path / "membership.docx"
    document.save(str(path))
    loaded = load(path)
    sections = {s.heading: s.text for s in loaded.sections}
    assert loaded.title == "会员权益"
    assert sections["会员权益"] == "会员分为三个等级。"
    assert sections["会员权益 > 积分"] == "等级 | 积分倍数\n钻石 | 2倍"


def test_csv_faq_with_chinese_headers_keeps_first_of_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        "编号,分类,问题,答案\n1,退货,能退货吗？,可以，7天内。\n2,退货,能退货吗,重复的答案\n"
        "3,发票,怎么开发票？,在订单页申请。\n4,发票,,没有问题的答案\n",
        encoding="utf-8",
    )
    loaded = load(path)
    assert [(e.faq_id, e.question, e.answer, e.category) for e in loaded.faqs] == [
        ("1", "能退货吗？", "可以，7天内。", "退货"),
        ("3", "怎么开发票？", "在订单页申请。", "发票"),
    ]
    assert any("duplicated question" in note for note in loaded.skipped)
    assert any("missing question or answer" in note for note in loaded.skipped)


def test_csv_in_gb18030_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_bytes("问题,答案\n运费多少？,满99元包邮。\n".encode("gb18030"))
    assert load(path).faqs[0].answer == "满99元包邮。"


def test_csv_without_question_answer_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order_id,status\n1,shipped\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="no question/answer columns"):
        load(path)


def test_xlsx_reads_every_sheet_with_faq_columns(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "售后"
    first.append(["问题", "答案", "类别"])
    first.append(["保修多久？", "一年。", "保修"])
    second = workbook.create_sheet("English")
    second.append(["Question", "Answer"])
    second.append(["Do you ship abroad?", "Yes, to 30 countries."])
    notes = workbook.create_sheet("Notes")
    notes.append(["just some notes"])
    path = tmp_path / "faq.xlsx"
    workbook.save(path)
    loaded = load(path)
    assert [(e.question, e.category) for e in loaded.faqs] == [
        ("保修多久？", "保修"),
        ("Do you ship abroad?", None),
    ]


def test_json_list_and_jsonl_with_a_broken_line(tmp_path: Path) -> None:
    listing = tmp_path / "faq.json"
    listing.write_text(
        json.dumps({"faqs": [{"question": "Q1?", "answer": "A1.", "category": "c"}]}),
        encoding="utf-8",
    )
    assert [(e.question, e.category) for e in load(listing).faqs] == [("Q1?", "c")]
    lines = tmp_path / "faq.jsonl"
    lines.write_text(
        '{"问题": "怎么联系客服？", "答案": "拨打热线。"}\n{"question": broken\n', encoding="utf-8"
    )
    loaded = load(lines)
    assert [e.question for e in loaded.faqs] == ["怎么联系客服？"]
    assert loaded.skipped == ("line 2: invalid JSON (Expecting value)",)


def test_jsonl_corpus_records_keep_their_ids(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text(
        '{"id": "doc-1", "title": "Markdown", "text": "Use ~~tildes~~ for strikethrough."}\n',
        encoding="utf-8",
    )
    (section,) = load(path).sections
    assert (section.doc_id, section.title, section.text) == (
        "doc-1",
        "Markdown",
        "Use ~~tildes~~ for strikethrough.",
    )


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.md", b"  \n\n ", "no text"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        ("latin.txt", b"caf\xe9 \x80\x81\xff", "neither UTF-8 nor GB18030"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("broken.docx", b"PK not a zip", ".docx"),
        ("broken.xlsx", b"not a workbook", ".xlsx"),
        ("broken.json", b"{not json", "invalid JSON"),
        ("notes.rtf", b"{\\rtf1 hello}", "unsupported file type"),
    ],
)
def test_unparsable_files_raise_loader_error_with_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoaderError, match=reason):
        load(path)


def test_files_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_text("x" * 2048, encoding="utf-8")
    with pytest.raises(LoaderError, match="over the 0 MB limit"):
        load(path, max_bytes=1024)


def test_discovery_skips_hidden_lock_excluded_and_unsupported_files(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.md").write_text("x", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    names = ("a.md", "sub/b.csv", "~$b.xlsx", ".hidden.txt", "script.py", "logo.png", "README.md")
    for name in names:
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = discover_files(tmp_path, exclude=["README*"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.md",
        "sub/b.csv",
    ]


def test_faq_alternatives_come_from_their_own_column(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        '问题,相似问,答案\n退款多久到账？,"退款几天能到｜钱什么时候退回来\n退款多久到账",3天内。\n',
        encoding="utf-8",
    )
    entry = load(path).faqs[0]
    assert entry.alternatives == ("退款几天能到", "钱什么时候退回来")  # the question itself dropped
