"""Delivery DSP on real speech: loudness to target with a true-peak limiter, sample-rate and
bit-depth conversion with dither, trim and padding; limiter properties with hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from stepedit_app.audio.analysis import loudness_lufs
from stepedit_app.audio.clip import Clip
from stepedit_app.audio.delivery import (
    PRESETS,
    DeliveryError,
    DeliverySpec,
    deliver,
    limit_true_peak,
    normalise_loudness,
    quantise,
    true_peak_dbfs,
)
from stepedit_app.audio.io import read_clip, write_clip

from .helpers import CLIPS, DATA, independent_true_peak_db


@pytest.fixture(scope="module")
def clips():
    return [read_clip(DATA / c) for c in CLIPS]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_meets_its_loudness_and_true_peak_on_every_clip(clips, preset, tmp_path):
    p = PRESETS[preset]
    for i, clip in enumerate(clips):
        spec = DeliverySpec.from_preset(preset, sample_rate=48000, subtype="PCM_24")
        out, report = deliver(clip, spec, seed=i)
        path = write_clip(out, tmp_path / f"{i}.wav")
        y, rate = sf.read(path, dtype="float64", always_2d=True)
        assert rate == 48000 and sf.info(path).subtype == "PCM_24"
        got = loudness_lufs(y, rate)
        assert abs(got - p.lufs) <= 0.5, (clip.name, got)
        assert independent_true_peak_db(y) < p.true_peak_db, (clip.name, independent_true_peak_db(y))
        assert report.in_spec and abs(report.loudness_lufs - got) < 0.01


def test_a_loud_target_is_reached_by_limiting_not_by_a_gain_cut(clips):
    clip = clips[0]  # LJ: true peak ~4 dB over the ceiling at -16 LUFS
    y, got, gain_db, limiter_db = normalise_loudness(clip.samples, clip.rate, -14.0, -1.0)
    assert limiter_db > 2.0  # the limiter worked
    assert abs(got - (-14.0)) < 0.1  # and loudness still reached the target
    assert independent_true_peak_db(y) < -1.0
    # a plain gain cut to the same ceiling would have landed well short of the target
    cut = gain_db - (true_peak_dbfs(clip.samples * 10 ** (gain_db / 20), clip.rate) + 1.0)
    assert loudness_lufs(clip.samples * 10 ** (cut / 20), clip.rate) < -15.5


def test_limiting_is_look_ahead_and_releases():
    rate = 48000
    t = np.arange(rate) / rate
    x = 0.2 * np.sin(2 * np.pi * 220 * t)
    x[24000:24480] *= 4.0  # a 10 ms burst to 0.8 = -1.9 dBFS
    y, gr = limit_true_peak(x, rate, -6.0)
    g = np.abs(y[:, 0]) / np.maximum(np.abs(x), 1e-9)
    assert 20 * np.log10(np.abs(y).max()) <= -6.0 and gr > 4.0
    assert g[24000 - 30] < 0.999  # the gain is already coming down before the burst
    assert np.allclose(y[:20000, 0], x[:20000])  # long before: untouched
    assert np.allclose(y[-5000:, 0], x[-5000:], rtol=1e-3)  # long after: released


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), ceiling=st.floats(-12.0, -0.5), level=st.floats(0.05, 4.0),
       rate=st.sampled_from([16000, 22050, 48000]))
def test_limiter_output_never_passes_the_ceiling_and_never_amplifies(seed, ceiling, level, rate):
    rng = np.random.default_rng(seed)
    n = rate // 4
    x = rng.standard_normal((n, 2)) * level * 0.3
    x[:, 1] = 0.6 * x[:, 0] + 0.4 * x[:, 1]
    y, gr = limit_true_peak(x, rate, ceiling)
    assert true_peak_dbfs(y, rate) <= ceiling + 1e-9
    assert np.all(np.abs(y) <= np.abs(x) + 1e-12)
    assert gr >= 0.0


def test_sample_rate_conversion_keeps_pitch_and_duration(tmp_path):
    rate = 22050
    t = np.arange(int(1.5 * rate)) / rate
    x = (0.3 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    for new in (48000, 44100, 16000):
        out, rep = deliver(Clip(x, rate), DeliverySpec(sample_rate=new, subtype="PCM_24"))
        path = write_clip(out, tmp_path / f"sine{new}.wav")
        y, r = sf.read(path, dtype="float64")
        assert r == new and abs(len(y) / r - 1.5) < 1e-3
        spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
        peak_hz = np.argmax(spec) * r / len(y)
        assert abs(peak_hz - 1000.0) < 2.0
        # a clean resampler: everything but the tone is far down
        mask = np.abs(np.fft.rfftfreq(len(y), 1 / r) - 1000.0) > 50
        assert 20 * np.log10(spec[mask].max() / spec.max()) < -90


def test_resampled_real_speech_keeps_its_loudness(clips):
    clip = clips[2]  # 16 kHz
    out, rep = deliver(clip, DeliverySpec(sample_rate=48000, subtype="FLOAT"))
    assert out.rate == 48000 and abs(out.duration - clip.duration) < 1e-3
    assert abs(loudness_lufs(out.samples, 48000) - loudness_lufs(clip.samples, clip.rate)) < 0.1


def test_bit_depth_reduction_is_dithered_and_exact_on_disk(tmp_path, clips):
    clip = clips[1]
    for subtype, bits in (("PCM_16", 16), ("PCM_24", 24)):
        out, _ = deliver(clip, DeliverySpec(subtype=subtype, lufs=-20.0))
        path = write_clip(out, tmp_path / f"x{bits}.wav")
        assert sf.info(path).subtype == subtype
        ints, _ = sf.read(path, dtype="int32")
        on_disk = (ints >> (32 - bits)).astype(np.float64) / 2 ** (bits - 1)
        assert np.array_equal(on_disk, out.samples[:, 0].astype(np.float64))  # what we made is what was written
    # TPDF: the error of a dithered quantisation is signal-independent noise of power q^2/4
    rng = np.random.default_rng(1)
    x = 0.25 * np.sin(np.linspace(0, 400 * np.pi, 200000)) + 1e-6 * rng.standard_normal(200000)
    q = 2.0**-15
    e = quantise(x, 16, "tpdf", seed=3)[:, 0] - x
    assert abs(np.var(e) / (q * q / 4) - 1) < 0.05
    assert abs(np.corrcoef(e, x)[0, 1]) < 0.01
    plain = quantise(x, 16, "none")[:, 0] - x
    assert np.var(plain) < np.var(e)
    # already on the grid (an untouched 16-bit source): no dither, bit for bit
    src = read_clip(DATA / CLIPS[1])
    same, _ = deliver(src, DeliverySpec(subtype="PCM_16"))
    assert np.array_equal(same.samples, src.samples)


def test_trim_and_padding(clips):
    clip = clips[3]  # axb: ~90 ms of near-silence before speech
    lead = np.zeros((clip.rate // 2, 1), np.float32)
    padded = Clip(np.concatenate([lead, clip.samples, lead]), clip.rate)
    spec = DeliverySpec(subtype="FLOAT", trim_head=True, trim_tail=True, trim_threshold_db=-50,
                        head_pad_s=0.05, tail_pad_s=0.2, lufs=-23.0)
    out, rep = deliver(padded, spec)
    assert rep.head_trim_s > 0.5 and rep.tail_trim_s > 0.5
    n_head, n_tail = int(0.05 * clip.rate), int(0.2 * clip.rate)
    assert not np.any(out.samples[:n_head]) and not np.any(out.samples[-n_tail:])  # pads are digital silence
    assert np.any(out.samples[n_head : n_head + 10])
    assert out.duration < clip.duration + 0.25 + 0.06
    assert abs(rep.loudness_lufs - -23.0) < 0.1  # measured with the pads in place


def test_silence_cannot_be_normalised():
    with pytest.raises(DeliveryError, match="cannot normalise silence"):
        deliver(Clip(np.zeros(48000, np.float32), 48000), DeliverySpec(lufs=-23.0))


def test_without_a_loudness_target_the_ceiling_still_holds_and_quiet_audio_is_untouched():
    rate = 22050
    t = np.arange(rate) / rate
    hot = (0.999 * np.sin(2 * np.pi * 5000.0 * t + 0.3)).astype(np.float32)  # inter-sample overs
    out, rep = deliver(Clip(hot, rate), DeliverySpec(sample_rate=48000, subtype="FLOAT", true_peak_db=-1.0))
    assert independent_true_peak_db(out.samples) < -1.0 and rep.limiter_db > 0
    quiet = Clip((0.1 * np.sin(2 * np.pi * 300.0 * t)).astype(np.float32), rate)
    same, rep = deliver(quiet, DeliverySpec(subtype="FLOAT"))
    assert rep.limiter_db == 0.0 and np.array_equal(same.samples, quiet.samples)


def test_stereo_is_limited_linked_and_normalised_as_a_whole(clips):
    clip = clips[0]
    st = np.concatenate([clip.samples, 0.5 * clip.samples], axis=1)
    out, rep = deliver(Clip(st, clip.rate), DeliverySpec.from_preset("streaming", sample_rate=48000, subtype="PCM_24"))
    assert out.channels == 2 and abs(rep.loudness_lufs - -16.0) < 0.5
    assert independent_true_peak_db(out.samples) < -1.0
    # linked: the channels keep their 2:1 ratio through the limiter (up to dither)
    ratio = out.samples[:, 1] / np.where(np.abs(out.samples[:, 0]) > 0.05, out.samples[:, 0], np.nan)
    assert np.nanmax(np.abs(ratio - 0.5)) < 1e-3
