"""The morph (audio/morph.py): a pass kept at any intensity is a real in-between, measured with
the project's analysis; failed alignments are recognised; the ends are exact."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pyworld
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from stepedit_app.audio.analysis import cue_deltas, measure_cues, track_pitch
from stepedit_app.audio.morph import MAX_SQUEEZE, PassMorph, dtw, morph


def world_edit(x: np.ndarray, rate: int, semis: float = 0.0, tempo: float = 1.0, whisper: bool = False) -> np.ndarray:
    """A deterministic 'model pass': WORLD pitch shift and frame-repeat time scaling."""
    # the project's robust pitch track (raw DIO makes octave errors on this voice, which
    # would make the 'pass' a different edit from the one asked for)
    tr = track_pitch(x, rate, permissive=True)
    f0, t = np.ascontiguousarray(tr.f0), np.ascontiguousarray(tr.times)
    sp, ap = pyworld.cheaptrick(x, f0, t, rate), pyworld.d4c(x, f0, t, rate)
    idx = np.minimum(np.round(np.arange(int(round(len(f0) / tempo))) * tempo).astype(int), len(f0) - 1)
    f0, sp, ap = f0[idx] * 2 ** (semis / 12), sp[idx], ap[idx]
    if whisper:
        f0, ap = np.zeros_like(f0), np.full_like(ap, 0.999)
    return pyworld.synthesize(f0, np.ascontiguousarray(sp), np.ascontiguousarray(ap), rate, 5.0)


@pytest.fixture(scope="module")
def speech(female_clip_path):
    x, rate = sf.read(female_clip_path, dtype="float64")
    return x, rate


@pytest.fixture(scope="module")
def happy_pass(speech):
    """+3 semitones and 15 % faster: the kind of step an emotion pass makes."""
    x, rate = speech
    y = world_edit(x, rate, semis=3.0, tempo=1.15)
    return PassMorph(x, y, rate), measure_cues(x, rate), cue_deltas(measure_cues(x, rate), measure_cues(y, rate))


def test_intensity_zero_is_the_input_and_one_is_the_output_sample_for_sample(speech, happy_pass):
    x, rate = speech
    pm, _, _ = happy_pass
    r0, r1 = pm.render(0.0), pm.render(1.0)
    assert np.array_equal(r0.samples, x) and not r0.resynthesised
    assert np.array_equal(r1.samples, pm.after) and not r1.resynthesised


def test_the_morph_is_monotone_in_pitch_and_duration(happy_pass):
    pm, before, full = happy_pass
    assert full["f0_st"] > 2.5 and full["duration_pct"] < -10  # the pass itself did what it says
    f0, dur = [0.0], [0.0]
    for w in (0.25, 0.5, 0.75):
        res = pm.render(w)
        assert res.resynthesised and not res.kept_full and res.alignment.ok
        d = cue_deltas(before, measure_cues(res.samples, pm.rate))
        f0.append(d["f0_st"])
        dur.append(d["duration_pct"])
    f0.append(full["f0_st"])
    dur.append(full["duration_pct"])
    assert all(b > a for a, b in zip(f0, f0[1:])), f0
    assert all(b < a for a, b in zip(dur, dur[1:])), dur
    # 50 % is near the middle, not at an end (a real in-between)
    assert 0.3 * full["f0_st"] < f0[2] < 0.7 * full["f0_st"], f0
    assert 0.3 * full["duration_pct"] > dur[2] > 0.7 * full["duration_pct"], dur


@settings(max_examples=8, deadline=None)
@given(w=st.floats(0.05, 0.95))
def test_any_intensity_lands_between_the_ends(happy_pass, w):
    pm, before, full = happy_pass
    res = pm.render(w)
    expected_len = (1 - w) * len(pm.before) + w * len(pm.after)
    assert abs(len(res.samples) - expected_len) <= 1
    d = cue_deltas(before, measure_cues(res.samples, pm.rate))
    # measured F0 shift tracks the intensity within 0.6 semitone (pitch-tracker resolution)
    assert abs(d["f0_st"] - w * full["f0_st"]) < 0.6, (w, d["f0_st"], full["f0_st"])


def test_voice_quality_moves_too_whisper_at_half_is_breathier_but_still_voiced(speech):
    x, rate = speech
    y = world_edit(x, rate, whisper=True)
    before = measure_cues(x, rate)
    # (at 30 % the aperiodicity added stays under what the tracker's voicing decision counts
    # as unvoiced: the voiced fraction is a threshold measure, so it is checked at half)
    half = cue_deltas(before, measure_cues(morph(x, y, rate, 0.5).samples, rate))
    full = cue_deltas(before, measure_cues(y, rate))
    assert full["voiced_fraction"] < -0.3  # the pass whispers
    assert full["voiced_fraction"] < half["voiced_fraction"] < 0.0
    assert math.isfinite(half["f0_st"])  # still a pitch at 50 %


def test_a_pass_that_drops_content_is_not_morphed_and_says_why(speech):
    x, rate = speech
    n = len(x)
    y = world_edit(np.concatenate([x[: int(0.3 * n)], x[int(0.7 * n):]]), rate, semis=2.0)
    res = PassMorph(x, y, rate).render(0.5)
    assert res.kept_full and not res.resynthesised
    assert np.array_equal(res.samples, y)
    al = res.alignment
    assert not al.ok and al.squeeze > MAX_SQUEEZE and al.reason.startswith("content dropped or added")


def test_a_pass_that_adds_a_sound_is_not_morphed(speech):
    x, rate = speech
    rng = np.random.default_rng(3)
    burst = 0.05 * rng.standard_normal(int(0.6 * rate))
    y = np.concatenate([x[: len(x) // 2], burst, x[len(x) // 2:]])
    res = PassMorph(x, y, rate).render(0.4)
    assert res.kept_full and not res.alignment.ok


def test_ramps_start_and_end_at_the_input(speech):
    """With edges joined to untouched audio the edit fades in and out over 40 ms: at a cut
    inside a vowel the pitch is the input's, away from the cuts it is the pass's."""
    x, rate = speech
    track = track_pitch(x, rate)
    runs = np.flatnonzero(np.diff(np.concatenate([[0], (track.f0 > 0).astype(int), [0]])))
    runs = [(a, b) for a, b in zip(runs[::2], runs[1::2]) if b - a >= 24]  # voiced >= 120 ms
    (a0, b0), (a1, b1) = runs[0], runs[-1]
    fp = track.frame_period / 1000
    s, e = int((a0 + b0) / 2 * fp * rate), int((a1 + b1) / 2 * fp * rate)  # cuts mid-vowel
    seg = x[s:e]
    y = world_edit(x, rate, semis=3.0)[s:e]  # the pass made on the whole line, cut the same way
    res = PassMorph(seg, y, rate).render(1.0, ramp_in_s=0.04, ramp_out_s=0.04)
    assert res.resynthesised and len(res.samples) == len(seg)

    end = len(seg) / rate
    # Within the 40 ms ramps the shift follows the raised-cosine ramp from 0 at the cut to the
    # pass's 3 st (the tracker leaves the last ~20 ms before a cut unvoiced, so every voiced
    # frame of the ramp is checked against the ramp's own value there).
    tr_in, tr_out = track_pitch(seg, rate, permissive=True), track_pitch(res.samples, rate, permissive=True)
    n = min(len(tr_in.f0), len(tr_out.f0))
    t = tr_in.times[:n]
    from_edge = np.minimum(t, end - t)
    both = (tr_in.f0[:n] > 0) & (tr_out.f0[:n] > 0) & (from_edge < 0.04)
    assert both.sum() >= 4, both.sum()
    want = 3.0 * (0.5 - 0.5 * np.cos(np.pi * from_edge[both] / 0.04))
    got = 12 * np.log2(tr_out.f0[:n][both] / tr_in.f0[:n][both])
    assert np.all(np.abs(got - want) < 0.8), (from_edge[both], got, want)
    # away from the cuts it is the pass's (frame by frame, on frames voiced in both)
    mid = (t > 0.3 * end) & (t < 0.7 * end) & (tr_in.f0[:n] > 0) & (tr_out.f0[:n] > 0)
    assert abs(np.median(12 * np.log2(tr_out.f0[:n][mid] / tr_in.f0[:n][mid])) - 3.0) < 0.7


def test_dtw_path_is_monotone_and_spans_both(speech):
    a = np.random.default_rng(0).standard_normal((40, 3))
    b = np.repeat(a, 2, axis=0)
    path, d = dtw(a, b)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (39, 79)
    assert np.all(np.diff(path, axis=0) >= 0) and np.all(np.diff(path, axis=0).sum(axis=1) >= 1)
    assert np.allclose(d, 0.0)  # b is a slowed copy of a: an exact alignment exists


def test_out_of_range_intensity_is_refused(happy_pass):
    with pytest.raises(ValueError):
        happy_pass[0].render(1.5)
