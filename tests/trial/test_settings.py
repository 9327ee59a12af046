"""Settings built from the environment when asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cordtrial.trial.settings import load_settings, normalize_database_url


def test_default_is_a_sqlite_file_in_the_user_data_directory() -> None:
    settings = load_settings({"HOME": "/home/ana"})
    assert settings.data_dir == Path("/home/ana/.local/share/cordtrial")
    assert settings.database_url == "sqlite:////home/ana/.local/share/cordtrial/cordtrial.db"
    assert settings.is_sqlite


def test_data_dir_is_overridable() -> None:
    settings = load_settings({"HOME": "/home/ana", "CORDTRIAL_DATA_DIR": "/srv/trial"})
    assert settings.database_url == "sqlite:////srv/trial/cordtrial.db"


def test_xdg_data_home_is_respected() -> None:
    settings = load_settings({"HOME": "/home/ana", "XDG_DATA_HOME": "/data"})
    assert settings.data_dir == Path("/data/cordtrial")


def test_postgresql_url_goes_through_psycopg() -> None:
    settings = load_settings({"CORDTRIAL_DATABASE_URL": "postgresql://u:pw@db:5432/trial"})
    assert settings.database_url == "postgresql+psycopg://u:pw@db:5432/trial"
    assert not settings.is_sqlite
    assert normalize_database_url("postgres://db/trial") == "postgresql+psycopg://db/trial"


def test_unusable_url_is_a_validation_error_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="database_url: driver 'oracle' is not supported"):
        load_settings({"CORDTRIAL_DATABASE_URL": "oracle://db/trial"})
    with pytest.raises(ValidationError, match="is not a database URL"):
        load_settings({"CORDTRIAL_DATABASE_URL": "not a url"})
