"""Every rule of the standard that validation runs (`Rule.validated`: not the national
cross-council ones, not the queries analysts raise by hand) has at least one case in the table
where it fires and one where it stays quiet, and each case gives exactly the findings it
expects, through the per-return evaluator and through Great Expectations alike."""

from __future__ import annotations

from typing import Any

import pytest

from rules.baseline import TODAY, baseline, build
from rules.cases import CASES, Case
from schemas.standard import load_standard
from transforms.quality.gx import gx_evaluate_many
from transforms.validate import implemented_rule_ids, validate_return
from transforms.validate.evaluate import Evaluator, evaluate
from transforms.validate.rules import REGISTRY

STANDARD = load_standard("1.0")
RULE_IDS = [r.id for r in STANDARD.rules if r.validated]


def run(case: Case, evaluator: Evaluator = evaluate) -> list[tuple[str, str | None]]:
    data = baseline()
    case.mutate(data)
    options = {"today": TODAY, **case.options}
    result = validate_return(build(data), evaluator=evaluator, **options)
    return sorted((f.rule, f.cell) for f in result.findings)


def test_baseline_gives_no_findings() -> None:
    result = validate_return(build(baseline()), today=TODAY)
    assert result.findings == []
    assert result.status == "accepted"


def _case_id(case: Case) -> str:
    return f"{case.rule}:{'fires' if case.fires else 'quiet'}:{case.id}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_case(case: Case) -> None:
    found = run(case)
    assert found == sorted(case.expected)
    rules_found = {rule for rule, _ in found}
    assert (case.rule in rules_found) == case.fires


def test_the_case_table_through_gx_gives_the_same_findings() -> None:
    """The whole case table through Great Expectations too: the same findings, case by case, so
    the per-return evaluator and GX cannot drift. (GX costs milliseconds per expectation
    whatever the rows, so every case's rows go through it at once.)"""
    captured: list[Any] = []

    def capture(*inputs: Any) -> Any:
        captured.append(inputs)
        return evaluate(*inputs)

    through_evaluator = [run(case, capture) for case in CASES]
    through_gx = gx_evaluate_many(captured)
    differ = []
    for case, expected, failing in zip(CASES, through_evaluator, through_gx, strict=True):
        found = run(case, lambda *_inputs, failing=failing: failing)
        if found != expected or found != sorted(case.expected):
            differ.append(f"{_case_id(case)}: GX {found}, evaluator {expected}, expected {sorted(case.expected)}")
    assert differ == []


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
    not_validated = {r.id for r in STANDARD.rules if not r.validated}
    assert not set(REGISTRY) & not_validated


def test_analyst_queries_are_a_rule_validation_never_runs() -> None:
    (analyst,) = STANDARD.rules_for("analyst")
    assert analyst.severity == "Q" and not analyst.validated and analyst.decision
    assert "{message}" in analyst.message
