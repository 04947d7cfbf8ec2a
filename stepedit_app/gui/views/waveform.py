"""Waveform views: an overview of the whole clip and a zoomable detail plot.

Both draw min/max envelopes from a :class:`~stepedit_app.audio.peaks.PeakPyramid` (Sonic
Visualiser's multi-resolution peak caches), so a 60-minute file costs the same per repaint as
a 5-second one: each repaint asks the pyramid for about two points per pixel of the visible
span.  The curve is drawn as a vertical zig-zag between each point's min and max, which at that
density reads as a filled waveform.  The original is grey, the selected take (its edited
segment, placed at the region) is the accent colour.
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
    """One clip's waveform in one plot, recomputed for the visible span."""

    def __init__(self, plot: pg.PlotItem, colour: str, width: float = 1.0, z: float = 0.0) -> None:
        self.curve = pg.PlotDataItem(pen=theme.pen(colour, width))
        self.curve.setZValue(z)
        plot.addItem(self.curve)
        # pyqtgraph's own advice for long curves, set after addItem.
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.pyramid: PeakPyramid | None = None
        self.rate = 1
        self.frames = 0
        self.offset_s = 0.0

    def set_samples(self, samples: np.ndarray | None, rate: int, offset_s: float = 0.0,
                    pyramid: PeakPyramid | None = None) -> None:
        if samples is None:
            self.pyramid = None
            self.curve.setData([], [])
            return
        self.pyramid = pyramid if pyramid is not None else PeakPyramid(samples)
        self.rate = int(rate)
        self.frames = int(samples.shape[0])
        self.offset_s = float(offset_s)

    def refresh(self, t0: float, t1: float, pixels: int) -> None:
        if self.pyramid is None:
            return
        start = int(max(0, np.floor((t0 - self.offset_s) * self.rate)))
        end = int(min(self.frames, np.ceil((t1 - self.offset_s) * self.rate) + 1))
        if end - start < 2:
            self.curve.setData([], [])
            return
        n = int(max(64, min(2 * pixels, end - start)))
        pos, mins, maxs = self.pyramid.envelope(start, end, n)
        x, y = _zigzag(pos, mins, maxs, self.rate, self.offset_s)
        self.curve.setData(x, y, connect="all")


class WaveformPlot(QObject):
    """The detail waveform: original (grey) and the selected take (accent) overlaid."""

    refreshed = Signal()

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.plot = plot
        plot.setYRange(-1.0, 1.0, padding=0.02)
        plot.hideButtons()
        plot.getAxis("left").setWidth(48)
        plot.getAxis("left").setTicks([[(-1.0, "-1"), (0.0, "0"), (1.0, "1")]])
        plot.showGrid(x=True, y=False, alpha=0.12)
        self.original = EnvelopeCurve(plot, theme.ORIGINAL, z=1)
        self.take = EnvelopeCurve(plot, theme.ACCENT, z=2)
        self.label = pg.TextItem("", color=theme.TEXT_DIM, anchor=(0, 0))
        self.label.setZValue(10)
        plot.addItem(self.label, ignoreBounds=True)
        plot.getViewBox().sigXRangeChanged.connect(self._on_range)

    def set_clip(self, samples: np.ndarray, rate: int, pyramid: PeakPyramid | None = None) -> None:
        self.original.set_samples(samples, rate, pyramid=pyramid)
        self.take.set_samples(None, rate)
        self.refresh()

    def set_take(self, segment: np.ndarray | None, rate: int, start_s: float = 0.0) -> None:
        self.take.set_samples(segment, rate, offset_s=start_s)
        if segment is None:
            self.take.curve.setData([], [])
        self.refresh()

    def _on_range(self, *_):
        self.refresh()

    def refresh(self) -> None:
        vb = self.plot.getViewBox()
        (t0, t1), _ = vb.viewRange()
        px = max(100, int(vb.width()) or 1000)
        self.original.refresh(t0, t1, px)
        self.take.refresh(t0, t1, px)
        self.label.setPos(t0, 1.0)
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
        self.curve = EnvelopeCurve(plot, theme.ORIGINAL_DIM)
        self.box = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 22), pen=theme.pen(theme.TEXT_DIM))
        self.box.setZValue(5)
        plot.addItem(self.box)
        self.box.sigRegionChanged.connect(self._on_box)
        self.duration = 1.0

    def set_clip(self, samples: np.ndarray, rate: int, pyramid: PeakPyramid | None = None) -> None:
        self.curve.set_samples(samples, rate, pyramid=pyramid)
        self.duration = samples.shape[0] / rate
        self.plot.setXRange(0, self.duration, padding=0)
        self.box.setBounds((0, self.duration))
        self.curve.refresh(0, self.duration, 1600)

    def _on_box(self) -> None:
        a, b = self.box.getRegion()
        self.visible_changed.emit(a, b)

    def show_visible(self, a: float, b: float) -> None:
        self.box.blockSignals(True)
        try:
            self.box.setRegion((a, b))
        finally:
            self.box.blockSignals(False)
