import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from schemas.calendar import Period
from schemas.register import DATA_DIR, Council, load_register

REGISTER = load_register()


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def _dfe_date(value: str) -> date | None:
    return datetime.strptime(value, "%d/%m/%Y").date() if value else None


def _codes(councils: list[Council]) -> list[str]:
    return [c.council_code for c in councils]


# --- the shipped data -------------------------------------------------------------------------


def test_data_ships_with_the_package_and_licence() -> None:
    assert DATA_DIR == Path(__file__).resolve().parents[2] / "schemas" / "register"
    for name in ["las.csv", "regions.csv", "region_la_hierarchy.csv", "lineage.csv", "README.md"]:
        assert (DATA_DIR / name).is_file(), name
    assert "MIT License" in (DATA_DIR / "LICENSE-dfe-published-data-qa").read_text()


def test_every_lineage_row_agrees_with_las_csv() -> None:
    las = {row["new_la_code"]: row for row in _rows("las.csv")}
    links = _rows("lineage.csv")
    assert links, "lineage.csv is empty"
    for link in links:
        label = f"{link['predecessor_code']} -> {link['successor_code']}"
        old, new = las.get(link["predecessor_code"]), las.get(link["successor_code"])
        assert old is not None and new is not None, f"{label}: code not in las.csv"
        effective_on = date.fromisoformat(link["effective_on"])
        assert _dfe_date(old["date_of_termination"]) == effective_on - timedelta(days=1), label
        assert _dfe_date(new["date_of_operation"]) == effective_on, label
        assert link["kind"] in {"recode", "merge", "split"}, label
        assert link["note"].strip(), f"{label}: no note"
        if link["kind"] == "recode":
            assert old["old_la_code"] == new["old_la_code"], f"{label}: a recode keeps the LA number"
        else:
            assert old["old_la_code"] != new["old_la_code"], f"{label}: use kind recode"


def test_lineage_covers_the_reorganisations_in_the_standard() -> None:
    links = {(row["predecessor_code"], row["successor_code"]): row["kind"] for row in _rows("lineage.csv")}
    assert links[("E10000021", "E06000061")] == links[("E10000021", "E06000062")] == "split"
    assert links[("E10000006", "E06000063")] == links[("E10000006", "E06000064")] == "split"
    assert links[("E08000016", "E08000038")] == links[("E08000019", "E08000039")] == "recode"
    # every council that ended (other than the x-numbered counties of 2009) has a successor
    ended = {c.council_code for c in REGISTER.all() if c.end is not None}
    assert ended == {old for old, _ in links}


def test_regions_agree_with_the_region_hierarchy() -> None:
    hierarchy = {row["new_la_code"]: row["region_code"] for row in _rows("region_la_hierarchy.csv")}
    for council in REGISTER.all():
        assert hierarchy[council.council_code] == council.region_code, council.council_code
        assert REGISTER.regions()[council.region_code] == council.region_name


def test_regions_are_the_nine_english_regions() -> None:
    regions = REGISTER.regions()
    assert len(regions) == 9
    assert all(code.startswith("E12") for code in regions)
    assert regions["E12000007"] == "London"


# --- what counts as a council -----------------------------------------------------------------


def test_all_leaves_out_combined_rows_and_z_x_codes() -> None:
    councils = REGISTER.all()
    codes = _codes(councils)
    assert codes == sorted(set(codes))
    assert not any(" / " in c.council_code or " / " in c.la_number for c in councils)
    assert "z" not in codes
    assert "E10000005" not in codes  # Cornwall and Isles of Scilly county, LA number x
    assert all(c.la_number.isdigit() and len(c.la_number) == 3 for c in councils)
    assert {c.entity_code for c in councils} == {"E06", "E08", "E09", "E10"}
    real_rows = [
        row
        for row in _rows("las.csv")
        if " / " not in row["new_la_code"] and "z" != row["new_la_code"] and row["old_la_code"] != "x"
    ]
    assert len(councils) == len(real_rows)


def test_combined_and_z_codes_are_unknown() -> None:
    for code in ["E06000061 / E06000062", "z", "702", "x", "E10000005"]:
        assert REGISTER.find(code) is None
        with pytest.raises(KeyError):
            REGISTER.get(code)


def test_la_numbers() -> None:
    numbers = REGISTER.la_numbers()
    assert {"370", "373", "820", "909", "928", "940", "941", "942", "943"} <= numbers
    assert not numbers & {"x", "z", "702", "940 / 941"}
    assert len(numbers) == len({c.la_number for c in REGISTER.all()})


