"""Peak pyramids and display spectrograms."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stepedit_app.audio.io import read_clip
from stepedit_app.audio.peaks import PeakPyramid
from stepedit_app.audio.spectrogram import difference_db, iter_spectrogram, spectrogram_db


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300_000), seed=st.integers(0, 99), a=st.floats(0, 1), b=st.floats(0, 1),
       points=st.integers(1, 3000))
@example(n=2468, seed=12, a=0.0, b=0.05147635635834914, points=2)  # the raw path's last, shorter group
def test_envelope_bounds_the_samples(n, seed, a, b, points):
    """Every envelope point's min/max bound the raw samples of its span, and together they
    reach the span's true extremes (nothing clipped off when zoomed out)."""
    x = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    pyr = PeakPyramid(x[:, None])
    start, end = sorted((int(a * n), int(b * n)))
    end = max(end, start + 1) if start < n else n
    pos, mn, mx = pyr.envelope(start, end, points)
    if start >= n:
        assert len(pos) == 0
        return
    assert len(pos) == len(mn) == len(mx) and len(pos) > 0
    assert np.all(mn <= mx)
    assert np.all(np.diff(pos) > 0)
    lo, hi = pos[0], max(end, pos[-1] + 1)
    # blocks may start before `start` (aligned to the level); the extremes of the view are covered
    assert mn.min() <= x[start:end].min() + 1e-7
    assert mx.max() >= x[start:end].max() - 1e-7
    assert mn.min() >= x[lo:hi + 1_000_000].min() - 1e-7


def test_long_file_uses_coarse_levels(female_clip_path):
    x = np.tile(read_clip(female_clip_path).samples, (200, 1))  # ~17 minutes at 22 kHz
    pyr = PeakPyramid(x)
    assert len(pyr.levels) >= 4 and len(pyr.levels[-1][1]) <= 2000
    pos, mn, mx = pyr.envelope(0, len(x), 1500)
    assert 1500 <= len(pos) <= 1500 * 4 + 1
    assert mx.max() == x.max() and mn.min() == x.min()


def test_sine_peaks_at_its_frequency_in_every_scale():
    rate = 16000
    t = np.arange(rate) / rate
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    for scale in ("linear", "log", "mel"):
        s = spectrogram_db(x, rate, n_fft=1024, hop=256, scale=scale, n_bins=200)
        assert s.db.dtype == np.float32 and s.db.flags.c_contiguous
        assert s.db.shape == (200, rate // 256 + 1)
        row = int(np.argmax(s.db[:, s.db.shape[1] // 2]))
        assert abs(s.freqs[row] - 1000) < 0.1 * 1000, scale
        assert -9.0 < s.db[row, s.db.shape[1] // 2] < 3.0  # full-scale sine reads ~0 dB


def test_progressive_chunks_equal_the_whole(female_clip_path):
    c = read_clip(female_clip_path)
    x = c.mono().astype(np.float32)
    whole = spectrogram_db(x, c.rate, hop=220, scale="mel", n_bins=80)
    parts = list(iter_spectrogram(x, c.rate, chunk_s=0.7, hop=220, scale="mel", n_bins=80))
    assert len(parts) > 3
    assert [p[0] for p in parts] == sorted(p[0] for p in parts)
    joined = np.concatenate([p[1].db for p in parts], axis=1)
    np.testing.assert_allclose(joined, whole.db, atol=1e-3)
    np.testing.assert_allclose(np.concatenate([p[1].times for p in parts]), whole.times)


def test_difference_of_equal_images_is_zero_and_follows_a_path():
    a = np.random.default_rng(0).standard_normal((10, 50)).astype(np.float32)
    assert np.abs(difference_db(a, a)).max() == 0
    b = np.repeat(a, 2, axis=1)  # twice as long
    path = np.stack([np.repeat(np.arange(50), 2), np.arange(100)], axis=1)
    np.testing.assert_allclose(difference_db(a, b + 3.0, path), 3.0, atol=1e-5)
