"""The speaker-identity measure: its mel features equal librosa's (what Resemblyzer's encoder was
trained on), and computing an embedding never loads librosa or numba (whose first-use compile
in a worker thread crashed the window when the garbage collector ran meanwhile)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from robustness import corpus

from stepedit_app.audio.identity import RATE, mel_power, speaker_similarity


def _in_child(code: str) -> str:
    """Run ``code`` in a fresh interpreter (librosa's numba compile stays out of this process)."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.mark.parametrize("n", [RATE // 3, 3 * RATE + 77])
def test_mel_features_equal_librosas(tmp_path, n):
    rng = np.random.default_rng(n)
    wav = (0.1 * rng.standard_normal(n)).astype(np.float32)
    x, rate = corpus.load(corpus.FEMALE)
    speech = np.asarray(x[: 2 * rate], dtype=np.float32)
    for k, y in enumerate((wav, speech)):
        np.save(tmp_path / f"y{k}.npy", y)
        _in_child(f"""
            import numpy as np, librosa
            y = np.load({str(tmp_path / f"y{k}.npy")!r})
            m = librosa.feature.melspectrogram(y=y, sr={RATE}, n_fft=400, hop_length=160, n_mels=40)
            np.save({str(tmp_path / f"m{k}.npy")!r}, m.astype(np.float32).T)
        """)
        ref = np.load(tmp_path / f"m{k}.npy")
        ours = mel_power(y)
        assert ours.shape == ref.shape
        assert np.allclose(ours, ref, rtol=2e-4, atol=1e-6 * float(ref.max()))


def test_an_embedding_loads_neither_librosa_nor_numba():
    out = _in_child("""
        import json, sys
        import numpy as np
        from stepedit_app.audio.identity import speaker_similarity
        rng = np.random.default_rng(0)
        t = np.arange(32000) / 16000
        a = np.sin(2 * np.pi * 140 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(len(t))
        s = speaker_similarity(a, 16000, a, 16000)
        print(json.dumps({"sim": s, "loaded": [m for m in ("librosa", "numba") if m in sys.modules]}))
    """)
    got = json.loads(out.strip().splitlines()[-1])
    assert got["loaded"] == []
    assert got["sim"] > 0.99


def test_similarity_tells_two_speakers_apart():
    f, rf = corpus.load(corpus.FEMALE)
    m, rm = corpus.load(corpus.MALE)
    assert speaker_similarity(f, rf, f, rf) > 0.99
    assert speaker_similarity(f, rf, m, rm) < 0.8
