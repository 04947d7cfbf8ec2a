"""Projects, autosave and crash recovery, without Qt (the window, the command line and batch
jobs use the same code).

A project is a JSON file (``line_042.stepedit``; never pickle: it must be safe to open a
project someone sent you) plus a sidecar folder of take audio (``line_042_takes/``), one file
per take: 24-bit FLAC, lossless for takes (they live on the 24-bit grid; see
:mod:`stepedit_app.session.takes`), so a take read back is the take that was saved, bit for
bit.  The JSON holds the source file's path (absolute and relative to the project) and the
SHA-256 of its bytes, the regions, the selection, the current controls, and every take's
request, name, star, iteration and audio file with its checksum.

Saving writes the take files first (each atomically; files already there are reused, since
their names carry their content hash), then the JSON atomically — the moment the project
changes — then removes files of takes no longer in it.  A crash at any point leaves the
previous project or the new one, never a mix.

Autosave: each window keeps ``<data dir>/autosave/<id>/`` (see
:func:`~stepedit_app.session.storage.user_data_dir`) with an ``owner.json`` naming its process.
After every take the window writes the project there.  A clean close deletes it; a folder
whose owner process is gone is what a crash or a kill left behind, and the next start offers
to recover it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stepedit_app.audio.analysis import Cues
from stepedit_app.audio.clip import Clip, Region
from stepedit_app.engines.controls import EditRequest
from stepedit_app.errors import StepEditError
from stepedit_app.session.storage import (
    atomic_write_bytes,
    file_sha256,
    read_audio_lossless,
    samples_sha256,
    user_data_dir,
    write_audio_lossless,
)
from stepedit_app.session.takes import Take

_TAKE_HAS_FLAGS = "flags" in {f.name for f in dataclasses.fields(Take)}

FORMAT = "stepedit-project"
VERSION = 1
SUFFIX = ".stepedit"
AUTOSAVE_NAME = "autosave" + SUFFIX


class ProjectError(StepEditError):
    """A project file cannot be read or written (one line naming the file)."""


def sidecar_folder(project: Path) -> Path:
    """The take-audio folder next to a project file (``x.stepedit`` -> ``x_takes``)."""
    project = Path(project)
    return project.with_name(project.stem + "_takes")


# --- what a project holds ---------------------------------------------------------------------
@dataclass(frozen=True)
class TakeEntry:
    """A take as a project stores it: metadata captured on the owning thread, and its audio
    (an immutable array, safe to read from a worker)."""

    meta: dict
    samples: np.ndarray
    rate: int


def take_meta(take: Take) -> dict:
    """JSON-ready metadata of a take (everything but the audio)."""
    return {
        "id": take.id,
        "name": take.name,
        "region": [take.region.start, take.region.end],
        "request": take.request.to_dict(),
        "engine": take.engine,
        "iteration": take.iteration,
        "iterations": take.iterations,
        "render_id": take.render_id,
        "elapsed_s": round(float(take.elapsed_s), 4),
        "created": take.created.isoformat(timespec="seconds"),
        "starred": bool(take.starred),
        "exported": bool(take.exported),
        "cues": take.cues.to_dict() if take.cues is not None else None,
        "deltas": {k: (v if v is not None and math.isfinite(v) else None) for k, v in take.deltas.items()}
        if take.deltas else None,
        "frames": take.segment.frames,
        # what the engine flagged about this output (takes that carry flags)
        "flags": dict(getattr(take, "flags", None) or {}),
    }


@dataclass
class ProjectSnapshot:
    """Everything a project file holds, captured at one moment (cheap: no audio is copied)."""

    source_path: Path
    source_sha256: str
    rate: int
    frames: int
    channels: int
    takes: list[TakeEntry]
    selection: Region | None = None
    engine: str = "prosody"
    controls: dict | None = None
    next_id: int = 1
    #: The user's project this autosave belongs to (for recovery), if any.
    project_path: Path | None = None

    @classmethod
    def capture(cls, clip: Clip, source_sha256: str, takes: Iterable[Take], *, selection: Region | None = None,
                engine: str = "prosody", controls: EditRequest | None = None, next_id: int = 1,
                project_path: Path | None = None) -> ProjectSnapshot:
        if clip.path is None:
            raise ProjectError("a project needs a source file (this clip was not read from one)")
        entries = [TakeEntry(take_meta(t), t.segment.samples, t.segment.rate) for t in takes]
        return cls(Path(clip.path), source_sha256, clip.rate, clip.frames, clip.channels, entries, selection,
                   engine, controls.to_dict() if controls is not None else None, next_id, project_path)

    @property
    def regions(self) -> list[list[int]]:
        """Distinct regions of the takes and the selection, in time order."""
        spans = {tuple(e.meta["region"]) for e in self.takes}
        if self.selection is not None:
            spans.add((self.selection.start, self.selection.end))
        return [list(s) for s in sorted(spans)]


def _audio_stem(meta: dict, sha: str) -> str:
    return f"take-{int(meta['id']):04d}-{sha[:12]}"


def _relpath(target: Path, start: Path) -> str | None:
    try:
        return os.path.relpath(target, start)
    except ValueError:  # another drive (Windows)
        return None


def iter_save(path: str | Path, snap: ProjectSnapshot) -> Generator[float, None, Path]:
    """Write ``snap`` as the project ``path`` (and its sidecar folder), yielding progress.

    Raises
    ------
    ProjectError
        One line when the folder cannot be written.
    """
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    folder = sidecar_folder(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"{folder}: cannot create the take folder ({exc.strerror})") from None
    present = {p.stem: p for p in folder.glob("take-*") if p.suffix in (".flac", ".wav")}
    takes_json = []
    n = max(1, len(snap.takes))
    yield 0.0
    for i, e in enumerate(snap.takes):
        sha = samples_sha256(e.samples)
        stem = _audio_stem(e.meta, sha)
        audio = present.get(stem)
        if audio is None:
            try:
                audio = write_audio_lossless(folder / stem, e.samples, e.rate)
            except StepEditError as exc:
                raise ProjectError(str(exc)) from None
            present[stem] = audio
        takes_json.append({**e.meta, "audio": f"{folder.name}/{audio.name}", "sha256": sha})
        yield 0.9 * (i + 1) / n
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "saved": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "source": {
            "path": str(snap.source_path),
            "relative": _relpath(snap.source_path, path.parent),
            "sha256": snap.source_sha256,
            "rate": snap.rate,
            "frames": snap.frames,
            "channels": snap.channels,
        },
        "regions": snap.regions,
        "selection": [snap.selection.start, snap.selection.end] if snap.selection is not None else None,
        "engine": snap.engine,
        "controls": snap.controls,
        "next_take_id": snap.next_id,
        "project": str(snap.project_path) if snap.project_path else None,
        "takes": takes_json,
    }
    try:
        atomic_write_bytes(path, (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode("utf-8"))
    except StepEditError as exc:
        raise ProjectError(str(exc)) from None
    # Only now is the old project replaced: files of takes that left it can go.
    used = {Path(t["audio"]).stem for t in takes_json}
    for stem, p in present.items():
        if stem not in used:
            try:
                p.unlink()
            except OSError:
                pass
    yield 1.0
    return path


def save_project(path: str | Path, snap: ProjectSnapshot) -> Path:
    """:func:`iter_save` to completion; returns the project file written."""
    return run_generator(iter_save(path, snap))


# --- reading ----------------------------------------------------------------------------------
@dataclass
class ProjectFile:
    """A project's JSON, read and checked (no audio read yet)."""

    path: Path
    doc: dict

    @property
    def source(self) -> dict:
        return self.doc["source"]

    @property
    def takes(self) -> list[dict]:
        return self.doc["takes"]

    @property
    def selection(self) -> Region | None:
        s = self.doc.get("selection")
        return Region(int(s[0]), int(s[1])) if s else None

    @property
    def controls(self) -> EditRequest | None:
        c = self.doc.get("controls")
        try:
            return EditRequest.from_dict(c) if c else None
        except StepEditError:
            return None

    @property
    def user_project(self) -> Path | None:
        p = self.doc.get("project")
        return Path(p) if p else None


