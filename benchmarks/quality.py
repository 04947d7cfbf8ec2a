"""What the embedded ``prosody`` engine does to the cues, and what it costs in naturalness.

For every control the engine offers (``ProsodyEngine().capabilities()``: emotions, styles,
speed) at intensities 0.25, 0.5 and 1.0, on three real clips (LJ Speech female 22.05 kHz, CMU
ARCTIC aew male and axb female 16 kHz), a whole-clip edit with ``iterations=2`` through
:class:`~stepedit_app.session.session.EditSession`; prints for the last take:

- the project's cue deltas (``take.deltas``): F0 level (st), F0 range (st), tempo (% faster),
  loudness (LU), spectral tilt (dB), voiced fraction (absolute), F1 and F2 (%);
- DNSMOS P.835 (``speechmos``, Microsoft's DNS Challenge ONNX models, 16 kHz input) of input
  and output: OVRL, SIG, BAK, and the OVRL drop.  Summary: mean and worst OVRL drop at
  intensity 0.5 (aim <= 0.3);
- anomalies: a cue moving against the direction the control asks for, or an effect that is
  not monotone across intensities.

A second table renders the same pitch/timing edit (F0 +3 st, range x1.3, tempo x0.9) with
both methods, ``engine._render_psola`` and ``engine._render_world`` on the same plan, plus each
method's identity resynthesis, and scores each with DNSMOS: the measurement behind the engine's
choice of method.

Usage::

    .venv/bin/python benchmarks/quality.py [--quick] [--json PATH]

``--quick``: intensities 0.5 and 1.0 on the LJ clip only.  Needs the ``bench`` extra
(``speechmos``, ``onnxruntime``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stepedit_app.audio.analysis import cue_deltas, measure_cues  # noqa: E402
from stepedit_app.audio.clip import Clip  # noqa: E402
from stepedit_app.engines.base import EditContext  # noqa: E402
from stepedit_app.engines.controls import EditRequest  # noqa: E402
from stepedit_app.engines.prosody.engine import ProsodyEngine  # noqa: E402
from stepedit_app.engines.prosody.profiles import Params  # noqa: E402
from stepedit_app.session.session import EditSession  # noqa: E402

DATA_DIRS = {
    "LJ001-0004 (F, 22k)": ("/work/shared/data/speech/ljspeech/LJ001-0004.wav", "LJ001-0004.wav"),
    "aew_a0001 (M, 16k)": (
        "/work/shared/data/speech/cmu_arctic/cmu_arctic_us_aew_a0001.wav",
        "cmu_arctic_us_aew_a0001.wav",
    ),
    "axb_a0004 (F, 16k)": (
        "/work/shared/data/speech/cmu_arctic/cmu_arctic_us_axb_a0004.wav",
        "cmu_arctic_us_axb_a0004.wav",
    ),
}
CUES = ("f0_st", "range_st", "tempo_pct", "loudness_lu", "tilt_db", "voiced_fraction", "f1_pct", "f2_pct")
CUE_HEAD = ("F0st", "rngst", "tmpo%", "LU", "tilt", "vfrac", "F1%", "F2%")
INTENSITIES = (0.25, 0.5, 1.0)
DROP_AIM = 0.3
PITCH_EDIT = Params(f0_st=3.0, range_log2=math.log2(1.3), tempo_log=math.log(0.9))
#: Tolerances under which a cue's movement counts as "no movement" (measurement noise).
NOISE = {
    "f0_st": 0.3,
    "range_st": 0.5,
    "tempo_pct": 3.0,
    "loudness_lu": 0.5,
    "tilt_db": 0.7,
    "f1_pct": 2.0,
    "f2_pct": 2.0,
}


def load(name: str) -> Clip:
    shared, local = DATA_DIRS[name]
    path = Path(shared) if Path(shared).exists() else ROOT / "tests" / "data" / local
    x, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return Clip(x, rate, path)


_DNSMOS = None


def dnsmos(clip: Clip) -> dict[str, float]:
    """DNSMOS P.835 (OVRL, SIG, BAK) of a clip's mono mix, resampled to 16 kHz."""
    global _DNSMOS
    if _DNSMOS is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from speechmos import dnsmos as mod
        except ImportError as exc:  # pragma: no cover - depends on the bench extra
            raise SystemExit(f"DNSMOS needs the bench extra (speechmos, onnxruntime): {exc}") from None
        _DNSMOS = mod
    x = clip.mono()
    if clip.rate != 16000:
        g = math.gcd(16000, clip.rate)
        x = resample_poly(x, 16000 // g, clip.rate // g)
    x = np.clip(x, -1.0, 1.0).astype(np.float32)
    r = _DNSMOS.run(x, sr=16000)
    return {"ovrl": float(r["ovrl_mos"]), "sig": float(r["sig_mos"]), "bak": float(r["bak_mos"])}


def expected(p: Params) -> dict[str, float]:
    """Direction (sign) each cue should move for nominal parameters ``p`` (0 = not asked)."""
    return {
        "f0_st": np.sign(p.f0_st) if abs(p.f0_st) >= 0.25 else 0.0,
        "range_st": np.sign(p.range_log2) if abs(p.range_log2) >= 0.05 else 0.0,
        "tempo_pct": -np.sign(p.tempo_log) if abs(p.tempo_log) >= 0.03 else 0.0,
        "loudness_lu": np.sign(p.gain_db) if abs(p.gain_db) >= 0.5 else 0.0,
        "tilt_db": np.sign(p.tilt_db) if abs(p.tilt_db) >= 0.5 else 0.0,
        "f1_pct": np.sign(p.formant_log2) if abs(p.formant_log2) >= 0.02 else 0.0,
        "f2_pct": np.sign(p.formant_log2) if abs(p.formant_log2) >= 0.02 else 0.0,
    }


def fmt(v: float | None, nd: int = 1) -> str:
    return "  -" if v is None or not math.isfinite(v) else f"{v:+.{nd}f}"


def run_controls(clips: list[str], intensities: tuple[float, ...], iterations: int) -> list[dict]:
    eng = ProsodyEngine()
    caps = eng.capabilities()
    controls = (
        [("emotion", n) for n in caps.emotions]
        + [("style", n) for n in caps.styles]
        + [("speed", n) for n in caps.speed]
    )
    rows: list[dict] = []
    for name in clips:
        clip = load(name)
        session = EditSession(clip, eng)
        prepared = session.prepare(None)
        mos_in = dnsmos(clip)
        print(
            f"\n{name}: {clip.duration:.2f} s, input DNSMOS OVRL {mos_in['ovrl']:.2f} SIG {mos_in['sig']:.2f} "
            f"BAK {mos_in['bak']:.2f}   (deltas of iteration {iterations}; dOVRL = output - input)"
        )
        print(
            f"  {'control':<17}{'int':>5} "
            + "".join(f"{h:>7}" for h in CUE_HEAD)
            + f"{'OVRL':>7}{'dOVRL':>7}{'dSIG':>7}{'dBAK':>7}{'ms':>7}"
        )
        for group, ctrl in controls:
            for v in intensities:
                req = EditRequest(
                    **{{"emotion": "emotions", "style": "styles", "speed": "speed"}[group]: {ctrl: v}},
                    iterations=iterations,
                )
                t0 = time.perf_counter()
                takes = session.run(req)
                ms = (time.perf_counter() - t0) * 1e3
                take = takes[-1]
                d = take.deltas or {}
                mos = dnsmos(take.segment)
                nominal = eng.params_for(prepared, req)
                row = {
                    "clip": name,
                    "group": group,
                    "control": ctrl,
                    "intensity": v,
                    "deltas": {k: d.get(k) for k in CUES},
                    "dnsmos_in": mos_in,
                    "dnsmos_out": mos,
                    "ovrl_drop": mos_in["ovrl"] - mos["ovrl"],
                    "render_ms": ms,
                    "method": "WORLD" if nominal.needs_vocoder() else "PSOLA",
                    "expected_sign": expected(nominal),
                }
                rows.append(row)
                cells = "".join(f"{fmt(d.get(k), 2 if k == 'voiced_fraction' else 1):>7}" for k in CUES)
                print(
                    f"  {ctrl + ('*' if row['method'] == 'WORLD' else ''):<17}{v:>5.2f} {cells}"
                    f"{mos['ovrl']:>7.2f}{mos['ovrl'] - mos_in['ovrl']:>+7.2f}{mos['sig'] - mos_in['sig']:>+7.2f}"
                    f"{mos['bak'] - mos_in['bak']:>+7.2f}{ms:>7.0f}"
                )
        session.takes = type(session.takes)()  # drop the takes' audio
    print("  (* = rendered with WORLD; otherwise PSOLA)")
    return rows


def anomalies(rows: list[dict]) -> list[str]:
    out: list[str] = []
    by: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by.setdefault((r["clip"], r["control"]), []).append(r)
        for k, sgn in r["expected_sign"].items():
            d = r["deltas"].get(k)
            if sgn and d is not None and math.isfinite(d) and d * sgn < -NOISE[k]:
                out.append(
                    f"wrong way   {r['control']:<10} {r['intensity']:.2f} {r['clip']:<20} {k} {d:+.1f} (asked {'+' if sgn > 0 else '-'})"
                )
        if r["ovrl_drop"] > 0.5:
            out.append(
                f"big drop    {r['control']:<10} {r['intensity']:.2f} {r['clip']:<20} OVRL -{r['ovrl_drop']:.2f}"
            )
    for (clip, ctrl), rs in by.items():
        rs = sorted(rs, key=lambda r: r["intensity"])
        if len(rs) < 2:
            continue
        for k, sgn in rs[-1]["expected_sign"].items():
            if not sgn:
                continue
            vals = [r["deltas"].get(k) for r in rs]
            if any(v is None or not math.isfinite(v) for v in vals):
                continue
            signed = [v * sgn for v in vals]
            if any(b < a - NOISE[k] for a, b in zip(signed, signed[1:])):
                out.append(
                    f"non-monot.  {ctrl:<10} {clip:<25} {k}: "
                    + ", ".join(f"{r['intensity']:.2f}->{v:+.1f}" for r, v in zip(rs, vals))
                )
        drops = [r["ovrl_drop"] for r in rs]
        if any(b < a - 0.25 for a, b in zip(drops, drops[1:])):
            out.append(
                f"non-monot.  {ctrl:<10} {clip:<25} OVRL drop: "
                + ", ".join(f"{r['intensity']:.2f}->{d:.2f}" for r, d in zip(rs, drops))
            )
    return out


def compare_methods(clips: list[str]) -> list[dict]:
    """Same plan, both renderers; identity resynthesis of each for the method's floor."""
    eng = ProsodyEngine()
    out: list[dict] = []
    print(
        "\nRender method on the same plan: pitch/timing edit (F0 +3 st, range x1.3, tempo x0.9) and "
        "identity (no edit)"
    )
    print(
        f"  {'clip':<20}{'render':<18}{'OVRL':>7}{'SIG':>7}{'BAK':>7}{'dOVRL':>7}{'F0st':>7}{'rngst':>7}{'tmpo%':>7}{'vfrac':>7}"
    )
    for name in clips:
        clip = load(name)
        prepared = eng.prepare(clip)
        a = prepared.data
        mos_in = dnsmos(clip)
        print(f"  {name:<20}{'input':<18}{mos_in['ovrl']:>7.2f}{mos_in['sig']:>7.2f}{mos_in['bak']:>7.2f}")
        for label, p in (("identity", Params()), ("pitch edit", PITCH_EDIT)):
            plan = eng.plan(a, p, EditContext(1, 1), 0)
            for method, fn in (("PSOLA", eng._render_psola), ("WORLD", eng._render_world)):
                y = eng._level(a, plan, fn(a, plan))
                res = Clip(y.T.astype(np.float32), a.rate)
                mos = dnsmos(res)
                d = cue_deltas(a.cues, measure_cues(res))
                out.append(
                    {
                        "clip": name,
                        "edit": label,
                        "method": method,
                        "dnsmos": mos,
                        "dnsmos_in": mos_in,
                        "deltas": d,
                    }
                )
                print(
                    f"  {'':<20}{method + ' ' + label:<18}{mos['ovrl']:>7.2f}{mos['sig']:>7.2f}{mos['bak']:>7.2f}"
                    f"{mos['ovrl'] - mos_in['ovrl']:>+7.2f}{fmt(d['f0_st']):>7}{fmt(d['range_st']):>7}"
                    f"{fmt(d['tempo_pct']):>7}{fmt(d['voiced_fraction'], 2):>7}"
                )
    return out


def summarize(rows: list[dict]) -> dict:
    summary: dict = {}
    print("\nSummary (OVRL drop = input - output; aim <= 0.3 at intensity 0.5)")
    for v in sorted({r["intensity"] for r in rows}):
        rs = [r for r in rows if r["intensity"] == v]
        drops = [r["ovrl_drop"] for r in rs]
        worst = max(rs, key=lambda r: r["ovrl_drop"])
        over = sorted({r["control"] for r in rs if r["ovrl_drop"] > DROP_AIM})
        summary[str(v)] = {
            "mean_drop": statistics.mean(drops),
            "worst_drop": worst["ovrl_drop"],
            "worst": f"{worst['control']} on {worst['clip']}",
            "over_aim": over,
        }
        mark = ("  <- " + ("OK" if max(drops) <= DROP_AIM else "over aim")) if v == 0.5 else ""
        print(
            f"  intensity {v:.2f}: mean drop {statistics.mean(drops):.2f}, worst {worst['ovrl_drop']:.2f} "
            f"({worst['control']}, {worst['clip']}){mark}"
        )
        if over:
            print(f"      controls with a drop > {DROP_AIM} on some clip: {', '.join(over)}")
    for method in ("PSOLA", "WORLD"):
        rs = [r for r in rows if r["method"] == method and r["intensity"] == 0.5]
        if rs:
            print(
                f"  intensity 0.50, {method} controls: mean drop {statistics.mean(r['ovrl_drop'] for r in rs):.2f} (n={len(rs)})"
            )
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="intensities 0.5 and 1.0 on the LJ clip only")
    ap.add_argument("--json", metavar="PATH", help="also save all figures as JSON")
    ap.add_argument("--iterations", type=int, default=2)
    args = ap.parse_args(argv)
    clips = list(DATA_DIRS)[:1] if args.quick else list(DATA_DIRS)
    intensities = (0.5, 1.0) if args.quick else INTENSITIES
    t0 = time.perf_counter()
    print(
        f"StepEdit prosody engine quality: {len(clips)} clip(s), intensities {intensities}, iterations={args.iterations}"
    )
    rows = run_controls(clips, intensities, args.iterations)
    methods = compare_methods(clips)
    summary = summarize(rows)
    found = anomalies(rows)
    print(f"\nAnomalies ({len(found)}; tolerances {NOISE})")
    for line in found:
        print("  " + line)
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")
    if args.json:

        def clean(o):
            if isinstance(o, dict):
                return {k: clean(v) for k, v in o.items()}
            if isinstance(o, (list, tuple)):
                return [clean(v) for v in o]
            if isinstance(o, (float, np.floating)):
                return float(o) if math.isfinite(o) else None
            return o

        Path(args.json).write_text(
            json.dumps(
                clean({"controls": rows, "methods": methods, "summary": summary, "anomalies": found}),
                indent=1,
            )
        )
        print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
