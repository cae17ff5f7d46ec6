"""Whether a publication is a demonstration: built with the public demo pseudonymisation key, or
with a synthetic population file (its comment header says SYNTHETIC, as the shipped one does).
Written once here; the compile and the annual publication both ask."""

from __future__ import annotations

from pathlib import Path

from reports.ees import Provenance


def population_is_synthetic(path: Path | None) -> bool:
    """A population CSV whose leading comment lines say SYNTHETIC (the only kind the project ships)."""
    if path is None:
        return False
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            if not line.startswith("#"):
                return False
            if "SYNTHETIC" in line.upper():
                return True
    return False


def publication_provenance(*, demo_key: bool, population_csv: Path | None) -> Provenance:
    reasons = []
    if demo_key:
        reasons.append("Built with the public demonstration pseudonymisation key")
    if population_is_synthetic(population_csv):
        reasons.append("Rates use a synthetic population, not ONS estimates")
    return Provenance(demonstration=bool(reasons), reasons=tuple(reasons))
