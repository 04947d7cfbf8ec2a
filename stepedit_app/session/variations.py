"""Variations of one line (a grid of levels and presets) and exporting takes through a recipe's
delivery settings.

The window's "Render variations" and ``stepedit variations`` both iterate
:func:`render_variations`, which runs the session once per grid cell and names each take by
its cell ("angry 50%", "Battle shout · angry 50%").  "Export starred" is
:func:`export_starred`: every starred take through trim, resampling, loudness with the
true-peak limiter and dither, named by the recipe's template.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stepedit_app.audio.clip import Clip, Region
from stepedit_app.audio.delivery import DeliveryReport, deliver
from stepedit_app.audio.io import write_clip
from stepedit_app.engines.base import CancelToken
from stepedit_app.engines.controls import GROUPS, EditRequest
from stepedit_app.errors import RequestError, StepEditError
from stepedit_app.session.recipe import Delivery
from stepedit_app.session.session import EditSession, Progress, RenderCancelled, RenderConverged, TakeReady
from stepedit_app.session.takes import Take, TakeList

#: The presets shipped with StepEdit.
PRESETS_DIR = Path(__file__).resolve().parents[2] / "resources" / "presets"
_ATTR = {"emotion": "emotions", "style": "styles", "speed": "speed"}


@dataclass(frozen=True)
class Preset:
    """A named request from a preset file."""

    key: str  # file stem, what ``--preset`` takes
    label: str
    request: EditRequest


@dataclass(frozen=True)
class Variation:
    """One cell of a grid: a label for the take list, a slug for file names, the request."""

    label: str
    slug: str
    request: EditRequest
    preset: str | None = None
    level: float | None = None


def load_presets(folder: str | os.PathLike | None = None) -> dict[str, Preset]:
    """Every preset (``*.json`` with ``name`` and ``request``) in ``folder``, by file stem."""
    d = Path(folder) if folder is not None else PRESETS_DIR
    out: dict[str, Preset] = {}
    for p in sorted(d.glob("*.json")):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            out[p.stem] = Preset(p.stem, str(data.get("name") or p.stem), EditRequest.from_dict(data["request"]))
        except (OSError, ValueError, KeyError, TypeError, StepEditError) as exc:
            raise StepEditError(f"{p}: not a usable preset ({exc})") from None
    return out


def parse_levels(text: str) -> list[float]:
    """``0.25,0.5,75%,1`` -> ``[0.25, 0.5, 0.75, 1.0]`` (0..1 or percentages, no repeats)."""
    levels: list[float] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            v = float(part[:-1]) / 100 if part.endswith("%") else float(part)
        except ValueError:
            raise RequestError(f"--levels: {part!r} is not a number (0..1 or a percentage)") from None
        if not 0.0 <= v <= 1.0:
            raise RequestError(f"--levels: {part} out of range (0..1)")
        if v in levels:
            raise RequestError(f"--levels: {part} given twice")
        levels.append(v)
    if not levels:
        raise RequestError("--levels: no level given (e.g. 0.25,0.5,0.75,1)")
    return levels


def _with(request: EditRequest, group: str, name: str, level: float, iterations: int | None) -> EditRequest:
    d = request.to_dict()
    d[_ATTR[group]] = {**d.get(_ATTR[group], {}), name: level}
    if iterations is not None:
        d["iterations"] = iterations
    return EditRequest.from_dict(d)


def _scaled(request: EditRequest, level: float, iterations: int | None) -> EditRequest:
    d = request.to_dict()
    for attr in ("emotions", "styles", "speed"):
        d[attr] = {k: v * level for k, v in d.get(attr, {}).items()}
    if iterations is not None:
        d["iterations"] = iterations
    return EditRequest.from_dict(d)


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "_", text.lower()).strip("_")


def variation_grid(
    *,
    control: tuple[str, str] | None = None,
    levels: Sequence[float] = (),
    presets: Sequence[Preset] = (),
    base: EditRequest | None = None,
    iterations: int | None = None,
) -> list[Variation]:
    """The cells of a variations grid.

    Parameters
    ----------
    control
        ``(group, name)`` to vary, e.g. ``("emotion", "angry")``; set to each of ``levels`` on
        top of the base request (or of each preset).
    levels
        Intensities 0..1.  Without ``control`` they scale every intensity of each preset.
    presets
        Rows of the grid; without presets there is one row, the ``base`` request.
    iterations
        Overrides the iterations of the base / presets.

    Raises
    ------
    RequestError
        For an unknown control name or an empty grid.
    """
    if control is not None:
        group, name = control
        if group not in GROUPS or name not in GROUPS[group]:
            allowed = ", ".join(GROUPS.get(group, ()))
            raise RequestError(f"--{group} {name!r}: unknown (allowed: {allowed})")
    rows: list[tuple[Preset | None, EditRequest]] = [(p, p.request) for p in presets] or [(None, base or EditRequest())]
    cells: list[Variation] = []
    for preset, req in rows:
        plabel = preset.label if preset else ""
        pslug = _slug(preset.key) if preset else ""
        if control is not None and levels:
            for lv in levels:
                r = _with(req, *control, lv, iterations)
                text = f"{control[1]} {round(lv * 100)}%"
                cells.append(Variation(f"{plabel} · {text}" if plabel else text,
                                       "_".join(x for x in (pslug, f"{control[1]}{round(lv * 100)}") if x),
                                       r, preset.key if preset else None, lv))
        elif levels and preset is not None:
            for lv in levels:
                cells.append(Variation(f"{plabel} {round(lv * 100)}%", f"{pslug}{round(lv * 100)}",
                                       _scaled(req, lv, iterations), preset.key, lv))
        elif preset is not None:
            r = req if iterations is None else req.with_iterations(iterations)
            cells.append(Variation(plabel, pslug, r, preset.key, None))
    if not cells:
        raise RequestError("nothing to vary: give a control with --levels, or one or more presets")
    return cells


@dataclass(frozen=True)
class VariationProgress:
    """Progress of cell ``index`` (1-based) of ``total``."""

    index: int
    total: int
    variation: Variation
    progress: Progress

    @property
    def overall(self) -> float:
        return min(1.0, (self.index - 1 + self.progress.overall) / self.total)


@dataclass(frozen=True)
class VariationTake:
    """A finished take of a cell (named by the cell); ``final`` for the cell's last iteration."""

    variation: Variation
    take: Take
    final: bool


