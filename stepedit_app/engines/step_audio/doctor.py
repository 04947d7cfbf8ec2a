"""Diagnosis of the Step-Audio-EditX setup, piece by piece (Qt-free: ``stepedit doctor`` prints it,
the window's setup dialog can show it).

Checks, in order: the configuration; the interpreter (runs, and is a Python the upstream
generation installs on); the source (official modules present, generation, commit against the
supported ones); the official modules importing in the model environment (the worker's probe);
the installed packages that are known to matter; CUDA and its memory; the weight files; the
options against the generation.  With ``load`` it also starts the worker and loads the model.
Every failure has a hint.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Check:
    """One line of the diagnosis: ``status`` is ``ok``, ``warn``, ``FAIL``, ``skip`` or ``info``."""

    name: str
    status: str
    detail: str
    hint: str = ""


def supported_line() -> str:
    """Which upstream commits this integration supports, in one line."""
    from stepedit_app.engines.step_audio.settings import SUPPORTED_COMMITS

    return "supported upstream commits (stepfun-ai/Step-Audio-EditX): " + "; ".join(
        f"{g} {c} ({date}, {what})" for g, (c, date, what) in SUPPORTED_COMMITS.items())


def _need_gb(generation: str | None, quant: str | None, share: float | None, total_gb: float) -> float:
    """Rough GPU memory an edit needs (public reports; see the facts sheet)."""
    if generation == "v2":
        return (share or 0.5) * total_gb
    if quant in ("int4", "awq-4bit"):
        return 10.0
    if quant == "int8":
        return 12.0
    return 16.0


def checks(load: bool = False) -> list[Check]:
    """Check the configuration, interpreter, source, official modules, packages, CUDA, weights
    and options (and with ``load`` start the worker and load the model).  Never raises for a
    broken setup: every problem is a ``FAIL`` line with a hint."""
    from stepedit_app.engines.step_audio.client import WorkerClient, probe, python_version_of
    from stepedit_app.engines.step_audio.settings import (
        AWQ_FILES,
        EXPECTED_FILES,
        PYTHON_RANGE,
        QUANTIZATION,
        SUPPORTED_COMMITS,
        config_path,
        load_settings,
        log_path,
    )
    from stepedit_app.engines.step_audio.worker import detect_generation, source_commit
    from stepedit_app.errors import StepEditError

    out: list[Check] = []
    rest = "interpreter, source, official modules, packages, CUDA, weights"
    try:
        s = load_settings()
    except StepEditError as exc:
        out.append(Check("configuration", "FAIL", str(exc), "run stepedit setup step-audio --python PATH --source DIR --models DIR"))
        out.append(Check(rest, "skip", "no usable configuration"))
        return out
    if s is None:
        out.append(Check("configuration", "FAIL", f"nothing configured ({config_path()} does not exist)",
                         "create the model environment (stepedit setup step-audio --print-env-commands v1, or v2), "
                         "then run stepedit setup step-audio --python PATH --source DIR --models DIR"))
        out.append(Check(rest, "skip", "nothing configured"))
        return out
    out.append(Check("configuration", "ok", str(config_path())))

    # source and generation (read from the source text; no import)
    gen, _, problem = detect_generation(s.source)
    if gen is None:
        out.append(Check("source", "FAIL", f"{s.source}: {problem}",
                         "give the Step-Audio-EditX source folder: stepedit setup step-audio --source DIR"))
    else:
        commit = source_commit(s.source)
        want = SUPPORTED_COMMITS[gen][0]
        missing = [m for m in ("tts.py", "tokenizer.py", "model_loader.py") if not (Path(s.source) / m).is_file()]
        if missing:
            out.append(Check("source", "FAIL", f"{s.source} lacks {', '.join(missing)}",
                             "clone the official repository (stepedit setup step-audio --print-env-commands v1)"))
        elif commit is None:
            out.append(Check("source", "warn", f"generation {gen}; commit unknown (no .git in {s.source})",
                             f"supported: {gen} {want}"))
        elif commit.startswith(want):
            out.append(Check("source", "ok", f"generation {gen} at {commit[:7]} (supported)"))
        else:
            out.append(Check("source", "warn", f"generation {gen} at {commit[:7]}, not the supported {want}; it may work",
                             f"git -C {s.source} checkout {want}"))

    # interpreter
    version, vproblem = python_version_of(s.python)
    if version is None:
        out.append(Check("interpreter", "FAIL", vproblem,
                         "create the model environment (stepedit setup step-audio --print-env-commands v1) and "
                         "give its python: stepedit setup step-audio --python PATH"))
        out.append(Check("official modules, packages, CUDA", "skip", "the interpreter does not run"))
        probe_msg = None
    else:
        ok_range = True
        if gen in PYTHON_RANGE:
            lo, hi = PYTHON_RANGE[gen]
            mm = tuple(int(p) for p in version.split(".")[:2])
            ok_range = lo <= mm <= hi
        if ok_range:
            out.append(Check("interpreter", "ok", f"{s.python} (Python {version})"))
        else:
            lo, hi = PYTHON_RANGE[gen]
            want_v = f"{lo[0]}.{lo[1]}" if lo == hi else f"{lo[0]}.{lo[1]}–{hi[0]}.{hi[1]}"
            out.append(Check("interpreter", "warn", f"{s.python} is Python {version}; {gen}'s pins install on {want_v}",
                             f"stepedit setup step-audio --print-env-commands {gen}"))
        probe_msg, pproblem = probe(s)
        if probe_msg is None:
            out.append(Check("official modules", "FAIL", pproblem, f"look at the output of: {s.python} -c 'import torch'"))
    if probe_msg is not None:
        imports = probe_msg.get("imports") or {}
        bad = {k: v for k, v in imports.items() if v}
        if bad:
            name, err = next(iter(bad.items()))
            out.append(Check("official modules", "FAIL", f"{name} does not import: {err}",
                             "install the official requirements into the model environment "
                             f"(stepedit setup step-audio --print-env-commands {gen or 'v1'})"))
        else:
            out.append(Check("official modules", "ok", "tts, tokenizer, model_loader import in the model environment"))
        pk = probe_msg.get("packages") or {}
        if gen == "v1":
            tf = pk.get("transformers")
            if tf is None:
                out.append(Check("packages", "FAIL", "transformers is not installed", "pip install transformers==4.53.3"))
            elif _vtuple(tf) >= (4, 54):
                out.append(Check("packages", "FAIL", f"transformers {tf}: from 4.54 the LM head is tied and v1 outputs silence",
                                 f"{s.python} -m pip install transformers==4.53.3"))
            else:
                out.append(Check("packages", "ok", f"torch {pk.get('torch')}, transformers {tf}, onnxruntime-gpu {pk.get('onnxruntime-gpu')}"))
        elif gen == "v2":
            if pk.get("vllm") is None:
                out.append(Check("packages", "FAIL", "vllm is not installed", f"cd {s.source} && uv sync"))
            else:
                out.append(Check("packages", "ok", f"torch {pk.get('torch')}, transformers {pk.get('transformers')}, vllm {pk.get('vllm')}"))
        if probe_msg.get("torch_error"):
            out.append(Check("CUDA", "FAIL", probe_msg["torch_error"], "install torch with CUDA into the model environment"))
        elif not probe_msg.get("cuda"):
            out.append(Check("CUDA", "FAIL", "no CUDA device visible in the model environment",
                             "check nvidia-smi and that the model environment's torch is a CUDA build"))
        else:
            total = (probe_msg.get("memory_total_mb") or 0) / 1024
            free = (probe_msg.get("memory_free_mb") or 0) / 1024
            need = _need_gb(gen, s.quantization, s.gpu_share, total)
            detail = f"{probe_msg.get('device')}: {total:.1f} GB, {free:.1f} GB free; an edit needs about {need:.0f} GB"
            if free + 0.5 < need:
                out.append(Check("CUDA", "warn", detail, "choose a quantization (stepedit setup step-audio --quantization "
                                 f"{QUANTIZATION[gen or 'v1'][0]}) or free GPU memory"))
            else:
                out.append(Check("CUDA", "ok", detail))

    # weights
    models = Path(s.models)
    if not models.is_dir():
        out.append(Check("weights", "FAIL", f"{s.models}: no such folder", "stepedit setup step-audio --models DIR"))
    else:
        wanted = list(EXPECTED_FILES) + (list(AWQ_FILES) if s.quantization in ("awq", "awq-4bit") else [])
        missing = [rel for rel in wanted if not _present(models, rel)]
        if missing:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            out.append(Check("weights", "FAIL", f"missing in {s.models}: {shown}",
                             "download them: stepedit setup step-audio --print-env-commands v1 (the huggingface-cli lines)"))
        else:
            size = sum(os.path.getsize(p) for p in glob.glob(str(models / "Step-Audio-EditX" / "*.safetensors")))
            out.append(Check("weights", "ok", f"{len(wanted)} expected files present ({size / 2**30:.1f} GB of safetensors)"))

    # options
    if gen is not None and s.quantization and s.quantization not in QUANTIZATION[gen]:
        out.append(Check("options", "FAIL", f"quantization {s.quantization} is not a {gen} option",
                         f"stepedit setup step-audio --quantization {QUANTIZATION[gen][0]} (or none)"))
    else:
        out.append(Check("options", "ok", f"dtype {s.dtype or 'default'}, quantization {s.quantization or 'none'}, "
                         f"GPU share {s.gpu_share or 'default'}"))

    fatal = {"configuration", "source", "interpreter", "official modules", "weights"}
    if load and any(c.status == "FAIL" and c.name in fatal for c in out):
        out.append(Check("load", "skip", "not tried: fix the failures above first"))
    elif load:
        client = WorkerClient(s)
        try:
            gen_events = client.ensure_ready()
            while True:
                try:
                    next(gen_events)
                except StopIteration as stop:
                    res = stop.value
                    break
            mem = res.get("peak_mem_mb")
            out.append(Check("load", "ok", f"generation {res.get('generation')} loaded in {res.get('load_s')} s"
                             + (f", peak {mem / 1024:.1f} GB" if mem else "")))
        except StepEditError as exc:
            out.append(Check("load", "FAIL", str(exc), f"see the log: {log_path()}"))
        finally:
            client.close()
    out.append(Check("log", "info", str(log_path())))
    return out


def _present(models: Path, rel: str) -> bool:
    if rel.endswith("/"):
        return (models / rel).is_dir()
    if "*" in rel:
        return bool(glob.glob(str(models / rel)))
    return (models / rel).is_file()


def _vtuple(v: str) -> tuple[int, ...]:
    parts = []
    for p in v.split(".")[:3]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
