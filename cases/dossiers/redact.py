"""Public-level redaction of free text: the sentence stays, what identifies people or places goes.

A timeline description tells a court what happened ("Complaint filed with the agency by Mary
Wanjiku on 2026-03-15"); at the public level it is kept, with the parts that can identify a
person or a place replaced by a bracketed mark: the case's place name and the names of
respondents who are individuals, e-mail addresses, phone numbers, coordinates, exact dates
(kept to the month) and runs of two or more capitalized words, the shape of a person's or a
place's name. Companies and agencies named as respondents stay named: naming them is the point
of public advocacy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NAME = "[name withheld]"
PLACE = "[place withheld]"
CONTACT = "[contact withheld]"
COORDINATES = "[coordinates withheld]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")
_COORDINATE = re.compile(r"-?\d{1,3}\.\d{2,}")
_DAY = re.compile(r"\b(\d{4}-\d{2})-\d{2}\b")
_CAPITAL = "[A-ZÀ-ÖØ-ÞĀ-Ž]"
_CAPITALIZED_RUN = re.compile(rf"\b{_CAPITAL}[\w'\u2019.-]*(?:\s+{_CAPITAL}[\w'\u2019-]*)+")
_KEEP = "\x00{}\x00"


def redact_public(
    text: str | None, *, withheld: Iterable[str] = (), kept: Iterable[str] = ()
) -> str | None:
    """The text with names, places, contacts, coordinates and exact days taken out."""
    if not text:
        return text
    kept_names = sorted({k for k in kept if k}, key=len, reverse=True)
    out = text
    for number, name in enumerate(kept_names):
        out = out.replace(name, _KEEP.format(number))
    for secret in sorted({w for w in withheld if w}, key=len, reverse=True):
        out = re.sub(re.escape(secret), PLACE, out, flags=re.IGNORECASE)
    out = _EMAIL.sub(CONTACT, out)
    out = _COORDINATE.sub(COORDINATES, out)
    out = _DAY.sub(r"\1", out)
    out = _PHONE.sub(CONTACT, out)
    out = _CAPITALIZED_RUN.sub(NAME, out)
    for number, name in enumerate(kept_names):
        out = out.replace(_KEEP.format(number), name)
    return out
