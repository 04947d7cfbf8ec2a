"""Aperiodic excitation shaped by a spectral envelope (whisper, unvoiced speech).

WORLD synthesises unvoiced frames as noise bursts placed every 2 ms (its default "F0" of
500 Hz for unvoiced frames).  Each burst is independent noise, but their common envelope
repeats at 500 Hz, and Praat's autocorrelation finds that periodicity: a full WORLD whisper
measured ~20 % voiced frames by Praat (a real whisper measures ~3 %).  This module makes the
noise part by short-time Fourier synthesis instead: white noise, shaped frame by frame by the
envelope, overlap-added with no periodic structure at all.

Level: the per-sample power of the output equals the mean of the (one-sided) envelope per
frame, which is also what WORLD's own noise synthesis produces, so the two can be mixed.
"""

from __future__ import annotations

import numpy as np

from stepedit_app.audio.cancel import CancelLike, checkpoint


def shaped_noise(
    power_env: np.ndarray,
    rate: int,
    frame_period_ms: float,
    out_len: int,
    seed: int = 0,
    cancel: CancelLike = None,
) -> np.ndarray:
    """Noise whose short-time power spectrum follows ``power_env``.

    Parameters
    ----------
    power_env
        Frames x bins power envelope (WORLD CheapTrick layout: bins 0..fft_size/2), one frame
        every ``frame_period_ms``; zero rows give silence.
    out_len
        Output length in samples.
    """
    m, k = power_env.shape
    fft_size = 2 * (k - 1)
    hop = rate * frame_period_ms / 1000.0
    win_len = min(fft_size, max(4, int(round(4 * hop))) // 2 * 2)
    w = np.hanning(win_len + 2)[1:-1]
    norm = np.sqrt(hop / np.sum(w * w))
    rng = np.random.default_rng(seed)
    out = np.zeros(out_len + fft_size)
    # frames in blocks (bounded memory; a cancel point per block)
    block = 512
    for b0 in range(0, m, block):
        checkpoint(cancel)
        b1 = min(m, b0 + block)
        env = power_env[b0:b1]
        live = np.nonzero(env.max(axis=1) > 0)[0]
        if len(live) == 0:
            continue
        # white noise filtered by the envelope (circularly: still stationary noise with that
        # spectrum), then windowed and overlap-added
        spec = np.fft.rfft(rng.standard_normal((len(live), fft_size)), axis=1) * np.sqrt(np.maximum(env[live], 0.0))
        frames = np.fft.irfft(spec, n=fft_size, axis=1)[:, :win_len] * (w * norm)[None, :]
        for j, i in enumerate(live):
            c = int(round((b0 + i) * hop)) - win_len // 2
            a0 = max(0, c)
            seg = frames[j, a0 - c :]
            end = min(len(out), a0 + len(seg))
            out[a0:end] += seg[: end - a0]
    return out[:out_len]
