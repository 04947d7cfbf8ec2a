"""What changed between an original region and a take, measured with the engine's analysis.

Rows use :func:`~stepedit_app.audio.analysis.measure_cues` and
:func:`~stepedit_app.audio.analysis.cue_deltas` (the functions the engine's closed loop and
``stepedit info`` use).  When the take's length differs (tempo), the pitch contour and the
spectrogram difference are aligned to the original by dynamic time warping on log-mel frames.
Voice identity is the cosine similarity of speaker embeddings from Resemblyzer (a GE2E
speaker encoder whose weights ship inside the package; see audio/identity.py).

The original region's pitch track and cues come from the session's one analysis of that
region and the take's cues from the render, so selecting a take measures only what is new.
Rows that rest on pitch (F0, range, irregularity, formants) read "n/a" with the reason when
either side has too little voiced speech to measure: a whisper's 2 % of voiced frames give a
number, but not a meaningful one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from stepedit_app.audio.analysis import (
    FRAME_PERIOD_MS,
    Cues,
    PitchTrack,
    cue_deltas,
    measure_cues,
    track_pitch,
)
from stepedit_app.audio.clip import Clip
from stepedit_app.audio.spectrogram import difference_db, spectrogram_db
from stepedit_app.engines.base import CancelToken
from stepedit_app.errors import Cancelled


@dataclass
class DiffRow:
    key: str
    label: str
    original: str
    take: str
    change: str
    value: float = float("nan")  # numeric change (units of ``change``), NaN if unknown
    #: Why the row reads "n/a" (empty when it was measured).
    reason: str = ""


@dataclass
class Diff:
    rows: list[DiffRow] = field(default_factory=list)
    f0_times_original: np.ndarray = field(default_factory=lambda: np.zeros(0))
    f0_original: np.ndarray = field(default_factory=lambda: np.zeros(0))
    f0_times_take: np.ndarray = field(default_factory=lambda: np.zeros(0))
    f0_take: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: DTW path, (original frame, take frame) pairs on the F0 frame grid (5 ms)
    path: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), int))
    #: take F0 warped onto the original's frames (0 = unvoiced)
    aligned_take_f0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    spec_diff_db: np.ndarray | None = None
    identity: float | None = None

    def row(self, key: str) -> DiffRow | None:
        return next((r for r in self.rows if r.key == key), None)


def log_mel_frames(x: np.ndarray, rate: int, hop_s: float = FRAME_PERIOD_MS / 1000.0, n_mels: int = 40) -> np.ndarray:
    """(frames x n_mels) log-mel features, one frame every ``hop_s`` (for alignment)."""
    hop = max(1, int(round(hop_s * rate)))
    n_fft = 1 << int(math.ceil(math.log2(max(64, int(0.025 * rate)))))
    s = spectrogram_db(x, rate, n_fft=n_fft, hop=hop, scale="mel", n_bins=n_mels, floor_db=-90.0)
    return s.db.T.astype(np.float64)


def dtw_path(a_feats: np.ndarray, b_feats: np.ndarray, band: float = 0.2) -> np.ndarray:
    """Dynamic-time-warping path between two feature sequences (frames x dims).

    Euclidean frame distance, steps (1,0) (0,1) (1,1), a Sakoe-Chiba band of ``band`` times
    the longer length around the diagonal (scaled for unequal lengths).  Returns (N, 2) index
    pairs from (0, 0) to (len(a)-1, len(b)-1).
    """
    na, nb = len(a_feats), len(b_feats)
    if na == 0 or nb == 0:
        return np.zeros((0, 2), int)
    # distances, row by row (memory: na x nb float32)
    a2 = (a_feats**2).sum(axis=1)[:, None]
    b2 = (b_feats**2).sum(axis=1)[None, :]
    d = np.sqrt(np.maximum(a2 + b2 - 2 * a_feats @ b_feats.T, 0.0)).astype(np.float32)
    w = max(2, int(band * max(na, nb)), abs(na - nb) + 2)
    centre = (np.arange(na) * (nb - 1) / max(1, na - 1)).astype(int)
    inf = np.float32(np.inf)
    acc = np.full((na, nb), inf, np.float32)
    for i in range(na):
        lo, hi = max(0, centre[i] - w), min(nb, centre[i] + w + 1)
        row = d[i, lo:hi].copy()
        if i == 0:
            acc[0, lo:hi] = np.cumsum(row) if lo == 0 else inf
            continue
        prev = acc[i - 1]
        up = prev[lo:hi]
        diag = np.concatenate([[prev[lo - 1] if lo > 0 else inf], prev[lo : hi - 1]])
        best = np.minimum(up, diag) + row
        # horizontal steps within the row: running minimum of (best - cumsum) + cumsum
        cs = np.cumsum(row)
        acc[i, lo:hi] = np.minimum.accumulate(best - cs) + cs
    # backtrack
    i, j = na - 1, nb - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        cands = []
        if i > 0 and j > 0:
            cands.append((acc[i - 1, j - 1], i - 1, j - 1))
        if i > 0:
            cands.append((acc[i - 1, j], i - 1, j))
        if j > 0:
            cands.append((acc[i, j - 1], i, j - 1))
        _, i, j = min(cands)
        path.append((i, j))
    return np.asarray(path[::-1], int)


def voice_identity(a: Clip, b: Clip) -> float | None:
    """Cosine similarity (0..1) of speaker embeddings (:mod:`stepedit_app.audio.identity`,
    Resemblyzer's encoder), or None when a clip is under 1 s or the measure fails.  Never
    raises."""
    if a.duration < 1.0 or b.duration < 1.0:
        return None
    try:
        from stepedit_app.audio.identity import speaker_similarity

        return speaker_similarity(a.mono(), a.rate, b.mono(), b.rate)
    except Exception:  # noqa: BLE001 - a side measure: absent rather than an error
        return None


def _f(v: float, spec: str, unit: str = "") -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:{spec}}{unit}"


#: Pitch-based measures need at least this much voiced speech on each side ...
MIN_VOICED_S = 0.15
#: ... and at least this fraction of the active speech voiced.
MIN_VOICED_FRACTION = 0.15
#: The rows that rest on voiced frames.
PITCH_ROWS = ("f0_st", "range_st", "irregularity", "f1_pct", "f2_pct")


def voicing_shortfall(cues: Cues, track: PitchTrack) -> str:
    """Why pitch-based measures of this audio are not meaningful ("" when they are)."""
    voiced_s = float(np.count_nonzero(track.f0 > 0)) * track.frame_period / 1000.0
    frac = cues.voiced_fraction
    if frac < MIN_VOICED_FRACTION or voiced_s < MIN_VOICED_S:
        return f"{frac * 100:.0f} % voiced"
    return ""


def compute_diff(original: Clip, take: Clip, identity: bool = True,
                 cancel: CancelToken | Callable[[], bool] | None = None, *,
                 original_track: PitchTrack | None = None, original_cues: Cues | None = None,
                 take_cues: Cues | None = None) -> Diff:
    """Measure ``take`` (a take's edited region) against ``original`` (the same region).

    ``cancel`` (a :class:`CancelToken` or a callable returning True to stop) is checked
    between the steps; a cancelled diff raises :class:`Cancelled`.  ``original_track`` and
    ``original_cues`` (the session's analysis of the region) and ``take_cues`` (measured when
    the take was rendered) are used instead of measuring again; they must come from
    :func:`~stepedit_app.audio.analysis.track_pitch` / ``measure_cues`` of the same audio.
    """

    def check() -> None:
        if cancel is None:
            return
        if (cancel.cancelled if isinstance(cancel, CancelToken) else cancel()):
            raise Cancelled()

    tra = original_track if original_track is not None else track_pitch(original.mono(), original.rate)
    trb = track_pitch(take.mono(), take.rate)
    check()
    ca = original_cues if original_cues is not None else measure_cues(original, track=tra)
    cb = take_cues if take_cues is not None else measure_cues(take, track=trb)
    d = cue_deltas(ca, cb)
    check()
    fa = log_mel_frames(original.mono(), original.rate)
    fb = log_mel_frames(take.mono(), take.rate)
    n_a, n_b = min(len(fa), len(tra.f0)), min(len(fb), len(trb.f0))
    if n_a == n_b:
        path = np.stack([np.arange(n_a), np.arange(n_b)], axis=1)
    else:
        path = dtw_path(fa[:n_a], fb[:n_b])
    check()
    aligned = np.zeros(len(tra.f0))
    if len(path):
        # each original frame takes the median of the take frames aligned to it
        order = np.argsort(path[:, 0], kind="stable")
        pa, pb = path[order, 0], path[order, 1]
        starts = np.searchsorted(pa, np.arange(n_a))
        ends = np.searchsorted(pa, np.arange(n_a), side="right")
        for i in range(n_a):
            vals = trb.f0[pb[starts[i] : ends[i]]]
            v = vals[vals > 0]
            aligned[i] = float(np.median(v)) if len(v) else 0.0
    sa = spectrogram_db(original.mono(), original.rate, n_fft=1024 if original.rate > 24000 else 512,
                        hop=max(1, int(round(FRAME_PERIOD_MS / 1000 * original.rate))), scale="mel", n_bins=96)
    sb = spectrogram_db(take.mono(), take.rate, n_fft=1024 if take.rate > 24000 else 512,
                        hop=max(1, int(round(FRAME_PERIOD_MS / 1000 * take.rate))), scale="mel", n_bins=96)
    spec = difference_db(sa.db, sb.db, path if n_a != n_b else None)
    check()
    ident = voice_identity(original, take) if identity else None
    rows = [
        DiffRow("f0_st", "median F0", _f(ca.median_f0_hz, ".0f", " Hz"), _f(cb.median_f0_hz, ".0f", " Hz"),
                _f(d["f0_st"], "+.1f", " st"), d["f0_st"]),
        DiffRow("range_st", "F0 range", _f(ca.f0_range_st, ".1f", " st"), _f(cb.f0_range_st, ".1f", " st"),
                _f(d["range_st"], "+.1f", " st"), d["range_st"]),
        DiffRow("tempo_pct", "tempo", "", "", _f(d["tempo_pct"], "+.0f", " %"), d["tempo_pct"]),
        DiffRow("duration", "duration", _f(ca.duration_s, ".2f", " s"), _f(cb.duration_s, ".2f", " s"),
                _f(d["duration_pct"], "+.0f", " %"), d["duration_pct"]),
        DiffRow("loudness_lu", "loudness", _f(ca.loudness_lufs, ".1f", " LUFS"), _f(cb.loudness_lufs, ".1f", " LUFS"),
                _f(d["loudness_lu"], "+.1f", " LU"), d["loudness_lu"]),
        DiffRow("tilt_db", "spectral tilt", _f(ca.tilt_db, ".1f", " dB"), _f(cb.tilt_db, ".1f", " dB"),
                _f(d["tilt_db"], "+.1f", " dB"), d["tilt_db"]),
        DiffRow("voiced", "voiced", _f(ca.voiced_fraction * 100, ".0f", " %"), _f(cb.voiced_fraction * 100, ".0f", " %"),
                _f(d["voiced_fraction"] * 100, "+.0f", " pt"), d["voiced_fraction"] * 100),
        DiffRow("f1_pct", "F1", _f(ca.f1_hz, ".0f", " Hz"), _f(cb.f1_hz, ".0f", " Hz"),
                _f(d["f1_pct"], "+.0f", " %"), d["f1_pct"]),
        DiffRow("f2_pct", "F2", _f(ca.f2_hz, ".0f", " Hz"), _f(cb.f2_hz, ".0f", " Hz"),
                _f(d["f2_pct"], "+.0f", " %"), d["f2_pct"]),
        DiffRow("irregularity", "irregularity", _f(ca.f0_irregularity_cents, ".0f", " ct"),
                _f(cb.f0_irregularity_cents, ".0f", " ct"), _f(d["irregularity_ratio"], ".2f", "x"),
                d["irregularity_ratio"]),
    ]
    if ident is not None:
        rows.append(DiffRow("identity", "voice identity", "1.00", f"{ident:.2f}", f"{ident:.2f}", ident))
    short_o, short_t = voicing_shortfall(ca, tra), voicing_shortfall(cb, trb)
    if short_o or short_t:
        why = "; ".join(p for p in (short_o and f"original {short_o}", short_t and f"take {short_t}") if p)
        for row in rows:
            if row.key in PITCH_ROWS:
                row.reason = (f"not measured: {why} (pitch and formant measures need "
                              f"{MIN_VOICED_FRACTION * 100:.0f} % voiced and {MIN_VOICED_S:.2f} s of voicing)")
                row.change, row.value = f"n/a ({why})", float("nan")
                if short_o:
                    row.original = "n/a"
                if short_t:
                    row.take = "n/a"
    return Diff(rows, tra.times, tra.f0, trb.times, trb.f0, path, aligned, spec, ident)
