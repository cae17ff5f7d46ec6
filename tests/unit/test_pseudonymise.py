from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime

import pandas as pd
import pytest

from transforms.pseudonymise import birth_month, key_for, pseudonymise_children

SECRET = b"test secret"
UPN = "A801200000011"  # made up
NHS = "9434765919"  # made up, valid check digit


def test_key_is_hex_hmac_sha256_of_kind_and_normalised_value() -> None:
    expected = hmac.new(SECRET, f"UPN:{UPN}".encode(), hashlib.sha256).hexdigest()
    assert key_for("UPN", UPN, SECRET) == expected
    assert key_for("UPN", f"  {UPN.lower()[:5]} {UPN.lower()[5:]} ", SECRET) == expected
    assert key_for("NHS", "943 476 5919", SECRET) == hmac.new(SECRET, b"NHS:9434765919", hashlib.sha256).hexdigest()


def test_kind_secret_and_value_all_change_the_key() -> None:
    assert key_for("UPN", "1234567890", SECRET) != key_for("NHS", "1234567890", SECRET)
    assert key_for("NHS", NHS, SECRET) != key_for("NHS", NHS, b"another secret")
    assert len(key_for("NHS", NHS, SECRET)) == 64
    with pytest.raises(ValueError, match="kind"):
        key_for("NI", NHS, SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        key_for("NHS", NHS, b"")


def test_birth_month_is_the_first_of_the_month() -> None:
    assert birth_month(date(2010, 7, 19)) == date(2010, 7, 1)
    assert birth_month(datetime(2010, 7, 19, 13, 5)) == date(2010, 7, 1)
    assert birth_month(pd.Timestamp("2010-07-19")) == date(2010, 7, 1)
    assert birth_month(None) is None
    assert birth_month(pd.NaT) is None


def test_pseudonymise_children_returns_a_new_frame_without_raw_identifiers() -> None:
    children = pd.DataFrame(
        {
            "local_child_id": ["a", "b", "c"],
            "upn": [UPN, None, ""],
            "nhs_number": [None, "943 476 5919", None],
            "date_of_birth": [date(2011, 2, 28), date(2012, 12, 1), None],
            "sex": ["F", "M", "U"],
        },
        index=pd.Index([2, 3, 5], name="row"),
        dtype=object,
    )
    before = children.copy()
    safe = pseudonymise_children(children, SECRET)
    pd.testing.assert_frame_equal(children, before)  # the input is untouched
    assert {"upn", "nhs_number", "date_of_birth"}.isdisjoint(safe.columns)
    assert list(safe.index) == [2, 3, 5]
    assert list(safe["local_child_id"]) == ["a", "b", "c"]
    assert list(safe["sex"]) == ["F", "M", "U"]
    assert list(safe["upn_key"]) == [key_for("UPN", UPN, SECRET), None, None]
    assert list(safe["nhs_key"]) == [None, key_for("NHS", NHS, SECRET), None]
    assert list(safe["birth_month"]) == [date(2011, 2, 1), date(2012, 12, 1), None]
    text = safe.to_csv()
    assert UPN not in text and NHS not in text and "943 476 5919" not in text


def test_missing_identifier_columns_give_blank_keys() -> None:
    children = pd.DataFrame({"local_child_id": ["a"], "date_of_birth": [date(2011, 2, 3)]}, dtype=object)
    safe = pseudonymise_children(children, SECRET)
    assert safe.loc[0, "upn_key"] is None and safe.loc[0, "nhs_key"] is None
