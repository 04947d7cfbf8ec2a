"""The time-linked stack: overview, waveform, spectrogram and the time ruler, in one scene.

One ``GraphicsLayoutWidget`` holds all three plots so they repaint together; the waveform and
spectrogram share their time axis (``setXLink``) and the spectrogram's bottom axis is the
ruler.  The selected region and the playhead are drawn in every plot.  Dragging in either view
selects (``SelectViewBox``); the region's edges can then be dragged; only the end of a drag
(``sigRegionChangeFinished``) reaches the model.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot

from stepedit_app.audio.peaks import PeakPyramid
from stepedit_app.gui import theme
from stepedit_app.gui.views.ruler import FrequencyAxis, SelectViewBox, TimeAxis
from stepedit_app.gui.views.spectrogram import SpectrogramPlot
from stepedit_app.gui.views.waveform import OverviewPlot, WaveformPlot


class TimelineView(pg.GraphicsLayoutWidget):
    """Overview + waveform + spectrogram + ruler, with region selection and a playhead."""

    #: A region was selected or its edges moved (seconds); emitted when the drag ends.
    selection_finished = Signal(float, float)
    select_all = Signal()
    #: A click without drag: move the play cursor there (seconds).
    cursor_clicked = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.ci.setContentsMargins(4, 4, 8, 4)
        self.ci.setSpacing(2)
        self.overview_plot = self.addPlot(row=0, col=0)
        self.wave_vb = SelectViewBox()
        self.wave_plot = self.addPlot(row=1, col=0, viewBox=self.wave_vb)
        self.spec_vb = SelectViewBox()
        self.freq_axis = FrequencyAxis(orientation="left")
        self.time_axis = TimeAxis(orientation="bottom")
        self.spec_plot = self.addPlot(row=2, col=0, viewBox=self.spec_vb,
                                      axisItems={"left": self.freq_axis, "bottom": self.time_axis})
        self.ci.layout.setRowStretchFactor(0, 1)
        self.ci.layout.setRowStretchFactor(1, 4)
        self.ci.layout.setRowStretchFactor(2, 4)
        self.wave_plot.hideAxis("bottom")
        self.wave_plot.setXLink(self.spec_plot)
        self.overview = OverviewPlot(self.overview_plot)
        self.waveform = WaveformPlot(self.wave_plot)
        self.spectrogram = SpectrogramPlot(self.spec_plot, self.freq_axis)
        self.spec_vb.setLimits(yMin=0)
        for vb in (self.wave_vb, self.spec_vb):
            vb.selecting.connect(self._on_selecting)
            vb.selected.connect(self._on_selected)
            vb.select_all.connect(self.select_all)
            vb.clicked.connect(self.cursor_clicked)
        self.wave_vb.sigXRangeChanged.connect(self._on_detail_range)
        self.overview.visible_changed.connect(self._on_overview_box)
        self.regions: list[pg.LinearRegionItem] = []
        for plot in (self.wave_plot, self.spec_plot, self.overview_plot):
            r = pg.LinearRegionItem(brush=pg.mkBrush(*theme.REGION), pen=theme.pen(theme.REGION_EDGE, 1.5),
                                    hoverBrush=pg.mkBrush(*theme.REGION[:3], 70), movable=plot is not self.overview_plot)
            r.setZValue(3)
            r.hide()
            plot.addItem(r, ignoreBounds=True)
            r.sigRegionChanged.connect(self._on_region_dragging)
            r.sigRegionChangeFinished.connect(self._on_region_finished)
            self.regions.append(r)
        self.playheads: list[pg.InfiniteLine] = []
        for plot in (self.wave_plot, self.spec_plot, self.overview_plot):
            line = pg.InfiniteLine(pos=0.0, angle=90, movable=False, pen=theme.pen(theme.PLAYHEAD, 1.5))
            line.setZValue(20)
            plot.addItem(line, ignoreBounds=True)
            self.playheads.append(line)
        self.duration = 0.0
        self._syncing = False

    # --- clip --------------------------------------------------------------------------------
    def set_clip(self, samples: np.ndarray, rate: int, pyramid: PeakPyramid | None = None) -> None:
        pyramid = pyramid if pyramid is not None else PeakPyramid(samples)
        self.duration = samples.shape[0] / rate
        for vb in (self.wave_vb, self.spec_vb):
            vb.setLimits(xMin=0.0, xMax=self.duration, minXRange=min(0.002, self.duration))
        self.overview.set_clip(samples, rate, pyramid)
        self.waveform.set_clip(samples, rate, pyramid)
        self.wave_plot.setXRange(0.0, self.duration, padding=0)
        self.overview.show_visible(0.0, self.duration)
        self.set_region(None)
        self.set_playhead(0.0)

    def set_take(self, segment: np.ndarray | None, rate: int, start_s: float) -> None:
        self.waveform.set_take(segment, rate, start_s)

    def zoom_to(self, a: float, b: float) -> None:
        self.wave_plot.setXRange(a, b, padding=0)

    # --- region ------------------------------------------------------------------------------
    def set_region(self, span: tuple[float, float] | None) -> None:
        """Show the model's region (no signals are emitted)."""
        self._syncing = True
        try:
            for r in self.regions:
                r.blockSignals(True)
                if span is None:
                    r.hide()
                else:
                    r.setRegion(span)
                    r.show()
                r.blockSignals(False)
        finally:
            self._syncing = False

    def region_span(self) -> tuple[float, float] | None:
        r = self.regions[0]
        return tuple(r.getRegion()) if r.isVisible() else None

    @Slot(float, float)
    def _on_selecting(self, a: float, b: float) -> None:
        self.set_region((max(0.0, a), min(self.duration, b)))

    @Slot(float, float)
    def _on_selected(self, a: float, b: float) -> None:
        a, b = max(0.0, a), min(self.duration, b)
        self.set_region((a, b))
        self.selection_finished.emit(a, b)

    def _on_region_dragging(self, item) -> None:
        if self._syncing:
            return
        span = item.getRegion()
        self._syncing = True
        try:
            for r in self.regions:
                if r is not item:
                    r.blockSignals(True)
                    r.setRegion(span)
                    r.blockSignals(False)
        finally:
            self._syncing = False

    def _on_region_finished(self, item) -> None:
        if self._syncing:
            return
        a, b = item.getRegion()
        self.selection_finished.emit(float(a), float(b))

    # --- visible span ------------------------------------------------------------------------
    def _on_detail_range(self, _vb, rng) -> None:
        self.overview.show_visible(*rng)

    @Slot(float, float)
    def _on_overview_box(self, a: float, b: float) -> None:
        if b > a:
            self.wave_plot.setXRange(a, b, padding=0)

    # --- playhead ----------------------------------------------------------------------------
    def set_playhead(self, t: float) -> None:
        for line in self.playheads:
            line.setValue(t)
