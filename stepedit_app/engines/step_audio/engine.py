"""The ``step-audio-editx`` engine: Step-Audio-EditX on the GPU, in its own worker process.

One iteration runs one model pass per requested edit, on the previous iteration's output, in
this order (documented; the window shows the same):

1. ``denoise``, then ``vad`` (silence removal): every iteration, kept whole;
2. ``paralinguistic`` (the transcript with tags): first iteration only, kept whole; the tagged
   text is the transcript from then on;
3. emotions, then styles, then speed, each group strongest first (ties by name): each pass is
   kept at its slider's intensity by morphing from the pass's input to its output
   (:mod:`stepedit_app.audio.morph`), so 30 % is a real in-between.  Expression comes before
   style because a style such as whisper removes the pitch an emotion pass works with; speed
   comes last so that it scales the finished expression.

Where a pass dropped or added content the morph cannot align it: the take keeps that pass
whole and says so in ``flags["full_pass"]`` (see :class:`~stepedit_app.engines.base.EditContext`).

Inputs the model cannot take are adapted (:mod:`.inputs`): under 16 kHz upsampled; longer
than 30 s split at pauses with the transcript split to match; the 24 kHz output resampled to
the clip's rate (``flags["band_limit_hz"] = 12000`` when the clip's band was wider).  Upstream
scales a loud input to peak 0.6 before editing; the output is scaled back, so level changes the
model makes survive.  The model is mono: a multichannel region comes back as one channel copied
to every channel (``flags["mono"]``).

Model passes are cached per input, edit, transcript and seed when a seed is given: moving a
slider then re-applies the cached pass at the new intensity on the CPU (no GPU call).  Without a
seed every render samples the model afresh.

The worker process is shared by every engine instance of the editor (the model loads once) and
stops when the editor exits or the configuration changes.
"""

from __future__ import annotations

import atexit
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from stepedit_app.audio.analysis import Cues, PitchTrack
from stepedit_app.audio.clip import Clip
from stepedit_app.audio.morph import PassMorph
from stepedit_app.engines.base import (
    CancelToken,
    Capabilities,
    EditContext,
    EditGenerator,
    Engine,
    Prepared,
)
from stepedit_app.engines.controls import EMOTIONS, SPEEDS, STYLES, EditRequest
from stepedit_app.engines.step_audio import inputs
from stepedit_app.engines.step_audio.client import WorkerClient, WorkerFailure
from stepedit_app.engines.step_audio.settings import (
    NOT_CONFIGURED,
    StepAudioSettings,
    load_settings,
)
from stepedit_app.engines.step_audio.vocabulary import tag_strings
from stepedit_app.errors import EngineError, EngineUnavailable, RequestError, StepEditError

ENGINE_NAME = "step-audio-editx"
#: Longest region accepted (split into 30 s pieces for the model).
MAX_REGION_S = 300.0
#: Edit ramps in/out over this at a boundary that joins untouched audio.
RAMP_S = 0.04
PEAK_CEILING = 10 ** (-1.0 / 20)
_CACHE_PASSES = 16


# --- the shared worker ---------------------------------------------------------------------------

_shared: WorkerClient | None = None
_shared_lock = threading.Lock()


def shared_client(settings: StepAudioSettings) -> WorkerClient:
    """The editor's one worker client for ``settings`` (replacing one for other settings)."""
    global _shared
    with _shared_lock:
        if _shared is not None and _shared.settings.key() == settings.key():
            _shared.settings = settings  # time limits may change without a restart
            return _shared
        old, _shared = _shared, WorkerClient(settings)
    if old is not None:
        old.close()
    return _shared


def shutdown_shared() -> None:
    """Stop the shared worker (the editor calls this at exit)."""
    global _shared
    with _shared_lock:
        old, _shared = _shared, None
    if old is not None:
        old.close()


atexit.register(shutdown_shared)


# --- one pass ------------------------------------------------------------------------------------


