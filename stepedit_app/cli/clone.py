"""``stepedit clone``: speak new text in the voice of a prompt recording (Step-Audio-EditX).

::

    stepedit clone --prompt-audio A [--prompt-text T] --text NEW -o OUT [--rate HZ] [--seed N]

The prompt's transcript comes from ``--prompt-text`` or a sidecar ``A.txt`` / ``A.lab``.  Put a
dialect tag before the text to choose one (``[Cantonese]``, ``[Sichuanese]``, ``[Japanese]``,
``[Korean]``).  The output is mono at the model's 24 kHz unless ``--rate`` says otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stepedit_app import interrupts
from stepedit_app.cli._common import EXIT_OK

NAME = "clone"
HELP = "speak new text in the voice of a prompt recording (Step-Audio-EditX)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prompt-audio", required=True, metavar="A", help="the voice to clone (3-30 s of speech; never written)")
    p.add_argument("--prompt-text", metavar="T", help="what the prompt says (default: A.txt or A.lab next to it)")
    p.add_argument("--text", required=True, metavar="NEW", help="what the clone should say")
    p.add_argument("-o", "--output", required=True, help="output file (.wav or .flac)")
    p.add_argument("--rate", type=int, metavar="HZ", help="output sample rate (default 24000, the model's)")
    p.add_argument("--seed", type=int, help="random seed for the model's sampling")
    p.add_argument("--subtype", help="16, 24 or float")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    from stepedit_app.audio.io import check_not_source, export_subtype, read_clip, write_clip
    from stepedit_app.engines.registry import create_engine
    from stepedit_app.engines.step_audio.inputs import read_sidecar
    from stepedit_app.errors import RequestError

    out_path = Path(args.output)
    export_subtype(out_path, args.subtype, None)
    if args.rate is not None and not (8000 <= args.rate <= 192000):
        raise RequestError(f"--rate {args.rate}: out of range (allowed: 8000..192000)")
    if not args.text.strip():
        raise RequestError("--text is empty")
    prompt = read_clip(args.prompt_audio)
    check_not_source(out_path, (args.prompt_audio,))
    prompt_text = args.prompt_text
    if not (prompt_text and prompt_text.strip()):
        side = read_sidecar(args.prompt_audio)
        if side is None:
            stem = Path(args.prompt_audio).with_suffix("")
            raise RequestError(f"the prompt's transcript is needed: --prompt-text, or {stem}.txt next to it")
        prompt_text, where = side
        if not args.quiet:
            print(f"prompt transcript from {where}", file=sys.stderr)
    engine = create_engine("step-audio-editx")
    show = not args.quiet and sys.stderr.isatty()
    gen = engine.clone(prompt, prompt_text, args.text, seed=args.seed, rate=args.rate)  # type: ignore[attr-defined]
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            result = stop.value
            break
        if show:
            print("\rcloning …", end="", file=sys.stderr, flush=True)
    if show:
        print(file=sys.stderr)
    # signals are disarmed inside the rename's section: one arriving after it cannot turn a
    # finished clone into "interrupted"
    write_clip(result, out_path, args.subtype, protect=(args.prompt_audio,), on_written=lambda _p: interrupts.disarm())
    if not args.quiet:
        print(f"wrote {out_path} ({result.duration:.2f} s at {result.rate} Hz)", file=sys.stderr)
    return EXIT_OK
