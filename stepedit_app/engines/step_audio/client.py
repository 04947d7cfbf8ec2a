"""The editor's side of the Step-Audio-EditX worker: start it, talk to it, survive it.

:class:`WorkerClient` starts ``worker.py`` with the model environment's Python (in its own
process group, stderr appended to the log file), reads its JSON-line events on a thread and
hands them to the request waiting for them.  Requests are generators: they yield progress
events (heartbeats), return the result, and check the caller's cancel token every 0.1 s.

Failure policy (every failure is one line naming the log file):

* the worker **dies** (crash, killed, OOM killer): reported with its exit status and the last
  line of its log; the next request starts a new worker;
* the worker **hangs**: a call running longer than its time limit, or no sign of life
  (heartbeats come every second) for ``stall_s`` while it uses no CPU or is stopped (a C
  extension holding the GIL silences the heartbeat of a busy worker): the process group is
  killed and reported;
* **out of GPU memory**: reported with a hint; the worker is stopped so the memory is freed;
* a **malformed reply**: the worker is stopped (it no longer speaks the protocol);
* **cancel**: a ``cancel`` message goes to the worker and the request returns at once; the
  worker stops the call (v1: at the next generated token) and discards its output.

Nothing here touches the session: its takes stay as they are whatever the worker does.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Generator
from pathlib import Path

from stepedit_app.engines.base import CancelToken
from stepedit_app.engines.step_audio import protocol
from stepedit_app.engines.step_audio.settings import StepAudioSettings, log_path
from stepedit_app.errors import Cancelled, EngineError, EngineUnavailable

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
LOG_ROTATE_BYTES = 5 * 2**20
#: Silence tolerated while the model loads (imports and weight loading can hold the GIL).
LOAD_STALL_S = 300.0
_DEAD = {"event": "_dead"}
_MALFORMED = {"event": "_malformed"}


class WorkerFailure(EngineError):
    """The worker died, hung, ran out of memory or broke the protocol (one line)."""


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        extra = " (the system may have run out of memory)" if name == "SIGKILL" else ""
        return f"was killed by {name}{extra}"
    return f"exited with status {code}"


class WorkerClient:
    """One worker process and the conversation with it.

    Parameters
    ----------
    settings
        Interpreter, source and models folders, options and time limits.
    worker_script
        The worker to start (tests may substitute a misbehaving one).
    log_file
        Where the worker's stderr goes (default: the user's log folder).
    """

    def __init__(self, settings: StepAudioSettings, worker_script: Path | None = None,
                 log_file: Path | None = None) -> None:
        self.settings = settings
        self.worker_script = Path(worker_script or WORKER_SCRIPT)
        self.log_file = Path(log_file or log_path())
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._queues: dict[str, queue.Queue] = {}
        self._hello_q: queue.Queue = queue.Queue()
        self._qlock = threading.Lock()
        self._send_lock = threading.Lock()
        self._busy = threading.Lock()
        self._ids = itertools.count(1)
        self._last_seen = 0.0
        self._cpu_mark = -1
        self._malformed: str | None = None
        self._tmp: Path | None = None
        self.hello: dict | None = None
        self.loaded: dict | None = None
        self._load_id: str | None = None
        #: Figures of the last finished call (the engine puts them on the take).
        self.last_result: dict | None = None
        self.starts = 0

    # --- process ---------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _where(self) -> str:
        return f"log: {self.log_file}"

    def _open_log(self):
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.log_file.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(self.log_file, self.log_file.with_name(self.log_file.name + ".1"))
        except OSError:
            pass
        f = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child, closed right after spawn
        f.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.settings.python} "
                f"{self.worker_script} ===\n".encode())
        f.flush()
        return f

    def start(self, cancel: CancelToken | None = None) -> Generator[dict, None, dict]:
        """Start the worker and wait for its ``hello``; yields nothing but keeps ``cancel`` alive."""
        self.stop()
        s = self.settings
        if not Path(s.python).exists():
            raise EngineUnavailable(f"the model environment's Python {s.python} does not exist; run stepedit setup step-audio")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
        args = [s.python, "-u", str(self.worker_script), "--source", s.source]
        kw: dict = {}
        if os.name == "posix":
            kw["start_new_session"] = True  # a terminal's Ctrl+C is the editor's, not the worker's
        else:  # pragma: no cover - Windows
            kw["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        logf = self._open_log()
        try:
            self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=logf,
                                          env=env, close_fds=True, **kw)
        except OSError as exc:
            raise EngineUnavailable(f"cannot start the model environment's Python {s.python}: {exc.strerror or exc}") from None
        finally:
            logf.close()
        self.starts += 1
        self._malformed = None
        self._last_seen = time.monotonic()
        self._cpu_mark = -1
        self._hello_q = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(self._proc,), name="step-audio-reader", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + min(180.0, s.load_timeout_s)
        while True:
            try:
                msg = self._hello_q.get(timeout=0.1)
                break
            except queue.Empty:
                pass
            if cancel is not None and cancel.cancelled:
                self.stop()
                raise Cancelled()
            if time.monotonic() > deadline:
                self.kill()
                raise WorkerFailure(f"the step-audio worker did not start within {min(180.0, s.load_timeout_s):.0f} s; {self._where()}")
        if msg is _DEAD or msg is _MALFORMED:
            self._fail_dead("while starting")
        if msg.get("protocol") != protocol.PROTOCOL_VERSION:
            self.kill()
            raise WorkerFailure(f"the step-audio worker speaks protocol {msg.get('protocol')!r}, StepEdit "
                                f"{protocol.PROTOCOL_VERSION}; {self._where()}")
        self.hello = msg
        return msg
        yield  # pragma: no cover - makes this a generator

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                self._last_seen = time.monotonic()
                if not raw.strip():
                    continue
                try:
                    msg = protocol.decode(raw, "event")
                except protocol.ProtocolError as exc:
                    self._malformed = str(exc)
                    self._broadcast(_MALFORMED)
                    continue
                if msg["event"] == "hello" and "id" not in msg:
                    self._hello_q.put(msg)
                    continue
                with self._qlock:
                    q = self._queues.get(msg.get("id", ""))
                if q is not None:
                    q.put(msg)
                elif msg["event"] == "error" and not msg.get("id"):
                    self._malformed = f"the worker refused a request line: {msg.get('message')}"
                    self._broadcast(_MALFORMED)
        except (OSError, ValueError):
            pass
        self._broadcast(_DEAD)

    def _broadcast(self, sentinel: dict) -> None:
        self._hello_q.put(sentinel)
        with self._qlock:
            for q in self._queues.values():
                q.put(sentinel)

    def _send(self, message: dict) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise BrokenPipeError
        data = protocol.encode(message)
        with self._send_lock:
            proc.stdin.write(data)
            proc.stdin.flush()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout`` seconds."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                self._send({"op": "shutdown", "id": f"s{next(self._ids)}"})
            except (OSError, ValueError):
                pass
            try:
                proc.wait(timeout)  # answered after the running request, if any
            except subprocess.TimeoutExpired:
                try:
                    proc.stdin.close()  # type: ignore[union-attr]  # end of input: the worker exits at once
                    proc.wait(2.0)
                except (OSError, ValueError, subprocess.TimeoutExpired):
                    self.kill()
        self._cleanup()

    def kill(self) -> None:
        """Kill the worker and everything it started (its process group)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                if os.name == "posix":
                    os.killpg(proc.pid, signal.SIGKILL)
                else:  # pragma: no cover
                    proc.kill()
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover - unkillable
                pass
        self._cleanup()

    def _cleanup(self) -> None:
        proc = self._proc
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except (OSError, ValueError):
                    pass
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(2.0)
        self._proc = None
        self._reader = None
        self.loaded = None
        self._load_id = None
        with self._qlock:
            self._queues.clear()

    def close(self) -> None:
        """Stop the worker and remove the temporary folder."""
        self.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # --- temporary files -------------------------------------------------------------------------
    def temp_path(self, name: str) -> Path:
        """A path in this client's temporary folder (created on first use)."""
        if self._tmp is None or not self._tmp.is_dir():
            self._tmp = Path(tempfile.mkdtemp(prefix="stepedit-step-audio-"))
        return self._tmp / name

    def _busy_computing(self) -> bool:
        """Whether a silent worker is still computing (Linux: its CPU time grew since the last
        look and it is not stopped).  A C extension that holds the GIL silences the heartbeat
        thread without the worker being hung; a deadlocked or stopped worker uses no CPU."""
        proc = self._proc
        if proc is None:
            return False
        try:
            with open(f"/proc/{proc.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            return False  # not Linux, or gone: silence alone decides
        state, cpu = fields[0], int(fields[11]) + int(fields[12])
        busy = state not in (b"T", b"t", b"Z", b"X") and cpu > self._cpu_mark
        self._cpu_mark = cpu
        if busy:
            self._last_seen = time.monotonic()  # give it another stall window
        return busy

    # --- failures --------------------------------------------------------------------------------
    def _last_log_line(self) -> str:
        try:
            with open(self.log_file, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 8192))
                lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        lines = [ln for ln in lines if not ln.startswith("===")]
        if not lines:
            return ""
        last = lines[-1]
        return last if len(last) <= 200 else last[:199] + "…"

    def _fail_dead(self, what: str):
        proc = self._proc
        if self._malformed:
            detail = self._malformed
            self.kill()
            raise WorkerFailure(f"the step-audio worker sent a malformed reply {what} ({detail}) and was stopped; "
                                f"the next edit restarts it; {self._where()}")
        code = None
        if proc is not None:
            try:
                code = proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        last = self._last_log_line()
        tail = f"; last log line: {last}" if last else ""
        raise WorkerFailure(f"the step-audio worker {_describe_exit(code)} {what}{tail}; the next edit restarts it; "
                            f"{self._where()}")

    # --- requests --------------------------------------------------------------------------------
    def request(self, op: str, payload: dict, cancel: CancelToken | None = None,
                timeout_s: float | None = None, what: str = "") -> Generator[dict, None, dict]:
        """Send one request; yield its progress events; return its ``result`` event.

        Raises :class:`~stepedit_app.errors.Cancelled` (after telling the worker) when
        ``cancel`` is set, :class:`WorkerFailure` when the worker dies, hangs, runs out of
        memory or breaks the protocol, and :class:`~stepedit_app.errors.EngineError` when the
        official call fails (the worker then stays up).
        """
        what = what or f"during {op}"
        timeout_s = self.settings.timeout_s if timeout_s is None else timeout_s
        while not self._busy.acquire(timeout=0.1):  # one request at a time; stay cancellable
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            yield {"event": "progress", "stage": "waiting for the worker"}
        try:
            if not self.alive:
                yield from self.start(cancel)
            if op != "load" and op != "hello" and self.loaded is None:
                yield from self._load(cancel)
            rid = f"r{next(self._ids)}"
            return (yield from self._exchange(rid, op, payload, cancel, timeout_s, what))
        finally:
            self._busy.release()

    def ensure_ready(self, cancel: CancelToken | None = None) -> Generator[dict, None, dict]:
        """Start the worker and load the model if needed; return the load result."""
        while not self._busy.acquire(timeout=0.1):
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            yield {"event": "progress", "stage": "waiting for the worker"}
        try:
            if not self.alive:
                yield from self.start(cancel)
            if self.loaded is None:
                yield from self._load(cancel)
            assert self.loaded is not None
            return self.loaded
        finally:
            self._busy.release()

    def _load(self, cancel: CancelToken | None) -> Generator[dict, None, None]:
        # A load cancelled half way goes on in the worker; the next request waits for it.
        if self._load_id is None:
            self._load_id = f"load{next(self._ids)}"
            with self._qlock:
                self._queues[self._load_id] = queue.Queue()
            s = self.settings
            try:
                self._send({"op": "load", "id": self._load_id, "source": s.source, "models": s.models,
                            "options": s.options()})
            except (BrokenPipeError, OSError, ValueError):
                self._fail_dead("while loading the model")
        # Imports and weight loading can hold the GIL (and so the heartbeat) for a long time:
        # during a load only a long silence counts as a hang.
        res = yield from self._wait(self._load_id, cancel, self.settings.load_timeout_s, "while loading the model",
                                    cancel_remote=False, stall_s=max(self.settings.stall_s, LOAD_STALL_S))
        self.loaded = res
        self._load_id = None

    def _exchange(self, rid: str, op: str, payload: dict, cancel: CancelToken | None, timeout_s: float,
                  what: str) -> Generator[dict, None, dict]:
        with self._qlock:
            self._queues[rid] = queue.Queue()
        try:
            self._send({"op": op, "id": rid, **payload})
        except (BrokenPipeError, OSError, ValueError):
            self._fail_dead(what)
        return (yield from self._wait(rid, cancel, timeout_s, what))

    def _wait(self, rid: str, cancel: CancelToken | None, timeout_s: float, what: str,
              cancel_remote: bool = True, stall_s: float | None = None) -> Generator[dict, None, dict]:
        with self._qlock:
            q = self._queues.get(rid)
        assert q is not None
        started = time.monotonic()
        stall = self.settings.stall_s if stall_s is None else stall_s
        try:
            while True:
                try:
                    msg = q.get(timeout=0.1)
                except queue.Empty:
                    msg = None
                if cancel is not None and cancel.cancelled:
                    if cancel_remote:
                        try:
                            self._send({"op": "cancel", "id": f"c{next(self._ids)}", "target": rid})
                        except (OSError, ValueError):
                            pass
                        with self._qlock:
                            self._queues.pop(rid, None)
                    raise Cancelled()
                now = time.monotonic()
                if msg is None:
                    if self._proc is not None and self._proc.poll() is not None and self._reader is not None \
                            and not self._reader.is_alive():
                        self._fail_dead(what)
                    if now - started > timeout_s:
                        self.kill()
                        raise WorkerFailure(f"the step-audio worker did not finish {what.removeprefix('during ').removeprefix('while ')} "
                                            f"within {timeout_s:.0f} s (hung) and was stopped; the next edit restarts it; "
                                            f"{self._where()}")
                    if now - self._last_seen > stall and not self._busy_computing():
                        self.kill()
                        raise WorkerFailure(f"the step-audio worker stopped answering {what} (no sign of life for "
                                            f"{stall:.0f} s) and was stopped; the next edit restarts it; {self._where()}")
                    continue
                ev = msg["event"]
                if msg is _DEAD or msg is _MALFORMED:
                    self._fail_dead(what)
                if ev == "progress":
                    yield msg
                elif ev == "result":
                    with self._qlock:
                        self._queues.pop(rid, None)
                    return msg
                elif ev == "cancelled":
                    raise Cancelled()
                elif ev == "error":
                    self._raise_error(msg, what)
                else:
                    self._malformed = f"unexpected event {ev!r} for request {rid}"
                    self._fail_dead(what)
        finally:
            with self._qlock:
                if rid != self._load_id:
                    self._queues.pop(rid, None)

    def _raise_error(self, msg: dict, what: str):
        kind = msg.get("kind")
        text = " ".join(str(msg.get("message", "")).split()) or "no details"
        if kind == "oom":
            self.kill()
            raise WorkerFailure(f"out of GPU memory {what} ({text}); try a quantization or a smaller GPU share "
                                f"(stepedit setup step-audio --quantization ...) or a shorter region; the worker "
                                f"was stopped to free the memory; {self._where()}")
        if kind == "load":
            self.kill()
            raise WorkerFailure(f"the Step-Audio-EditX model did not load: {text}; run stepedit doctor; {self._where()}")
        if kind == "bad_request":
            raise EngineError(f"the step-audio worker refused the request {what}: {text}")
        raise EngineError(f"Step-Audio-EditX failed {what}: {text}; {self._where()}")


