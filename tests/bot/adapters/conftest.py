"""A real Kefu for the adapters' end-to-end tests: the demo knowledge base, ingested once per
session with the fast hashing embedder and copied for each test."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Kefu
from core.settings import KefuSettings, KnowledgeSettings
from knowledge.base import KnowledgeBase
from tests.bot.conftest import with_demo_intents

KNOWLEDGE = KnowledgeSettings(embedder="hashing")
ADMINS = {"telegram": ["4242"], "discord": ["1400000000000000001"], "wecom": ["boss"]}


@pytest.fixture(scope="session")
def hashing_demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("adapters-demo-index")
    return with_demo_intents(KnowledgeBase.open(KNOWLEDGE, data_dir), data_dir)


@pytest.fixture
async def platform_kefu(tmp_path: Path, hashing_demo_index: Path) -> AsyncIterator[Kefu]:
    data_dir = tmp_path / "data"
    shutil.copytree(hashing_demo_index, data_dir)
    settings = KefuSettings(data_dir=data_dir, knowledge=KNOWLEDGE, admins=ADMINS)
    app = await Kefu.create(settings, configure_logs=False)
    yield app
    await app.close()
