"""Time-varying spectral shaping of a rendered voice: tilt, formant warp, breath, whisper.

The engine's main method renders pitch and timing with TD-PSOLA (the waveform's own
harmonics, noise floor and micro-variation are kept) and then applies voice-quality changes as
a time-varying filter in the short-time Fourier domain (weighted overlap-add, 30 ms sqrt-Hann
windows, 50 % overlap):

- **tilt**: a gain that rises or falls log-linearly in frequency about 1 kHz (a darkening
  one only up to 2 kHz: ``DARKEN_TOP_OCTAVES``);
- **formant warp**: the ratio of the warped to the original spectral envelope (a cepstral
  envelope, liftered at about half the pitch period, so harmonics do not leak into it),
  limited to -20..+12 dB so spectral valleys (noise) are not blown up;
- **breath**: envelope-shaped noise added to voiced frames, weighted towards high frequencies;
- **whisper**: the frame replaced (partly or wholly) by envelope-shaped noise of the same
  energy, with the envelope broadened (a whisper's resonances are damped) and less energy below
  500 Hz (no glottal source).

Every channel gets the same gains and the same noise (computed from the channel mix), so
identical channels stay identical and a channel at half level stays at half level.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage

from stepedit_app.audio.cancel import CancelLike, checkpoint

_WIN_S = 0.030
_BLOCK = 256  # frames per block (bounded memory, one cancel point each)
LIFTER_PERIODS = 0.8  # cepstral envelope liftered at this many pitch periods (harmonics stay out)


#: A darker voice (a negative tilt) is cut up to 2 kHz and no further: its source loses
#: energy between the first formant and ~2 kHz, and a cut that keeps falling above that sounds
#: like a muffled recording.  Measured on sad and depressed at 1.0 over 4 clips: Praat's tilt
#: the same (-7.8 vs -7.8 dB ... -5.6 vs -5.7), DistillMOS drop 0.05-0.21 lower.
DARKEN_TOP_OCTAVES = 1.0


def tilt_octaves(freqs: np.ndarray, darker: bool = False) -> np.ndarray:
    """Per-bin position on the tilt: a tilt of T dB gives each frequency T times this (in
    dB): 0 at 1 kHz, +-1 two octaves away, from 125 Hz (-1.5) up to 5.7 kHz (+1.25), or to
    2 kHz (+0.5) for a darker voice (``darker``, see ``DARKEN_TOP_OCTAVES``)."""
    top = DARKEN_TOP_OCTAVES if darker else 2.5
    return np.clip(np.log2(np.maximum(freqs, 125.0) / 1000.0), -3.0, top) / 2.0


def _tilt_shape(freqs: np.ndarray, darker: bool = False) -> np.ndarray:
    """Per-bin factor of a tilt of 1 dB per two octaves about 1 kHz, natural log of
    amplitude (the same shape the WORLD path uses on the power envelope)."""
    return tilt_octaves(freqs, darker) * (math.log(10) / 20)


def shape(
    y: np.ndarray,
    rate: int,
    tilt_db: np.ndarray,
    warp: np.ndarray,
    breath: np.ndarray,
    whisper: np.ndarray,
    f0: np.ndarray,
    seed: int = 0,
    cancel: CancelLike = None,
) -> np.ndarray:
    """Apply per-sample voice-quality controls to ``y`` (channels x samples).

    Parameters
    ----------
    tilt_db, warp, breath, whisper, f0
        One value per output sample: tilt change (dB), formant warp factor (1 = none),
        breathiness 0..1, whisper 0..1 (1 = no voicing left), the output's F0 (Hz, 0 =
        unvoiced; sets the envelope's smoothing).
    """
    ch, n = y.shape
    if n == 0:
        return y
    active = (np.abs(tilt_db) > 1e-6) | (np.abs(warp - 1.0) > 1e-6) | (breath > 1e-6) | (whisper > 1e-6)
    if not active.any():
        return y
    if rate > 32000 and n >= 64:
        return _band_split(y, rate, tilt_db, warp, breath, whisper, f0, seed, cancel)
    win = max(16, int(round(_WIN_S * rate)) // 4 * 4)
    hop = win // 2
    # The gains are smooth in frequency (a tilt, a ratio of cepstral envelopes), so their
    # impulse responses are short and the next power of two above the window leaves enough
    # room against time aliasing.
    nfft = 1 << int(math.ceil(math.log2(win)))
    # sqrt-Hann analysis and synthesis windows at 50 % overlap: their product sums to one
    w = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)).astype(np.float32)
    freqs = np.fft.rfftfreq(nfft, 1.0 / rate)
    tshape_up, tshape_down = _tilt_shape(freqs), _tilt_shape(freqs, darker=True)
    hf = (0.35 + 0.65 * np.clip(freqs / 3000.0, 0.0, 1.0))
    low_cut = -(math.log(10) / 20) * 6.0 * np.clip((500.0 - freqs) / 400.0, 0.0, 1.0)
    sigma = max(1.0, 250.0 / (freqs[1] - freqs[0]))
    pad = win
    xp = np.concatenate([np.zeros((ch, pad)), y, np.zeros((ch, pad + win))], axis=1)
    out = np.zeros_like(xp)
    wsum = np.zeros(xp.shape[1])
    n_frames = int(math.ceil((n + pad) / hop)) + 1
    rng = np.random.default_rng(seed)
    q = np.arange(nfft)
    q = np.minimum(q, nfft - q)  # quefrency in samples (symmetric)
    for b0 in range(0, n_frames, _BLOCK):
        checkpoint(cancel)
        b1 = min(n_frames, b0 + _BLOCK)
        starts = np.arange(b0, b1) * hop
        centre = np.clip(starts + win // 2 - pad, 0, n - 1)
        act = active[centre]
        idx = starts[:, None] + np.arange(win)[None, :]
        seg = (xp[:, idx] * w[None, None, :]).astype(np.float32)  # ch x frames x win
        base = int(starts[0])
        local = (idx - base).ravel()
        span = int(local.max()) + 1
        wsum[base : base + span] += np.bincount(local, np.tile(w * w, len(starts)), minlength=span)
        if not act.any():
            for c in range(ch):
                out[c, base : base + span] += np.bincount(local, (seg[c] * w[None, :]).ravel(), minlength=span)
            continue
        X = np.fft.rfft(seg, n=nfft, axis=2)
        P = (np.abs(X) ** 2).mean(axis=0) + 1e-30  # frames x bins, channel mix
        la = 0.5 * np.log(P)
        cep = np.fft.irfft(la, n=nfft, axis=1)
        f0c = f0[centre]
        qc = np.where(f0c > 0, LIFTER_PERIODS * rate / np.maximum(f0c, 1.0), 0.0025 * rate)
        lift = (q[None, :] < qc[:, None]).astype(float)
        env = np.fft.rfft(cep * lift, axis=1).real  # log amplitude envelope
        t_db = tilt_db[centre]
        wp = warp[centre]
        logg = t_db[:, None] * np.where(t_db[:, None] > 0, tshape_up[None, :], tshape_down[None, :])
        warp_on = np.abs(wp - 1.0) > 1e-6
        if warp_on.any():
            if np.ptp(wp) < 1e-9:  # one warp for the whole block: one set of indices
                fi = np.clip(freqs / wp[0] / (freqs[1] - freqs[0]), 0, len(freqs) - 1)
                i0 = np.floor(fi).astype(int)
                i1 = np.minimum(i0 + 1, len(freqs) - 1)
                fr = (fi - i0)[None, :]
                env_w = env[:, i0] * (1 - fr) + env[:, i1] * fr
            else:
                fi = np.clip(freqs[None, :] / wp[:, None] / (freqs[1] - freqs[0]), 0, len(freqs) - 1)
                i0 = np.floor(fi).astype(int)
                i1 = np.minimum(i0 + 1, len(freqs) - 1)
                fr = fi - i0
                rows = np.arange(len(centre))[:, None]
                env_w = env[rows, i0] * (1 - fr) + env[rows, i1] * fr
            logg = logg + np.clip(env_w - env, -20 * math.log(10) / 20, 12 * math.log(10) / 20)
        Y = X * np.exp(logg)[None, :, :]
        wsp = 1 - (1 - np.clip(whisper[centre], 0, 1)) ** 1.5
        br = np.where(f0c > 0, np.clip(breath[centre], 0, 1), 0.0)
        if np.any(wsp > 0) or np.any(br > 0):
            noise = np.fft.rfft(rng.standard_normal((len(centre), win), dtype=np.float32) * w[None, :], n=nfft, axis=1)
            env2 = env + logg
            ew = (scipy.ndimage.gaussian_filter1d(env2, sigma, axis=1, mode="nearest") + low_cut[None, :]
                  if np.any(wsp > 0) else env2)
            py = (np.abs(Y) ** 2).mean(axis=0).sum(axis=1) + 1e-30  # frame energy after shaping
            for amount, shape_log, weight in ((wsp, ew, None), (br, env2, hf)):
                if not np.any(amount > 0):
                    continue
                nz = noise * np.exp(shape_log)
                if weight is not None:
                    nz = nz * weight[None, :]
                e = (np.abs(nz) ** 2).sum(axis=1) + 1e-30
                nz = nz * np.sqrt(py / e)[:, None]
                if weight is None:  # whisper: replace, same energy
                    Y = Y * np.sqrt(1 - amount)[None, :, None] + nz[None, :, :] * np.sqrt(amount)[None, :, None] * _chan(X)
                else:  # breath: add, up to -5 dB under the frame at full breathiness
                    Y = Y + nz[None, :, :] * np.sqrt(0.3 * amount)[None, :, None] * _chan(X)
        fr_out = np.fft.irfft(Y, n=nfft, axis=2)[:, :, :win]
        # frames the controls do not touch pass unchanged (same WOLA as the others)
        fr_out = np.where(act[None, :, None], fr_out, seg)
        out_frames = fr_out * w[None, None, :]
        for c in range(ch):
            out[c, base : base + span] += np.bincount(local, out_frames[c].ravel(), minlength=span)
    res = out[:, pad : pad + n] / np.maximum(wsum[pad : pad + n], 1e-9)[None, :]
    return res


def _band_split(y, rate, tilt_db, warp, breath, whisper, f0, seed, cancel) -> np.ndarray:
    """Above 32 kHz: shape the band below a quarter of the rate at half the rate (half the
    STFT work), and give the top band (12-24 kHz at 48 kHz: air and noise, no formants) only
    the tilt's gain at its edge.  The two bands add back to the input exactly when nothing
    changes."""
    import scipy.signal

    n = y.shape[1]
    lo = scipy.signal.resample_poly(y, 1, 2, axis=1)
    hi = y - scipy.signal.resample_poly(lo, 2, 1, axis=1)[:, :n]
    lo2 = shape(lo, rate // 2, tilt_db[::2], warp[::2], breath[::2], whisper[::2], f0[::2], seed, cancel)
    edge = np.array([rate / 4.0])
    top = np.where(tilt_db > 0, float(_tilt_shape(edge)[0]), float(_tilt_shape(edge, darker=True)[0]))
    g_hi = np.exp(tilt_db * top)
    # a whisper has no voiced air band to keep either: the top band follows the noise share
    g_hi = g_hi * np.sqrt(1 - 0.5 * (1 - (1 - np.clip(whisper, 0, 1)) ** 1.5))
    out = scipy.signal.resample_poly(lo2, 2, 1, axis=1)[:, :n]
    if out.shape[1] < n:
        out = np.pad(out, ((0, 0), (0, n - out.shape[1])))
    return out + hi * g_hi[None, :]


def _chan(X: np.ndarray) -> np.ndarray:
    """Per-channel amplitude relative to the channel mix (frames' energy), shape ch x frames x 1."""
    e = (np.abs(X) ** 2).sum(axis=2)
    m = e.mean(axis=0) + 1e-30
    return np.sqrt(e / m)[:, :, None]
