"""The spectrogram view: dB image filled progressively from a worker, with pitch overlaid.

The image is one row-major float32 array (frequency rows x time columns) drawn by an
``ImageItem`` with fixed levels and a 256-entry LUT, placed in seconds with ``setRect``
(pyqtgraph's fast path).  The GUI thread never computes it: a worker iterates
:func:`~stepedit_app.audio.spectrogram.iter_spectrogram` and each chunk is copied into the
array; the image is re-uploaded at most every :data:`REFRESH_MS` so a long file's hundreds of
chunks do not flood the event loop.  Rows are bins on the chosen scale (linear, log or mel);
the frequency axis labels them in Hz, and pitch contours are mapped onto the same rows.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Slot

from stepedit_app.gui import theme
from stepedit_app.gui.views.ruler import FrequencyAxis
from stepedit_app.gui.workers import make_timer

REFRESH_MS = 120
#: Columns of the whole-file image; long files use a larger hop to stay near this.
MAX_COLUMNS = 16000
N_FFT = 1024
N_BINS = 256


def choose_hop(frames: int, n_fft: int = N_FFT) -> int:
    """A hop that keeps the whole-file image under :data:`MAX_COLUMNS` columns."""
    return int(max(n_fft // 4, int(np.ceil(frames / MAX_COLUMNS))))


class SpectrogramPlot(QObject):
    """Manages the image, its progressive fill, and the pitch overlay in one plot."""

    def __init__(self, plot: pg.PlotItem, freq_axis: FrequencyAxis) -> None:
        super().__init__()
        self.plot = plot
        self.axis = freq_axis
        plot.hideButtons()
        plot.getAxis("left").setWidth(48)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(theme.spectrogram_lut())
        plot.addItem(self.image)
        self.pitch_original = pg.PlotDataItem(pen=theme.pen(theme.ORIGINAL, 2.0), connect="finite")
        self.pitch_take = pg.PlotDataItem(pen=theme.pen(theme.ACCENT, 2.0), connect="finite")
        for z, item in ((5, self.pitch_original), (6, self.pitch_take)):
            item.setZValue(z)
            plot.addItem(item)
        self.data: np.ndarray | None = None
        self.freqs: np.ndarray | None = None
        self.hop_s = 0.0
        self.duration = 0.0
        self.levels = (-90.0, -10.0)
        self._levels_fixed = False
        self.columns_filled = 0
        self._dirty = False
        self._timer = make_timer(self, REFRESH_MS, self._upload, name="spectrogram-refresh")

    # --- filling -----------------------------------------------------------------------------
    def reset(self, duration: float, total_columns: int, n_bins: int) -> None:
        self.duration = float(duration)
        self.data = np.full((n_bins, max(1, total_columns)), -200.0, dtype=np.float32)
        self.freqs = None
        self.columns_filled = 0
        self._levels_fixed = False
        self.image.setImage(self.data, autoLevels=False, levels=self.levels)
        self.image.setRect(QRectF(0.0, 0.0, self.duration, float(n_bins)))
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
        self._upload()
        self._timer.stop()

    def stop(self) -> None:
        self._timer.stop()

    def _upload(self) -> None:
        if not self._dirty or self.data is None:
            self._timer.stop()
            return
        self._dirty = False
        # Place columns by their true spacing (the last column may not land on the duration).
        width = self.data.shape[1] * self.hop_s if self.hop_s else self.duration
        self.image.setImage(self.data, autoLevels=False, levels=self.levels)
        self.image.setRect(QRectF(0.0, 0.0, width, float(self.data.shape[0])))

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
        """Pitch contours in seconds on the source timeline (0 or NaN where unvoiced)."""
        self.pitch_original.setData(np.asarray(t_orig, float), self._rows(f0_orig), connect="finite")
        if t_take is None:
            self.pitch_take.setData([], [])
        else:
            self.pitch_take.setData(np.asarray(t_take, float), self._rows(f0_take), connect="finite")

    def clear_pitch(self) -> None:
        self.pitch_original.setData([], [])
        self.pitch_take.setData([], [])
