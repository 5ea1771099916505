"""``python -m bench [happy|import|scale|liveness|inbox|console|all] [options]``: run benchmarks, print tables.

Each benchmark starts its own local world (Temporal dev server, PostgreSQL, SMTP
sink, HTTP server on 127.0.0.1, in a temporary directory) and compares tada with
bare Temporal on it. Exit code 0 when every target was met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

from bench.report import Report, save_json

NAMES = ("happy", "import", "scale", "liveness", "inbox", "console")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "which",
        nargs="*",
        metavar="{happy,import,scale,liveness,inbox,console,all}",
        help="benchmarks to run (default: all six)",
    )
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    p.add_argument("--keep", action="store_true", help="keep each run's temporary directory (logs, databases)")
    g = p.add_argument_group("1. happy path")
    g.add_argument("--happy-links", type=int, default=200, help="links (default 200)")
    g.add_argument("--per-case", type=int, default=1, help="links per case (default 1: one notice per link)")
    g.add_argument("--follow-up", type=float, default=3.0, help="follow_up_after, seconds (default 3)")
    g.add_argument("--recheck", type=float, default=1.0, help="the one repost re-check, seconds (default 1)")
    g.add_argument("--rounds", type=int, default=2, help="rounds a side, alternating order (default 2)")
    g.add_argument(
        "--confirm", type=float, default=1.0, help="confirm_gone_after, seconds (default 1; 0 turns confirmation off)"
    )
    g = p.add_argument_group("2. bulk import")
    g.add_argument("--import-links", type=int, default=10_000, help="links (default 10000)")
    g.add_argument("--import-per-case", type=int, default=1_000, help="links per case, one import each (default 1000)")
    g.add_argument("--with-worker", action="store_true", help="run a tada worker during the import")
    g = p.add_argument_group("3. scale")
    g.add_argument(
        "--links",
        type=int,
        default=5_000,
        help="sleeping links, and as many bare workflows (default 5000; 100000 for the full test)",
    )
    g.add_argument("--sleep", type=float, default=60.0, help="seconds of RSS sampling while they sleep (default 60)")
    g.add_argument("--bare-links", type=int, default=0, help="bare workflows beside them (default: as many)")
    g.add_argument(
        "--wake",
        type=int,
        default=1_000,
        help="of them, how many a side wake at the instant; the rest sleep 30 days (default 1000)",
    )
    g.add_argument(
        "--worker-cache",
        type=int,
        default=0,
        help="max_cached_workflows of both workers (default: tada's, TADA_MAX_CACHED_WORKFLOWS)",
    )
    g = p.add_argument_group("4. liveness")
    g.add_argument("--checks", type=int, default=6_000, help="liveness checks per side (default 6000)")
    g.add_argument("--hosts", type=int, default=50, help="distinct hosts, 127.0.0.1..N (default 50)")
    g.add_argument("--per-host", type=int, default=4, help="per-host concurrency limit (default 4)")
    g.add_argument("--latency-ms", type=float, default=20.0, help="server think time per request (default 20)")
    g.add_argument("--hot-share", type=float, default=0.2, help="share of links on one host (default 0.2)")
    g = p.add_argument_group("5. inbox")
    g.add_argument("--replies", type=int, default=5_000, help="replies in the mailbox, a round (default 5000)")
    g.add_argument("--flood-share", type=float, default=0.2, help="share of them from one sender (default 0.2)")
    g.add_argument("--batch", type=int, default=250, help="replies arriving between two polls (default 250)")
    g = p.add_argument_group("6. console")
    g.add_argument("--case-links", type=int, default=1_000, help="links of the case shown (default 1000)")
    g.add_argument("--other-links", type=int, default=50_000, help="links of other cases (default 50000)")
    g.add_argument("--page-rounds", type=int, default=20, help="requests a side (default 20)")
    return p


async def _run(name: str, args: argparse.Namespace) -> Report:
    if name == "happy":
        from bench import happy

        return await happy.run(
            args.happy_links, args.per_case, args.follow_up, args.recheck, args.rounds, args.confirm, keep=args.keep
        )
    if name == "import":
        from bench import bulk_import

        return await bulk_import.run(args.import_links, args.import_per_case, args.with_worker, keep=args.keep)
    if name == "scale":
        from bench import scale

        return await scale.run(args.links, args.bare_links, args.wake, args.sleep, args.worker_cache, keep=args.keep)
    if name == "console":
        from bench import console

        return await console.run(args.case_links, args.other_links, args.page_rounds, keep=args.keep)
    if name == "inbox":
        from bench import inbox

        return await inbox.run(args.replies, args.flood_share, args.batch, keep=args.keep)
    from bench import liveness

    return await liveness.run(
        args.checks, args.hosts, args.per_host, args.latency_ms / 1000, args.hot_share, keep=args.keep
    )


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    unknown = [name for name in args.which if name not in (*NAMES, "all")]
    if unknown:
        p.error(f"unknown benchmark {unknown[0]!r}: choose from {', '.join(NAMES)}, all")
    if os.environ.get("BENCH_PATCH"):  # experiments: a file run first, here and in every bench worker
        import runpy

        runpy.run_path(os.environ["BENCH_PATCH"], run_name="bench_patch")
    names = NAMES if not args.which or "all" in args.which else tuple(dict.fromkeys(args.which))
    logging.basicConfig(level=logging.WARNING)
    reports: list[Report] = []
    for name in names:
        began = time.monotonic()
        print(f"bench: running {name} ...", file=sys.stderr, flush=True)
        report = asyncio.run(_run(name, args))
        report.note(f"benchmark wall time {time.monotonic() - began:.0f}s")
        print(report.render(), flush=True)
        print(flush=True)
        reports.append(report)
        if args.json:
            save_json(reports, args.json)
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
