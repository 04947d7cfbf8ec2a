"""The embedded engine's effects on real speech, measured with the project's own analysis.

Acceptance figures (issue: the embedded editing engine): at intensity 1.0 happy raises median
F0 by >= 2 st and widens the range; sad lowers F0 level or range, slows by >= 10 % and
softens; angry flattens spectral tilt by >= 2 dB and raises F0; fear raises F0 and
irregularity; whisper leaves < 10 % of frames voiced; child raises F1 and F2 by >= 8 %;
deeply lowers them.  Each effect grows monotonically over 0.25 / 0.5 / 0.75 / 1.0, the result
is still speech (finite, not clipped, level as requested), and closed-loop iterations never
move a steered measure further from its target.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stepedit_app.audio.io import read_clip
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.prosody.engine import ProsodyEngine
from stepedit_app.engines.prosody.profiles import PROFILES
from stepedit_app.session.session import EditSession, RenderConverged, TakeReady

CLIPS = ["LJ001-0004.wav", "cmu_arctic_us_aew_a0001.wav", "cmu_arctic_us_axb_a0004.wav"]
INTENSITIES = (0.25, 0.5, 0.75, 1.0)
GROUP_ATTR = {"emotion": "emotions", "style": "styles", "speed": "speed"}


@pytest.fixture(scope="module")
def sessions(data_dir):
    return {name: EditSession(read_clip(data_dir / name), "prosody") for name in CLIPS}


def _request(group: str, name: str, v: float, iterations: int = 1) -> EditRequest:
    return EditRequest(**{GROUP_ATTR[group]: {name: v}}, iterations=iterations)


def _sweep(session: EditSession, group: str, name: str) -> list[dict]:
    out = []
    for v in INTENSITIES:
        take = session.run(_request(group, name, v))[0]
        d = dict(take.deltas)
        d["voiced_after"] = take.cues.voiced_fraction
        d["peak_after"] = take.cues.peak_dbfs
        d["_take"] = take
        out.append(d)
    return out


def _events(session: EditSession, req: EditRequest):
    gen = session.render(req)
    while True:
        try:
            yield next(gen)
        except StopIteration:
            return


def _increasing(values: list[float], tol: float = 0.0) -> bool:
    """Each step at least as far as the last, within the measure's resolution ``tol``."""
    return all(b > a - tol for a, b in zip(values, values[1:]))


def _decreasing(values: list[float], tol: float = 0.0) -> bool:
    return all(b < a + tol for a, b in zip(values, values[1:]))


#: LPC formant resolution on resynthesised speech, % (the engine's closed-loop tolerance,
#: 0.02 octaves = 1.4 %; up to ~2 % measured between renders): a smaller step back is
#: measurement, not the effect.
FORMANT_TOL = 2.5


def _still_speech(sweep: list[dict], group: str, name: str) -> None:
    gain = PROFILES[group][name].gain_db
    for v, d in zip(INTENSITIES, sweep):
        seg = d["_take"].segment.samples
        assert np.isfinite(seg).all()
        assert d["peak_after"] <= -0.9, f"{name} {v}: clipped/limited badly (peak {d['peak_after']:.2f} dBFS)"
        # level: exactly what the control asks (0 dB unless it is about level), within 1 LU
        assert abs(d["loudness_lu"] - gain * v) < 1.0, f"{name} {v}: loudness change {d['loudness_lu']:.2f} LU"


@pytest.mark.parametrize("clip", CLIPS)
def test_happy_raises_and_widens_pitch(sessions, clip):
    sw = _sweep(sessions[clip], "emotion", "happy")
    f0 = [d["f0_st"] for d in sw]
    rng = [d["range_st"] for d in sw]
    assert f0[-1] >= 2.0
    assert rng[-1] > 0.5
    assert _increasing(f0) and _increasing(rng)
    _still_speech(sw, "emotion", "happy")


