"""``stepedit doctor``: check the GPU engine's setup piece by piece, one line each.

Checks, in order: the configuration; the interpreter (runs, and is a Python the upstream
generation installs on); the source (official modules present, generation, commit against the
supported ones); the official modules importing in the model environment (the worker's probe);
the installed packages that are known to matter; CUDA and its memory; the weight files; the
options against the generation.  ``--load`` also starts the worker and loads the model.  Every
failure has a hint.  Exit status 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json

from stepedit_app.cli._common import EXIT_INTERNAL, EXIT_OK

NAME = "doctor"
HELP = "check the GPU engine (Step-Audio-EditX) setup, one line per piece"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--load", action="store_true", help="also start the worker and load the model (slow)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from stepedit_app.engines.step_audio.doctor import checks, supported_line

    result = checks(load=args.load)
    failed = any(c.status == "FAIL" for c in result)
    if args.json:
        print(json.dumps({"ok": not failed, "supported": supported_line(),
                          "checks": [c.__dict__ for c in result]}, indent=2))
        return EXIT_INTERNAL if failed else EXIT_OK
    print("Step-Audio-EditX (engine step-audio-editx)")
    for c in result:
        print(f"  {c.status:<5} {c.name}: {c.detail}")
        if c.hint and c.status in ("FAIL", "warn"):
            print(f"        hint: {c.hint}")
    print(supported_line())
    if failed:
        print("the GPU engine is not ready; the embedded engine (prosody) works without it")
    return EXIT_INTERNAL if failed else EXIT_OK
