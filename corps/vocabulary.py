"""One StrEnum per vocabulary; SQL checks, query patterns and OpenAPI enums derive from it."""

from __future__ import annotations

from enum import StrEnum


def values(vocab: type[StrEnum]) -> list[str]:
    """The vocabulary's codes, in declaration order (the order OpenAPI and forms show)."""
    return [member.value for member in vocab]


def sql_in(vocab: type[StrEnum]) -> str:
    """The SQL list `('a', 'b')` for a check constraint; codes are identifiers, never quotes."""
    return "(" + ", ".join(f"'{code}'" for code in values(vocab)) + ")"


def check_in(column: str, vocab: type[StrEnum], *, nullable: bool = False) -> str:
    """The text of a check constraint that keeps `column` inside the vocabulary."""
    check = f"{column} IN {sql_in(vocab)}"
    return f"{column} IS NULL OR {check}" if nullable else check


def query_pattern(vocab: type[StrEnum]) -> str:
    """A regular expression for a query parameter that takes one code of the vocabulary."""
    return f"^({'|'.join(values(vocab))})$"
