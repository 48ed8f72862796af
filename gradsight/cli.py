"""Command line: parse, call, exit status. Nothing else lives here."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .core.finding import Severity

STDOUT = "-"  # --json -: the JSON document on standard output


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradsight", description="Why isn't my network learning? Watch, diagnose, fix."
    )
    parser.add_argument("-V", "--version", action="version", version=f"gradsight {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    json_help = "also write the findings JSON here (-: to standard output, the report to stderr)"
    verbose_help = "show every finding's evidence and all its fixes (the JSON always has them)"

    run = sub.add_parser("run", help="run a training script watched, then diagnose it")
    run.add_argument("--out", type=Path, help="run folder (default gradsight-runs/<stem>-<time>)")
    run.add_argument("--json", type=_json_target, help=json_help)
    run.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    run.add_argument("--every", type=_positive, help="record full statistics every N steps")
    run.add_argument("--tensorboard", type=Path, metavar="LOGDIR",
                     help="also write scalars and histograms as TensorBoard logs into LOGDIR")
    run.add_argument("--fail-on", choices=["error", "warning"],
                     help="exit 1 when a finding of this severity or worse is found")
    run.add_argument("--tf1", action="store_true", default=None,
                     help="run a TensorFlow script as TF1 (default: detected from its source)")
    run.add_argument("script", help="the Python script to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")

    report = sub.add_parser(
        "report", help="diagnose a stored run again (also a killed one), rewrite its report.html"
    )
    report.add_argument("dir", type=Path)
    report.add_argument("--json", type=_json_target, help=json_help)
    report.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    report.add_argument("--png", type=Path, help="also write the gradient-flow picture as a PNG")

    probe = sub.add_parser("probe", help="audit initialization: run SCRIPT to its first step")
    probe.add_argument("--json", type=_json_target,
                       help="write the findings JSON (with the profile) here (-: stdout)")
    probe.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    probe.add_argument("script", help="the Python script to run")
    probe.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")

    fix = sub.add_parser("fix", help="try repairs through the hooks, measure, recommend")
    fix.add_argument("--json", type=_json_target,
                     help="write the gradsight.fix/1 JSON here (-: to stdout when done)")
    fix.add_argument("--budget", type=_positive, default=300,
                     help="optimizer steps per trial (default 300)")
    fix.add_argument("--out", type=Path, help="folder for the trials' runs")
    fix.add_argument("--all", action="store_true", dest="try_all",
                     help="try every repair of the plan and rank them (default: stop at the "
                          "first that resolves the findings)")
    fix.add_argument("script", help="the Python script to run")
    fix.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")

    sub.add_parser("demo", help="a built-in diagnosis that needs no user files")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "report":
        return _report(args)
    if args.command == "probe":
        return _probe(args)
    if args.command == "fix":
        from .fix.cli import run_fix

        return run_fix(args.script, args.args, budget=args.budget, json_path=args.json,
                       out=args.out, console=_console(args), try_all=args.try_all)
    if args.command == "demo":
        from .run.demo import main as demo_main

        return demo_main()
    return 2


def _run(args: argparse.Namespace) -> int:
    """The script's exit status and output win: gradsight's own failures after the script
    started (an unwritable --json, a full disk, a closed stdout) are one line each on stderr.
    A run interrupted by Ctrl-C ends as Python ends one: killed by SIGINT, once the script's
    own exit handlers have run (so a shell loop around it stops too)."""
    from .core.store import RunDataError
    from .reports.terminal import render
    from .run.ending import ctrl_c_deferred, exit_by_sigint_later
    from .run.runner import ScriptNotFound, exit_status, run_script

    by_sigint = exit_by_sigint_later()  # registered first, so it runs after the script's
    try:
        code, diagnosis = run_script(args.script, args.args, out=args.out, every=args.every,
                                     tensorboard=args.tensorboard, tf1=args.tf1)
    except (ScriptNotFound, RunDataError) as exc:
        _say(exc)
        return 2
    with ctrl_c_deferred() as late:  # a Ctrl-C now ends the process once this is printed
        try:
            render(diagnosis, _console(args), verbose=args.verbose)
        except OSError as exc:  # stdout closed or full: the terminal diagnosis is the casualty
            _say(f"could not print the diagnosis ({type(exc).__name__}: {exc})")
        if args.json:
            _write_json(args.json, diagnosis)
    if diagnosis.status == "interrupted" or late.is_set():
        by_sigint.set()
    return exit_status(code, diagnosis, Severity(args.fail_on) if args.fail_on else None)


def _write_json(path: Path | str, diagnosis: Any) -> bool:
    """The findings JSON to ``path``, or to standard output for ``-``."""
    from .core.diagnosis import write_findings

    try:
        if path == STDOUT:
            _to_stdout(diagnosis.document())
        else:
            write_findings(Path(path), diagnosis)
        return True
    except OSError as exc:
        _say(f"could not write the findings JSON to {path} ({type(exc).__name__}: "
             f"{exc.strerror or exc})")
        return False


def _say(message: Any) -> None:
    """gradsight's own failure: one line on stderr, names shown inert."""
    from .reports.text import inert

    print(f"gradsight: {inert(message)}", file=sys.stderr, flush=True)


