"""Smoke benchmark of the Step-Audio-EditX engine: one edit per control on a clip.

For a user with an NVIDIA GPU, the model environment and the weights (``stepedit setup
step-audio``; ``stepedit doctor`` all ok).  For every control (each emotion, each style,
faster, slower, denoise, silence removal, paralinguistic) it makes one whole-clip edit at
intensity 1 with a fixed seed and prints:

* **client s**: the take's time in the editor process (``EditSession`` iteration: writing the
  model's input WAV, the request, the worker's call, reading and resampling the output), and
  **RTF** = client s / clip seconds;
* **call s**: the official ``StepAudioTTS.edit()`` call alone, timed inside the worker;
* **direct s**: the same call with the same input and seed, made by a separate process that
  imports the official code and calls it directly (no StepEdit protocol, files or threads):
  the baseline "calling the official API directly in the same process";
* **overhead**: (client s - direct s) / direct s, and (client s - call s) / call s; target
  <= 5 % (the sampling model's run time varies a little even with a seed, so the second
  figure, measured on the very same call, is the steadier one);
* **peak VRAM**: peak GPU memory PyTorch allocated in the worker during the call, and the
  device's memory in use after it (all processes: on v2 the LLM lives in vLLM's engine process);
* **align**: the morph's alignment cost of the pass (output vs input), and whether it would
  be kept at partial intensity (ok) or whole (FULL): real passes calibrate
  ``stepedit_app/audio/morph.py``'s thresholds.

The direct phase runs first and exits before the worker starts, so both never hold the model at
once.  ``--standin`` runs the same script against the stand-in source tree the tests use (CPU,
no weights): it proves the script and the plumbing work, and its figures say nothing about the
model.  The output says which it was.

Usage::

    .venv/bin/python benchmarks/step_audio_smoke.py CLIP --text "what CLIP says" [--controls quick]
    .venv/bin/python benchmarks/step_audio_smoke.py --standin [--controls quick]

``--controls`` is ``all`` (default, 51 edits), ``quick`` (happy, sad, whisper, child, faster,
slower, denoise, vad, paralinguistic) or a comma list (``happy,whisper,denoise``).  ``--check``
exits 1 when the median overhead is above 5 % (real model only) or any edit failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "stepedit_app" / "engines" / "step_audio" / "worker.py"
STANDIN = ROOT / "tests" / "engines" / "step_audio" / "standin.py"
QUICK = ["emotion:happy", "emotion:sad", "style:whisper", "style:child", "speed:faster", "speed:slower",
         "denoise", "vad", "paralinguistic"]
TARGET = 0.05


# --- the direct baseline (runs in the model environment: standard library + the official code) ---


def direct_child(args: argparse.Namespace) -> int:
    """Load the official code once and time ``edit()`` for every job, printing JSON lines."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # upstream prints go to stderr, as in the worker
    sys.stdout = sys.stderr
    spec = importlib.util.spec_from_file_location("stepedit_step_audio_worker", WORKER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # its load() imports tts/tokenizer exactly as the worker does
    w = mod.Worker(None, args.source)
    t0 = time.perf_counter()
    w.load(args.source, args.models, json.loads(args.options))
    proto.write(json.dumps({"loaded_s": time.perf_counter() - t0, "generation": w.generation}) + "\n")
    jobs = json.loads(Path(args.jobs).read_text())
    torch = w.torch
    for job in jobs:
        w.seed(job["seed"])
        w.reset_peak()
        t0 = time.perf_counter()
        audio, rate = w.tts.edit(job["input"], job["audio_text"], job["edit_type"], job["edit_info"], job["target_text"])
        if torch is not None and torch.cuda.is_available():
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        proto.write(json.dumps({"label": job["label"], "call_s": dt, "peak_mem_mb": w.peak_mb(),
                                "frames": int(getattr(audio, "shape", [0, 0])[-1]), "rate": int(rate)}) + "\n")
    proto.flush()
    os._exit(0)


# --- the editor side -------------------------------------------------------------------------------


def controls(spec: str) -> list[str]:
    from stepedit_app.engines.controls import EMOTIONS, SPEEDS, STYLES

    if spec == "quick":
        return list(QUICK)
    if spec == "all":
        return ([f"emotion:{e}" for e in EMOTIONS] + [f"style:{s}" for s in STYLES] + [f"speed:{s}" for s in SPEEDS]
                + ["denoise", "vad", "paralinguistic"])
    out = []
    for name in spec.split(","):
        name = name.strip()
        if name in ("denoise", "vad", "paralinguistic") or ":" in name:
            out.append(name)
        elif name in EMOTIONS:
            out.append(f"emotion:{name}")
        elif name in STYLES:
            out.append(f"style:{name}")
        elif name in SPEEDS:
            out.append(f"speed:{name}")
        else:
            raise SystemExit(f"step_audio_smoke: unknown control {name!r}")
    return out


def request_for(control: str, transcript: str, tagged: str, seed: int):
    from stepedit_app.engines.controls import EditRequest

    if control == "denoise":
        return EditRequest(denoise=True, seed=seed, transcript=transcript)
    if control == "vad":
        return EditRequest(vad=True, seed=seed, transcript=transcript)
    if control == "paralinguistic":
        return EditRequest(paralinguistic=tagged, seed=seed, transcript=transcript)
    group, name = control.split(":")
    key = {"emotion": "emotions", "style": "styles", "speed": "speed"}[group]
    return EditRequest(**{key: {name: 1.0}}, transcript=transcript, seed=seed)


def job_for(control: str, transcript: str, tagged: str, seed: int, path: str) -> dict:
    if control in ("denoise", "vad"):
        return {"label": control, "edit_type": control, "edit_info": None, "audio_text": transcript,
                "target_text": None, "seed": seed, "input": path}
    if control == "paralinguistic":
        return {"label": control, "edit_type": control, "edit_info": None, "audio_text": transcript,
                "target_text": tagged, "seed": seed, "input": path}
    group, name = control.split(":")
    return {"label": control, "edit_type": group, "edit_info": name, "audio_text": transcript, "target_text": None,
            "seed": seed, "input": path}


def load_standin(tmp: Path):
    spec = importlib.util.spec_from_file_location("stepedit_standin", STANDIN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    source, models = mod.build_standin(tmp / "standin", "v1")
    return mod.standin_settings(source, models)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", nargs="?", help="the clip to edit (default with --standin: tests/data/LJ001-0004.wav)")
    ap.add_argument("--text", help="the clip's transcript (default: CLIP.txt / CLIP.lab next to it)")
    ap.add_argument("--tagged", help="the transcript with a tag for the paralinguistic edit (default: [Laughter] "
                                     "after the first word)")
    ap.add_argument("--controls", default="all", help="all, quick, or a comma list")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-direct", action="store_true", help="skip the direct baseline")
    ap.add_argument("--standin", action="store_true", help="run against the stand-in source tree (no GPU, no weights)")
    ap.add_argument("--check", action="store_true", help="exit 1 when the overhead is above 5 %% or an edit failed")
    ap.add_argument("--json", help="also write the figures to this file")
    # the direct child's own arguments
    ap.add_argument("--direct-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    ap.add_argument("--models", help=argparse.SUPPRESS)
    ap.add_argument("--options", help=argparse.SUPPRESS)
    ap.add_argument("--jobs", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.direct_child:
        return direct_child(args)

    sys.path.insert(0, str(ROOT))
    import numpy as np
    import soundfile as sf

    from stepedit_app.audio.io import read_clip
    from stepedit_app.audio.morph import PassMorph
    from stepedit_app.engines.step_audio import inputs
    from stepedit_app.engines.step_audio.client import WorkerClient
    from stepedit_app.engines.step_audio.engine import StepAudioEngine
    from stepedit_app.engines.step_audio.settings import load_settings
    from stepedit_app.errors import StepEditError
    from stepedit_app.session.session import EditSession

    tmp = Path(tempfile.mkdtemp(prefix="step-audio-smoke-"))
    if args.standin:
        settings = load_standin(tmp)
        clip_path = Path(args.clip or ROOT / "tests" / "data" / "LJ001-0004.wav")
        default_text = "produced the block books, which were the immediate predecessors of the true printed book,"
        banner = ("STAND-IN RUN: the stand-in source tree from the tests (deterministic WORLD edits on the CPU), "
                  "not Step-Audio-EditX. It shows the script and the plumbing work; its seconds, RTF, VRAM and "
                  "overhead figures say nothing about the model (a fake call of ~0.1 s makes any overhead look large).")
    else:
        settings = load_settings()
        if settings is None:
            print("step_audio_smoke: nothing configured; run stepedit setup step-audio (or use --standin)", file=sys.stderr)
            return 2
        if not args.clip:
            print("step_audio_smoke: give the clip to edit", file=sys.stderr)
            return 2
        clip_path = Path(args.clip)
        default_text = None
        banner = "REAL MODEL RUN: Step-Audio-EditX through StepEdit's worker"
    clip = read_clip(clip_path)
    transcript = args.text
    if not transcript:
        side = inputs.read_sidecar(clip_path)
        transcript = side[0] if side else default_text
    if not transcript:
        print(f"step_audio_smoke: give --text (or put {clip_path.with_suffix('.txt')} next to the clip)", file=sys.stderr)
        return 2
    words = transcript.split()
    tagged = args.tagged or " ".join([words[0], "[Laughter]", *words[1:]])
    todo = controls(args.controls)
    if clip.duration > inputs.MAX_INPUT_S:
        print(f"step_audio_smoke: use a clip under {inputs.MAX_INPUT_S:.0f} s", file=sys.stderr)
        return 2
    print(banner)
    print(f"clip {clip_path} ({clip.duration:.2f} s, {clip.rate} Hz); {len(todo)} edits at intensity 1, seed {args.seed}")

    # the model's input, written once, as the engine writes it
    send, send_rate = inputs.model_input(clip.mono(), clip.rate)
    inp = tmp / "input.wav"
    sf.write(inp, send.astype(np.float32), send_rate, subtype="FLOAT")
    jobs = [job_for(c, transcript, tagged, args.seed, str(inp)) for c in todo]
    (tmp / "jobs.json").write_text(json.dumps(jobs))

    direct: dict[str, dict] = {}
    if not args.no_direct:
        t0 = time.perf_counter()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        with open(tmp / "direct.log", "wb") as log:
            r = subprocess.run([settings.python, str(Path(__file__).resolve()), "--direct-child", "--source", settings.source,
                                "--models", settings.models, "--options", json.dumps(settings.options()),
                                "--jobs", str(tmp / "jobs.json")], stdout=subprocess.PIPE, stderr=log, env=env,
                               cwd=settings.source, timeout=24 * 3600)
        lines = [json.loads(ln) for ln in r.stdout.decode().splitlines() if ln.strip()]
        if r.returncode != 0 or not lines:
            print(f"direct baseline failed (exit {r.returncode}); see {tmp / 'direct.log'}")
        else:
            print(f"direct baseline: generation {lines[0]['generation']}, loaded in {lines[0]['loaded_s']:.1f} s, "
                  f"{len(lines) - 1} calls in {time.perf_counter() - t0:.1f} s")
            direct = {d["label"]: d for d in lines[1:]}

    client = WorkerClient(settings, log_file=tmp / "worker.log")
    engine = StepAudioEngine(settings, client)
    t0 = time.perf_counter()
    for _ in client.ensure_ready():
        pass
    h = client.hello or {}
    mem = f", {h['memory_total_mb'] / 1024:.1f} GB" if h.get("memory_total_mb") else ""
    print(f"worker: Python {h.get('python')}, torch {(h.get('packages') or {}).get('torch')}, device {h.get('device')}{mem}, "
          f"generation {client.loaded.get('generation')}, model loaded in {time.perf_counter() - t0:.1f} s")
    rows = []
    failures = 0
    session = EditSession(clip, engine)
    for control in todo:
        req = request_for(control, transcript, tagged, args.seed)
        try:
            (take,) = session.run(req)
        except StepEditError as exc:
            failures += 1
            print(f"  {control}: FAILED: {exc}")
            continue
        fig = take.flags.get("engine", {})
        row = {"control": control, "client_s": take.elapsed_s, "rtf": take.elapsed_s / clip.duration,
               "call_s": fig.get("model_s"), "peak_mem_mb": fig.get("peak_mem_mb"),
               "device_used_mb": fig.get("device_used_mb"),
               "direct_s": direct.get(control, {}).get("call_s"), "out_s": take.segment.duration}
        if control != "paralinguistic":
            t1 = time.perf_counter()
            al = PassMorph(clip.mono(), take.segment.mono(), clip.rate).alignment
            row.update(align_cost=al.cost, align_ok=al.ok, align_s=time.perf_counter() - t1)
        rows.append(row)
    client.close()

    def pct(a, b):
        return (a - b) / b if (a is not None and b) else None

    print()
    print(f"{'control':<22} {'client s':>9} {'RTF':>6} {'call s':>8} {'direct s':>9} {'ovh/direct':>10} "
          f"{'ovh/call':>9} {'VRAM GB':>8} {'out s':>6}  align")
    for r in rows:
        r["ovh_direct"] = pct(r["client_s"], r["direct_s"])
        r["ovh_call"] = pct(r["client_s"], r["call_s"])

        def f(v, spec, scale=1.0):
            width = "".join(ch for ch in spec.split(".")[0] if ch.isdigit())
            return format(v * scale, spec) if v is not None else format("—", f">{width or 1}")

        al = (f"{r['align_cost']:.2f} {'ok' if r['align_ok'] else 'FULL'}" if "align_cost" in r else "(adds content)")
        print(f"{r['control']:<22} {r['client_s']:>9.2f} {r['rtf']:>6.2f} {f(r['call_s'], '>8.2f')} "
              f"{f(r['direct_s'], '>9.2f')} {f(r['ovh_direct'], '>+9.1f', 100)}% {f(r['ovh_call'], '>+8.1f', 100)}% "
              f"{f(r['peak_mem_mb'], '>8.2f', 1 / 1024)} {r['out_s']:>6.2f}  {al}")
    od = [r["ovh_direct"] for r in rows if r["ovh_direct"] is not None]
    oc = [r["ovh_call"] for r in rows if r["ovh_call"] is not None]
    peaks = [r["peak_mem_mb"] for r in rows if r["peak_mem_mb"] is not None]
    used = [r["device_used_mb"] for r in rows if r.get("device_used_mb") is not None]
    print()
    if rows:
        print(f"edits: {len(rows)} ok, {failures} failed; client s median {statistics.median(r['client_s'] for r in rows):.2f}, "
              f"RTF median {statistics.median(r['rtf'] for r in rows):.2f}")
    if peaks or used:
        if peaks:
            print(f"peak VRAM allocated by PyTorch in the worker during a call: {max(peaks) / 1024:.2f} GB "
                  "(v2: the LLM lives in vLLM's engine process and is not in this figure)")
        if used:
            print(f"GPU memory in use after a call, all processes: up to {max(used) / 1024:.2f} GB")
    else:
        print("peak VRAM: — (no CUDA in the model environment)")
    verdict_src = oc or od
    if verdict_src:
        med = statistics.median(verdict_src)
        what = "vs the same call inside the worker" if oc else "vs the direct call"
        line = (f"client overhead, median {what}: {med * 100:+.1f} %"
                + (f"; vs the direct process: {statistics.median(od) * 100:+.1f} %" if od and oc else ""))
        if args.standin:
            print(line + " (stand-in: not comparable with the 5 % target)")
        else:
            print(line + f" — target <= {TARGET * 100:.0f} %: {'PASS' if med <= TARGET else 'ABOVE TARGET'}")
    if args.standin:
        print("STAND-IN RUN: figures above are for the stand-in, not Step-Audio-EditX.")
    if args.json:
        Path(args.json).write_text(json.dumps({"standin": args.standin, "rows": rows, "failures": failures}, indent=2))
    if args.check:
        if failures or not rows:
            return 1
        if not args.standin and verdict_src and statistics.median(verdict_src) > TARGET:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
