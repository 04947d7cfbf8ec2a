"""The time-linked stack: overview, waveform, spectrogram and the time ruler, in one scene.

One ``GraphicsLayoutWidget`` holds all three plots so they repaint together; the waveform and
spectrogram share their time axis (``setXLink``) and the spectrogram's bottom axis is the
ruler.  The selected region and the playhead are drawn in every plot.

The views show one timeline: the original (A), or, while a take is heard, timeline B (the
take in its region, what follows shifted; see :mod:`stepedit_app.audio.timeline`).  The
selection is kept in A's frames by the state; this view maps it to the timeline shown and
maps what the mouse does back to A.  Dragging always starts a new selection (the region's
edges can be dragged to adjust it; its body cannot be moved), Shift-drag extends it; only the
end of a drag reaches the model.
"""

from __future__ import annotations

import weakref

import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot

from stepedit_app.audio.clip import Region
from stepedit_app.audio.peaks import PeakPyramid
from stepedit_app.audio.timeline import ABTimeline
from stepedit_app.gui import theme
from stepedit_app.gui.views.ruler import FrequencyAxis, SelectViewBox, TimeAxis
from stepedit_app.gui.views.spectrogram import SpectrogramPlot
from stepedit_app.gui.views.waveform import OverviewPlot, WaveformPlot
from stepedit_app.gui.workers import make_timer
from stepedit_app.session.takes import Take

DETAIL_DEBOUNCE_MS = 150


