"""``stepedit engines``: every engine, whether it runs here, and its controls."""

from __future__ import annotations

import argparse
import json

from stepedit_app.cli._common import EXIT_OK

NAME = "engines"
HELP = "list engines, their availability and controls"


def add_arguments(g: argparse.ArgumentParser) -> None:
    g.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from stepedit_app.engines.registry import engine_class, engine_names

    out = []
    for name in engine_names():
        cls = engine_class(name)
        ok, reason = cls.availability()
        caps = cls().capabilities()  # also when unavailable: the vocabulary is worth knowing
        entry = {"name": name, "available": ok, "reason": reason}
        if caps is not None:
            entry.update(caps.to_dict())
        out.append(entry)
    if args.json:
        print(json.dumps(out, indent=2))
        return EXIT_OK
    for e in out:
        state = "available" if e["available"] else f"not available: {e['reason']}"
        print(f"{e['name']} — {state}")
        if e.get("description"):
            print(f"  {e['description']}")
        for key in ("emotions", "styles", "speed"):
            if e.get(key):
                print(f"  {key}: {', '.join(e[key])}")
        if e.get("available"):
            mode = "continuous" if e.get("continuous") else f"stepped ({e.get('intensity_steps')} steps)"
            print(f"  intensity: {mode}; devices: {', '.join(e.get('devices', []))}; transcript: "
                  f"{'required' if e.get('needs_transcript') else 'not needed'}")
    return EXIT_OK
