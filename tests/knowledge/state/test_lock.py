"""``kefu kb ingest`` in another process waits for a change in progress, then lands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from core.settings import KnowledgeSettings
from knowledge.base import KnowledgeBase
from knowledge.embeddings import HashingEmbedder
from tests.knowledge.chroma_server import ChromaServer

REPO = Path(__file__).resolve().parents[3]


def test_kb_ingest_waits_for_the_writer_in_another_process(
    chroma_server: ChromaServer, shop_dir: Path, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}"
    settings = KnowledgeSettings(
        source_dirs=[shop_dir], embedder="hashing", chroma_url=chroma_server.url, collection="lk"
    )
    server = KnowledgeBase.open(
        settings, tmp_path / "server", HashingEmbedder(), database_url=database_url
    )
    server.reload()
    outside = tmp_path / "uploads" / "holidays.txt"
    outside.parent.mkdir()
    outside.write_text("During the Spring Festival the XQ-9 warehouse is closed for 5 days.")
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(tmp_path / "cli"),
        "KEFU_STORAGE__DATABASE_URL": database_url,
        "KEFU_KNOWLEDGE__EMBEDDER": "hashing",
        "KEFU_KNOWLEDGE__CHROMA_URL": chroma_server.url,
        "KEFU_KNOWLEDGE__COLLECTION": "lk",
        "KEFU_KNOWLEDGE__SOURCE_DIRS": json.dumps([str(shop_dir)]),
    }
    waiting = threading.Event()
    lines: list[str] = []

    with server._state.writing():  # the server is in the middle of a change
        cli = subprocess.Popen(
            [sys.executable, "-m", "bot", "kb", "ingest", str(outside), "--json"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def read() -> None:
            assert cli.stdout is not None
            for line in cli.stdout:
                lines.append(line)
                if "kb.writer.waiting" in line:
                    waiting.set()

        reader = threading.Thread(target=read)
        reader.start()
        assert waiting.wait(120), "".join(lines)
        assert cli.poll() is None
    assert cli.wait(120) == 0, "".join(lines)
    reader.join()
    assert cli.stdout is not None
    cli.stdout.close()

    assert json.loads(lines[-1])["added"] == 1
    assert server.refresh_if_changed() is True
    assert server.search("XQ-9 warehouse Spring Festival", 1)[0].source == "holidays.txt"
    assert server.reload().deleted == 0
    server.close()