@dataclass
class Segment:
    """What :meth:`StepAudioEngine.prepare` keeps of a region."""

    clip: Clip
    mono: np.ndarray  # float64 at the clip's rate


@dataclass
class PassSpec:
    """One model pass: the official ``edit()`` arguments and how much of it to keep."""

    edit_type: str
    edit_info: str | None
    intensity: float  # 1 = whole pass, kept without morphing for one-shot kinds
    morph: bool
    target_text: str | None = None

    @property
    def label(self) -> str:
        return self.edit_info if self.edit_info else {"vad": "silence removal"}.get(self.edit_type, self.edit_type)


def plan_passes(request: EditRequest, iteration: int) -> list[PassSpec]:
    """The passes of one iteration, in the documented order (see the module notes)."""
    out: list[PassSpec] = []
    if request.denoise:
        out.append(PassSpec("denoise", None, 1.0, False))
    if request.vad:
        out.append(PassSpec("vad", None, 1.0, False))
    if request.paralinguistic and iteration == 1:
        out.append(PassSpec("paralinguistic", None, 1.0, False, request.paralinguistic))
    for group, values in (("emotion", request.emotions), ("style", request.styles), ("speed", request.speed)):
        for name, v in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])):
            if v > 0:
                out.append(PassSpec(group, name, float(v), True))
    return out


