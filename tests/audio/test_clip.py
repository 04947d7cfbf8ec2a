"""Clips, regions and splicing: parsing, the user-facing region messages, and the splice
guarantees (nothing outside the region changes, what follows shifts, boundaries do not click)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepedit_app.audio.clip import CROSSFADE_SECONDS, MIN_EDIT_SECONDS, Clip, Region, splice
from stepedit_app.errors import RegionError

RATE = 22050


def _clip(seconds: float = 2.0, rate: int = RATE, channels: int = 1, seed: int = 0) -> Clip:
    rng = np.random.default_rng(seed)
    return Clip((0.3 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32), rate)


# --- Clip ----------------------------------------------------------------------------------


def test_clip_is_immutable_float32_frames_by_channels():
    src = np.arange(10, dtype=np.float64)
    c = Clip(src, 8000)
    assert c.samples.shape == (10, 1) and c.samples.dtype == np.float32
    assert not c.samples.flags.writeable and c.samples.flags.c_contiguous
    src[0] = 99.0  # the caller's array is not shared
    assert c.samples[0, 0] == 0.0
    with pytest.raises(ValueError):
        c.samples[0, 0] = 1.0
    w = np.zeros((4, 2), np.float32)
    c2 = Clip(w, 8000)
    w[0, 0] = 5.0  # a writeable float32 array is copied too
    assert c2.samples[0, 0] == 0.0
    assert (c2.frames, c2.channels, c2.duration) == (4, 2, 4 / 8000)
    with pytest.raises(ValueError, match=r"samples must be \(frames, channels\)"):
        Clip(np.zeros((2, 2, 2)), 8000)


def test_digest_depends_on_samples_and_rate():
    a = _clip(0.1)
    assert a.digest() == Clip(a.samples.copy(), a.rate).digest()
    assert a.digest() != Clip(a.samples, a.rate + 1).digest()
    b = np.array(a.samples)
    b[3, 0] += 1e-3
    assert a.digest() != Clip(b, a.rate).digest()


# --- Region.parse and the region messages -----------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("0.5:2", (11025, 44100)),
    (":2", (0, 44100)),
    ("1:", (22050, -1)),
    (" 0.25 : 1.5 ", (5512, 33075)),
    ("0:0.1", (0, 2205)),
])
def test_region_parse(text, expected):
    assert Region.parse(text, RATE) == Region(*expected)


def test_open_end_resolves_to_the_clip_end():
    clip = _clip(2.0)
    assert Region.parse("1:", RATE).resolve(clip) == Region(22050, clip.frames)
    assert Region.parse(":", RATE).resolve(clip) == clip.whole()
    assert Region(3, 7).resolve(clip) == Region(3, 7)


@pytest.mark.parametrize("text,message", [
    ("abc", "region 'abc': expected START:END in seconds, e.g. 0.5:2.0"),
    ("1.5", "region '1.5': expected START:END in seconds, e.g. 0.5:2.0"),
    ("1:x", "region '1:x': expected START:END in seconds, e.g. 0.5:2.0"),
    ("1:2:3", "region '1:2:3': expected START:END in seconds, e.g. 0.5:2.0"),
    ("nan:1", "region 'nan:1': start and end must be finite numbers"),
    ("0:inf", "region '0:inf': start and end must be finite numbers"),
    ("-1:2", "region '-1:2': start and end must not be negative"),
])
def test_region_parse_errors(text, message):
    with pytest.raises(RegionError) as exc:
        Region.parse(text, RATE)
    assert str(exc.value) == message


def test_a_tiny_negative_end_is_not_mistaken_for_an_open_end():
    """-1 frames is the 'to the end' marker; ':-0.00002' at 48 kHz rounds to it and used to
    select the whole clip instead of being refused."""
    with pytest.raises(RegionError, match="must not be negative"):
        Region.parse("0:-0.00002", 48000)


def test_reversed_region_parses_but_is_empty():
    clip = _clip(3.0)
    r = Region.parse("2:1", RATE)
    assert r == Region(44100, 22050) and r.length < 0
    with pytest.raises(RegionError) as exc:
        r.check_within(clip)
    assert str(exc.value) == "region 2.000–1.000 s is empty (end must be after start)"
    with pytest.raises(RegionError) as exc:
        Region(100, 100).check_editable(clip)
    assert str(exc.value) == "region 0.005–0.005 s is empty (end must be after start)"


def test_region_outside_the_clip():
    clip = _clip(2.0)
    for r, text in (
        (Region.parse("1.5:2.5", RATE), "region 1.500–2.500 s is outside the clip (0.000–2.000 s)"),
        (Region(-10, 100), "region -0.000–0.005 s is outside the clip (0.000–2.000 s)"),
        (Region(0, clip.frames + 1), "region 0.000–2.000 s is outside the clip (0.000–2.000 s)"),
    ):
        with pytest.raises(RegionError) as exc:
            r.check_within(clip)
        assert str(exc.value) == text
        with pytest.raises(RegionError):
            clip.slice(r)
    clip.whole().check_within(clip)
    clip.whole().check_editable(clip)


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000])
def test_check_editable_minimum_length(rate):
    clip = Clip(np.zeros(rate), rate)
    n = int(np.ceil(MIN_EDIT_SECONDS * rate))
    Region(0, n).check_editable(clip)  # exactly the minimum is fine
    with pytest.raises(RegionError) as exc:
        Region(0, n - 1).check_editable(clip)
    msg = str(exc.value)
    assert "is too short to edit (" in msg and msg.endswith("s; minimum 0.1 s)")
    # the length shown must be below the minimum it is compared with
    shown = float(msg.split("(")[1].split(" s;")[0])
    assert shown < MIN_EDIT_SECONDS


def test_too_short_message_wording():
    clip = _clip(2.0)
    with pytest.raises(RegionError) as exc:
        Region.parse("1:1.05", RATE).check_editable(clip)
    assert str(exc.value) == "region 1.000–1.050 s is too short to edit (0.050 s; minimum 0.1 s)"
    tiny = Clip(np.zeros(160), 16000)
    with pytest.raises(RegionError) as exc:
        tiny.whole().check_editable(tiny)
    assert str(exc.value) == "region 0.000–0.010 s is too short to edit (0.010 s; minimum 0.1 s)"


def test_slice_and_from_seconds():
    clip = _clip(1.0)
    r = Region.from_seconds(0.25, 0.5, RATE)
    assert r == Region(5512, 11025) and r.seconds(RATE) == (5512 / RATE, 0.5)
    s = clip.slice(r)
    assert s.frames == r.length and s.rate == RATE and s.path is None
    assert np.shares_memory(s.samples, clip.samples)  # a view, no copy
    assert np.array_equal(s.samples, clip.samples[5512:11025])


# --- splice ----------------------------------------------------------------------------------


def test_splice_keeps_everything_outside_the_region_bit_for_bit():
    clip = _clip(2.0, channels=2)
    r = Region(10000, 30000)
    edited = np.asarray(clip.samples[r.start : r.end]) * 0.5 + 0.01
    out = splice(clip, r, edited)
    assert out.frames == clip.frames and out.channels == 2 and out.rate == clip.rate
    assert np.array_equal(out.samples[: r.start], clip.samples[: r.start])
    assert np.array_equal(out.samples[r.end :], clip.samples[r.end :])
    x = int(round(CROSSFADE_SECONDS * RATE))
    # between the two crossfades, the edited samples exactly
    assert np.array_equal(out.samples[r.start + x : r.end - x], edited[x:-x].astype(np.float32))
    # inside the crossfades, neither the original nor the edit
    assert not np.array_equal(out.samples[r.start : r.start + x], edited[:x])
    assert not np.array_equal(out.samples[r.start : r.start + x], clip.samples[r.start : r.start + x])


@pytest.mark.parametrize("new_len", [5000, 20000, 41234])
def test_longer_or_shorter_edits_shift_what_follows(new_len):
    clip = _clip(2.0, channels=1, seed=2)
    r = Region(8000, 28000)
    edited = _clip(new_len / RATE + 1e-9, seed=5).samples[:new_len]
    assert len(edited) == new_len
    out = splice(clip, r, edited)
    assert out.frames == clip.frames - r.length + new_len
    assert np.array_equal(out.samples[: r.start], clip.samples[: r.start])
    assert np.array_equal(out.samples[r.start + new_len :], clip.samples[r.end :])


def test_whole_clip_is_replaced_without_crossfade():
    clip = _clip(1.0, channels=3)
    edited = _clip(1.3, channels=3, seed=9).samples
    out = splice(clip, clip.whole(), edited)
    assert np.array_equal(out.samples, edited)


def test_region_at_an_end_has_no_crossfade_there():
    clip = _clip(1.0, seed=1)
    edited = _clip(0.5, seed=4).samples
    head = splice(clip, Region(0, 11025), edited)
    x = int(round(CROSSFADE_SECONDS * RATE))
    assert np.array_equal(head.samples[:x], edited[:x])  # nothing before it to join
    assert not np.array_equal(head.samples[11025 - x : 11025], edited[-x:])
    tail = splice(clip, Region(11025, clip.frames), edited)
    assert np.array_equal(tail.samples[-x:], edited[-x:])
    assert np.array_equal(tail.samples[:11025], clip.samples[:11025])


def test_splicing_the_region_back_unchanged_is_bit_exact():
    clip = _clip(1.0, channels=2, seed=7)
    for r in (Region(100, 9000), Region(0, 5000), Region(5000, clip.frames), clip.whole()):
        out = splice(clip, r, clip.samples[r.start : r.end])
        assert np.array_equal(out.samples, clip.samples)


def test_splice_refuses_bad_input():
    clip = _clip(1.0, channels=2)
    with pytest.raises(ValueError, match="different channel count"):
        splice(clip, Region(0, 5000), np.zeros((5000, 1), np.float32))
    with pytest.raises(RegionError, match="outside the clip"):
        splice(clip, Region(0, clip.frames + 5), np.zeros((100, 2), np.float32))
    mono = _clip(1.0)
    out = splice(mono, Region(100, 2000), np.zeros(1900))  # 1-D edited audio is mono
    assert out.frames == mono.frames and out.channels == 1
    assert not clip.samples.flags.writeable  # the source is never touched


def _max_step(x: np.ndarray) -> float:
    return float(np.abs(np.diff(x, axis=0)).max())


@pytest.mark.parametrize("rate", [16000, 44100])
def test_crossfades_do_not_click(rate):
    """Editing with a slightly different signal (level and phase changed): across both
    boundaries no sample-to-sample step is larger than the signals' own largest step; without
    crossfades the boundary steps would be several times larger."""
    n = rate
    t = np.arange(n) / rate
    w = 2 * np.pi * 220
    original = 0.5 * np.sin(w * t)
    clip = Clip(original, rate)
    r = Region(int(0.3 * rate) + 7, int(0.7 * rate) + 3)
    tr = t[r.start : r.end]
    edited = 0.42 * np.sin(w * tr + 0.7)
    own = max(_max_step(original), _max_step(edited))
    x = int(round(CROSSFADE_SECONDS * rate))
    for fade, limit in ((CROSSFADE_SECONDS, 1.1 * own), (0.0, None)):
        out = splice(clip, r, edited, crossfade_s=fade).samples[:, 0].astype(np.float64)
        near = np.r_[r.start - 3 : r.start + x + 3, r.end - x - 3 : r.end + 3]
        steps = np.abs(np.diff(out))[near[:-1]]
        if limit is not None:
            assert steps.max() <= limit, (steps.max(), own)
        else:
            assert steps.max() > 2.5 * own  # the test would see a click


# --- properties ------------------------------------------------------------------------------


@st.composite
def splice_cases(draw):
    rate = draw(st.integers(8000, 192000))
    channels = draw(st.integers(1, 8))
    frames = draw(st.integers(2, 6000))
    start = draw(st.integers(0, frames - 1))
    end = draw(st.integers(start + 1, frames))
    new_len = draw(st.integers(0, 2 * (end - start) + 50))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    clip = Clip(rng.uniform(-1, 1, (frames, channels)).astype(np.float32), rate)
    edited = rng.uniform(-1, 1, (new_len, channels)).astype(np.float32)
    return clip, Region(start, end), edited


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=splice_cases(), crossfade=st.sampled_from([0.0, 0.001, CROSSFADE_SECONDS, 0.05]))
def test_splice_properties(case, crossfade):
    clip, r, edited = case
    out = splice(clip, r, edited, crossfade_s=crossfade)
    assert out.frames == clip.frames - r.length + len(edited)
    assert out.channels == clip.channels and out.rate == clip.rate and out.samples.dtype == np.float32
    assert np.isfinite(out.samples).all()
    assert np.array_equal(out.samples[: r.start], clip.samples[: r.start])
    assert np.array_equal(out.samples[r.start + len(edited) :], clip.samples[r.end :])
    # crossfades blend two signals in [-1, 1] with gains whose squares (equal power) or sum
    # (equal gain) is 1: never beyond sqrt(2)
    assert out.frames == 0 or np.abs(out.samples).max() <= np.sqrt(2.0) + 1e-6
    # replacing the region by itself is the identity
    same = splice(clip, r, clip.samples[r.start : r.end], crossfade_s=crossfade)
    assert np.array_equal(same.samples, clip.samples)


@settings(max_examples=150, deadline=None)
@given(
    a=st.floats(0, 3600, allow_nan=False, allow_infinity=False),
    span=st.floats(0, 3600, allow_nan=False, allow_infinity=False),
    rate=st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000]),
)
def test_region_parse_agrees_with_from_seconds(a, span, rate):
    b = a + span
    text = f"{a!r}:{b!r}"
    r = Region.parse(text, rate)
    assert r == Region.from_seconds(a, b, rate)
    assert r.start >= 0 and r.end >= r.start  # never the open-end marker, never reversed
    assert Region.parse(f"{a!r}:", rate) == Region(r.start, -1)
    assert Region.parse(f":{b!r}", rate) == Region(0, r.end)


@settings(max_examples=150, deadline=None)
@given(
    rate=st.integers(8000, 192000),
    frames=st.integers(1, 40000),
    data=st.data(),
)
def test_check_editable_agrees_with_the_minimum(rate, frames, data):
    """A region is editable exactly when it is inside the clip and at least 0.1 s long; the
    message for a short one never shows a length that reads as the minimum or more."""
    clip = Clip(np.zeros((frames, 1), np.float32), rate)
    start = data.draw(st.integers(0, frames - 1))
    end = data.draw(st.integers(start + 1, frames))
    r = Region(start, end)
    if r.length >= MIN_EDIT_SECONDS * rate:
        r.check_editable(clip)
    else:
        with pytest.raises(RegionError) as exc:
            r.check_editable(clip)
        msg = str(exc.value)
        assert msg.startswith(f"region {start / rate:.3f}–{end / rate:.3f} s is too short to edit (")
        assert msg.endswith(" s; minimum 0.1 s)")
        assert float(msg.split("(")[1].split(" s;")[0]) < MIN_EDIT_SECONDS
