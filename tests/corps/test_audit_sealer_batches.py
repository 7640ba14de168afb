"""The sealer gathers a stream of audited commits into few batches, and seals a lone one at once."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

import corps.audit_seal
from corps.audit_seal import AuditSealer

SEAL_INTERVAL_S = 0.1  # shorter than the sealer's own, for a quick test


async def test_a_stream_of_commits_is_sealed_in_few_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batches: list[float] = []
    loop = asyncio.get_running_loop()
    ours = object()  # an app's sealer left running by an earlier test must not count

    async def seal(factory: Any, **_kw: Any) -> int:
        if factory is ours:
            batches.append(loop.time())
        await asyncio.sleep(0.005)  # a batch's round trips
        return 1

    monkeypatch.setattr(corps.audit_seal, "seal_pending", seal)
    monkeypatch.setattr(corps.audit_seal, "SEAL_INTERVAL_S", SEAL_INTERVAL_S)
    sealer = AuditSealer(factory=ours)  # type: ignore[arg-type]
    sealer.start()
    try:
        sealer.wake()
        await asyncio.sleep(0.02)
        assert len(batches) == 1, "a lone commit is sealed at once"
        stream = 10 * SEAL_INTERVAL_S
        end = loop.time() + stream
        while loop.time() < end:  # an audited commit every 5 ms
            sealer.wake()
            await asyncio.sleep(0.005)
        await asyncio.sleep(2 * SEAL_INTERVAL_S)
    finally:
        await sealer.stop()
    # Without the interval this is one batch per commit or two (about 100); with it, about 11.
    assert len(batches) <= 1 + stream / SEAL_INTERVAL_S + 2, len(batches)
    gaps = [b - a for a, b in itertools.pairwise(batches)]
    assert min(gaps) >= SEAL_INTERVAL_S * 0.9
