"""A stand-in Step-Audio-EditX source tree and models folder, for tests and the smoke benchmark.

The real model needs CUDA and 7 GB of weights, so tests run the real client, worker process and
protocol against a source tree with the official module and class names (``tts.StepAudioTTS``,
``tokenizer.StepAudioTokenizer``, ``model_loader.ModelSource``) and either generation's
constructor signature, whose ``edit()``/``clone()`` return deterministic audio for each edit
type, made with WORLD at the model's 24 kHz:

* emotion / style / speed: a pitch shift (semitones) and a tempo factor from :data:`PASSES`
  (other names get a size from their name's CRC), ``whisper`` makes everything unvoiced,
  ``child``/``girl`` also warp the formants up;
* ``denoise`` gates frames 30 dB under the loud ones; ``vad`` removes pauses over 0.15 s;
* ``paralinguistic`` inserts a 0.4 s noise burst where the first tag falls (by words);
* ``clone`` speaks the prompt's voice for (words of text / words of prompt) x its duration.

Like upstream, an input louder than peak 0.6 is scaled to 0.6, inputs under 16 kHz fail the
tokenizer's assertion, and the output is a float32 tensor ``[1, N]`` at 24 kHz.  Flag files in
the models folder switch on misbehaviour: ``STANDIN_DROP`` (the pass drops the middle 40 % of
its input), ``STANDIN_SLOW`` (seconds of "generation", in 50 ms tokens that honour stopping
criteria on v1), ``STANDIN_HANG``, ``STANDIN_OOM``, ``STANDIN_SEGV``, ``STANDIN_LOAD_FAIL``.  The
stand-in records its constructor arguments (``STANDIN_LAST_INIT.json``), every call
(``STANDIN_CALLS.jsonl``) and how far generation got (``STANDIN_LAST_GENERATE.json``).  It also
prints to stdout and writes to descriptor 1 directly, as chatty upstream code does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

V1_COMMIT = "aacb90a2a4f43a977c38c6c824e67071296ab17b"

#: What the test clips say (tests/data/MANIFEST.md).
TRANSCRIPTS = {
    "LJ001-0004.wav": "produced the block books, which were the immediate predecessors of the true printed book,",
    "cmu_arctic_us_aew_a0001.wav": "Author of the danger trail, Philip Steels, etc.",
    "cmu_arctic_us_axb_a0004.wav": "Lord, but I'm glad to see you again, Phil.",
}

MODEL_LOADER = '''
class ModelSource:
    MODELSCOPE = "modelscope"
    HUGGINGFACE = "huggingface"
    LOCAL = "local"
    AUTO = "auto"
'''

TOKENIZER = '''
import os
from model_loader import ModelSource


class StepAudioTokenizer:
    def __init__(self, encoder_path, model_source=ModelSource.AUTO,
                 funasr_model_id="dengcunqin/speech_paraformer-large_asr_nat-zh-cantonese-en-16k-vocab8501-online"):
        for name in ("linguistic_tokenizer.npy", "speech_tokenizer_v1.onnx"):
            if not os.path.exists(os.path.join(encoder_path, name)):
                raise FileNotFoundError(f"{name} not found in {encoder_path}")
        self.encoder_path = encoder_path
        self.model_source = model_source
'''

DSP = r'''
"""Deterministic stand-in edits (WORLD at 24 kHz)."""
import json
import os
import time
import zlib

import numpy as np
import pyworld
import soundfile as sf
import torch
from scipy.signal import resample_poly

RATE = 24000
PASSES = {
    ("emotion", "happy"): (3.0, 1.12), ("emotion", "sad"): (-2.0, 0.88), ("emotion", "angry"): (2.0, 1.08),
    ("emotion", "fear"): (2.5, 1.10), ("emotion", "surprised"): (4.0, 1.00), ("emotion", "excited"): (3.5, 1.15),
    ("style", "serious"): (-1.5, 0.95), ("style", "shout"): (4.0, 1.05), ("style", "older"): (-2.0, 0.92),
    ("style", "child"): (5.0, 1.0), ("style", "girl"): (4.0, 1.0),
    ("speed", "faster"): (0.0, 1.30), ("speed", "slower"): (0.0, 0.77),
    ("speed", "more faster"): (0.0, 1.60), ("speed", "more slower"): (0.0, 0.62),
}


def flag(models, name):
    p = os.path.join(models, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return f.read().strip() or "1"


def record(models, name, data):
    with open(os.path.join(models, name), "w") as f:
        json.dump(data, f)


def record_call(models, data):
    with open(os.path.join(models, "STANDIN_CALLS.jsonl"), "a") as f:
        f.write(json.dumps(data) + "\n")


def params(edit_type, edit_info):
    key = (edit_type, edit_info)
    if key in PASSES:
        return PASSES[key]
    h = zlib.crc32(f"{edit_type}/{edit_info}".encode())
    semis = [-3.0, -2.0, -1.0, 1.0, 2.0, 3.0][h % 6]
    tempo = [0.9, 0.95, 1.0, 1.05, 1.1][(h // 6) % 5]
    return semis, tempo


def load(path):
    x, sr = sf.read(path, always_2d=True, dtype="float64")
    x = x.mean(axis=1)
    assert sr >= 16000, f"input sample rate {sr} < 16000"
    peak = np.max(np.abs(x)) if len(x) else 0.0
    if peak > 0.6:
        x = x * (0.6 / peak)
    if sr != RATE:
        from fractions import Fraction
        f = Fraction(RATE, sr).limit_denominator(1000)
        x = resample_poly(x, f.numerator, f.denominator)
    return np.ascontiguousarray(x)


def world_edit(x, semis=0.0, tempo=1.0, warp=1.0, whisper=False):
    f0, t = pyworld.dio(x, RATE, frame_period=5.0)
    f0 = pyworld.stonemask(x, f0, t, RATE)
    sp = pyworld.cheaptrick(x, f0, t, RATE)
    ap = pyworld.d4c(x, f0, t, RATE)
    n = len(f0)
    m = max(2, int(round(n / tempo)))
    idx = np.minimum(np.round(np.arange(m) * tempo).astype(int), n - 1)
    f0, sp, ap = f0[idx] * 2 ** (semis / 12.0), sp[idx], ap[idx]
    if warp != 1.0:
        bins = np.arange(sp.shape[1])
        src = np.clip(bins / warp, 0, sp.shape[1] - 1)
        sp = np.stack([np.interp(src, bins, row) for row in sp])
    if whisper:
        f0 = np.zeros_like(f0)
        ap = np.full_like(ap, 0.999)
    return pyworld.synthesize(f0, np.ascontiguousarray(sp), np.ascontiguousarray(ap), RATE, 5.0)


def frame_db(x, hop):
    n = max(1, len(x) // hop)
    e = np.array([np.mean(x[i * hop:(i + 1) * hop] ** 2) + 1e-12 for i in range(n)])
    return 10 * np.log10(e)


def denoise(x):
    hop = RATE // 100
    db = frame_db(x, hop)
    keep = db > np.percentile(db, 95) - 30.0
    gain = np.repeat(keep.astype(float), hop)
    gain = np.concatenate([gain, np.full(len(x) - len(gain), gain[-1] if len(gain) else 1.0)])
    return x * np.convolve(gain, np.ones(48) / 48, mode="same")


def vad(x):
    hop = RATE // 100
    db = frame_db(x, hop)
    act = db > np.percentile(db, 95) - 35.0
    keep = np.ones(len(act), bool)
    i = 0
    while i < len(act):
        if not act[i]:
            j = i
            while j < len(act) and not act[j]:
                j += 1
            if j - i > 15:
                keep[i + 3:j - 2] = False
            i = j
        else:
            i += 1
    mask = np.repeat(keep, hop)
    mask = np.concatenate([mask, np.ones(len(x) - len(mask), bool)])
    return x[mask]


def paralinguistic(x, audio_text, target_text):
    words = target_text.split()
    pos = next((i for i, w in enumerate(words) if w.startswith("[")), len(words) // 2)
    cut = int(len(x) * pos / max(1, len(words)))
    rng = np.random.default_rng(len(target_text))
    burst = rng.standard_normal(int(0.4 * RATE)) * 0.05 * np.hanning(int(0.4 * RATE))
    return np.concatenate([x[:cut], burst, x[cut:]])


def misbehave(models, llm):
    if flag(models, "STANDIN_SEGV"):
        import signal
        os.kill(os.getpid(), signal.SIGSEGV)
    if flag(models, "STANDIN_OOM"):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (stand-in)")
    if flag(models, "STANDIN_HANG"):
        while True:
            time.sleep(0.5)
    slow = flag(models, "STANDIN_SLOW")
    if slow:
        steps = int(float(slow) / 0.05)
        if llm is not None:
            llm.generate(torch.zeros((1, 8), dtype=torch.long), max_length=8192, steps=steps)
        else:
            time.sleep(float(slow))


class LLM:
    """Stands in for the v1 Transformers model: generate() honours stopping criteria."""

    def __init__(self, models):
        self.models = models

    def generate(self, input_ids, max_length=8192, steps=0, stopping_criteria=None, **kw):
        done = 0
        for _ in range(steps):
            if stopping_criteria and any(bool(torch.as_tensor(c(input_ids, None)).all()) for c in stopping_criteria):
                break
            time.sleep(0.05)
            done += 1
        record(self.models, "STANDIN_LAST_GENERATE.json", {"steps": steps, "done": done})
        return input_ids


def edit(self, path, audio_text, edit_type, edit_info, target_text):
    os.write(1, b"stand-in: raw write to descriptor 1\n")
    print(f"stand-in: {edit_type} {edit_info}")
    record_call(self.models, {"op": "edit", "audio_text": audio_text, "edit_type": edit_type,
                              "edit_info": edit_info, "target_text": target_text, "rate": sf.info(path).samplerate,
                              "seconds": sf.info(path).duration})
    misbehave(self.models, getattr(self, "llm", None))
    if edit_type == "clone":
        raise ValueError("edit_type clone is not an edit")
    if edit_type not in ("denoise", "vad") and not audio_text:
        raise ValueError("the transcript is empty")
    x = load(path)
    if flag(self.models, "STANDIN_DROP"):
        n = len(x)
        x = np.concatenate([x[: int(0.3 * n)], x[int(0.7 * n):]])
    if edit_type == "denoise":
        y = denoise(x)
    elif edit_type == "vad":
        y = vad(x)
    elif edit_type == "paralinguistic":
        y = paralinguistic(x, audio_text, target_text or "")
    elif edit_type == "style" and edit_info == "whisper":
        y = world_edit(x, whisper=True)
    else:
        semis, tempo = params(edit_type, edit_info)
        warp = 1.15 if (edit_type, edit_info) in (("style", "child"), ("style", "girl")) else 1.0
        y = world_edit(x, semis, tempo, warp)
    return torch.tensor(np.asarray(y, dtype=np.float32)[None, :]), RATE


def clone(self, prompt_wav_path, prompt_text, target_text):
    record_call(self.models, {"op": "clone", "prompt_text": prompt_text, "text": target_text})
    misbehave(self.models, getattr(self, "llm", None))
    x = load(prompt_wav_path)
    ratio = max(1, len(target_text.split())) / max(1, len(prompt_text.split()))
    y = world_edit(x, 0.0, 1.0 / ratio)
    return torch.tensor(np.asarray(y, dtype=np.float32)[None, :]), RATE
'''

TTS_HEAD = '''
import json
import os

print("stand-in tts: importing (this line goes to stdout, as upstream prints do)")
from model_loader import ModelSource
import _standin_dsp as dsp

SEEN_BACKEND = os.environ.get("VLLM_ATTENTION_BACKEND")
'''

TTS_V1 = TTS_HEAD + '''

class StepAudioTTS:
    def __init__(
        self,
        model_path,
        audio_tokenizer,
        model_source=ModelSource.AUTO,
        tts_model_id=None,
        quantization_config=None,
        torch_dtype=None,
        device_map="cuda",
    ):
        self.models = os.path.dirname(model_path)
        if dsp.flag(self.models, "STANDIN_LOAD_FAIL"):
            raise RuntimeError("stand-in refuses to load")
        if not os.path.exists(os.path.join(model_path, "config.json")):
            raise FileNotFoundError(f"no config.json in {model_path}")
        dsp.record(self.models, "STANDIN_LAST_INIT.json", {
            "generation": "v1", "model_path": model_path, "model_source": model_source,
            "quantization_config": quantization_config, "torch_dtype": str(torch_dtype),
            "device_map": device_map, "tokenizer": audio_tokenizer.encoder_path,
            "attention_backend": SEEN_BACKEND})
        self.audio_tokenizer = audio_tokenizer
        self.llm = dsp.LLM(self.models)

    def clone(self, prompt_wav_path, prompt_text, target_text):
        return dsp.clone(self, prompt_wav_path, prompt_text, target_text)

    def edit(self, input_audio_path, audio_text, edit_type, edit_info=None, text=None):
        return dsp.edit(self, input_audio_path, audio_text, edit_type, edit_info, text)
'''

TTS_V2 = TTS_HEAD + '''

class StepAudioTTS:
    def __init__(
        self,
        model_path,
        audio_tokenizer,
        model_source=ModelSource.AUTO,
        tts_model_id=None,
        quantization=None,
        tensor_parallel_size=1,
        gpu_memory_utilization=0.5,
        max_model_len=8192,
        enforce_eager=False,
        dtype="bfloat16",
        kv_cache_dtype="auto",
        max_num_seqs=1,
        max_num_batched_tokens=None,
        cosyvoice_dtype="bfloat16",
        cosyvoice_cuda_graph=True,
    ):
        self.models = os.path.dirname(model_path)
        if dsp.flag(self.models, "STANDIN_LOAD_FAIL"):
            raise RuntimeError("stand-in refuses to load")
        if not os.path.exists(os.path.join(model_path, "config.json")):
            raise FileNotFoundError(f"no config.json in {model_path}")
        dsp.record(self.models, "STANDIN_LAST_INIT.json", {
            "generation": "v2", "model_path": model_path, "model_source": model_source,
            "quantization": quantization, "dtype": dtype, "gpu_memory_utilization": gpu_memory_utilization,
            "tokenizer": audio_tokenizer.encoder_path, "attention_backend": SEEN_BACKEND})
        self.audio_tokenizer = audio_tokenizer

    def clone(self, prompt_wav_path, prompt_text, target_text):
        return dsp.clone(self, prompt_wav_path, prompt_text, target_text)

    def edit(self, prompt_wav_path, prompt_text, edit_type, edit_info=None, target_text=None):
        return dsp.edit(self, prompt_wav_path, prompt_text, edit_type, edit_info, target_text)
'''


def build_standin(root: Path, generation: str = "v1", commit: str | None = V1_COMMIT) -> tuple[Path, Path]:
    """Write a stand-in source tree and models folder under ``root``; returns ``(source, models)``."""
    from stepedit_app.engines.step_audio.settings import AWQ_FILES, EXPECTED_FILES

    source = root / f"Step-Audio-EditX-{generation}"
    models = root / "models"
    source.mkdir(parents=True, exist_ok=True)
    (source / "model_loader.py").write_text(MODEL_LOADER)
    (source / "tokenizer.py").write_text(TOKENIZER)
    (source / "_standin_dsp.py").write_text(DSP)
    (source / "tts.py").write_text(TTS_V1 if generation == "v1" else TTS_V2)
    # modules the official tree has and a careless worker could shadow
    (source / "config").mkdir(exist_ok=True)
    (source / "config" / "__init__.py").write_text("")
    if commit:
        (source / ".git").mkdir(exist_ok=True)
        (source / ".git" / "HEAD").write_text(commit + "\n")
    for rel in (*EXPECTED_FILES, *AWQ_FILES):
        p = models / rel.replace("*.safetensors", "model-00001.safetensors")
        if rel.endswith("/"):
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("{}" if p.suffix == ".json" else "stand-in")
    return source, models


def standin_settings(source: Path, models: Path, **kw):
    """Settings that run the stand-in with this interpreter (which has numpy, pyworld, torch)."""
    from stepedit_app.engines.step_audio.settings import StepAudioSettings

    return StepAudioSettings(python=sys.executable, source=str(source), models=str(models), **kw)


def set_flag(models: Path, name: str, value: str = "1") -> None:
    (models / name).write_text(value)


def clear_flags(models: Path) -> None:
    for p in models.glob("STANDIN_*"):
        if p.is_file() and not p.name.endswith(".json"):
            p.unlink()


def last(models: Path, name: str) -> dict:
    return json.loads((models / name).read_text())


def calls(models: Path) -> list[dict]:
    """Every official call the stand-in served, oldest first."""
    p = models / "STANDIN_CALLS.jsonl"
    return [json.loads(ln) for ln in p.read_text().splitlines()] if p.exists() else []


def clear_calls(models: Path) -> None:
    (models / "STANDIN_CALLS.jsonl").unlink(missing_ok=True)
