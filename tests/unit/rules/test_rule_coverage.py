"""Every rule of the standard (except the national cross-council ones) has at least one case in
the table where it fires and one where it stays quiet, and each case gives exactly the findings
it expects."""

from __future__ import annotations

import pytest

from rules.baseline import TODAY, baseline, build
from rules.cases import CASES, Case
from schemas.standard import load_standard
from transforms.validate import implemented_rule_ids, validate_return
from transforms.validate.engine import GX_GROUPS_ENV
from transforms.validate.rules import REGISTRY

STANDARD = load_standard("1.0")
RULE_IDS = [r.id for r in STANDARD.rules if r.scope != "cross_council"]


@pytest.fixture
def pandas_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table runs the generated expectations with pandas (fast); `test_case_through_gx`
    runs the cases of GX-implemented rules through GX to prove both give the same findings."""
    monkeypatch.setenv(GX_GROUPS_ENV, "none")


def run(case: Case) -> list[tuple[str, str | None]]:
    data = baseline()
    case.mutate(data)
    options = {"today": TODAY, **case.options}
    result = validate_return(build(data), **options)
    return sorted((f.rule, f.cell) for f in result.findings)


def test_baseline_gives_no_findings() -> None:
    result = validate_return(build(baseline()), today=TODAY)
    assert result.findings == []
    assert result.status == "accepted"


def _case_id(case: Case) -> str:
    return f"{case.rule}:{'fires' if case.fires else 'quiet'}:{case.id}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_case(case: Case, pandas_only: None) -> None:
    found = run(case)
    assert found == sorted(case.expected)
    rules_found = {rule for rule, _ in found}
    assert (case.rule in rules_found) == case.fires


GX_CASES = [c for c in CASES if implemented_rule_ids(STANDARD).get(c.rule) == "gx"]


@pytest.mark.parametrize("case", GX_CASES, ids=[_case_id(c) for c in GX_CASES])
def test_case_through_gx(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GX_GROUPS_ENV, "all")
    assert run(case) == sorted(case.expected)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_has_firing_and_quiet_cases(rule_id: str) -> None:
    cases = [c for c in CASES if c.rule == rule_id]
    assert any(c.fires for c in cases), f"{rule_id} has no case where it fires"
    assert any(not c.fires for c in cases), f"{rule_id} has no case where it stays quiet"


def test_case_table_names_only_rules_of_the_standard() -> None:
    assert {c.rule for c in CASES} <= set(RULE_IDS)


def test_every_rule_is_implemented_once() -> None:
    implemented = implemented_rule_ids(STANDARD)
    assert set(implemented) == set(RULE_IDS)


def test_registry_names_only_rules_of_the_standard() -> None:
    known = {r.id for r in STANDARD.rules}
    assert set(REGISTRY) <= known
    cross_council = {r.id for r in STANDARD.rules if r.scope == "cross_council"}
    assert not set(REGISTRY) & cross_council
