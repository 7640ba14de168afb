"""Finding 10: schemathesis against a live server finds no 5xx and no answer the document
does not describe (status codes, content types, response schemas), as an admin and as a
paralegal."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_person
from testing.live import live_server

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.mark.parametrize("role", ["admin", "paralegal"])
async def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    db: AsyncSession, settings: Settings, role: str
) -> None:
    person = await make_person(db, settings, role)  # a throwaway account: it may be changed
    async with live_server(settings) as server:
        process = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            "run",
            f"{server.url}/openapi.json",
            "-H",
            f"Authorization: {person.headers['Authorization']}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            "5",
            "--workers",
            "1",
            "--seed",
            "20261202",
            "--no-color",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), 600)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-6000:]
