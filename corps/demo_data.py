"""Fictional demo organizations in 25 real countries, with plausible sites for their cases."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoCountry:
    """A country, a region and a (lon, lat) area where demo cases cluster."""

    code: str
    region: str
    lon: float
    lat: float
    spread: float


COUNTRIES = [
    DemoCountry("SL", "Kono District", -10.97, 8.64, 0.6),
    DemoCountry("KE", "Nairobi and Kilifi", 36.82, -1.29, 1.2),
    DemoCountry("IN", "Odisha", 85.10, 20.95, 1.5),
    DemoCountry("MM", "Sagaing Region", 95.38, 23.10, 1.2),
    DemoCountry("US", "Louisiana", -91.00, 30.20, 0.8),
    DemoCountry("NG", "Niger Delta", 6.50, 4.90, 0.9),
    DemoCountry("GH", "Western Region", -2.05, 5.35, 0.7),
    DemoCountry("UG", "Albertine Graben", 31.20, 1.70, 0.8),
    DemoCountry("TZ", "Mara Region", 34.20, -1.60, 0.7),
    DemoCountry("ZA", "Mpumalanga", 29.50, -25.90, 0.9),
    DemoCountry("MZ", "Cabo Delgado", 40.00, -12.50, 0.9),
    DemoCountry("CD", "Lualaba", 25.50, -10.70, 0.9),
    DemoCountry("LR", "Grand Cape Mount", -11.20, 7.10, 0.5),
    DemoCountry("ID", "Central Kalimantan", 113.90, -1.70, 1.5),
    DemoCountry("PH", "Mindanao", 125.60, 7.20, 1.0),
    DemoCountry("KH", "Mondulkiri", 107.20, 12.45, 0.7),
    DemoCountry("NP", "Terai", 84.50, 27.50, 1.0),
    DemoCountry("BD", "Khulna Division", 89.55, 22.80, 0.6),
    DemoCountry("BR", "Pará", -52.00, -4.50, 2.0),
    DemoCountry("CO", "La Guajira", -72.60, 11.20, 0.6),
    DemoCountry("PE", "Cajamarca", -78.50, -7.15, 0.6),
    DemoCountry("EC", "Sucumbíos", -76.90, 0.10, 0.6),
    DemoCountry("MX", "Sonora", -110.50, 29.50, 1.2),
    DemoCountry("GT", "Izabal", -89.00, 15.45, 0.5),
    DemoCountry("HN", "Colón", -85.90, 15.70, 0.5),
]

ORG_PATTERNS = [
    ("{region} Community Paralegals", "cp"),
    ("Land and Rivers Justice Network {code}", "lrjn"),
]


def demo_organizations() -> list[dict[str, str]]:
    """Fifty fictional organizations, two per country."""
    orgs = []
    for country in COUNTRIES:
        for pattern, suffix in ORG_PATTERNS:
            orgs.append(
                {
                    "name": pattern.format(region=country.region, code=country.code),
                    "slug": f"{country.code.lower()}-{suffix}",
                    "country": country.code,
                    "region": country.region,
                }
            )
    return orgs


SECRETARIAT = {
    "name": "Environmental Justice Corps Secretariat",
    "slug": "corps",
    "country": "KE",
    "region": "Nairobi",
}

DEMO_USERS = [
    ("admin", "admin@ejcorps.demo", "Ada Admin", "corps"),
    ("coordinator", "coordinator@ejcorps.demo", "Chidi Coordinator", "corps"),
    ("campaigner", "campaigner@ejcorps.demo", "Camila Campaigner", "corps"),
    ("org_admin", "orgadmin@ejcorps.demo", "Osei Org-Admin", "sl-cp"),
    ("paralegal", "paralegal@ejcorps.demo", "Fatmata Paralegal", "sl-cp"),
    ("paralegal", "paralegal.ke@ejcorps.demo", "Wanjiru Paralegal", "ke-cp"),
]
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (printed demo login)