def read_project(path: str | Path) -> ProjectFile:
    """Read and check a project file.

    Raises
    ------
    ProjectError
        One line: missing, not JSON, not a StepEdit project, a newer format, or a field
        of the wrong kind.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{p}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{p}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ProjectError(f"{p}: not a StepEdit project (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ProjectError(f"{p}: not a StepEdit project")
    if not isinstance(doc.get("version"), int) or doc["version"] > VERSION:
        raise ProjectError(f"{p}: project format version {doc.get('version')!r} is newer than this StepEdit "
                           f"understands ({VERSION}); update StepEdit")
    src = doc.get("source")
    if not isinstance(src, dict) or not isinstance(src.get("path"), str) or not isinstance(src.get("sha256"), str):
        raise ProjectError(f"{p}: the project's source entry is damaged")
    if not isinstance(doc.get("takes"), list) or not all(isinstance(t, dict) for t in doc["takes"]):
        raise ProjectError(f"{p}: the project's take list is damaged")
    return ProjectFile(p, doc)


@dataclass(frozen=True)
class SourceCheck:
    """Where a project's source is now: ``ok`` (found, same content), ``changed`` (found,
    different content), ``missing`` (neither at its path nor next to the project)."""

    status: str
    path: Path | None
    expected: Path
    sha256: str | None = None

    def message(self) -> str:
        if self.status == "changed":
            return (f"the source file {self.path} has changed since the project was saved "
                    "(its content is different); the takes were made from the earlier version")
        if self.status == "missing":
            return f"the source file {self.expected} was moved or deleted"
        return f"source {self.path}"


def check_source(pf: ProjectFile, override: Path | None = None) -> SourceCheck:
    """Find the project's source: ``override`` (a file the user located), else its recorded
    path, else the same relative place next to the project; compare content hashes."""
    src = pf.source
    expected = Path(src["path"])
    candidates: list[Path] = []
    if override is not None:
        candidates.append(Path(override))
    else:
        candidates.append(expected)
        if src.get("relative"):
            candidates.append((pf.path.parent / src["relative"]).resolve())
    seen: Path | None = None
    seen_sha: str | None = None
    for c in candidates:
        if c.is_file():
            sha = file_sha256(c)
            if sha == src["sha256"]:
                return SourceCheck("ok", c.resolve(), expected, sha)
            if seen is None:
                seen, seen_sha = c.resolve(), sha
    if seen is not None:
        return SourceCheck("changed", seen, expected, seen_sha)
    return SourceCheck("missing", None, expected)


def _cues(d: dict | None) -> Cues | None:
    if not d:
        return None
    try:
        return Cues(**{k: (float("nan") if v is None else float(v)) for k, v in d.items()})
    except (TypeError, ValueError):
        return None


def load_takes(pf: ProjectFile, clip: Clip) -> tuple[list[Take], list[str]]:
    """The project's takes with their audio, checked bit for bit against the stored
    checksums; returns ``(takes, problems)``: a damaged or missing take file costs that take
    (named in ``problems``), never the project."""
    takes: list[Take] = []
    problems: list[str] = []
    for t in pf.takes:
        label = f"take {t.get('id', '?')} ({t.get('name', '')})"
        try:
            region = Region(int(t["region"][0]), int(t["region"][1]))
            region.check_within(clip)
            audio_path = pf.path.parent / str(t["audio"])
            if not audio_path.is_file():
                raise ValueError(f"its audio file {audio_path.name} is missing")
            samples, rate = read_audio_lossless(audio_path)
            if rate != clip.rate or samples.shape[1] != clip.channels:
                raise ValueError("its audio does not match the source's rate or channels")
            if samples_sha256(samples) != t.get("sha256"):
                raise ValueError(f"{audio_path.name} is damaged (checksum mismatch)")
            created = _dt.datetime.fromisoformat(t["created"]) if t.get("created") else _dt.datetime.now().astimezone()
            take = Take(
                id=int(t["id"]),
                name=str(t.get("name") or f"take {t['id']}"),
                region=region,
                segment=Clip(samples, rate, None, clip.subtype),
                request=EditRequest.from_dict(t["request"]),
                engine=str(t.get("engine", "")),
                iteration=int(t.get("iteration", 1)),
                iterations=int(t.get("iterations", 1)),
                render_id=int(t.get("render_id", 0)),
                elapsed_s=float(t.get("elapsed_s", 0.0)),
                cues=_cues(t.get("cues")),
                deltas={k: (float("nan") if v is None else float(v)) for k, v in (t.get("deltas") or {}).items()} or None,
                created=created,
                starred=bool(t.get("starred", False)),
                exported=bool(t.get("exported", False)),
                **({"flags": dict(t.get("flags") or {})} if _TAKE_HAS_FLAGS else {}),
            )
        except (KeyError, TypeError, ValueError, OSError, StepEditError, RuntimeError) as exc:
            msg = str(exc) if not isinstance(exc, KeyError) else f"missing field {exc}"
            problems.append(f"{label}: {' '.join(msg.split())}")
            continue
        takes.append(take)
    return takes, problems


# --- autosave and recovery --------------------------------------------------------------------
def autosave_root() -> Path:
    return user_data_dir() / "autosave"


def _proc_start(pid: int) -> str | None:
    """The process's start time on Linux (guards against a reused process id)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_alive(owner: dict) -> bool:
    pid = int(owner.get("pid", -1))
    if not _pid_alive(pid):
        return False
    start = owner.get("start")
    now = _proc_start(pid)
    return start is None or now is None or start == now