def python_version_of(python: str, timeout: float = 30.0) -> tuple[str | None, str]:
    """``(version, problem)`` of an interpreter, by running it (``stepedit doctor``)."""
    try:
        r = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                           capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return None, f"{python} does not exist"
    except PermissionError:
        return None, f"{python} is not executable"
    except OSError as exc:
        return None, f"{python} does not run ({exc.strerror or exc})"
    except subprocess.TimeoutExpired:
        return None, f"{python} did not answer within {timeout:.0f} s"
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"{python} fails to start ({last})"
    return r.stdout.strip(), ""


def probe(settings: StepAudioSettings, timeout: float = 300.0) -> tuple[dict | None, str]:
    """Run the worker's ``--probe`` in the model environment: ``(hello with imports, problem)``."""
    args = [settings.python, "-u", str(WORKER_SCRIPT), "--source", settings.source, "--probe"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        r = subprocess.run(args, capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except OSError as exc:
        return None, f"cannot run {settings.python} ({exc.strerror or exc})"
    except subprocess.TimeoutExpired:
        return None, f"the probe did not finish within {timeout:.0f} s"
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    if not lines:
        err = (r.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        return None, f"the worker did not start in the model environment ({err})"
    try:
        return protocol.decode(lines[-1], "event"), ""
    except protocol.ProtocolError as exc:
        return None, f"the worker's answer is malformed ({exc})"

