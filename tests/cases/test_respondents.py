"""Respondent names fold to one actor across spellings, legal forms and organizations."""

from __future__ import annotations

import pytest

from cases.respondents import actor_key, normalize_name


@pytest.mark.parametrize(
    ("spellings", "folded"),
    [
        (["ACME Quarries Ltd.", "Acme Quarries Limited", "acme quarries"], "acme quarries"),
        (["PT Freeport Indonesia Tbk", "Freeport Indonesia"], "freeport indonesia"),
        (["Vale S.A.", "VALE SA", "Vale"], "vale"),
        (["Adani Enterprises Pvt Ltd", "Adani Enterprises Private Limited"], "adani enterprises"),
        (["Grupo México S.A.B. de C.V.", "Grupo Mexico"], "grupo mexico"),
        (["Glencore International AG", "Glencore International GmbH"], "glencore international"),
        (["The Coca-Cola Company", "Coca Cola Co."], "coca cola"),
        (["Société Générale de Mines SARL"], "societe generale de mines"),
    ],
)
def test_spellings_fold_to_one_name(spellings: list[str], folded: str) -> None:
    assert {normalize_name(s) for s in spellings} == {folded}


def test_group_words_and_non_latin_scripts_are_kept() -> None:
    assert normalize_name("Sino-Atlantic Mining Group") == "sino atlantic mining group"
    assert normalize_name("हिंदुस्तान ज़िंक") == "हिंदुस्तान ज़िंक"  # vowel signs survive
    assert normalize_name("ပုဂံ ကုမ္ပဏီ") == "ပုဂံ ကုမ္ပဏီ"


def test_a_legal_form_alone_is_not_erased() -> None:
    assert normalize_name("Limited") == "limited"


def test_agencies_are_scoped_to_their_country_and_companies_are_not() -> None:
    assert actor_key("Ministry of Mines", "government_agency", "SL") != actor_key(
        "Ministry of Mines", "government_agency", "KE"
    )
    assert actor_key("Acme Quarries Ltd", "company", "SL") == actor_key(
        "ACME QUARRIES LIMITED", "company", "KE"
    )
