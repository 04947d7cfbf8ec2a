"""``stepedit setup step-audio``: point StepEdit at the Step-Audio-EditX model environment.

::

    stepedit setup step-audio --python PATH --source DIR --models DIR
                              [--dtype bfloat16|float16|float32] [--quantization Q|none]
                              [--gpu-share 0.5] [--timeout S]
    stepedit setup step-audio --print-env-commands v1|v2 [--source DIR] [--models DIR]
    stepedit setup step-audio --show

The configuration goes to the user's config folder, written atomically.  Given options
replace the stored ones; options not given keep their stored values, so
``stepedit setup step-audio --quantization int8`` alone changes just that.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from stepedit_app.cli._common import EXIT_OK

NAME = "setup"
HELP = "configure an optional engine (step-audio: the GPU engine's model environment)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", choices=["step-audio"], help="what to set up")
    p.add_argument("--python", metavar="PATH", help="the model environment's Python interpreter")
    p.add_argument("--source", metavar="DIR", help="the Step-Audio-EditX source folder (holds tts.py)")
    p.add_argument("--models", metavar="DIR", help="folder holding Step-Audio-EditX/ and Step-Audio-Tokenizer/")
    p.add_argument("--dtype", choices=["bfloat16", "float16", "float32", "default"], help="weights' dtype")
    p.add_argument("--quantization", metavar="Q",
                   help="v1: int4, int8, awq-4bit; v2: awq, gptq, fp8; 'none' for none")
    p.add_argument("--gpu-share", metavar="X", help="share of GPU memory the model may take (0.05..1, or 'default')")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds one model call may take (plus 60 s per second of audio)")
    p.add_argument("--print-env-commands", choices=["v1", "v2"], metavar="v1|v2",
                   help="print the commands that create the model environment, and store nothing")
    p.add_argument("--show", action="store_true", help="print the stored configuration")


def _abs(path: str) -> str:
    # abspath, not resolve(): a venv's python is a symlink that must stay one
    return os.path.abspath(os.path.expanduser(path))


def run(args: argparse.Namespace) -> int:
    from stepedit_app.engines.step_audio.settings import (
        QUANTIZATION,
        StepAudioSettings,
        config_path,
        env_commands,
        load_settings,
        save_settings,
    )
    from stepedit_app.engines.step_audio.worker import detect_generation
    from stepedit_app.errors import RequestError

    if args.print_env_commands:
        kw = {}
        if args.source:
            kw["source"] = _abs(args.source)
        if args.models:
            kw["models"] = _abs(args.models)
        print("\n".join(env_commands(args.print_env_commands, **kw)))
        return EXIT_OK
    current = load_settings()
    if args.show:
        if current is None:
            raise RequestError(f"nothing configured ({config_path()} does not exist)")
        print(f"# {config_path()}")
        print(json.dumps(current.to_dict(), indent=2, sort_keys=True))
        return EXIT_OK
    given = {k: getattr(args, k) for k in ("python", "source", "models")}
    if current is None:
        missing = [f"--{k}" for k, v in given.items() if not v]
        if missing:
            raise RequestError(f"setup step-audio: {', '.join(missing)} needed (nothing is configured yet)")
        settings = StepAudioSettings(python="", source="", models="")
    else:
        settings = current
    for k, v in given.items():
        if v:
            setattr(settings, k, _abs(v))
    if args.dtype:
        settings.dtype = None if args.dtype == "default" else args.dtype
    if args.quantization:
        settings.quantization = None if args.quantization.lower() in ("none", "off") else args.quantization.lower()
    if args.gpu_share:
        if args.gpu_share == "default":
            settings.gpu_share = None
        else:
            try:
                settings.gpu_share = float(args.gpu_share.rstrip("%")) / (100.0 if args.gpu_share.endswith("%") else 1.0)
            except ValueError:
                raise RequestError(f"--gpu-share {args.gpu_share!r} is not a number (allowed: 0.05..1)") from None
    if args.timeout is not None:
        settings.timeout_s = args.timeout
    settings.validate()
    py = Path(settings.python)
    if not py.exists():
        raise RequestError(f"--python {settings.python}: no such file")
    if py.is_dir():
        raise RequestError(f"--python {settings.python}: is a folder (give the interpreter, e.g. VENV/bin/python)")
    if not os.access(py, os.X_OK):
        raise RequestError(f"--python {settings.python}: not executable")
    src = Path(settings.source)
    if not src.is_dir():
        raise RequestError(f"--source {settings.source}: no such folder")
    if not (src / "tts.py").is_file():
        raise RequestError(f"--source {settings.source}: holds no tts.py (give the Step-Audio-EditX source folder)")
    if not Path(settings.models).is_dir():
        raise RequestError(f"--models {settings.models}: no such folder")
    generation, _, problem = detect_generation(settings.source)
    if generation is None:
        raise RequestError(f"--source {settings.source}: {problem}")
    if settings.quantization and settings.quantization not in QUANTIZATION[generation]:
        raise RequestError(
            f"--quantization {settings.quantization}: the source is generation {generation}, which takes "
            f"{', '.join(QUANTIZATION[generation])}"
        )
    path = save_settings(settings)
    print(f"saved {path} (Step-Audio-EditX {generation}); run 'stepedit doctor' to check the model environment")
    return EXIT_OK
