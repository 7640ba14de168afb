"""Geometry checks bounded in time and memory: large inputs run in a limited child process.

GEOS's validity check and make_valid can take minutes and gigabytes on a crafted input of
modest size (thousands of overlapping squares). A request must never do that inside the
API process. So every repair (200 overlapping bow-ties, 1,000 vertices, take GEOS 18 s),
and every check of a geometry past a small vertex count, runs in a child process with an
address-space and a CPU-time rlimit, killed after a wall-clock timeout.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from geo.geometry import (
    _DEPTH,
    MAX_VERTICES,
    CheckedGeometry,
    GeometryError,
    _count_vertices,
    check_geometry,
)

TOO_COMPLEX = "too complex to repair; simplify it or split it"


@dataclass(frozen=True)
class GeometryLimits:
    """How much one geometry check may cost before it is refused."""

    inline_vertices: int = 1_000
    memory_mb: int = 1024
    cpu_seconds: int = 10
    timeout_seconds: float = 15.0
    processes: int = 2
    max_vertices: int = MAX_VERTICES


class GeometryTooComplex(GeometryError):
    """Checking or repairing the geometry went past the time or memory limit."""

    slug, title = "geometry-too-complex", "Geometry too complex"


_limits = GeometryLimits()
_slots: asyncio.Semaphore | None = None
_slots_loop: asyncio.AbstractEventLoop | None = None
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["geo.geometry", "geo.geometry_work"])


def configure(limits: GeometryLimits) -> None:
    """Set the limits for this process (the app calls it at start-up)."""
    global _limits, _slots
    _limits = limits
    _slots = None


def _semaphore() -> asyncio.Semaphore:
    global _slots, _slots_loop
    loop = asyncio.get_running_loop()
    if _slots is None or _slots_loop is not loop:
        _slots, _slots_loop = asyncio.Semaphore(_limits.processes), loop
    return _slots


def _child(conn: Connection, data: object, repair: bool, limits: GeometryLimits) -> None:
    """Run check_geometry under rlimits and send back ('ok', checked) or ('error', ...)."""
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    try:
        checked = check_geometry(data, repair=repair, max_vertices=limits.max_vertices)
        conn.send(("ok", checked))
    except GeometryError as exc:
        conn.send(("error", exc.detail, exc.extra))
    except MemoryError:
        conn.send(("too-complex", None, None))
    except Exception as exc:  # GEOS out of memory arrives as its own exception types
        conn.send(("too-complex", type(exc).__name__, None))
    finally:
        conn.close()


def _wait(conn: Connection, timeout: float) -> tuple[Any, ...] | None:
    """Block (in a thread) until the child answers or the timeout passes."""
    try:
        if conn.poll(timeout):
            result: tuple[Any, ...] = conn.recv()
            return result
    except (EOFError, OSError):  # the child died (rlimit hit) without answering
        return None
    return None


def _refuse(data: object) -> GeometryTooComplex:
    kind = data.get("type") if isinstance(data, dict) else "geometry"
    msg = f"The {kind} is {TOO_COMPLEX}"
    return GeometryTooComplex(
        msg, extra={"errors": [{"loc": ["geometry", "coordinates"], "msg": TOO_COMPLEX}]}
    )


async def check_geometry_bounded(data: object, *, repair: bool = False) -> CheckedGeometry:
    """check_geometry, in a limited child process when it repairs or the input is large."""
    limits = _limits
    kind = data.get("type") if isinstance(data, dict) else None
    depth = _DEPTH.get(kind) if isinstance(kind, str) else None
    coordinates = data.get("coordinates") if isinstance(data, dict) else None
    small = depth is None or _count_vertices(coordinates, depth) <= limits.inline_vertices
    if small and not repair:  # a validity check of a few vertices is cheap; repair never is
        return check_geometry(data, repair=repair, max_vertices=limits.max_vertices)
    async with _semaphore():
        receiver, sender = _context.Pipe(duplex=False)
        process = _context.Process(target=_child, args=(sender, data, repair, limits), daemon=True)
        await asyncio.to_thread(process.start)  # it pickles the input: not on the loop
        sender.close()
        try:
            result = await asyncio.to_thread(_wait, receiver, limits.timeout_seconds)
        finally:
            receiver.close()
            if process.is_alive():
                process.kill()
            await asyncio.to_thread(process.join, 5)
            process.close()
    if result is None or result[0] == "too-complex":
        raise _refuse(data)
    if result[0] == "error":
        raise GeometryError(result[1], extra=result[2])
    checked: CheckedGeometry = result[1]
    return checked
