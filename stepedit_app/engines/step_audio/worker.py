"""The Step-Audio-EditX worker: a long-lived process in the model's own Python environment.

Started by StepEdit by file path (``MODEL_PYTHON worker.py --source DIR``), so StepEdit need
not be installed in that environment: this script imports only the standard library, its
sibling ``protocol.py``, and, when asked to load, the official code from the source folder
(``tts``, ``tokenizer``, ``model_loader``) and what that code imports (torch...).

* stdout carries the protocol and nothing else: at start the real stdout descriptor is
  duplicated for the protocol and descriptor 1 is pointed at stderr, so prints from the
  official code, its libraries and C extensions all land in the log (stderr).
* The upstream generation is read from ``StepAudioTTS.__init__``'s signature: v1
  (Transformers: ``quantization_config``, ``torch_dtype``, ``device_map``) or v2 (vLLM:
  ``gpu_memory_utilization``, ``quantization``, ``dtype``...).  Before the import it is read from
  the source text (so the v2 attention backend can be set before vLLM is imported), after it
  from the class itself.
* Weights load once; requests are served one at a time, in order.  A reader thread takes
  ``cancel`` requests at once; a heartbeat thread reports progress while a request runs.
  On v1 a cancel also stops token generation at the next token (a stopping criterion added
  to the model's ``generate`` calls); otherwise the running call finishes and is discarded.
* ``--probe`` prints one ``hello`` event with an ``imports`` field (whether the official
  modules import here) and exits: ``stepedit doctor`` uses it.
"""

from __future__ import annotations

import ast
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if __package__:  # imported as part of StepEdit (tests, tools)
    from stepedit_app.engines.step_audio import protocol
else:  # run by file path in the model's environment: the sibling module, by path
    sys.path.insert(0, _HERE)
    import protocol  # type: ignore[no-redef]
    # Nothing else from this folder may shadow the official modules (``config``, ``utils``...).
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.metadata  # noqa: E402
import inspect  # noqa: E402
import platform  # noqa: E402
import queue  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

V1_PARAMETERS = {"quantization_config", "torch_dtype", "device_map"}
V2_PARAMETERS = {"gpu_memory_utilization", "tensor_parallel_size", "max_model_len", "enforce_eager",
                 "kv_cache_dtype", "cosyvoice_dtype"}
PACKAGES = ("torch", "torchaudio", "transformers", "vllm", "onnxruntime", "onnxruntime-gpu", "numpy",
            "soundfile", "bitsandbytes")
TOKENIZER_DIR = "Step-Audio-Tokenizer"
MODEL_DIR = "Step-Audio-EditX"
AWQ_DIR = "Step-Audio-EditX-AWQ-4bit"


def log(text: str) -> None:
    sys.stderr.write(f"[worker {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


# --- facts about the source tree (no import) ------------------------------------------------


def generation_from_parameters(names: set[str]) -> str | None:
    """``"v1"``, ``"v2"`` or None from the names of ``StepAudioTTS.__init__``'s parameters."""
    if names & V2_PARAMETERS:
        return "v2"
    if {"model_path", "audio_tokenizer"} <= names:
        return "v1"
    return None


def detect_generation(source: str) -> tuple[str | None, list[str], str]:
    """Read ``StepAudioTTS.__init__``'s parameters from ``source/tts.py`` without importing it.

    Returns ``(generation, parameter names, problem)``; ``problem`` is "" when all went well.
    """
    path = os.path.join(source, "tts.py")
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
    except OSError as exc:
        return None, [], f"cannot read {path}: {exc.strerror or exc}"
    except SyntaxError as exc:
        return None, [], f"{path} does not parse with this Python ({exc.msg}, line {exc.lineno})"
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "StepAudioTTS":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    a = item.args
                    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)][1:]
                    gen = generation_from_parameters(set(names))
                    return gen, names, "" if gen else "StepAudioTTS.__init__ has an unknown signature"
            return None, [], "StepAudioTTS has no __init__"
    return None, [], f"{path} defines no StepAudioTTS class"


