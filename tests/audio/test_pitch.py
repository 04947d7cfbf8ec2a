"""Pitch tracking is robust on every real voice we have: DIO's speed, Harvest's accuracy."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import pyworld

from stepedit_app.audio.analysis import track_pitch
from stepedit_app.audio.io import read_clip

DATA = pathlib.Path(__file__).parents[1] / "data"
SHARED = pathlib.Path(__file__).parents[3] / "shared" / "data" / "speech"
CLIPS = sorted(DATA.glob("*.wav")) + sorted(SHARED.glob("*/*.wav"))


@pytest.mark.parametrize("path", CLIPS, ids=lambda p: p.name)
@pytest.mark.parametrize("permissive", [False, True])
def test_pitch_agrees_with_harvest(path, permissive):
    """Against WORLD's slow, robust Harvest: no octave errors (gross error < 5 % of the frames
    both call voiced), typical pitch within 2 %, on 16 kHz and 22.05 kHz, male and female voices."""
    clip = read_clip(path)
    x = clip.mono()
    ours = track_pitch(x, clip.rate, permissive=permissive).f0
    ref, _ = pyworld.harvest(x, clip.rate, frame_period=5.0)
    n = min(len(ours), len(ref))
    a, b = ours[:n], ref[:n]
    both = (a > 0) & (b > 0)
    assert both.sum() > 0.3 * (b > 0).sum(), "voices most of what Harvest voices"
    gross = np.mean(np.abs(np.log2(a[both] / b[both])) > 0.2)
    assert gross < 0.05, f"gross pitch error {gross * 100:.1f} %"
    # on the frames both call voiced, the typical pitch agrees within 2 %
    assert abs(np.log(np.median(a[both]) / np.median(b[both]))) < 0.02
    # permissive analysis (for resynthesis) voices more than the conservative measurement one
    if permissive:
        strict = track_pitch(x, clip.rate).f0
        assert (ours > 0).sum() >= (strict > 0).sum()


def test_noise_and_hum_are_unvoiced():
    rate = 16000
    rng = np.random.default_rng(1)
    t = np.arange(rate * 2) / rate
    speechless = 0.2 * rng.standard_normal(len(t))
    assert (track_pitch(speechless, rate).f0 > 0).mean() < 0.05
    # a loud vowel-like tone (190 Hz, harmonics falling 6 dB/octave) with 60 Hz mains hum
    # 40 dB down in the gaps: the hum is periodic but is not voice
    harmonics = sum(np.sin(2 * np.pi * k * 190 * t) / k for k in range(1, 21))
    tone = np.where((t > 0.5) & (t < 1.5), 0.3 * harmonics, 0.0)
    hum = 0.005 * np.sin(2 * np.pi * 60 * t)
    f0 = track_pitch(tone + hum, rate).f0
    times = np.arange(len(f0)) * 0.005
    assert np.all(f0[(times < 0.4) | (times > 1.6)] == 0)
    voiced = f0[(times > 0.6) & (times < 1.4)]
    assert np.mean(np.abs(voiced - 190) < 5) > 0.9
