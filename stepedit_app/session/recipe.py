"""Recipes: an edit and a delivery spec in one JSON file, for the batch, the variations grid
and the window ("Save recipe" / "Use recipe").

A recipe file looks like this (every field but ``schema`` and ``version`` may be left out)::

    {
      "schema": "stepedit-recipe",
      "version": 1,
      "name": "Guards, angry",
      "engine": "prosody",
      "request": {"emotions": {"angry": 0.5}, "styles": {}, "speed": {},
                  "iterations": 2, "keep_duration": false},
      "delivery": {
        "preset": "aswg-console",            # fills lufs, true_peak, tolerance
        "format": "wav", "bit_depth": 24, "sample_rate": 48000,
        "lufs": -24, "true_peak": -1, "tolerance": 2,
        "trim": {"head": true, "tail": true, "threshold_db": -60},
        "pad": {"head_ms": 20, "tail_ms": 100},
        "dither": "tpdf",
        "scope": "full",
        "naming": "{name}_{emotion}"
      }
    }

Every problem is one line that names the file and the field, e.g.
``recipe.json: delivery.lufs: -70 out of range (-40..-5)``.  Explicit values win over the
preset's.  Saving is atomic (temporary file in the target folder, then rename).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import os
import re
import string
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stepedit_app.audio.delivery import (
    BIT_DEPTHS,
    DITHERS,
    LUFS_RANGE,
    PRESETS,
    SAMPLE_RATES,
    TRUE_PEAK_RANGE,
    DeliverySpec,
)
from stepedit_app.engines.controls import GROUPS, EditRequest
from stepedit_app.engines.registry import engine_names
from stepedit_app.errors import StepEditError

SCHEMA = "stepedit-recipe"
SCHEMA_VERSION = 1
FORMATS = {"wav": ".wav", "flac": ".flac"}
SCOPES = ("full", "region")
#: Fields a naming template may use.  ``line`` is the batch line number (1 outside a batch),
#: ``take`` the take number in the window (the iteration in a batch).
NAMING_FIELDS = ("name", "emotion", "iteration", "engine", "date", "line", "take")
DEFAULT_NAMING = "{name}_{emotion}"
TOLERANCE_RANGE = (0.1, 6.0)
THRESHOLD_RANGE = (-90.0, -20.0)
PAD_MS_RANGE = (0.0, 10000.0)
_REQUEST_KEYS = ("emotions", "styles", "speed", "iterations", "keep_duration", "seed", "transcript")


class RecipeError(StepEditError):
    """A recipe file or value that cannot be used; the message names the field."""


def _supports_keep_duration() -> bool:
    return "keep_duration" in {f.name for f in dataclasses.fields(EditRequest)}


@dataclass(frozen=True)
class Delivery:
    """How a recipe's outputs are written: format, rate, loudness, trim/pad, naming."""

    format: str = "wav"
    bit_depth: str = "24"  # "16", "24" or "float"
    sample_rate: int | None = None
    preset: str | None = None
    lufs: float | None = None
    true_peak_db: float = -1.0
    tolerance_lu: float = 0.5
    trim_head: bool = False
    trim_tail: bool = False
    trim_threshold_db: float = -60.0
    head_pad_ms: float = 0.0
    tail_pad_ms: float = 0.0
    dither: str = "tpdf"
    scope: str = "full"
    naming: str = DEFAULT_NAMING

    @property
    def ext(self) -> str:
        return FORMATS[self.format]

    @property
    def subtype(self) -> str:
        return BIT_DEPTHS[self.bit_depth]

    def spec(self) -> DeliverySpec:
        """The audio part, for :func:`stepedit_app.audio.delivery.deliver`."""
        return DeliverySpec(
            sample_rate=self.sample_rate,
            subtype=self.subtype,
            lufs=self.lufs,
            true_peak_db=self.true_peak_db,
            tolerance_lu=self.tolerance_lu,
            trim_head=self.trim_head,
            trim_tail=self.trim_tail,
            trim_threshold_db=self.trim_threshold_db,
            head_pad_s=self.head_pad_ms / 1000.0,
            tail_pad_s=self.tail_pad_ms / 1000.0,
            dither=self.dither,
        )

    def output_name(self, values: Mapping[str, object]) -> str:
        """File name from :attr:`naming` with ``values`` for its fields, plus the extension."""
        return render_naming(self.naming, values) + self.ext

    def to_dict(self) -> dict:
        return {
            "preset": self.preset,
            "format": self.format,
            "bit_depth": self.bit_depth if self.bit_depth == "float" else int(self.bit_depth),
            "sample_rate": self.sample_rate,
            "lufs": self.lufs,
            "true_peak": self.true_peak_db,
            "tolerance": self.tolerance_lu,
            "trim": {"head": self.trim_head, "tail": self.trim_tail, "threshold_db": self.trim_threshold_db},
            "pad": {"head_ms": self.head_pad_ms, "tail_ms": self.tail_pad_ms},
            "dither": self.dither,
            "scope": self.scope,
            "naming": self.naming,
        }