def source_commit(source: str) -> str | None:
    """The commit checked out in ``source`` (read from ``.git`` without running git), or None."""
    git = os.path.join(source, ".git")
    try:
        if os.path.isfile(git):  # a worktree or submodule: "gitdir: PATH"
            with open(git, encoding="utf-8") as f:
                line = f.read().strip()
            if not line.startswith("gitdir:"):
                return None
            git = os.path.join(source, line.split(":", 1)[1].strip())
        with open(os.path.join(git, "HEAD"), encoding="utf-8") as f:
            head = f.read().strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head.split(":", 1)[1].strip()
        common = git
        cfile = os.path.join(git, "commondir")
        if os.path.isfile(cfile):
            with open(cfile, encoding="utf-8") as f:
                common = os.path.join(git, f.read().strip())
        for base in (git, common):
            p = os.path.join(base, ref)
            if os.path.isfile(p):
                with open(p, encoding="utf-8") as f:
                    return f.read().strip() or None
        packed = os.path.join(common, "packed-refs")
        if os.path.isfile(packed):
            with open(packed, encoding="utf-8") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == ref:
                        return parts[0]
    except OSError:
        return None
    return None


def package_versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
        except Exception:  # noqa: BLE001 - a broken distribution must not stop the worker
            out[name] = None
    return out


def nvidia_smi() -> list[dict]:
    """GPUs as ``nvidia-smi`` reports them (name, total and free MiB); [] without the tool.

    Asked of the driver's tool rather than of torch so that the worker does not create a CUDA
    context before vLLM (v2) starts its engine processes."""
    import subprocess

    try:
        r = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"],
                           capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return []
    out = []
    for line in r.stdout.splitlines() if r.returncode == 0 else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            try:
                out.append({"name": parts[0], "total_mb": float(parts[1]), "free_mb": float(parts[2])})
            except ValueError:
                continue
    return out


def device_info() -> dict:
    """CUDA availability, device name and memory (MiB), without creating a CUDA context."""
    info: dict = {"cuda": None, "device": "cpu", "memory_total_mb": None, "memory_free_mb": None, "torch_error": None}
    gpus = nvidia_smi()
    if gpus:
        info.update(device=gpus[0]["name"], memory_total_mb=round(gpus[0]["total_mb"]),
                    memory_free_mb=round(gpus[0]["free_mb"]), gpus=len(gpus))
    # NVML-based check: answers without initialising CUDA in this process
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - reported, not fatal: the probe says what is missing
        info["torch_error"] = f"{type(exc).__name__}: {exc}"
        return info
    try:
        info["cuda"] = bool(torch.cuda.is_available())
        info["cuda_version"] = torch.version.cuda
        if info["cuda"] and not gpus:  # no nvidia-smi: ask torch (this creates a context)
            info["device"] = torch.cuda.get_device_name(0)
            free, total = torch.cuda.mem_get_info(0)
            info["memory_total_mb"] = round(total / 2**20)
            info["memory_free_mb"] = round(free / 2**20)
    except Exception as exc:  # noqa: BLE001
        info["cuda"] = False
        info["torch_error"] = f"CUDA query failed: {type(exc).__name__}: {exc}"
    return info


def is_oom(exc: BaseException) -> bool:
    name = type(exc).__name__
    text = str(exc).lower()
    return name in ("OutOfMemoryError", "OutOfMemoryError_") or "out of memory" in text or "cuda oom" in text


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 300 else text[:299] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- the worker ------------------------------------------------------------------------------


class Cancelled(Exception):
    pass


