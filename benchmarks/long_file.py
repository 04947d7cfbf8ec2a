"""Long files: time and peak memory of ``stepedit info`` and of opening a file for the window.

Generates a 3-hour 48 kHz mono 16-bit WAV from real speech in /tmp (~1 GB, once; reused), then
runs each step in its own child process and reads that child's peak resident memory
(``ru_maxrss`` from ``os.wait4``):

- ``stepedit info FILE`` (the real command);
- opening for the window (:func:`stepedit_app.audio.longfile.open_clip`): the first open
  decodes into the cache (cold) and the second maps the cache (warm); both then read a few
  envelopes and 1 s of samples the way the views and the player do;
- editing a 5 s region of it (``stepedit edit --region``);
- a whole-file edit, which must be refused before any analysis (time to the refusal).

The issue's targets: peak memory under 500 MB and ``info`` under 30 s.  ``--check`` exits 1
when a target is missed.

Usage::

    .venv/bin/python benchmarks/long_file.py [--hours 3] [--rate 48000] [--check] [--keep-cache]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPEDIT = [sys.executable, "-m", "stepedit_app"]


def generate(path: Path, hours: float, rate: int) -> None:
    """Real speech (the test clips, resampled) with pauses and level changes, written in blocks."""
    import numpy as np
    import soundfile as sf
    from scipy.signal import resample_poly

    clips = []
    for name in ("LJ001-0004.wav", "cmu_arctic_us_aew_a0001.wav", "cmu_arctic_us_axb_a0004.wav", "LJ001-0008.wav"):
        x, sr = sf.read(ROOT / "tests" / "data" / name, dtype="float32")
        clips.append(resample_poly(x, rate, sr).astype(np.float32))
    total = int(hours * 3600 * rate)
    tmp = path.with_suffix(".part")
    rng = np.random.default_rng(0)
    with sf.SoundFile(tmp, "w", rate, 1, "PCM_16", format="WAV") as f:
        done, k = 0, 0
        while done < total:
            gain = 0.5 + 0.5 * rng.random()
            pause = np.zeros(int(rate * rng.uniform(0.2, 1.2)), np.float32)
            block = np.concatenate([clips[k % len(clips)] * gain, pause])[: total - done]
            f.write(block)
            done += len(block)
            k += 1
    os.replace(tmp, path)


def measure(argv: list[str], env: dict | None = None) -> tuple[float, float, int, str]:
    """(seconds, peak RSS in MB, exit status, stderr) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix all children)
    out_r, err_r = proc.stdout, proc.stderr
    # (outputs are small: reading them after the exit cannot block the child)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    err = err_r.read().decode(errors="replace")
    out = out_r.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024.0, proc.returncode, (err + out).strip()


OPEN = """
import sys, numpy as np
from stepedit_app.audio.longfile import open_clip
from stepedit_app.audio.playback import Player
r = open_clip(sys.argv[1], cache_dir=sys.argv[2])
c = r.clip
assert c.frames > 0
for (a, b) in ((0, c.frames), (c.frames // 2, c.frames // 2 + 48000 * 60), (1000, 1400)):
    r.pyramid.envelope(a, b, 1500)
# the player reads the mapped samples block by block, as its callback does
class Stream:
    def __init__(self, **kw): self.kw = kw
    def start(self): pass
    def stop(self): pass
    def close(self): pass
p = Player(stream_factory=lambda **kw: Stream(**kw))
p.load(c.samples, c.rate)
out = np.zeros((512, c.channels), np.float32)
p.play(c.frames // 3)
for _ in range(94):  # ~1 s of audio
    p._callback(out, 512, None, None)
print("file-backed" if r.file_backed else "in memory")
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--rate", type=int, default=48000)
    ap.add_argument("--file", type=Path, help="use this file instead of generating one")
    ap.add_argument("--check", action="store_true", help="exit 1 if a target (500 MB, info 30 s) is missed")
    ap.add_argument("--keep-cache", action="store_true", help="keep the decoded cache folder")
    args = ap.parse_args()

    path = args.file or Path(tempfile.gettempdir()) / "stepedit_bench" / f"long_{args.hours:g}h_{args.rate // 1000}k.wav"
    if args.file is None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({args.hours:g} h, {args.rate} Hz, mono 16-bit) ...", flush=True)
        t0 = time.perf_counter()
        generate(path, args.hours, args.rate)
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    size_mb = path.stat().st_size / 2**20
    print(f"file: {path} ({size_mb:.0f} MB)")
    failed = []

    t, rss, rc, err = measure([*STEPEDIT, "info", str(path)])
    print(f"stepedit info:            {t:7.1f} s   peak RSS {rss:7.0f} MB   exit {rc}")
    if rc != 0:
        print("   " + err.strip())
    if rc != 0 or t > 30 or rss > 500:
        failed.append("info")

    cache = Path(tempfile.mkdtemp(prefix="stepedit_cache_"))
    try:
        for label in ("open, cold (decode + cache)", "open, warm (cached)"):
            t, rss, rc, err = measure([sys.executable, "-c", OPEN, str(path), str(cache)])
            print(f"{label + ':':26s}{t:7.1f} s   peak RSS {rss:7.0f} MB   exit {rc}   ({err.splitlines()[-1] if err else ''})")
            if rc != 0:
                print("   " + err[-400:])
            if rc != 0 or rss > 500:
                failed.append(label)
        used = sum(p.stat().st_size for p in cache.iterdir()) / 2**20
        print(f"cache on disk:            {used:7.0f} MB")
        # a 5 s region of the long file through the command line (decoded to the cache and
        # mapped; the output is written in pieces, never joined in memory)
        env = dict(os.environ, XDG_CACHE_HOME=str(cache / "xdg"))
        with tempfile.TemporaryDirectory() as d:
            t, rss, rc, err = measure([*STEPEDIT, "edit", str(path), "-o", str(Path(d) / "out.wav"), "--region",
                                       "3600:3605", "--emotion", "happy=0.5", "-q"], env)
            print(f"edit a 5 s region:        {t:7.1f} s   peak RSS {rss:7.0f} MB   exit {rc}")
            if rc != 0:
                print("   " + err[-400:])
            if rc != 0 or rss > 500:
                failed.append("region edit")
    finally:
        if not args.keep_cache:
            shutil.rmtree(cache, ignore_errors=True)

    with tempfile.TemporaryDirectory() as d:
        t, rss, rc, err = measure([*STEPEDIT, "edit", str(path), "-o", str(Path(d) / "out.wav"), "--emotion", "happy=0.5"])
        print(f"whole-file edit refused:  {t:7.1f} s   peak RSS {rss:7.0f} MB   exit {rc}")
        print("   " + err.strip())
        if rc != 2 or os.listdir(d):
            failed.append("edit refusal")

    if failed:
        print("MISSED: " + ", ".join(failed))
        return 1 if args.check else 0
    print("all targets met (peak memory < 500 MB, info < 30 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
