"""Fixtures: a freshly migrated real PostGIS database, a real Redis, the app and its clients."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from corps.app import create_app
from corps.cli import run_migrations
from corps.settings import Settings

TEST_DATABASE_URL = os.environ.get(
    "EJ_TEST_DATABASE_URL", "postgresql+asyncpg://ejcorps:ejcorps@127.0.0.1:5432/ejcorps_test"
)
# The app under test connects as the service role; tests that tamper use the owner's engine.
TEST_APP_DATABASE_URL = os.environ.get(
    "EJ_TEST_APP_DATABASE_URL",
    TEST_DATABASE_URL.replace("ejcorps:ejcorps@", "ejcorps_app:ejcorps_app@"),
)
TEST_REDIS_URL = os.environ.get("EJ_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


async def _reset_database() -> None:
    """Drop everything the test role owns, then migrate from scratch."""
    engine = create_async_engine(TEST_DATABASE_URL)
    async with engine.begin() as conn:
        await conn.execute(text("DROP OWNED BY current_user CASCADE"))
    await engine.dispose()
    await asyncio.to_thread(run_migrations, TEST_DATABASE_URL)


@pytest.fixture(scope="session")
def storage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the test run keeps evidence and dossiers."""
    return tmp_path_factory.mktemp("storage")


@pytest.fixture(scope="session")
def settings(storage_dir: Path) -> Settings:
    """Settings pointing at the test database, test Redis and a temporary store."""
    return Settings(
        env="test",
        database_url=TEST_APP_DATABASE_URL,
        migration_database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        storage_url=f"file://{storage_dir}",
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        login_failures_allowed=5,
        # The whole suite signs in from one address; the per-address limit has its own test.
        login_attempts_per_address=10_000,
    )


@pytest.fixture(scope="session")
async def migrated() -> None:
    """A database migrated from scratch once per run, and an empty test Redis."""
    await _reset_database()
    redis = Redis.from_url(TEST_REDIS_URL)
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture(scope="session")
async def engine(migrated: None) -> AsyncIterator[AsyncEngine]:
    """An engine for tests to read and write the database directly."""
    eng = create_async_engine(TEST_DATABASE_URL, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session that commits what the test's factories make."""
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session


@pytest.fixture(scope="session")
async def app(settings: Settings, migrated: None) -> AsyncIterator[FastAPI]:
    """The application with its lifespan running."""
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app; unhandled errors come back as 500 responses."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
