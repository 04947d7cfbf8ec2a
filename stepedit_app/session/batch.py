"""Batch: one recipe over many lines, in parallel, resumable, with a manifest.

Input is a folder (every audio file in it and its subfolders; the subfolders are mirrored in
the output folder) or a CSV list with, per line, ``path`` and optionally ``name`` (the output's
``{name}``), ``region`` (``START:END`` in seconds), ``transcript`` and slider overrides in
columns ``emotions.NAME`` / ``styles.NAME`` / ``speed.NAME`` (an empty cell keeps the recipe's
value; columns whose name starts with ``#`` are notes and ignored).

Every line runs through the same code as the window: :class:`EditSession` renders the
recipe's request (the last iteration is delivered), :func:`~stepedit_app.audio.delivery.deliver`
applies the delivery spec, :func:`~stepedit_app.audio.io.write_clip` writes atomically.

Design choices:

* **Parallel over processes** (``concurrent.futures`` with the ``spawn`` start method, so a
  worker never inherits a forked copy of threads or locks); each worker process creates the
  engine once and reuses it for every line it gets.  The same :func:`process_line` runs as a
  Ray task on a cluster (see :mod:`stepedit_app.session.cluster`).
* **One bad line never stops the batch**: any error becomes that line's ``failed`` row; a
  worker process that dies (a crash in native code, the OOM killer) is replaced and the lines
  it may have been running are retried one at a time, so only the line that kills a worker
  on its own is marked failed.
* **Resumable by content**: each line's key is a hash of the input file's bytes, the recipe
  and the line's own settings.  A line whose key has a ``done`` row in the manifest and whose
  output still exists is skipped; renaming or moving inputs does not redo them, changing a
  byte of audio or of the recipe does.
* **Crash-safe manifest**: ``manifest.csv`` in the output folder is a journal while the batch
  runs (one row appended and fsynced per finished line, so a SIGKILL loses at most the line in
  flight) and is rewritten atomically at the end with one row per line in input order.
  Outputs are written atomically; temporary files a killed worker may leave are removed by the
  next run.  A lock file keeps two batches from writing one folder at the same time.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import hashlib
import io
import json
import multiprocessing
import os
import signal
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stepedit_app.engines.base import CancelToken
from stepedit_app.errors import StepEditError
from stepedit_app.session.recipe import Recipe, RecipeError, parse_overrides, recipe_from_dict

MANIFEST_NAME = "manifest.csv"
LOCK_NAME = ".stepedit-batch.lock"
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".caf", ".w64")
CSV_COLUMNS = ("path", "name", "region", "transcript")
#: Manifest columns.  ``key`` is the line's content hash; cue changes are the take's measured
#: deltas (``stepedit_app.audio.analysis.cue_deltas``); loudness and true peak are measured on
#: the delivered file.
MANIFEST_COLUMNS = (
    "line", "input", "status", "output", "error", "key", "duration_s", "out_duration_s",
    "loudness_lufs", "true_peak_dbtp", "gain_db", "limiter_db", "in_spec",
    "f0_st", "range_st", "tempo_pct", "duration_pct", "loudness_lu", "tilt_db", "f1_pct",
    "iterations", "elapsed_s", "worker",
)
#: Columns that differ between two runs of the same work (timing, which process did it).
VOLATILE_COLUMNS = ("elapsed_s", "worker")
_DELTAS = ("f0_st", "range_st", "tempo_pct", "duration_pct", "loudness_lu", "tilt_db", "f1_pct")


class BatchError(StepEditError):
    """The batch cannot start (bad input list, output folder, recipe); nothing was run."""


# --- the lines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchLine:
    """One line of a batch, as listed (not yet checked)."""

    number: int  # 1-based position in the list
    source: Path  # absolute path of the input file
    label: str  # the input as the manifest shows it (relative to the folder or CSV)
    subdir: str = ""  # output subfolder (mirrors a folder input's structure)
    name: str = ""  # {name} in the naming template (default: the input's stem)
    region: str | None = None
    transcript: str | None = None
    overrides: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    error: str | None = None  # a problem found while listing (the line then fails)


def _list_folder(folder: Path, exclude: Path | None) -> list[BatchLine]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        d = Path(dirpath)
        dirnames[:] = sorted(n for n in dirnames if not n.startswith(".") and
                             (exclude is None or not _same(d / n, exclude)))
        for fn in sorted(filenames):
            if not fn.startswith(".") and Path(fn).suffix.lower() in AUDIO_EXTENSIONS:
                found.append(d / fn)
    lines = []
    for i, p in enumerate(found, 1):
        rel = p.relative_to(folder)
        lines.append(BatchLine(i, p.resolve(), rel.as_posix(), rel.parent.as_posix() if rel.parent != Path(".") else "",
                               p.stem))
    return lines


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _list_csv(path: Path) -> list[BatchLine]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    if "path" not in cols:
        raise BatchError(f"{path}: the first row must name the columns, one of them 'path' "
                         f"(allowed: {', '.join(CSV_COLUMNS)}, emotions.NAME, styles.NAME, speed.NAME)")
    for c in cols:
        if c in CSV_COLUMNS or c.startswith("#") or c.startswith(("emotions.", "styles.", "speed.")):
            continue
        raise BatchError(f"{path}: unknown column {c!r} (allowed: {', '.join(CSV_COLUMNS)}, emotions.NAME, "
                         f"styles.NAME, speed.NAME; columns starting with '#' are notes)")
    reader.fieldnames = cols
    base = path.parent
    lines: list[BatchLine] = []
    for row in reader:
        number = len(lines) + 1
        where = f"{path.name} line {reader.line_num}"
        cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            lines.append(BatchLine(number, base, f"(line {reader.line_num})", error=f"{where}: more cells than columns"))
            continue
        p = cells.get("path", "")
        if not p:
            if not any(cells.values()):
                continue  # a blank row
            lines.append(BatchLine(number, base, f"(line {reader.line_num})", error=f"{where}: no path"))
            continue
        src = (base / p) if not Path(p).is_absolute() else Path(p)
        error = None
        overrides: dict = {}
        region = cells.get("region") or None
        try:
            overrides = parse_overrides({k: v for k, v in cells.items() if "." in k and not k.startswith("#")}, where)
            if region is not None:
                from stepedit_app.audio.clip import Region

                Region.parse(region, 1000)  # syntax only; bounds are checked against the clip
        except StepEditError as exc:
            error = str(exc) if str(exc).startswith(where) else f"{where}: {exc}"
        lines.append(BatchLine(number, src.resolve() if src.exists() else src, p, "",
                               cells.get("name") or Path(p).stem, region, cells.get("transcript") or None,
                               overrides, error))
    return lines


def read_lines(source: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> list[BatchLine]:
    """The lines of a batch: every audio file under a folder, or the rows of a CSV list.

    Raises
    ------
    BatchError
        If ``source`` is missing, neither a folder nor a ``.csv`` file, or the CSV is malformed.
    """
    p = Path(source)
    if not p.exists():
        raise BatchError(f"{p}: not found")
    if p.is_dir():
        return _list_folder(p, Path(out_dir) if out_dir is not None else None)
    if p.suffix.lower() != ".csv":
        raise BatchError(f"{p}: expected a folder of audio files or a .csv list")
    return _list_csv(p)


# --- one line (runs in a worker process or a Ray task) --------------------------------------

_ENGINES: dict[str, object] = {}
_RECIPES: dict[str, Recipe] = {}


def worker_engine(name: str):
    """The engine this process uses for ``name``: created on first use, then reused."""
    if name not in _ENGINES:
        from stepedit_app.engines.registry import create_engine

        _ENGINES[name] = create_engine(name)
    return _ENGINES[name]


def _recipe(d: Mapping) -> Recipe:
    key = json.dumps(d, sort_keys=True)
    if key not in _RECIPES:
        _RECIPES[key] = recipe_from_dict(d)
    return _RECIPES[key]


def _fmt(v: float | None, digits: int = 2) -> str:
    if v is None or not isinstance(v, float | int) or v != v or v in (float("inf"), float("-inf")):
        return ""
    return f"{v:.{digits}f}"


def process_line(job: Mapping) -> dict:
    """Edit and deliver one line; never raises: failures become the row's ``error``.

    ``job`` is a plain dict (picklable, JSON-able): ``line``, ``input``, ``source`` (absolute
    path), ``output`` (absolute path), ``key``, ``seed``, ``recipe`` (the recipe as a dict),
    ``region``, ``transcript``, ``overrides``.
    """
    from stepedit_app.audio.clip import Region
    from stepedit_app.audio.delivery import deliver
    from stepedit_app.audio.io import read_clip, write_clip
    from stepedit_app.session.session import EditSession

    t0 = time.perf_counter()
    row = {c: "" for c in MANIFEST_COLUMNS}
    row.update(line=job["line"], input=job["input"], key=job["key"], output=job["output_label"],
               worker=f"{socket.gethostname()}:{os.getpid()}")
    try:
        recipe = _recipe(job["recipe"])
        request = recipe.request_for(job.get("overrides"), job.get("transcript"))
        clip = read_clip(job["source"])
        row["duration_s"] = _fmt(clip.duration, 3)
        region = Region.parse(job["region"], clip.rate).resolve(clip) if job.get("region") else None
        session = EditSession(clip, worker_engine(recipe.engine))
        takes = session.run(request, region)
        if not takes:
            raise StepEditError("no iteration finished")
        take = takes[-1]
        edited = take.full(clip) if recipe.delivery.scope == "full" else take.segment
        out, report = deliver(edited, recipe.delivery.spec(), seed=int(job["seed"]))
        target = Path(job["output"])
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StepEditError(f"{target.parent}: cannot create the output folder ({exc.strerror})") from None
        write_clip(out, target, recipe.delivery.subtype, protect=(clip.path,))
        d = take.deltas or {}
        row.update(
            status="done",
            out_duration_s=_fmt(report.duration_s, 3),
            loudness_lufs=_fmt(report.loudness_lufs),
            true_peak_dbtp=_fmt(report.true_peak_db),
            gain_db=_fmt(report.gain_db),
            limiter_db=_fmt(report.limiter_db),
            in_spec="" if report.in_spec is None else ("yes" if report.in_spec else "no"),
            iterations=str(take.iteration),
            **{k: _fmt(d.get(k)) for k in _DELTAS},
        )
        if report.note:
            row["error"] = report.note
    except StepEditError as exc:
        row.update(status="failed", output="", error=" ".join(str(exc).split()))
    except Exception as exc:  # noqa: BLE001 - one bad line never stops the batch
        last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" ({Path(last.filename).name}:{last.lineno})" if last else ""
        row.update(status="failed", output="", error=f"internal error: {type(exc).__name__}: {exc}{where}")
    row["elapsed_s"] = _fmt(time.perf_counter() - t0, 3)
    return row


# --- the manifest ---------------------------------------------------------------------------


class Manifest:
    """``manifest.csv``: a journal while the batch runs, compacted atomically at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def read(self) -> list[dict]:
        """Rows of an existing manifest (a torn last row from a killed run is ignored)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise BatchError(f"{self.path}: cannot be read ({exc.strerror})") from None
        text = data.decode("utf-8", errors="replace")
        if not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or tuple(header) != MANIFEST_COLUMNS:
            return []  # another layout (an older StepEdit): nothing can be trusted as done
        return [dict(zip(MANIFEST_COLUMNS, r)) for r in reader if len(r) == len(MANIFEST_COLUMNS)]

    def open(self, existing: list[dict]) -> None:
        """Start the journal: the existing rows (already validated) stay, new rows append."""
        self.rewrite(existing)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def append(self, row: Mapping) -> None:
        """Append one row and fsync it: it survives a SIGKILL of the batch right after."""
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([row.get(c, "") for c in MANIFEST_COLUMNS])
        assert self._fd is not None
        os.write(self._fd, buf.getvalue().encode("utf-8"))  # one write: the row lands whole
        os.fsync(self._fd)

    def rewrite(self, rows: Iterable[Mapping]) -> None:
        """Replace the manifest atomically with ``rows``."""
        from stepedit_app.session.recipe import write_text_atomic

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(MANIFEST_COLUMNS)
        for r in rows:
            w.writerow([r.get(c, "") for c in MANIFEST_COLUMNS])
        try:
            write_text_atomic(self.path, buf.getvalue())
        except RecipeError as exc:
            raise BatchError(str(exc)) from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# --- events ---------------------------------------------------------------------------------


@dataclass
class Counts:
    total: int = 0
    done: int = 0  # finished in this run
    skipped: int = 0  # finished by an earlier run
    failed: int = 0
    out_of_spec: int = 0  # done (this run) but outside the loudness tolerance or over the ceiling

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed


@dataclass(frozen=True)
class BatchStarted:
    counts: Counts
    to_run: int
    audio_s: float  # audio seconds still to process
    out_dir: Path
    runner: str  # "processes (N)" or "ray (address)"


@dataclass(frozen=True)
class LineFinished:
    row: dict
    skipped: bool
    counts: Counts
    audio_s_done: float
    audio_s_total: float
    elapsed_s: float

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the audio throughput so far (None before there is a rate)."""
        if self.audio_s_done <= 0 or self.elapsed_s <= 0:
            return None
        return (self.audio_s_total - self.audio_s_done) * self.elapsed_s / self.audio_s_done


