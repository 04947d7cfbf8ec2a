"""Formant warp by resampling the source before PSOLA (psola.warp_source / warp_marks, the
prosody engine's FORMANT_METHOD "resample"), judged on tones, on a synthetic vowel with known
formants (Praat's formant tracker) and on real speech (DistillMOS, the issue's judge)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from robustness import corpus, judges

from stepedit_app.audio import psola
from stepedit_app.audio.clip import Clip
from stepedit_app.engines.base import EditContext
from stepedit_app.engines.prosody.engine import ProsodyEngine
from stepedit_app.engines.prosody.profiles import Params


def _peak_hz(y: np.ndarray, rate: int) -> float:
    """Frequency of the strongest line (Hann-windowed FFT, parabolic interpolation)."""
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    i = int(np.argmax(spec[1:-1])) + 1
    a, b, c = np.log(spec[i - 1 : i + 2] + 1e-30)
    return (i + 0.5 * (a - c) / (a - 2 * b + c)) * rate / len(y)


@settings(max_examples=25, deadline=None)
@given(
    rate=st.sampled_from([16000, 22050, 48000]),
    warp=st.floats(0.8, 1.25),
    rel=st.floats(0.01, 0.35),  # tone frequency, fraction of the rate
)
def test_a_constant_warp_scales_every_frequency(rate, warp, rel):
    n = rate // 2
    f = rel * rate
    x = np.sin(2 * np.pi * f * np.arange(n) / rate + 0.3)[None, :]
    y, tau = psola.warp_source(x, np.full(n, warp))
    assert np.allclose(np.diff(tau), 1 / warp)
    assert y.shape == (1, int(np.floor(tau[-1])) + 1)
    mid = y[0, 400:-400]
    assert abs(_peak_hz(mid, rate) / (f * warp) - 1) < 2e-3
    # level kept (within the anti-alias filter's pass band: the tone stays below it)
    if f * warp < 0.45 * rate:
        assert abs(20 * np.log10(np.sqrt(2 * np.mean(mid**2)))) < 0.5


@pytest.mark.parametrize("rate", [16000, 48000])
def test_what_a_raise_would_push_past_nyquist_is_removed_not_folded(rate):
    n = rate // 2
    x = np.sin(2 * np.pi * 0.45 * rate * np.arange(n) / rate)[None, :]
    y, _ = psola.warp_source(x, np.full(n, 1.2))  # 0.54 of the rate: would alias to 0.46
    assert 20 * np.log10(np.sqrt(2 * np.mean(y[0, 400:-400] ** 2))) < -50


def test_a_varying_warp_follows_its_map_and_moves_the_marks_with_it():
    rate = 16000
    n = 2 * rate
    w = np.where(np.arange(n) < n // 2, 1.0, 1.1)
    t = np.arange(n) / rate
    x = np.sin(2 * np.pi * 200 * t)[None, :]
    y, tau = psola.warp_source(x, w)
    # tau is the cumulative map: an input sample lands where tau says (the tone's phase agrees)
    for i in (1000, 20000, 30000):
        j = int(round(tau[i]))
        assert abs(y[0, j] - x[0, i]) < 0.05
    f0 = np.full(n // 80 + 1, 200.0)
    pm = psola.pitch_marks(x[0], rate, f0, 5.0)
    pmw = psola.warp_marks(pm, tau, w)
    assert np.all(np.diff(pmw.marks) > 0)
    # past the change the marks are one warped period apart (80 / 1.1 samples)
    late = np.diff(pmw.marks[pm.marks > n // 2 + 400])
    assert abs(np.median(late) - 80 / 1.1) <= 1
    assert np.all(pmw.half[pm.marks > n // 2 + 400] == round(pm.half[-1] / 1.1))


def _vowel(rate: int, f0: float, formants=((700, 80), (1200, 90), (2600, 120)), jitter: float = 0.03,
           seed: int = 1) -> np.ndarray:
    """An impulse train through three resonators, its periods varying by ``jitter`` (RMS).  Not
    at 100 or 120 Hz: a voice held that steady at a multiple of the mains frequency, with no
    pause to show that its lines fall silent with it, is taken for mains hum
    (``pitch.mains_hum``) and analysed with its harmonics notched out; at 120 Hz the tracker
    voiced 2-76 % of such a vowel."""
    n = 2 * rate
    x = np.zeros(n)
    x[corpus.pulse_train(n, rate, f0, jitter, np.random.default_rng(seed))] = 1.0
    x = corpus.resonate(x, rate, formants)
    return 0.3 * x / np.abs(x).max()


def _render(x: np.ndarray, rate: int, p: Params, method: str) -> np.ndarray:
    eng = ProsodyEngine()
    prep = eng.prepare(Clip(x.astype(np.float32)[:, None], rate))
    ctx = EditContext(iteration=1, total=1)
    old = ProsodyEngine.FORMANT_METHOD
    ProsodyEngine.FORMANT_METHOD = method
    try:
        return eng._render(prep.data, p, ctx, 0).samples[:, 0].astype(float)
    finally:
        ProsodyEngine.FORMANT_METHOD = old


@pytest.mark.parametrize("warp", [0.88, 1.1])
def test_the_formants_move_and_the_pitch_stays(warp):
    rate = 16000
    x = _vowel(rate, 115.0, jitter=0.01)  # a modal voice's jitter: Praat voices all of it
    base = judges.praat_cues(x, rate)
    y = _render(x, rate, Params(formant_log2=float(np.log2(warp))), "resample")
    got = judges.praat_cues(y, rate)
    assert abs(got["f1"] / base["f1"] - warp) < 0.03
    assert abs(got["f2"] / base["f2"] - warp) < 0.03
    assert abs(got["f0"] / base["f0"] - 1) < 0.01
    assert got["voiced"] > 0.9 * base["voiced"]


@pytest.mark.parametrize("clip", [corpus.MALE, corpus.FEMALE])
@pytest.mark.parametrize("warp", [0.88, 1.1])
def test_a_warp_of_real_speech_keeps_its_harmonics(clip, warp):
    """Praat's harmonics-to-noise ratio is not lowered by the warp.  The envelope-ratio filter
    it replaced lowered it by up to 1.2 dB (LJ, x1.1) and cost more DistillMOS on average
    (benchmarks/formant_method.py)."""
    x, rate = corpus.load(clip)
    base = judges.praat_cues(x, rate)
    got = judges.praat_cues(_render(x, rate, Params(formant_log2=float(np.log2(warp))), "resample"), rate)
    assert got["hnr"] > base["hnr"] - 0.3
    assert 0.95 < got["voiced"] / base["voiced"] < 1.06


@pytest.mark.parametrize("f0", [220.0, 300.0])
def test_a_lowered_voice_has_no_gaps_between_its_grains(f0, monkeypatch):
    """Lowering spaces PSOLA's grains further apart than they are long; widened to reach their
    synthesis neighbours (psola.WIDEN_LOWERED), the lowered vowels keep more of their
    harmonicity than with the gaps left open (mean over 6 vowels), and typically (median) no
    less than 2 dB under the input's.

    Over several vowels, not one: how a lowered vowel's repeated grains fall against its own
    jitter makes one vowel's figure swing by 2.5 dB (220 Hz, one of 8 vowels at -4.2 dB, the
    others -1.7 to -2.0 dB).  One vowel passed or failed by that draw alone: with each voiced
    run started in phase (psola.synthesize) the vowel this test used to take became the
    unlucky one, and with the old random start, the fourth of these six was."""
    rate = 16000
    got: dict[bool, list[float]] = {False: [], True: []}
    for seed in range(1, 7):
        x = _vowel(rate, f0, seed=seed)
        base = judges.praat_cues(x, rate)["hnr"]
        for widen in (False, True):
            monkeypatch.setattr(psola, "WIDEN_LOWERED", widen)
            got[widen].append(judges.praat_cues(_render(x, rate, Params(f0_st=-4.0), "resample"), rate)["hnr"] - base)
    assert np.mean(got[True]) > np.mean(got[False])
    assert np.median(got[True]) > -2.0


@pytest.mark.parametrize(
    ("f0_st", "warp", "split"),
    [(3.5, 1.04, 1.0), (2.0, 1.03, 1.0), (-2.5, 0.88, 1.0), (0.0, 0.88, 0.0), (0.0, 1.07, 0.0),
     (2.0, 0.9, 0.0), (-1.0, 1.1, 0.0), (1.0, 1.10, 1.0 / (12 * np.log2(1.10)))],
)
def test_the_warp_is_resampled_only_as_far_as_the_pitch_shift_goes(f0_st, warp, split):
    """Resampling the source makes PSOLA shift the pitch back by the warp: worth it where the
    warp goes the way of the pitch shift (PSOLA then has less to do), not beyond it."""
    p = Params(f0_st=f0_st, formant_log2=float(np.log2(warp)))
    assert ProsodyEngine.warp_split(p) == pytest.approx(split)


def test_a_split_warp_moves_the_formants_as_far_as_either_method():
    rate = 16000
    x = _vowel(rate, 115.0, jitter=0.01)  # a modal voice's jitter: Praat voices all of it
    base = judges.praat_cues(x, rate)
    p = Params(f0_st=1.0, formant_log2=float(np.log2(1.1)))  # 0.6 resampled, 0.4 filtered
    assert 0.5 < ProsodyEngine.warp_split(p) < 0.7
    got = judges.praat_cues(_render(x, rate, p, "split"), rate)
    assert abs(got["f1"] / base["f1"] - 1.1) < 0.03
    assert abs(got["f2"] / base["f2"] - 1.1) < 0.03
    assert abs(12 * np.log2(got["f0"] / base["f0"]) - 1.0) < 0.15


def _band_db(y: np.ndarray, rate: int, lo: float, hi: float) -> float:
    f, p = scipy.signal.welch(y, rate, nperseg=1024)
    return float(10 * np.log10(np.sum(p[(f >= lo) & (f < hi)]) + 1e-30))


def test_a_lowering_warp_leaves_no_empty_top_band():
    """Resampled by x0.88, the spectrum stops at 0.88 of Nyquist; the top band comes from the
    unwarped PSOLA render instead, so a 16 kHz voice keeps its sibilants' top kHz."""
    x, rate = corpus.load(corpus.MALE)
    p = Params(f0_st=-2.5, formant_log2=float(np.log2(0.88)))
    assert ProsodyEngine.warp_split(p) == 1.0
    y = _render(x, rate, p, "split")
    top = (0.92 * rate / 2, 0.99 * rate / 2)
    mid = (1000.0, 4000.0)
    # the top band keeps its level against the mid band, within 3 dB of the input's balance
    want = _band_db(x, rate, *top) - _band_db(x, rate, *mid)
    got = _band_db(y, rate, *top) - _band_db(y, rate, *mid)
    assert abs(got - want) < 3.0, (got, want)
