"""``stepedit variations``: render a grid of variations of one line (levels x presets)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stepedit_app.cli._common import EXIT_OK, UsageError
from stepedit_app.errors import StepEditError

NAME = "variations"
HELP = "render a grid of variations of one line (levels of a control, presets)"


def add_arguments(v: argparse.ArgumentParser) -> None:
    v.add_argument("input", help="audio file (never written)")
    v.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the variations (created)")
    g = v.add_mutually_exclusive_group()
    g.add_argument("--emotion", metavar="NAME", help="the emotion to vary, e.g. angry")
    g.add_argument("--style", metavar="NAME", help="the style to vary, e.g. whisper")
    g.add_argument("--speed", metavar="NAME", help="faster or slower")
    v.add_argument("--levels", metavar="L1,L2,...", help="intensities 0..1 or percentages, e.g. 0.25,0.5,0.75,1 "
                   "(without a control: scale each preset)")
    v.add_argument("--preset", action="append", default=[], metavar="NAME",
                   help="a preset (file name in resources/presets without .json, its display name, or a "
                        "path to a preset file); repeatable: one grid row each")
    v.add_argument("--recipe", metavar="R.json", help="engine, base request and delivery settings (format, rate, "
                   "loudness, trim) for the outputs")
    v.add_argument("--iterations", type=int, help="refinement passes per cell (default: the preset's or 1)")
    v.add_argument("--region", metavar="START:END", help="edit only this span, in seconds")
    v.add_argument("--engine", help="engine name (default: the recipe's, else prosody)")
    v.add_argument("--json", action="store_true", help="print the written files as JSON")
    v.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def _presets(names: list[str]):
    from stepedit_app.session.variations import Preset, load_presets

    shipped = load_presets()
    by_label = {p.label.lower(): p for p in shipped.values()}
    out: list[Preset] = []
    for n in names:
        if n in shipped:
            out.append(shipped[n])
        elif n.lower() in by_label:
            out.append(by_label[n.lower()])
        elif n.endswith(".json") and Path(n).is_file():
            found = load_presets(Path(n).parent)
            out.append(found[Path(n).stem])
        else:
            raise UsageError(f"stepedit variations: --preset {n!r}: unknown (shipped: {', '.join(shipped)})")
    return out


def run(args: argparse.Namespace) -> int:
    from stepedit_app.audio.clip import Region
    from stepedit_app.audio.io import read_clip
    from stepedit_app.session.recipe import Delivery, Recipe, load_recipe
    from stepedit_app.session.session import EditSession
    from stepedit_app.session.variations import (
        VariationProgress,
        VariationTake,
        export_takes,
        parse_levels,
        render_variations,
        variation_grid,
    )

    control = None
    for group in ("emotion", "style", "speed"):
        if getattr(args, group):
            control = (group, getattr(args, group).strip().lower())
    levels = parse_levels(args.levels) if args.levels else []
    if control is not None and not levels:
        raise UsageError(f"stepedit variations: --{control[0]} needs --levels (e.g. --levels 0.25,0.5,0.75,1)")
    recipe = load_recipe(args.recipe) if args.recipe else Recipe(delivery=Delivery(naming="{name}"))
    presets = _presets(args.preset)
    grid = variation_grid(control=control, levels=levels, presets=presets, base=recipe.request,
                          iterations=args.iterations)
    out_dir = Path(args.output)
    clip = read_clip(args.input)
    region = Region.parse(args.region, clip.rate).resolve(clip) if args.region else None
    session = EditSession(clip, args.engine or recipe.engine)
    for v in grid:
        session.engine.capabilities().check_request(v.request)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StepEditError(f"{out_dir}: cannot create the output folder ({exc.strerror})") from None
    show = not args.quiet and sys.stderr.isatty()
    finals = []
    for ev in render_variations(session, grid, region):
        if isinstance(ev, VariationProgress) and show:
            print(f"\r{ev.variation.label}: {ev.overall * 100:5.1f} %  ", end="", file=sys.stderr, flush=True)
        elif isinstance(ev, VariationTake):
            session.takes.add(ev.take)  # the caller publishes takes (the window: on its GUI thread)
            if ev.final:
                finals.append(ev)
    if show:
        print(file=sys.stderr)
    # one file per cell: the template's name plus the cell's slug (unique within the grid)
    base = recipe.delivery.output_name({"name": clip.name, "emotion": recipe.request.slug(), "take": 0,
                                        "iteration": 0, "engine": session.engine.name, "line": 1, "date": ""})
    stem = base[: -len(recipe.delivery.ext)]
    names = {vt.take.id: f"{stem}_{vt.variation.slug}" for vt in finals}
    written = export_takes(clip, [vt.take for vt in finals], recipe.delivery, out_dir, take_list=session.takes,
                           names=names)
    if args.json:
        print(json.dumps([{"variation": vt.variation.label, "path": str(e.path),
                           "loudness_lufs": round(e.report.loudness_lufs, 2),
                           "true_peak_dbtp": round(e.report.true_peak_db, 2),
                           "deltas": {k: (round(x, 3) if x == x else None) for k, x in (vt.take.deltas or {}).items()}}
                          for vt, e in zip(finals, written)], indent=2))
    elif not args.quiet:
        for vt, e in zip(finals, written):
            print(f"{e.path}  ({vt.variation.label})", file=sys.stderr)
    return EXIT_OK
