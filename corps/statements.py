"""Statements built once per process: their text depends on a shape, never on a viewer.

The viewer reaches PostgreSQL as transaction settings (corps.viewer), and a request's values
(filters, ids, cursors, limits) as bound parameters, so one statement object serves every
request of the same shape. Building a select over the case view costs milliseconds of Python
per request; taking it from here costs a dictionary look-up, and SQLAlchemy's compiled cache
and asyncpg's prepared statements then serve the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
MAX_SHAPES = 2048  # filter combinations x levels x paths; a bound against unbounded growth

_built: dict[Hashable, Any] = {}


def built_once(key: Hashable, build: Callable[[], T]) -> T:
    """The statement for `key`, built by `build` the first time it is asked for.

    `key` must name everything the statement's text depends on; values that vary between
    requests must be bind parameters without values, passed at execution.
    """
    try:
        return _built[key]
    except KeyError:
        pass
    if len(_built) >= MAX_SHAPES:
        _built.clear()
    statement = _built[key] = build()
    return statement
