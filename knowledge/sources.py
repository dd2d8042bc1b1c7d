"""Which files are knowledge sources, and what an ingest or a reload is going to change.

Planning reads folders and the manifest only; nothing is parsed or written here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.loaders import discover_files, is_supported, source_name
from knowledge.manifest import SourceEntry
from knowledge.state.additions import ADDITIONS_SOURCE
from knowledge.state.store import Addition


@dataclass(slots=True)
class ChangePlan:
    """Sources to (re)index, sources to drop, and sources that cannot be read."""

    files: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    """Source name -> (file, the folder the name is relative to)."""
    removed: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)
    """Files indexed on another machine that this one cannot see: left as they are."""
    additions: list[Addition] | None = None
    """The FAQ additions to index as one source (all of them), or None to leave them alone."""

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
    manifest: Mapping[str, SourceEntry],
    indexed: Iterable[str],
    host: str,
) -> ChangePlan:
    """What a reload must look at: the source folders and files ingested from elsewhere
    (tracked by path in the manifest); indexed sources found nowhere are removed. The FAQ
    additions are the caller's (they live in the database, not in a file).

    A source folder that is missing fails, and its sources keep their chunks: a mistyped path
    or an unmounted share must not empty the knowledge base. A file ingested from outside the
    source folders on another machine is kept: only a machine that can see it may drop it.
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
    for source, entry in sorted(manifest.items()):
        if source in plan.files or source in plan.failed or source == ADDITIONS_SOURCE:
            continue
        root, path = Path(entry.root).resolve(), Path(entry.path)
        if root in missing:
            plan.failed[source] = "source folder not found; previous chunks kept"
        elif root not in folders and path.is_file():
            plan.files[source] = (path, root)
        elif root not in folders and entry.host and entry.host != host:
            plan.kept.add(source)
        else:
            plan.removed.add(source)
    plan.removed |= (
        set(indexed) - plan.files.keys() - plan.failed.keys() - plan.kept - {ADDITIONS_SOURCE}
    )
    return plan
