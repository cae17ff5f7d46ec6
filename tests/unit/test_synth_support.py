"""Support for the synth tests (no tests here): read generated CSV bundles back without the ingest
pipeline."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd


def read_bundle(path: Path) -> dict[str, list[dict[str, str]]]:
    """Sheet name -> rows (key/value sheets as [{'field': ..., 'value': ...}], Children as dicts)."""
    out: dict[str, list[dict[str, str]]] = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8")
            out[name.removesuffix(".csv")] = list(csv.DictReader(io.StringIO(text)))
    return out


def keyvalue(rows: list[dict[str, str]]) -> dict[str, str]:
    return {row["field"]: row["value"] for row in rows}


def truth(out: Path) -> dict[str, Any]:
    return json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))


def child_records(out: Path) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Every child row of every generated CSV bundle, in the columns `transforms.link` reads.

    Tests only: the raw identifiers stand in for the pseudonymised keys.
    """
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    submissions = []
    for entry in manifest["files"]:
        submissions.append((entry["council_code"], entry["period"]))
        for child in read_bundle(out / entry["file"])["children"]:
            rows.append(
                {
                    "council_code": entry["council_code"],
                    "period": entry["period"],
                    "local_child_id": child["local_child_id"],
                    "upn_key": child["upn"] or None,
                    "nhs_key": child["nhs_number"] or None,
                    "birth_month": child["date_of_birth"][:7],
                    "sex": child["sex"],
                    "identified_on": child["identified_on"],
                    "closed_on": child["closed_on"] or None,
                    "closure_reason": child["closure_reason"] or None,
                    "moved_to_council": child["moved_to_council"] or None,
                    "moved_from_council": child["moved_from_council"] or None,
                    "moved_from_child_id": child["moved_from_child_id"] or None,
                }
            )
    return pd.DataFrame(rows), submissions
