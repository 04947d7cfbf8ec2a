"""What every subcommand shares: exit codes, the one-line usage-error parser, safe output text
and the record of what a command wrote."""

from __future__ import annotations

import argparse
import codecs
import os
from pathlib import Path

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line usage error: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


# --- output that never fails on encoding ------------------------------------------------------

#: Typographic characters the commands print, and what a terminal that cannot show them gets.
_ASCII = {"—": "-", "–": "-", "…": "...", "×": "x", "≤": "<=", "≥": ">=", "·": "-", "−": "-", "°": " deg"}

SAFE_ERRORS = "stepedit.safe"


def _safe_errors(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler for stdout/stderr: ASCII look-alikes for typography, ``\\xNN`` for
    the undecodable bytes of a file name (surrogate escapes, as ``ls -b`` shows them), and
    backslash escapes for anything else the terminal's encoding cannot show."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start : exc.end]:
        o = ord(ch)
        if ch in _ASCII:
            out.append(_ASCII[ch])
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif o <= 0xFF:
            out.append(f"\\x{o:02x}")
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    return "".join(out), exc.end


codecs.register_error(SAFE_ERRORS, _safe_errors)


def safe_streams(*streams) -> list[tuple[object, str | None]]:  # noqa: ANN002
    """Make ``streams`` (text files) degrade instead of raising on characters their encoding
    lacks (``PYTHONIOENCODING=ascii``, a C locale, a file name that is not UTF-8).  Returns
    what :func:`restore_streams` needs."""
    saved = []
    for s in streams:
        reconfigure = getattr(s, "reconfigure", None)
        if reconfigure is None:
            continue
        saved.append((s, getattr(s, "errors", None)))
        try:
            reconfigure(errors=SAFE_ERRORS)
        except (ValueError, OSError, AttributeError):  # a closed or unusual stream
            saved.pop()
    return saved


def restore_streams(saved: list[tuple[object, str | None]]) -> None:
    for s, errors in saved:
        try:
            s.reconfigure(errors=errors or "strict")  # type: ignore[attr-defined]
        except (ValueError, OSError, AttributeError):
            pass


# --- what a command wrote ---------------------------------------------------------------------


class Written:
    """The files a command has written so far, for messages that say exactly what was and was
    not written when it stops part way."""

    def __init__(self) -> None:
        self.files: list[Path] = []
        #: Set once the command has started work whose failure could leave files behind.
        self.started = False
        #: The final output, if any (named as "not written" when the command stops before it).
        self.output: Path | None = None

    def add(self, path: Path) -> None:
        self.files.append(path)

    def note(self) -> str:
        """``nothing was written`` or e.g. ``wrote it/a_it1.wav and it/a_it2.wav; out.wav was not
        written``."""
        if not self.files:
            return "nothing was written"
        if len(self.files) <= 3:
            names = [str(p) for p in self.files]
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        else:
            folders = {str(p.parent) for p in self.files}
            where = f" in {folders.pop()}" if len(folders) == 1 else ""
            listed = f"{len(self.files)} files{where}"
        done = self.output is not None and any(os.fspath(p) == os.fspath(self.output) for p in self.files)
        if self.output is not None and not done:
            return f"wrote {listed}; {self.output} was not written"
        return f"wrote {listed}"