def _probe(args: argparse.Namespace) -> int:
    from .probing.script import probe_script
    from .reports.probe import render_probe
    from .run.script import ScriptNotFound

    try:
        code, result = probe_script(args.script, args.args)
    except ScriptNotFound as exc:
        _say(exc)
        return 2
    render_probe(result, _console(args), verbose=args.verbose)
    if args.json == STDOUT:
        _to_stdout(result.document())
    elif args.json:
        result.write(args.json)
    return code


def _report(args: argparse.Namespace) -> int:
    from .core.store import RunDataError
    from .reports.terminal import render
    from .reports.text import inert_findings
    from .core.diagnosis import FINDINGS_FILE, diagnose_folder, write_findings

    try:
        diagnosis = inert_findings(diagnose_folder(args.dir))
    except RunDataError as exc:
        _say(exc)
        return 2
    if diagnosis.numbers.get("damaged"):
        _say(f"{Path(args.dir) / 'run.sqlite'}: unreadable values set aside "
             f"({diagnosis.numbers['damaged']}); the diagnosis is of the rest")
    code = 0
    if args.json and args.json != STDOUT and not _write_json(args.json, diagnosis):
        code = 2
    stored = Path(args.dir) / FINDINGS_FILE
    if not _is_findings_document(stored):  # a killed run never wrote its own; or garbage
        try:
            write_findings(stored, diagnosis)
        except OSError as exc:  # a read-only copy of a run is still worth reading
            _say(f"could not write {stored} ({type(exc).__name__}: {exc.strerror or exc})")
    code = _render_files(args, diagnosis) or code
    render(diagnosis, _console(args), verbose=args.verbose)  # last: it points at the report
    if args.json == STDOUT:
        _write_json(STDOUT, diagnosis)
    return code


def _render_files(args: argparse.Namespace, diagnosis: Any) -> int:
    """report.html in the run folder (regenerated), and the PNG when asked for."""
    from .core.store import RunDataError
    from .reports.html import write_report_or_warn

    write_report_or_warn(args.dir, diagnosis)
    if args.png:
        from .reports.png import write_flow_png

        try:
            write_flow_png(args.dir, args.png)
        except (OSError, ValueError, RunDataError) as exc:
            _say(f"could not write {args.png}: {exc}")
            return 2
    return 0


def _is_findings_document(path: Path) -> bool:
    """Whether ``path`` holds a findings JSON (not missing, truncated or overwritten)."""
    import json

    from .core.finding import FINDINGS_SCHEMA

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("schema") == FINDINGS_SCHEMA and isinstance(
        doc.get("findings"), list)


def _json_target(text: str) -> Path | str:
    """``-`` means standard output; anything else is a file path."""
    return STDOUT if text == STDOUT else Path(text)


def _console(args: argparse.Namespace) -> Any:
    """Where the human-readable report goes: stderr when the JSON takes stdout."""
    from rich.console import Console

    return Console(stderr=getattr(args, "json", None) == STDOUT)


def _to_stdout(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.stdout.flush()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of steps of at least 1, got {text!r}")
    return value