def render_variations(
    session: EditSession,
    variations: Sequence[Variation],
    region: Region | None = None,
    cancel: CancelToken | None = None,
) -> Generator[VariationProgress | VariationTake | RenderCancelled, None, list[VariationTake]]:
    """Render every cell in turn on ``session``; yields progress and named takes.

    Takes are named after their cell (``angry 50%``; ``angry 50% · it 2/3`` for earlier
    iterations) so the take list reads as the grid.  Stops after a cancelled cell (its
    finished iterations are kept).  Returns the cells' final takes.  Like
    :meth:`EditSession.render`, it publishes nothing: the caller adds each take to the session's
    take list (the window on its GUI thread, the command line as it goes).
    """
    cancel = cancel or CancelToken()
    finals: list[VariationTake] = []

    def named(v: Variation, take: Take, final: bool) -> VariationTake:
        take.name = v.label if final else f"{v.label} · it {take.iteration}/{take.iterations}"
        vt = VariationTake(v, take, final)
        if final:
            finals.append(vt)
        return vt

    for i, v in enumerate(variations, 1):
        # A take is held until the next event says whether it is the cell's result: the last
        # iteration, or the one a render converged at (the next could not improve on it).
        held: Take | None = None
        for ev in session.render(v.request, region, cancel):
            if isinstance(ev, Progress):
                yield VariationProgress(i, len(variations), v, ev)
            elif isinstance(ev, TakeReady):
                if held is not None:
                    yield named(v, held, False)
                held = ev.take
                if held.iteration == held.iterations:
                    yield named(v, held, True)
                    held = None
            elif isinstance(ev, RenderConverged):
                if held is not None:
                    yield named(v, held, True)
                    held = None
            elif isinstance(ev, RenderCancelled):
                if held is not None:
                    yield named(v, held, False)
                yield ev
                return finals
        if held is not None:  # (a render that ended without a last iteration or a verdict)
            yield named(v, held, True)
    return finals


