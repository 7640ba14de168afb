"""Dossier settings: how long a bundle stays downloadable, where the signing keys live."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DossierSettings(BaseSettings):
    """EJ_DOSSIER_* and EJ_SIGNING_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="EJ_", env_file=".env", extra="ignore")

    # A finished bundle can be downloaded again for this many days, then the answer is 410.
    dossier_retention_days: int = Field(default=30, ge=1, le=3650)
    # The corps' Ed25519 keys, outside the database (`corps keys init` makes them).
    signing_key_dir: Path = Path("./var/keys")
    # Who the signature says signed: the corps' name as a court would read it.
    signer_name: str = "EJ Corps"


@lru_cache
def dossier_settings() -> DossierSettings:
    """The process-wide dossier settings, read once."""
    return DossierSettings()
