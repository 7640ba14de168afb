"""Respondents: normalized names and their resolution to shared responsible actors."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import CaseRespondent, Respondent

# Legal-form words that say nothing about who the party is; folded at either end of a name.
# fmt: off
LEGAL_FORMS = frozenset({
    "ltd", "limited", "llc", "llp", "inc", "incorporated", "corp", "corporation", "co",
    "company", "plc", "sa", "sas", "sarl", "srl", "spa", "gmbh", "ag", "kg", "bv", "nv", "pty",
    "pvt", "private", "pte", "tbk", "ltda", "sac", "sab", "cv", "de", "ab", "as", "oy", "kk",
    "jsc", "ojsc", "pjsc", "ooo", "lp",
})
# fmt: on
LEADING_FORMS = frozenset({"the", "pt", "cv", "m/s", "ms"})


def _strip_latin_accents(text: str) -> str:
    """Drop combining accents on Latin letters only, so other scripts keep their vowel signs."""
    out: list[str] = []
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.category(char) == "Mn" and out and out[-1].isascii():
            continue
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def _tokens(name: str) -> list[str]:
    text = _strip_latin_accents(name).casefold().replace("&", " and ")
    cleaned = []
    for char in text:
        if char == ".":
            continue  # "S.A." -> "sa", "P.T." -> "pt"
        cleaned.append(" " if unicodedata.category(char)[0] in "PS" else char)
    return "".join(cleaned).split()


def normalize_name(name: str) -> str:
    """Fold case, Latin accents, punctuation and legal forms: 'ACME Ltd.' -> 'acme'."""
    tokens = _tokens(name)
    while len(tokens) > 1 and tokens[0] in LEADING_FORMS:
        tokens.pop(0)
    while len(tokens) > 1 and tokens[-1] in LEGAL_FORMS:
        tokens.pop()
    return " ".join(tokens)


def actor_key(name: str, kind: str, country: str) -> str:
    """The resolution key: companies cross borders, a government agency belongs to its country."""
    key = normalize_name(name)
    return f"{country.lower()}:{key}" if kind == "government_agency" else key


async def resolve_actors(
    session: AsyncSession, respondents: Sequence[tuple[str, str]], *, country: str
) -> list[Respondent]:
    """Find or create the shared actor for each (name, kind), in order."""
    if not respondents:
        return []
    wanted = {actor_key(name, kind, country): (name.strip(), kind) for name, kind in respondents}
    await session.execute(
        insert(Respondent)
        .values([{"name": n, "normalized_name": key, "kind": k} for key, (n, k) in wanted.items()])
        .on_conflict_do_nothing(index_elements=["normalized_name"])
    )
    found = await session.scalars(select(Respondent).where(Respondent.normalized_name.in_(wanted)))
    by_key = {actor.normalized_name: actor for actor in found}
    merged = {a.merged_into for a in by_key.values() if a.merged_into}
    if merged:  # a confirmed merge redirects the name to the actor it was folded into
        targets = {
            a.id: a
            for a in await session.scalars(select(Respondent).where(Respondent.id.in_(merged)))
        }
        by_key = {
            k: targets.get(a.merged_into, a) if a.merged_into else a for k, a in by_key.items()
        }
    return [by_key[actor_key(name, kind, country)] for name, kind in respondents]


async def set_case_respondents(
    session: AsyncSession,
    case_id: uuid.UUID,
    respondents: Sequence[tuple[str, str]],
    *,
    country: str,
) -> str:
    """Replace a case's respondents; return their names joined for full-text search."""
    await session.execute(delete(CaseRespondent).where(CaseRespondent.case_id == case_id))
    actors = await resolve_actors(session, respondents, country=country)
    seen: set[uuid.UUID] = set()
    for position, ((name, _), actor) in enumerate(zip(respondents, actors, strict=True)):
        if actor.id in seen:
            continue
        seen.add(actor.id)
        session.add(
            CaseRespondent(
                case_id=case_id, actor_id=actor.id, name_as_given=name.strip(), position=position
            )
        )
    await session.flush()
    return " ".join(
        dict.fromkeys([*(n.strip() for n, _ in respondents), *(a.name for a in actors)])
    )
