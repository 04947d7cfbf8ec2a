"""Long files: the streaming summary behind ``stepedit info`` agrees with the in-memory
measurements, and the file-backed open path gives a clip that reads, slices, hashes, plays,
exports and edits like one in memory, with the same peak pyramid.  Timing and memory on a
3-hour file are measured by ``benchmarks/long_file.py``, not asserted here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import resample_poly

from stepedit_app.audio import longfile
from stepedit_app.audio.analysis import (
    activity,
    activity_from_levels,
    frame_rms_db,
    loudness_lufs,
    measure_cues,
    track_pitch,
)
from stepedit_app.audio.clip import Region
from stepedit_app.audio.io import BLOCK_FRAMES, read_clip, write_clip
from stepedit_app.audio.longfile import open_clip, prune_cache, summarize_file
from stepedit_app.audio.peaks import PeakBuilder, PeakPyramid
from stepedit_app.audio.playback import Player
from stepedit_app.cli import main
from stepedit_app.errors import AudioInputError, Cancelled

DATA = Path(__file__).parents[1] / "data"
CLIPS = sorted(DATA.glob("*.wav"))


def _speech(rate: int, seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Real speech from the test clips, resampled, with pauses and level changes."""
    rng = np.random.default_rng(seed)
    parts = []
    clips = []
    for p in CLIPS:
        x, sr = sf.read(p, dtype="float32")
        clips.append(resample_poly(x, rate, sr).astype(np.float32))
    n = int(seconds * rate)
    total = 0
    k = 0
    while total < n:
        seg = clips[k % len(clips)] * np.float32(0.3 + 0.7 * rng.random())
        gap = np.zeros(int(rate * rng.uniform(0.1, 0.8)), np.float32)
        parts += [seg, gap]
        total += len(seg) + len(gap)
        k += 1
    x = np.concatenate(parts)[:n]
    if channels == 1:
        return x[:, None]
    gains = np.linspace(1.0, 0.5, channels, dtype=np.float32)
    return x[:, None] * gains[None, :]


# --- the summary ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CLIPS, ids=lambda p: p.name)
def test_summary_of_short_files_equals_the_in_memory_measurement(path):
    s = summarize_file(path)
    clip = read_clip(path)
    c = measure_cues(clip)
    assert (s.rate, s.channels, s.frames, s.subtype) == (clip.rate, clip.channels, clip.frames, clip.subtype)
    assert s.peak_dbfs == pytest.approx(c.peak_dbfs, abs=1e-9)
    assert s.loudness_lufs == pytest.approx(c.loudness_lufs, abs=0.005)
    assert s.speech_s == pytest.approx(c.speech_s, abs=0.011)
    assert s.median_f0_hz == c.median_f0_hz and s.f0_range_st == c.f0_range_st  # tracked whole, the same way
    assert s.voiced_fraction == pytest.approx(c.voiced_fraction, abs=0.01)
    assert s.pitch_whole and s.pitch_excerpts == 1


