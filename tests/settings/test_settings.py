from pathlib import Path

from settings import PROJECT_ROOT, Settings


def test_defaults_live_under_the_project(monkeypatch) -> None:
    monkeypatch.delenv("UNTICKET_DATA_DIR", raising=False)
    monkeypatch.setenv("UNTICKET_CONFIG", "/nonexistent.toml")
    settings = Settings()
    assert settings.data_dir == PROJECT_ROOT / "data" / "local"
    assert settings.warehouse_path == settings.data_dir / "warehouse.duckdb"


def test_environment_overrides_and_relative_paths_resolve_from_the_root(monkeypatch) -> None:
    monkeypatch.setenv("UNTICKET_DATA_DIR", "data/other")
    monkeypatch.setenv("UNTICKET_ACT_CONFIDENCE", "0.8")
    settings = Settings()
    assert settings.data_dir == PROJECT_ROOT / "data" / "other"
    assert settings.act_confidence == 0.8


def test_toml_file_is_read(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "unticket.toml"
    config.write_text(f'data_dir = "{tmp_path / "d"}"\nidle_timeout_minutes = 5\n')
    monkeypatch.setenv("UNTICKET_CONFIG", str(config))
    monkeypatch.delenv("UNTICKET_DATA_DIR", raising=False)
    settings = Settings()
    assert settings.data_dir == tmp_path / "d" and settings.idle_timeout_minutes == 5
