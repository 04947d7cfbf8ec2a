"""Property-based tests (hypothesis) of the whole edit path on random signals, and of the
request vocabulary."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepedit_app.audio.clip import MIN_EDIT_SECONDS, Clip, Region
from stepedit_app.engines.controls import EMOTIONS, STYLES, EditRequest, parse_assignment
from stepedit_app.engines.prosody.engine import ProsodyEngine
from stepedit_app.engines.prosody.profiles import PROFILES
from stepedit_app.engines.registry import create_engine
from stepedit_app.errors import RequestError
from stepedit_app.session.session import EditSession

CAPS = ProsodyEngine().capabilities()
CONTROLS = [("emotion", n) for n in CAPS.emotions] + [("style", n) for n in CAPS.styles] + \
           [("speed", n) for n in CAPS.speed]
ATTR = {"emotion": "emotions", "style": "styles", "speed": "speed"}


@st.composite
def signals(draw):
    rate = draw(st.sampled_from([8000, 16000, 22050, 44100, 48000]))
    dur = draw(st.floats(0.15, 1.0))
    ch = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["voice", "noise", "silence", "voice+noise"]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    n = int(dur * rate)
    t = np.arange(n) / rate
    f0 = draw(st.floats(80, 400))
    vib = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(vib) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 12)) * 0.2
    noise = rng.standard_normal(n) * 0.05
    x = {"voice": voice, "noise": noise, "silence": np.zeros(n), "voice+noise": voice + noise}[kind]
    gains = [1.0, 0.7, 0.4][:ch]
    return Clip(np.stack([x * g for g in gains], axis=1), rate)


@st.composite
def requests(draw):
    picked = draw(st.lists(st.sampled_from(CONTROLS), min_size=1, max_size=2, unique=True))
    groups: dict[str, dict[str, float]] = {"emotions": {}, "styles": {}, "speed": {}}
    for g, name in picked:
        groups[ATTR[g]][name] = draw(st.floats(0.0, 1.0))
    return EditRequest(**groups, iterations=draw(st.integers(1, 2)))


def _region(draw_fracs, clip):
    a, b = sorted(draw_fracs)
    r = Region(int(a * clip.frames), int(b * clip.frames))
    return r if r.length >= MIN_EDIT_SECONDS * clip.rate else None


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clip=signals(), req=requests(), fracs=st.none() | st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_any_edit_is_finite_and_keeps_the_format(clip, req, fracs):
    region = _region(fracs, clip) if fracs else None
    session = EditSession(clip)
    takes = session.run(req, region)
    # every iteration is a take, unless one could not improve on the last (the render then ends,
    # "converged", with no duplicate take)
    assert 1 <= len(takes) <= req.iterations
    r = region or clip.whole()
    for take in takes:
        seg = take.segment
        assert seg.rate == clip.rate and seg.channels == clip.channels
        assert np.isfinite(seg.samples).all() and np.abs(seg.samples).max() <= 1.0
        full = take.full(clip)
        assert full.frames == clip.frames - r.length + seg.frames
        # outside the region, bit for bit
        assert np.array_equal(full.samples[: r.start], clip.samples[: r.start])
        assert np.array_equal(full.samples[r.start + seg.frames :], clip.samples[r.end :])
        timing = any(PROFILES[g][n].tempo_log or PROFILES[g][n].pause_log for g, n, _ in req.active())
        if not timing:
            assert abs(seg.frames - r.length) <= 1


@settings(max_examples=15, deadline=None)
@given(clip=signals(), fracs=st.none() | st.tuples(st.floats(0, 1), st.floats(0, 1)),
       names=st.lists(st.sampled_from(CONTROLS), min_size=1, max_size=3, unique=True))
def test_zero_intensity_returns_the_input_exactly(clip, fracs, names):
    region = _region(fracs, clip) if fracs else None
    groups: dict[str, dict[str, float]] = {"emotions": {}, "styles": {}, "speed": {}}
    for g, n in names:
        groups[ATTR[g]][n] = 0.0
    take = EditSession(clip).run(EditRequest(**groups), region)[0]
    r = region or clip.whole()
    assert np.array_equal(take.segment.samples, clip.samples[r.start : r.end])
    assert np.array_equal(take.full(clip).samples, clip.samples)


# --- the request vocabulary ---------------------------------------------------------------


@given(v=st.floats(allow_nan=True, allow_infinity=True))
def test_intensity_outside_0_1_is_refused(v):
    if 0.0 <= v <= 1.0:
        assert EditRequest(emotions={"happy": v}).emotions["happy"] == v
    else:
        with pytest.raises(RequestError, match=r"emotions\.happy: intensity .* out of range \(allowed: 0\.\.1\)"):
            EditRequest(emotions={"happy": v})


def test_unknown_names_and_bad_iterations_name_the_field():
    with pytest.raises(RequestError, match=r"styles: unknown name 'wisper' \(did you mean 'whisper'\? allowed: serious"):
        EditRequest(styles={"wisper": 0.5})
    for it in (0, 11, 2.5, True, "3"):
        with pytest.raises(RequestError, match=r"^iterations: "):
            EditRequest(emotions={"sad": 0.5}, iterations=it)
    with pytest.raises(RequestError, match=r"request: unknown field 'mood'"):
        EditRequest.from_dict({"mood": {}})


@given(e=st.dictionaries(st.sampled_from(EMOTIONS), st.floats(0, 1), max_size=4),
       s=st.dictionaries(st.sampled_from(STYLES), st.floats(0, 1), max_size=4),
       it=st.integers(1, 10), text=st.none() | st.text(max_size=30))
def test_request_round_trips_through_json(e, s, it, text):
    req = EditRequest(e, s, {}, it, text)
    back = EditRequest.from_dict(__import__("json").loads(req.to_json()))
    assert back == req or (back.to_dict() == req.to_dict())
    assert req.is_identity == (not any(v > 0 for v in list(e.values()) + list(s.values())))


def test_parse_assignment_and_summary():
    assert parse_assignment("happy=0.6", "emotion") == ("happy", 0.6)
    assert parse_assignment("happy=60%", "emotion") == ("happy", 0.6)
    for bad in ("happy", "happy=abc"):
        with pytest.raises(RequestError):
            parse_assignment(bad, "emotion")
    req = EditRequest(emotions={"happy": 0.6}, styles={"whisper": 0.3})
    assert req.summary() == "happy 60% + whisper 30%"
    assert req.slug() == "happy60-whisper30"


def test_engine_refuses_what_it_cannot_do():
    """Controls the embedded engine lacks are absent from its capabilities and refused."""
    caps = create_engine("prosody").capabilities()
    missing = [n for n in EMOTIONS if n not in caps.emotions]
    assert missing, "some Step-Audio-EditX emotions are not in the embedded engine"
    for name in missing:
        with pytest.raises(RequestError, match=f"engine 'prosody' cannot do emotion '{name}'"):
            caps.check_request(EditRequest(emotions={name: 0.5}))
    caps.check_request(EditRequest(emotions={missing[0]: 0.0}))  # zero is not a request to do it