@dataclass(frozen=True)
class BatchFinished:
    counts: Counts
    manifest: Path
    elapsed_s: float
    audio_s_done: float
    interrupted: bool
    failures: tuple[tuple[int, str, str], ...]  # (line, input, error)


BatchEvent = BatchStarted | LineFinished | BatchFinished


# --- runners --------------------------------------------------------------------------------


def _hash_file(path: Path) -> tuple[str | None, float, str | None]:
    """(content hash, duration in s, error) of one input (read in a thread pool)."""
    from stepedit_app.audio.io import read_info

    try:
        info = read_info(path)
        h = hashlib.blake2b(digest_size=16)
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        return h.hexdigest(), float(info.duration), None
    except StepEditError as exc:
        return None, 0.0, str(exc)
    except OSError as exc:
        return None, 0.0, f"{path}: cannot be read ({exc.strerror})"


def _parent_watchdog(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _worker_init(parent: int) -> None:
    """Local worker start-up: die with the batch process, leave Ctrl-C to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # Linux: the kernel kills this worker the moment the batch process dies
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_parent_watchdog, args=(parent,), daemon=True).start()


class _Crashed(Exception):
    """A worker process died while the line ran; ``attributable`` when it ran that line alone
    (a Ray task has its worker to itself; a local pool loses every line in flight)."""

    def __init__(self, attributable: bool = False) -> None:
        super().__init__("worker process died")
        self.attributable = attributable


class LocalRunner:
    """Lines on a pool of worker processes on this machine."""

    THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self.label = f"{self.jobs} process{'es' if self.jobs > 1 else ''}"
        self._pool: cf.ProcessPoolExecutor | None = None
        self._env_saved: dict[str, str | None] = {}

    @property
    def slots(self) -> int:
        return self.jobs

    def start(self) -> None:
        # One BLAS/OpenMP thread per worker: the parallelism is the processes (spawned workers
        # read the environment when they import numpy).
        for v in self.THREAD_VARS:
            self._env_saved[v] = os.environ.get(v)
            os.environ.setdefault(v, "1")
        self._new_pool()

    def _new_pool(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pool = cf.ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_worker_init,
                                            initargs=(os.getpid(),))

    def submit(self, job: dict) -> cf.Future:
        assert self._pool is not None
        return self._pool.submit(process_line, job)

    def wait(self, handles: list, timeout: float) -> list[tuple[object, dict | Exception]]:
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out: list[tuple[object, dict | Exception]] = []
        broken = False
        for f in done:
            exc = f.exception()
            if exc is None:
                out.append((f, f.result()))
            elif isinstance(exc, cf.process.BrokenProcessPool):
                broken = True
                out.append((f, _Crashed()))
            else:
                out.append((f, exc))
        if broken:  # the pool is unusable: start a fresh one for what follows
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._new_pool()
        return out

    def stop(self, cancel: bool = False) -> None:
        if self._pool is not None:
            if cancel:
                # stop at once: the lines in flight are dropped (outputs are atomic; a worker
                # killed mid-write leaves only a temporary file, removed by the next run)
                procs = list((getattr(self._pool, "_processes", None) or {}).values())
                self._pool.shutdown(wait=False, cancel_futures=True)
                for p in procs:
                    p.kill()
                for p in procs:
                    p.join(5)
            else:
                self._pool.shutdown(wait=True)
            self._pool = None
        for v, old in self._env_saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


def _clean_partials(out_dir: Path) -> int:
    """Remove temporary files a killed run left (``write_clip`` names them ``.NAME.*.part``)."""
    n = 0
    for dirpath, _, filenames in os.walk(out_dir):
        for fn in filenames:
            if fn.startswith(".") and fn.endswith(".part"):
                try:
                    os.unlink(os.path.join(dirpath, fn))
                    n += 1
                except OSError:
                    pass
    return n


class _Lock:
    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LOCK_NAME
        self.fd: int | None = None

    def __enter__(self) -> _Lock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return self
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise BatchError(f"{self.path.parent}: another batch is writing to this folder") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock (the kernel also does when a process dies)
            self.fd = None


def line_key(content_hash: str, recipe: Recipe, line: BatchLine) -> str:
    """The line's identity for resuming: input bytes + recipe + the line's own settings."""
    own = {"region": line.region, "transcript": line.transcript,
           "overrides": {g: dict(v) for g, v in sorted(line.overrides.items())}}
    text = json.dumps([content_hash, recipe.digest(), own], sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class Batch:
    """A batch run: plan the lines, run what is not finished, keep the manifest.

    Parameters
    ----------
    source
        A folder of audio files or a CSV list (see the module docstring).
    recipe
        What to do to every line.
    out_dir
        Where outputs and ``manifest.csv`` go (created if missing).
    jobs
        Worker processes (default: the CPUs this process may use).
    ray
        None for local processes; otherwise a Ray address (``"auto"``, ``"ray://head:10001"``,
        ``"host:6379"``) or ``""`` to let Ray decide (connect to a running cluster, else start
        a local one).  Paths must then be on storage every node sees at the same path.
    force
        Redo every line, finished or not.
    """

    def __init__(self, source: str | os.PathLike, recipe: Recipe, out_dir: str | os.PathLike, *,
                 jobs: int | None = None, ray: str | None = None, force: bool = False) -> None:
        self.source = Path(source)
        self.recipe = recipe
        self.out_dir = Path(out_dir)
        self.jobs = jobs
        self.ray = ray
        self.force = force
        if jobs is not None and jobs < 1:
            raise BatchError(f"jobs: {jobs} (allowed: 1 or more)")

    def _runner(self):
        if self.ray is None:
            return LocalRunner(self.jobs or _cpus())
        from stepedit_app.session.cluster import RayRunner

        return RayRunner(self.ray or None, self.jobs)

    def run(self, cancel: CancelToken | None = None) -> Generator[BatchEvent, None, BatchFinished]:
        """Run the batch, yielding progress events; returns (and yields last) the summary.

        Raises :class:`BatchError` before any work when the input list, the output folder or
        the recipe cannot be used.  Cancelling stops after the lines in flight are dropped;
        the manifest keeps every finished line, so the next run resumes.
        """
        cancel = cancel or CancelToken()
        t0 = time.perf_counter()
        lines = read_lines(self.source, self.out_dir)
        if not lines:
            raise BatchError(f"{self.source}: no audio files to process")
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BatchError(f"{self.out_dir}: cannot create the output folder ({exc.strerror})") from None
        with _Lock(self.out_dir):
            _clean_partials(self.out_dir)
            result = yield from self._run_locked(lines, cancel, t0)
        return result

    def _plan(self, lines: list[BatchLine]) -> tuple[list[dict], list[dict], list[tuple[dict, float]]]:
        """(rows of lines that failed already, rows of finished lines, jobs with durations)."""
        recipe = self.recipe
        caps = None
        if self.ray is None:  # a cluster's engine may not run on the driver: its workers check
            from stepedit_app.engines.registry import create_engine

            eng = create_engine(recipe.engine)
            caps = eng.capabilities()
            eng.close()
        with cf.ThreadPoolExecutor(4) as ex:
            hashed = list(ex.map(lambda ln: _hash_file(ln.source) if ln.error is None else (None, 0.0, None), lines))
        manifest = Manifest(self.out_dir / MANIFEST_NAME)
        # (key, output) -> row: two lines with the same audio and settings (copies in two
        # folders) are still two outputs
        previous = {} if self.force else {(r["key"], r["output"]): r for r in manifest.read()
                                          if r.get("status") == "done"}
        recipe_dict = recipe.to_dict()
        failed, finished, jobs = [], [], []
        outputs: dict[Path, int] = {}
        inputs = {ln.source for ln in lines}
        for ln, (digest, dur, err) in zip(lines, hashed):
            row = {c: "" for c in MANIFEST_COLUMNS}
            row.update(line=str(ln.number), input=ln.label, status="failed")
            err = ln.error or err
            request = None
            if err is None:
                try:
                    request = recipe.request_for(ln.overrides, ln.transcript)
                    if caps is not None:
                        caps.check_request(request)
                except StepEditError as exc:
                    err = f"{ln.label}: {exc}"
            if err is not None:
                row["error"] = err
                failed.append(row)
                continue
            assert digest is not None and request is not None
            key = line_key(digest, recipe, ln)
            values = {"name": ln.name, "emotion": request.slug(), "iteration": request.iterations,
                      "take": request.iterations, "engine": recipe.engine, "line": ln.number,
                      "date": time.strftime("%Y-%m-%d")}
            rel = Path(ln.subdir) / recipe.delivery.output_name(values)
            target = (self.out_dir / rel).resolve()
            if target in outputs:
                raise BatchError(f"lines {outputs[target]} and {ln.number} would both be written to {rel}; "
                                 f"give them distinct names (a 'name' column, or {{line}} in delivery.naming)")
            if target in inputs:
                raise BatchError(f"line {ln.number} would overwrite its input {ln.source}; choose another output folder")
            outputs[target] = ln.number
            prev = previous.get((key, rel.as_posix()))
            if prev is not None and target.exists():
                finished.append({**prev, "line": str(ln.number), "input": ln.label})
                continue
            jobs.append(({
                "line": str(ln.number), "input": ln.label, "source": str(ln.source), "output": str(target),
                "output_label": rel.as_posix(), "key": key, "seed": int(key[:8], 16), "recipe": recipe_dict,
                "region": ln.region, "transcript": ln.transcript,
                "overrides": {g: dict(v) for g, v in ln.overrides.items()},
            }, dur))
        return failed, finished, jobs

    def _run_locked(self, lines: list[BatchLine], cancel: CancelToken, t0: float):
        failed_rows, finished_rows, jobs = self._plan(lines)
        manifest = Manifest(self.out_dir / MANIFEST_NAME)
        rows: dict[str, dict] = {r["line"]: r for r in finished_rows}
        counts = Counts(total=len(lines), skipped=len(finished_rows))
        audio_total = sum(d for _, d in jobs)
        runner = self._runner()
        manifest.open(finished_rows)
        audio_done = 0.0
        failures: list[tuple[int, str, str]] = []
        interrupted = False
        completed = False
        try:
            runner.start()
            yield BatchStarted(Counts(**vars(counts)), len(jobs), audio_total, self.out_dir, runner.label)

            def finish(row: dict, skipped: bool, dur: float = 0.0) -> LineFinished:
                nonlocal audio_done
                rows[row["line"]] = row
                if not skipped:
                    manifest.append(row)
                    audio_done += dur
                    if row["status"] == "done":
                        counts.done += 1
                        counts.out_of_spec += row.get("in_spec") == "no"
                    else:
                        counts.failed += 1
                        failures.append((int(row["line"]), row["input"], row["error"]))
                return LineFinished(dict(row), skipped, Counts(**vars(counts)), audio_done, audio_total,
                                    time.perf_counter() - t0)

            for r in finished_rows:
                yield LineFinished(dict(r), True, Counts(**vars(counts)), 0.0, audio_total, time.perf_counter() - t0)
            for r in failed_rows:
                yield finish(r, False)
            yield from self._dispatch(runner, jobs, cancel, finish)
            completed = True
        except (KeyboardInterrupt, _Cancelled):
            interrupted = True
        finally:
            runner.stop(cancel=not completed)
            manifest.close()
            ordered = [rows[k] for k in sorted(rows, key=int)]
            manifest.rewrite(ordered)
            _clean_partials(self.out_dir)
        summary = BatchFinished(Counts(**vars(counts)), manifest.path, time.perf_counter() - t0, audio_done,
                                interrupted, tuple(failures))
        yield summary
        return summary

    def _dispatch(self, runner, jobs: list[tuple[dict, float]], cancel: CancelToken,
                  finish: Callable[[dict, bool, float], LineFinished]):
        queue = deque(jobs)
        suspects: deque[tuple[dict, float]] = deque()  # lines in flight when a worker died
        inflight: dict[object, tuple[dict, float]] = {}
        depth = max(1, runner.slots) * 2  # keep workers busy without queueing everything
        while queue or suspects or inflight:
            if cancel.cancelled:
                raise _Cancelled()
            if suspects:  # run them alone, so a line that kills its worker is found
                if not inflight:
                    job = suspects.popleft()
                    inflight[runner.submit(job[0])] = (job, True)
            else:
                while queue and len(inflight) < depth:
                    job = queue.popleft()
                    inflight[runner.submit(job[0])] = (job, False)
            for handle, result in runner.wait(list(inflight), 0.25):
                if handle not in inflight:  # already moved to the suspects by a crash just before
                    continue
                (job, alone) = inflight.pop(handle)
                if isinstance(result, _Crashed):
                    if alone or result.attributable:
                        row = _failed_row(job[0], "the worker process died while editing this line "
                                                   "(a crash or the system's out-of-memory killer)")
                        yield finish(row, False, job[1])
                    else:
                        suspects.append(job)
                        # the rest of the pool's lines died with it: they are suspects too
                        for h in list(inflight):
                            suspects.append(inflight.pop(h)[0])
                elif isinstance(result, Exception):
                    yield finish(_failed_row(job[0], f"internal error: {type(result).__name__}: {result}"), False, job[1])
                else:
                    yield finish(result, False, job[1])


class _Cancelled(Exception):
    pass


def _failed_row(job: Mapping, error: str) -> dict:
    row = {c: "" for c in MANIFEST_COLUMNS}
    row.update(line=job["line"], input=job["input"], key=job["key"], status="failed", error=error)
    return row


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def run_batch(source: str | os.PathLike, recipe: Recipe, out_dir: str | os.PathLike, *,
              jobs: int | None = None, ray: str | None = None, force: bool = False,
              on_event: Callable[[BatchEvent], None] | None = None,
              cancel: CancelToken | None = None) -> BatchFinished:
    """Run a batch to the end (see :class:`Batch`), calling ``on_event`` for each event."""
    gen = Batch(source, recipe, out_dir, jobs=jobs, ray=ray, force=force).run(cancel)
    while True:
        try:
            ev = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_event is not None:
            on_event(ev)


def read_manifest(path: str | os.PathLike) -> list[dict]:
    """The rows of a finished batch's manifest (dicts keyed by :data:`MANIFEST_COLUMNS`)."""
    return Manifest(Path(path)).read()