# --- expected councils per period -------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "count"),
    [
        ("2025-Q1", 153),
        ("2022-Q1", 152),
        ("2020-Q4", 151),
        # Worked out by hand from las.csv. Live today: 63 E06 + 36 E08 + 33 E09 + 21 E10 = 153.
        # 2023-Q1: minus Barnsley and Sheffield's 2025 codes, plus their old codes = 153.
        ("2023-Q1", 153),
        # 2019-Q1: the 153 minus the 6 codes started after it (E06000061-66), minus the
        # 2 new Barnsley/Sheffield codes and Buckinghamshire unitary E06000060, plus the old
        # Barnsley/Sheffield codes and the counties still running: Buckinghamshire,
        # Northamptonshire, Cumbria, North Yorkshire, Somerset = 153 - 9 + 7 = 151.
        ("2019-Q1", 151),
        # 2018-Q4: 2019-Q1 minus BCP and Dorset unitary, plus Bournemouth, Poole, Dorset county.
        ("2018-Q4", 152),
    ],
)
def test_expected_counts(code: str, count: int) -> None:
    assert len(REGISTER.expected(Period.parse(code))) == count


def test_expected_counts_a_recode_within_the_period_once() -> None:
    q1_2025 = _codes(REGISTER.expected(Period.parse("2025-Q1")))
    assert "E08000038" in q1_2025 and "E08000016" not in q1_2025
    assert "E08000039" in q1_2025 and "E08000019" not in q1_2025
    q1_2023 = _codes(REGISTER.expected(Period.parse("2023-Q1")))
    assert "E08000016" in q1_2023 and "E08000038" not in q1_2023
    assert "E06000063" in q1_2023 and "E10000006" not in q1_2023


def test_expected_around_reorganisations() -> None:
    q4_2020 = _codes(REGISTER.expected(Period.parse("2020-Q4")))
    assert "E06000060" in q4_2020 and "E10000002" not in q4_2020
    assert "E10000021" in q4_2020 and "E06000061" not in q4_2020
    q1_2019 = _codes(REGISTER.expected(Period.parse("2019-Q1")))
    assert {"E06000058", "E06000059"} <= set(q1_2019)
    assert not {"E06000028", "E06000029", "E10000009"} & set(q1_2019)


@pytest.mark.parametrize("year", range(2009, 2027))
def test_expected_is_sorted_in_operation_and_one_per_la_number(year: int) -> None:
    for quarter in (1, 2, 3, 4):
        period = Period(year, quarter)
        councils = REGISTER.expected(period)
        assert _codes(councils) == sorted(_codes(councils))
        assert all(c.in_operation_during(period) for c in councils)
        assert len({c.la_number for c in councils}) == len(councils), period.code


# --- lookups ----------------------------------------------------------------------------------


def test_get_by_gss_code_and_la_number() -> None:
    hartlepool = REGISTER.get("E06000001")
    assert hartlepool == REGISTER.get("805") == REGISTER.get(" e06000001 ")
    assert (hartlepool.name, hartlepool.la_number, hartlepool.entity_code) == ("Hartlepool", "805", "E06")
    assert (hartlepool.region_code, hartlepool.region_name) == ("E12000001", "North East")
    assert hartlepool.start == date(2009, 1, 1) and hartlepool.end is None
    assert REGISTER.get("E06000010").name == "Kingston upon Hull, City of"  # quoted comma in the CSV


@pytest.mark.parametrize(
    ("code", "on", "expected"),
    [
        ("370", date(2025, 4, 15), "E08000016"),
        ("370", date(2025, 4, 30), "E08000016"),
        ("370", date(2025, 5, 1), "E08000038"),
        ("370", date(2025, 6, 1), "E08000038"),
        ("370", None, "E08000038"),
        ("390", date(2012, 6, 1), "E08000020"),
        ("390", None, "E08000037"),
        ("825", date(2019, 1, 1), "E10000002"),
        ("825", date(2021, 1, 1), "E06000060"),
        ("E08000016", date(2020, 1, 1), "E08000016"),
    ],
)
def test_get_on_a_date(code: str, on: date | None, expected: str) -> None:
    assert REGISTER.get(code, on).council_code == expected


