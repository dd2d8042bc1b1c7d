from pathlib import Path

import pytest

from core.settings import KefuSettings
from core.settings_doc import README, readme_with_table


def test_environment_overrides_nested_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_SERVER__PORT", "9100")
    monkeypatch.setenv("KEFU_ADMINS", '{"telegram": ["42"]}')
    settings = KefuSettings()
    assert settings.server.port == 9100
    assert settings.is_admin("telegram", "42")
    assert not settings.is_admin("telegram", "43")


def test_kefu_toml_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kefu.toml").write_text('data_dir = "/srv/kefu"\n[server]\nport = 9200\n')
    monkeypatch.chdir(tmp_path)
    settings = KefuSettings()
    assert settings.server.port == 9200
    assert settings.database_url == "sqlite+aiosqlite:////srv/kefu/kefu.db"


def test_readme_documents_every_setting() -> None:
    readme = README.read_text(encoding="utf-8")
    assert readme == readme_with_table(readme), "run: python -m core.settings_doc --write"
