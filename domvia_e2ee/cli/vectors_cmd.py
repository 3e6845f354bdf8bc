"""`vectors check` and `conformance`: the published vectors and the conformance runner."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .. import conformance
from .._vectors import generate
from ..vector_files import default_vectors_dir
from .io import emit_json, wants_json


def register(commands: Any) -> None:
    vectors = commands.add_parser("vectors", help="check the published test vectors")
    sub = vectors.add_subparsers(dest="vectors_command", required=True, metavar="COMMAND")
    check = sub.add_parser("check", help="regenerate the vectors (must be byte-identical) and run them all")
    check.add_argument("--vectors", type=Path, default=None,
                       help="vector directory (default: the repository's vectors/ in a checkout, else the installed copy)")
    check.set_defaults(handler=_check)

    run = commands.add_parser("conformance", help="run every vector against an implementation")
    run.add_argument("--impl", metavar="COMMAND",
                     help="an adapter speaking the JSON-lines protocol of spec/conformance.md (default: built-in)")
    run.add_argument("--vectors", type=Path, default=None,
                     help="vector directory (default: the repository's vectors/ in a checkout, else the installed copy)")
    run.add_argument("--quiet", action="store_true", help="print failures and the summary only")
    run.add_argument("--timeout", type=float, default=conformance.DEFAULT_TIMEOUT, help="seconds for the whole run")
    run.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    run.set_defaults(handler=_conformance)


def _check(args: argparse.Namespace) -> int:
    directory: Path = args.vectors or default_vectors_dir()
    rendered = generate(directory)
    stale = [name for name, data in rendered.items()
             if not (directory / name).is_file() or (directory / name).read_bytes() != data]
    extra = sorted(p.name for p in directory.glob("*.json") if p.name not in rendered)
    for name in stale:
        print(f"domvia-e2ee: error: {directory / name} differs from its regeneration", file=sys.stderr)
    for name in extra:
        print(f"domvia-e2ee: error: {directory / name} is not produced by the generator", file=sys.stderr)
    if stale or extra:
        print("domvia-e2ee: hint: run `python -m domvia_e2ee._vectors write` and commit the result", file=sys.stderr)
        return 1
    results = conformance.run_builtin(conformance.load_cases(directory))
    if wants_json(args):
        return _emit(results, regenerated=len(rendered))
    print(f"regeneration: {len(rendered)} files byte-identical")
    return conformance.report(results, sys.stdout, verbose=False)


def _conformance(args: argparse.Namespace) -> int:
    if args.serve:
        conformance.serve(sys.stdin, sys.stdout)
        return 0
    directory: Path = args.vectors or default_vectors_dir()
    cases = conformance.load_cases(directory)
    if not cases:
        print(f"domvia-e2ee: error: no vectors found in {directory}", file=sys.stderr)
        return 1
    results = (conformance.run_external(args.impl, cases, args.timeout) if args.impl
               else conformance.run_builtin(cases))
    if wants_json(args):
        return _emit(results)
    return conformance.report(results, sys.stdout, verbose=not args.quiet)


def _emit(results: list[conformance.Result], **extra: Any) -> int:
    failed = [{"id": r.case_id, "detail": r.detail} for r in results if not r.passed]
    emit_json({"passed": len(results) - len(failed), "failed": len(failed), "failures": failed, **extra})
    return 0 if results and not failed else 1
