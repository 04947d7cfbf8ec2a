"""Reading and writing audio files.

Reading accepts whatever libsndfile reads (WAV, FLAC, OGG, AIFF, MP3, ...) at 8-192 kHz, any
channel count, integer or float samples, and returns a :class:`~stepedit_app.audio.clip.Clip`
of float32 frames x channels.  Every way a file can be unusable becomes one
:class:`~stepedit_app.errors.AudioInputError` line that names the file and the problem.

Writing produces WAV (16/24-bit PCM, 32-bit float) or FLAC (16/24-bit), always atomically: the
samples go to a temporary file in the target folder, which is flushed and then renamed over the
target, so a crash never leaves a half-written export.  A clip's own source file is never
written.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from stepedit_app.audio.clip import Clip
from stepedit_app.errors import AudioInputError, AudioOutputError

MIN_RATE = 8000
MAX_RATE = 192000

#: Export formats by file extension, with the subtypes each accepts.
EXPORT_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    ".wav": ("WAV", ("PCM_16", "PCM_24", "FLOAT")),
    ".flac": ("FLAC", ("PCM_16", "PCM_24")),
}

#: Friendly names of export subtypes.
SUBTYPE_NAMES = {"PCM_16": "16-bit", "PCM_24": "24-bit", "FLOAT": "32-bit float"}
SUBTYPE_ALIASES = {
    "16": "PCM_16", "pcm16": "PCM_16", "pcm_16": "PCM_16", "int16": "PCM_16",
    "24": "PCM_24", "pcm24": "PCM_24", "pcm_24": "PCM_24", "int24": "PCM_24",
    "32f": "FLOAT", "float": "FLOAT", "float32": "FLOAT", "f32": "FLOAT",
}


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    # soundfile prefixes the path; the user already sees it once.
    if "Error opening" in text and ":" in text:
        text = text.rsplit(":", 1)[-1].strip()
    return text or type(exc).__name__


def read_info(path: str | os.PathLike) -> sf._SoundFileInfo:
    """libsndfile's header information, with the same error lines as :func:`read_clip`."""
    p = _check_path(path)
    try:
        return sf.info(str(p))
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
        raise _open_error(p, exc) from None


def _check_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise AudioInputError(f"{p}: file not found")
    if p.is_dir():
        raise AudioInputError(f"{p}: is a folder, not an audio file")
    if not os.access(p, os.R_OK):
        raise AudioInputError(f"{p}: permission denied")
    if p.stat().st_size == 0:
        raise AudioInputError(f"{p}: file is empty (0 bytes)")
    return p


def _open_error(p: Path, exc: BaseException) -> AudioInputError:
    msg = _short(exc)
    low = msg.lower()
    if "format not recognised" in low or "unknown format" in low or "not recognised" in low:
        return AudioInputError(f"{p}: not an audio file that can be read (format not recognised)")
    return AudioInputError(f"{p}: truncated or corrupt audio file ({msg})")


def read_clip(path: str | os.PathLike) -> Clip:
    """Read an audio file.

    Parameters
    ----------
    path
        Any file libsndfile can decode.

    Returns
    -------
    Clip
        float32 samples in [-1, 1] for integer sources (float sources as stored), frames x
        channels, with the source path and libsndfile subtype.

    Raises
    ------
    AudioInputError
        With one line naming the file and the problem: not found, empty, not audio,
        truncated/corrupt, unsupported rate, no samples, or non-finite samples.
    """
    p = _check_path(path)
    try:
        with sf.SoundFile(str(p)) as f:
            rate = f.samplerate
            subtype = f.subtype
            if not (MIN_RATE <= rate <= MAX_RATE):
                raise AudioInputError(
                    f"{p}: sample rate {rate} Hz is not supported ({MIN_RATE}–{MAX_RATE} Hz)"
                )
            data = f.read(dtype="float32", always_2d=True)
    except AudioInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
        raise _open_error(p, exc) from None
    if data.shape[0] == 0:
        raise AudioInputError(f"{p}: contains no audio (0 frames)")
    finite = np.isfinite(data)
    if not finite.all():
        first = int(np.argmin(finite.all(axis=1)))
        raise AudioInputError(
            f"{p}: contains non-finite samples (NaN or infinity), first at {first / rate:.3f} s"
        )
    data.flags.writeable = False  # hand the fresh array to the Clip without a copy
    return Clip(data, rate, p.resolve(), subtype)


