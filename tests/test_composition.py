"""Services get their own settings section and their collaborators: only the composition
root (``bot.app.Kefu``) and the builders beside it see the whole settings object, so a
service can be read, tested and replaced without the whole deployment behind it."""

from __future__ import annotations

import ast

from tests.test_import_cycles import modules

WHOLE_SETTINGS = "KefuSettings"
COMPOSITION_ROOT = {"bot.app"}
"""Build services from the whole settings: the composition root and its builder functions."""


def constructors_taking_whole_settings() -> list[str]:
    """``module.Class`` for every class whose ``__init__`` (or dataclass field) is typed with
    the whole settings object, outside the composition root."""
    found = []
    for name, path in modules().items():
        if name in COMPOSITION_ROOT or name.startswith("core.settings"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and _takes_whole_settings(node):
                found.append(f"{name}.{node.name}")
    return found


def _takes_whole_settings(cls: ast.ClassDef) -> bool:
    for item in cls.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            annotations = [a.annotation for a in item.args.args + item.args.kwonlyargs]
            if any(_names_settings(a) for a in annotations if a is not None):
                return True
        if isinstance(item, ast.AnnAssign) and _names_settings(item.annotation):
            return True
    return False


def _names_settings(annotation: ast.expr) -> bool:
    return any(
        isinstance(node, ast.Name) and node.id == WHOLE_SETTINGS for node in ast.walk(annotation)
    ) or (isinstance(annotation, ast.Constant) and WHOLE_SETTINGS in str(annotation.value))


def test_no_service_is_built_from_the_whole_settings() -> None:
    assert constructors_taking_whole_settings() == []


def test_the_check_notices_a_service_that_takes_the_whole_settings() -> None:
    service = ast.parse(
        "class Desk:\n    def __init__(self, settings: KefuSettings, db: Database) -> None: ..."
    ).body[0]
    section = ast.parse(
        "class Desk:\n    def __init__(self, config: HandoffSettings) -> None: ..."
    ).body[0]
    assert isinstance(service, ast.ClassDef) and isinstance(section, ast.ClassDef)
    assert _takes_whole_settings(service) and not _takes_whole_settings(section)