class Worker:
    def __init__(self, out, source: str | None) -> None:
        self._out = out
        self._write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self.source = source
        self.requests: queue.Queue = queue.Queue()
        self.cancelled: set[str] = set()
        self.current: str | None = None
        self.stage = ""
        self.started = 0.0
        self.tts = None
        self.loaded_key = None
        self.generation: str | None = None
        self.arguments: dict = {}
        self.torch = None

    # -- output
    def emit(self, message: dict) -> None:
        data = protocol.encode(message)
        with self._write_lock:
            try:
                self._out.write(data)
                self._out.flush()
            except (BrokenPipeError, OSError):
                os._exit(0)  # the client is gone: nothing left to serve

    def hello(self) -> dict:
        gen, _, problem = detect_generation(self.source) if self.source else (None, [], "")
        msg = {
            "event": "hello",
            "protocol": protocol.PROTOCOL_VERSION,
            "pid": os.getpid(),
            "python": platform.python_version(),
            "executable": sys.executable,
            "platform": platform.platform(),
            "packages": package_versions(),
            "generation": gen,
            "generation_problem": problem,
            "source": self.source,
            "source_commit": source_commit(self.source) if self.source else None,
            "loaded": self.tts is not None,
        }
        msg.update(device_info())
        return msg

    # -- threads
    def read_requests(self, stdin) -> None:
        for raw in stdin:
            if not raw.strip():
                continue
            try:
                msg = protocol.decode(raw, "op")
            except protocol.ProtocolError as exc:
                log(f"bad request line: {exc}")
                self.emit({"event": "error", "id": "", "kind": "bad_request", "message": f"bad request: {exc}"})
                continue
            if msg["op"] == "cancel":
                target = msg.get("target")
                if isinstance(target, str):
                    with self._state_lock:
                        self.cancelled.add(target)
                    log(f"cancel requested for {target}")
                continue
            if msg["op"] == "shutdown":
                with self._state_lock:
                    if self.current:
                        self.cancelled.add(self.current)
            self.requests.put(msg)
        # stdin closed: the client is gone (or asked us to go); free the GPU now
        log("stdin closed; exiting")
        os._exit(0)

    def heartbeat(self) -> None:
        while True:
            time.sleep(protocol.HEARTBEAT_S)
            with self._state_lock:
                rid, stage, started = self.current, self.stage, self.started
            if rid:
                self.emit({"event": "progress", "id": rid, "stage": stage,
                           "elapsed_s": round(time.monotonic() - started, 3)})

    def is_cancelled(self, rid: str) -> bool:
        with self._state_lock:
            return rid in self.cancelled

    def set_stage(self, stage: str) -> None:
        with self._state_lock:
            self.stage = stage

    # -- main loop
    def serve(self) -> None:
        while True:
            msg = self.requests.get()
            rid, op = msg["id"], msg["op"]
            if self.is_cancelled(rid):
                self.emit({"event": "cancelled", "id": rid})
                continue
            with self._state_lock:
                self.current, self.stage, self.started = rid, op, time.monotonic()
            try:
                if op == "shutdown":
                    self.emit({"event": "bye", "id": rid})
                    return
                reply = getattr(self, f"op_{op}")(msg)
                if self.is_cancelled(rid):
                    reply = {"event": "cancelled", "id": rid}
            except Cancelled:
                reply = {"event": "cancelled", "id": rid}
            except BadRequest as exc:
                reply = {"event": "error", "id": rid, "kind": "bad_request", "message": str(exc)}
            except LoadError as exc:
                kind = "oom" if exc.oom else "load"
                reply = {"event": "error", "id": rid, "kind": kind, "message": str(exc)}
            except BaseException as exc:  # noqa: BLE001 - every failure becomes one line + the log
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                traceback.print_exc(file=sys.stderr)
                if self.is_cancelled(rid):
                    reply = {"event": "cancelled", "id": rid}
                else:
                    kind = "oom" if is_oom(exc) else "upstream"
                    reply = {"event": "error", "id": rid, "kind": kind, "message": one_line(exc)}
            finally:
                with self._state_lock:
                    self.current = None
                    self.cancelled.discard(rid)
            log(f"{op} {rid}: {reply['event']}" + (f" ({reply.get('kind')}: {reply.get('message')})"
                                                   if reply["event"] == "error" else ""))
            self.emit(reply)

    # -- operations
    def op_hello(self, msg: dict) -> dict:
        h = self.hello()
        h["id"] = msg["id"]
        return h

    def op_load(self, msg: dict) -> dict:
        source, models = msg.get("source"), msg.get("models")
        options = msg.get("options") or {}
        if not isinstance(source, str) or not isinstance(models, str) or not isinstance(options, dict):
            raise BadRequest("load needs 'source' and 'models' folders and an 'options' object")
        key = (source, models, tuple(sorted((k, str(v)) for k, v in options.items())))
        if self.tts is not None:
            if key != self.loaded_key:
                raise BadRequest("a model is already loaded with other settings; restart the worker")
            return {"event": "result", "id": msg["id"], "generation": self.generation, "load_s": 0.0,
                    "arguments": self.arguments, "peak_mem_mb": None, "already_loaded": True}
        t0 = time.monotonic()
        self.load(source, models, options)
        self.loaded_key = key
        return {"event": "result", "id": msg["id"], "generation": self.generation,
                "load_s": round(time.monotonic() - t0, 3), "arguments": self.arguments,
                "peak_mem_mb": self.peak_mb(), "device_used_mb": self.device_used_mb()}

    def load(self, source: str, models: str, options: dict) -> None:
        if not os.path.isfile(os.path.join(source, "tts.py")):
            raise LoadError(f"{source} holds no tts.py (is it the Step-Audio-EditX source folder?)")
        gen, _, problem = detect_generation(source)
        if gen == "v2":
            # v2 needs vLLM's Triton attention (sqrt-ALiBi); it must be chosen before vllm is imported.
            os.environ.setdefault("VLLM_ATTENTION_BACKEND", "TRITON_ATTN")
        self.set_stage("importing")
        sys.path.insert(0, source)
        os.chdir(source)  # the official entry points run from the source folder
        try:
            tts_mod = importlib.import_module("tts")
            tok_mod = importlib.import_module("tokenizer")
        except BaseException as exc:  # noqa: BLE001
            traceback.print_exc(file=sys.stderr)
            raise LoadError(f"the official code does not import: {one_line(exc)}", is_oom(exc)) from None
        try:
            import torch
            self.torch = torch
        except Exception:  # noqa: BLE001 - stand-ins and probes may lack it; memory figures are then null
            self.torch = None
        cls = getattr(tts_mod, "StepAudioTTS", None)
        tok_cls = getattr(tok_mod, "StepAudioTokenizer", None)
        if cls is None or tok_cls is None:
            raise LoadError("the source has no tts.StepAudioTTS or tokenizer.StepAudioTokenizer")
        params = inspect.signature(cls.__init__).parameters
        names = set(list(params)[1:])
        self.generation = generation_from_parameters(names)
        if self.generation is None:
            raise LoadError(f"unknown StepAudioTTS signature ({', '.join(sorted(names))}); {problem}".rstrip("; "))
        local = "local"
        try:
            ml = importlib.import_module("model_loader")
            local = getattr(getattr(ml, "ModelSource", None), "LOCAL", "local")
        except ImportError:
            pass
        tok_dir = os.path.join(models, TOKENIZER_DIR)
        quant = options.get("quantization") or None
        model_dir = os.path.join(models, AWQ_DIR if quant in ("awq-4bit", "awq") else MODEL_DIR)
        kwargs = self.constructor_arguments(names, options, local)
        self.arguments = {"model_path": model_dir, "audio_tokenizer": tok_dir,
                          **{k: (str(v) if not isinstance(v, (int, float, bool, str, type(None))) else v)
                             for k, v in kwargs.items()}}
        log(f"loading generation {self.generation}: StepAudioTokenizer({tok_dir!r}), "
            f"StepAudioTTS({model_dir!r}, {kwargs})")
        share = options.get("gpu_share")
        if self.generation == "v1" and share and self.torch is not None and self.torch.cuda.is_available():
            # v1 has no memory option of its own: cap PyTorch's allocator instead.
            self.torch.cuda.set_per_process_memory_fraction(float(share))
        self.reset_peak()
        try:
            self.set_stage("loading tokenizer")
            tok_params = set(inspect.signature(tok_cls.__init__).parameters)
            tok_kw = {"model_source": local} if "model_source" in tok_params else {}
            tokenizer = tok_cls(tok_dir, **tok_kw)
            self.set_stage("loading model")
            self.tts = cls(model_dir, tokenizer, **kwargs)
        except BaseException as exc:  # noqa: BLE001
            traceback.print_exc(file=sys.stderr)
            self.tts = None
            raise LoadError(f"loading the model failed: {one_line(exc)}", is_oom(exc)) from None
        self.install_cancel_hook()

    def constructor_arguments(self, names: set[str], options: dict, local) -> dict:
        dtype = options.get("dtype") or None
        quant = options.get("quantization") or None
        share = options.get("gpu_share")
        kw: dict = {}
        if "model_source" in names:
            kw["model_source"] = local
        if self.generation == "v1":
            if quant:
                if "quantization_config" not in names:
                    raise LoadError("this source's StepAudioTTS takes no quantization (update the source)")
                kw["quantization_config"] = quant
            if dtype:
                if "torch_dtype" not in names:
                    raise LoadError("this source's StepAudioTTS takes no dtype (update the source)")
                try:
                    import torch
                    kw["torch_dtype"] = getattr(torch, dtype)
                except (ImportError, AttributeError):
                    raise LoadError(f"dtype {dtype!r} is not a torch dtype here") from None
            if "device_map" in names:
                kw["device_map"] = "cuda"
        else:
            if quant:
                kw["quantization"] = quant
            if dtype and "dtype" in names:
                kw["dtype"] = dtype
            if share and "gpu_memory_utilization" in names:
                kw["gpu_memory_utilization"] = float(share)
        return kw

    def install_cancel_hook(self) -> None:
        """v1 generates with ``self.llm.generate``: add a stopping criterion that ends
        generation at the next token once the running request is cancelled."""
        llm = getattr(self.tts, "llm", None)
        generate = getattr(llm, "generate", None)
        if self.generation != "v1" or not callable(generate):
            return
        worker = self
        try:
            from transformers import StoppingCriteria, StoppingCriteriaList
        except Exception:  # noqa: BLE001 - no transformers (a stand-in): a plain callable will do
            StoppingCriteria, StoppingCriteriaList = object, list  # noqa: N806

        class StopWhenCancelled(StoppingCriteria):  # type: ignore[misc, valid-type]
            def __call__(self, input_ids, scores, **kwargs):
                with worker._state_lock:
                    stop = worker.current is not None and worker.current in worker.cancelled
                if worker.torch is not None and hasattr(input_ids, "shape"):
                    return worker.torch.full((input_ids.shape[0],), stop, dtype=worker.torch.bool,
                                             device=input_ids.device)
                return stop

        def generate_with_cancel(*args, **kwargs):
            crit = kwargs.get("stopping_criteria")
            crits = StoppingCriteriaList(list(crit) if crit else [])
            crits.append(StopWhenCancelled())
            kwargs["stopping_criteria"] = crits
            return generate(*args, **kwargs)

        try:
            llm.generate = generate_with_cancel
        except (AttributeError, TypeError):
            log("could not add the cancel hook; cancel waits for the running call")

    # -- memory
    def _cuda_live(self) -> bool:
        """CUDA is in use in this process (never initialise it just to measure: on v2 that
        would happen before vLLM starts its engine processes)."""
        t = self.torch
        return t is not None and t.cuda.is_available() and t.cuda.is_initialized()

    def reset_peak(self) -> None:
        if self._cuda_live():
            self.torch.cuda.reset_peak_memory_stats()

    def peak_mb(self) -> float | None:
        """Peak memory PyTorch allocated in this process since :meth:`reset_peak` (v2's LLM runs
        in vLLM's engine process: see :meth:`device_used_mb`)."""
        if self._cuda_live():
            return round(self.torch.cuda.max_memory_allocated() / 2**20, 1)
        return None

    def device_used_mb(self) -> float | None:
        """Memory in use on the device by every process (what the GPU has left to give)."""
        if self._cuda_live():
            free, total = self.torch.cuda.mem_get_info()
            return round((total - free) / 2**20, 1)
        gpus = nvidia_smi() if self.torch is not None and self.torch.cuda.is_available() else []
        return round(gpus[0]["total_mb"] - gpus[0]["free_mb"], 1) if gpus else None

    def seed(self, seed) -> None:
        if seed is None:
            return
        import random
        random.seed(seed)
        t = self.torch
        if t is not None:
            t.manual_seed(int(seed) % 2**63)

    def op_edit(self, msg: dict) -> dict:
        self.require_loaded()
        inp, out = msg.get("input"), msg.get("output")
        edit_type = msg.get("edit_type")
        if not isinstance(inp, str) or not isinstance(out, str) or not isinstance(edit_type, str):
            raise BadRequest("edit needs 'input', 'output' and 'edit_type'")
        if not os.path.isfile(inp):
            raise BadRequest(f"input file {inp} is missing")
        self.seed(msg.get("seed"))
        self.reset_peak()
        self.set_stage(f"{edit_type} {msg.get('edit_info') or ''}".strip())
        t0 = time.monotonic()
        audio, rate = self.tts.edit(inp, msg.get("audio_text") or "", edit_type, msg.get("edit_info"),
                                    msg.get("target_text"))
        call_s = time.monotonic() - t0
        return self.finish(msg, audio, rate, call_s, t0)

    def op_clone(self, msg: dict) -> dict:
        self.require_loaded()
        prompt, out = msg.get("prompt"), msg.get("output")
        if not isinstance(prompt, str) or not isinstance(out, str):
            raise BadRequest("clone needs 'prompt' and 'output'")
        if not os.path.isfile(prompt):
            raise BadRequest(f"prompt file {prompt} is missing")
        self.seed(msg.get("seed"))
        self.reset_peak()
        self.set_stage("clone")
        t0 = time.monotonic()
        audio, rate = self.tts.clone(prompt, msg.get("prompt_text") or "", msg.get("text") or "")
        call_s = time.monotonic() - t0
        return self.finish(msg, audio, rate, call_s, t0)

    def require_loaded(self) -> None:
        if self.tts is None:
            raise BadRequest("no model is loaded (send 'load' first)")

    def finish(self, msg: dict, audio, rate, call_s: float, t0: float) -> dict:
        if self.is_cancelled(msg["id"]):
            raise Cancelled()
        self.set_stage("writing")
        data = audio
        if hasattr(data, "detach"):
            data = data.detach().float().cpu().numpy()
        import numpy as np
        data = np.asarray(data, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(data)):
            raise BadRequest("the model returned non-finite samples")
        write_wav(msg["output"], data, int(rate))
        return {"event": "result", "id": msg["id"], "output": msg["output"], "rate": int(rate),
                "frames": int(data.shape[0]), "call_s": round(call_s, 4),
                "total_s": round(time.monotonic() - t0, 4), "peak_mem_mb": self.peak_mb(),
                "device_used_mb": self.device_used_mb()}