@pytest.mark.parametrize("rate,seconds,channels", [
    (44100, 0.3, 1),  # under one 0.5 s: looped, as loudness_lufs does
    (44100, 0.5, 2),
    (44100, BLOCK_FRAMES / 44100 - 1e-4, 1),  # just under one decode block
    (44100, (BLOCK_FRAMES + 7) / 44100, 3),  # just over it
    (16000, (2 * BLOCK_FRAMES + 333) / 16000, 5),  # BS.1770 weights the surround channels
    (8000, 40.0, 7),  # more than five channels: the mix
])
def test_streaming_loudness_equals_pyloudnorm_across_block_boundaries(tmp_path, rate, seconds, channels):
    x = _speech(rate, seconds, channels, seed=channels)
    x[: len(x) // 3] *= 0.05  # a quiet stretch the gates must treat as pyloudnorm does
    p = tmp_path / "x.wav"
    sf.write(p, x, rate, subtype="FLOAT")
    s = summarize_file(p)
    assert s.loudness_lufs == pytest.approx(loudness_lufs(x, rate), abs=0.005)
    assert s.peak_dbfs == pytest.approx(20 * np.log10(np.abs(x).max()), abs=1e-6)


def test_streamed_speech_time_is_analysis_activity(tmp_path):
    """The streaming summary's frame levels, thresholded by the one rule analysis uses, give
    exactly the speech time measure_cues reports."""
    x = _speech(16000, 20.0)[:, 0].astype(np.float64)
    x[40000:60000] = 0.0
    p = tmp_path / "x.wav"
    sf.write(p, x, 16000, subtype="FLOAT")
    assert summarize_file(p).speech_s == pytest.approx(activity(x, 16000).sum() * 0.01)
    assert np.array_equal(activity_from_levels(frame_rms_db(x, 16000)), activity(x, 16000))


def test_long_file_summary_samples_the_pitch_and_says_so(tmp_path, capsys):
    rate = 16000
    x = _speech(rate, 200.0, 2, seed=3)
    p = tmp_path / "long.wav"
    sf.write(p, x, rate, subtype="PCM_16")
    x = sf.read(p, dtype="float32", always_2d=True)[0]  # as stored
    s = summarize_file(p)
    mono = x.mean(axis=1, dtype=np.float64)
    assert s.frames == len(x)
    assert s.loudness_lufs == pytest.approx(loudness_lufs(x, rate), abs=0.005)
    assert s.speech_s == pytest.approx(float(activity(mono, rate).sum() * 0.01), abs=0.05)
    assert s.pitch_excerpts == longfile.PITCH_EXCERPTS and not s.pitch_whole
    assert s.pitch_sample_s == pytest.approx(longfile.PITCH_EXCERPTS * longfile.PITCH_EXCERPT_S)
    whole = np.median(track_pitch(mono, rate).voiced_f0())
    assert abs(np.log(s.median_f0_hz / whole)) < 0.03  # the excerpts find the speaker's pitch
    assert main(["info", str(p)]) == 0
    out = capsys.readouterr().out
    assert "pitch measured on  24 excerpts of 5.0 s spread over the file (120 of 200 s)" in out
    assert main(["info", str(p), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["pitch_excerpts"] == 24 and info["pitch_sample_s"] == 120.0


def test_summary_progress_and_cancel(tmp_path):
    p = tmp_path / "two_blocks.wav"
    sf.write(p, _speech(16000, 2.5 * BLOCK_FRAMES / 16000), 16000, subtype="PCM_16")
    seen = []
    summarize_file(p, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3
    with pytest.raises(Cancelled):
        summarize_file(p, cancelled=lambda: True)


def test_summary_reads_the_same_errors(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioInputError, match="file is empty"):
        summarize_file(p)


# --- the file-backed open path ------------------------------------------------------------------


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def long_stereo(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("long") / "stereo.wav"
    sf.write(p, _speech(16000, 2.3 * BLOCK_FRAMES / 16000, 2, seed=5), 16000, subtype="PCM_24")
    return p


def test_small_files_open_in_memory(female_clip_path, cache):
    r = open_clip(female_clip_path, cache_dir=cache)
    ref = read_clip(female_clip_path)
    assert not r.file_backed and r.cache_file is None
    assert np.array_equal(r.clip.samples, ref.samples) and r.clip.path == ref.path
    assert [lv[0] for lv in r.pyramid.levels] == [lv[0] for lv in PeakPyramid(ref.samples).levels]
    assert not cache.exists()


def test_long_files_are_file_backed_and_read_like_memory(long_stereo, cache, tmp_path):
    seen = []
    r = open_clip(long_stereo, cache_dir=cache, in_memory_limit=0, progress=seen.append)
    ref = read_clip(long_stereo)
    c = r.clip
    assert r.file_backed and r.cache_file.parent == cache
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3
    assert isinstance(c.samples.base, np.memmap) and not c.samples.flags.writeable
    digest = c.digest()  # hashed in slices, releasing the pages it read
    with pytest.raises(ValueError):
        c.samples[0, 0] = 1.0
    assert (c.rate, c.channels, c.frames, c.subtype, c.path) == (ref.rate, ref.channels, ref.frames, ref.subtype, ref.path)
    assert np.array_equal(c.samples, ref.samples)
    assert digest == ref.digest()
    seg = c.slice(Region(1000, 9000))
    assert np.array_equal(seg.samples, ref.samples[1000:9000])
    # the pyramid built while decoding equals the one built from memory
    mem = PeakPyramid(ref.samples)
    assert len(r.pyramid.levels) == len(mem.levels)
    for (b1, mn1, mx1), (b2, mn2, mx2) in zip(r.pyramid.levels, mem.levels):
        assert b1 == b2 and np.array_equal(mn1, mn2) and np.array_equal(mx1, mx2)
    for span in ((0, c.frames, 800), (5000, 5300, 800), (12345, 20000, 3000)):  # levels and raw samples
        for a, b in zip(r.pyramid.envelope(*span), mem.envelope(*span)):
            assert np.allclose(a, b, atol=1e-7)
    # export streams it block by block
    out = tmp_path / "copy.wav"
    write_clip(c, out)
    assert np.array_equal(read_clip(out).samples, ref.samples)


def test_the_cache_is_reused_and_keyed_by_the_source(long_stereo, cache, tmp_path):
    r1 = open_clip(long_stereo, cache_dir=cache, in_memory_limit=0)
    mtime = r1.cache_file.stat().st_mtime_ns
    seen = []
    r2 = open_clip(long_stereo, cache_dir=cache, in_memory_limit=0, progress=seen.append)
    assert r2.cache_file == r1.cache_file and r2.cache_file.stat().st_mtime_ns == mtime and seen == [1.0]
    assert np.array_equal(r2.clip.samples, r1.clip.samples)
    assert [lv[0] for lv in r2.pyramid.levels] == [lv[0] for lv in r1.pyramid.levels]
    # a changed source is decoded again
    other = tmp_path / "other.wav"
    shutil.copy(long_stereo, other)
    r3 = open_clip(other, cache_dir=cache, in_memory_limit=0)
    assert r3.cache_file != r1.cache_file
    x = sf.read(other, dtype="float32", always_2d=True)[0]
    sf.write(other, x * 0.5, 16000, subtype="PCM_24")
    os.utime(other, ns=(time.time_ns(), time.time_ns() + 10**9))
    r4 = open_clip(other, cache_dir=cache, in_memory_limit=0)
    assert r4.cache_file != r3.cache_file
    assert np.allclose(r4.clip.samples, read_clip(other).samples)


def test_cancelling_an_open_leaves_nothing_behind(long_stereo, cache):
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(Cancelled):
        open_clip(long_stereo, cache_dir=cache, in_memory_limit=0, cancelled=cancelled)
    assert os.listdir(cache) == []


def test_a_file_backed_clip_plays(long_stereo, cache):
    r = open_clip(long_stereo, cache_dir=cache, in_memory_limit=0)
    c = r.clip
    pulled = []

    class Stream:
        def __init__(self, **kw):
            self.kw = kw

        def start(self):
            pass

        def stop(self):
            pass

        def close(self):
            pass

    streams = []

    def factory(**kw):
        s = Stream(**kw)
        streams.append(s)
        return s

    p = Player(factory)
    p.load(c.samples, c.rate)
    assert np.shares_memory(p._a, c.samples)  # no copy of the long file
    start = c.frames - 3000
    p.play(start)
    cb = streams[-1].kw["callback"]
    out = np.zeros((1024, c.channels), np.float32)
    for _ in range(2):
        cb(out, 1024, None, None)
        pulled.append(out.copy())
    assert np.array_equal(np.concatenate(pulled), c.samples[start : start + 2048])


def test_a_region_of_a_file_backed_clip_edits(long_stereo, cache):
    from stepedit_app.engines.controls import EditRequest
    from stepedit_app.session.session import EditSession

    c = open_clip(long_stereo, cache_dir=cache, in_memory_limit=0).clip
    session = EditSession(c, "prosody")
    (take,) = session.run(EditRequest({"sad": 0.5}), Region(16000, 16000 + 24000))
    assert np.isfinite(take.segment.samples).all() and take.segment.channels == 2


def test_truncated_and_non_seekable_files_open_file_backed(tmp_path, cache, long_stereo):
    data = long_stereo.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    r = open_clip(cut, cache_dir=cache, in_memory_limit=0)
    ref = read_clip(cut)
    assert r.clip.frames == ref.frames < sf.info(str(cut)).frames + 1
    assert np.array_equal(r.clip.samples, ref.samples)
    if shutil.which("sox") is None:
        pytest.skip("sox is needed to make a GSM 6.10 WAV")
    gsm = tmp_path / "gsm.wav"
    subprocess.run(["sox", str(DATA / "cmu_arctic_us_aew_a0001.wav"), "-e", "gsm-full-rate", str(gsm)], check=True)
    r = open_clip(gsm, cache_dir=cache, in_memory_limit=0)
    assert r.file_backed and np.array_equal(r.clip.samples, read_clip(gsm).samples)


def test_an_unwritable_cache_is_one_line(long_stereo, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AudioInputError) as exc:
        open_clip(long_stereo, cache_dir=blocker / "sub", in_memory_limit=0)
    assert str(exc.value).startswith(f"{long_stereo}: cannot cache the decoded audio in {blocker / 'sub'} (")


def test_prune_cache_removes_the_least_recently_used(tmp_path):
    d = tmp_path / "decoded"
    d.mkdir()
    now = time.time()
    for i, key in enumerate(("old", "mid", "new")):
        for ext, size in ((".f32", 1000), (".json", 10), (".peaks.npz", 50)):
            f = d / f"{key}{ext}"
            f.write_bytes(b"\0" * size)
            os.utime(f, (now - 100 + i * 10, now - 100 + i * 10))
    stale = d / ".x.f32.abc.part"
    stale.write_bytes(b"1")
    os.utime(stale, (now - 2 * 86400, now - 2 * 86400))
    prune_cache(2200, d, keep="old")
    assert sorted(os.listdir(d)) == ["new.f32", "new.json", "new.peaks.npz", "old.f32", "old.json", "old.peaks.npz"]


# --- peak pyramids built block by block -------------------------------------------------------


def _reference_levels(x: np.ndarray, base: int, factor: int) -> list:
    """The pyramid written out directly: min/max per block (a last partial block of its own),
    then each level reduces ``factor`` blocks until at most 2000 remain."""
    n = len(x) // base
    if n == 0:
        return []
    mn = [x[i * base : (i + 1) * base].min() for i in range(n)]
    mx = [x[i * base : (i + 1) * base].max() for i in range(n)]
    if len(x) > n * base:
        mn.append(x[n * base :].min())
        mx.append(x[n * base :].max())
    mn, mx = np.array(mn, np.float32), np.array(mx, np.float32)
    levels = [(base, mn, mx)]
    b = base
    while len(mn) > 2000:
        mn = np.array([mn[i : i + factor].min() for i in range(0, len(mn), factor)], np.float32)
        mx = np.array([mx[i : i + factor].max() for i in range(0, len(mx), factor)], np.float32)
        b *= factor
        levels.append((b, mn, mx))
    return levels


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 20000), chunks=st.lists(st.integers(1, 3000), min_size=1, max_size=8),
       base=st.sampled_from([4, 16, 256]), seed=st.integers(0, 2**16))
def test_peak_builder_equals_the_in_memory_pyramid(n, chunks, base, seed):
    x = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    b = PeakBuilder(base, 4)
    i = k = 0
    while i < n:
        step = chunks[k % len(chunks)]
        b.add(x[i : i + step])
        i += step
        k += 1
    want = _reference_levels(x, base, 4)
    got = b.levels()
    assert [lv[0] for lv in PeakPyramid(x, base, 4).levels] == [lv[0] for lv in want]
    assert len(got) == len(want)
    for (b1, mn1, mx1), (b2, mn2, mx2) in zip(got, want):
        assert b1 == b2 and np.array_equal(mn1, mn2) and np.array_equal(mx1, mx2)


def test_cli_edit_of_a_region_of_a_long_file_matches_the_in_memory_path(long_stereo, tmp_path, monkeypatch, capsys):
    """Above the in-memory limit the command maps the decoded file and writes the result in
    pieces; the output is the same, bit for bit."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    argv = ["edit", str(long_stereo), "--region", "3:4.5", "--emotion", "sad=0.5", "-q", "--subtype", "float"]
    assert main([*argv, "-o", str(tmp_path / "mem.wav")]) == 0
    assert not (tmp_path / "xdg").exists()
    monkeypatch.setattr(longfile, "IN_MEMORY_LIMIT_BYTES", 0)
    assert main([*argv, "-o", str(tmp_path / "mapped.wav")]) == 0
    assert len(os.listdir(tmp_path / "xdg" / "stepedit" / "decoded")) == 3  # samples, peaks, meta
    a = sf.read(tmp_path / "mem.wav", dtype="float32")[0]
    b = sf.read(tmp_path / "mapped.wav", dtype="float32")[0]
    assert np.array_equal(a, b)
    src = read_clip(long_stereo).samples
    assert np.array_equal(b[: 3 * 16000], src[: 3 * 16000])  # untouched before the region
    assert capsys.readouterr().err == ""
