from __future__ import annotations

from pathlib import Path

import pytest

from lscb import config
from lscb.cli import UserError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LSCB_DATA_DIR", "LSCB_DATABASE_URL", "LSCB_PSEUDONYMISATION_KEY", "LSCB_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "_warned", set())


def test_data_dir_defaults_to_var_under_the_project_root() -> None:
    assert config.data_dir() == (config.PROJECT_ROOT / "var").resolve()


def test_data_dir_from_environment_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "deep" / "data"
    monkeypatch.setenv("LSCB_DATA_DIR", str(target))
    assert config.data_dir() == target.resolve()
    assert target.is_dir()


def test_database_url_defaults_to_absolute_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path))
    url = config.database_url()
    assert url == f"sqlite:///{tmp_path.resolve() / 'lscb.sqlite'}"
    assert Path(url.removeprefix("sqlite:///")).is_absolute()
    monkeypatch.setenv("LSCB_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert config.database_url() == "postgresql+psycopg://u@h/db"


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LSCB_PSEUDONYMISATION_KEY", "a national secret")
    monkeypatch.setenv("LSCB_DEMO", "1")  # a real key wins over demo mode
    assert config.pseudonymisation_key() == b"a national secret"
    assert capsys.readouterr().err == ""


def test_no_key_is_a_one_line_user_error() -> None:
    with pytest.raises(UserError) as raised:
        config.pseudonymisation_key()
    assert str(raised.value) == "no pseudonymisation key: set LSCB_PSEUDONYMISATION_KEY (or LSCB_DEMO=1 for a demo)"


def test_demo_key_is_named_and_announced_once_per_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LSCB_DEMO", "1")
    assert config.pseudonymisation_key() == config.DEMO_KEY
    assert config.pseudonymisation_key() == config.DEMO_KEY
    err = capsys.readouterr().err
    assert err.count("DEMO") == 1
    assert config.DEMO_KEY_NAME in err
    assert "not secret" in err


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = "import sys, lscb.config; heavy = {'pandas', 'sqlalchemy', 'yaml'} & set(sys.modules); print(sorted(heavy))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
