"""Controls do what their names say, judged by Praat (not by the engine's own analysis), and
edits hold on the recordings people bring.

A representative, still demanding subset of ``benchmarks/quality.py --check`` (which runs the
full grid: every clip x condition x control x intensity):

- every control on the studio female voice, 0.25 / 0.5 / 1.0: its Praat cues
  (``judges.CONTROL_CUES``) grow monotonically in the right direction, the voiced fraction
  stays within 0.8-1.25x (except whisper, murmur), median F0 moves the way the control asks;
- the named acceptance cues: older raises jitter *and* shimmer, a full whisper leaves <= 5 %
  voiced, deeply lowers F1 and F2, angry is more effortful and harsher than happy and unlike
  it, sad and depressed darken and slow down;
- every degraded condition on the male voice and every real-world clip as recorded, at 0.5:
  finite, voicing kept, pitch moved the right way;
- speaker similarity >= 0.85 at 0.5 for identity-keeping controls on clips of 3 s or more.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from robustness import corpus, judges
from stepedit_app.audio.clip import Clip
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.prosody.engine import ProsodyEngine
from stepedit_app.engines.prosody.profiles import blend
from stepedit_app.session.session import EditSession

GROUP_ATTR = {"emotion": "emotions", "style": "styles", "speed": "speed"}
_caps = ProsodyEngine().capabilities()
CONTROLS = ([("emotion", n) for n in _caps.emotions] + [("style", n) for n in _caps.styles]
            + [("speed", n) for n in _caps.speed])
INTENSITIES = (0.25, 0.5, 1.0)


class Subject:
    def __init__(self, name: str, condition: str = "clean") -> None:
        self.x, self.rate = corpus.degraded(name, condition)
        self.clip = Clip(self.x[:, None].astype(np.float32), self.rate)
        self.session = EditSession(self.clip)
        self.base = judges.praat_cues(self.x, self.rate)
        st = self.session.prepare().data.median_st
        self.median_hz = 2 ** (st / 12) if math.isfinite(st) else float("nan")
        self._cache: dict = {}

    def edit(self, group: str, name: str, v: float) -> np.ndarray:
        key = (group, name, v)
        if key not in self._cache:
            take = self.session.run(EditRequest(**{GROUP_ATTR[group]: {name: v}}))[0]
            self._cache[key] = take.segment.samples[:, 0].astype(np.float64)
        return self._cache[key]

    def cues(self, group: str, name: str, v: float) -> dict:
        return judges.praat_cues(self.edit(group, name, v), self.rate)


@pytest.fixture(scope="module")
def female():
    return Subject(corpus.FEMALE)


@pytest.fixture(scope="module")
def male():
    return Subject(corpus.MALE)


@pytest.mark.parametrize("group,name", CONTROLS, ids=[c[1] for c in CONTROLS])
def test_every_control_moves_its_praat_cues_monotonically(female, group, name):
    rows = [female.cues(group, name, v) for v in INTENSITIES]
    for cue, sign in judges.CONTROL_CUES[name].items():
        vals = [sign * judges.relative(cue, female.base[cue], r[cue]) for r in rows]
        seq = [0.0] + vals
        tol = judges.CUE_TOL[cue]
        assert all(b >= a - tol for a, b in zip(seq, seq[1:])) and seq[-1] > 0, f"{name}: Praat {cue} {vals}"
    if name not in judges.VOICING_EXEMPT:
        for v, r in zip(INTENSITIES, rows):
            ratio = r["voiced"] / female.base["voiced"]
            assert 0.8 <= ratio <= 1.25, f"{name} {v}: voiced fraction x{ratio:.2f}"
    nominal = blend([(group, name, 1.0)], female.median_hz).f0_st
    if abs(nominal) >= 0.5 and name != "whisper":
        for v, r in zip(INTENSITIES, rows):
            assert (r["f0"] - female.base["f0"]) * nominal > 0, f"{name} {v}: F0 moved the wrong way"


@pytest.mark.parametrize("who", ["female", "male"])
def test_older_raises_jitter_and_shimmer(who, female, male):
    """Shimmer rises at every intensity, jitter at 1.0.  At 0.5 jitter rises on average over
    renders an inaudible slider move apart (0.47-0.53): on the male voice (Praat local jitter
    2.8 %, creaky) one render's figure spreads from -3 % to +8 % around the input's (renders
    that add no jitter at all move it by +-5 %).  At 0.25 it stays within that repeatability
    (+-6 %)."""
    s = female if who == "female" else male
    for v in INTENSITIES:
        c = s.cues("style", "older", v)
        assert c["shimmer"] > s.base["shimmer"], (v, c["shimmer"])
        if v == 1.0:
            assert c["jitter"] > s.base["jitter"], (v, c["jitter"])
        elif v == 0.5:
            near = [s.cues("style", "older", u)["jitter"] for u in (0.47, 0.49, 0.5, 0.51, 0.53)]
            assert np.mean(near) > s.base["jitter"], (v, near, s.base["jitter"])
        else:
            assert c["jitter"] > 0.94 * s.base["jitter"], (v, c["jitter"])


@pytest.mark.parametrize("who", ["female", "male"])
def test_full_whisper_is_unvoiced(who, female, male):
    s = female if who == "female" else male
    assert s.cues("style", "whisper", 1.0)["voiced"] <= 0.05


@pytest.mark.parametrize("who", ["female", "male"])
def test_deeply_lowers_f1_and_f2(who, female, male):
    s = female if who == "female" else male
    c = s.cues("style", "deeply", 1.0)
    assert c["f1"] < s.base["f1"] and c["f2"] < s.base["f2"], (c["f1"], c["f2"])


@pytest.mark.parametrize("who", ["female", "male"])
def test_angry_is_effort_and_harshness_and_unlike_happy(who, female, male):
    """Angry (issue 6): vocal effort and harshness -- a flatter tilt, raised F1, sharper
    onsets, falling phrase ends; happy: higher pitch, smiling F2, rising phrase ends.  Judged
    against each other and the input at full intensity."""
    s = female if who == "female" else male
    ang, hap = s.cues("emotion", "angry", 1.0), s.cues("emotion", "happy", 1.0)
    assert ang["tilt"] > s.base["tilt"] + 2.0 and ang["tilt"] > hap["tilt"] + 1.0
    assert ang["f1"] > s.base["f1"]
    assert ang["onset"] > s.base["onset"] + 0.5 and ang["onset"] > hap["onset"] + 0.5, (ang["onset"], hap["onset"])
    assert ang["final"] < hap["final"] - 0.3, (ang["final"], hap["final"])
    assert hap["f0"] > ang["f0"]
    assert hap["f2"] > s.base["f2"]


@pytest.mark.parametrize("name", ["sad", "depressed"])
def test_sad_and_depressed_are_darker_and_slower(female, male, name):
    for s in (female, male):
        c = s.cues("emotion", name, 1.0)
        assert c["tilt"] < s.base["tilt"] - 2.0
        assert c["duration"] > s.base["duration"] * 1.1


@pytest.fixture(scope="module")
def child():
    return Subject(corpus.CHILD)


@pytest.mark.parametrize("name", ["sad", "depressed"])
def test_a_high_voice_darkens_step_by_step(child, name):
    """On a child's voice (330 Hz) a pitch edit moves Praat's tilt by itself (sad's narrower
    range alone raised it 4.8 dB, so sad at 1.0 measured -0.1 dB and depressed went up and
    down); the engine makes up for it, and the darkening grows with the slider."""
    vals = [judges.relative("tilt", child.base["tilt"], child.cues("emotion", name, v)["tilt"]) for v in INTENSITIES]
    tol = judges.CUE_TOL["tilt"]
    assert all(b <= a + tol for a, b in zip([0.0] + vals, vals)), vals
    assert vals[-1] < -1.5, vals


@pytest.mark.parametrize("condition", corpus.CONDITIONS)
def test_edits_hold_on_every_degraded_condition(condition):
    s = Subject(corpus.MALE, condition)
    for group, name in (("emotion", "happy"), ("emotion", "sad")):
        y = s.edit(group, name, 0.5)
        assert np.isfinite(y).all()
        c = judges.praat_cues(y, s.rate)
        ratio = c["voiced"] / s.base["voiced"]
        assert 0.8 <= ratio <= 1.25, f"{condition} {name}: voiced fraction x{ratio:.2f}"
        up = blend([(group, name, 1.0)], s.median_hz).f0_st > 0
        assert (c["f0"] > s.base["f0"]) == up, f"{condition} {name}: F0 {s.base['f0']:.0f} -> {c['f0']:.0f} Hz"


@pytest.mark.parametrize("name", [c for c in corpus.realworld_clips() if c not in corpus.WHISPERED])
def test_edits_hold_on_every_real_world_clip(name):
    s = Subject(name)
    y = s.edit("emotion", "happy", 0.5)
    assert np.isfinite(y).all()
    c = judges.praat_cues(y, s.rate)
    ratio = c["voiced"] / s.base["voiced"]
    assert 0.8 <= ratio <= 1.25, f"voiced fraction x{ratio:.2f}"
    assert c["f0"] > s.base["f0"], f"F0 {s.base['f0']:.0f} -> {c['f0']:.0f} Hz"


@pytest.mark.parametrize("name", ["happy", "sad", "angry", "fear", "surprised"])
def test_speaker_is_kept(female, male, name):
    for s in (female, male):
        sim = judges.speaker_similarity(s.x, s.rate, s.edit("emotion", name, 0.5), s.rate)
        assert sim >= 0.85, f"{name}: speaker similarity {sim:.2f}"


@pytest.mark.skipif(not judges.distillmos_available(), reason="DistillMOS not installed (see benchmarks/README.md)")
@pytest.mark.parametrize("name", ["happy", "sad", "angry"])
def test_naturalness_is_kept(female, name):
    m0 = judges.distillmos_score(female.x, female.rate)
    drop = m0 - judges.distillmos_score(female.edit("emotion", name, 0.5), female.rate)
    assert drop <= 0.3, f"{name}: DistillMOS drop {drop:.2f}"
