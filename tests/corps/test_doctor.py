"""`corps doctor` finds what is broken and says how to fix it, with 0/1/2 exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from corps.settings import Settings
from testing.live import free_port
from tests.corps.cli_run import corps_env, run_corps

# Committed rows: the corps command line, a child process, reads them.
pytestmark = pytest.mark.committed


def lines_of(stdout: str, name: str) -> list[str]:
    """The finding for `name` and the fix line after it, if any."""
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line[6:].startswith(name + " "):
            following = lines[index + 1 : index + 2]
            fix = [f for f in following if f.strip().startswith("fix:")]
            return [line, *fix]
    raise AssertionError(f"no {name!r} line in:\n{stdout}")


@pytest.fixture
def no_fonts(tmp_path: Path) -> dict[str, str]:
    """A fontconfig configuration whose only font folder is empty."""
    (tmp_path / "empty").mkdir()
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        f"<fontconfig><dir>{tmp_path / 'empty'}</dir>"
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n"
    )
    return {"FONTCONFIG_FILE": str(config)}


async def test_a_sound_installation_has_no_failures(
    engine: AsyncEngine, settings: Settings
) -> None:
    result = run_corps("doctor", env=corps_env(settings))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    for name in ("PostgreSQL", "PostGIS", "schema", "append-only", "storage", "fonts", "PDF"):
        assert lines_of(result.stdout, name)[0].startswith("ok "), result.stdout
    limits = "ejcorps_app may not update, delete, truncate or alter audit_chain, audit_log"
    assert limits in result.stdout
    for line in result.stdout.splitlines():
        if line.startswith("warn"):
            assert "fix:" in result.stdout.split(line, 1)[1].splitlines()[1]


async def test_a_stopped_redis_is_a_failure_with_its_fix(
    engine: AsyncEngine, settings: Settings
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    result = run_corps("doctor", env=corps_env(settings, EJ_REDIS_URL=closed))
    assert result.returncode == 2, result.stdout + result.stderr
    redis, fix = lines_of(result.stdout, "Redis")
    assert redis.startswith("FAIL") and "cannot reach" in redis
    assert "start Redis" in fix
    assert lines_of(result.stdout, "worker")[0].startswith("FAIL")
    assert lines_of(result.stdout, "PostgreSQL")[0].startswith("ok")  # the rest still ran
    assert "Traceback" not in result.stderr


async def test_missing_fonts_are_a_failure_not_a_crash(
    engine: AsyncEngine, settings: Settings, no_fonts: dict[str, str]
) -> None:
    result = run_corps("doctor", env=corps_env(settings, **no_fonts))
    assert result.returncode == 2, result.stdout + result.stderr
    fonts, fix = lines_of(result.stdout, "fonts")
    assert fonts.startswith("FAIL") and "no fonts" in fonts
    assert "fonts-dejavu-core" in fix
    assert lines_of(result.stdout, "GDAL")[0].startswith("ok")  # checks after it still ran


async def test_a_service_connected_as_the_owner_is_reported(
    engine: AsyncEngine, settings: Settings
) -> None:
    owner = settings.migration_database_url or ""
    result = run_corps("doctor", env=corps_env(settings, EJ_DATABASE_URL=owner))
    assert result.returncode == 2
    roles, _ = lines_of(result.stdout, "roles")
    assert roles.startswith("warn") and "schema owner" in roles
    append_only, fix = lines_of(result.stdout, "append-only")
    assert append_only.startswith("FAIL") and "ALTER audit_log" in append_only
    assert "own role" in fix
