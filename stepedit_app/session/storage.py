"""Where StepEdit keeps its own files, and how it writes them: atomically, never half.

Folders come from ``platformdirs`` (the platform's conventions: ``~/.local/share/StepEdit``
on Linux, ``~/Library/Application Support/StepEdit`` on macOS, ``%LOCALAPPDATA%\\StepEdit``
on Windows).  ``STEPEDIT_DATA_DIR`` and ``STEPEDIT_CONFIG_DIR`` override them (tests, portable
installs).

Every write goes to a temporary file in the target folder, is flushed to disk, and is renamed
over the target (``os.replace``, atomic on one file system); on any failure the temporary
file is removed and the previous file, if any, is left as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from stepedit_app.errors import StepEditError

APP_NAME = "StepEdit"


def user_data_dir() -> Path:
    """Folder for autosaves and other data the user does not edit by hand."""
    env = os.environ.get("STEPEDIT_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    """Folder for settings and the user's presets."""
    env = os.environ.get("STEPEDIT_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """``with atomic_file(p) as fh: fh.write(...)``: ``p`` appears complete or not at all.

    Raises
    ------
    StepEditError
        One line naming the file when the folder is missing or the write fails.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise StepEditError(f"{target}: cannot write in {folder} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, (StepEditError, KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        if isinstance(exc, OSError):
            raise StepEditError(f"{target}: could not be written ({exc.strerror or exc})") from None
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_file(path) as fh:
        fh.write(data)
    return Path(path)


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB chunks), hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def samples_sha256(samples: np.ndarray) -> str:
    """SHA-256 of float32 samples (frames x channels, C order): identifies a take's audio."""
    a = np.ascontiguousarray(samples, dtype=np.float32)
    h = hashlib.sha256()
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
    return h.hexdigest()


def write_audio_lossless(path: str | os.PathLike, samples: np.ndarray, rate: int) -> Path:
    """Store ``samples`` so that reading them back gives the same float32 values, bit for bit.

    24-bit FLAC when every sample is on the 24-bit grid within full scale (every rendered
    take is: see :func:`stepedit_app.session.takes.to_take_grid`); otherwise 32-bit float WAV
    (a take that is the untouched region of a float source).  The suffix of ``path`` is
    replaced accordingly; returns the path written.
    """
    from stepedit_app.session.takes import on_take_grid

    a = np.ascontiguousarray(samples, dtype=np.float32)
    if a.ndim == 1:
        a = a[:, None]
    target = Path(path)
    if on_take_grid(a):
        target = target.with_suffix(".flac")
        # Integers, not floats: libsndfile's float->int scaling is not exactly 2**23.
        ints = (np.round(a.astype(np.float64) * 2.0**23).astype(np.int32)) << 8
        with atomic_file(target) as fh, sf.SoundFile(fh, "w", int(rate), a.shape[1], "PCM_24", format="FLAC") as f:
            f.write(ints)
    else:
        target = target.with_suffix(".wav")
        with atomic_file(target) as fh, sf.SoundFile(fh, "w", int(rate), a.shape[1], "FLOAT", format="WAV") as f:
            f.write(a)
    return target


def read_audio_lossless(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read what :func:`write_audio_lossless` wrote: ``(float32 frames x channels, rate)``."""
    p = Path(path)
    with sf.SoundFile(p) as f:
        if f.subtype == "PCM_24":
            ints = f.read(dtype="int32", always_2d=True)
            a = ((ints >> 8).astype(np.float64) / 2.0**23).astype(np.float32)
        else:
            a = f.read(dtype="float32", always_2d=True)
        return np.ascontiguousarray(a), int(f.samplerate)
