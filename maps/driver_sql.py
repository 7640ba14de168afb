"""Hot map statements sent straight to the session's asyncpg connection, compiled once.

A tile request runs one or two statements whose result is a single value. Through
`session.scalar` each costs about 0.9 ms of Python (SQLAlchemy's execution context and result
objects); the same statement on the transaction's asyncpg connection costs 0.35 ms. The SQL is
SQLAlchemy's own compilation of the statement, so it is the same text, with the same bind casts,
as the session would send; the transaction (and with it the viewer) is the session's. asyncpg's
outage errors are answered 503 by corps.outages like SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ClauseElement

from corps.statements import built_once


@dataclass(frozen=True)
class DriverStatement:
    """SQL text with `$n` placeholders, the bind names in their order, and the fixed values."""

    sql: str
    names: tuple[str, ...]
    fixed: dict[str, Any]

    def args(self, params: dict[str, Any]) -> list[Any]:
        """The positional arguments for this request's values."""
        return [params[name] if name in params else self.fixed[name] for name in self.names]


def compile_for_driver(session: AsyncSession, statement: ClauseElement) -> DriverStatement:
    """The statement as the session's dialect compiles it (asyncpg: `$n` placeholders)."""
    compiled: Any = statement.compile(dialect=session.get_bind().dialect)  # an SQLCompiler
    # Bound values that need no conversion: asyncpg takes the Python values themselves.
    fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
    return DriverStatement(str(compiled), tuple(compiled.positiontup or ()), fixed)


async def driver_scalar(
    session: AsyncSession,
    key: Any,
    build: Callable[[], Any],
    params: dict[str, Any],
) -> Any:
    """The first value of the statement for `key` (built once), in the session's transaction."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    if raw is None or not raw.is_in_transaction():
        # Not begun on the driver yet (SQLAlchemy begins lazily): let the session begin it.
        return await session.scalar(built_once(key, build), params)
    prepared = built_once(("driver", key), lambda: compile_for_driver(session, build()))
    return await raw.fetchval(prepared.sql, *prepared.args(params))
