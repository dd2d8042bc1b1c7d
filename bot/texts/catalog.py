"""One catalog of every text the customers and the staff read, one YAML file per language.

The bundled texts are ``bot/texts/en.yaml`` and ``bot/texts/zh.yaml``: nested keys read as
dotted names grouped by room (``handoff.queued``, ``admin.kb.usage_search``,
``staff.workspace.title``). A deployment's ``texts.dir`` holds its own ``<lang>.yaml`` files:
a file for a bundled language overrides the keys it names, a file for another language
(``ja.yaml``) adds that language. A key a language lacks falls back to English.

Checked at load, so a typo fails the start and not a customer's turn: every key is one the
bundled English file has, and a text uses only the ``{placeholders}`` the bundled English text
for its key uses (those are what the code passes), plus ``{company}``, which is always filled.

How code reaches the catalog: like aiogram's ``I18n.current``, the catalog in use is held in a
context variable. The composition root (:meth:`bot.app.Kefu.create`) builds it from the
settings and installs it with :func:`use_catalog`; the turns, staff requests and background
jobs started after that inherit it. Passing a catalog into every function that speaks would
thread one more argument through slots, shop replies, admin commands, handoff and feedback;
the default (the bundled texts with the demo company) keeps pure functions and their tests
working without any setup.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from contextvars import ContextVar, Token
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from core.config.texts import CompanySettings, TextsSettings
from core.errors import ConfigError

FALLBACK_LANGUAGE = "en"
BUNDLED_DIR = Path(__file__).resolve().parent
ALWAYS_FILLED = frozenset({"company"})


class Catalog:
    """Every text in every language, with ``{company}`` filled from the settings."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]], company: Mapping[str, str]) -> None:
        """Use :meth:`load`; this takes texts already checked: ``{language: {key: text}}``."""
        self._texts = {language: dict(table) for language, table in texts.items()}
        self._company = dict(company)

    @classmethod
    def load(
        cls, texts: TextsSettings | None = None, company: CompanySettings | None = None
    ) -> Catalog:
        """The bundled texts, overridden and extended by ``texts.dir``.

        Raises:
            ConfigError: a file is not a YAML mapping of texts, names a key English lacks, or
                uses a placeholder the code never passes.
        """
        bundled = {path.stem: _read(path) for path in sorted(BUNDLED_DIR.glob("*.yaml"))}
        merged = {language: dict(table) for language, table in bundled.items()}
        folder = texts.dir if texts else None
        if folder is not None:
            if not folder.is_dir():
                raise ConfigError(f"texts.dir {folder} is not a folder")
            for path in sorted(folder.glob("*.yaml")):
                merged.setdefault(path.stem, {}).update(_read(path))
        _check(merged, bundled[FALLBACK_LANGUAGE])
        names = (company or CompanySettings()).name.by_language()
        return cls(merged, names)

    @property
    def languages(self) -> tuple[str, ...]:
        """The language codes with a file, e.g. ``("en", "ja", "zh")``."""
        return tuple(sorted(self._texts))

    def say(self, key: str, language: str, **values: object) -> str:
        """The text ``key`` in ``language`` (English when missing), placeholders filled.

        Raises:
            KeyError: no language has ``key`` (a bug in the caller).
        """
        template = self.template(key, language)
        return template.format(company=self.company(language), **values)

    def template(self, key: str, language: str) -> str:
        """The text ``key`` in ``language`` as written, placeholders left in."""
        found = self._texts.get(language, {}).get(key)
        return found if found is not None else self._texts[FALLBACK_LANGUAGE][key]

    def has(self, key: str) -> bool:
        return key in self._texts[FALLBACK_LANGUAGE]

    def templates(self, prefix: str, language: str) -> dict[str, str]:
        """Every text under ``prefix`` (``"staff."``) in ``language``, keyed without it."""
        return {
            key.removeprefix(prefix): self.template(key, language)
            for key in self._texts[FALLBACK_LANGUAGE]
            if key.startswith(prefix)
        }

    def company(self, language: str) -> str:
        """The company's name in ``language`` (its English name when it has none there)."""
        return self._company.get(language) or self._company.get(FALLBACK_LANGUAGE, "")


def _read(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read the texts in {path}: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of text names to texts")
    flat = dict(_flatten(data, ""))
    wrong = [key for key, text in flat.items() if not isinstance(text, str)]
    if wrong:
        raise ConfigError(f"{path}: these are not texts: {', '.join(wrong)}")
    return flat


def _flatten(data: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{key}.")
        else:
            yield key, value


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a text fills (``{{`` is a literal brace)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _check(texts: Mapping[str, Mapping[str, str]], reference: Mapping[str, str]) -> None:
    problems = []
    for language, table in sorted(texts.items()):
        for key, text in table.items():
            if key not in reference:
                problems.append(f"{language}: {key} is not a known text (bot/texts/en.yaml)")
                continue
            try:
                extra = placeholders(text) - placeholders(reference[key]) - ALWAYS_FILLED
            except ValueError as e:
                problems.append(f"{language}: {key} is not a valid text: {e}")
                continue
            if extra:
                names = ", ".join(f"{{{name}}}" for name in sorted(extra))
                problems.append(f"{language}: {key} uses {names}, which the bot never fills")
    if problems:
        raise ConfigError("texts: " + "; ".join(problems))


@cache
def bundled_catalog() -> Catalog:
    """The bundled texts for the demo company, used until a composition root installs one."""
    return Catalog.load()


_current: ContextVar[Catalog | None] = ContextVar("kefu_texts", default=None)


def current_catalog() -> Catalog:
    """The catalog installed by the composition root, or the bundled one."""
    return _current.get() or bundled_catalog()


def use_catalog(catalog: Catalog) -> Token[Catalog | None]:
    """Makes ``catalog`` the one :func:`say` reads in this context and the tasks it starts."""
    return _current.set(catalog)


def reset_catalog(token: Token[Catalog | None]) -> None:
    """Undoes :func:`use_catalog` (tests)."""
    _current.reset(token)


def say(key: str, language: str, **values: object) -> str:
    """The text ``key`` in the customer's (or staff member's) ``language``, filled in."""
    return current_catalog().say(key, language, **values)
