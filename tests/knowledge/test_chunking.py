"""Chunks end at sentence ends, carry their section, and keep stable ids."""

from __future__ import annotations

import re

from knowledge.chunking import Chunker
from knowledge.loaders import FaqEntry, LoadedSource, Section

ZH_SENTENCES = [
    "自签收之日起7天内，您可以申请无理由退货。",
    "退回的商品需要保持完好，配件和赠品齐全！",
    "定制商品、礼品卡和已拆封的入耳式耳机不支持无理由退货。",
    "质量问题的退货运费由我们承担，您无需垫付？",
    "退款会在检测通过后原路退回，一般一到三个工作日到账。",
    "如有疑问，请拨打客服热线400-820-1234……",
    "我们每天九点到二十一点为您服务；节假日照常。",
]


def test_chinese_chunks_never_end_mid_sentence() -> None:
    text = "".join(ZH_SENTENCES * 4)
    chunker = Chunker(chunk_size=80, chunk_overlap=20)
    chunks = chunker.split(text)
    assert len(chunks) > 4
    for chunk in chunks:
        assert len(chunk) <= 80
        assert re.search(r"[。！？…；]$", chunk), chunk
        assert any(chunk.startswith(s) for s in ZH_SENTENCES), chunk


def test_english_chunks_end_at_sentence_ends_and_keep_decimals_whole() -> None:
    sentence = (
        "Version 2.5 of the app adds refunds to Alipay. Refunds take 3 days! Need help? Call us. "
    )
    chunks = Chunker(chunk_size=70, chunk_overlap=0).split(sentence * 3)
    assert all(re.search(r"[.!?]$", c) for c in chunks), chunks
    assert all("2.5" in c or "2." not in c for c in chunks)


def test_overlap_repeats_whole_sentences() -> None:
    text = "".join(ZH_SENTENCES)
    chunks = Chunker(chunk_size=60, chunk_overlap=30).split(text)
    starts = [text.index(chunk) for chunk in chunks]
    assert all(p == 0 or text[p - 1] in "。！？…；" for p in starts), chunks
    ends = [p + len(chunk) for p, chunk in zip(starts, chunks, strict=True)]
    assert any(start < end for start, end in zip(starts[1:], ends, strict=False)), "no overlap"


def test_faq_entry_is_one_chunk_with_its_fields() -> None:
    loaded = LoadedSource(
        source="faq.csv",
        title="faq",
        faqs=(FaqEntry("运费怎么算？", "满99元包邮。" * 100, "ship-1", "shipping", "zh"),),
    )
    (chunk,) = Chunker(chunk_size=50).chunks(loaded)
    assert chunk.kind == "faq"
    assert (chunk.question, chunk.category, chunk.doc_id, chunk.language) == (
        "运费怎么算？",
        "shipping",
        "ship-1",
        "zh",
    )
    assert chunk.text.startswith("运费怎么算？\n满99元包邮。")


def test_section_heading_and_language_travel_with_each_chunk() -> None:
    loaded = LoadedSource(
        source="policies/returns.md",
        title="Returns",
        sections=(Section("Refunds take three days.", heading="Returns > Refunds"),),
    )
    (chunk,) = Chunker().chunks(loaded)
    assert (chunk.source, chunk.title, chunk.section, chunk.language) == (
        "policies/returns.md",
        "Returns",
        "Returns > Refunds",
        "en",
    )
    assert chunk.search_text() == "Returns\nReturns > Refunds\nRefunds take three days."


def test_chunk_ids_are_stable_and_change_with_content_or_source() -> None:
    def ids(source: str, text: str) -> list[str]:
        loaded = LoadedSource(source=source, title="t", sections=(Section(text),))
        return [c.chunk_id for c in Chunker().chunks(loaded)]

    assert ids("a.md", "Same text.") == ids("a.md", "Same text.")
    assert ids("a.md", "Same text.") != ids("b.md", "Same text.")
    assert ids("a.md", "Same text.") != ids("a.md", "Other text.")
