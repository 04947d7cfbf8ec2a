"""The diff panel: what a take changed, measured, against the original.

Three small time-aligned plots of the region (waveforms overlaid, pitch contours overlaid,
spectrogram difference in dB) and a table of measured changes.  The numbers come from
:func:`stepedit_app.session.diff.compute_diff`, which uses the analysis functions the engine
uses; it runs on a worker, this widget only draws its result.  When the take's length differs
from the region's, the take is drawn on the original's time axis through the DTW path.  With
no take selected the panel shows one line instead of empty plots (whose axes would crowd
each other); rows that could not be measured read "n/a" with the reason.

What the engine flagged about the take (:attr:`~stepedit_app.session.takes.Take.flags`) is
listed under the title, one short line each (:func:`~stepedit_app.engines.base.flag_notes`:
a pass kept whole because its alignment failed, the band the engine's output lacks, pieces,
limiting, mono), with the figures behind them in the tooltip; a band limit is also drawn on
the spectrogram difference, where the lost band above it shows as the take being quieter.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stepedit_app.audio.peaks import PeakPyramid
from stepedit_app.audio.spectrogram import row_frequencies
from stepedit_app.engines.base import flag_notes
from stepedit_app.gui import theme
from stepedit_app.gui.views.ruler import TimeAxis
from stepedit_app.gui.views.waveform import _zigzag


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return "—"
    return f"{f:.2f}" if abs(f) < 10 else f"{f:.1f}"


def _warp(path, hop_s: float):
    """(take_seconds, original_seconds) pairs from a DTW path of frame indices, monotonic."""
    p = np.asarray(path, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 2:
        return None
    orig = p[:, 0] * hop_s
    take = p[:, 1] * hop_s
    order = np.argsort(take, kind="stable")
    take, orig = take[order], orig[order]
    take_u, idx = np.unique(take, return_index=True)
    return take_u, orig[idx]


class DiffView(QWidget):
    """Header, overlay plots and the table of measured changes."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("diff")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 6)
        lay.setSpacing(4)
        self.title = QLabel("DIFF")
        self.title.setObjectName("sectionTitle")
        lay.addWidget(self.title)
        self.flags_label = QLabel("")
        self.flags_label.setObjectName("diffFlags")
        self.flags_label.setWordWrap(True)
        self.flags_label.setStyleSheet(f"color: {theme.ACCENT};")
        self.flags_label.hide()
        lay.addWidget(self.flags_label)
        self.flags: dict = {}
        self.stack = QStackedWidget()
        lay.addWidget(self.stack, 1)
        self.placeholder = QLabel("")
        self.placeholder.setObjectName("diffPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.stack.addWidget(self.placeholder)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.stack.addWidget(split)
        self.content = split
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.ci.setContentsMargins(2, 2, 2, 2)
        self.plots.ci.setSpacing(1)
        self.wave = self.plots.addPlot(row=0, col=0)
        self.pitch = self.plots.addPlot(row=1, col=0)
        self.spec = self.plots.addPlot(row=2, col=0, axisItems={"bottom": TimeAxis(orientation="bottom")})
        for p, label in ((self.wave, "wave"), (self.pitch, "pitch"), (self.spec, "Δ dB")):
            p.hideButtons()
            p.setMouseEnabled(x=True, y=False)
            p.getAxis("left").setWidth(44)
            p.setLabel("left", label)
            if p is not self.spec:
                p.hideAxis("bottom")
                p.setXLink(self.spec)
        self.wave.setYRange(-1, 1, padding=0.02)
        self.wave.getAxis("left").setStyle(showValues=False)
        self.wave_orig = pg.PlotDataItem(pen=theme.pen(theme.ORIGINAL))
        self.wave_take = pg.PlotDataItem(pen=theme.pen(theme.ACCENT, alpha=200))
        self.pitch_orig = pg.PlotDataItem(pen=theme.pen(theme.ORIGINAL, 2), connect="finite")
        self.pitch_take = pg.PlotDataItem(pen=theme.pen(theme.ACCENT, 2), connect="finite")
        for plot, item in ((self.wave, self.wave_orig), (self.wave, self.wave_take),
                           (self.pitch, self.pitch_orig), (self.pitch, self.pitch_take)):
            plot.addItem(item)
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        self.pitch.setLogMode(False, False)
        self.spec_img = pg.ImageItem(axisOrder="row-major")
        self.spec_img.setLookupTable(theme.difference_lut())
        self.spec.addItem(self.spec_img)
        self.spec.getAxis("left").setStyle(showValues=False)
        # The band a band-limited engine's output lacks (nothing above 12 kHz from a 24 kHz model).
        self.band = pg.LinearRegionItem(orientation="horizontal", movable=False,
                                        brush=pg.mkBrush(70, 140, 255, 40), pen=theme.pen(theme.REGION_EDGE, 1, 160))
        self.band.setZValue(10)
        self.band_text = pg.TextItem("", color=theme.TEXT, anchor=(0, 0))
        self.band_text.setZValue(11)
        self.spec.addItem(self.band)
        self.spec.addItem(self.band_text)
        self.band.hide()
        self.band_text.hide()
        split.addWidget(self.plots)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["measure", "original", "take", "change"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        hh = self.table.horizontalHeader()
        # the numbers never elide; the measure name takes what is left
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumWidth(390)
        split.addWidget(self.table)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([430, 430])
        self.diff = None
        self.clear("Select a take to see what it changed.")

    def clear(self, message: str = "") -> None:
        """No diff: one line in place of the plots and the table."""
        self.diff = None
        self.title.setText("DIFF")
        self.placeholder.setText(message)
        for item in (self.wave_orig, self.wave_take, self.pitch_orig, self.pitch_take):
            item.setData([], [])
        self.spec_img.clear()
        self.table.setRowCount(0)
        self.show_flags({})
        self.stack.setCurrentWidget(self.placeholder)

    def show_pending(self, take_name: str, flags: dict | None = None) -> None:
        self.title.setText(f"DIFF   {take_name} vs original — measuring…")
        if flags is not None:
            self.show_flags(flags)

    def show_flags(self, flags: dict) -> None:
        """List what the engine flagged about the take (nothing when it flagged nothing)."""
        self.flags = dict(flags or {})
        notes = flag_notes(self.flags)
        details: list[str] = []
        for name, a in (self.flags.get("alignment") or {}).items():
            verdict = "aligned" if a.get("ok") else f"not aligned ({a.get('reason') or 'content changed'})"
            details.append(f"{name}: alignment cost {a.get('cost', float('nan')):.2f}, {verdict}")
        eng = self.flags.get("engine") or {}
        if eng:
            mem = eng.get("peak_mem_mb")
            details.append(f"engine: generation {eng.get('generation')}, on {eng.get('device')}, "
                           f"{eng.get('passes')} pass(es), {eng.get('model_s')} s in the model"
                           + (f", peak {mem:.0f} MB" if mem else ""))
        self.flags_label.setText("\n".join(f"⚑ {n}" for n in notes))
        self.flags_label.setToolTip("\n".join(notes + details))
        self.flags_label.setVisible(bool(notes))
        self._draw_band()

    def _draw_band(self, rate: int | None = None) -> None:
        limit = self.flags.get("band_limit_hz")
        rate = rate or getattr(self, "_rate", None)
        rows = self.spec_img.image.shape[0] if self.spec_img.image is not None else 0
        if not limit or not rate or not rows or limit >= rate / 2:
            self.band.hide()
            self.band_text.hide()
            return
        # The difference image has one row per mel band (see session.diff): place the limit there.
        freqs = row_frequencies(rate, 1024 if rate > 24000 else 512, "mel", rows)
        y = float(np.interp(limit, freqs, np.arange(rows))) + 0.5
        self.band.setRegion((y, float(rows)))
        self.band_text.setText(f"nothing above {limit / 1000:.0f} kHz")
        self.band_text.setPos(0.0, float(rows))
        self.band.show()
        self.band_text.show()

    def show_failed(self, take_name: str, line: str) -> None:
        self.clear(f"could not measure {take_name}: {line}")

    def show_diff(self, diff, original_segment: np.ndarray, take_segment: np.ndarray, rate: int,
                  take_name: str, flags: dict | None = None) -> None:
        """Draw ``diff`` (a :class:`~stepedit_app.session.diff.Diff`) for one take, with what the
        engine flagged about it (``take.flags``)."""
        self.diff = diff
        self._rate = rate
        self.title.setText(f"DIFF   {take_name} vs original")
        self.stack.setCurrentWidget(self.content)
        dur = original_segment.shape[0] / rate
        t_o = np.asarray(diff.f0_times_original, dtype=np.float64)
        hop = float(t_o[1] - t_o[0]) if len(t_o) > 1 else 0.005
        warp = None
        if take_segment.shape[0] != original_segment.shape[0] and getattr(diff, "path", None) is not None:
            warp = _warp(diff.path, hop)
        # Waveforms.
        n = 1200
        po, mino, maxo = PeakPyramid(original_segment).envelope(0, original_segment.shape[0], n)
        x, y = _zigzag(po, mino, maxo, rate)
        self.wave_orig.setData(x, y, connect="all")
        pt, mint, maxt = PeakPyramid(take_segment).envelope(0, take_segment.shape[0], n)
        x, y = _zigzag(pt, mint, maxt, rate)
        if warp is not None:
            x = np.interp(x, warp[0], warp[1])
        self.wave_take.setData(x, y, connect="all")
        # Pitch: original and the take aligned onto the original's frames.
        f0o = np.asarray(diff.f0_original, dtype=np.float64)
        f0o = np.where(f0o > 0, f0o, np.nan)
        self.pitch_orig.setData(t_o, f0o, connect="finite")
        aligned = getattr(diff, "aligned_take_f0", None)
        if aligned is not None and len(aligned) == len(t_o):
            f0t = np.where(np.asarray(aligned) > 0, aligned, np.nan).astype(np.float64)
            self.pitch_take.setData(t_o, f0t, connect="finite")
        else:
            t_t = np.asarray(diff.f0_times_take, dtype=np.float64)
            f0t = np.where(np.asarray(diff.f0_take) > 0, diff.f0_take, np.nan).astype(np.float64)
            self.pitch_take.setData(t_t, f0t, connect="finite")
        both = np.concatenate([f0o[np.isfinite(f0o)], f0t[np.isfinite(f0t)]])
        if both.size:
            lo, hi = np.percentile(both, [1, 99])
            self.pitch.setYRange(lo * 0.85, hi * 1.15, padding=0)
        # Spectrogram difference.
        sd = getattr(diff, "spec_diff_db", None)
        if sd is not None and np.size(sd):
            sd = np.ascontiguousarray(sd, dtype=np.float32)
            self.spec_img.setImage(sd, autoLevels=False, levels=(-18.0, 18.0))
            self.spec_img.setRect(QRectF(0.0, 0.0, dur, float(sd.shape[0])))
            self.spec.setYRange(0, sd.shape[0], padding=0)
        self.spec.setXRange(0, dur, padding=0)
        self.show_flags(flags if flags is not None else {})
        # Table.
        rows = list(diff.rows)
        self.table.setRowCount(len(rows))
        accent = QColor(theme.ACCENT)
        grey = QColor(theme.ORIGINAL)
        dim = QColor(theme.TEXT_DIM)
        for i, row in enumerate(rows):
            cells = [row.label, _fmt(row.original), _fmt(row.take), _fmt(row.change)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if row.reason:
                    item.setToolTip(row.reason)
                if c == 1:
                    item.setForeground(grey)
                elif c in (2, 3):
                    item.setForeground(dim if row.reason else accent)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, c, item)

    def row_values(self) -> dict[str, str]:
        """``{measure: change}`` as shown (for tests and the status bar)."""
        return {self.table.item(i, 0).text(): self.table.item(i, 3).text() for i in range(self.table.rowCount())}

    def row_reasons(self) -> dict[str, str]:
        """``{measure: why it reads n/a}`` for rows that could not be measured."""
        return {self.table.item(i, 0).text(): self.table.item(i, 3).toolTip()
                for i in range(self.table.rowCount()) if self.table.item(i, 3).toolTip()}
