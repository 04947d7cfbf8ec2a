"""Where the Step-Audio-EditX engine finds its model: configuration, paths, and upstream facts.

The configuration lives in the user's config folder (``platformdirs``;
``~/.config/stepedit/step-audio.json`` on Linux) and is written by ``stepedit setup
step-audio`` (atomically: a temporary file in that folder, then a rename).  The worker's log
goes to the user's log folder (``~/.local/state/stepedit/log/step-audio-worker.log``).
Reading the configuration is a small file read: the engine's availability check starts
nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

from stepedit_app.errors import RequestError

APP = "stepedit"
CONFIG_NAME = "step-audio.json"
LOG_NAME = "step-audio-worker.log"

#: Upstream commits this integration was written and checked against (stepfun-ai/Step-Audio-EditX).
SUPPORTED_COMMITS: dict[str, tuple[str, str, str]] = {
    "v1": ("aacb90a", "2025-12-22", "Transformers; Python 3.10, torch 2.8.0, transformers 4.53.3"),
    "v2": ("a652e87", "2026-04", "vLLM; Python >=3.12,<3.14, torch 2.9.1, transformers 4.57.6, vLLM 0.14.0rc2"),
}

#: Quantisation each generation accepts.
QUANTIZATION: dict[str, tuple[str, ...]] = {
    "v1": ("int4", "int8", "awq-4bit"),
    "v2": ("awq", "gptq", "fp8"),
}
DTYPES: tuple[str, ...] = ("bfloat16", "float16", "float32")

#: Python versions each generation's pins install on (major, minor) inclusive ranges.
PYTHON_RANGE: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "v1": ((3, 10), (3, 10)),
    "v2": ((3, 12), (3, 13)),
}

MODEL_DIR = "Step-Audio-EditX"
TOKENIZER_DIR = "Step-Audio-Tokenizer"
AWQ_DIR = "Step-Audio-EditX-AWQ-4bit"
PARAFORMER_DIR = "dengcunqin/speech_paraformer-large_asr_nat-zh-cantonese-en-16k-vocab8501-online"

#: Weight files the official code opens, relative to the models folder.  A name ending in
#: ``*.safetensors`` means "at least one such file".
EXPECTED_FILES: tuple[str, ...] = (
    f"{MODEL_DIR}/config.json",
    f"{MODEL_DIR}/configuration_step1.py",
    f"{MODEL_DIR}/modeling_step1.py",
    f"{MODEL_DIR}/tokenizer.model",
    f"{MODEL_DIR}/*.safetensors",
    f"{MODEL_DIR}/CosyVoice-300M-25Hz/cosyvoice.yaml",
    f"{MODEL_DIR}/CosyVoice-300M-25Hz/flow.pt",
    f"{MODEL_DIR}/CosyVoice-300M-25Hz/hift.pt",
    f"{MODEL_DIR}/CosyVoice-300M-25Hz/campplus.onnx",
    f"{TOKENIZER_DIR}/linguistic_tokenizer.npy",
    f"{TOKENIZER_DIR}/speech_tokenizer_v1.onnx",
    f"{TOKENIZER_DIR}/{PARAFORMER_DIR}/",
)
#: Extra files when an AWQ quantisation is chosen (the AWQ folder must hold CosyVoice too).
AWQ_FILES: tuple[str, ...] = (
    f"{AWQ_DIR}/config.json",
    f"{AWQ_DIR}/*.safetensors",
    f"{AWQ_DIR}/CosyVoice-300M-25Hz/cosyvoice.yaml",
)


@dataclass
class StepAudioSettings:
    """The engine's configuration.

    Parameters
    ----------
    python
        The model environment's Python interpreter.
    source
        The Step-Audio-EditX source folder (the one holding ``tts.py``).
    models
        The folder holding ``Step-Audio-EditX/`` and ``Step-Audio-Tokenizer/``.
    dtype
        Weights' dtype (``bfloat16``, ``float16``, ``float32``); None keeps upstream's default.
    quantization
        v1: ``int4``, ``int8``, ``awq-4bit``; v2: ``awq``, ``gptq``, ``fp8``; None for none.
    gpu_share
        Share of the GPU's memory the model may take (v2: vLLM's ``gpu_memory_utilization``;
        v1: a cap on PyTorch's allocator); None keeps upstream's default.
    timeout_s
        Longest one model call may take before the worker counts as hung (seconds), plus
        ``timeout_per_audio_s`` per second of audio.
    stall_s
        Longest silence (no heartbeat) from a working worker before it counts as hung.
    load_timeout_s
        Longest model load.
    """

    python: str
    source: str
    models: str
    dtype: str | None = None
    quantization: str | None = None
    gpu_share: float | None = None
    timeout_s: float = 300.0
    timeout_per_audio_s: float = 60.0
    stall_s: float = 60.0
    load_timeout_s: float = 900.0
    extra: dict = field(default_factory=dict)

    def validate(self) -> StepAudioSettings:
        """Check option values (not paths: ``stepedit doctor`` does that); returns self."""
        if self.dtype is not None and self.dtype not in DTYPES:
            raise RequestError(f"dtype {self.dtype!r} is not one of {', '.join(DTYPES)}")
        allq = sorted({q for qs in QUANTIZATION.values() for q in qs})
        if self.quantization is not None and self.quantization not in allq:
            raise RequestError(
                f"quantization {self.quantization!r} is not one of: v1 {', '.join(QUANTIZATION['v1'])}; "
                f"v2 {', '.join(QUANTIZATION['v2'])}"
            )
        if self.gpu_share is not None and not (0.05 <= float(self.gpu_share) <= 1.0):
            raise RequestError(f"GPU memory share {self.gpu_share!r} out of range (allowed: 0.05..1)")
        for name in ("timeout_s", "timeout_per_audio_s", "stall_s", "load_timeout_s"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not v > 0:
                raise RequestError(f"{name} {v!r} must be a positive number of seconds")
        return self

    def options(self) -> dict:
        """The load options the worker receives."""
        return {"dtype": self.dtype, "quantization": self.quantization, "gpu_share": self.gpu_share}

    def key(self) -> tuple:
        """What a running worker depends on (a change means a new worker)."""
        return (self.python, self.source, self.models, self.dtype, self.quantization, self.gpu_share)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> StepAudioSettings:
        names = {f.name for f in fields(cls)}
        missing = [k for k in ("python", "source", "models") if not d.get(k)]
        if missing:
            raise RequestError(f"configuration lacks {', '.join(missing)}")
        return cls(**{k: v for k, v in d.items() if k in names}).validate()


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def config_path() -> Path:
    return config_dir() / CONFIG_NAME


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP))


def log_path() -> Path:
    return log_dir() / LOG_NAME


def load_settings() -> StepAudioSettings | None:
    """The stored configuration, or None when there is none.

    Raises :class:`~stepedit_app.errors.RequestError` (one line) when the file exists but is
    unreadable or invalid.
    """
    p = config_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RequestError(f"{p}: cannot read the Step-Audio configuration ({exc.strerror})") from None
    try:
        d = json.loads(text)
    except ValueError:
        raise RequestError(f"{p}: the Step-Audio configuration is not valid JSON; run stepedit setup step-audio again") from None
    if not isinstance(d, dict):
        raise RequestError(f"{p}: the Step-Audio configuration is not a JSON object; run stepedit setup step-audio again")
    try:
        return StepAudioSettings.from_dict(d)
    except RequestError as exc:
        raise RequestError(f"{p}: {exc}; run stepedit setup step-audio again") from None
    except TypeError as exc:
        raise RequestError(f"{p}: bad configuration ({exc}); run stepedit setup step-audio again") from None


def save_settings(settings: StepAudioSettings) -> Path:
    """Write the configuration atomically (temporary file in the folder, then rename)."""
    settings.validate()
    d = config_dir()
    d.mkdir(parents=True, exist_ok=True)
    target = config_path()
    fd, tmp = tempfile.mkstemp(prefix=".step-audio-", suffix=".json.tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(settings.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


NOT_CONFIGURED = "not configured: run stepedit setup step-audio --python PATH --source DIR --models DIR"


def env_commands(generation: str, source: str = "STEP_AUDIO_SRC", models: str = "STEP_AUDIO_MODELS",
                 venv: str | None = None) -> list[str]:
    """Shell commands that create the model environment for ``generation`` (``v1``/``v2``),
    download the weights and point StepEdit at them (pins from the supported commits)."""
    commit = SUPPORTED_COMMITS[generation][0]
    hub = "huggingface-cli download stepfun-ai/{name} --local-dir {models}/{name}"
    common_tail = [
        hub.format(name=MODEL_DIR, models=models),
        hub.format(name=TOKENIZER_DIR, models=models),
        f"# optional, for --quantization {'awq-4bit' if generation == 'v1' else 'awq'}:",
        "# " + hub.format(name=AWQ_DIR, models=models),
    ]
    if generation == "v1":
        venv = venv or "~/.venvs/step-audio-v1"
        return [
            "# Step-Audio-EditX v1 (Transformers): Linux or Windows, NVIDIA GPU (CUDA 12), Python 3.10",
            f"git clone https://github.com/stepfun-ai/Step-Audio-EditX {source}",
            f"git -C {source} checkout {commit}",
            f"python3.10 -m venv {venv}",
            f"{venv}/bin/pip install torch==2.8.0 torchaudio==2.8.0",
            f"{venv}/bin/pip install -r {source}/requirements.txt",
            f"{venv}/bin/pip install transformers==4.53.3 onnxruntime-gpu==1.17.0 onnxruntime "
            "openai-whisper==20240930 numpy==2.2.6 llmcompressor==0.8.1 bitsandbytes==0.48.2",
            f"{venv}/bin/pip install -U huggingface_hub",
            *[c.replace("huggingface-cli", f"{venv}/bin/huggingface-cli") for c in common_tail],
            f"stepedit setup step-audio --python {venv}/bin/python --source {source} --models {models}",
            "stepedit doctor",
        ]
    if generation == "v2":
        return [
            "# Step-Audio-EditX v2 (vLLM): Linux only, NVIDIA GPU (CUDA 12.4+), Python 3.12 or 3.13, uv",
            f"git clone https://github.com/stepfun-ai/Step-Audio-EditX {source}",
            f"git -C {source} checkout {commit}",
            f"cd {source} && uv sync --python 3.12 && cd -",
            "# the lock pins torch 2.9.1, transformers 4.57.6 and the vLLM 0.14.0rc2 nightly",
            f"uv pip install --python {source}/.venv/bin/python -U huggingface_hub",
            *[c.replace("huggingface-cli", f"{source}/.venv/bin/huggingface-cli") for c in common_tail],
            f"stepedit setup step-audio --python {source}/.venv/bin/python --source {source} --models {models}",
            "stepedit doctor",
        ]
    raise RequestError(f"generation {generation!r} is unknown (allowed: v1, v2)")
