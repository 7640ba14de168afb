"""Render the dossier's HTML to PDF with WeasyPrint in a child process.

WeasyPrint is CPU-bound and holds the GIL for seconds on a large dossier; in a child process
it never blocks the worker's event loop (leases, progress and other jobs keep going), and its
memory goes back to the system when it exits. Run as `python -m cases.dossiers.pdf IN OUT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

RENDER_TIMEOUT_S = 900


class PdfFailed(Exception):
    """WeasyPrint did not produce the PDF."""


async def render_pdf(html_path: Path, pdf_path: Path) -> None:
    """Render html_path to pdf_path in a child process; raise PdfFailed on any failure."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cases.dossiers.pdf",
        str(html_path),
        str(pdf_path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), RENDER_TIMEOUT_S)
    except BaseException as exc:  # timed out or cancelled: the child must not outlive us
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        if isinstance(exc, TimeoutError):
            raise PdfFailed(f"rendering the PDF took longer than {RENDER_TIMEOUT_S} s") from exc
        raise
    if proc.returncode != 0 or not await asyncio.to_thread(pdf_path.is_file):
        lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
        raise PdfFailed(f"rendering the PDF failed: {lines[-1] if lines else proc.returncode}")


def _die_with_parent() -> None:
    # If the worker is killed mid-render, the kernel ends this process too (Linux only).
    with contextlib.suppress(Exception):
        import ctypes
        import os

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() == 1:
            sys.exit(3)


def main(argv: list[str]) -> int:
    """Render argv[0] (HTML) to argv[1] (PDF) with no access to any URL."""
    _die_with_parent()
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html_path, pdf_path = Path(argv[0]), Path(argv[1])
    refuse_all = URLFetcher(allowed_protocols=frozenset())  # the HTML needs nothing outside
    HTML(string=html_path.read_text(encoding="utf-8"), url_fetcher=refuse_all).write_pdf(pdf_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
