"""`lscb portal`: run the council portal (FastAPI, uvicorn) on its own.

The same app mounts in Airflow's API server under `/lscb` (`portal.airflow_plugin`). The project
database is brought to the head revision (the portal's account tables included) before serving.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "portal",
        help="run the council portal (web pages for uploads, results, sign-off and the national tracker)",
        description="Run the council portal. Accounts are managed with `lscb users`. Behind a TLS-terminating "
        "proxy, set LSCB_PORTAL_TRUST_PROXY=1 (and keep --host on loopback) so cookies are marked Secure.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--root-path", default="", help="URL prefix when served behind a proxy under a sub-path")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from lscb.cli import UserError, project_engine, settings
    from store import StoreError
    from store.migrate import ensure_current

    settings().key()  # refuse to serve without the key: uploads could not be pseudonymised
    try:
        ensure_current(project_engine())
    except StoreError as error:
        raise UserError(str(error)) from None
    print(f"lscb portal: serving on http://{args.host}:{args.port}{args.root_path}/ (Ctrl+C to stop)", flush=True)
    uvicorn.run(
        "portal.app:app",
        host=args.host,
        port=args.port,
        root_path=args.root_path,
        workers=args.workers,
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )
    return 0
