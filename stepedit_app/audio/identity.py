"""Voice identity: a speaker embedding and the cosine similarity of two voices.

The embedding is Resemblyzer's GE2E voice encoder (Apache-2.0; a 3-layer LSTM over 40-band
mel frames, weights shipped inside the ``resemblyzer`` package, 17 MB).  It is a normal
dependency.  The ``resemblyzer`` *package* is never imported: its ``__init__`` imports
``webrtcvad``, whose module needs ``pkg_resources``, which current setuptools no longer has.
We only need the encoder, so this module loads the shipped weights file directly into the same
network (``torch.nn.LSTM`` + ``Linear``) and computes the same input features as Resemblyzer:
librosa's 40-band mel power spectrogram (Slaney mel scale and area normalisation, 25 ms Hann
frames every 10 ms, zero-padded centred frames), written out here in numpy (:func:`mel_power`)
because librosa compiles numba code when first used, and a numba compile in a worker thread
crashed the editor when the garbage collector ran in another thread meanwhile (seen in a test
run of the window: the diff's identity row).  ``tests/audio/test_identity.py`` checks it equals
librosa's.  Silence is trimmed with our own activity detector instead of webrtcvad.  One install
step (``pip install stepedit``), no post-install fix.
"""

from __future__ import annotations

import importlib.util
import math
import pathlib
import threading

import numpy as np
import scipy.signal

RATE = 16000
_N_MELS = 40
_WIN = 400  # 25 ms
_HOP = 160  # 10 ms
_PARTIAL = 160  # frames per partial utterance (1.6 s)

_lock = threading.Lock()
_model = None


def _weights() -> pathlib.Path:
    spec = importlib.util.find_spec("resemblyzer")  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the speaker-embedding weights (package 'resemblyzer') are not installed")
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"


def _encoder():
    global _model
    with _lock:
        if _model is None:
            import torch
            from torch import nn

            class Encoder(nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.lstm = nn.LSTM(_N_MELS, 256, 3, batch_first=True)
                    self.linear = nn.Linear(256, 256)

                def forward(self, mels):
                    _, (hidden, _) = self.lstm(mels)
                    e = torch.relu(self.linear(hidden[-1]))
                    return e / (torch.norm(e, dim=1, keepdim=True) + 1e-9)

            m = Encoder()
            state = torch.load(_weights(), map_location="cpu", weights_only=True)["model_state"]
            m.load_state_dict({k: v for k, v in state.items() if k.split(".")[0] in ("lstm", "linear")})
            m.eval()
            _model = m
        return _model


def _prepare(x: np.ndarray, rate: int) -> np.ndarray:
    from stepedit_app.audio.analysis import activity

    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    x = x - np.mean(x)
    if rate != RATE:
        g = math.gcd(int(rate), RATE)
        x = scipy.signal.resample_poly(x, RATE // g, int(rate) // g)
    # keep speech (10 ms activity frames), drop long pauses, as Resemblyzer's VAD trim does
    act = activity(x, RATE)
    if act.any():
        mask = np.repeat(act, _HOP)[: len(x)]
        if len(mask) < len(x):
            mask = np.pad(mask, (0, len(x) - len(mask)), constant_values=bool(act[-1]))
        if mask.sum() >= RATE // 2:
            x = x[mask]
    rms = math.sqrt(float(np.mean(x * x))) if len(x) else 0.0
    if rms > 0:
        # Resemblyzer normalises to -30 dBFS (its "increase only" rule, applied both ways
        # here so the embedding does not depend on the level)
        x = x * (10 ** (-30 / 20) / rms)
    return x.astype(np.float32)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, ``htk=False``): linear to 1 kHz, then logarithmic."""
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (math.log(6.4) / 27.0), lin)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((math.log(6.4) / 27.0) * (m - 15.0)), (200.0 / 3) * m)


def _mel_basis(rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular mel filters from 0 Hz to Nyquist, each normalised to unit area (Slaney)."""
    fft_f = np.linspace(0.0, rate / 2, 1 + n_fft // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(rate / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_f[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))
    w *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return w.astype(np.float32)


def mel_power(wav: np.ndarray, rate: int = RATE, n_fft: int = _WIN, hop: int = _HOP, n_mels: int = _N_MELS) -> np.ndarray:
    """Mel power spectrogram, frames x bands, as ``librosa.feature.melspectrogram`` computes it
    with its defaults (periodic Hann window of ``n_fft``, frames centred on ``k * hop`` with
    zero padding, power 2, Slaney mel filters)."""
    y = np.asarray(wav, dtype=np.float32)
    y = np.pad(y, (n_fft // 2, n_fft // 2))
    n = 1 + (len(y) - n_fft) // hop
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop][:n] * win
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    return (power.astype(np.float32) @ _mel_basis(rate, n_fft, n_mels).T).astype(np.float32)


def speaker_embedding(x: np.ndarray, rate: int) -> np.ndarray:
    """L2-normalised 256-d speaker embedding of mono (or frames x channels) speech."""
    import torch

    wav = _prepare(x, rate)
    n_frames = int(math.ceil((len(wav) + 1) / _HOP))
    step = int(round((RATE / 1.3) / _HOP))
    starts = list(range(0, max(1, n_frames - _PARTIAL + step + 1), step))
    last = starts[-1] * _HOP
    coverage = (len(wav) - last) / (_PARTIAL * _HOP)
    if coverage < 0.75 and len(starts) > 1:
        starts = starts[:-1]
    need = (starts[-1] + _PARTIAL) * _HOP
    if need > len(wav):
        wav = np.pad(wav, (0, need - len(wav)))
    mel = mel_power(wav)
    batch = np.stack([mel[s : s + _PARTIAL] for s in starts])
    with torch.no_grad():
        part = _encoder()(torch.from_numpy(batch)).numpy()
    e = part.mean(axis=0)
    return e / (np.linalg.norm(e) + 1e-12)


def speaker_similarity(a: np.ndarray, rate_a: int, b: np.ndarray, rate_b: int) -> float:
    """Cosine similarity (0..1) of the speaker embeddings of two recordings."""
    ea = speaker_embedding(a, rate_a)
    eb = speaker_embedding(b, rate_b)
    return float(max(0.0, min(1.0, float(np.dot(ea, eb)))))
