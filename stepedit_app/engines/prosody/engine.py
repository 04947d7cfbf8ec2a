"""The embedded ``prosody`` engine: emotion and style by signal processing, no download.

Per region, :meth:`ProsodyEngine.prepare` measures once, with level-dependent DSP guarded at
the source (DC removed, a fixed analysis level, near-silence passed through): a robust F0 track,
speech activity, the original cue set, and (lazily, only when an edit needs it) PSOLA pitch
marks or WORLD's spectral envelope and aperiodicity per channel.  Each iteration then:

1. blends the active sliders into one :class:`~.profiles.Params` vector (log units);
2. builds a per-frame *plan*: a time map (speech scaled by the tempo factor, pauses more), a
   target F0 contour (level, range about the median, phrase-final contour, jitter, tremor),
   envelope warp and tilt, breathiness/whisper, and level, all ramped in and out over 40 ms at
   boundaries that join untouched audio;
3. renders the plan with the method chosen by measurement (:meth:`ProsodyEngine.method_for`;
   ``benchmarks/quality.py``): TD-PSOLA for pitch and timing (periods from the source's own
   pitch marks, cycle jitter and shimmer where asked; formants moved by resampling the
   source first as far as the pitch moves the same way,
   :func:`~stepedit_app.audio.psola.warp_source`) followed by a time-varying STFT filter for
   tilt, the rest of the formant warp, breath and whisper (:mod:`stepedit_app.audio.shaping`);
   WORLD only for large pitch raises on clean recordings at 16 kHz and above;
4. matches loudness to the requested level change (BS.1770) and limits peaks to -1 dBFS;
5. from iteration 2 on, closes the loop: measures what the previous iteration achieved
   (F0 level and range, tempo, tilt, formants) against the targets and corrects the parameters,
   never accepting a step that moves any measure further from its target; an iteration that
   cannot improve sets ``ctx.converged`` and the session ends the render there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyworld
import scipy.ndimage
import scipy.signal

from stepedit_app.audio import psola, shaping
from stepedit_app.audio.analysis import (
    FRAME_PERIOD_MS,
    Cues,
    PitchTrack,
    activity,
    frame_rms_db,
    loudness_lufs,
    measure_cues,
    revoice,
    spectral_tilt_db,
    track_frames,
    track_pitch,
)
from stepedit_app.audio.cancel import CancelLike, checkpoint
from stepedit_app.audio.clip import Clip
from stepedit_app.audio.dynamics import onset_gain_db
from stepedit_app.audio.hum import hum_component, hum_lines, refine_base
from stepedit_app.audio.noise import shaped_noise
from stepedit_app.audio.pitch import mains_hum
from stepedit_app.engines.base import (
    Capabilities,
    EditContext,
    EditGenerator,
    Engine,
    Prepared,
    as_float64_channels,
)
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.prosody.profiles import (
    EMOTION_PROFILES,
    SPEED_PROFILES,
    STYLE_PROFILES,
    Params,
    blend,
)
from stepedit_app.errors import RequestError

RAMP_S = 0.04  # modification ramp at boundaries that join untouched audio
ANALYSIS_PEAK = 0.5  # every region is analysed and rendered at this peak level, then restored
SILENT_PEAK = 1e-5  # regions quieter than this (-100 dBFS peak) pass through untouched
WORLD_CHUNK_S = 2.0
NOISE_MATCH = 0.85  # shaped-noise level that matches WORLD's own unvoiced level (measured)  # WORLD analysis/synthesis work unit (one cancel point each)
PEAK_CEILING = 10 ** (-1.0 / 20)  # -1 dBFS
FP = FRAME_PERIOD_MS / 1000.0


#: Whether a recording with mains hum is tracked again once the hum is out (see
#: ProsodyEngine._retrack_without_hum).
RETRACK_WITHOUT_HUM = True
#: A frame of a hum recording voiced within this many semitones of the hum's base or its
#: octave, and more than HUM_VOICE_UNDER_DB under the speech's loud frames, is the hum's
#: remainder (unvoiced).
HUM_LINE_ST = 0.5
HUM_VOICE_UNDER_DB = 22.0


@dataclass
class Analysis:
    """What :meth:`ProsodyEngine.prepare` measured (plus lazily filled caches)."""

    x: np.ndarray  # channels x frames, float64
    rate: int
    track: PitchTrack
    active: np.ndarray  # per WORLD frame (5 ms): speech rather than pause
    cues: Cues
    median_st: float  # median voiced F0 in semitones re 1 Hz (nan if unvoiced)
    world: list[tuple[np.ndarray, np.ndarray]] | None = None  # per channel (log sp, ap)
    marks: psola.PitchMarks | None = None
    #: Level guard: ``x`` is the input minus its DC, divided by ``scale`` (peak 0.5).  Renders
    #: are made in these units and restored (times ``scale``, plus ``dc``) at the end.
    scale: float = 1.0
    dc: np.ndarray | None = None  # per channel
    in_peak: float = 0.0  # peak of the DC-free input, in input units
    loudness_a: float = float("nan")  # loudness of ``x`` (analysis units), LUFS
    silent: bool = False  # near-silence: every edit returns the input untouched
    clean: bool = True  # no mains hum and >= 30 dB between speech and the noise floor
    #: Mains hum taken out of ``x`` (channels x frames, analysis units) and its period in
    #: samples; the voice is edited without it and the hum is re-timed in phase and added back
    #: unchanged (None: no hum found).
    hum: np.ndarray | None = None
    hum_period: float = 0.0
    tilt_x: float | None = None  # alpha ratio of ``x`` on voiced frames (dB), measured when needed

    @property
    def frames(self) -> int:
        return self.x.shape[1]


@dataclass
class Plan:
    """Per-input-frame modification (frame = 5 ms, WORLD's grid)."""

    dur: np.ndarray  # duration factor of each frame
    f0: np.ndarray  # target F0 (Hz; 0 = unvoiced)
    warp: np.ndarray  # formant warp factor
    tilt: np.ndarray  # tilt change, dB
    breath: np.ndarray
    whisper: np.ndarray
    gain_db: np.ndarray
    out_len: int  # output samples
    jitter: np.ndarray | None = None  # cycle-to-cycle period perturbation, relative RMS
    shimmer_db: np.ndarray | None = None  # cycle-to-cycle amplitude perturbation, RMS dB
    level_db: float = 0.0  # requested loudness change of the whole segment
    attack_db: np.ndarray | None = None  # onset sharpening, largest boost (dB)
    warp_split: float = 0.0  # part of the formant warp (log) rendered by resampling the source


def _fit_hum(x: np.ndarray, rate: int, lines: list[float], base: float, track: PitchTrack,
             cancel: CancelLike = None) -> np.ndarray:
    """The hum in ``x`` (channels x frames), fitted where ``track`` says the voice is silent
    (unvoiced frames, 30 ms clear of voicing): unweighted, a child's harmonics passing
    300-350 Hz were taken for hum (fit error 78 % of the hum; 2 % weighted)."""
    vs = np.interp(np.arange(x.shape[1]) / rate, track.times, (track.f0 > 0).astype(float)) > 0
    vs = scipy.ndimage.maximum_filter1d(vs.astype(np.uint8), 2 * int(0.03 * rate) + 1) > 0
    weight = np.where(vs, 0.01, 1.0)
    return np.stack([hum_component(ch, rate, lines, weight, cancel, base) for ch in x])


class ProsodyEngine(Engine):
    """Signal-processing emotion and style editor (the embedded default)."""

    name = "prosody"

    def capabilities(self) -> Capabilities:
        return Capabilities(
            name=self.name,
            label="Prosody (embedded)",
            keeps_duration=True,
            description=(
                "Signal processing on this machine, no download: pitch, timing, loudness, "
                "formants, spectral tilt, breathiness and whisper (WORLD vocoder and PSOLA)."
            ),
            emotions=tuple(EMOTION_PROFILES),
            styles=tuple(STYLE_PROFILES),
            speed=tuple(SPEED_PROFILES),
            edit_kinds=("emotion", "style", "speed"),
            needs_transcript=False,
            devices=("cpu",),
            continuous=True,
            # Cost grows linearly with length: ~0.5 s of CPU and ~22 MB per second of 48 kHz
            # audio per iteration (60 s: 36 s, 1.4 GB; 120 s: 59 s, 2.7 GB; benchmarks/long_file.py).
            max_region_s=120.0,
        )

    # --- analysis ----------------------------------------------------------------------------
    def prepare(self, clip: Clip, cancel: CancelLike = None, cues: Cues | None = None,
                track: PitchTrack | None = None) -> Prepared:
        """Analyse a region once.  Level-dependent DSP is guarded here, at the source: DC is
        removed (and restored after rendering), the region is scaled to a fixed analysis peak
        (float overs and very quiet input alike; restored after), and a region whose peak is
        under -100 dBFS is marked silent and passes through every edit untouched.  ``cues`` and
        ``track`` are the session's measurement of the region (measured here when not given):
        the engine voices the session's tracker evidence permissively (for resynthesis an
        unvoiced vowel frame is worse than a voiced transition) instead of running the model
        again -- the tracker normalises each block and high-passes it, so the evidence does
        not depend on the level and DC guarded here."""
        x = as_float64_channels(clip)
        if not np.all(np.isfinite(x)):
            raise RequestError("the region contains non-finite samples (NaN or infinity); nothing to edit")
        dc = x.mean(axis=1, keepdims=True)
        x = x - dc
        # DC is restored after rendering only while it is a plausible offset (under half of
        # full scale); a larger "DC" (the mean of a short, hot float signal) is not, and
        # restoring it would push the edit off scale.
        keep_dc = np.where(np.abs(dc) < 0.5, dc, 0.0)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        silent = peak < SILENT_PEAK
        scale = peak / ANALYSIS_PEAK if not silent else 1.0
        if not silent:
            x = x / scale
        mono = x.mean(axis=0)
        same = track is not None and len(track.f0) == track_frames(len(mono), clip.rate)
        given = revoice(track, permissive=True) if same else None
        track = given if given is not None else track_pitch(mono, clip.rate, permissive=True, cancel=cancel)
        checkpoint(cancel)
        act10 = activity(mono, clip.rate)
        n = len(track.f0)
        idx = np.minimum((np.arange(n) * FP / 0.01).astype(int), max(0, len(act10) - 1))
        active = act10[idx] if len(act10) else np.zeros(n, bool)
        if cues is None:  # the session passes its analysis of this region: not measured twice
            cues = measure_cues(clip, cancel=cancel)
        v = track.voiced_f0()
        median_st = float(np.median(12 * np.log2(v))) if len(v) else float("nan")
        a = Analysis(x, clip.rate, track, active, cues, median_st, scale=scale, dc=keep_dc[:, 0], in_peak=peak,
                     silent=silent)
        if not silent:
            db = frame_rms_db(mono, clip.rate)
            base, lines = mains_hum(mono[: 20 * clip.rate], clip.rate)
            a.clean = (not lines) and float(np.percentile(db, 95) - np.percentile(db, 10)) >= 30.0
            if lines:
                # Mains hum is the room, not the voice: edited with the voice, it was cut into
                # 5 ms grains that no longer join in phase (sad at 0.25 on a voice with 50 Hz
                # hum 20 dB down: its 100 Hz line 17 dB weaker in the pauses, the energy smeared
                # between the lines).  The voice is edited without it (audio.hum), and the hum
                # is re-timed whole periods at a time (psola.retime_periodic) and added back.
                ref = refine_base(mono, clip.rate, base, lines)  # on the lines that stand out
                lines = [f * ref / base for f in hum_lines(mono, clip.rate, base, lines)]
                a.hum = _fit_hum(x, clip.rate, lines, ref, track, cancel)
                base = ref
                a.hum_period = clip.rate / base
                a.x = x - a.hum
                if RETRACK_WITHOUT_HUM:
                    self._retrack_without_hum(a, x, lines, ref, cancel)
        a.loudness_a = loudness_lufs(a.x.T, clip.rate) if not silent else float("-inf")
        return Prepared(clip, a)

    def _retrack_without_hum(self, a: Analysis, x: np.ndarray, lines: list[float], ref: float,
                             cancel: CancelLike = None) -> None:
        """Track the voice again on the recording with its hum taken out, and fit the hum again
        where that track says the voice is silent.

        The tracker's own notches leave strong hum periodic enough to pass for voice: on the
        male studio voice with 50 Hz hum 10 dB under the speech, 78 frames were voiced that
        the clean take leaves unvoiced (10 % of the clip; 54 of them more than 50 ms from any
        voicing, at 50 Hz), and edited as voice (their "periods" moved with the pitch); 39 at
        100 Hz with the hum 20 dB under.  The hum fit kept those frames out too.  Without the
        fitted hum the second track voices far fewer of them (78 -> 44, 39 -> 2), and what it
        still voices on the hum's base or octave, far under the speech, is dropped (-> 0)."""
        mono = a.x.mean(axis=0)
        track = track_pitch(mono, a.rate, permissive=True, cancel=cancel)
        checkpoint(cancel)
        if track.evidence is not None and np.any(track.f0 > 0):
            # What is left of strong hum is still periodic: a frame voiced on one of its lines
            # and far under the speech is the hum's remainder, not voice (the male voice above,
            # hum 10 dB under: 44 frames of the pauses voiced at 50 Hz, 30 dB under the speech;
            # his own voiced frames lie within 13 dB of it, 9 in 10 of them)
            lev = np.asarray(track.evidence[3])
            loud = float(np.percentile(lev[lev > -250.0], 95)) if np.any(lev > -250.0) else 0.0
            f0 = track.f0
            on_line = np.zeros(len(f0), bool)
            for hz in (ref, 2.0 * ref):  # the periods hum shows (its base and first octave);
                # higher lines are where voices sit, and they are not what was voiced
                on_line |= np.abs(12.0 * np.log2(np.maximum(f0, 1e-9) / hz)) < HUM_LINE_ST
            drop = (f0 > 0) & on_line & (lev < loud - HUM_VOICE_UNDER_DB)
            if np.any(drop):
                track = PitchTrack(np.where(drop, 0.0, f0), track.times, track.frame_period, track.evidence)
        a.hum = _fit_hum(x, a.rate, lines, ref, track, cancel)
        a.x = x - a.hum
        a.track = track
        v = track.voiced_f0()
        a.median_st = float(np.median(12 * np.log2(v))) if len(v) else float("nan")

    def _world(self, a: Analysis, cancel: CancelLike = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """CheapTrick envelope and D4C aperiodicity per channel, in chunks of frames (each
        frame's estimate only sees its own window, so chunks with 100 ms of context give the
        whole-signal result, in bounded memory, with a cancel point per chunk)."""
        if a.world is None:
            f0 = a.track.f0
            t = a.track.times
            n = len(f0)
            step = max(1, int(round(WORLD_CHUNK_S / FP)))
            margin = int(0.1 * a.rate)
            out = []
            for ch in a.x:
                sps, aps = [], []
                for i0 in range(0, n, step):
                    checkpoint(cancel)
                    i1 = min(n, i0 + step)
                    s0 = max(0, int(t[i0] * a.rate) - margin)
                    s1 = min(len(ch), int(t[i1 - 1] * a.rate) + margin + 1)
                    seg = np.ascontiguousarray(ch[s0:s1])
                    tt = np.ascontiguousarray(t[i0:i1] - s0 / a.rate)
                    ff = np.ascontiguousarray(f0[i0:i1])
                    sps.append(pyworld.cheaptrick(seg, ff, tt, a.rate))
                    aps.append(pyworld.d4c(seg, ff, tt, a.rate))
                sp = np.concatenate(sps)
                ap = np.concatenate(aps)
                # D4C returns NaN on some over-steady input (a pure hot sine): such frames are
                # treated as aperiodic above 2 kHz and periodic below, like a clean vowel.
                if not np.all(np.isfinite(ap)):
                    ap = np.where(np.isfinite(ap), ap, 0.5)
                sp = np.where(np.isfinite(sp), sp, 1e-16)
                # kept as the log envelope: interpolation, warp and tilt all work in log power
                out.append((np.log(np.maximum(sp, 1e-16)), np.clip(ap, 0.0, 1.0)))
            a.world = out
        return a.world

    def _marks(self, a: Analysis) -> psola.PitchMarks:
        if a.marks is None:
            a.marks = psola.pitch_marks(a.x.mean(axis=0), a.rate, a.track.f0, FRAME_PERIOD_MS)
        return a.marks

    # --- parameters --------------------------------------------------------------------------
    def params_for(self, prepared: Prepared, request: EditRequest) -> Params:
        a: Analysis = prepared.data
        med_hz = 2 ** (a.median_st / 12) if math.isfinite(a.median_st) else float("nan")
        return blend(request.active(), med_hz)

    # --- one iteration -----------------------------------------------------------------------
    def edit(self, prepared: Prepared, request: EditRequest, ctx: EditContext) -> EditGenerator:
        a: Analysis = prepared.data
        nominal = self.params_for(prepared, request)
        if nominal.is_zero() or a.silent:
            # nothing to do, or near-silence: the input untouched (a vocoder would only add noise)
            return prepared.clip
            yield  # pragma: no cover - makes this a generator
        seed = request.seed if request.seed is not None else 0
        st = ctx.state
        st["keep_duration"] = request.keep_duration
        med_hz = 2 ** (a.median_st / 12) if math.isfinite(a.median_st) else float("nan")
        st["method_params"] = blend([(g, n, 1.0) for g, n, _ in request.active()], med_hz)
        if ctx.iteration == 1 or "params" not in st:
            params = nominal
            out = self._render(a, params, ctx, seed)
            yield 0.6
            cues = measure_cues(out, track=None, cancel=ctx.cancel)
            st.update(params=params, out=out, cues=cues, err=self._errors(a, nominal, cues))
            ctx.measured = cues
            yield 1.0
            return out
        # Closed loop: correct from what the previous iteration actually achieved.
        prev_params: Params = st["params"]
        prev_out: Clip = st["out"]
        prev_cues: Cues = st["cues"]
        prev_err: dict[str, float] = st["err"]
        # Attempt 1 corrects every steered cue; attempt 2 only those that did not get worse
        # in attempt 1 (cues interact: a tilt change moves LPC formants a little); attempt 3
        # takes half of attempt 2's step.  The first attempt that moves no measure further
        # from its target is kept.
        keys: set[str] | None = None
        step = 1.0
        tried: list[Params] = []
        for attempt in range(3):
            ctx.cancel.check()
            cand = self._correct(a, nominal, prev_params, prev_cues, step, keys)
            if cand == prev_params:
                break  # already within tolerance of every target: nothing to correct
            if cand in tried:
                step *= 0.5
                cand = self._correct(a, nominal, prev_params, prev_cues, step, keys)
            tried.append(cand)
            out = self._render(a, cand, ctx, seed)
            yield 0.25 + 0.25 * attempt
            cues = measure_cues(out, cancel=ctx.cancel)
            err = self._errors(a, nominal, cues)
            # A measure may move within its measurement tolerance, never further out.
            worse = {k for k in err if err[k] > max(prev_err.get(k, math.inf), self.TOL[k]) + 1e-9}
            if not worse:
                st.update(params=cand, out=out, cues=cues, err=err)
                ctx.measured = cues
                yield 1.0
                return out
            if attempt == 0:
                keys = set(err) - worse
            else:
                step *= 0.5
        # No correction improved every measure: the previous take stands.  Rather than a new
        # take that repeats it, the render ends here ("converged").
        st.update(params=prev_params, out=prev_out, cues=prev_cues, err=prev_err)
        ctx.measured = prev_cues
        ctx.converged = True
        yield 1.0
        return prev_out

    # --- closed loop -------------------------------------------------------------------------
    # Each steered cue: (measured change in parameter units, target, tolerance).
    def _measured(self, a: Analysis, cues: Cues) -> dict[str, float]:
        b = a.cues
        m: dict[str, float] = {}
        if math.isfinite(b.median_f0_hz) and math.isfinite(cues.median_f0_hz):
            m["f0_st"] = 12 * math.log2(cues.median_f0_hz / b.median_f0_hz)
        if math.isfinite(b.f0_range_st) and math.isfinite(cues.f0_range_st) and b.f0_range_st > 0.5 and cues.f0_range_st > 0:
            m["range_log2"] = math.log2(cues.f0_range_st / b.f0_range_st)
        if b.speech_s > 0 and cues.speech_s > 0:
            m["tempo_log"] = math.log(cues.speech_s / b.speech_s)
        if math.isfinite(b.tilt_db) and math.isfinite(cues.tilt_db):
            m["tilt_db"] = cues.tilt_db - b.tilt_db
        fm = [math.log2(x / y) for x, y in ((cues.f1_hz, b.f1_hz), (cues.f2_hz, b.f2_hz)) if math.isfinite(x) and math.isfinite(y)]
        if fm:
            m["formant_log2"] = float(np.mean(fm))
        return m

    #: Measurement resolution per steered cue (repeat measurements of one edit through small
    #: unrelated changes move this much): errors inside it count as on target.  Semitones;
    #: log2 of the range (0.08 = 5.7 %); log of the speech time (3 %); dB; octaves (1.4 %).
    TOL = {"f0_st": 0.25, "range_log2": 0.08, "tempo_log": 0.03, "tilt_db": 0.5, "formant_log2": 0.02}

    def _targets(self, nominal: Params) -> dict[str, float]:
        t = {
            "tempo_log": nominal.tempo_log,
            "tilt_db": nominal.tilt_db,
        }
        # Pitch and formants cannot be measured on (partly) whispered speech: not steered there.
        if nominal.whisper < 0.25:
            t.update(f0_st=nominal.f0_st, range_log2=nominal.range_log2, formant_log2=nominal.formant_log2)
        return t

    def target_errors(self, prepared: Prepared, request: EditRequest, cues: Cues) -> dict[str, float]:
        """How far ``cues`` (measured on an output) are from what ``request`` asks, per steered
        cue, in parameter units (semitones, log2 range, log tempo, dB, octaves of formants)."""
        return self._errors(prepared.data, self.params_for(prepared, request), cues)

    def _errors(self, a: Analysis, nominal: Params, cues: Cues) -> dict[str, float]:
        """Distance from target per steered cue, for cues the request actually moves."""
        m = self._measured(a, cues)
        t = self._targets(nominal)
        return {k: abs(m[k] - t[k]) for k in t if k in m and abs(t[k]) > 1e-6}

    def _correct(
        self, a: Analysis, nominal: Params, prev: Params, prev_cues: Cues, step: float, keys: set[str] | None = None
    ) -> Params:
        m = self._measured(a, prev_cues)
        t = self._targets(nominal)
        new = {}
        for k, target in t.items():
            if abs(target) < 1e-6 or k not in m or (keys is not None and k not in keys):
                continue
            err = target - m[k]
            if abs(err) < self.TOL[k]:
                continue
            cur = getattr(prev, k)
            val = cur + 0.85 * step * err
            # bounded: never more than twice the nominal change (plus a little slack)
            lim = 2.0 * abs(target) + self.TOL[k]
            val = min(target + lim, max(target - lim, val))
            new[k] = val
        return prev.with_(**new) if new else prev

    # --- planning ----------------------------------------------------------------------------
    def plan(self, a: Analysis, p: Params, ctx: EditContext, seed: int = 0) -> Plan:
        f0 = a.track.f0
        n = len(f0)
        t = np.arange(n) * FP
        dur_s = a.frames / a.rate
        w = np.ones(n)
        r = max(1, int(round(RAMP_S / FP)))
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
        if ctx.joins_before:
            k = min(r, n)
            w[:k] = np.minimum(w[:k], ramp[:k])
        if ctx.joins_after:
            k = min(r, n)
            w[n - k :] = np.minimum(w[n - k :], ramp[:k][::-1])
        # time map
        pause = ~a.active[:n]
        logd = p.tempo_log + np.where(pause, p.pause_log, 0.0)
        dur = np.exp(w * logd)
        # F0
        voiced = f0 > 0
        out_f0 = np.zeros(n)
        if voiced.any() and math.isfinite(a.median_st):
            st = np.where(voiced, 12 * np.log2(np.where(voiced, f0, 1.0)), 0.0)
            # Range scales the distance from the median; creak far below it and octave slips
            # far above it are scaled as if they were at -7 / +10 st, not pushed further out.
            dev = np.clip(st - a.median_st, -7.0, 10.0)
            delta = p.f0_st + (2**p.range_log2 - 1) * dev
            delta = delta + self._contour(voiced, pause, p.contour_st)
            if p.tremor_cents > 0:
                delta = delta + p.tremor_cents / 100.0 * np.sin(2 * np.pi * 5.5 * t)
            st2 = st + w * delta
            out_f0 = np.where(voiced, 2 ** (st2 / 12), 0.0)
            out_f0 = np.where(voiced, np.clip(out_f0, 40.0, 0.45 * a.rate), 0.0)
        lens = np.full(n, FP)
        if n:
            lens[-1] = max(1e-9, dur_s - (n - 1) * FP)
        keep = bool(ctx.state.get("keep_duration", False))
        if keep and n:
            dur = self._keep_duration(dur, lens, pause, w, dur_s)
        total_out = float(np.sum(lens * dur)) if n else dur_s
        return Plan(
            dur=dur,
            f0=out_f0,
            warp=2 ** (w * p.formant_log2),
            tilt=w * p.tilt_db,
            breath=w * p.breath,
            whisper=w * p.whisper,
            gain_db=w * p.gain_db,
            jitter=w * (p.jitter_cents * math.log(2) / 1200.0),
            shimmer_db=w * p.shimmer_db,
            attack_db=w * p.attack_db,
            out_len=a.frames if keep else max(1, int(round(total_out * a.rate))),
            level_db=p.gain_db,
            warp_split=self.warp_split(p),
        )

    @staticmethod
    def warp_split(p: Params) -> float:
        """The part (0..1, of the log warp) of a formant warp that PSOLA's path renders by
        resampling the source: as much as goes the way of the pitch shift, up to the pitch
        shift itself (a warp of x1.04 with +3.5 st: all of it; x0.88 alone: none)."""
        w_st = 12 * p.formant_log2
        if abs(w_st) < 1e-9 or p.f0_st * w_st <= 0:
            return 0.0
        return min(1.0, abs(p.f0_st) / abs(w_st))

    @staticmethod
    def _keep_duration(dur: np.ndarray, lens: np.ndarray, pause: np.ndarray, w: np.ndarray, total: float) -> np.ndarray:
        """Redistribute a tempo change inside the region so its length is unchanged.

        Pauses absorb the difference first (each pause frame within x0.35..x3 of its planned
        length); whatever they cannot absorb is spread over the speech frames.  Frames in the
        boundary ramps are left as planned.  The result sums to ``total`` exactly.
        """
        dur = dur.copy()
        free = w >= 1.0 - 1e-9
        pz = pause & free
        sp = ~pause & free
        diff = total - float(np.sum(lens * dur))
        if pz.any() and abs(diff) > 1e-12:
            have = float(np.sum(lens[pz] * dur[pz]))
            k = min(3.0, max(0.35, (have + diff) / have))
            dur[pz] *= k
            diff = total - float(np.sum(lens * dur))
        if sp.any() and abs(diff) > 1e-12:
            have = float(np.sum(lens[sp] * dur[sp]))
            dur[sp] *= max(0.05, (have + diff) / have)
        got = float(np.sum(lens * dur))
        return dur * (total / got) if got > 0 else dur

    @staticmethod
    def _contour(voiced: np.ndarray, pause: np.ndarray, amount_st: float) -> np.ndarray:
        """Phrase-final rise/fall: over the last 250 ms of each voiced run that ends a phrase
        (followed by >= 150 ms without voicing, by a pause of >= 150 ms starting within 50 ms,
        or by the end of the region).  The pause counts too because the engine voices
        permissively: a weakly voiced tail or breath after the phrase can leave a voicing gap
        under 150 ms where the speech has clearly paused (LJ001-0004 at 2.8 s: voicing gap
        110 ms, pause 160 ms), and the phrase's accent was then never applied."""
        out = np.zeros(len(voiced))
        if abs(amount_st) < 1e-9:
            return out
        lab, k = scipy.ndimage.label(voiced)
        gap = int(round(0.15 / FP))
        near = int(round(0.05 / FP))
        span = int(round(0.25 / FP))
        plab, _ = scipy.ndimage.label(pause)
        psize = np.bincount(plab.ravel())
        for i in range(1, k + 1):
            idx = np.nonzero(lab == i)[0]
            end = idx[-1]
            nxt = voiced[end + 1 : end + 1 + gap]
            after = plab[end + 1 : end + 1 + near]
            paused = bool(np.any(psize[after[after > 0]] >= gap)) if after.size else False
            if len(nxt) == gap and nxt.any() and not paused:
                continue
            m = min(span, len(idx))
            seg = idx[-m:]
            out[seg] = amount_st * (0.5 - 0.5 * np.cos(np.pi * np.arange(1, m + 1) / m))
        return out

    def _time_maps(self, a: Analysis, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
        """(input times of frame edges, output times of the same edges)."""
        n = len(plan.dur)
        dur_s = a.frames / a.rate
        tin = np.append(np.arange(n) * FP, max(dur_s, (n - 1) * FP + 1e-9))
        seg = np.diff(tin) * plan.dur
        tout = np.concatenate([[0.0], np.cumsum(seg)])
        return tin, tout

    def _sample_times(self, a: Analysis, plan: Plan) -> np.ndarray:
        """The input time (s) of every output sample."""
        tin, tout = self._time_maps(a, plan)
        return np.interp(np.arange(plan.out_len) / a.rate, tout, tin)

    # --- rendering ---------------------------------------------------------------------------
    def _render(self, a: Analysis, p: Params, ctx: EditContext, seed: int) -> Clip:
        plan = self.plan(a, p, ctx, seed)
        ctx.cancel.check()
        y = None
        # The method is chosen for the request's controls at full intensity (ctx.state
        # "method_params"), so one slider sweep never switches method half-way (a switch
        # would make the effect jump, not grow); the closed loop keeps it too.
        basis = ctx.state.get("method_params", p)
        if self.method_for(basis, a.rate, a.clean) == "world":
            y = self._render_world(a, plan, ctx.cancel, seed)
            if not np.all(np.isfinite(y)):
                y = None  # a vocoder failure on odd input: PSOLA keeps the waveform instead
        in_t = self._sample_times(a, plan)  # shared by PSOLA and the level stage
        if y is None:
            y = self._render_psola(a, plan, in_t, ctx.cancel, seed)
        ctx.cancel.check()
        bg = psola.retime_periodic(a.hum, a.hum_period, in_t * a.rate) if a.hum is not None else None
        y = self._level(a, plan, y, in_t, bg)
        # restore the input's scale and DC (see prepare)
        y = y * a.scale
        if a.dc is not None:
            y = y + a.dc[:, None]
        y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
        return Clip(y.T.astype(np.float32), a.rate)

    #: Rendering method per edit, chosen by measurement (``benchmarks/quality.py``,
    #: DistillMOS against the input, Praat for the cues): "psola" = TD-PSOLA for pitch and
    #: timing plus the time-varying filter of :mod:`stepedit_app.audio.shaping` for tilt,
    #: formants, breath and whisper; "world" = the WORLD vocoder.
    METHOD = "auto"

    #: How PSOLA renders a formant warp: "resample" = the source resampled by the warp before
    #: PSOLA (psola.warp_source: the grains carry the warped envelope, PSOLA takes the warp's
    #: pitch change back out); "filter" = a cepstral-envelope ratio in the shaping filter;
    #: "split" (the default) = resampling for the part of the warp that goes the way of the
    #: pitch shift and no further than it (so PSOLA has less pitch change to make, not more),
    #: the filter for the rest (:meth:`warp_split`).  Measured with
    #: ``benchmarks/formant_method.py`` (8 clips x 7 edits, DistillMOS drop): resampling beat the
    #: filter with a pitch shift the same way (happy, angry, deeply, child), the filter beat it
    #: on a warp alone, where resampling makes PSOLA shift the pitch back by the whole warp.
    FORMANT_METHOD = "split"

    #: Pitch shifts (semitones) from which WORLD renders instead of PSOLA (see method_for).
    WORLD_FROM_ST = 5.0

    def method_for(self, p: Params, rate: int = 16000, clean: bool = True) -> str:
        """The rendering method for an edit of a recording, chosen by measurement (DistillMOS
        drop against the input; ``benchmarks/quality.py``).

        PSOLA + filter by default: on 7 clips (studio, Common Voice, FLEURS, VCTK MP3, white
        noise, 8 kHz) x 6 pitch/timing edits it lost less DistillMOS than WORLD in 40 of 42
        cases -- WORLD's identity resynthesis alone costs 0.1-0.8 (0.78 on the CMU male voice),
        and 1.9 at 8 kHz; PSOLA's identity is transparent (-0.1), it keeps noise floors and
        natural jitter, and its whisper (shaped noise) measures as unvoiced.  Low voices too:
        on 8 male recordings (median F0 77-140 Hz) x happy, angry, fear, surprised at 0.5 and
        1.0, PSOLA's mean drop was 0.30 / 0.50 against WORLD's 0.53 / 0.58 (an earlier rule sent
        raises of >= 2 st on voices under 150 Hz to WORLD; it was dropped).
        WORLD only where PSOLA measured worse: pitch moved by >= 5 st (a man made a child or a
        girl: drop 2.0 vs 0.65 at +9 st), where PSOLA's closely re-spaced grains turn buzzy.
        Never below 16 kHz, where WORLD's envelope is too coarse (identity drop 1.9 at 8 kHz),
        nor on recordings with mains hum or under 30 dB between speech and noise floor.
        """
        if self.METHOD != "auto":
            return self.METHOD
        if rate < 16000 or not clean:
            # WORLD re-synthesises noise and hum into the voice (voicing fell to 0.66x on a
            # male voice with 10 dB hum); PSOLA keeps the recording's own waveform
            return "psola"
        if p.f0_st >= self.WORLD_FROM_ST or p.f0_st <= -self.WORLD_FROM_ST:
            return "world"
        return "psola"

    def _render_psola(self, a: Analysis, plan: Plan, in_t: np.ndarray, cancel: CancelLike = None,
                      seed: int = 0) -> np.ndarray:
        """TD-PSOLA for pitch and timing, then the shaping filter; ``in_t`` is the input time
        (s) of every output sample."""
        pm = self._marks(a)
        out_to_in = in_t * a.rate
        fidx = np.minimum((in_t * (1.0 / FP) + 0.5).astype(np.intp), len(plan.f0) - 1)  # nearest frame
        # per-frame values, then gathered per output sample (the frames are few)
        f0 = plan.f0
        src_f0 = a.track.f0[: len(f0)]
        period = np.where(f0 > 0, a.rate / np.maximum(f0, 1e-9), 0.0)[fidx]
        jit = plan.jitter[fidx] if plan.jitter is not None and np.any(plan.jitter > 0) else None
        shim = plan.shimmer_db[fidx] if plan.shimmer_db is not None and np.any(plan.shimmer_db > 0) else None
        checkpoint(cancel)
        ratio = np.where((f0 > 0) & (src_f0 > 0), f0 / np.maximum(src_f0, 1e-9), 1.0)[fidx]
        src, src_pm, src_to_in, src_ratio = a.x, pm, out_to_in, ratio
        warp = plan.warp[fidx]
        split = {"resample": 1.0, "filter": 0.0}.get(self.FORMANT_METHOD, plan.warp_split)
        resampled = split > 0 and np.any(np.abs(plan.warp - 1.0) > 1e-6)
        if resampled:
            # formants move with the grains: resample the source by (part of) the warp, and
            # let PSOLA take that part's pitch change back out; the filter does the rest
            w_frames = plan.warp**split
            w_in = w_frames[np.minimum((np.arange(a.frames) / (a.rate * FP) + 0.5).astype(np.intp), len(plan.warp) - 1)]
            src, tau = psola.warp_source(a.x, w_in, cancel)
            src_pm = psola.warp_marks(pm, tau, w_in)
            src_to_in = np.interp(out_to_in, np.arange(a.frames), tau)
            src_ratio = ratio / w_frames[fidx]
            warp = warp / w_frames[fidx]
            checkpoint(cancel)
        y = psola.synthesize(src, a.rate, src_pm, plan.out_len, src_to_in, period, jit, shim, seed, src_ratio, cancel)
        checkpoint(cancel)
        if resampled and float(np.min(w_frames)) < 0.995:
            # a warp below 1 leaves the band above warp x Nyquist empty (a lowered spectrum
            # has nothing to fill it with): it comes from PSOLA of the unwarped source, whose
            # formants up there hardly matter, through a zero-phase power-complementary split
            y0 = psola.synthesize(a.x, a.rate, pm, plan.out_len, out_to_in, period, jit, shim, seed, ratio, cancel)
            fc = 0.95 * float(np.min(w_frames))
            lo = scipy.signal.butter(8, fc, "low", output="sos")
            hi = scipy.signal.butter(8, fc, "high", output="sos")
            y = scipy.signal.sosfiltfilt(lo, y, axis=1) + scipy.signal.sosfiltfilt(hi, y0, axis=1)
            checkpoint(cancel)
        if not (np.any(plan.tilt) or np.any(np.abs(warp - 1.0) > 1e-6) or np.any(plan.breath) or np.any(plan.whisper)):
            return y  # no voice-quality change
        # voice quality as a time-varying filter on the PSOLA output
        whisper = plan.whisper[fidx]
        tilt = plan.tilt[fidx] * self._tilt_scale(a, plan, y, f0[fidx] > 0)
        return shaping.shape(
            y, a.rate, tilt, warp, plan.breath[fidx], whisper,
            np.where(whisper >= 0.995, 0.0, f0[fidx]), seed, cancel,
        )

    #: Largest factor on a requested tilt when the pitch edit's own tilt change is made up for.
    TILT_MAKEUP_MAX = 2.0

    def _tilt_scale(self, a: Analysis, plan: Plan, y: np.ndarray, voiced: np.ndarray) -> float:
        """Factor on the requested tilt that makes up for the tilt the pitch and timing edit
        already gave ``y`` (the PSOLA output).  Moving the harmonics moves the alpha ratio on
        its own: on a child's voice (330 Hz) sad's narrower range alone raised Praat's tilt by
        4.8 dB, which cancelled its -7 dB.  Both alpha ratios are measured on voiced frames
        (``analysis.spectral_tilt_db``).  Only a side effect *against* the request is made up
        for (factor 1..:data:`TILT_MAKEUP_MAX`): one along it is part of the same voice (a
        raised voice is brighter), and taking it off the request took angry's brightening
        away on the child voice, whose F1 then fell back at full intensity."""
        target = float(plan.tilt[int(np.argmax(np.abs(plan.tilt)))]) if len(plan.tilt) else 0.0
        if abs(target) < 1e-6 or a.silent:
            return 1.0
        hop = int(0.01 * a.rate)  # spectral_tilt_db's frames
        if a.tilt_x is None:
            vin = a.track.f0[np.minimum((np.arange(a.frames // hop + 1) * (0.01 / FP)).astype(int), len(a.track.f0) - 1)] > 0
            a.tilt_x = spectral_tilt_db(a.x, a.rate, vin)
        vout = voiced[np.minimum(np.arange(y.shape[1] // hop + 1) * hop, y.shape[1] - 1)] if y.shape[1] else voiced[:0]
        t_y = spectral_tilt_db(y, a.rate, vout)
        if not (math.isfinite(a.tilt_x) and math.isfinite(t_y)):
            return 1.0
        side = t_y - a.tilt_x
        return float(np.clip((target - side) / target, 1.0, self.TILT_MAKEUP_MAX))

    def _render_world(self, a: Analysis, plan: Plan, cancel: CancelLike = None, seed: int = 0) -> np.ndarray:
        world = self._world(a, cancel)
        n = len(plan.f0)
        tin, tout = self._time_maps(a, plan)
        m = int(math.floor(plan.out_len / a.rate / FP)) + 1
        tau = np.arange(m) * FP
        q = np.clip(np.interp(tau, tout, tin) / FP, 0, n - 1)  # fractional input frame
        i0 = np.floor(q).astype(int)
        i1 = np.minimum(i0 + 1, n - 1)
        fr = (q - i0)[:, None]
        near = np.clip(np.round(q).astype(int), 0, n - 1)
        # F0: voicing from the nearest frame, value interpolated in log where both neighbours voiced
        f0a, f0b = plan.f0[i0], plan.f0[i1]
        both = (f0a > 0) & (f0b > 0)
        f0 = np.where(
            both,
            np.exp(np.log(np.maximum(f0a, 1e-9)) * (1 - fr[:, 0]) + np.log(np.maximum(f0b, 1e-9)) * fr[:, 0]),
            plan.f0[near],
        )
        # Perceived whisper grows faster than the aperiodic share: half a slider is clearly
        # whispery (65 % noise), a full slider removes voicing altogether.
        whisper = 1 - (1 - np.clip(plan.whisper[near], 0, 1)) ** 1.5
        f0 = np.where(whisper >= 0.995, 0.0, f0)
        if plan.jitter is not None and np.any(plan.jitter > 0):
            # WORLD has no cycle-level control: frame-rate F0 perturbation instead, scaled up
            # where a period spans several 5 ms frames (WORLD interpolates F0 between frames,
            # which averages the perturbation over the period).  Independent draws move Praat's
            # jitter (the mean difference of consecutive periods) 2/sqrt(pi) per unit of RMS,
            # PSOLA's alternating cycles 2: sqrt(pi) more here measures the same.
            span = np.sqrt(np.maximum(1.0, 1.0 / (np.maximum(f0, 1.0) * FP))) * math.sqrt(math.pi)
            f0 = f0 * (1.0 + span * plan.jitter[near] * np.random.default_rng(seed).standard_normal(len(f0)))
        warp = plan.warp[near]
        tilt = plan.tilt[near]
        breath = plan.breath[near]
        k = world[0][0].shape[1]
        freqs = np.linspace(0, a.rate / 2, k)
        # Only the steps an edit needs are run (each is an m x k array operation).
        same_frames = bool(np.all(np.abs(q - near) < 1e-9))
        rows = np.arange(m)[:, None]
        warp_on = bool(np.any(np.abs(warp - 1.0) > 1e-6))
        if warp_on:
            # formant warp: sp'(f) = sp(f / warp)
            src = np.arange(k)[None, :] / warp[:, None]
            s0 = np.clip(np.floor(src).astype(int), 0, k - 1)
            s1 = np.clip(s0 + 1, 0, k - 1)
            sf = np.clip(src - s0, 0.0, 1.0)
        tilt_on = bool(np.any(np.abs(tilt) > 1e-6))
        if tilt_on:
            # tilt: +/- tilt dB per two octaves about 1 kHz, on the (natural-log) power envelope
            lf = np.where(tilt[:, None] > 0, shaping.tilt_octaves(freqs)[None, :],
                          shaping.tilt_octaves(freqs, darker=True)[None, :])
            tilt_log = (tilt[:, None] * (math.log(10) / 10)) * lf
        hf = np.clip(freqs / 3000.0, 0, 1)
        breath_w = (0.35 + 0.65 * hf)[None, :] * breath[:, None] if np.any(breath > 0) else None
        # D4C calls creaky and irregular frames largely aperiodic, so WORLD would resynthesise
        # them as noise and the voice would lose its creak (and measured voicing).  Cap the
        # aperiodicity of voiced frames below 2 kHz: they stay pulses at their own (low) F0.
        ap_cap = np.where((f0 > 0)[:, None] & (freqs < 2000.0)[None, :], 0.5, 1.0)
        # Unvoiced frames (and full whisper) are not left to WORLD, whose unvoiced noise comes
        # in bursts every 2 ms that Praat hears as a 500 Hz "voice"; they are shaped noise
        # (audio.noise), crossfaded over 15 ms with WORLD's voiced frames.
        uv = scipy.ndimage.uniform_filter1d((f0 <= 0).astype(float), 3, mode="nearest")
        whisper_on = bool(np.any(whisper > 0))
        if whisper_on:
            sigma_bins = max(1.0, 250.0 / (freqs[1] - freqs[0]))
            low_cut = -(math.log(10) / 10) * 6.0 * np.clip((500.0 - freqs) / 400.0, 0.0, 1.0)
        outs = []
        for lsp_in, ap in world:
            if same_frames:
                lsp = lsp_in[near]
                api = ap[near]
            else:
                lsp = lsp_in[i0] * (1 - fr) + lsp_in[i1] * fr
                api = ap[i0] * (1 - fr) + ap[i1] * fr
            np.minimum(api, ap_cap, out=api)
            if warp_on:
                lsp = lsp[rows, s0] * (1 - sf) + lsp[rows, s1] * sf
            if tilt_on:
                lsp = lsp + tilt_log
            if whisper_on:
                # A whisper has no glottal source: little energy below ~600 Hz and broad,
                # damped resonances.  Narrow formant peaks excited by noise ring like a tone
                # (Praat voices them); broadened, they sound and measure as breath.
                wsm = scipy.ndimage.gaussian_filter1d(lsp, sigma_bins, axis=1, mode="nearest") + low_cut[None, :]
                lsp = lsp + whisper[:, None] * (wsm - lsp)
            sp2 = np.exp(lsp)
            if breath_w is not None:
                api = api + (1 - api) * breath_w
            if np.any(whisper > 0):
                api = api + (1 - api) * whisper[:, None]
            ap2 = np.clip(api, 0.0, 1.0)
            y = self._synthesize(f0, sp2 * np.maximum(1.0 - uv, 1e-8)[:, None], ap2, a.rate, cancel)
            if len(y) < plan.out_len:
                y = np.pad(y, (0, plan.out_len - len(y)))
            y = y[: plan.out_len]
            if np.any(uv > 0):
                # same seed on every channel: identical channels stay identical
                y = y + NOISE_MATCH * shaped_noise(sp2 * uv[:, None], a.rate, FRAME_PERIOD_MS, plan.out_len, 7, cancel)
            outs.append(y)
        return np.vstack(outs)

    @staticmethod
    def _synthesize(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, rate: int, cancel: CancelLike = None) -> np.ndarray:
        """WORLD synthesis in pieces of about ``WORLD_CHUNK_S``, cut where the voice is
        unvoiced for at least 3 frames (the pulse train restarts cleanly there), with a cancel
        point between pieces.  A voiced stretch longer than a piece stays whole."""
        n = len(f0)
        step = max(1, int(round(WORLD_CHUNK_S / FP)))
        cuts = [0]
        uv = f0 <= 0
        run = np.convolve(uv.astype(int), np.ones(3, int), mode="same") == 3
        i = step
        while i < n - 1:
            j = i + int(np.argmax(run[i:])) if run[i:].any() else n
            if j >= n - 1:
                break
            cuts.append(j)
            i = j + step
        cuts.append(n)
        hop = int(round(rate * FP))
        pieces = []
        for c0, c1 in zip(cuts[:-1], cuts[1:]):
            checkpoint(cancel)
            y = pyworld.synthesize(
                np.ascontiguousarray(f0[c0:c1]), np.ascontiguousarray(sp[c0:c1]), np.ascontiguousarray(ap[c0:c1]),
                rate, FRAME_PERIOD_MS,
            )
            want = (c1 - c0) * hop
            pieces.append(y[:want] if len(y) >= want else np.pad(y, (0, want - len(y))))
        return np.concatenate(pieces) if pieces else np.zeros(0)

    @staticmethod
    def _limit(y: np.ndarray, ceiling: float, rate: int) -> np.ndarray:
        """Peaks brought under ``ceiling`` by a gain that looks 5 ms ahead and back (the same
        gain on every channel)."""
        env = np.max(np.abs(y), axis=0)
        need = np.minimum(1.0, ceiling / np.maximum(env, 1e-12))
        win = max(1, int(0.005 * rate))
        g = scipy.ndimage.minimum_filter1d(need, 2 * win + 1)
        g = scipy.ndimage.uniform_filter1d(g, 2 * win + 1)
        return y * np.minimum(g, need)[None, :]

    def _level(self, a: Analysis, plan: Plan, y: np.ndarray, in_t: np.ndarray,
               bg: np.ndarray | None = None) -> np.ndarray:
        """Gain changes and onsets, loudness matched to the input plus the requested change,
        the background ``bg`` (re-timed hum, unchanged in level) added, then peaks limited;
        ``in_t`` is the input time (s) of every output sample."""
        frame_t = np.arange(len(plan.gain_db)) * FP
        g_db = np.interp(in_t, frame_t, plan.gain_db) if np.any(plan.gain_db) else None
        if plan.attack_db is not None and np.any(plan.attack_db > 0):
            onset = onset_gain_db(y.mean(axis=0), a.rate, np.interp(in_t, frame_t, plan.attack_db))
            g_db = onset if g_db is None else g_db + onset
        if g_db is not None:
            y = y * 10 ** (g_db / 20)[None, :]
        target = a.loudness_a + plan.level_db
        # Peak ceiling in analysis units: -1 dBFS once restored (DC included).
        dc = float(np.max(np.abs(a.dc))) if a.dc is not None and a.dc.size else 0.0
        ceiling = max(PEAK_CEILING - dc, 1e-3) / a.scale
        # Loudness matched, then peaks limited; limiting lowers the loudness a little, so the
        # match and the limit run once more when it had to act.
        voice = y
        for _ in range(2):
            got = loudness_lufs(voice.T, a.rate)
            if math.isfinite(got) and math.isfinite(target):
                voice = voice * 10 ** (np.clip(target - got, -24, 24) / 20)
            y = voice if bg is None else voice + bg * 10 ** (plan.level_db / 20)
            peak = np.max(np.abs(y)) if y.size else 0.0
            if peak <= ceiling:
                break
            if peak > 2.0 * ceiling and a.in_peak > 1.0:
                # A source over full scale (float overs: the render peaks more than 6 dB over)
                # is brought under the ceiling by one uniform gain, not by tens of dB of
                # limiting; a normal source made louder by the edit (shout, angry) keeps its
                # loudness and is limited.
                return y * (ceiling / peak)
            y = voice = self._limit(y, ceiling, a.rate)
            bg = None
        return y
