"""Doctor checks of what runs inside the process: PDF printing, GDAL and the secrets."""

from __future__ import annotations

import asyncio

from corps.cli.doctor import Check, fail, ok, warn
from corps.settings import DEV_SECRET, Settings

FONT_PACKAGES = "fonts-dejavu-core fonts-noto-core"
# The dossier's first choices; the others cover scripts cases are written in.
BASE_FAMILIES = ("DejaVu Sans", "Noto Sans")
SCRIPT_FAMILIES = ("Noto Naskh Arabic", "Noto Sans Devanagari", "Noto Sans Ethiopic")
GDAL_DRIVERS = {"GPKG": "rw", "GeoJSON": "rw", "ESRI Shapefile": "rw", "KML": "r"}


def font_families() -> set[str]:
    """The font families fontconfig finds, as WeasyPrint will see them."""
    from weasyprint.text.ffi import ffi, fontconfig

    config = ffi.gc(fontconfig.FcInitLoadConfigAndFonts(), fontconfig.FcConfigDestroy)
    fonts = fontconfig.FcConfigGetFonts(config, fontconfig.FcSetSystem)
    families: set[str] = set()
    if fonts == ffi.NULL:
        return families
    value = ffi.new("FcChar8 **")
    for index in range(fonts.nfont):
        number = 0
        while (
            fontconfig.FcPatternGetString(fonts.fonts[index], b"family", number, value)
            == fontconfig.FcResultMatch
        ):
            families.add(ffi.string(value[0]).decode("utf-8", "replace"))
            number += 1
    return families


def render_probe() -> bytes:
    """A one-page PDF with Latin and Arabic text, as a dossier prints it."""
    from weasyprint import HTML

    html = (
        "<html><body style=\"font-family: 'DejaVu Sans', 'Noto Sans', 'Noto Naskh Arabic', "
        'sans-serif"><h1>EJ Corps</h1><p dir="rtl">العدالة البيئية</p></body></html>'
    )
    return bytes(HTML(string=html).write_pdf())


async def check_pdf(settings: Settings) -> list[Check]:
    """WeasyPrint loads, the dossier fonts are present, and a page renders."""
    try:
        families = await asyncio.to_thread(font_families)
    except (OSError, ImportError) as exc:
        return [
            fail(
                "PDF",
                f"WeasyPrint cannot load its libraries: {exc}",
                "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0",
            )
        ]
    if not families:
        # WeasyPrint would crash rendering without fonts, so nothing is rendered
        return [
            fail(
                "fonts",
                "fontconfig finds no fonts: dossier PDFs cannot be printed",
                f"apt-get install {FONT_PACKAGES} (or check FONTCONFIG_FILE)",
            )
        ]
    found = []
    if not any(family in families for family in BASE_FAMILIES):
        found.append(
            fail(
                "fonts",
                f"none of {', '.join(BASE_FAMILIES)} among {len(families)} families",
                f"apt-get install {FONT_PACKAGES}",
            )
        )
    else:
        missing = [family for family in SCRIPT_FAMILIES if family not in families]
        if missing:
            found.append(
                warn(
                    "fonts",
                    f"{len(families)} families; missing {', '.join(missing)} "
                    "(those scripts print as boxes)",
                    "apt-get install fonts-noto-core fonts-noto-extra",
                )
            )
        else:
            found.append(ok("fonts", f"{len(families)} families, Latin, Arabic, Devanagari"))
    pdf = await asyncio.to_thread(render_probe)
    if pdf.startswith(b"%PDF") and len(pdf) > 1000:
        found.append(ok("PDF", f"WeasyPrint renders ({len(pdf)} bytes for a test page)"))
    else:
        found.append(fail("PDF", "WeasyPrint rendered no PDF", "reinstall WeasyPrint's libraries"))
    return found


async def check_gdal(settings: Settings) -> list[Check]:
    """GDAL is loaded with the drivers for layer uploads and exports."""
    import pyogrio

    drivers = pyogrio.list_drivers()
    lacking = [
        f"{name} ({mode})"
        for name, mode in GDAL_DRIVERS.items()
        if not set(mode) <= set(drivers.get(name, ""))
    ]
    version = pyogrio.__gdal_version_string__
    if lacking:
        return [
            fail(
                "GDAL",
                f"GDAL {version} lacks {', '.join(lacking)}",
                "reinstall pyogrio from PyPI (its wheels carry these drivers)",
            )
        ]
    return [ok("GDAL", f"{version} with {', '.join(GDAL_DRIVERS)}")]


async def check_secrets(settings: Settings) -> list[Check]:
    """The secret key is strong in prod, and dossiers have a signing key."""
    found = []
    key = settings.secret_key
    if settings.env != "prod":
        found.append(
            ok("secret key", f"EJ_ENV={settings.env}: not checked (prod refuses weak keys)")
        )
    elif key == DEV_SECRET or len(key) < 32 or len(set(key)) < 12:
        found.append(
            fail(
                "secret key",
                "EJ_SECRET_KEY is weak (short, the default or few distinct characters)",
                "EJ_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')",
            )
        )
    else:
        found.append(ok("secret key", f"{len(key)} characters, {len(set(key))} distinct"))
    found.append(await asyncio.to_thread(_signing_key))
    return found


def _signing_key() -> Check:
    from cases.dossiers.settings import dossier_settings
    from cases.dossiers.signing import SigningKeyError, published_keys

    key_dir = dossier_settings().signing_key_dir
    try:
        keys = published_keys(key_dir)
    except (SigningKeyError, OSError) as exc:
        return warn("signing key", f"cannot read {key_dir}: {exc}", "corps keys init")
    current = [key for key in keys if key.valid_until is None]
    if not current:
        return warn(
            "signing key",
            f"no signing key in {key_dir}: dossiers cannot be signed",
            "corps keys init",
        )
    return ok("signing key", f"{current[0].key_id} in {key_dir}")
