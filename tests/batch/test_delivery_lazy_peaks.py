"""The limiter oversamples only blocks whose bound can reach the ceiling: the results must be
the very ones of oversampling the whole file (same gain curve, same samples, bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from stepedit_app.audio import delivery
from stepedit_app.audio.clip import Clip
from stepedit_app.audio.delivery import (
    DeliverySpec,
    _interpolator,
    _oversampled,
    _TruePeaks,
    deliver,
    limit_true_peak,
    normalise_loudness,
    oversampling,
    true_peak_envelope,
)

from .helpers import CLIPS, DATA


def _whole(monkeypatch):
    """Make the limiter use the whole-file envelope (the reference)."""
    monkeypatch.setattr(_TruePeaks, "over", lambda self, level: true_peak_envelope(self.a, self.rate))


def _signal(name: str, gain_db: float, rate: int, stereo: bool) -> np.ndarray:
    x, sr = sf.read(DATA / name, dtype="float64", always_2d=True)
    x = delivery.resample(x, sr, rate) * 10 ** (gain_db / 20)
    return np.concatenate([x, x[::-1] * 0.7], axis=1) if stereo else x


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000, 96000])
def test_the_bound_holds_and_blocks_match_the_whole_file(rate):
    x = _signal(CLIPS[0], 0.0, rate, stereo=True)
    x[1000:1100] = (-1.0) ** np.arange(100)[:, None] * 0.9  # a worst case for the bound: Nyquist
    full = true_peak_envelope(x, rate)
    p = _TruePeaks(x, rate)
    assert np.all(p.bound >= full)
    for b in range(len(p.done)):  # every block on its own gives the whole-file values
        p._compute(b)
    assert np.array_equal(p.exact, full)
    # over(): exact where the bound reaches the level, 0 where the envelope is surely under it
    level = 0.5 * float(full.max())
    got = _TruePeaks(x, rate).over(level)
    assert np.array_equal(got[got > 0], full[got > 0]) and np.all(full[got == 0] < level)
    gain, reach = _interpolator(oversampling(rate))
    assert 1.0 < gain < 4.0 and 2 <= reach < 64
    up = _oversampled(x, oversampling(rate))
    assert np.abs(up).max() <= np.abs(x).max() * gain


@settings(max_examples=30, deadline=None)
@given(clip=st.sampled_from(CLIPS), gain_db=st.floats(-30.0, 12.0), rate=st.sampled_from([16000, 22050, 48000]),
       ceiling=st.floats(-9.0, -0.5), lufs=st.floats(-30.0, -10.0), stereo=st.booleans())
def test_limiting_and_normalising_are_bit_identical_to_the_whole_file_envelope(clip, gain_db, rate, ceiling, lufs,
                                                                               stereo):
    x = _signal(clip, gain_db, rate, stereo)
    lazy_lim = limit_true_peak(x, rate, ceiling)
    lazy_norm = normalise_loudness(x, rate, lufs, ceiling)
    with pytest.MonkeyPatch.context() as mp:
        _whole(mp)
        ref_lim = limit_true_peak(x, rate, ceiling)
        ref_norm = normalise_loudness(x, rate, lufs, ceiling)
    assert np.array_equal(lazy_lim[0], ref_lim[0]) and lazy_lim[1] == ref_lim[1]
    assert np.array_equal(lazy_norm[0], ref_norm[0]) and lazy_norm[1:] == ref_norm[1:]


def test_a_delivered_file_is_the_same_with_the_whole_file_envelope(monkeypatch):
    x, sr = sf.read(DATA / CLIPS[1], dtype="float32", always_2d=True)
    clip = Clip(x, sr, None, "PCM_16")
    for spec in (DeliverySpec.from_preset("aswg-portable", sample_rate=48000, subtype="PCM_24"),
                 DeliverySpec(lufs=-12.0, true_peak_db=-2.0, subtype="PCM_16", trim_head=True, tail_pad_s=0.1),
                 DeliverySpec(sample_rate=44100, true_peak_db=-6.0)):
        out, rep = deliver(clip, spec, seed=3)
        with pytest.MonkeyPatch.context() as mp:
            _whole(mp)
            ref, ref_rep = deliver(clip, spec, seed=3)
        assert np.array_equal(out.samples, ref.samples) and rep == ref_rep
