"""Settings come from VOISINS_* variables; a bad value is one clear line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from voisins.settings import SettingsError, load_settings


def test_defaults_work_on_a_local_machine() -> None:
    settings = load_settings({})
    assert settings.grid_cell_m == 500
    assert settings.sqlalchemy_url.startswith("postgresql+asyncpg://")
    assert settings.asyncpg_dsn.startswith("postgresql://")


def test_values_are_converted_to_their_types() -> None:
    settings = load_settings({"VOISINS_GRID_CELL_M": "250", "VOISINS_LOG_JSON": "false"})
    assert settings.grid_cell_m == 250
    assert settings.log_json is False


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("VOISINS_GRID_CELL_M", "abc", "int"),
        ("VOISINS_GRID_CELL_M", "10", ">= 100"),
        ("VOISINS_PORT", "70000", "<= 65535"),
        ("VOISINS_LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR"),
        ("VOISINS_DATABASE_URL", "mysql://x", "postgresql://"),
        ("VOISINS_REDIS_URL", "localhost", "redis://"),
        ("VOISINS_SECRET_KEY", "short", "at least 16"),
        ("VOISINS_GRID_SIZE", "500", "no such setting"),
    ],
)
def test_bad_value_names_the_variable_and_expected_form(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({variable: value})
    assert info.value.variable == variable
    assert variable in str(info.value)
    assert expected in str(info.value)


def test_cli_prints_one_line_and_exits_2_on_bad_setting() -> None:
    env = {**os.environ, "VOISINS_GRID_CELL_M": "huge"}
    result = subprocess.run(
        [sys.executable, "-m", "voisins.cli", "db", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "VOISINS_GRID_CELL_M" in lines[0]
    assert "Traceback" not in result.stderr