@dataclass(frozen=True)
class Recipe:
    """An engine, an edit request and a delivery spec."""

    request: EditRequest = field(default_factory=EditRequest)
    engine: str = "prosody"
    delivery: Delivery = field(default_factory=Delivery)
    name: str = ""
    #: Keep the edited line's duration (tempo changes inside it, total length unchanged).  Passed
    #: to the engine through :class:`EditRequest` where it supports the option.
    keep_duration: bool = False

    def to_dict(self) -> dict:
        req = self.request.to_dict()
        req.pop("transcript", None)  # per line, not per recipe
        req["keep_duration"] = self.keep_duration
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "name": self.name,
            "engine": self.engine,
            "request": req,
            "delivery": self.delivery.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def digest(self) -> str:
        """Hash of everything that shapes the output (not the recipe's name)."""
        d = self.to_dict()
        d.pop("name")
        text = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def request_for(self, overrides: Mapping[str, Mapping[str, float]] | None = None,
                    transcript: str | None = None) -> EditRequest:
        """The recipe's request with per-line slider ``overrides`` (``{"emotions": {"angry":
        0.8}}``; 0 turns a control off) and a transcript."""
        d = self.request.to_dict()
        for group, values in (overrides or {}).items():
            merged = dict(d.get(group, {}))
            merged.update(values)
            d[group] = merged
        if transcript:
            d["transcript"] = transcript
        return make_request(d, self.keep_duration)


def make_request(d: Mapping, keep_duration: bool = False) -> EditRequest:
    """An :class:`EditRequest` from a dict, with ``keep_duration`` where the request has it."""
    d = dict(d)
    d.pop("keep_duration", None)
    req = EditRequest.from_dict(d)
    if keep_duration:
        if not _supports_keep_duration():
            raise RecipeError("request.keep_duration: this version of StepEdit's engines cannot keep the duration yet")
        req = dataclasses.replace(req, keep_duration=True)
    return req


def render_naming(template: str, values: Mapping[str, object]) -> str:
    """Format a naming template; characters unsafe in file names become ``_``."""
    check_naming(template)
    out = template.format(**{k: str(values.get(k, "")) for k in NAMING_FIELDS})
    return re.sub(r"[^\w.\-+ ]", "_", out).strip(" .") or "output"


def check_naming(template: str, where: str = "delivery.naming") -> None:
    """Raise :class:`RecipeError` for a template that does not parse or names unknown fields."""
    if not isinstance(template, str) or not template.strip():
        raise RecipeError(f"{where}: expected a non-empty file-name template such as {DEFAULT_NAMING!r}")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise RecipeError(f"{where}: {template!r} does not parse ({exc})") from None
    allowed = ", ".join("{" + x + "}" for x in NAMING_FIELDS)
    for f in fields:
        if f not in NAMING_FIELDS:
            raise RecipeError(f"{where}: unknown field {{{f}}} (allowed: {allowed})")


# --- parsing and validation -----------------------------------------------------------------