class BadRequest(Exception):
    pass


class LoadError(Exception):
    def __init__(self, message: str, oom: bool = False) -> None:
        super().__init__(message)
        self.oom = oom


def write_wav(path: str, data, rate: int) -> None:
    """32-bit float WAV via soundfile (an official dependency); 16-bit PCM via the standard
    library's ``wave`` if soundfile is missing."""
    tmp = path + ".part"
    try:
        import soundfile
        soundfile.write(tmp, data, rate, subtype="FLOAT", format="WAV")
    except ImportError:
        import wave

        import numpy as np
        pcm = (np.clip(data, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="StepEdit's Step-Audio-EditX worker (speaks JSON lines)")
    ap.add_argument("--source", help="the Step-Audio-EditX source folder")
    ap.add_argument("--probe", action="store_true", help="print one hello event (with import checks) and exit")
    args = ap.parse_args(argv)
    # The protocol gets its own descriptor; descriptor 1 (and sys.stdout) now go to stderr.
    proto = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    worker = Worker(proto, args.source)
    if args.probe:
        msg = worker.hello()
        msg["imports"] = probe_imports(args.source) if args.source else {}
        worker.emit(msg)
        return 0
    log(f"started: python {platform.python_version()} ({sys.executable}), pid {os.getpid()}, source {args.source}")
    worker.emit(worker.hello())
    threading.Thread(target=worker.read_requests, args=(sys.stdin.buffer,), daemon=True).start()
    threading.Thread(target=worker.heartbeat, daemon=True).start()
    worker.serve()
    log("shut down")
    # Exit now: a normal interpreter shutdown would abort on the reader thread still blocked in
    # stdin (and upstream's own threads); nothing is left to flush but stderr.
    sys.stderr.flush()
    os._exit(0)


def probe_imports(source: str) -> dict:
    """Whether the official modules import in this environment (module -> null or the error)."""
    gen, _, _ = detect_generation(source)
    if gen == "v2":
        os.environ.setdefault("VLLM_ATTENTION_BACKEND", "TRITON_ATTN")
    sys.path.insert(0, source)
    try:
        os.chdir(source)
    except OSError as exc:
        return {"tts": f"cannot enter {source}: {exc.strerror}"}
    out = {}
    for name in ("model_loader", "tokenizer", "tts"):
        try:
            importlib.import_module(name)
            out[name] = None
        except BaseException as exc:  # noqa: BLE001 - every failure is a finding of the probe
            out[name] = one_line(exc)
    return out


if __name__ == "__main__":
    sys.exit(main())
