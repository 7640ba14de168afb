"""Shared pieces of the benchmarks: the bench database, a live server, timing and the table."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from corps.settings import Settings

BENCH_DATABASE_URL = os.environ.get(
    "EJ_BENCH_DATABASE_URL", "postgresql+asyncpg://ejcorps:ejcorps@127.0.0.1:5432/ejcorps_bench"
)
BENCH_REDIS_URL = os.environ.get("EJ_BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
RESULTS = Path(__file__).parent / "results"
RESULTS_MD = Path(__file__).parent / "RESULTS.md"


def bench_settings(storage: Path) -> Settings:
    """Settings for the benchmark's own database, Redis db and storage folder."""
    return Settings(
        env="test",
        database_url=BENCH_DATABASE_URL,
        redis_url=BENCH_REDIS_URL,
        storage_url=f"file://{storage}",
        secret_key="bench-secret-key-that-is-long-enough-000000",  # noqa: S106 (local bench)
        max_upload_mb=1024,
    )


async def timed(call: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    """Wall-clock seconds of `repeat` sequential calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        out.append(time.perf_counter() - start)
    return out


@dataclass
class Table:
    """Rows of (measure, value, baseline, ratio, target, note) printed as Markdown."""

    rows: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)

    def add(
        self,
        measure: str,
        value: str,
        baseline: str = "",
        ratio: str = "",
        target: str = "",
        note: str = "",
    ) -> None:
        """Add one row."""
        self.rows.append((measure, value, baseline, ratio, target, note))
        print(f"  {measure}: {value} {('vs ' + baseline) if baseline else ''} {ratio}", flush=True)

    def markdown(self) -> str:
        """The table as Markdown."""
        head = (
            "| measure | value | baseline (same run) | ratio | target | note |\n"
            "|---|---|---|---|---|---|\n"
        )
        return head + "\n".join("| " + " | ".join(r) + " |" for r in self.rows) + "\n"


def median_ms(samples: list[float]) -> float:
    """The median of samples in milliseconds."""
    return statistics.median(samples) * 1000


def write_block(part: str, body: str, *, heading: str = "") -> None:
    """Replace one generated block of bench/RESULTS.md, keeping the written analysis around it.

    A block seen for the first time is appended, under `heading` when one is given.
    """
    begin, end = f"<!-- bench:{part}:begin -->", f"<!-- bench:{part}:end -->"
    old = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
    if begin not in old:
        old = old.rstrip() + "\n\n" + (f"{heading}\n\n" if heading else "") + begin + end + "\n"
    head, _, rest = old.partition(begin)
    RESULTS_MD.write_text(f"{head}{begin}\n{body}{end}{rest.partition(end)[2]}")
