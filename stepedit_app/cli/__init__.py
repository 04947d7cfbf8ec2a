"""The ``stepedit`` command.

``stepedit`` with no arguments (or with just a file) opens the editor window; subcommands do
the same edits headless, through exactly the session code the window uses.  Each subcommand is
a module of this package with ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``;
:data:`SUBCOMMANDS` lists them in the order ``stepedit --help`` shows them::

    stepedit edit IN -o OUT [--emotion NAME=X ...] [--style NAME=X ...] [--speed NAME=X ...]
                 [--iterations N] [--region START:END] [--engine NAME] [--keep-iterations DIR]
                 [--force]
    stepedit info IN [--json]
    stepedit engines [--json]
    stepedit clone --prompt-audio A [--prompt-text T] --text NEW -o OUT
    stepedit setup step-audio --python PATH --source DIR --models DIR
    stepedit doctor [--load]
    stepedit batch INPUT_DIR|LIST.csv --recipe R.json -o OUT_DIR [--jobs N] [--json] [--ray [ADDRESS]]
    stepedit variations IN -o DIR [--emotion|--style|--speed NAME --levels L,...] [--preset NAME ...]

Every failure is one line on stderr, never a traceback.  Exit status: 0 on success; 2 on a
usage or input error; 1 when the engine fails or returns unusable audio, when the system
refuses a write (disk full, file too large, I/O error) and on an internal error (whose details
are saved to a report file named in the line); 130 on Ctrl-C and 143 on SIGTERM, which stop
the command cleanly (temporary files removed, the line says what was and was not written).

Subcommand modules import their heavy dependencies (numpy, scipy, the engines) inside
``run``, so ``stepedit --help`` and the parser cost no more than argparse.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from stepedit_app import __version__, interrupts
from stepedit_app.cli._common import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    Parser,
    UsageError,
    Written,
    restore_streams,
    safe_streams,
)
from stepedit_app.errors import AudioWriteError, Cancelled, EngineError, ReadOnlyOutputError, StepEditError

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


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _report(kind: str, details: str) -> Path | None:
    """Save ``details`` (a traceback) for a bug report; the path, or None if it cannot be saved."""
    import datetime as _dt

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "stepedit" / "reports"
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{kind}-{stamp}-{os.getpid()}.txt"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(f"stepedit {__version__}\nargv: {sys.argv!r}\n\n{details}", errors="backslashreplace")
    except OSError:
        return None
    return path


def _details_note(kind: str, details: str) -> str:
    if os.environ.get("STEPEDIT_TRACEBACK"):
        print(details, file=sys.stderr, end="" if details.endswith("\n") else "\n")
    path = _report(kind, details)
    return f" (details in {path})" if path is not None else ""


def _gui(argv: list[str]) -> int:
    """No subcommand: the editor window, optionally opening one file (checked here first, so
    a missing file or a folder is one line, not a window with an error dialog)."""
    if argv:
        from stepedit_app.audio.io import _check_path
        from stepedit_app.errors import AudioInputError

        try:
            _check_path(argv[0])
        except AudioInputError as exc:
            if str(exc).endswith(": file not found"):  # perhaps a mistyped subcommand
                _err(f"stepedit: {argv[0]}: no such file (commands: {', '.join(SUBCOMMANDS)}; see stepedit --help)")
            else:
                _err(f"stepedit: {exc}")
            return EXIT_USAGE
    interrupts.uninstall()  # the window handles its own lifetime (and Qt runs outside Python)
    try:
        from stepedit_app.gui.app import run_gui
    except ImportError as exc:
        _err(f"stepedit: the editor window cannot start ({exc}); the subcommands still work")
        return EXIT_USAGE
    return run_gui(argv[0] if argv else None)


def _run(argv: list[str]) -> int:
    # No subcommand: the editor window (optionally opening one file).
    if not argv or (len(argv) == 1 and argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        return _gui(argv)
    written = Written()
    try:
        parser = build_parser()  # imports every subcommand: inside, so an interrupt there is one line
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        args._written = written
        return args._run(args)
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except interrupts.Interrupted as exc:
        _err(f"stepedit: {exc.verb}; {written.note()}")
        return exc.exit_status
    except KeyboardInterrupt:  # the interpreter's own handler (handlers not installed)
        _err(f"stepedit: interrupted; {written.note()}")
        return interrupts.EXIT_SIGINT
    except Cancelled:
        _err(f"stepedit: cancelled; {written.note()}")
        return interrupts.EXIT_SIGINT
    except (EngineError, AudioWriteError) as exc:
        details = getattr(exc, "details", "")
        note = _details_note("engine", details) if details else ""
        tail = f"; {written.note()}" if written.started else ""
        _err(f"stepedit: {exc}{tail}{note}")
        return EXIT_INTERNAL
    except StepEditError as exc:
        hint = " (use --force to replace it)" if isinstance(exc, ReadOnlyOutputError) else ""
        tail = f"; {written.note()}" if written.started else ""
        _err(f"stepedit: {exc}{hint}{tail}")
        return EXIT_USAGE
    except BrokenPipeError:
        # stdout closed early (``stepedit engines | head -1``): not an error; keep Python from
        # complaining again when it flushes stdout at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_OK
    except MemoryError:
        tail = f"; {written.note()}" if written.started else ""
        _err(f"stepedit: out of memory{tail}")
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - a bug: one line, details saved for the report
        import traceback

        text = " ".join(str(exc).split()) or "no message"
        note = _details_note("internal-error", traceback.format_exc())
        tail = f"; {written.note()}" if written.started else ""
        _err(f"stepedit: internal error ({type(exc).__name__}: {text}){tail}; please report it{note}")
        return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    With ``argv`` None (the real command) SIGINT and SIGTERM stop the command cleanly and stay
    ignored once it has finished; with an explicit ``argv`` (in-process use, tests) the
    previous signal handlers and stream settings are restored on return.
    """
    in_process = argv is not None
    argv = list(sys.argv[1:] if argv is None else argv)
    saved = safe_streams(sys.stdout, sys.stderr)
    interrupts.install()
    try:
        return _run(argv)
    finally:
        if in_process:
            interrupts.uninstall()
            restore_streams(saved)
        else:
            interrupts.disarm()
