"""The 0-17 population denominators for rates per 10,000 (standard section 2): a CSV given by
the user (`council_code, year, population_0_17`); the project ships no real figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def read_population(path: Path | None) -> pd.DataFrame | None:
    """A population CSV (`council_code, year, population_0_17`); lines starting `#` are comments."""
    if path is None:
        return None
    frame = pd.read_csv(path, comment="#", dtype={"council_code": str})
    missing = {"council_code", "year", "population_0_17"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: population CSV lacks {', '.join(sorted(missing))}")
    frame["year"] = frame["year"].astype(int)
    frame["population_0_17"] = pd.to_numeric(frame["population_0_17"], errors="coerce")
    return frame[["council_code", "year", "population_0_17"]]