def export_subtype(path: str | os.PathLike, requested: str | None, source_subtype: str | None) -> str:
    """The subtype an export to ``path`` will use.

    ``requested`` may be a libsndfile name (``PCM_24``) or an alias (``24``, ``float``); when it
    is None the source's subtype is kept if the format allows it (so untouched samples survive
    bit for bit), else 24-bit.
    """
    ext = Path(path).suffix.lower()
    if ext not in EXPORT_FORMATS:
        allowed = ", ".join(EXPORT_FORMATS)
        raise AudioOutputError(f"{path}: cannot export to {ext or 'no extension'} (allowed: {allowed})")
    fmt, subtypes = EXPORT_FORMATS[ext]
    if requested is None:
        return source_subtype if source_subtype in subtypes else "PCM_24"
    st = SUBTYPE_ALIASES.get(requested.lower(), requested.upper())
    if st not in subtypes:
        names = ", ".join(f"{s} ({SUBTYPE_NAMES[s]})" for s in subtypes)
        raise AudioOutputError(f"{fmt} export does not support {requested!r} (allowed: {names})")
    return st


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_not_source(target: str | os.PathLike, protect: tuple[str | os.PathLike, ...]) -> None:
    """Raise :class:`AudioOutputError` if ``target`` is (or links to) one of ``protect``."""
    t = Path(target)
    for g in protect:
        if g is not None and _same_file(t, Path(g)):
            raise AudioOutputError(f"{t}: refusing to overwrite the source file; choose another name")


def _umask() -> int:
    """The process umask (read without changing it where the system allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _export_mode(target: Path) -> int:
    """Permissions for an export: an existing target's own, else what ``open()`` would give
    (``mkstemp`` creates its file owner-only, which must not leak into the export)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def write_clip(
    clip: Clip,
    path: str | os.PathLike,
    subtype: str | None = None,
    protect: tuple[str | os.PathLike, ...] = (),
) -> Path:
    """Write ``clip`` to ``path`` atomically.

    Parameters
    ----------
    clip
        The audio to write; samples beyond [-1, 1] are clipped for PCM subtypes.
    path
        Target file; ``.wav`` or ``.flac``.
    subtype
        See :func:`export_subtype`.
    protect
        Paths that must never be written (the clip's own source is always protected).

    Raises
    ------
    AudioOutputError
        One line: refusing to overwrite a source, unsupported format, unwritable folder.
    """
    target = Path(path)
    check_not_source(target, (*protect, clip.path))
    st = export_subtype(target, subtype, clip.subtype)
    fmt = EXPORT_FORMATS[target.suffix.lower()][0]
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise AudioOutputError(f"{target}: folder {folder} does not exist")
    if target.is_dir():
        raise AudioOutputError(f"{target}: is a folder")
    data = clip.samples
    if not np.isfinite(data).all():
        raise AudioOutputError(f"{target}: audio contains non-finite samples; nothing written")
    if st != "FLOAT":
        data = np.clip(data, -1.0, 1.0)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise AudioOutputError(f"{target}: cannot write in {folder} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.chmod(tmp, _export_mode(target))
            with sf.SoundFile(fh, "w", clip.rate, clip.channels, st, format=fmt) as out:
                out.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except Exception as exc:  # noqa: BLE001 - report any write failure as one line
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise AudioOutputError(f"{target}: could not be written ({_short(exc)})") from None
    return target
