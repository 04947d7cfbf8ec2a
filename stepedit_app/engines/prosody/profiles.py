"""Emotion and style profiles: what each control does at intensity 1.0, in log units.

Figures start from ../shared/design/CUES.md (emofilt, MaryTTS, Schröder 2001, Rutledge 1995,
Peterson & Barney 1952, Swerdlin 2010) and were then tuned on real speech by measuring the
cues of the result and looking at spectrograms and pitch tracks.  The rule sets were built for
diphone synthesis and deliberately exaggerated; on natural recordings full intensity lands near
half of their larger figures (e.g. happy: emofilt +7 st -> +3.5 st here).

Cues combine roughly additively (Juslin & Laukka 2003), so several sliders blend by adding
``intensity * profile`` in log units (semitones, log duration, dB, octaves of formant warp).
Breathiness and whisper combine as independent probabilities (1 - prod(1 - b)), so two breathy
controls never exceed a full whisper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np


@dataclass(frozen=True)
class Params:
    """One edit's parameters (all zero = no change)."""

    f0_st: float = 0.0  # F0 level shift, semitones
    range_log2: float = 0.0  # F0 range factor, log2 (1.0 = twice the range)
    contour_st: float = 0.0  # phrase-final rise (+) or fall (-), semitones
    jitter_cents: float = 0.0  # cycle-to-cycle period perturbation (RMS cents; Praat's jitter)
    shimmer_db: float = 0.0  # cycle-to-cycle amplitude perturbation (RMS dB; Praat's shimmer)
    tremor_cents: float = 0.0  # 5.5 Hz F0 modulation depth (cents)
    tempo_log: float = 0.0  # speech duration factor, natural log (>0 slower)
    pause_log: float = 0.0  # extra pause duration factor on top of tempo, natural log
    formant_log2: float = 0.0  # spectral envelope warp, octaves (>0 raises formants)
    tilt_db: float = 0.0  # spectral tilt change (alpha ratio, dB; >0 flatter = more effort)
    breath: float = 0.0  # 0..1 aperiodicity raised towards breathy
    whisper: float = 0.0  # 0..1 voicing removed (1 = full whisper)
    gain_db: float = 0.0  # level change, dB
    attack_db: float = 0.0  # onset sharpening: extra gain at syllable onsets, dB (audio.dynamics)

    def __add__(self, other: Params) -> Params:
        vals = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            vals[f.name] = 1 - (1 - a) * (1 - b) if f.name in ("breath", "whisper") else a + b
        return Params(**vals)

    def scaled(self, k: float) -> Params:
        return Params(**{f.name: getattr(self, f.name) * k for f in fields(self)})

    def is_zero(self) -> bool:
        return all(abs(getattr(self, f.name)) < 1e-9 for f in fields(self))

    def with_(self, **kw: float) -> Params:
        return replace(self, **kw)


# Speaker-relative targets: a few styles aim at an absolute voice (a child's F0 is ~280 Hz
# whatever the source), so their F0 shift depends on the source's median F0.
@dataclass(frozen=True)
class Toward:
    """Shift F0 towards ``hz`` (clamped to [min_st, max_st] semitones)."""

    hz: float
    min_st: float
    max_st: float

    def shift(self, median_hz: float) -> float:
        if not math.isfinite(median_hz) or median_hz <= 0:
            return 0.5 * (self.min_st + self.max_st)
        return min(self.max_st, max(self.min_st, 12 * math.log2(self.hz / median_hz)))


L = math.log
L2 = math.log2