def test_get_unknown_or_not_in_operation() -> None:
    with pytest.raises(KeyError, match="neither the GSS code nor the DfE LA number"):
        REGISTER.get("999")
    with pytest.raises(KeyError, match="not a council in operation on 2020-01-01"):
        REGISTER.get("820", date(2020, 1, 1))  # Bedfordshire ended in 2009
    with pytest.raises(KeyError, match="not a council in operation"):
        REGISTER.get("E08000016", date(2025, 5, 1))
    assert REGISTER.find("E99999999") is None
    assert REGISTER.find("940", date(2020, 1, 1)) is None
    assert REGISTER.find("940", date(2021, 4, 1)) == REGISTER.get("E06000061")


def test_in_operation() -> None:
    barnsley_old = REGISTER.get("E08000016")
    assert barnsley_old.in_operation_on(date(2025, 4, 30))
    assert not barnsley_old.in_operation_on(date(2025, 5, 1))
    assert barnsley_old.in_operation_during(Period.parse("2025-Q1"))
    assert not barnsley_old.in_operation_during(Period.parse("2025-Q2"))
    cumberland = REGISTER.get("E06000063")
    assert not cumberland.in_operation_during(Period.parse("2022-Q4"))
    assert cumberland.in_operation_during(Period.parse("2023-Q1"))
    assert not cumberland.in_operation_on(date(2023, 3, 31))


def test_load_register_is_cached() -> None:
    assert load_register() is load_register()


# --- lineage ----------------------------------------------------------------------------------


def test_successors_predecessors_descendants() -> None:
    assert _codes(REGISTER.successors("E10000006")) == ["E06000063", "E06000064"]
    assert _codes(REGISTER.successors("909")) == ["E06000063", "E06000064"]
    assert _codes(REGISTER.predecessors("E06000063")) == ["E10000006"]
    assert _codes(REGISTER.predecessors("E06000058")) == ["E06000028", "E06000029", "E10000009"]
    assert _codes(REGISTER.descendants("E10000009")) == ["E06000058", "E06000059"]
    assert _codes(REGISTER.descendants("E08000016")) == ["E08000038"]
    assert REGISTER.successors("E06000001") == [] and REGISTER.descendants("E06000001") == []


def test_is_or_became() -> None:
    assert REGISTER.is_or_became("E10000006", "E06000063")  # Cumbria 2022 -> Cumberland 2023
    assert REGISTER.is_or_became("E10000006", "E06000064")
    assert REGISTER.is_or_became("E10000006", "E10000006")
    assert REGISTER.is_or_became("E10000009", "E06000058")  # Christchurch went to BCP
    assert REGISTER.is_or_became("E08000016", "E08000038")
    assert REGISTER.is_or_became("E08000038", "E08000016")  # same council, either code
    assert not REGISTER.is_or_became("E06000063", "E10000006")
    assert not REGISTER.is_or_became("E10000006", "E06000065")


def test_lineage_id_and_same_council() -> None:
    assert REGISTER.lineage_id("E08000016") == REGISTER.lineage_id("E08000038") == "E08000038"
    assert REGISTER.lineage_id("370") == "E08000038"
    assert REGISTER.same_council("E08000016", "E08000038")
    assert REGISTER.same_council("E10000002", "E06000060")  # Buckinghamshire kept LA number 825
    assert REGISTER.same_council("E06000048", "E06000057")
    assert not REGISTER.same_council("E10000009", "E06000058")  # Dorset county and BCP
    assert not REGISTER.same_council("E10000009", "E06000059")  # Dorset county and Dorset unitary
    assert not REGISTER.same_council("E10000006", "E06000063")
    assert not REGISTER.same_council("E08000016", "E08000019")
    ids = [REGISTER.lineage_id(c.council_code) for c in REGISTER.expected(Period.parse("2025-Q1"))]
    assert len(set(ids)) == len(ids)


def test_current_code() -> None:
    assert REGISTER.current_code("E08000016", date(2025, 6, 1)) == "E08000038"
    assert REGISTER.current_code("E08000038", date(2025, 4, 1)) == "E08000016"
    assert REGISTER.current_code("E08000016", date(2025, 4, 1)) == "E08000016"
    assert REGISTER.current_code("E10000002", date(2024, 1, 1)) == "E06000060"
    assert REGISTER.current_code("E10000006", date(2024, 1, 1)) == "E10000006"  # a split is not a recode
    assert REGISTER.current_code("E06000001", date(2000, 1, 1)) == "E06000001"
