"""The spectrogram view: dB image filled progressively from a worker, a finer image over a
zoomed span, the take as heard, and pitch contours overlaid.

The whole-file image is one row-major float32 array (frequency rows x time columns) drawn by
an ``ImageItem`` with fixed levels and a 256-entry LUT, placed in seconds with ``setRect``
(pyqtgraph's fast path).  The GUI thread never computes it: the analysis controller's workers
send chunks, copied in here and re-uploaded at most every :data:`REFRESH_MS`.

While a take is heard (timeline B) the image shows B: the original's columns before the
region, the take's columns (computed from B by the controller) in it, and the original's
columns after it moved by the take's change in length.  When zoomed in past the whole-file
image's resolution, a second image with a finer hop covers the visible span.  Rows are bins
on the chosen scale (linear, log or mel); the frequency axis labels them in Hz, and pitch
contours are mapped onto the same rows.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Slot

from stepedit_app.audio.spectrogram import Spectrogram
from stepedit_app.gui import theme
from stepedit_app.gui.views.ruler import FrequencyAxis
from stepedit_app.gui.workers import make_timer

REFRESH_MS = 120


class SpectrogramPlot(QObject):
    """Manages the images, their progressive fill, and the pitch overlay in one plot."""

    def __init__(self, plot: pg.PlotItem, freq_axis: FrequencyAxis) -> None:
        super().__init__()
        self.plot = plot
        self.axis = freq_axis
        plot.hideButtons()
        plot.getAxis("left").setWidth(48)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(theme.spectrogram_lut())
        plot.addItem(self.image)
        self.detail = pg.ImageItem(axisOrder="row-major")
        self.detail.setLookupTable(theme.spectrogram_lut())
        self.detail.setZValue(1)
        self.detail.hide()
        plot.addItem(self.detail)
        self.pitch_original = pg.PlotDataItem(pen=theme.pen(theme.ORIGINAL, 2.0), connect="finite")
        self.pitch_take = pg.PlotDataItem(pen=theme.pen(theme.ACCENT, 2.0), connect="finite")
        for z, item in ((5, self.pitch_original), (6, self.pitch_take)):
            item.setZValue(z)
            plot.addItem(item)
        self.data: np.ndarray | None = None
        self.freqs: np.ndarray | None = None
        self.hop_s = 0.0
        self.hop = 0
        self.duration = 0.0
        self.levels = (-90.0, -10.0)
        self._levels_fixed = False
        self.columns_filled = 0
        self._dirty = False
        #: Timeline B being shown: (first column, its columns, shift in frames), or None.
        self.b: tuple[int, np.ndarray, int] | None = None
        self.shown: np.ndarray | None = None  # the array now uploaded (A, or B composed)
        self.detail_key: object = None
        self._timer = make_timer(self, REFRESH_MS, self._upload, name="spectrogram-refresh")

    # --- filling -----------------------------------------------------------------------------
    def reset(self, duration: float, total_columns: int, n_bins: int, hop: int = 0) -> None:
        self.duration = float(duration)
        self.data = np.full((n_bins, max(1, total_columns)), -200.0, dtype=np.float32)
        self.freqs = None
        self.hop = int(hop)
        self.hop_s = 0.0
        self.columns_filled = 0
        self._levels_fixed = False
        self.b = None
        self.clear_detail()
        self.image.setImage(self.data, autoLevels=False, levels=self.levels)
        self.image.setRect(QRectF(0.0, 0.0, self.duration, float(n_bins)))
        self.shown = self.data
        self.plot.setYRange(0, n_bins, padding=0)
        self.clear_pitch()

    @Slot(object)
    def add_chunk(self, chunk) -> None:
        """``chunk`` is ``(first_col, Spectrogram)`` from the worker (on the GUI thread here)."""
        first, spec = chunk
        db = np.asarray(spec.db, dtype=np.float32)
        if self.data is None:
            return
        if self.freqs is None:
            self.freqs = np.asarray(spec.freqs, dtype=np.float64)
            self.axis.set_freqs(self.freqs)
            self.hop_s = float(spec.hop_s)
        if not self._levels_fixed and db.size:
            hi = float(np.percentile(db, 99.7))
            self.levels = (hi - 80.0, hi)
            self._levels_fixed = True
        n = min(db.shape[1], self.data.shape[1] - first)
        if n > 0:
            self.data[: db.shape[0], first : first + n] = db[:, :n]
            self.columns_filled = max(self.columns_filled, first + n)
        self._dirty = True
        if not self._timer.isActive():
            self._upload()
            self._timer.start()

    def finish(self) -> None:
        self._dirty = True
        self._upload()
        self._timer.stop()

    def stop(self) -> None:
        self._timer.stop()

    def _compose(self) -> np.ndarray:
        """The image of the timeline shown: A as filled, or B spliced from it."""
        if self.b is None or self.data is None:
            return self.data
        first, cols, shift = self.b
        a = self.data
        k = cols.shape[1]
        shift_cols = int(round(shift / self.hop)) if self.hop else 0
        total = max(first + k, a.shape[1] + shift_cols)
        out = np.empty((a.shape[0], total), dtype=np.float32)
        out[:, :first] = a[:, :first]
        out[:, first : first + k] = cols
        j = np.arange(first + k, total) - shift_cols
        out[:, first + k :] = a[:, np.clip(j, 0, a.shape[1] - 1)]
        return out

    def _upload(self) -> None:
        if not self._dirty or self.data is None:
            self._timer.stop()
            return
        self._dirty = False
        img = self._compose()
        self.shown = img
        # Place columns by their true spacing (the last column may not land on the duration).
        width = img.shape[1] * self.hop_s if self.hop_s else self.duration
        self.image.setImage(img, autoLevels=False, levels=self.levels)
        self.image.setRect(QRectF(0.0, 0.0, width, float(img.shape[0])))

    # --- timeline B --------------------------------------------------------------------------
    def show_b(self, first: int, spec: Spectrogram, shift: int) -> None:
        """Show timeline B: ``spec`` (columns from ``first`` on, computed from B) spliced into
        the whole-file image, what follows moved by ``shift`` frames."""
        self.b = (int(first), np.asarray(spec.db, dtype=np.float32), int(shift))
        self._dirty = True
        self._upload()

    def show_a(self) -> None:
        if self.b is not None:
            self.b = None
            self._dirty = True
            self._upload()

    # --- zoomed detail -----------------------------------------------------------------------
    def set_detail(self, key: object, spec: Spectrogram) -> None:
        """A finer image over a span (``spec.times`` are its column centres in seconds)."""
        db = np.ascontiguousarray(spec.db, dtype=np.float32)
        if db.shape[1] == 0:
            return
        self.detail_key = key
        self.detail.setImage(db, autoLevels=False, levels=self.levels)
        t0 = float(spec.times[0]) - spec.hop_s / 2
        self.detail.setRect(QRectF(max(0.0, t0), 0.0, db.shape[1] * spec.hop_s, float(db.shape[0])))
        self.detail.show()

    def clear_detail(self) -> None:
        self.detail_key = None
        self.detail.hide()

    # --- pitch overlay -----------------------------------------------------------------------
    def _rows(self, hz: np.ndarray) -> np.ndarray:
        hz = np.asarray(hz, dtype=np.float64)
        out = np.full(hz.shape, np.nan)
        if self.freqs is None:
            return out
        ok = np.isfinite(hz) & (hz > 0)
        out[ok] = np.interp(hz[ok], self.freqs, np.arange(len(self.freqs), dtype=np.float64))
        return out

    def set_pitch(self, t_orig, f0_orig, t_take, f0_take) -> None:
        """Pitch contours in seconds of the timeline shown (0 or NaN where unvoiced)."""
        self.pitch_original.setData(np.asarray(t_orig, float), self._rows(f0_orig), connect="finite")
        if t_take is None:
            self.pitch_take.setData([], [])
        else:
            self.pitch_take.setData(np.asarray(t_take, float), self._rows(f0_take), connect="finite")

    def clear_pitch(self) -> None:
        self.pitch_original.setData([], [])
        self.pitch_take.setData([], [])
