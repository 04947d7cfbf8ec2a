"""Property tests (hypothesis) of the whole edit path, EditSession + the real 'prosody' engine,
on random signals: voiced tones with vibrato plus noise, pure noise and silence, 0.15-1.5 s,
8-48 kHz, 1-3 channels, random requests and regions."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepedit_app.audio.clip import MIN_EDIT_SECONDS, Clip, Region
from stepedit_app.engines.base import EditContext
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.prosody.profiles import PROFILES
from stepedit_app.engines.registry import create_engine
from stepedit_app.session.session import EditSession, Progress, TakeReady

CAPS = create_engine("prosody").capabilities()
CONTROLS = (
    [("emotion", n) for n in CAPS.emotions]
    + [("style", n) for n in CAPS.styles]
    + [("speed", n) for n in CAPS.speed]
)
ATTR = {"emotion": "emotions", "style": "styles", "speed": "speed"}
#: Controls that change neither tempo nor pauses: their output keeps the region's length.
TIMING_FREE = [(g, n) for g, n in CONTROLS if PROFILES[g][n].tempo_log == 0 and PROFILES[g][n].pause_log == 0]
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


def test_there_are_timing_free_controls():
    assert len(TIMING_FREE) >= 2, TIMING_FREE
    assert len(TIMING_FREE) < len(CONTROLS)


@st.composite
def clips(draw, max_s: float = 1.5):
    rate = draw(st.sampled_from([8000, 16000, 22050, 44100, 48000]))
    dur = draw(st.floats(0.15, max_s))
    channels = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["voice", "voice+noise", "noise", "silence", "hostile"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = int(dur * rate)
    t = np.arange(n) / rate
    f0 = draw(st.floats(70, 450))
    vib_hz, vib_depth = draw(st.floats(3, 7)), draw(st.floats(0, 0.06))
    inst = f0 * (1 + vib_depth * np.sin(2 * np.pi * vib_hz * t))
    phase = 2 * np.pi * np.cumsum(inst) / rate
    harmonics = [k for k in range(1, 25) if k * f0 * 1.1 < rate / 2]
    voice = sum(np.sin(k * phase) * (0.8**k) for k in harmonics)
    voice *= draw(st.floats(0.05, 0.6)) / max(1e-9, np.abs(voice).max())
    # syllable-like amplitude envelope with gaps, so there are pauses to time
    env = np.clip(np.sin(2 * np.pi * draw(st.floats(1.5, 5)) * t) * 1.5 + 0.5, 0, 1)
    noise_level = draw(st.floats(0.001, 0.2))
    noise = rng.standard_normal((n, channels)) * noise_level
    base = {"voice": voice * env, "voice+noise": voice * env, "noise": 0 * t, "silence": 0 * t}.get(kind)
    if kind == "hostile":
        # full-scale square wave, DC offset, clicks, or a barely audible voice
        sub = draw(st.sampled_from(["square", "dc", "clicks", "faint"]))
        if sub == "square":
            base = np.sign(np.sin(phase)) * 1.0
        elif sub == "dc":
            base = 0.5 + 0.3 * voice * env
        elif sub == "clicks":
            base = np.zeros(n)
            base[rng.integers(0, n, size=10)] = rng.choice([-1.0, 1.0], size=10)
        else:
            base = voice * env * 1e-5
    x = np.stack([base * (1.0 - 0.25 * c) for c in range(channels)], axis=1)
    if kind in ("voice+noise", "noise"):
        x = x + noise
    x = np.clip(x, -1.0, 1.0)
    return Clip(x, rate)


@st.composite
def regions(draw, clip: Clip):
    """None (the whole clip) or a region of at least the minimum length inside it."""
    if draw(st.booleans()):
        return None
    min_len = int(math.ceil(MIN_EDIT_SECONDS * clip.rate))
    length = draw(st.integers(min_len, clip.frames))
    start = draw(st.integers(0, clip.frames - length))
    return Region(start, start + length)


def _request(draw, pool, zero: bool = False) -> EditRequest:
    picked = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
    groups: dict[str, dict[str, float]] = {"emotions": {}, "styles": {}, "speed": {}}
    for g, name in picked:
        groups[ATTR[g]][name] = 0.0 if zero else draw(st.floats(0.0, 1.0))
    return EditRequest(**groups, iterations=draw(st.integers(1, 2)))


def _render(session: EditSession, request: EditRequest, region: Region | None):
    events = list(session.render(request, region))
    takes = [e.take for e in events if isinstance(e, TakeReady)]
    progress = [e for e in events if isinstance(e, Progress)]
    assert all(0.0 <= p.fraction <= 1.0 and 0.0 <= p.overall <= 1.0 for p in progress)
    return takes


def _check_take(take, clip: Clip, r: Region) -> None:
    seg = take.segment
    assert seg.rate == clip.rate and seg.channels == clip.channels
    assert seg.samples.dtype == np.float32 and np.isfinite(seg.samples).all()
    assert np.abs(seg.samples).max(initial=0.0) <= 1.0
    assert take.region == r
    full = take.full(clip)
    assert full.rate == clip.rate and full.channels == clip.channels
    assert full.frames == clip.frames - r.length + seg.frames
    assert np.isfinite(full.samples).all()
    assert np.array_equal(full.samples[: r.start], clip.samples[: r.start])
    assert np.array_equal(full.samples[r.start + seg.frames :], clip.samples[r.end :])


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_any_request_on_any_signal(data):
    clip = data.draw(clips())
    region = data.draw(regions(clip))
    request = _request(data.draw, CONTROLS)
    session = EditSession(clip, "prosody")
    takes = _render(session, request, region)
    r = region or clip.whole()
    # fewer takes only when an iteration converged (no duplicate takes)
    assert [t.iteration for t in takes] == list(range(1, len(takes) + 1)) and 1 <= len(takes) <= request.iterations
    # render() yields takes; publishing them is the caller's job (the GUI does it on its thread)
    assert len(session.takes) == 0
    for take in takes:
        _check_take(take, clip, r)
    assert not clip.samples.flags.writeable  # the source clip is untouched


def test_run_publishes_what_render_yields():
    """``render()`` yields takes for the caller to publish; ``run()`` (no worker) adds them."""
    t = np.arange(8000) / 16000
    clip = Clip(0.3 * np.sin(2 * np.pi * 140 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t)), 16000)
    session = EditSession(clip, "prosody")
    request = EditRequest(emotions={"sad": 0.5}, iterations=2)
    yielded = _render(session, request, None)
    assert len(session.takes) == 0
    ran = session.run(request)
    # (iteration 2 may converge: then both give one take)
    assert list(session.takes) == ran and [t.iteration for t in ran] == [t.iteration for t in yielded]
    assert [t.iteration for t in ran] == list(range(1, len(ran) + 1))
    assert all(np.array_equal(a.segment.samples, b.segment.samples) for a, b in zip(yielded, ran))


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_timing_free_controls_keep_the_length(data):
    clip = data.draw(clips(max_s=1.0))
    region = data.draw(regions(clip))
    request = _request(data.draw, TIMING_FREE)
    takes = _render(EditSession(clip, "prosody"), request, region)
    r = region or clip.whole()
    for take in takes:
        _check_take(take, clip, r)
        assert abs(take.segment.frames - r.length) <= 1, (take.segment.frames, r.length, request.summary())


@settings(max_examples=30, **SETTINGS)
@given(data=st.data())
def test_zero_intensity_is_an_exact_passthrough(data):
    clip = data.draw(clips())
    region = data.draw(regions(clip))
    request = _request(data.draw, CONTROLS, zero=True)
    assert request.is_identity
    takes = _render(EditSession(clip, "prosody"), request, region)
    r = region or clip.whole()
    assert len(takes) == request.iterations
    for take in takes:
        assert take.segment.frames == r.length
        assert np.array_equal(take.segment.samples, clip.samples[r.start : r.end])
        assert np.array_equal(take.full(clip).samples, clip.samples)


@settings(max_examples=8, **SETTINGS)
@given(data=st.data())
def test_the_engine_alone_passes_zero_through(data):
    """Not only the session's shortcut: the engine itself returns its input for an all-zero
    request (another front end may call it directly)."""
    clip = data.draw(clips(max_s=0.6))
    engine = create_engine("prosody")
    prepared = engine.prepare(clip)
    request = _request(data.draw, CONTROLS, zero=True)
    gen = engine.edit(prepared, request, EditContext(iteration=1, total=1))
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        out = stop.value
    assert np.array_equal(out.samples, clip.samples) and out.rate == clip.rate
