"""Helpers of the batch / delivery / variations tests: small corpora cut from the real clips in
tests/data, recipe files, the real ``stepedit`` command, and a true-peak meter independent of
the one under test."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import scipy.signal
import soundfile as sf

DATA = pathlib.Path(__file__).parents[1] / "data"
CLIPS = ("LJ001-0004.wav", "LJ001-0008.wav", "cmu_arctic_us_aew_a0001.wav", "cmu_arctic_us_axb_a0004.wav")


def independent_true_peak_db(samples: np.ndarray) -> float:
    """True peak by FFT interpolation to 4x the rate (not the polyphase filter under test)."""
    a = np.asarray(samples, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    up = scipy.signal.resample(a, a.shape[0] * 4, axis=0)
    return 20 * np.log10(max(np.abs(up).max(), np.abs(a).max()))


def write_recipe(path: pathlib.Path, **delivery) -> pathlib.Path:
    d = {"schema": "stepedit-recipe", "version": 1, "engine": "prosody",
         "request": {"emotions": {"angry": 0.5}, "iterations": 1},
         "delivery": {"preset": "aswg-console", "sample_rate": 48000, "bit_depth": 24, **delivery}}
    path.write_text(json.dumps(d))
    return path


def make_corpus(folder: pathlib.Path, n: int, bad_at: int | None = None) -> list[pathlib.Path]:
    """``n`` distinct lines cut from the real clips (different spans and gains), and a corrupt
    file at position ``bad_at`` (0-based) if given."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        name = f"line{i:03d}.wav"
        if bad_at is not None and i == bad_at:
            (folder / name).write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt truncated")
        else:
            x, rate = sf.read(DATA / CLIPS[i % len(CLIPS)], dtype="float32")
            start = int((i // len(CLIPS)) * 0.15 * rate)
            y = x[start:] * (0.5 + 0.1 * (i % 5))
            sf.write(folder / name, y, rate, subtype="PCM_16")
        paths.append(folder / name)
    return paths


def stepedit(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real ``stepedit`` command in a subprocess."""
    env = {**(env if env is not None else os.environ), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "stepedit_app", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
