"""Waveform views: an overview of the whole clip and a zoomable detail plot.

Both draw min/max envelopes from :class:`~stepedit_app.audio.peaks.PeakPyramid`\\ s (Sonic
Visualiser's multi-resolution peak caches), so a 60-minute file costs the same per repaint as
a 5-second one: each repaint asks a pyramid for about two points per pixel of the visible
span.  A curve is drawn as a vertical zig-zag between each point's min and max, which at that
density reads as a filled waveform.

Two timelines (see :mod:`stepedit_app.audio.timeline`): showing A, the original is grey and
the selected take (its edited segment, placed at its region) is overlaid in the accent colour;
showing B (while the take is heard), the take sits in its region in the accent colour and the
original after it is shifted by the take's change in length: what is shown is what is heard.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal

from stepedit_app.audio.peaks import PeakPyramid
from stepedit_app.gui import theme


def _zigzag(pos: np.ndarray, mins: np.ndarray, maxs: np.ndarray, rate: int, offset_s: float = 0.0):
    mins = np.asarray(mins, dtype=np.float32)
    maxs = np.asarray(maxs, dtype=np.float32)
    if mins.ndim == 2:
        mins = mins.min(axis=1)
        maxs = maxs.max(axis=1)
    t = np.asarray(pos, dtype=np.float64) / rate + offset_s
    x = np.repeat(t, 2)
    y = np.empty(2 * len(t), dtype=np.float32)
    y[0::2] = mins
    y[1::2] = maxs
    return x, y


class EnvelopeCurve:
    """Frames ``[lo, hi)`` of one pyramid drawn at ``offset_s`` in one plot, recomputed for
    the visible span."""

    def __init__(self, plot: pg.PlotItem, colour: str, width: float = 1.0, z: float = 0.0) -> None:
        self.curve = pg.PlotDataItem(pen=theme.pen(colour, width))
        self.curve.setZValue(z)
        plot.addItem(self.curve)
        # pyqtgraph's own advice for long curves, set after addItem.
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.pyramid: PeakPyramid | None = None
        self.rate = 1
        self.lo = 0
        self.hi = 0
        self.offset_s = 0.0

    def set_source(self, pyramid: PeakPyramid | None, rate: int = 1, offset_s: float = 0.0, lo: int = 0,
                   hi: int | None = None) -> None:
        """Draw ``pyramid``'s frames ``lo..hi`` with frame ``f`` at ``f / rate + offset_s``
        seconds (None: draw nothing)."""
        self.pyramid = pyramid
        if pyramid is None:
            self.curve.setData([], [])
            return
        self.rate = int(rate)
        self.lo = int(lo)
        self.hi = int(pyramid.frames if hi is None else hi)
        self.offset_s = float(offset_s)

    def refresh(self, t0: float, t1: float, pixels: int) -> None:
        if self.pyramid is None:
            return
        start = int(max(self.lo, np.floor((t0 - self.offset_s) * self.rate)))
        end = int(min(self.hi, np.ceil((t1 - self.offset_s) * self.rate) + 1))
        if end - start < 2:
            self.curve.setData([], [])
            return
        n = int(max(64, min(2 * pixels, end - start)))
        pos, mins, maxs = self.pyramid.envelope(start, end, n)
        x, y = _zigzag(pos, mins, maxs, self.rate, self.offset_s)
        self.curve.setData(x, y, connect="all")


class Lane:
    """The original (split around the take's region when B is shown) and the take."""

    def __init__(self, plot: pg.PlotItem, original: str, take: str | None) -> None:
        self.original = EnvelopeCurve(plot, original, z=1)
        self.after = EnvelopeCurve(plot, original, z=1)
        self.take = EnvelopeCurve(plot, take, z=2) if take else None
        self.duration = 0.0

    def show(self, pyramid: PeakPyramid | None, rate: int, take: tuple[PeakPyramid, int, int] | None = None,
             heard: bool = False) -> None:
        """``take``: (its segment's pyramid, region start, region end) in frames of A.
        ``heard``: show timeline B (the take in place, what follows shifted)."""
        if pyramid is None:
            for c in (self.original, self.after, self.take):
                if c is not None:
                    c.set_source(None)
            self.duration = 0.0
            return
        n = pyramid.frames
        if take is None:
            self.original.set_source(pyramid, rate)
            self.after.set_source(None)
            if self.take is not None:
                self.take.set_source(None)
            self.duration = n / rate
            return
        seg, s, e = take
        shift = seg.frames - (e - s)
        if heard:
            self.original.set_source(pyramid, rate, 0.0, 0, s)
            self.after.set_source(pyramid, rate, shift / rate, e, n)
            self.duration = (n + shift) / rate
        else:
            self.original.set_source(pyramid, rate)
            self.after.set_source(None)
            self.duration = n / rate
        if self.take is not None:
            self.take.set_source(seg, rate, s / rate)

    def refresh(self, t0: float, t1: float, pixels: int) -> None:
        for c in (self.original, self.after, self.take):
            if c is not None:
                c.refresh(t0, t1, pixels)


class WaveformPlot(QObject):
    """The detail waveform: original (grey) and the selected take (accent)."""

    refreshed = Signal()

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.plot = plot
        plot.setYRange(-1.0, 1.0, padding=0.02)
        plot.hideButtons()
        plot.getAxis("left").setWidth(48)
        plot.getAxis("left").setTicks([[(-1.0, "-1"), (0.0, "0"), (1.0, "1")]])
        plot.showGrid(x=True, y=False, alpha=0.12)
        self.lane = Lane(plot, theme.ORIGINAL, theme.ACCENT)
        self.label = pg.TextItem("", color=theme.TEXT_DIM, anchor=(0, 0))
        self.label.setZValue(10)
        plot.addItem(self.label, ignoreBounds=True)
        plot.getViewBox().sigXRangeChanged.connect(self._on_range)

    def show(self, pyramid: PeakPyramid | None, rate: int, take=None, heard: bool = False) -> None:
        self.lane.show(pyramid, rate, take, heard)
        self.label.setText("take (B): what you hear" if (take is not None and heard) else "")
        self.refresh()

    def _on_range(self, *_):
        self.refresh()

    def refresh(self) -> None:
        vb = self.plot.getViewBox()
        (t0, t1), _ = vb.viewRange()
        px = max(100, int(vb.width()) or 1000)
        self.lane.refresh(t0, t1, px)
        self.label.setPos(max(0.0, t0), 1.0)
        self.refreshed.emit()


class OverviewPlot(QObject):
    """The whole clip, small, with a draggable box showing what the detail views show."""

    visible_changed = Signal(float, float)

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.plot = plot
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.hideAxis("bottom")
        plot.getAxis("left").setWidth(48)
        plot.getAxis("left").setStyle(showValues=False)
        plot.setYRange(-1.0, 1.0, padding=0.05)
        self.lane = Lane(plot, theme.ORIGINAL_DIM, theme.ACCENT_DIM)
        self.box = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 22), pen=theme.pen(theme.TEXT_DIM))
        self.box.setZValue(5)
        plot.addItem(self.box)
        self.box.sigRegionChanged.connect(self._on_box)
        self.duration = 1.0

    def show(self, pyramid: PeakPyramid | None, rate: int, take=None, heard: bool = False) -> None:
        self.lane.show(pyramid, rate, take, heard)
        self.duration = max(self.lane.duration, 1e-3)
        self.plot.setXRange(0, self.duration, padding=0)
        self.box.setBounds((0, self.duration))
        self.lane.refresh(0, self.duration, 1600)

    def _on_box(self) -> None:
        a, b = self.box.getRegion()
        self.visible_changed.emit(a, b)

    def show_visible(self, a: float, b: float) -> None:
        self.box.blockSignals(True)
        try:
            self.box.setRegion((a, b))
        finally:
            self.box.blockSignals(False)
