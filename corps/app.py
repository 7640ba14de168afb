"""create_app(): lifespan, middleware, problem handlers and routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.connections import ArqRedis
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

import corps.worker  # noqa: F401 (imports every domain's jobs: enqueue_after_commit knows them)
from cases import api as cases_api
from cases.advocacy import api as advocacy_api
from cases.dossiers import api as dossiers_api
from cases.evidence import api as evidence_api
from corps import health
from corps.audit_seal import AuditSealer
from corps.db import check_service_role_quietly, make_engine, make_sessionmaker
from corps.errors import install_problem_handlers
from corps.logs import RequestLog
from corps.members import api as members_api
from corps.members import session_api
from corps.openapi import install_problem_responses
from corps.organizations import api as organizations_api
from corps.outages import install_outage_handlers
from corps.request_guard import RequestGuard
from corps.settings import Settings, get_settings
from corps.storage import storage_from_url
from corps.web import SecurityHeaders, install_web_app
from geo.geometry_work import GeometryLimits
from geo.geometry_work import configure as configure_geometry_limits
from maps import export, features, hotspots_api, layers_api, tiles

API_DESCRIPTION = (
    "Case management for an Environmental Justice Corps: cases, places, evidence, "
    "maps and dossiers. Errors are RFC 9457 application/problem+json."
)


def _routers() -> list[object]:
    return [
        health.router,
        members_api.router,
        session_api.router,
        organizations_api.router,
        export.router,  # before the cases router: /cases/export is not a case id
        cases_api.router,
        evidence_api.router,
        advocacy_api.router,
        dossiers_api.router,
        tiles.router,
        hotspots_api.router,
        layers_api.router,
        features.router,
    ]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API application."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        if settings.bench_unaudited_reads:
            logging.getLogger("corps.audit").warning(
                "EJ_BENCH_UNAUDITED_READS is on: single-case reads are NOT audited (bench only)"
            )
        configure_geometry_limits(
            GeometryLimits(
                inline_vertices=settings.geometry_inline_vertices,
                memory_mb=settings.geometry_memory_mb,
                cpu_seconds=settings.geometry_cpu_s,
                timeout_seconds=settings.geometry_timeout_s,
                processes=settings.geometry_processes,
            )
        )
        app.state.engine = make_engine(settings)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        app.state.audit_sealer = AuditSealer(app.state.sessionmaker)
        app.state.audit_sealer.start()
        await check_service_role_quietly(app.state.engine, settings)
        app.state.storage = storage_from_url(settings.storage_url)
        app.state.arq = ArqRedis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=3
        )
        try:
            yield
        finally:
            await app.state.audit_sealer.stop()
            await app.state.arq.aclose()
            await app.state.engine.dispose()

    # /docs and /redoc with Swagger UI and ReDoc installed from PyPI: no CDN, works offline
    app = FastAPIOffline(
        title="EJ Corps API",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": False},
    )
    install_problem_handlers(app)
    install_outage_handlers(app)
    app.add_middleware(RequestGuard, settings=settings)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)  # outermost of ours: one log line per request

    for router in _routers():
        app.include_router(router)  # type: ignore[arg-type, unused-ignore]
    install_problem_responses(app)
    install_web_app(app, settings.web_dist)  # last: its catch-all must not shadow the API
    logging.getLogger("corps").setLevel(logging.INFO)
    return app
