"""Knowledge-base fixtures: a small bilingual shop knowledge base and fast embedders."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from core.settings import KnowledgeSettings
from core.storage.sync import create_sync_engine
from knowledge.base import KnowledgeBase
from knowledge.embeddings import E5Embedder, HashingEmbedder, Vectors
from tests.core.conftest import BACKENDS, POSTGRES_URL
from tests.knowledge.chroma_server import ChromaServer

OpenWorker = Callable[..., KnowledgeBase]

FAQ_ROWS = [
    (
        "returns-window",
        "returns",
        "支持7天无理由退货吗？",
        "支持。签收后7天内可以申请无理由退货，商品需完好。",
    ),
    (
        "refund-timing",
        "returns",
        "How long do refunds take?",
        "Refunds reach your card within 3-5 working days.",
    ),
    ("shipping-fee", "shipping", "运费怎么算？", "订单实付满99元包邮，不满99元收取8元运费。"),
    (
        "invoice",
        "invoices",
        "How do I get an invoice?",
        "Open the order and tap Request invoice; it is emailed within a day.",
    ),
    ("warranty", "warranty", "笔记本保修多久？", "笔记本电脑保修2年，其他商品保修1年。"),
    (
        "hotline",
        "contact",
        "What is your phone number?",
        "Call 400-820-1234, every day from 9:00 to 21:00.",
    ),
]

SHIPPING_MD = """# Shipping policy

## Delivery times

Orders paid before 16:00 ship the same day. Standard delivery takes 2 to 4 days in mainland China.
Remote areas take up to 7 days.

## Carriers

We ship with SF Express and JD Logistics. The XH-77 courier code on your label identifies the
warehouse that packed the parcel.
"""


def write_faq_csv(path: Path, rows: list[tuple[str, str, str, str]] = FAQ_ROWS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "category", "question", "answer"])
        writer.writerows(rows)
    return path


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    """A source folder with an FAQ table and a Markdown policy."""
    folder = tmp_path / "kb"
    (folder / "policies").mkdir(parents=True)
    write_faq_csv(folder / "faq.csv")
    (folder / "policies" / "shipping.md").write_text(SHIPPING_MD, encoding="utf-8")
    return folder


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_kb(data_dir: Path) -> Iterator[Callable[..., KnowledgeBase]]:
    """Opens knowledge bases on ``data_dir`` with the hashing embedder unless one is given."""

    opened: list[KnowledgeBase] = []

    def make(source_dirs: list[Path], embedder: Any = None, **overrides: Any) -> KnowledgeBase:
        settings = KnowledgeSettings(source_dirs=source_dirs, embedder="hashing", **overrides)
        kb = KnowledgeBase.open(settings, data_dir, embedder or HashingEmbedder())
        opened.append(kb)
        return kb

    yield make
    for kb in opened:
        kb.close()


@pytest.fixture(scope="session")
def e5() -> E5Embedder:
    return E5Embedder()


class FailingEmbedder(HashingEmbedder):
    """Embeds queries, but fails on passages once ``broken`` is set (a model crash mid-reload)."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def embed_passages(self, texts: object) -> Vectors:
        if self.broken:
            raise RuntimeError("model crashed")
        return super().embed_passages(texts)  # type: ignore[arg-type]


class BlindEmbedder(HashingEmbedder):
    """Maps every text to the same direction: dense retrieval cannot tell chunks apart."""

    def _encode(self, texts: list[str]) -> Vectors:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors


# -- several workers on one database and one Chroma ---------------------------------------


def reset_postgres(url: str) -> None:
    engine = create_sync_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'kefu.db'}"
    assert POSTGRES_URL is not None
    reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    with ChromaServer.start(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server


@pytest.fixture(params=["embedded", "server"])
def chroma_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "embedded":
        return None
    server: ChromaServer = request.getfixturevalue("chroma_server")
    return server.url


@pytest.fixture
def open_worker(
    database_url: str,
    chroma_url: str | None,
    shop_dir: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[OpenWorker]:
    """Opens a knowledge base as one worker would: its own data folder (caches) on a server
    Chroma, or the shared one for the embedded Chroma; the same database and collection."""
    opened: list[KnowledgeBase] = []
    collection = f"t{abs(hash(request.node.nodeid)) % 10**8}"

    def open_worker(name: str, **options: Any) -> KnowledgeBase:
        settings = KnowledgeSettings(
            source_dirs=[shop_dir],
            embedder="hashing",
            chroma_url=chroma_url,
            collection=collection,
        )
        data_dir = tmp_path / ("shared" if chroma_url is None else name)
        kb = KnowledgeBase.open(
            settings, data_dir, HashingEmbedder(), database_url=database_url, **options
        )
        opened.append(kb)
        return kb

    yield open_worker
    for kb in opened:
        kb.close()