class StepAudioEngine(Engine):
    """Step-Audio-EditX (3B audio LLM) through a warm worker process.

    Parameters
    ----------
    settings
        The configuration (default: the stored one, see ``stepedit setup step-audio``).
    client
        A worker client (default: the editor's shared one for these settings).
    """

    name = ENGINE_NAME

    def __init__(self, settings: StepAudioSettings | None = None, client: WorkerClient | None = None) -> None:
        self._settings = settings
        self._client = client
        self._passes: OrderedDict[tuple, np.ndarray] = OrderedDict()

    # --- configuration ------------------------------------------------------------------------
    @classmethod
    def availability(cls) -> tuple[bool, str]:
        """Whether the engine is configured (a file read and two path checks; starts nothing)."""
        try:
            s = load_settings()
        except StepEditError as exc:
            return False, str(exc)
        if s is None:
            return False, NOT_CONFIGURED
        if not Path(s.python).exists():
            return False, f"the model environment's Python {s.python} does not exist; run stepedit setup step-audio again"
        if not (Path(s.source) / "tts.py").is_file():
            return False, f"{s.source} holds no tts.py (the Step-Audio-EditX source folder); run stepedit setup step-audio again"
        return True, "configured (the model loads on the first edit; stepedit doctor checks it)"

    @property
    def settings(self) -> StepAudioSettings:
        if self._settings is None and self._client is not None:
            self._settings = self._client.settings
        if self._settings is None:
            s = load_settings()
            if s is None:
                raise EngineUnavailable(f"engine {self.name!r} is {NOT_CONFIGURED}")
            self._settings = s
        return self._settings

    @property
    def client(self) -> WorkerClient:
        if self._client is None:
            return shared_client(self.settings)
        return self._client

    def capabilities(self) -> Capabilities:
        return Capabilities(
            name=self.name,
            label="Step-Audio-EditX (GPU)",
            description=(
                "StepFun's 3B audio LLM in its own worker process: emotion, style and speed passes kept "
                "at any intensity by morphing, denoise, silence removal, paralinguistic tags, voice cloning. "
                "Needs an NVIDIA GPU, the model environment and the weights (stepedit setup step-audio)."
            ),
            emotions=EMOTIONS,
            styles=STYLES,
            speed=SPEEDS,
            edit_kinds=("emotion", "style", "speed", "denoise", "vad", "paralinguistic", "clone"),
            needs_transcript=True,
            devices=("cuda",),
            continuous=True,
            output_rate=inputs.MODEL_RATE,
            max_region_s=MAX_REGION_S,
            tags=tag_strings(),
            # a pass may drop a clause or two (upstream #17): kept whole and flagged, not refused
            length_tolerance=4.0,
        )

    # --- analysis -----------------------------------------------------------------------------
    def prepare(self, clip: Clip, cancel: CancelToken | None = None, cues: Cues | None = None,
                track: PitchTrack | None = None) -> Prepared:
        if clip.duration > MAX_REGION_S:
            raise RequestError(
                f"engine {self.name!r} takes regions up to {MAX_REGION_S:.0f} s (this one is {clip.duration:.1f} s); "
                "select a shorter region"
            )
        mono = clip.mono()
        inputs.plan_pieces(mono, clip.rate)  # refuse an unsplittable region before any GPU work
        return Prepared(clip, Segment(clip, mono))

    # --- one iteration ------------------------------------------------------------------------
    def edit(self, prepared: Prepared, request: EditRequest, ctx: EditContext) -> EditGenerator:
        seg: Segment = prepared.data
        clip = prepared.clip
        rate = clip.rate
        specs = plan_passes(request, ctx.iteration)
        x = ctx.previous.mono() if ctx.previous is not None else seg.mono
        if not specs:
            return ctx.previous or clip
            yield  # pragma: no cover
        text = ctx.state.get("transcript", request.transcript)
        if request.paralinguistic and clip.duration > inputs.MAX_INPUT_S:
            raise RequestError(
                f"paralinguistic edits take regions up to {inputs.MAX_INPUT_S:.0f} s (this one is "
                f"{clip.duration:.1f} s); select the sentence to tag"
            )
        full: list[str] = []
        alignment: dict[str, dict] = {}
        figures = {"passes": 0, "model_s": 0.0, "peak_mem_mb": None, "device_used_mb": None, "pieces": 1}
        n = len(specs)
        for k, spec in enumerate(specs):
            ctx.cancel.check()
            pairs = yield from self._run_pass(x, rate, spec, text, request.seed, ctx, k / n, 1.0 / n, figures)
            if spec.morph:
                outs = []
                for i, (before, after) in enumerate(pairs):
                    ctx.cancel.check()
                    ramp_in = RAMP_S if (i == 0 and ctx.joins_before) else 0.0
                    ramp_out = RAMP_S if (i == len(pairs) - 1 and ctx.joins_after) else 0.0
                    res = PassMorph(before, after, rate).render(spec.intensity, ramp_in, ramp_out)
                    if res.alignment is not None:
                        _worst(alignment, spec.label, res.alignment.to_dict())
                    if res.kept_full and spec.intensity < 1.0 and spec.label not in full:
                        full.append(spec.label)
                    outs.append(res.samples)
                    yield (k + (i + 1) / len(pairs)) / n
                y = _join(outs, rate)
            else:
                y = _join([after for _, after in pairs], rate)
            if spec.edit_type == "paralinguistic":
                text = spec.target_text
                ctx.state["transcript"] = text
                ctx.flags["transcript"] = text
            x = y
        peak = float(np.max(np.abs(x))) if len(x) else 0.0
        if peak > PEAK_CEILING:
            x = x * (PEAK_CEILING / peak)
            ctx.flags["level_limited_db"] = round(float(20 * np.log10(peak / PEAK_CEILING)), 2)
        if rate > 2 * 12000:
            ctx.flags["band_limit_hz"] = 12000.0
        if full:
            ctx.flags["full_pass"] = full
        if alignment:
            ctx.flags["alignment"] = alignment
        if clip.channels > 1:
            ctx.flags["mono"] = True
        if figures["pieces"] > 1:
            ctx.flags["chunks"] = figures["pieces"]
        hello = self.client.hello or {}
        loaded = self.client.loaded or {}
        ctx.flags["engine"] = {"generation": loaded.get("generation"), "device": hello.get("device"),
                               **{k: v for k, v in figures.items() if k != "pieces"}}
        yield 1.0
        out = np.repeat(x.astype(np.float32)[:, None], clip.channels, axis=1)
        return clip.with_samples(out)

    def _run_pass(self, x: np.ndarray, rate: int, spec: PassSpec, text: str | None, seed: int | None,
                  ctx: EditContext, base: float, span: float, figures: dict
                  ) -> Generator[float, None, list[tuple[np.ndarray, np.ndarray]]]:
        """One model pass over ``x`` (split at pauses when long): ``[(piece in, piece out)]``,
        mono at ``rate``."""
        needs_text = spec.edit_type not in ("denoise", "vad")
        if needs_text and not text:
            raise RequestError(f"engine {self.name!r} needs the transcript of the region")
        pieces = inputs.plan_pieces(x, rate)
        figures["pieces"] = max(figures["pieces"], len(pieces))
        texts: list[str | None]
        if needs_text and len(pieces) > 1:
            assert text is not None
            texts = list(inputs.split_transcript(text, inputs.speech_seconds(x, rate, pieces)))
        else:
            texts = [text] * len(pieces)
        outs = []
        for i, ((s, e), t) in enumerate(zip(pieces, texts)):
            piece = x[s:e]
            key = None
            if seed is not None:
                h = hashlib.blake2b(piece.astype(np.float32).tobytes(), digest_size=16).hexdigest()
                key = (h, rate, spec.edit_type, spec.edit_info, t, spec.target_text, seed)
                if key in self._passes:
                    self._passes.move_to_end(key)
                    outs.append((piece, self._passes[key]))
                    continue
            frac0 = base + span * i / len(pieces)
            y = yield from self._call(piece, rate, spec, t, seed, ctx.cancel, frac0, figures)
            if key is not None:
                self._passes[key] = y
                while len(self._passes) > _CACHE_PASSES:
                    self._passes.popitem(last=False)
            outs.append((piece, y))
        return outs

    def _exchange(self, command: str, payload: dict, send: np.ndarray, send_rate: int, inp: Path, out: Path,
                  cancel: CancelToken, timeout: float, what: str,
                  frac: float) -> Generator[float, None, tuple[np.ndarray, int, dict]]:
        """One request to the worker through two files: write ``send`` to ``inp``, run
        ``command`` (yielding ``frac`` while it runs), read ``out`` as mono.  Both files are
        removed on every path; unreadable, empty or non-finite output is one line naming ``what``."""
        try:
            sf.write(inp, send.astype(np.float32), send_rate, subtype="FLOAT")
            events = self.client.request(command, payload, cancel, timeout, what=f"during {what}")
            while True:
                try:
                    next(events)
                except StopIteration as stop:
                    res = stop.value or {}
                    break
                yield frac
            try:
                y, out_rate = sf.read(out, dtype="float64", always_2d=True)
            except (sf.LibsndfileError, RuntimeError, OSError) as exc:
                raise WorkerFailure(f"the step-audio worker's output for {what} is unreadable ({exc})") from None
        finally:
            for p in (inp, out):
                try:
                    p.unlink()
                except OSError:
                    pass
        y = y.mean(axis=1)
        if len(y) == 0 or not np.all(np.isfinite(y)):
            raise EngineError(f"Step-Audio-EditX returned no usable audio for {what}")
        return y, int(out_rate), res

    def _call(self, piece: np.ndarray, rate: int, spec: PassSpec, text: str | None, seed: int | None,
              cancel: CancelToken, frac: float, figures: dict) -> Generator[float, None, np.ndarray]:
        client = self.client
        send, send_rate = inputs.model_input(piece, rate)
        scale = inputs.upstream_scale(send)
        tag = f"{id(self):x}-{threading.get_ident():x}-{figures['passes']}"
        inp = client.temp_path(f"in-{tag}.wav")
        out = client.temp_path(f"out-{tag}.wav")
        payload = {"input": str(inp), "output": str(out), "audio_text": text or "",
                   "edit_type": spec.edit_type, "edit_info": spec.edit_info,
                   "target_text": spec.target_text, "seed": seed}
        timeout = self.settings.timeout_s + self.settings.timeout_per_audio_s * len(piece) / rate
        y, out_rate, res = yield from self._exchange("edit", payload, send, send_rate, inp, out, cancel, timeout,
                                                     f"the {spec.label} pass", frac)
        figures["passes"] += 1
        figures["model_s"] = round(figures["model_s"] + float(res.get("call_s") or 0.0), 3)
        for key in ("peak_mem_mb", "device_used_mb"):
            v = res.get(key)
            if v is not None:
                figures[key] = max(v, figures.get(key) or 0.0)
        return inputs.resample(y / scale, int(out_rate), rate)

    # --- cloning ------------------------------------------------------------------------------
    def clone(self, prompt: Clip, prompt_text: str, text: str, cancel: CancelToken | None = None,
              seed: int | None = None, rate: int | None = None) -> Generator[float, None, Clip]:
        """Speak ``text`` in the voice of ``prompt`` (whose words are ``prompt_text``).

        A generator like :meth:`edit`: yields progress, returns a mono clip at ``rate``
        (default: the model's 24 kHz).
        """
        cancel = cancel or CancelToken()
        prompt_text = " ".join((prompt_text or "").split())
        text = " ".join((text or "").split())
        if not prompt_text:
            raise RequestError("clone: the prompt's transcript is needed (--prompt-text)")
        if not text:
            raise RequestError("clone: the text to speak is empty (--text)")
        if prompt.duration > inputs.MAX_INPUT_S:
            raise RequestError(f"clone: the prompt is {prompt.duration:.1f} s; the model takes up to "
                               f"{inputs.MAX_INPUT_S:.0f} s (3-10 s of clean speech works best)")
        client = self.client
        send, send_rate = inputs.model_input(prompt.mono(), prompt.rate)
        tag = f"{id(self):x}-{threading.get_ident():x}-clone"
        inp, out = client.temp_path(f"prompt-{tag}.wav"), client.temp_path(f"clone-{tag}.wav")
        payload = {"prompt": str(inp), "output": str(out), "prompt_text": prompt_text, "text": text, "seed": seed}
        timeout = self.settings.timeout_s + self.settings.timeout_per_audio_s * (prompt.duration + 0.4 * len(text.split()))
        y, out_rate, _res = yield from self._exchange("clone", payload, send, send_rate, inp, out, cancel, timeout,
                                                      "the clone", 0.5)
        target = int(rate or out_rate)
        y = inputs.resample(y, int(out_rate), target)
        peak = float(np.max(np.abs(y)))
        if peak > PEAK_CEILING:
            y *= PEAK_CEILING / peak
        yield 1.0
        return Clip(y.astype(np.float32), target)

    def close(self) -> None:
        """Nothing to release per engine: the shared worker lives until the editor exits."""
        self._passes.clear()


def _worst(alignment: dict, label: str, new: dict) -> None:
    """Keep the worst piece's alignment figures for ``label``."""
    old = alignment.get(label)
    if old is None:
        alignment[label] = new
        return
    alignment[label] = {
        "cost": max(old["cost"], new["cost"]), "window_cost": max(old["window_cost"], new["window_cost"]),
        "squeeze": max(old["squeeze"], new["squeeze"]), "ok": old["ok"] and new["ok"],
        "reason": "; ".join(r for r in (old["reason"], new["reason"]) if r),
    }


def _join(parts: list[np.ndarray], rate: int) -> np.ndarray:
    """Concatenate pieces cut at pauses, with 5 ms fades at the joins (they fall in pauses)."""
    if len(parts) == 1:
        return parts[0]
    n = max(1, int(0.005 * rate))
    out = []
    for i, p in enumerate(parts):
        p = p.copy()
        m = min(n, len(p) // 2)
        if i > 0 and m:
            p[:m] *= np.linspace(0.0, 1.0, m)
        if i < len(parts) - 1 and m:
            p[-m:] *= np.linspace(1.0, 0.0, m)
        out.append(p)
    return np.concatenate(out)
