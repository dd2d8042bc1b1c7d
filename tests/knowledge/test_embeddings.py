"""Embedders: normalised vectors, lazy heavy imports, local sentence-transformers models."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from core.settings import KnowledgeSettings
from knowledge.embeddings import (
    E5Embedder,
    HashingEmbedder,
    USEEmbedder,
    make_embedder,
)

ROOT = Path(__file__).resolve().parents[2]


def test_hashing_embedder_is_deterministic_normalised_and_similarity_preserving() -> None:
    embedder = HashingEmbedder(dim=128)
    vectors = embedder.embed_passages(["退货运费谁出", "退货运费由谁承担", "Laptop warranty"])
    assert vectors.shape == (3, 128) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(
        vectors,
        HashingEmbedder(dim=128).embed_passages(
            ["退货运费谁出", "退货运费由谁承担", "Laptop warranty"]
        ),
    )
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_e5_embeds_queries_and_passages_into_one_space(e5: E5Embedder) -> None:
    question = e5.embed_queries(["how long do refunds take"])
    passages = e5.embed_passages(["Refunds reach your card in 3-5 days.", "我们每天营业。"])
    assert question.shape == (1, 384) and passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    scores = passages @ question[0]
    assert scores[0] > scores[1]
    assert e5.embed_passages([]).shape == (0, 384)


def test_make_embedder_follows_settings() -> None:
    assert isinstance(make_embedder(KnowledgeSettings(embedder="e5")), E5Embedder)
    assert isinstance(make_embedder(KnowledgeSettings(embedder="use")), USEEmbedder)
    assert isinstance(make_embedder(KnowledgeSettings(embedder="hashing")), HashingEmbedder)
    with pytest.raises(ConfigError, match="embedder_model"):
        make_embedder(KnowledgeSettings(embedder="sentence-transformers"))


def test_default_pipeline_never_imports_torch(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from core.settings import KnowledgeSettings
        from knowledge.base import KnowledgeBase
        kb = KnowledgeBase.open(KnowledgeSettings(source_dirs=[]), Path({str(tmp_path)!r}))
        kb.add_faq("Do you ship abroad?", "Yes.")
        kb.search("ship abroad")
        print("torch" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "False"


def _tiny_bert(folder: Path, classifier: bool) -> Path:
    """A randomly initialised 2-layer BERT with a 40-word vocabulary, saved like a Hub model."""
    from transformers import (  # type: ignore[attr-defined]
        BertConfig,
        BertForSequenceClassification,
        BertModel,
        BertTokenizerFast,
    )

    words = [
        "refund",
        "refunds",
        "money",
        "back",
        "days",
        "card",
        "ship",
        "shipping",
        "abroad",
        "phone",
        "number",
        "call",
    ]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=1,  # type: ignore[call-arg]
    )
    model = BertForSequenceClassification(config) if classifier else BertModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_sentence_transformers_model_and_reranker_from_local_paths(tmp_path: Path) -> None:
    from knowledge.base import KnowledgeBase

    encoder = _tiny_bert(tmp_path / "encoder", classifier=False)
    reranker = _tiny_bert(tmp_path / "reranker", classifier=True)
    settings = KnowledgeSettings(
        source_dirs=[],
        embedder="sentence-transformers",
        embedder_model=str(encoder),
        reranker_model=str(reranker),
    )
    embedder = make_embedder(settings)
    assert (embedder.name, embedder.dim) == ("st-encoder", 16)
    kb = KnowledgeBase.open(settings, tmp_path / "data", embedder)
    kb.add_faq("How do refunds work?", "Money back to your card in 5 days.")
    kb.add_faq("Do you ship abroad?", "Yes, we ship abroad.")
    hits = kb.search("refund money back", 2)
    assert {hit.question for hit in hits} == {"How do refunds work?", "Do you ship abroad?"}


def test_unknown_sentence_transformers_model_is_a_config_error(tmp_path: Path) -> None:
    settings = KnowledgeSettings(
        embedder="sentence-transformers", embedder_model=str(tmp_path / "no-such-model")
    )
    with pytest.raises(ConfigError, match="cannot load"):
        make_embedder(settings)