EMOTION_PROFILES: dict[str, Params] = {
    # Happy: higher and wider pitch, rising accents, faster, a little louder and brighter,
    # smiling (formants +4 %; emofilt uses +10 %).
    "happy": Params(f0_st=3.5, range_log2=L2(1.45), contour_st=1.2, tempo_log=L(0.96), pause_log=L(0.9),
                    formant_log2=L2(1.04), tilt_db=2.0, gain_db=2.0),
    # Sad: lower, narrow, slow with longer pauses, soft, dull (steeper tilt), breathy, falling.
    "sad": Params(f0_st=-1.5, range_log2=L2(0.6), contour_st=-1.0, tempo_log=L(1.2),
                  pause_log=L(1.3), tilt_db=-7.0, gain_db=-3.0),
    # Hot anger: raised, wide, falling accents, faster, much more vocal effort.
    "angry": Params(f0_st=2.0, range_log2=L2(1.3), contour_st=-2.5, tempo_log=L(0.95), attack_db=5.0,
                    pause_log=L(0.85), formant_log2=L2(1.03), tilt_db=5.5, gain_db=4.0),
    # Fear: high, irregular (jitter + tremor), fast with long pauses, breathy, final rises.
    "fear": Params(f0_st=3.5, range_log2=L2(1.25), contour_st=2.0, tremor_cents=25,
                   tempo_log=L(0.93), pause_log=L(1.6), breath=0.02, gain_db=0.0),
    # Surprise: up and much wider, steep rises, a little faster, louder, breathy.
    "surprised": Params(f0_st=3.5, range_log2=L2(1.45), contour_st=2.5, tempo_log=L(0.97),
                        tilt_db=1.5, breath=0.02, gain_db=2.0),
    # Disgust: much lower, slightly wider, much slower, softer, grumbled chest tone, falling.
    "disgusted": Params(f0_st=-2.5, range_log2=L2(1.15), contour_st=-2.0, tempo_log=L(1.3),
                        pause_log=L(1.2), formant_log2=L2(0.97), tilt_db=-1.5, gain_db=-1.5),
    # Excited: high arousal joy: higher, wider, faster, louder, brighter.
    "excited": Params(f0_st=4.5, range_log2=L2(1.7), contour_st=1.5, tempo_log=L(0.92), pause_log=L(0.8),
                      formant_log2=L2(1.03), tilt_db=3.0, gain_db=3.0),
    # Depressed: sadness at low arousal: low, flat, slow, soft, dull, breathy.
    "depressed": Params(f0_st=-2.0, range_log2=L2(0.55), contour_st=-1.0, tempo_log=L(1.25),
                        pause_log=L(1.4), tilt_db=-7.5, gain_db=-4.0),
    # Coldness (boredom / cold): lower, monotone, a little slower, soft.
    "coldness": Params(f0_st=-1.5, range_log2=L2(0.5), contour_st=-0.5, tempo_log=L(1.1), tilt_db=-0.5,
                       gain_db=-1.0),
    # Empathy (tenderness): slightly low, little variability, slow, soft, little HF energy.
    "empathy": Params(f0_st=-0.5, range_log2=L2(0.85), contour_st=-0.8, tempo_log=L(1.12), pause_log=L(1.1),
                      tilt_db=-3.0, breath=0.15, gain_db=-2.0),
}

STYLE_PROFILES: dict[str, Params] = {
    # Whisper: no voicing, resonances up (R1 +255 Hz), consonants longer, much lower level.
    "whisper": Params(whisper=1.0, formant_log2=L2(1.07), tempo_log=L(1.06), gain_db=-10.0),
    # Shout: F0 up (Rutledge x1.78 -> +5 st here), much louder, flatter tilt, vowels longer.
    "shout": Params(f0_st=5.0, range_log2=L2(1.2), tempo_log=L(1.06), formant_log2=L2(1.04), tilt_db=6.0,
                    gain_db=6.0),
    # Loudly: Lombard-like: F0 x1.16 (+2.5 st), louder, flatter tilt.
    "loudly": Params(f0_st=2.5, range_log2=L2(1.1), tilt_db=3.5, gain_db=4.0),
    # Murmur: low, narrow, soft and breathy, steep tilt, a little slower.
    "murmur": Params(f0_st=-1.0, range_log2=L2(0.7), tempo_log=L(1.1), tilt_db=-4.0, breath=0.4, gain_db=-6.0),
    # Gentle (Rutledge soft): F0 x0.97, steeper tilt (x1.18), consonants longer, softer.
    "gentle": Params(f0_st=-0.5, range_log2=L2(0.8), contour_st=-0.5, tempo_log=L(1.1), tilt_db=-3.0,
                     breath=0.1, gain_db=-3.0),
    # Child: F0 towards ~280 Hz; formants scaled by source (see FORMANT_TOWARD).
    "child": Params(range_log2=L2(1.15), tempo_log=L(1.03)),
    # Girl: F0 towards ~240 Hz, formants x1.10 (Praat "change gender" default).
    "girl": Params(formant_log2=L2(1.10), range_log2=L2(1.1)),
    # Older: jitter (alternating long and short cycles, psola.synthesize) and tremor,
    # breathier, slower, F0 towards 170 Hz (falls for women, rises for men), narrower range.
    "older": Params(range_log2=L2(0.85), jitter_cents=20, shimmer_db=0.4, tremor_cents=15, tempo_log=L(1.05),
                    pause_log=L(1.15), tilt_db=-1.5, breath=0.04, gain_db=-1.0),
    # Deeply: formants x0.88, F0 down, a little darker.
    "deeply": Params(f0_st=-2.5, formant_log2=L2(0.88), tilt_db=-1.0, gain_db=1.0),
    # Serious: lower, narrower, steady, falling accents, firm.
    "serious": Params(f0_st=-1.0, range_log2=L2(0.75), contour_st=-1.0, tempo_log=L(1.05), tilt_db=0.5,
                      gain_db=0.5),
}

