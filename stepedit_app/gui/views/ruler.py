"""Time ruler and frequency axis, and the region-selecting view box shared by the views."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from stepedit_app.session.editor import format_seconds


def format_time(t: float, precision: int = 2) -> str:
    """``m:ss.ss`` (``h:mm:ss`` for long files)."""
    return format_seconds(t, precision)


class TimeAxis(pg.AxisItem):
    """A bottom axis reading ``m:ss.s``; the resolution follows the tick spacing.  Time
    starts at zero: no negative labels, even before a file is open."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        prec = 0 if spacing >= 1 else 1 if spacing >= 0.1 else 2 if spacing >= 0.01 else 3
        return [format_time(v, prec) if v >= -1e-9 else "" for v in values]


class FrequencyAxis(pg.AxisItem):
    """A left axis for an image whose rows are frequency bins on any scale (linear/log/mel)."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.freqs: np.ndarray | None = None

    def set_freqs(self, freqs: np.ndarray) -> None:
        self.freqs = np.asarray(freqs, dtype=np.float64)
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):  # noqa: N802,N803 - pyqtgraph API
        if self.freqs is None or len(self.freqs) < 2:
            return super().tickValues(minVal, maxVal, size)
        f = self.freqs
        candidates = [100, 200, 500, 1000, 2000, 4000, 8000, 16000]
        rows = [float(np.interp(c, f, np.arange(len(f)))) for c in candidates if f[0] <= c <= f[-1]]
        rows = [r for r in rows if minVal <= r <= maxVal]
        # Keep ticks at least ~18 px apart.
        px_per_row = size / max(maxVal - minVal, 1e-9)
        kept: list[float] = []
        for r in rows:
            if not kept or (r - kept[-1]) * px_per_row >= 18:
                kept.append(r)
        return [(1.0, kept)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        if self.freqs is None:
            return ["" for _ in values]  # no spectrogram yet: row numbers would mean nothing
        f = np.interp(values, np.arange(len(self.freqs)), self.freqs)
        return [f"{v / 1000:.0f}k" if v >= 1000 else f"{v:.0f}" for v in np.round(f, -1)]


class SelectViewBox(pg.ViewBox):
    """Mouse as in audio editors: a left drag always starts a new selection (also inside the
    current one); Shift-drag and Shift-click extend the current selection; a click moves the
    play cursor; a double click selects everything; right/middle drag pans; the wheel zooms
    time only.  Coordinates are seconds of the timeline shown.

    Signals
    -------
    selecting(float, float)
        While dragging (visual feedback only).
    selected(float, float)
        When the drag ends, or on Shift-click (this is what changes the model).
    select_all()
        On a double click.
    clicked(float)
        On a plain click (moves the play cursor).
    """

    selecting = Signal(float, float)
    selected = Signal(float, float)
    select_all = Signal()
    clicked = Signal(float)

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.setMouseEnabled(x=True, y=False)
        self._anchor: float | None = None
        #: The current selection in this view's seconds (kept by the timeline), for extending.
        self.span: tuple[float, float] | None = None

    def _extend_anchor(self, x: float) -> float:
        """Shift: keep the edge of the current selection farther from ``x``."""
        a, b = self.span
        return b if abs(x - a) < abs(x - b) else a

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 - pyqtgraph API
        if ev.button() != Qt.MouseButton.LeftButton:
            # Pan with right or middle button.
            if ev.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
                ev.accept()
                dif = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
                self.translateBy(x=dif.x(), y=0)
                self.sigRangeChangedManually.emit(self.state["mouseEnabled"])
            else:
                ev.ignore()
            return
        ev.accept()
        x = self.mapSceneToView(ev.scenePos()).x()
        if ev.isStart():
            press = self.mapSceneToView(ev.buttonDownScenePos()).x()
            shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self._anchor = self._extend_anchor(press) if (shift and self.span is not None) else press
        if self._anchor is None:
            return
        a, b = sorted((self._anchor, x))
        if ev.isFinish():
            self._anchor = None
            self.selected.emit(a, b)
        else:
            self.selecting.emit(a, b)

    def mouseClickEvent(self, ev):  # noqa: N802 - pyqtgraph API
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            x = self.mapSceneToView(ev.scenePos()).x()
            if ev.double():
                self.select_all.emit()
            elif ev.modifiers() & Qt.KeyboardModifier.ShiftModifier and self.span is not None:
                self.selected.emit(*sorted((self._extend_anchor(x), x)))
            else:
                self.clicked.emit(x)
            return
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()  # no context menu: right-drag pans
            return
        super().mouseClickEvent(ev)

    def wheelEvent(self, ev, axis=None):  # noqa: N802 - pyqtgraph API
        super().wheelEvent(ev, axis=0)
