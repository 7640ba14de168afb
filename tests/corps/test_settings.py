"""Settings refuse unsafe secrets in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from corps.settings import Settings


@pytest.mark.parametrize("secret", ["", "changethis", "short-secret"])
def test_production_refuses_a_default_or_short_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="EJ_SECRET_KEY"):
        Settings(env="prod", secret_key=secret)


def test_production_refuses_the_built_in_dev_secret() -> None:
    with pytest.raises(ValidationError, match="EJ_SECRET_KEY"):
        Settings(env="prod")


def test_production_accepts_a_long_random_secret() -> None:
    assert Settings(env="prod", secret_key="x9" * 24).env == "prod"
