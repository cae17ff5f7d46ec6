"""`lscb template`: write the official XLSX return template for one council and period."""

from __future__ import annotations

import argparse
from pathlib import Path

from lscb.cli import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "template",
        help="write the XLSX return template for a council and period",
        description="Write the official XLSX return template for one council and period: the sheets "
        "About (prefilled), Strategy, Activity and Children, with drop-down lists, input hints and "
        "protected headers, all derived from the standard.",
    )
    parser.add_argument("--council", required=True, metavar="GSS_CODE", help="the council's GSS code, e.g. E06000001")
    parser.add_argument("--period", required=True, metavar="YYYY-Qn", help="the period, e.g. 2025-Q1")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE.xlsx", help="where to write the workbook")
    parser.add_argument(
        "--version",
        default="1.0",
        dest="standard_version",
        metavar="VERSION",
        help="the version of the standard (default 1.0)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reports.template import TemplateError, write_template

    out: Path = args.out
    if out.suffix.lower() != ".xlsx":
        raise UserError(f"--out must name an .xlsx file, not {out.name!r}")
    try:
        path = write_template(args.council, args.period, out, version=args.standard_version)
    except TemplateError as error:
        raise UserError(str(error)) from None
    except KeyError as error:  # unknown standard version
        raise UserError(str(error.args[0]) if error.args else str(error)) from None
    except OSError as error:
        raise UserError(f"cannot write {out}: {error.strerror or error}") from None
    print(f"wrote {path}")
    return 0
