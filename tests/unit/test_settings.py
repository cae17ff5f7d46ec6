"""The one settings object (`lscb.settings`): defaults, the environment, the key, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lscb import settings as config
from lscb.settings import ConfigurationError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LSCB_DATA_DIR", "LSCB_DATABASE_URL", "LSCB_PSEUDONYMISATION_KEY", "LSCB_DEMO", "LSCB_OUTPUTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "_warned", set())


def test_data_dir_defaults_to_var_under_the_project_root() -> None:
    assert load_settings().data_path() == (config.PROJECT_ROOT / "var").resolve()


def test_data_dir_from_environment_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "deep" / "data"
    monkeypatch.setenv("LSCB_DATA_DIR", str(target))
    assert load_settings().data_path() == target.resolve()
    assert target.is_dir()


def test_database_url_defaults_to_absolute_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path))
    url = load_settings().database()
    assert url == f"sqlite:///{tmp_path.resolve() / 'lscb.sqlite'}"
    assert Path(url.removeprefix("sqlite:///")).is_absolute()
    monkeypatch.setenv("LSCB_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert load_settings().database() == "postgresql+psycopg://u@h/db"


def test_an_empty_variable_is_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LSCB_DATABASE_URL", "")
    assert load_settings().database() == f"sqlite:///{tmp_path.resolve() / 'lscb.sqlite'}"


def test_locations_default_under_the_data_dir_and_follow_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path))
    assert load_settings().location("inbox") == str(tmp_path.resolve() / "inbox")
    monkeypatch.setenv("LSCB_OUTPUTS", "s3://bucket/outputs")
    assert load_settings().location("outputs") == "s3://bucket/outputs"
    with pytest.raises(ConfigurationError, match="unknown location"):
        load_settings().location("elsewhere")


def test_a_bad_value_is_a_one_line_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSCB_PORTAL_VALIDATORS", "many")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "LSCB_PORTAL_VALIDATORS" in str(raised.value) and "\n" not in str(raised.value)


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LSCB_PSEUDONYMISATION_KEY", "a national secret")
    monkeypatch.setenv("LSCB_DEMO", "1")  # a real key wins over demo mode
    key = load_settings().key()
    assert key.secret == b"a national secret" and not key.demo
    assert "a national secret" not in repr(key) and "a national secret" not in repr(load_settings())
    assert capsys.readouterr().err == ""


def test_no_key_is_a_one_line_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings().key()
    assert str(raised.value) == "no pseudonymisation key: set LSCB_PSEUDONYMISATION_KEY (or LSCB_DEMO=1 for a demo)"


def test_demo_key_is_named_and_announced_once_per_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LSCB_DEMO", "1")
    assert load_settings().key().secret == config.DEMO_KEY
    assert load_settings().key().secret == config.DEMO_KEY
    assert load_settings().key().demo
    err = capsys.readouterr().err
    assert err.count("DEMO") == 1
    assert config.DEMO_KEY_NAME in err
    assert "not secret" in err


def test_the_key_never_goes_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the key (as the DAG tasks and the CLI do) leaves the process environment as it was."""
    import os

    from lscb import airflow_support

    monkeypatch.setenv("LSCB_DEMO", "1")
    before = dict(os.environ)
    assert airflow_support.pseudonymisation_key().secret == config.DEMO_KEY
    assert dict(os.environ) == before


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lscb.settings; heavy = {'pandas', 'sqlalchemy', 'yaml'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
