"""The editor's state, without Qt: the one place where clip, session, region, selected take,
loop, A/B, cursor and the controls live.

After napari's ``ViewerModel``: widgets and controllers *write* to :class:`EditorState`
through its methods and *subscribe* to its change events (plain callbacks, called on the
thread that made the change: the GUI thread in the window).  A widget that shows a value
updates itself from the event under a signal blocker, so nothing echoes back.  The same state
can drive a batch job or a test without a window.

Undo and redo go through one :class:`~stepedit_app.session.history.History`: take renames,
stars and deletions, committed slider changes (a drag is one step, recorded when it ends) and
region selections.

Events (``state.events.connect(name, fn)``; arguments after the name):

``document`` ()
    A clip was opened or a project loaded (everything else was reset).
``region`` (Region | None)
    The selection changed.
``take`` (Take | None)
    The selected take changed.
``takes`` (event, Take)
    The take list changed (``added``, ``removed``, ``changed``).
``loop`` (bool), ``source`` ("A" | "B"), ``cursor`` (seconds), ``auto_render`` (bool)
    Transport state.
``control`` (group, name, value), ``iterations`` (int), ``transcript`` (str)
    A control value changed (any change, also during a drag).
``keep_duration`` (bool)
    Whether renders keep the region's length to the sample (lip-sync).
``one_shot`` (kind, bool)
    A one-shot pass (``denoise``, ``vad``) was switched on or off.
``committed`` ()
    Control changes became final (a slider released, a value entered, a preset): one undo
    step was recorded; auto-render starts from here.
``capabilities`` (Capabilities)
    The engine changed; the set of controls was rebuilt.
``engine`` (name, device)
    Engine or device changed.
``history`` ()
    Undo/redo availability or labels changed.
``modified`` (bool)
    Whether there are changes not yet saved in a project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepedit_app.audio.clip import Clip, Region
from stepedit_app.audio.peaks import PeakPyramid
from stepedit_app.engines.base import Capabilities
from stepedit_app.engines.controls import MAX_ITERATIONS, EditRequest
from stepedit_app.engines.registry import DEFAULT_ENGINE
from stepedit_app.errors import RequestError
from stepedit_app.session.history import History
from stepedit_app.session.session import EditSession
from stepedit_app.session.takes import Take

GROUP_ATTR = {"emotion": "emotions", "style": "styles", "speed": "speed"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 take``, ``2 takes``, ``0 iterations``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def format_seconds(t: float, precision: int = 3) -> str:
    """``m:ss.sss`` (``h:mm:ss.sss`` from an hour on); what the window shows for times."""
    sign = "-" if t < 0 else ""
    t = abs(t)
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    width = 2 if precision == 0 else 3 + precision
    if h >= 1:
        return f"{sign}{int(h)}:{int(m):02d}:{s:0{width}.{precision}f}"
    return f"{sign}{int(m)}:{s:0{width}.{precision}f}"


def split_tags(text: str, tags: tuple[str, ...] | list[str]) -> tuple[str, bool]:
    """``text`` without the paralinguistic ``tags`` it holds, and whether it held any.

    >>> split_tags("so [Laughter] that was it", ("[Laughter]",))
    ('so that was it', True)
    """
    plain, found = text, False
    for tag in sorted(tags, key=len, reverse=True):  # longest first: "[Surprise-oh]" before "[S"...
        if tag in plain:
            found = True
            plain = plain.replace(tag, " ")
    return " ".join(plain.split()), found


class Events:
    """Named change events with plain-callable subscribers."""

    def __init__(self) -> None:
        self._subs: dict[str, list[Callable[..., Any]]] = {}

    def connect(self, name: str, fn: Callable[..., Any]) -> None:
        self._subs.setdefault(name, []).append(fn)

    def disconnect(self, name: str, fn: Callable[..., Any]) -> None:
        subs = self._subs.get(name, [])
        if fn in subs:
            subs.remove(fn)

    def emit(self, name: str, *args: Any) -> None:
        for fn in list(self._subs.get(name, ())):
            fn(*args)


@dataclass(frozen=True)
class ControlsSnapshot:
    values: tuple[tuple[tuple[str, str], float], ...]
    iterations: int

    def as_dict(self) -> dict[tuple[str, str], float]:
        return dict(self.values)


class EditorState:
    """Everything the editor window shows and edits, as plain Python.

    Parameters
    ----------
    engine
        Name of the engine new sessions use.
    """

    def __init__(self, engine: str = DEFAULT_ENGINE) -> None:
        self.events = Events()
        self.history = History()
        self.history.subscribe(lambda: self.events.emit("history"))
        self.clip: Clip | None = None
        self.session: EditSession | None = None
        #: Min/max pyramid of the clip (built with the clip, off the GUI thread).
        self.peaks: PeakPyramid | None = None
        #: SHA-256 of the source file's bytes (projects check it when reopening).
        self.source_sha256: str | None = None
        self.region: Region | None = None
        self._take_id: int = -1
        self.loop = False
        self.source = "A"
        self.cursor = 0.0
        self.auto_render = False
        self.engine_name = engine
        self.device = "cpu"
        self.capabilities: Capabilities | None = None
        self.values: dict[tuple[str, str], float] = {}
        self.iterations = 2
        self.transcript = ""
        #: One-shot passes of engines that offer them (edit kinds ``denoise``, ``vad``).
        self.denoise = False
        self.vad = False
        #: Renders keep the region's length to the sample (engines whose capabilities say so).
        self.keep_duration = False
        self._committed = self._controls_snapshot()
        self.project_path: Path | None = None
        self.modified = False

    # --- document ----------------------------------------------------------------------------
    def set_document(self, clip: Clip | None, session: EditSession | None, peaks: PeakPyramid | None = None,
                     source_sha256: str | None = None, project_path: Path | None = None) -> None:
        """Replace the clip and session (opening a file or a project); resets region, take,
        A/B and the history."""
        if self.session is not None:
            self.session.takes.unsubscribe(self._on_takes)
        self.clip, self.session, self.peaks = clip, session, peaks
        self.source_sha256 = source_sha256
        self.region = None
        self._take_id = -1
        self.source = "A"
        self.cursor = 0.0
        self.project_path = project_path
        self.history.clear()
        if session is not None:
            session.takes.history = self.history
            session.takes.subscribe(self._on_takes)
            session.device = self.device if self.device in session.engine.capabilities().devices else session.device
        self._set_modified(False)
        self.events.emit("document")

    @property
    def takes(self) -> list[Take]:
        return list(self.session.takes) if self.session is not None else []

    def _on_takes(self, event: str, take: Take) -> None:
        self._set_modified(True)
        if event == "removed" and take.id == self._take_id:
            remaining = self.takes
            self.select_take(remaining[-1].id if remaining else None)
        self.events.emit("takes", event, take)

    def add_take(self, take: Take) -> None:
        """Publish a rendered take (call on the thread that owns the state: the GUI's)."""
        if self.session is None:
            return
        self.session.takes.add(take)

    # --- modified / project ------------------------------------------------------------------
    def _set_modified(self, on: bool) -> None:
        if on != self.modified:
            self.modified = on
            self.events.emit("modified", on)

    def mark_modified(self) -> None:
        """There are changes not saved in a project (e.g. takes recovered after a crash)."""
        self._set_modified(True)

    def mark_saved(self, path: Path | None) -> None:
        """A project was written to ``path`` (None: the autosave only)."""
        if path is not None:
            self.project_path = Path(path)
            self._set_modified(False)

    # --- region ------------------------------------------------------------------------------
    def region_label(self, region: Region | None) -> str:
        if region is None or self.clip is None:
            return "no selection"
        a, b = region.seconds(self.clip.rate)
        return f"{format_seconds(a)}–{format_seconds(b)}"

    def set_region(self, region: Region | None, record: bool = True) -> None:
        """Select ``region`` (None: nothing); clamped to the clip; undoable when ``record``."""
        if self.clip is None:
            return
        if region is not None:
            s = max(0, min(self.clip.frames, region.start))
            e = max(0, min(self.clip.frames, region.end))
            region = Region(s, e) if e > s else None
        old = self.region
        if region == old:
            return

        def apply(r: Region | None) -> Callable[[], None]:
            def f() -> None:
                self.region = r
                self._set_modified(True)
                self.events.emit("region", r)

            return f

        apply(region)()
        if record:
            label = "clear selection" if region is None else f"select {self.region_label(region)}"
            self.history.record(label, undo=apply(old), redo=apply(region))

    def set_region_seconds(self, a: float, b: float, record: bool = True) -> None:
        if self.clip is None:
            return
        a, b = sorted((a, b))
        self.set_region(Region.from_seconds(max(0.0, a), min(self.clip.duration, b), self.clip.rate), record)

    def select_all(self) -> None:
        if self.clip is not None:
            self.set_region(self.clip.whole())

    # --- takes -------------------------------------------------------------------------------
    @property
    def selected_take(self) -> Take | None:
        if self.session is None or self._take_id < 0:
            return None
        return self.session.takes.by_id(self._take_id)

    def select_take(self, take_id: int | None) -> None:
        """Select a take by id (None or -1: the original)."""
        tid = -1 if take_id is None else int(take_id)
        if tid >= 0 and (self.session is None or self.session.takes.by_id(tid) is None):
            tid = -1
        if tid == self._take_id:
            return
        self._take_id = tid
        take = self.selected_take
        if take is None and self.source == "B":
            self.set_source("A")
        self.events.emit("take", take)

    def step_take(self, delta: int) -> None:
        """Move the take selection ``delta`` places in the list as shown (newest first)."""
        shown = list(reversed(self.takes))
        if not shown:
            return
        ids = [t.id for t in shown]
        i = ids.index(self._take_id) if self._take_id in ids else -1
        i = 0 if i < 0 else max(0, min(len(ids) - 1, i + delta))
        self.select_take(ids[i])

    # --- transport ---------------------------------------------------------------------------
    def set_loop(self, on: bool) -> None:
        on = bool(on)
        if on != self.loop:
            self.loop = on
            self.events.emit("loop", on)

    def set_source(self, source: str) -> bool:
        """A (original) or B (the selected take); False when B is asked for with no take."""
        if source not in ("A", "B"):
            raise ValueError("source must be 'A' or 'B'")
        if source == "B" and self.selected_take is None:
            return False
        if source != self.source:
            self.source = source
            self.events.emit("source", source)
        return True

    def set_cursor(self, seconds: float) -> None:
        dur = self.clip.duration if self.clip is not None else 0.0
        self.cursor = max(0.0, min(dur, float(seconds)))
        self.events.emit("cursor", self.cursor)

    def set_auto_render(self, on: bool) -> None:
        on = bool(on)
        if on != self.auto_render:
            self.auto_render = on
            self.events.emit("auto_render", on)

    # --- engine ------------------------------------------------------------------------------
    def set_capabilities(self, caps: Capabilities) -> None:
        """The engine's controls: values of controls it shares with the old set are kept."""
        old = self.values
        self.capabilities = caps
        self.values = {}
        for group, names in (("emotion", caps.emotions), ("style", caps.styles), ("speed", caps.speed)):
            for n in names:
                self.values[(group, n)] = old.get((group, n), 0.0)
        self._committed = self._controls_snapshot()
        for kind in ("denoise", "vad"):
            if kind not in caps.edit_kinds:
                self.set_one_shot(kind, False)  # not shown for this engine: never sent to it
        if not caps.keeps_duration:
            self.set_keep_duration(False)
        self.events.emit("capabilities", caps)

    def set_engine(self, name: str, device: str | None = None) -> None:
        self.engine_name = name
        if device is not None:
            self.device = device
        self.events.emit("engine", self.engine_name, self.device)

    # --- controls ----------------------------------------------------------------------------
    def set_control(self, group: str, name: str, value: float) -> None:
        """Set one intensity (0..1).  Not yet an undo step: see :meth:`commit_controls`."""
        value = min(1.0, max(0.0, float(value)))
        key = (group, name)
        if key not in self.values:
            raise RequestError(f"{group} {name!r} is not a control of this engine")
        if abs(self.values[key] - value) < 1e-9:
            return
        self.values[key] = value
        self.events.emit("control", group, name, value)

    def set_iterations(self, n: int) -> None:
        n = max(1, min(MAX_ITERATIONS, int(n)))
        if n != self.iterations:
            self.iterations = n
            self.events.emit("iterations", n)

    def set_transcript(self, text: str) -> None:
        text = " ".join(str(text).split())
        if text != self.transcript:
            self.transcript = text
            self.events.emit("transcript", text)

    def set_one_shot(self, kind: str, on: bool) -> None:
        """Switch a one-shot pass (``denoise`` or ``vad``) on or off for the next renders."""
        if kind not in ("denoise", "vad"):
            raise ValueError(f"unknown one-shot pass {kind!r}")
        on = bool(on)
        if on != getattr(self, kind):
            setattr(self, kind, on)
            self.events.emit("one_shot", kind, on)

    def set_keep_duration(self, on: bool) -> None:
        """Keep the region's length to the sample in the next renders (lip-synced lines)."""
        on = bool(on)
        if on and self.capabilities is not None and not self.capabilities.keeps_duration:
            raise RequestError(f"engine {self.engine_name!r} cannot keep the region's length")
        if on != self.keep_duration:
            self.keep_duration = on
            self._set_modified(True)
            self.events.emit("keep_duration", on)

    def _controls_snapshot(self) -> ControlsSnapshot:
        return ControlsSnapshot(tuple(sorted(self.values.items())), self.iterations)

    def _restore_controls(self, snap: ControlsSnapshot) -> None:
        for key, v in snap.as_dict().items():
            if key in self.values:
                self.set_control(*key, v)
        self.set_iterations(snap.iterations)
        self._committed = self._controls_snapshot()

    def commit_controls(self, label: str | None = None) -> bool:
        """Record the control changes since the last commit as one undo step (a slider drag,
        a typed value, a preset).  Returns False when nothing changed."""
        new, old = self._controls_snapshot(), self._committed
        if new == old:
            return False
        self._committed = new
        self._set_modified(True)
        if label is None:
            before, after = old.as_dict(), new.as_dict()
            changed = [k for k in after if abs(after[k] - before.get(k, 0.0)) > 1e-9]
            if len(changed) == 1:
                g, n = changed[0]
                label = f"{n} {round(before.get(changed[0], 0.0) * 100)} → {round(after[changed[0]] * 100)} %"
            elif changed:
                label = f"change {plural(len(changed), 'control')}"
            else:
                label = f"iterations {old.iterations} → {new.iterations}"
        self.history.record(label, undo=lambda: self._restore_controls(old), redo=lambda: self._restore_controls(new))
        self.events.emit("committed")
        return True

    def reset_controls(self) -> None:
        for key in list(self.values):
            self.set_control(*key, 0.0)
        self.commit_controls("reset all controls")

    def request(self) -> EditRequest:
        """The current controls as a validated request."""
        groups: dict[str, dict[str, float]] = {"emotions": {}, "styles": {}, "speed": {}}
        for (g, n), v in self.values.items():
            if v > 0:
                groups[GROUP_ATTR[g]][n] = round(v, 4)
        text: str | None = self.transcript or None
        tagged = None
        caps = self.capabilities
        if text and caps is not None and caps.tags and "paralinguistic" in caps.edit_kinds:
            plain, found = split_tags(text, caps.tags)
            if found:  # tags in the transcript: a paralinguistic pass inserts them
                tagged, text = text, plain or None
        return EditRequest(groups["emotions"], groups["styles"], groups["speed"], self.iterations, text,
                           denoise=self.denoise, vad=self.vad, paralinguistic=tagged,
                           keep_duration=self.keep_duration)

    def apply_request(self, request: EditRequest, label: str = "apply preset") -> None:
        """Set the controls a request names, all others to 0 (a preset); one undo step."""
        wanted = {(g, n): v for g, n, v in request.controls()}
        missing = [f"{g} {n}" for (g, n), v in wanted.items() if v > 0 and (g, n) not in self.values]
        if missing:
            raise RequestError(f"this engine cannot do {', '.join(missing)}")
        kinds = self.capabilities.edit_kinds if self.capabilities is not None else ()
        extra = [k for k in ("denoise", "vad") if getattr(request, k) and k not in kinds]
        if request.keep_duration and self.capabilities is not None and not self.capabilities.keeps_duration:
            extra.append("keep the region's length")
        if extra:
            raise RequestError(f"this engine cannot do {', '.join(extra)}")
        for key in list(self.values):
            self.set_control(*key, wanted.get(key, 0.0))
        self.set_iterations(request.iterations)
        for k in ("denoise", "vad"):
            self.set_one_shot(k, getattr(request, k))
        self.set_keep_duration(request.keep_duration)
        if request.paralinguistic:  # the tagged text is what the field showed
            self.set_transcript(request.paralinguistic)
        elif request.transcript:
            self.set_transcript(request.transcript)
        self.commit_controls(label)

    # --- undo --------------------------------------------------------------------------------
    def undo(self) -> bool:
        return self.history.undo()

    def redo(self) -> bool:
        return self.history.redo()

    # --- A/B timeline ------------------------------------------------------------------------
    def b_shift(self) -> int:
        """Frames by which the selected take moves what follows its region (0 without one)."""
        t = self.selected_take
        return 0 if t is None else t.segment.frames - t.region.length