@pytest.mark.parametrize("clip", CLIPS)
def test_sad_lowers_slows_and_softens(sessions, clip):
    sw = _sweep(sessions[clip], "emotion", "sad")
    f0 = [d["f0_st"] for d in sw]
    rng = [d["range_st"] for d in sw]
    tempo = [d["tempo_pct"] for d in sw]
    loud = [d["loudness_lu"] for d in sw]
    assert f0[-1] < 0 or rng[-1] < 0
    assert tempo[-1] <= -10.0, f"sad should slow by >= 10 %, got {tempo[-1]:.1f} %"
    assert loud[-1] < -1.0
    assert _decreasing(rng) and _decreasing(tempo) and _decreasing(loud)
    _still_speech(sw, "emotion", "sad")


@pytest.mark.parametrize("clip", CLIPS)
def test_angry_raises_effort_and_pitch(sessions, clip):
    sw = _sweep(sessions[clip], "emotion", "angry")
    tilt = [d["tilt_db"] for d in sw]
    f0 = [d["f0_st"] for d in sw]
    assert tilt[-1] >= 2.0, f"angry tilt change {tilt[-1]:.2f} dB"
    assert f0[-1] > 1.0
    assert _increasing(tilt) and _increasing(f0)
    _still_speech(sw, "emotion", "angry")


@pytest.mark.parametrize("clip", CLIPS)
def test_fear_raises_pitch_and_irregularity(sessions, clip):
    sw = _sweep(sessions[clip], "emotion", "fear")
    f0 = [d["f0_st"] for d in sw]
    irr = [d["irregularity_ratio"] for d in sw]
    assert f0[-1] >= 2.0
    assert irr[-1] > 1.15, f"fear irregularity ratio {irr[-1]:.2f}"
    # the perturbation is random and the pitch rises with it: at the top of the slider the
    # measured irregularity varies by up to ~0.25 between steps (a known weakness, see the
    # benchmark's Praat jitter figures); it must still rise overall
    assert _increasing(f0) and _increasing(irr, 0.25) and irr[-1] > irr[0], irr
    _still_speech(sw, "emotion", "fear")


@pytest.mark.parametrize("clip", CLIPS)
def test_whisper_removes_voicing(sessions, clip):
    sw = _sweep(sessions[clip], "style", "whisper")
    voiced = [d["voiced_after"] for d in sw]
    assert voiced[-1] < 0.10, f"whisper leaves {voiced[-1] * 100:.0f} % voiced"
    assert all(b <= a for a, b in zip(voiced, voiced[1:]))
    assert voiced[0] > voiced[-1]
    _still_speech(sw, "style", "whisper")


@pytest.mark.parametrize("clip", CLIPS)
def test_child_raises_formants(sessions, clip):
    sw = _sweep(sessions[clip], "style", "child")
    f1 = [d["f1_pct"] for d in sw]
    f2 = [d["f2_pct"] for d in sw]
    assert f1[-1] >= 8.0 and f2[-1] >= 8.0, f"child F1 {f1[-1]:.1f} %, F2 {f2[-1]:.1f} %"
    assert _increasing(f1, FORMANT_TOL) and _increasing(f2, FORMANT_TOL), (f1, f2)
    _still_speech(sw, "style", "child")


@pytest.mark.parametrize("clip", CLIPS)
def test_deeply_lowers_formants(sessions, clip):
    sw = _sweep(sessions[clip], "style", "deeply")
    f1 = [d["f1_pct"] for d in sw]
    f2 = [d["f2_pct"] for d in sw]
    assert f1[-1] <= -5.0 and f2[-1] <= -5.0
    assert _decreasing(f1, FORMANT_TOL) and _decreasing(f2, FORMANT_TOL), (f1, f2)
    _still_speech(sw, "style", "deeply")


CONVERGE = [("emotion", "happy"), ("emotion", "sad"), ("emotion", "angry"), ("emotion", "fear"),
            ("style", "child"), ("style", "deeply"), ("style", "shout")]


