"""Which files are knowledge sources, and what an ingest or a reload is going to change.

Planning reads folders and the manifest only; nothing is parsed or written here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.loaders import discover_files, is_supported, source_name
from knowledge.manifest import Manifest

ADDITIONS_FILE = "kb_additions.jsonl"
"""FAQ entries added with ``add_faq``, in the data folder; reload treats it as a source."""


@dataclass(slots=True)
class ChangePlan:
    """Sources to (re)index, sources to drop, and sources that cannot be read."""

    files: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    """Source name -> (file, the folder the name is relative to)."""
    removed: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)

    def add_file(self, path: Path, roots: Sequence[Path]) -> None:
        """Adds one file, named relative to the first root containing it."""
        source, root = source_name(path, roots)
        if source in self.files and self.files[source][0] != path.resolve():
            self.failed[str(path)] = f"another file is already named {source!r}"
            return
        self.files[source] = (path.resolve(), root)


def plan_ingest(
    paths: Sequence[Path], source_dirs: Sequence[Path], exclude: Sequence[str]
) -> ChangePlan:
    """Files to index for ``kb ingest PATH...`` (folders: every supported file inside)."""
    plan = ChangePlan()
    for path in paths:
        if path.is_dir():
            for file in discover_files(path, exclude):
                plan.add_file(file, [*source_dirs, path])
        elif path.is_file() and is_supported(path):
            plan.add_file(path, source_dirs)
        elif path.is_file():
            plan.failed[path.name] = f"unsupported file type {path.suffix or '(none)'}"
        else:
            plan.failed[str(path)] = "no such file or folder"
    return plan


def plan_reload(
    source_dirs: Sequence[Path],
    exclude: Sequence[str],
    manifest: Manifest,
    indexed: Iterable[str],
    data_dir: Path,
) -> ChangePlan:
    """What a reload must look at: the source folders, files ingested from elsewhere (tracked
    by path in the manifest) and the additions file; indexed sources found nowhere are removed.

    A source folder that is missing fails, and its sources keep their chunks: a mistyped path
    or an unmounted share must not empty the knowledge base.
    """
    plan = ChangePlan()
    missing: set[Path] = set()
    for root in source_dirs:
        if root.is_dir():
            for file in discover_files(root, exclude):
                plan.add_file(file, source_dirs)
        else:
            missing.add(root.resolve())
            plan.failed[str(root)] = "source folder not found"
    folders = {root.resolve() for root in source_dirs}
    for source, entry in manifest:
        if source in plan.files or source in plan.failed:
            continue
        root, path = Path(entry.root).resolve(), Path(entry.path)
        if root in missing:
            plan.failed[source] = "source folder not found; previous chunks kept"
        elif root not in folders and path.is_file():
            plan.files[source] = (path, root)
        else:
            plan.removed.add(source)
    additions = data_dir / ADDITIONS_FILE
    if additions.is_file():
        plan.files[ADDITIONS_FILE] = (additions.resolve(), data_dir.resolve())
    plan.removed |= set(indexed) - plan.files.keys() - plan.failed.keys()
    return plan
