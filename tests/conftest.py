"""Fixtures: real PostGIS databases of this test process, a real Redis, the app and clients.

Each test runs in a transaction rolled back at its end (testing/isolation.py), unless it is
marked `committed`: then its rows go to a database of committed tests (testing/databases.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from corps.app import create_app
from corps.cli import run_migrations
from corps.settings import Settings
from testing.databases import prepare, worker_databases, worker_redis_url
from testing.isolation import OWNER, JoinedEngine, joined_sessionmaker

DATABASES = worker_databases()
# The rolled-back world: this test process's own database, as the owner and the service role.
TEST_DATABASE_URL = DATABASES.owner_url
TEST_APP_DATABASE_URL = DATABASES.app_url
TEST_REDIS_URL = worker_redis_url()
APP_ROLE = make_url(TEST_APP_DATABASE_URL).username or "ejcorps_app"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "committed: the test's rows are committed, to a database of committed tests only "
        "(a live server, a worker, the CLI or a second connection must see them)",
    )


def committed(request: pytest.FixtureRequest) -> bool:
    """Whether the test runs in the committed world instead of a rolled-back transaction."""
    return request.node.get_closest_marker("committed") is not None


@pytest.fixture(scope="session")
def storage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the test run keeps evidence and dossiers."""
    return tmp_path_factory.mktemp("storage")


@pytest.fixture(scope="session")
def settings(storage_dir: Path) -> Settings:
    """Settings pointing at the test database, test Redis and a temporary store."""
    return Settings(
        env="test",
        # What child processes and second connections see: the committed world.
        database_url=DATABASES.live_app_url,
        migration_database_url=DATABASES.live_owner_url,
        redis_url=TEST_REDIS_URL,
        storage_url=f"file://{storage_dir}",
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        login_failures_allowed=5,
        # The whole suite signs in from one address; the per-address limit has its own test.
        login_attempts_per_address=10_000,
    )


@pytest.fixture(scope="session")
async def migrated() -> None:
    """This process's databases cloned from one migrated once per run, and an empty Redis."""
    await prepare(DATABASES, run_migrations, APP_ROLE)
    redis = Redis.from_url(TEST_REDIS_URL)
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture(scope="session")
async def owner_engine(migrated: None) -> AsyncIterator[AsyncEngine]:
    """The owner's engine on the rolled-back world; each test takes one connection of it."""
    eng = create_async_engine(TEST_DATABASE_URL, pool_size=2)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
async def live_engine(migrated: None) -> AsyncIterator[AsyncEngine]:
    """The owner's engine on the committed world."""
    eng = create_async_engine(DATABASES.live_owner_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def joined(
    request: pytest.FixtureRequest, owner_engine: AsyncEngine
) -> AsyncIterator[AsyncConnection | None]:
    """The test's connection in a transaction rolled back at its end (None if committed)."""
    if committed(request):
        yield None
        return
    async with owner_engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                await transaction.rollback()


@pytest.fixture(autouse=True)
def _app_joins_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """The app (when the test uses it) runs its sessions inside the test's transaction.

    A plain fixture: it asks for the async ones by name, which only works outside a loop.
    """
    if committed(request):
        yield
        return
    if "engine" in request.fixturenames:
        pytest.fail("`engine` reaches the committed world: mark the test committed, or use db")
    if "app" not in request.fixturenames:
        yield
        return
    joined: AsyncConnection = request.getfixturevalue("joined")
    application: FastAPI = request.getfixturevalue("app")
    state = application.state
    before = state.sessionmaker, state.engine
    state.sessionmaker = joined_sessionmaker(joined, APP_ROLE)
    state.engine = JoinedEngine(joined, APP_ROLE)
    try:
        yield
    finally:
        state.sessionmaker, state.engine = before


@pytest.fixture(scope="session")
def engine(live_engine: AsyncEngine) -> AsyncEngine:
    """The owner's engine on the committed world, for committed tests that use SQL directly."""
    return live_engine


@pytest.fixture
async def db(
    joined: AsyncConnection | None, live_engine: AsyncEngine
) -> AsyncIterator[AsyncSession]:
    """The owner's session for factories: its commits last as long as the test's world."""
    if joined is None:
        factory = async_sessionmaker(live_engine, expire_on_commit=False)
    else:
        factory = joined_sessionmaker(joined, OWNER)
    async with factory() as session:
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
