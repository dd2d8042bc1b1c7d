"""The one-time import of the data-folder files older versions kept their state in.

``kb_manifest.<collection>.json`` (the sources manifest) and ``kb_additions.jsonl`` (``/kb add``
entries) move into the database on the first open, and are renamed ``*.imported`` so they are
never read again (and stay as a backup). Rows already in the database win: the import never
overwrites what a newer process wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import structlog

from knowledge.loaders.faq import question_key
from knowledge.manifest import Manifest
from knowledge.state.additions import ADDITIONS_SOURCE, addition_id
from knowledge.state.store import Addition, KnowledgeState

log = structlog.get_logger(__name__)

IMPORTED_SUFFIX = ".imported"


def import_data_dir_files(state: KnowledgeState, data_dir: Path) -> int:
    """Imports the legacy files of ``data_dir`` (call under :meth:`KnowledgeState.writing`).

    Returns:
        How many manifest entries and additions were imported.
    """
    imported = 0
    manifest_path = data_dir / f"kb_manifest.{state.collection}.json"
    if manifest_path.is_file():
        imported += _import_manifest(state, manifest_path)
    additions_path = data_dir / ADDITIONS_SOURCE
    if additions_path.is_file():
        imported += _import_additions(state, additions_path)
    if imported:
        state.bump()
        log.info("kb.legacy.imported", entries=imported, data_dir=str(data_dir))
    return imported


def _import_manifest(state: KnowledgeState, path: Path) -> int:
    known = state.sources()
    found = Manifest.load(path).entries
    entries = {source: entry for source, entry in found.items() if source not in known}
    if entries:
        state.commit_change(entries, (), bump=False)
    path.replace(path.with_name(path.name + IMPORTED_SUFFIX))
    return len(entries)


def _import_additions(state: KnowledgeState, path: Path) -> int:
    known = state.addition_ids()
    count = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        addition = _parse(line)
        if addition is not None and addition.id not in known:
            state.save_addition(addition)
            known.add(addition.id)
            count += 1
    path.replace(path.with_name(path.name + IMPORTED_SUFFIX))
    return count


def _parse(line: str) -> Addition | None:
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(item, dict):
        return None
    question, answer = item.get("question"), item.get("answer")
    if not isinstance(question, str) or not isinstance(answer, str) or not question_key(question):
        return None
    faq_id = item.get("id")
    category, language = item.get("category"), item.get("language")
    return Addition(
        id=faq_id if isinstance(faq_id, str) and faq_id else addition_id(question),
        question=question,
        answer=answer,
        category=category if isinstance(category, str) else None,
        language=language if isinstance(language, str) else None,
    )