@pytest.mark.parametrize("group,name", CONVERGE)
@pytest.mark.parametrize("clip", ["LJ001-0004.wav", "cmu_arctic_us_aew_a0001.wav"])
def test_iterations_never_move_away_from_target(sessions, clip, group, name):
    s = sessions[clip]
    engine = s.engine
    req = _request(group, name, 1.0, iterations=3)
    events = list(_events(s, req))
    takes = [e.take for e in events if isinstance(e, TakeReady)]
    converged = [e for e in events if isinstance(e, RenderConverged)]
    # three takes, or fewer when an iteration could not improve: then the render says so and
    # adds no take that repeats the previous one
    assert [t.iteration for t in takes] == list(range(1, len(takes) + 1))
    assert len(takes) == 3 or (len(converged) == 1 and converged[0].iteration == len(takes))
    for a, b in zip(takes, takes[1:]):
        assert not np.array_equal(a.segment.samples, b.segment.samples), "a duplicate take"
    prepared = s.prepare()
    errs = [engine.target_errors(prepared, req, t.cues) for t in takes]
    assert errs[0], "the request steers at least one measured cue"
    for k in range(1, len(errs)):
        for cue, e in errs[k].items():
            allowed = max(errs[k - 1][cue], engine.TOL[cue])
            assert e <= allowed + 1e-9, f"{name} iteration {k + 1}: {cue} error {e:.3f} > {allowed:.3f}"
    # overall distance outside the measurement tolerances never grows either
    excess = [sum(max(0.0, v - engine.TOL[c]) / engine.TOL[c] for c, v in e.items()) for e in errs]
    assert all(b <= a + 1e-9 for a, b in zip(excess, excess[1:])), excess
    assert all(math.isfinite(v) for e in errs for v in e.values())


@pytest.mark.parametrize("request_kw", [
    {"emotions": {"happy": 0.6}},  # WORLD path (formants, tilt)
    {"speed": {"faster": 0.5}},  # PSOLA path (timing only)
    {"emotions": {"sad": 0.5}, "styles": {"whisper": 0.3}},
])
def test_multichannel_edit_is_coherent(data_dir, request_kw):
    """Every channel gets the same edit: identical channels stay identical, a channel at half
    level stays at half level, the rate and channel count are kept."""
    from stepedit_app.audio.clip import Clip

    mono = read_clip(data_dir / "LJ001-0008.wav")
    x = mono.samples[:, 0]
    clip = Clip(np.stack([x, x, 0.5 * x], axis=1), mono.rate)
    take = EditSession(clip).run(EditRequest(**request_kw))[0]
    y = take.segment.samples
    assert take.segment.rate == clip.rate and y.shape[1] == 3
    assert np.array_equal(y[:, 0], y[:, 1])
    ratio = np.sqrt(np.mean(y[:, 2] ** 2) / np.mean(y[:, 0] ** 2))
    assert abs(ratio - 0.5) < 0.02
    assert np.corrcoef(y[:, 0], y[:, 2])[0, 1] > 0.99


def _frames(pattern: str) -> np.ndarray:
    """Frames (5 ms) from runs such as "v60 .22 v40": v = True, . = False, then a count."""
    out = []
    for tok in pattern.split():
        out += [tok[0] == "v"] * int(tok[1:])
    return np.asarray(out, bool)


def test_a_phrase_ends_where_the_speech_pauses_even_if_a_voiced_blip_follows():
    """The engine voices permissively, so a weak voiced tail after a phrase can leave a voicing
    gap under 150 ms where the speech has paused (LJ001-0004 at 2.8 s: 110 ms of voicing gap,
    a 160 ms pause).  The phrase's accent applies there too; a short gap inside running speech
    (no pause) still gets none."""
    voiced = _frames("v100 .22 v60")
    pause = ~_frames("v100 .32 v50")  # the activity detector's pause: 160 ms from the voice's end
    got = ProsodyEngine._contour(voiced, pause, -2.5)
    assert got[99] == pytest.approx(-2.5)  # the first run ends a phrase: full fall at its end
    assert got[49] == 0.0 and got[60] < 0.0  # over its last 250 ms only
    assert got[-1] == pytest.approx(-2.5)  # and the clip's last run
    none = ProsodyEngine._contour(voiced, np.zeros(len(voiced), bool), -2.5)
    assert np.all(none[:100] == 0.0)
    assert none[-1] == pytest.approx(-2.5)