class TimelineView(pg.GraphicsLayoutWidget):
    """Overview + waveform + spectrogram + ruler, with region selection and a playhead.

    Signals
    -------
    selection_finished(float, float)
        A region was selected or its edges moved (seconds of the original); end of a drag.
    select_all()
        A double click.
    cursor_clicked(float)
        A click without a drag (seconds of the original).
    detail_wanted(float, float, int)
        The visible span (seconds of the timeline shown) and its width in pixels, after the
        view settled: the spectrogram may need a finer image there.
    """

    selection_finished = Signal(float, float)
    select_all = Signal()
    cursor_clicked = Signal(float)
    detail_wanted = Signal(float, float, int)

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
            # Time starts at zero, with or without a file.
            vb.setLimits(xMin=0.0)
            vb.setXRange(0.0, 1.0, padding=0)
            vb.selecting.connect(self._on_selecting)
            vb.selected.connect(self._on_selected)
            vb.select_all.connect(self.select_all)
            vb.clicked.connect(self._on_clicked)
        self.wave_vb.sigXRangeChanged.connect(self._on_detail_range)
        self.overview.visible_changed.connect(self._on_overview_box)
        self.regions: list[pg.LinearRegionItem] = []
        for plot in (self.wave_plot, self.spec_plot, self.overview_plot):
            edges = plot is not self.overview_plot
            r = pg.LinearRegionItem(brush=pg.mkBrush(*theme.REGION), pen=theme.pen(theme.REGION_EDGE, 1.5),
                                    hoverBrush=pg.mkBrush(*theme.REGION), movable=edges)
            # Only the edges move; a drag on the body starts a new selection (Audacity, RX).
            r.movable = False
            r.setAcceptHoverEvents(False)
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
        self.rate = 1
        self.frames = 0
        self.pyramid: PeakPyramid | None = None
        #: A/B map while timeline B is shown (None: the original).
        self.map: ABTimeline | None = None
        self.take: Take | None = None
        self._region_a: Region | None = None
        self._take_peaks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._syncing = False
        self.detail_timer = make_timer(self, DETAIL_DEBOUNCE_MS, self._emit_detail, single_shot=True,
                                       name="detail-debounce")

    # --- clip and timeline -------------------------------------------------------------------
    def set_clip(self, pyramid: PeakPyramid | None, rate: int) -> None:
        self.pyramid, self.rate = pyramid, int(rate)
        self.frames = pyramid.frames if pyramid is not None else 0
        self.map, self.take = None, None
        self._show_lanes(None, False)
        self.wave_plot.setXRange(0.0, max(self.duration, 1e-3), padding=0)
        self.overview.show_visible(0.0, self.duration)
        self.set_region(None)
        self.set_playhead(0.0)

    def show_take(self, take: Take | None, heard: bool) -> None:
        """Show the original with ``take`` overlaid, or (``heard``) timeline B of ``take``."""
        heard = bool(heard and take is not None)
        self.take = take
        self.map = (ABTimeline.for_take(self.frames, (take.region.start, take.region.end), take.segment.frames)
                    if heard else None)
        self._show_lanes(take, heard)
        self.spectrogram.clear_detail()
        self.set_region(self._region_a)
        self.detail_timer.start()

    @property
    def heard(self) -> bool:
        return self.map is not None

    def _show_lanes(self, take: Take | None, heard: bool) -> None:
        t = None
        if take is not None:
            seg = self._take_peaks.get(take.segment)
            if seg is None:  # a take's segment is immutable: so is its pyramid
                seg = self._take_peaks[take.segment] = PeakPyramid(take.segment.samples)
            t = (seg, take.region.start, take.region.end)
        self.waveform.show(self.pyramid, self.rate, t, heard)
        self.overview.show(self.pyramid, self.rate, t, heard)
        self.duration = self.overview.lane.duration
        for vb in (self.wave_vb, self.spec_vb):
            vb.setLimits(xMin=0.0, xMax=max(self.duration, 1e-3), minXRange=min(0.002, max(self.duration, 1e-3)))

    def zoom_to(self, a: float, b: float) -> None:
        """Show ``a..b`` seconds of the original."""
        self.wave_plot.setXRange(self.to_view(a), self.to_view(b), padding=0)

    def visible_span(self) -> tuple[float, float]:
        (t0, t1), _ = self.wave_vb.viewRange()
        return float(t0), float(t1)

    # --- coordinates -------------------------------------------------------------------------
    def to_view(self, seconds_a: float) -> float:
        if self.map is None:
            return seconds_a
        return float(self.map.a_to_b_array(seconds_a * self.rate)) / self.rate

    def to_original(self, seconds_view: float) -> float:
        if self.map is None:
            return seconds_view
        return float(self.map.b_to_a_array(seconds_view * self.rate)) / self.rate

    # --- region ------------------------------------------------------------------------------
    def set_region(self, region: Region | None) -> None:
        """Show the model's region (frames of the original; no signals are emitted)."""
        self._region_a = region
        span = None
        if region is not None and self.rate:
            span = (self.to_view(region.start / self.rate), self.to_view(region.end / self.rate))
        self._show_span(span)

    def _show_span(self, span: tuple[float, float] | None) -> None:
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
            for vb in (self.wave_vb, self.spec_vb):
                vb.span = span
        finally:
            self._syncing = False

    def region_span(self) -> tuple[float, float] | None:
        r = self.regions[0]
        return tuple(r.getRegion()) if r.isVisible() else None

    @Slot(float, float)
    def _on_selecting(self, a: float, b: float) -> None:
        self._show_span((max(0.0, a), min(self.duration, b)))

    @Slot(float, float)
    def _on_selected(self, a: float, b: float) -> None:
        a, b = max(0.0, a), min(self.duration, b)
        self.selection_finished.emit(self.to_original(a), self.to_original(b))

    @Slot(float)
    def _on_clicked(self, t: float) -> None:
        self.cursor_clicked.emit(self.to_original(max(0.0, t)))

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
        self.selection_finished.emit(self.to_original(float(a)), self.to_original(float(b)))

    # --- visible span ------------------------------------------------------------------------
    def _on_detail_range(self, _vb, rng) -> None:
        self.overview.show_visible(*rng)
        self.detail_timer.start()

    def _emit_detail(self) -> None:
        t0, t1 = self.visible_span()
        self.detail_wanted.emit(max(0.0, t0), min(self.duration, t1), max(1, int(self.wave_vb.width())))

    @Slot(float, float)
    def _on_overview_box(self, a: float, b: float) -> None:
        if b > a:
            self.wave_plot.setXRange(a, b, padding=0)

    # --- playhead ----------------------------------------------------------------------------
    def set_playhead(self, t: float) -> None:
        """Seconds of the timeline shown."""
        for line in self.playheads:
            line.setValue(t)
