"""What every subcommand shares: exit codes and the one-line usage-error parser."""

from __future__ import annotations

import argparse

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line usage error: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")
