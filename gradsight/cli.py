"""Command line: parse, call, exit status. Nothing else lives here."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .core.finding import Severity


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradsight", description="Why isn't my network learning? Watch, diagnose, fix."
    )
    parser.add_argument("--version", action="version", version=f"gradsight {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a training script watched, then diagnose it")
    run.add_argument("--out", type=Path, help="run folder (default gradsight-runs/<stem>-<time>)")
    run.add_argument("--json", type=Path, help="also write the findings JSON here")
    run.add_argument("--every", type=_positive, help="record full statistics every N steps")
    run.add_argument("--fail-on", choices=["error", "warning"],
                     help="exit 1 when a finding of this severity or worse is found")
    run.add_argument("--tf1", action="store_true", default=None,
                     help="run a TensorFlow script as TF1 (default: detected from its source)")
    run.add_argument("script", help="the Python script to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")

    report = sub.add_parser("report", help="diagnose a stored run again (also a killed one)")
    report.add_argument("dir", type=Path)
    report.add_argument("--json", type=Path, help="also write the findings JSON here")

    sub.add_parser("demo", help="a built-in diagnosis that needs no user files")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "report":
        return _report(args)
    if args.command == "demo":
        from .demo import main as demo_main

        return demo_main()
    return 2


def _run(args: argparse.Namespace) -> int:
    from .core.store import RunDataError
    from .reports.terminal import render
    from .runner import ScriptNotFound, exit_status, run_script
    from .session import write_findings

    try:
        code, diagnosis = run_script(args.script, args.args, out=args.out, every=args.every,
                                     tf1=args.tf1)
    except (ScriptNotFound, RunDataError) as exc:
        print(f"gradsight: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. --out names a file, or an unwritable folder
        print(f"gradsight: cannot create the run folder {args.out}: {exc}", file=sys.stderr)
        return 2
    render(diagnosis)
    if args.json:
        write_findings(args.json, diagnosis)
    return exit_status(code, diagnosis, Severity(args.fail_on) if args.fail_on else None)


def _report(args: argparse.Namespace) -> int:
    from .core.store import RunDataError
    from .reports.terminal import render
    from .session import FINDINGS_FILE, diagnose_folder, write_findings

    try:
        diagnosis = diagnose_folder(args.dir)
    except RunDataError as exc:
        print(f"gradsight: {exc}", file=sys.stderr)
        return 2
    render(diagnosis)
    if args.json:
        write_findings(args.json, diagnosis)
    stored = Path(args.dir) / FINDINGS_FILE
    if not stored.exists():  # a killed run never wrote its own
        try:
            write_findings(stored, diagnosis)
        except OSError as exc:  # a read-only copy of a run is still worth reading
            print(f"gradsight: could not write {stored}: {exc}", file=sys.stderr)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of steps, got {text}")
    return value
