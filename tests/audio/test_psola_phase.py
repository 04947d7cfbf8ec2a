"""PSOLA places its grains in phase with the source where it can (psola.synthesize): each
voiced run's first grain, and unvoiced grains where the time map is the identity.

Judged on real recordings: an edit that changes neither pitch nor time gives the input back,
and a region that starts inside a vowel, edited through the session and spliced, begins in
phase with the audio it crossfades from (``benchmarks/boundary_phase.py`` measures the same on
38 regions of 8 clips)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from robustness import corpus, judges

from stepedit_app.audio import psola
from stepedit_app.audio.clip import Clip, Region
from stepedit_app.engines.base import EditContext
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.prosody.engine import FP, ProsodyEngine
from stepedit_app.engines.prosody.profiles import Params
from stepedit_app.session.session import EditSession


@pytest.mark.parametrize("name", [corpus.MALE, corpus.FEMALE, "vctk_p240_00000.mp3", "cv_ja_38853932_16k.wav"])
def test_an_identity_edit_gives_the_recording_back(name):
    """Same pitch, same time: the output is the input, not a copy with each voiced run moved
    by up to half a period (which measured -3.6 to -1.5 dB SNR on these clips)."""
    x, rate = corpus.load(name)
    x = x.mean(axis=1) if x.ndim > 1 else x
    eng = ProsodyEngine()
    a = eng.prepare(Clip(x[:, None].astype(np.float32), rate)).data
    n = a.frames
    f0 = a.track.f0
    frame = np.minimum((np.arange(n) / (rate * FP) + 0.5).astype(int), len(f0) - 1)
    period = np.where(f0 > 0, rate / np.maximum(f0, 1e-9), 0.0)[frame]
    y = psola.synthesize(a.x, rate, eng._marks(a), n, np.arange(n, dtype=float), period, pitch_ratio=np.ones(n))
    err = y[0] - a.x[0]
    snr = 10 * np.log10(np.sum(a.x[0] ** 2) / np.sum(err**2))
    assert snr > 15.0, f"identity edit of {name}: {snr:.1f} dB SNR"


def test_regions_that_start_in_a_vowel_join_in_phase():
    """Regions starting in voiced speech, edited (happy 0.5) and spliced: over the crossfade
    and 10 ms after it the result follows the original (correlation > 0.9; out of phase it
    went as low as -0.46), so the crossfade blends the vowel with itself, not with a shifted
    copy.  At their ends (0.7 s on, voiced or not) the same holds more loosely: the time map
    is the identity in the ramp before the join, and unvoiced grains there now fall where
    their marks map to (before: correlation -0.32 .. 0.99, mean 0.33 over 38 regions of
    ``benchmarks/boundary_phase.py``; now mean 0.84)."""
    corr, corr_end, blend = [], [], ([], [])
    for name in (corpus.MALE, corpus.FEMALE):
        x, rate = corpus.load(name)
        x = x.mean(axis=1) if x.ndim > 1 else x
        f0, t = judges.praat_pitch(x, rate, 0.01)
        clip = Clip(x[:, None].astype(np.float32), rate)
        session = EditSession(clip)
        voiced = t[(f0 > 0) & (t > 0.3) & (t < t[-1] - 1.0)]
        # starts in the middle of voiced stretches (the frames 30 ms either side are voiced too)
        mid = [v for v in voiced if np.sum(np.abs(voiced - v) <= 0.031) >= 7]
        for a in mid[:: max(1, len(mid) // 5)][:5]:
            r = Region(int(a * rate), int((a + 0.7) * rate))
            take = session.run(EditRequest(emotions={"happy": 0.5}), region=r)[0]
            j = judges.boundary_match(clip, x, r, take.segment)
            corr.append(j["start"])
            corr_end.append(j["end"])
            blend[0].append(j["blend_start"])
            blend[1].append(j["blend_end"])
    assert len(corr) >= 8
    assert np.median(corr) > 0.95, np.round(corr, 3)
    assert min(corr) > 0.8, np.round(corr, 3)
    # the ends: a voiced run just before the join can still end off phase (next step in
    # benchmarks/README.md), so the median, not every one (before: median 0.34 here)
    assert np.median(corr_end) > 0.8, np.round(corr_end, 3)
    # what the crossfades blend: in phase at every start (before: down to -0.48 on the
    # benchmark's regions), and typically at the ends (these ends fall anywhere, pauses too)
    assert min(blend[0]) > 0.8, np.round(blend[0], 3)
    assert np.median(blend[1]) > 0.9, np.round(blend[1], 3)


@pytest.mark.parametrize("name", [corpus.MALE, "cv_de_17672459.wav", corpus.CHILD])
@pytest.mark.parametrize("st,tempo", [(2.0, 1.0), (-2.0, 1.0), (3.0, 0.8), (-3.0, 1.25)])
def test_grains_cover_the_whole_output(name, st, tempo, monkeypatch):
    """Every output sample is covered by the grains' windows: a constant signal through the
    real marks and the engine's own plan comes out constant (window sum normalised).  Where
    voiced synthesis at a moved pitch met in-place unvoiced grains, the step (up to 1.5 hops)
    outran the last voiced grain's window (on cv_de_17672459 at +2 st the sum fell to 0.56 at
    voiced-to-unvoiced joins), the last 2 ms faded to 0.06 after the last grain, and a slowed
    ending had up to 60 samples (child, -3 st x1.25) no grain reached (the source had ended)."""
    x, rate = corpus.load(name)
    x = x.mean(axis=1) if x.ndim > 1 else x
    eng = ProsodyEngine()
    a = eng.prepare(Clip(x[:, None].astype(np.float32), rate)).data
    seen = {}
    real = psola.synthesize

    def ones_too(src, rate_, pm, out_len, out_to_in, period, *args, **kw):
        seen["y"] = real(np.ones_like(src), rate_, pm, out_len, out_to_in, period, *args, **kw)
        return real(src, rate_, pm, out_len, out_to_in, period, *args, **kw)

    monkeypatch.setattr(psola, "synthesize", ones_too)
    eng._render(a, Params(f0_st=st, tempo_log=math.log(tempo)), EditContext(1, 1), 0)
    y = seen["y"][0]
    assert len(y) > rate
    low = np.nonzero(y < 0.9)[0]
    assert len(low) == 0, f"{name} {st:+} st x{tempo}: {len(low)} samples under 0.9 (min {y.min():.2f} at {low[:5]})"
    assert np.max(y) < 1.0 + 1e-9
