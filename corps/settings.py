"""One Settings object for the whole service, read from EJ_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-secret-not-for-production-0000000000"  # noqa: S105 (refused in prod)
UNSAFE_SECRETS = {"", "changethis", "change-me", "secret", DEV_SECRET}


class Settings(BaseSettings):
    """Service configuration; refuses unsafe secrets outside dev and test."""

    model_config = SettingsConfigDict(env_prefix="EJ_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    database_url: str = "postgresql+asyncpg://postgres@localhost:5432/ejcorps"
    # Migrations run as the schema owner; the service runs as db_app_role, which may not
    # alter tables, disable triggers or rewrite the audit log and the chains of custody.
    migration_database_url: str | None = None
    db_app_role: str = "ejcorps_app"
    redis_url: str = "redis://localhost:6379/0"
    secret_key: str = DEV_SECRET
    storage_url: str = "file://./var/storage"
    # Faults (docs/failures.md): unfinished work older than the grace is queued again;
    # .part files and stored files no row names are removed once older than the sweep age;
    # /health is `degraded` past the heartbeat age or below the free space.
    work_sweep_grace_s: int = Field(default=120, ge=0)
    storage_sweep_age_s: int = Field(default=24 * 3600, ge=0)
    heartbeat_max_age_s: int = Field(default=90, ge=1)
    storage_min_free_mb: int = Field(default=1024, ge=0)
    max_upload_mb: int = Field(default=200, ge=1, le=10_000)
    # Logs: one JSON object per line for collectors, or `text` for people reading a terminal.
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Bodies past these are answered 413 before they are read (uploads: max_upload_mb).
    max_json_mb: int = Field(default=8, ge=1, le=1024)
    max_form_kb: int = Field(default=64, ge=1, le=1024 * 1024)
    token_minutes: int = Field(default=12 * 60, ge=1, le=30 * 24 * 60)
    db_pool_size: int = Field(default=10, ge=1)
    login_failures_allowed: int = Field(default=10, ge=1)
    login_failure_window_s: int = Field(default=15 * 60, ge=1)
    # The built web app; `make web` (npm ci + vite build) writes it.
    web_dist: Path = Path(__file__).resolve().parent.parent / "web" / "dist"
    tile_cache_mb: int = Field(default=256, ge=0, le=100_000)  # 0 turns the tile cache off
    tile_cache_ttl_s: int = Field(default=3600, ge=1)
    login_attempts_per_address: int = Field(default=100, ge=1)
    login_backoff_max_s: int = Field(default=5 * 60, ge=1)
    # Geometry checks past `geometry_inline_vertices` run in a child process with these limits.
    geometry_inline_vertices: int = Field(default=1_000, ge=0)
    geometry_memory_mb: int = Field(default=1024, ge=64)
    geometry_cpu_s: int = Field(default=10, ge=1)
    geometry_timeout_s: float = Field(default=15.0, gt=0)
    geometry_processes: int = Field(default=2, ge=1)
    # Benchmarks only (bench/audit.py's baseline): single-case reads write no audit entry.
    # Refused when EJ_ENV=prod, and logged loudly at start-up anywhere else.
    bench_unaudited_reads: bool = False

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        """Refuse a missing, default or short secret in production."""
        if self.env == "prod" and (
            self.secret_key.strip().lower() in UNSAFE_SECRETS or len(self.secret_key) < 32
        ):
            raise ValueError(
                "EJ_SECRET_KEY must be set to a random value of at least 32 characters "
                "when EJ_ENV=prod (for example: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        if self.env == "prod" and self.bench_unaudited_reads:
            raise ValueError(
                "EJ_BENCH_UNAUDITED_READS is for benchmarks only: production audits every read"
            )
        return self

    @property
    def max_upload_bytes(self) -> int:
        """The upload cap in bytes."""
        return self.max_upload_mb * 1024 * 1024


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