#: Speaker-relative F0 targets added on top of the profile.
TOWARD: dict[tuple[str, str], Toward] = {
    ("style", "child"): Toward(280.0, 2.0, 10.0),
    ("style", "girl"): Toward(235.0, 1.0, 9.0),
    ("style", "older"): Toward(170.0, -2.0, 1.5),
}

#: Speaker-relative formant scaling: (median F0 of a typical male, factor from a male voice),
#: (median F0 of a typical female, factor from a female voice); interpolated in between.
#: Peterson & Barney 1952: child formants are x1.16 an adult woman's and x1.35 an adult man's
#: (x1.20 / x1.30 here: the female figure is raised because LPC under-reads F2 shifts when F0
#: rises at the same time, the male one lowered for naturalness).
FORMANT_TOWARD: dict[tuple[str, str], tuple[tuple[float, float], tuple[float, float]]] = {
    ("style", "child"): ((120.0, 1.30), (210.0, 1.20)),
}

SPEED_PROFILES: dict[str, Params] = {
    "faster": Params(tempo_log=L(0.72)),
    "slower": Params(tempo_log=L(1.8), pause_log=L(1.1)),
}

PROFILES: dict[str, dict[str, Params]] = {
    "emotion": EMOTION_PROFILES,
    "style": STYLE_PROFILES,
    "speed": SPEED_PROFILES,
}


PERTURBATION_EXPONENT = 0.35


def blend(controls: list[tuple[str, str, float]], median_hz: float) -> Params:
    """Mix ``(group, name, intensity)`` controls into one :class:`Params`.

    Intensity scales each profile linearly in log units (CUES.md: the simplest monotone map).
    """
    total = Params()
    for group, name, v in controls:
        if v <= 0:
            continue
        p = PROFILES[group][name].scaled(v)
        # Cycle-to-cycle perturbation adds to the voice's own in quadrature (Praat's local
        # jitter/shimmer of the result ~ sqrt(own^2 + added^2)), and PSOLA's repeated grains
        # even lower it a little on a raised voice, so a perturbation linear in the slider would
        # be invisible at low settings; v^0.35 makes the measured excess grow about linearly.
        k = v**PERTURBATION_EXPONENT
        p = p.with_(jitter_cents=PROFILES[group][name].jitter_cents * k,
                    shimmer_db=PROFILES[group][name].shimmer_db * k)
        tw = TOWARD.get((group, name))
        if tw is not None:
            p = p.with_(f0_st=p.f0_st + v * tw.shift(median_hz))
        ft = FORMANT_TOWARD.get((group, name))
        if ft is not None:
            (m_hz, m_k), (f_hz, f_k) = ft
            hz = median_hz if math.isfinite(median_hz) and median_hz > 0 else 0.5 * (m_hz + f_hz)
            k = float(np.interp(hz, [m_hz, f_hz], [m_k, f_k]))
            p = p.with_(formant_log2=p.formant_log2 + v * math.log2(k))
        total = total + p
    return total
