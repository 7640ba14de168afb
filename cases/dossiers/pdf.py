"""Render the dossier's HTML to PDF with WeasyPrint in a child process.

WeasyPrint is CPU-bound and holds the GIL for seconds on a large dossier; in a child process
it never blocks the worker's event loop (leases, progress and other jobs keep going), and its
memory goes back to the system when it exits. Run as
`python -m cases.dossiers.pdf IN.html OUT.pdf [ATTACHMENTS.json]`.

The PDF is archival PDF/A-3b, and carries the bundle's machine-readable files (case files,
chains of custody) as embedded attachments, so the PDF alone holds the data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

RENDER_TIMEOUT_S = 900
PDF_VARIANT = "pdf/a-3b"
FONT_DIR = "file:///usr/share/fonts/"


class PdfFailed(Exception):
    """WeasyPrint did not produce the PDF."""


async def render_pdf(
    html_path: Path, pdf_path: Path, attachments: list[dict[str, str]] | None = None
) -> None:
    """Render html_path to pdf_path in a child process; raise PdfFailed on any failure.

    attachments: [{"path", "name", "description"}] files embedded in the PDF.
    """
    spec = html_path.with_suffix(".attachments.json")
    spec.write_text(json.dumps(attachments or []), encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cases.dossiers.pdf",
        str(html_path),
        str(pdf_path),
        str(spec),
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
    from weasyprint import HTML, Attachment
    from weasyprint.urls import URLFetcher

    html_path, pdf_path = Path(argv[0]), Path(argv[1])
    specs = json.loads(Path(argv[2]).read_text(encoding="utf-8")) if len(argv) > 2 else []

    class OnlyInlineAndFonts(URLFetcher):
        """data: URIs (images), and font files of the system's font directory; nothing else."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:") or (
                url.startswith(FONT_DIR) and ".." not in url and url.endswith(".ttf")
            ):
                return super().fetch(url, headers)
            raise ValueError(f"the dossier HTML may not load {url[:80]}")

    # The HTML needs nothing outside itself: images are data: URIs, maps inline SVG.
    only_inline = OnlyInlineAndFonts()
    with contextlib.ExitStack() as files:
        attachments = [
            Attachment(
                file_obj=files.enter_context(Path(spec["path"]).open("rb")),
                name=spec["name"],
                description=spec.get("description"),
                relationship="Data",
            )
            for spec in specs
        ]
        HTML(string=html_path.read_text(encoding="utf-8"), url_fetcher=only_inline).write_pdf(
            pdf_path, pdf_variant=PDF_VARIANT, attachments=attachments, pdf_identifier=None
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
