"""Write SYNTHETIC_population_0_17.csv: made-up 0-17 populations for every council in the register.

THESE ARE NOT REAL FIGURES. The project ships no ONS mid-year estimates; this file exists so demos
and tests can show rates per 10,000 children. For real outputs pass the ONS mid-year estimates
(`council_code, year, population_0_17`) with `--population`.

Run: .venv/bin/python data/population/generate_synthetic.py
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from schemas.register import load_register

OUT = Path(__file__).with_name("SYNTHETIC_population_0_17.csv")
YEARS = range(2020, 2028)


def main() -> None:
    lines = [
        "# SYNTHETIC DEMO DATA - NOT REAL POPULATION FIGURES. Made up by data/population/generate_synthetic.py.",
        "# Use ONS mid-year estimates (council_code, year, population_0_17) for any real output.",
        "council_code,year,population_0_17",
    ]
    for council in load_register().all():
        seed = int(hashlib.sha256(council.council_code.encode()).hexdigest()[:8], 16)
        base = 20_000 + seed % 280_000
        for year in YEARS:
            if council.start.year > year or (council.end is not None and council.end.year < year):
                continue
            lines.append(f"{council.council_code},{year},{base + (year - 2020) * (seed % 700 - 300)}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(lines) - 3} rows, synthetic)")


if __name__ == "__main__":
    main()