def _unknown(where: str, d: Mapping, allowed: tuple[str, ...]) -> None:
    extra = [k for k in d if k not in allowed]
    if extra:
        k = extra[0]
        close = difflib.get_close_matches(str(k), allowed, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        prefix = f"{where}." if where else ""
        raise RecipeError(f"{prefix}{k}: unknown field ({hint}allowed: {', '.join(allowed)})")


def _obj(where: str, v: object) -> Mapping:
    if not isinstance(v, Mapping):
        raise RecipeError(f"{where}: expected a JSON object, got {json.dumps(v)}")
    return v


def _num(where: str, v: object, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise RecipeError(f"{where}: {json.dumps(v)} is not a number ({lo:g}..{hi:g})")
    if not lo <= v <= hi:
        raise RecipeError(f"{where}: {v:g} out of range ({lo:g}..{hi:g})")
    return float(v)


def _bool(where: str, v: object) -> bool:
    if not isinstance(v, bool):
        raise RecipeError(f"{where}: {json.dumps(v)} is not true or false")
    return v


def _choice(where: str, v: object, allowed: tuple[str, ...]) -> str:
    s = str(v).lower() if isinstance(v, str | int) and not isinstance(v, bool) else None
    if s not in allowed:
        raise RecipeError(f"{where}: {json.dumps(v)} is not one of {', '.join(allowed)}")
    return s


def parse_delivery(d: Mapping) -> Delivery:
    """A :class:`Delivery` from the ``delivery`` object of a recipe (field names as in JSON)."""
    d = _obj("delivery", d)
    _unknown("delivery", d, ("preset", "format", "bit_depth", "sample_rate", "lufs", "true_peak", "tolerance",
                             "trim", "pad", "dither", "scope", "naming"))
    kw: dict = {}
    preset = d.get("preset")
    if preset is not None:
        preset = _choice("delivery.preset", preset, tuple(PRESETS))
        p = PRESETS[preset]
        kw.update(preset=preset, lufs=p.lufs, true_peak_db=p.true_peak_db, tolerance_lu=p.tolerance_lu)
    if "format" in d:
        kw["format"] = _choice("delivery.format", d["format"], tuple(FORMATS))
    if "bit_depth" in d:
        kw["bit_depth"] = _choice("delivery.bit_depth", d["bit_depth"], tuple(BIT_DEPTHS))
    if kw.get("format") == "flac" and kw.get("bit_depth") == "float":
        raise RecipeError("delivery.bit_depth: FLAC cannot hold float samples (allowed: 16, 24)")
    if d.get("sample_rate") is not None:
        sr = d["sample_rate"]
        if isinstance(sr, bool) or not isinstance(sr, int) or sr not in SAMPLE_RATES:
            raise RecipeError(f"delivery.sample_rate: {json.dumps(sr)} is not a supported rate "
                              f"({', '.join(str(r) for r in SAMPLE_RATES)}, or null to keep the input's)")
        kw["sample_rate"] = sr
    if "lufs" in d:
        kw["lufs"] = None if d["lufs"] is None else _num("delivery.lufs", d["lufs"], *LUFS_RANGE)
    if "true_peak" in d:
        kw["true_peak_db"] = _num("delivery.true_peak", d["true_peak"], *TRUE_PEAK_RANGE)
    if "tolerance" in d:
        kw["tolerance_lu"] = _num("delivery.tolerance", d["tolerance"], *TOLERANCE_RANGE)
    if "trim" in d:
        t = _obj("delivery.trim", d["trim"])
        _unknown("delivery.trim", t, ("head", "tail", "threshold_db"))
        if "head" in t:
            kw["trim_head"] = _bool("delivery.trim.head", t["head"])
        if "tail" in t:
            kw["trim_tail"] = _bool("delivery.trim.tail", t["tail"])
        if "threshold_db" in t:
            kw["trim_threshold_db"] = _num("delivery.trim.threshold_db", t["threshold_db"], *THRESHOLD_RANGE)
    if "pad" in d:
        p = _obj("delivery.pad", d["pad"])
        _unknown("delivery.pad", p, ("head_ms", "tail_ms"))
        if "head_ms" in p:
            kw["head_pad_ms"] = _num("delivery.pad.head_ms", p["head_ms"], *PAD_MS_RANGE)
        if "tail_ms" in p:
            kw["tail_pad_ms"] = _num("delivery.pad.tail_ms", p["tail_ms"], *PAD_MS_RANGE)
    if "dither" in d:
        kw["dither"] = _choice("delivery.dither", d["dither"], DITHERS)
    if "scope" in d:
        kw["scope"] = _choice("delivery.scope", d["scope"], SCOPES)
    if "naming" in d:
        check_naming(d["naming"])
        kw["naming"] = d["naming"]
    return Delivery(**kw)


def recipe_from_dict(d: object) -> Recipe:
    """Validate and build a :class:`Recipe`; errors name the field (no file prefix)."""
    d = _obj("recipe", d)
    _unknown("", d, ("schema", "version", "name", "engine", "request", "delivery"))
    if d.get("schema") != SCHEMA:
        raise RecipeError(f"schema: expected {SCHEMA!r}, got {json.dumps(d.get('schema'))} (is this a StepEdit recipe?)")
    v = d.get("version")
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise RecipeError(f"version: {json.dumps(v)} is not a schema version (this StepEdit reads {SCHEMA_VERSION})")
    if v > SCHEMA_VERSION:
        raise RecipeError(f"version: {v} is newer than this StepEdit understands ({SCHEMA_VERSION}); update StepEdit")
    name = d.get("name", "")
    if not isinstance(name, str):
        raise RecipeError(f"name: {json.dumps(name)} is not text")
    engine = d.get("engine", "prosody")
    if engine not in engine_names():
        raise RecipeError(f"engine: {json.dumps(engine)} is unknown (allowed: {', '.join(engine_names())})")
    req = _obj("request", d.get("request", {}))
    _unknown("request", req, _REQUEST_KEYS[:-1])
    keep = _bool("request.keep_duration", req.get("keep_duration", False))
    try:
        request = make_request(req, keep)
    except RecipeError:
        raise
    except StepEditError as exc:
        raise RecipeError(f"request.{exc}") from None
    delivery = parse_delivery(d.get("delivery", {}))
    return Recipe(request=request, engine=engine, delivery=delivery, name=name, keep_duration=keep)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and validate a recipe file.

    Raises
    ------
    RecipeError
        One line: ``recipe.json: delivery.lufs: -70 out of range (-40..-5)``.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"{p}: recipe not found") from None
    except IsADirectoryError:
        raise RecipeError(f"{p}: is a folder, not a recipe file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{p}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecipeError(f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    try:
        return recipe_from_dict(data)
    except RecipeError as exc:
        raise RecipeError(f"{p}: {exc}") from None


def save_recipe(recipe: Recipe, path: str | os.PathLike) -> Path:
    """Write ``recipe`` as JSON atomically (temporary file in the folder, then rename)."""
    p = Path(path)
    write_text_atomic(p, recipe.to_json())
    return p


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically and durably (no temporary file left behind)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise RecipeError(f"{path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise RecipeError(f"{path}: cannot write in {folder} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise RecipeError(f"{path}: could not be written ({exc.strerror or exc})") from None
        raise


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def recipe_from_export(
    request: EditRequest,
    *,
    engine: str = "prosody",
    ext: str = ".wav",
    subtype: str | None = "PCM_24",
    scope: str = "full",
    lufs: float | None = None,
    true_peak_db: float = -1.0,
    template: str = DEFAULT_NAMING,
    name: str = "",
    keep_duration: bool = False,
) -> Recipe:
    """A recipe from the window's current sliders and export settings ("Save recipe").

    ``ext``, ``subtype``, ``scope``, ``lufs``, ``true_peak_db`` and ``template`` are the export
    dialog's settings.  The template's ``{take}`` field is kept (it is the iteration in a
    batch).  Raises :class:`RecipeError` for settings a recipe cannot hold.
    """
    fmt = ext.lower().lstrip(".")
    depth = {"PCM_16": 16, "PCM_24": 24, "FLOAT": "float", None: 24}.get(subtype, subtype)
    d = {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "name": name,
        "engine": engine,
        "request": {**{k: v for k, v in request.to_dict().items() if k != "transcript"},
                    "keep_duration": keep_duration},
        "delivery": {"format": fmt, "bit_depth": depth, "lufs": lufs, "true_peak": true_peak_db,
                     "scope": scope, "naming": template},
    }
    return recipe_from_dict(d)


def parse_overrides(columns: Mapping[str, str], where: str) -> dict[str, dict[str, float]]:
    """Per-line slider overrides from CSV cells named ``emotions.NAME``, ``styles.NAME`` or
    ``speed.NAME`` (empty cells: no override).  Values 0..1 or percentages (``60%``)."""
    out: dict[str, dict[str, float]] = {}
    groups = {"emotions": "emotion", "styles": "style", "speed": "speed"}
    for col, cell in columns.items():
        cell = (cell or "").strip()
        if not cell or col.startswith("#"):  # empty: no override; '#...': a note column
            continue
        group, _, name = col.partition(".")
        if group not in groups or not name:
            raise RecipeError(f"{where}: column {col!r}: expected emotions.NAME, styles.NAME or speed.NAME")
        if name not in GROUPS[groups[group]]:
            close = difflib.get_close_matches(name, GROUPS[groups[group]], n=1)
            hint = f" (did you mean {group}.{close[0]}?)" if close else ""
            raise RecipeError(f"{where}: column {col!r}: unknown {groups[group]} {name!r}{hint}")
        try:
            v = float(cell[:-1]) / 100 if cell.endswith("%") else float(cell)
        except ValueError:
            raise RecipeError(f"{where}: {col}: {cell!r} is not a number (0..1 or a percentage)") from None
        if not 0.0 <= v <= 1.0:
            raise RecipeError(f"{where}: {col}: {cell} out of range (0..1)")
        out.setdefault(group, {})[name] = v
    return out
