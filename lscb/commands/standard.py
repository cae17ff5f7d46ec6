"""`lscb standard`: write the reference page of the standard (Markdown or HTML) for councils."""

from __future__ import annotations

import argparse
from pathlib import Path

from lscb.cli import UserError

SUFFIX_FORMATS = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "standard",
        help="write the reference page of the standard (Markdown or HTML)",
        description="Write the reference page of the data standard, for councils: calendar, formats, "
        "every sheet and field, code lists, rules, refusals and pseudonymisation, all from the schema.",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="FILE", help="where to write the page")
    parser.add_argument(
        "--format", choices=("md", "html"), dest="fmt", help="md or html (default: from the suffix of --out)"
    )
    parser.add_argument(
        "--version",
        default="1.0",
        dest="standard_version",
        metavar="VERSION",
        help="the version of the standard (default 1.0)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reports.standard_doc import render_standard

    out: Path = args.out
    fmt = args.fmt or SUFFIX_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UserError(f"cannot tell the format from {out.name!r}; use a .md or .html name, or --format")
    try:
        page = render_standard(args.standard_version, fmt)
    except KeyError as error:
        raise UserError(str(error.args[0]) if error.args else str(error)) from None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot write {out}: {error.strerror or error}") from None
    print(f"wrote {out} ({fmt})")
    return 0
