"""The ``gankit`` command: argparse subcommands, one function each.

Only :func:`main` prints errors and chooses exit codes: a :class:`GankitError` becomes
``gankit: error: <one line>`` on stderr and exit code 2. Heavy imports happen inside the
commands so that ``gankit --help`` and input errors are instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gankit import __version__
from gankit.errors import GankitError

EXAMPLES_EPILOG = """examples:
  gankit examples                 the notes' worked examples, exact against a density grid
  gankit examples --thetas 0 0.5 2
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 2 on one line, without usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise GankitError(message)


def _cmd_examples(args: argparse.Namespace) -> int:
    from gankit.examples import examples_table

    print(examples_table(args.thetas))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full ``gankit`` argument parser."""
    parser = _Parser(
        prog="gankit",
        description="Train and study GANs and the distances they optimise.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    examples = commands.add_parser(
        "examples",
        help="print the notes' worked examples (shifted uniforms, parallel segments)",
        description=(
            "For each theta, the exact JS, KL, TV and W1 of THEORY.md section 4 next to the "
            "same quantities computed by gankit.divergences on a density grid."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES_EPILOG,
    )
    examples.add_argument(
        "--thetas",
        type=float,
        nargs="+",
        default=None,
        metavar="THETA",
        help="shifts to tabulate (default: -2 -1 -0.5 -0.25 0 0.25 0.5 1 1.5 2)",
    )
    examples.set_defaults(run=_cmd_examples)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gankit`` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return int(args.run(args))
    except GankitError as error:
        print(f"gankit: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
