"""The text catalog: bundled languages agree, a shop's files override and add, typos fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.texts.catalog import BUNDLED_DIR, Catalog, _read, placeholders
from core.config.texts import CompanyNames, CompanySettings, TextsSettings
from core.errors import ConfigError


def _texts_dir(tmp_path: Path, **files: str) -> TextsSettings:
    for language, body in files.items():
        (tmp_path / f"{language}.yaml").write_text(body, encoding="utf-8")
    return TextsSettings(dir=tmp_path)


def test_chinese_and_english_have_the_same_texts_with_the_same_placeholders() -> None:
    zh, en = _read(BUNDLED_DIR / "zh.yaml"), _read(BUNDLED_DIR / "en.yaml")
    assert sorted(zh) == sorted(en)
    differing = [key for key in en if placeholders(zh[key]) != placeholders(en[key])]
    assert differing == []


def test_the_demo_company_greets_by_default() -> None:
    catalog = Catalog.load()
    assert "星河电子" in catalog.say("chat.greeting", "zh")
    assert "Xinghe Electronics" in catalog.say("chat.greeting", "en")


def test_a_shops_own_company_name_is_in_the_greeting_and_small_talk() -> None:
    company = CompanySettings(name=CompanyNames(zh="云帆数码", en="Yunfan Digital"))
    catalog = Catalog.load(company=company)
    assert catalog.say("chat.greeting", "zh").startswith("您好！我是云帆数码的智能客服")
    assert "I'm the Yunfan Digital support bot" in catalog.say("dialogue.small_talk", "en")
    assert "星河" not in catalog.say("chat.greeting", "zh")


def test_an_override_file_changes_only_the_texts_it_names(tmp_path: Path) -> None:
    texts = _texts_dir(
        tmp_path, en="shop:\n  order:\n    refund_howto: ' Returns: see {company}.com'\n"
    )
    catalog = Catalog.load(texts)
    assert catalog.say("shop.order.refund_howto", "en") == " Returns: see Xinghe Electronics.com"
    assert catalog.say("chat.human_button", "en") == "Talk to a human"
    assert "我的订单" in catalog.say("shop.order.refund_howto", "zh")


def test_a_new_language_file_adds_a_language_that_falls_back_to_english(tmp_path: Path) -> None:
    texts = _texts_dir(tmp_path, ja="chat:\n  greeting: こんにちは、{company}のサポートです。\n")
    company = CompanySettings(name=CompanyNames.model_validate({"ja": "星河電子"}))
    catalog = Catalog.load(texts, company)
    assert "ja" in catalog.languages
    assert catalog.say("chat.greeting", "ja") == "こんにちは、星河電子のサポートです。"
    assert catalog.say("chat.human_button", "ja") == "Talk to a human"


def test_a_placeholder_the_bot_never_fills_fails_at_load(tmp_path: Path) -> None:
    texts = _texts_dir(
        tmp_path, zh="handoff:\n  queued: 您排在第 {position} 位，约 {wait} 分钟。\n"
    )
    with pytest.raises(ConfigError, match=r"zh: handoff.queued uses \{wait\}"):
        Catalog.load(texts)


def test_a_key_english_lacks_fails_at_load(tmp_path: Path) -> None:
    texts = _texts_dir(tmp_path, en="chat:\n  greting: Hi\n")
    with pytest.raises(ConfigError, match=r"chat\.greting is not a known text"):
        Catalog.load(texts)


def test_a_missing_texts_folder_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        Catalog.load(TextsSettings(dir=tmp_path / "nowhere"))