@dataclass(frozen=True)
class Recoverable:
    """An autosave left by a window that did not close (crash, kill, power cut)."""

    folder: Path
    project: Path
    source: str
    takes: int
    saved: float  # POSIX time of the last autosave

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved))
        n = f"{self.takes} take" + ("" if self.takes == 1 else "s")
        return f"{n} of {self.source} (autosaved {when})"


def find_recoverable(root: Path | None = None) -> list[Recoverable]:
    """Autosaves whose window is gone and that hold at least one take, newest first.
    Empty leftovers (no take) are removed."""
    root = root if root is not None else autosave_root()
    out: list[Recoverable] = []
    if not root.is_dir():
        return out
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        try:
            owner = json.loads((folder / "owner.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            owner = {}
        if owner and _owner_alive(owner):
            continue
        project = folder / AUTOSAVE_NAME
        try:
            pf = read_project(project)
        except ProjectError:
            # Nothing recoverable (the window died before its first take was saved).
            if not any(folder.glob("*_takes/take-*")):
                shutil.rmtree(folder, ignore_errors=True)
            continue
        if not pf.takes:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        out.append(Recoverable(folder, project, Path(pf.source["path"]).name, len(pf.takes),
                               project.stat().st_mtime))
    out.sort(key=lambda r: r.saved, reverse=True)
    return out


@dataclass
class Autosave:
    """One window's autosave folder.

    Parameters
    ----------
    root
        Parent of the autosave folders (default: ``<data dir>/autosave``).
    """

    root: Path | None = None
    folder: Path = field(init=False)
    _owned: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root) if self.root is not None else autosave_root()
        self.folder = self.root / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"

    @property
    def project(self) -> Path:
        return self.folder / AUTOSAVE_NAME

    def _claim(self) -> None:
        if self._owned:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        owner = {"pid": pid, "start": _proc_start(pid), "host": os.uname().nodename if hasattr(os, "uname") else ""}
        atomic_write_bytes(self.folder / "owner.json", json.dumps(owner).encode())
        self._owned = True

    def adopt(self, rec: Recoverable) -> None:
        """Continue in a recovered autosave's folder (its take files are reused, not copied)."""
        self.folder = rec.folder
        self._owned = False
        self._claim()

    def iter_write(self, snap: ProjectSnapshot) -> Generator[float, None, Path]:
        """Write the snapshot (only new takes' audio is written); yields progress."""
        self._claim()
        return (yield from iter_save(self.project, snap))

    def write(self, snap: ProjectSnapshot) -> Path:
        return run_generator(self.iter_write(snap))

    def discard(self) -> None:
        """Remove the folder (a clean close, or the user chose to discard the takes)."""
        if self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)
        self._owned = False


def discard_recoverable(rec: Recoverable) -> None:
    shutil.rmtree(rec.folder, ignore_errors=True)


def run_generator(gen: Generator[float, None, object], progress: Callable[[float], None] | None = None) -> object:
    """Iterate a progress generator to its return value (for callers without a worker)."""
    while True:
        try:
            f = next(gen)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(f)