@dataclass(frozen=True)
class Exported:
    take: Take
    path: Path
    report: DeliveryReport


def _targets(source: Clip, takes: Sequence[Take], delivery: Delivery, folder: Path,
             names: dict[int, str] | None) -> list[Path]:
    today = _dt.date.today().isoformat()
    targets: list[Path] = []
    for t in takes:
        if names and t.id in names:
            fn = names[t.id] + delivery.ext
        else:
            fn = delivery.output_name({"name": source.name, "emotion": t.request.slug(), "take": t.id,
                                       "iteration": t.iteration, "engine": t.engine, "line": 1, "date": today})
        if folder / fn in targets:
            raise StepEditError(f"two takes would be written to {fn}; add {{take}} to the file-name template")
        targets.append(folder / fn)
    return targets


def export_targets(source: Clip, takes: Iterable[Take], delivery: Delivery, folder: str | os.PathLike,
                   names: dict[int, str] | None = None) -> list[Path]:
    """The files :func:`export_takes` would write, in order (nothing is written).

    Raises
    ------
    StepEditError
        When two takes would get one name (the template lacks ``{take}``).
    """
    return _targets(source, list(takes), delivery, Path(folder), names)


def iter_export_takes(
    source: Clip,
    takes: Iterable[Take],
    delivery: Delivery,
    folder: str | os.PathLike,
    *,
    names: dict[int, str] | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Exported, None, list[Exported]]:
    """:func:`export_takes` as a generator: yields each :class:`Exported` as its file is
    written (the window runs it on a worker and marks the takes exported on its own thread;
    a cancel is honoured between files).  Every name is checked before anything is written.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise StepEditError(f"{folder}: export folder does not exist")
    takes = list(takes)
    targets = _targets(source, takes, delivery, folder, names)
    spec = delivery.spec()
    protect = (source.path,) if source.path is not None else ()
    done: list[Exported] = []
    for t, target in zip(takes, targets):
        if cancel is not None:
            cancel.check()
        clip = t.full(source) if delivery.scope == "full" else t.segment
        out, report = deliver(clip, spec, seed=t.id)
        write_clip(out, target, delivery.subtype, protect=protect)
        e = Exported(t, target, report)
        done.append(e)
        yield e
    return done


def export_takes(
    source: Clip,
    takes: Iterable[Take],
    delivery: Delivery,
    folder: str | os.PathLike,
    *,
    take_list: TakeList | None = None,
    names: dict[int, str] | None = None,
) -> list[Exported]:
    """Write ``takes`` through ``delivery`` (trim, rate, loudness + limiter, dither, pads).

    File names come from ``delivery.naming`` (``{name}`` the source's, ``{emotion}`` the take's
    request, ``{take}``, ``{iteration}``, ``{engine}``, ``{date}``) unless ``names`` gives a
    take id's name (without extension).  Two takes that would get one name are refused before
    anything is written.  With ``take_list`` each take is marked exported.
    """
    done: list[Exported] = []
    for e in iter_export_takes(source, takes, delivery, folder, names=names):
        if take_list is not None:
            take_list.mark_exported(e.take)
        done.append(e)
    return done


def export_starred(source: Clip, take_list: TakeList, delivery: Delivery, folder: str | os.PathLike) -> list[Exported]:
    """"Export starred": every starred take of ``take_list`` through ``delivery``."""
    starred = [t for t in take_list if t.starred]
    if not starred:
        raise StepEditError("no starred takes to export (star takes with S)")
    return export_takes(source, starred, delivery, folder, take_list=take_list)
