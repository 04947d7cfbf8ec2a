"""The ``stepedit`` command.

``stepedit`` with no arguments (or with just a file) opens the editor window; subcommands do
the same edits headless, through exactly the session code the window uses.  Each subcommand is
a module of this package with ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``;
:data:`SUBCOMMANDS` lists them in the order ``stepedit --help`` shows them::

    stepedit edit IN -o OUT [--emotion NAME=X ...] [--style NAME=X ...] [--speed NAME=X ...]
                 [--iterations N] [--region START:END] [--engine NAME] [--keep-iterations DIR]
    stepedit info IN [--json]
    stepedit engines [--json]
    stepedit clone --prompt-audio A [--prompt-text T] --text NEW -o OUT
    stepedit setup step-audio --python PATH --source DIR --models DIR
    stepedit doctor [--load]
    stepedit batch INPUT_DIR|LIST.csv --recipe R.json -o OUT_DIR [--jobs N] [--json] [--ray [ADDRESS]]
    stepedit variations IN -o DIR [--emotion|--style|--speed NAME --levels L,...] [--preset NAME ...]

Exit status: 0 on success, 2 on a usage or input error (one line on stderr, never a
traceback), 1 when an engine fails (one line) or on an internal error (with the details, so it
can be reported), 130 when interrupted.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from stepedit_app import __version__
from stepedit_app.cli._common import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, Parser, UsageError
from stepedit_app.errors import Cancelled, EngineError, StepEditError

#: Subcommand modules (``stepedit_app.cli.<module>``), in help order.
SUBCOMMANDS: tuple[str, ...] = ("edit", "info", "engines", "batch", "variations", "clone", "setup", "doctor")


def _modules():
    return [importlib.import_module(f"stepedit_app.cli.{m}") for m in SUBCOMMANDS]


def build_parser() -> Parser:
    p = Parser(prog="stepedit", description="Expressive voice editor (no subcommand: open the window).")
    p.add_argument("--version", action="version", version=f"stepedit {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for mod in _modules():
        sp = sub.add_parser(mod.NAME, help=mod.HELP)
        mod.add_arguments(sp)
        sp.set_defaults(_run=mod.run)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # No subcommand: the editor window (optionally opening one file).
    if not argv or (len(argv) == 1 and argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        if argv and not Path(argv[0]).exists():
            print(f"stepedit: {argv[0]}: no such file (commands: {', '.join(SUBCOMMANDS)}; see stepedit --help)", file=sys.stderr)
            return EXIT_USAGE
        try:
            from stepedit_app.gui.app import run_gui
        except ImportError as exc:
            print(f"stepedit: the editor window cannot start ({exc}); the subcommands still work", file=sys.stderr)
            return EXIT_USAGE
        return run_gui(argv[0] if argv else None)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return args._run(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except EngineError as exc:  # the engine failed (not the user's input): exit 1
        print(f"stepedit: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except StepEditError as exc:
        print(f"stepedit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Cancelled:
        print("stepedit: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\nstepedit: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception:  # noqa: BLE001 - a bug: report it with details for the issue tracker
        import traceback

        print("stepedit: internal error (please report this):", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL
