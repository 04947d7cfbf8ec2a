"""Presets: named slider settings, shipped in ``resources/presets/`` and saved by the user.

A preset file is JSON, ``{"name": "Tense guard", "request": {...EditRequest...}}``.  The
user's presets live in ``<config dir>/presets`` (see :mod:`stepedit_app.session.storage`) and
win over shipped ones of the same name.  No Qt: the command line and batch recipes read the
same files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from stepedit_app.engines.controls import EditRequest
from stepedit_app.errors import RequestError
from stepedit_app.session.storage import atomic_write_bytes, user_config_dir

#: The repository's / installation's resources folder (presets, style sheet).
RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def shipped_presets_dir() -> Path:
    return RESOURCES / "presets"


def user_presets_dir() -> Path:
    return user_config_dir() / "presets"


def read_preset(path: str | Path) -> tuple[str, EditRequest]:
    """``(name, request)`` from a preset file; raises :class:`RequestError` with one line."""
    p = Path(path)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RequestError(f"preset {p.name}: cannot be read ({exc})") from None
    if not isinstance(d, dict) or "request" not in d:
        raise RequestError(f"preset {p.name}: expected {{\"name\": ..., \"request\": ...}}")
    try:
        request = EditRequest.from_dict(d["request"])
    except RequestError as exc:
        raise RequestError(f"preset {p.name}: {exc}") from None
    return str(d.get("name") or p.stem), request


def preset_slug(name: str) -> str:
    """File-name stem for a preset name (``Tense guard`` -> ``tense_guard``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "preset"


def write_preset(folder: Path, name: str, request: EditRequest) -> Path:
    """Save ``request`` as preset ``name`` in ``folder`` (atomically); returns the file."""
    name = " ".join(name.split())
    if not name:
        raise RequestError("preset name is empty")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{preset_slug(name)}.json"
    text = json.dumps({"name": name, "request": request.to_dict()}, indent=2) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))


def list_presets(folders: list[Path] | None = None) -> dict[str, Path]:
    """``{name: file}`` of every readable preset (later folders win; unreadable files are
    skipped: a broken preset must not hide the others)."""
    found: dict[str, Path] = {}
    for folder in folders if folders is not None else [shipped_presets_dir(), user_presets_dir()]:
        if not folder.is_dir():
            continue
        for p in sorted(folder.glob("*.json")):
            try:
                name, _ = read_preset(p)
            except RequestError:
                continue
            found[name] = p
    return found
