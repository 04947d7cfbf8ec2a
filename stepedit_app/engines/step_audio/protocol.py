"""The protocol between StepEdit and its Step-Audio-EditX worker process (standard library only).

The worker runs in the *model's* Python environment, where StepEdit is not installed, so this
module imports nothing but the standard library; the worker script imports it by file path.

Messages are JSON objects, one per line (UTF-8), on the worker's stdin (requests) and stdout
(events).  Audio never travels in a message: requests name temporary WAV files that the client
writes and the worker reads, and the worker writes its output to a path the client chose.

Requests (client -> worker), each with a unique string ``id``:

``{"op": "hello", "id"}``
    answer with a ``hello`` event (versions, device, memory) again.
``{"op": "load", "id", "source", "models", "options": {"dtype", "quantization", "gpu_share"}}``
    import the official code from ``source`` and load the weights from ``models``, once.
``{"op": "edit", "id", "input", "output", "audio_text", "edit_type", "edit_info", "target_text", "seed"}``
    one model pass: ``StepAudioTTS.edit(input, audio_text, edit_type, edit_info, target_text)``.
``{"op": "clone", "id", "prompt", "output", "prompt_text", "text", "seed"}``
    ``StepAudioTTS.clone(prompt, prompt_text, text)``.
``{"op": "cancel", "id", "target"}``
    stop request ``target`` (answered by a ``cancelled`` event for ``target``, or by its
    ordinary answer if it had already finished).
``{"op": "shutdown", "id"}``
    answer ``bye`` and exit.

Events (worker -> client):

``{"event": "hello", "protocol", "pid", "python", "platform", "packages", "cuda", "device",
"memory_total_mb", "memory_free_mb", "generation", "source_commit"}``
    sent once unprompted at start (and on ``hello``).
``{"event": "progress", "id", "stage", "elapsed_s"}``
    a heartbeat at least every :data:`HEARTBEAT_S` while a request runs.
``{"event": "result", "id", ...}``
    success; for edit/clone: ``output``, ``rate``, ``frames``, ``call_s`` (seconds inside the
    official call), ``total_s``, ``peak_mem_mb`` (peak GPU memory allocated by this process
    during the call, or null without CUDA), ``device_used_mb``; for load: ``generation``,
    ``load_s``, ``arguments`` (the constructor arguments passed), ``peak_mem_mb``.
``{"event": "error", "id", "kind", "message"}``
    failure; ``kind`` is one of :data:`ERROR_KINDS`; ``message`` is one line (the traceback
    goes to the worker's log).
``{"event": "cancelled", "id"}``
    the request stopped at the client's request; no output.
``{"event": "bye", "id"}``
    the worker is exiting.
"""

from __future__ import annotations

import json

PROTOCOL_VERSION = 1

#: Seconds between heartbeats while a request runs.
HEARTBEAT_S = 1.0

#: Request operations.
OPS = ("hello", "load", "edit", "clone", "cancel", "shutdown")

#: Event names.
EVENTS = ("hello", "progress", "result", "error", "cancelled", "bye")

#: ``error`` kinds: ``oom`` out of GPU memory; ``load`` the official code or the weights
#: could not be loaded; ``bad_request`` a malformed or impossible request; ``upstream`` the
#: official call raised; ``internal`` a bug in the worker.
ERROR_KINDS = ("oom", "load", "bad_request", "upstream", "internal")

#: Longest accepted line, in bytes (a guard against a runaway writer).
MAX_LINE = 1 << 20


class ProtocolError(ValueError):
    """A line that is not a well-formed message."""


def encode(message: dict) -> bytes:
    """One message as a UTF-8 JSON line (no embedded newlines)."""
    return (json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


def decode(line: bytes | str, kind: str) -> dict:
    """Parse one line into a message; ``kind`` is ``"op"`` for requests, ``"event"`` for events.

    Raises :class:`ProtocolError` with a short description when the line is not a JSON object
    with a known ``op``/``event`` and a string ``id`` (the ``hello`` event has no id).
    """
    if isinstance(line, bytes):
        if len(line) > MAX_LINE:
            raise ProtocolError(f"line of {len(line)} bytes is too long")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("line is not UTF-8") from None
    text = line.strip()
    try:
        msg = json.loads(text)
    except ValueError:
        raise ProtocolError(f"not JSON: {_preview(text)}") from None
    if not isinstance(msg, dict):
        raise ProtocolError(f"not a JSON object: {_preview(text)}")
    name = msg.get(kind)
    allowed = OPS if kind == "op" else EVENTS
    if name not in allowed:
        raise ProtocolError(f"unknown {kind} {name!r}: {_preview(text)}")
    if not (kind == "event" and name == "hello") and not isinstance(msg.get("id"), str):
        raise ProtocolError(f"{kind} {name!r} without a string id: {_preview(text)}")
    return msg


def _preview(text: str, n: int = 80) -> str:
    return repr(text if len(text) <= n else text[: n - 1] + "…")
