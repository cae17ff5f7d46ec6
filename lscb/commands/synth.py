"""`lscb synth`: synthetic returns for every council, with a ground truth of what validation and
the cross-council linker must find."""

from __future__ import annotations

import argparse
from pathlib import Path

from lscb.cli import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="generate synthetic returns with a ground truth (for tests, demos and benchmarks)",
        description="Write one synthetic return per council per period (<code>_<period>.xlsx, or .zip "
        "for a CSV bundle), ground_truth.json (injected breaches, cross-council cases, missing and "
        "late councils) and manifest.json (every file with its time of receipt, also set as the "
        "file's mtime). The same arguments and seed give byte-identical files.",
    )
    parser.add_argument("--period", required=True, metavar="YYYY-Qn", help="the first period, e.g. 2025-Q1")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory to write into")
    parser.add_argument(
        "--periods",
        type=int,
        default=1,
        metavar="N",
        help="consecutive periods from --period, the same children carried forward (default 1)",
    )
    parser.add_argument(
        "--councils",
        default="all",
        metavar="all|CODE,...",
        help="all expected councils (default), or GSS codes separated by commas",
    )
    parser.add_argument(
        "--children",
        type=int,
        default=200,
        metavar="N",
        help="typical children per return; each council varies by up to 40%% (default 200)",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="chance per return of each kind of injected breach (default 0: clean returns)",
    )
    parser.add_argument(
        "--missing-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="chance that a council sends nothing for a period (default 0)",
    )
    parser.add_argument(
        "--late-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="chance that a return arrives after the deadline (default 0)",
    )
    parser.add_argument(
        "--resubmit-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="chance that a return with errors is corrected and sent again a few days later "
        "(<code>_<period>_corrected.xlsx; default 0)",
    )
    parser.add_argument(
        "--format", choices=("xlsx", "csv"), default="xlsx", help="xlsx workbooks (default) or csv bundles (.zip)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from synth import SynthOptions, generate

    councils: str | list[str] = "all"
    if args.councils.strip().lower() != "all":
        councils = [c.strip().upper() for c in args.councils.split(",") if c.strip()]
        if not councils:
            raise UserError("--councils needs 'all' or at least one GSS code")
    options = SynthOptions(
        period=args.period,
        out=args.out,
        periods=args.periods,
        councils=councils,
        children=args.children,
        seed=args.seed,
        error_rate=args.error_rate,
        missing_rate=args.missing_rate,
        late_rate=args.late_rate,
        resubmit_rate=args.resubmit_rate,
        format=args.format,
    )
    try:
        result = generate(options)
    except ValueError as error:
        raise UserError(str(error)) from None
    truth = result.ground_truth
    print(
        f"{len(result.files)} returns ({result.children_rows} child rows) for "
        f"{', '.join(truth['periods'])} written to {result.out} in {result.seconds:.1f} s"
    )
    print(
        f"injected findings: {len(truth['findings'])}; cross-council cases: {len(truth['cross_council'])}; "
        f"good moves: {len(truth['moves'])}; missing: {len(truth['missing'])}; late: {len(truth['late'])}"
    )
    print(f"ground truth: {result.out / 'ground_truth.json'}; manifest: {result.out / 'manifest.json'}")
    return 0
