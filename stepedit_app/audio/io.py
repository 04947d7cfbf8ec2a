"""Reading and writing audio files.

Reading accepts whatever libsndfile reads (WAV, FLAC, OGG, AIFF, MP3, GSM 6.10, ...) at 8-192 kHz,
any channel count, integer or float samples, and returns a :class:`~stepedit_app.audio.clip.Clip`
of float32 frames x channels.  Files are decoded in blocks, which also reads the formats
libsndfile cannot seek in (GSM 6.10 WAV and other compressed WAV subtypes).  Every way a file can
be unusable becomes one :class:`~stepedit_app.errors.AudioInputError` line that names the file
and the problem.  Paths are handled as the operating system gives them: a file name that is not
valid UTF-8 arrives as a ``str`` with surrogate escapes and reaches libsndfile as the original
bytes (:func:`os.fsencode`).

Writing produces WAV (16/24-bit PCM, 32-bit float) or FLAC (16/24-bit), always atomically: the
samples go, block by block, to a temporary file in the target folder, which is flushed, synced
and then renamed over the target, so a crash never leaves a half-written export.  Every OS error
(no space, file too large, permission, read-only file system, I/O error) becomes one
:class:`~stepedit_app.errors.AudioOutputError` line with the path and the reason, and the
temporary file is removed on every exit path, Ctrl-C and SIGTERM included (see
:mod:`stepedit_app.interrupts`).  A clip's own source file is never written.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from stepedit_app.audio.clip import Clip
from stepedit_app.errors import (
    AudioInputError,
    AudioOutputError,
    AudioWriteError,
    Cancelled,
    ReadOnlyOutputError,
)
from stepedit_app.interrupts import deferred

MIN_RATE = 8000
MAX_RATE = 192000

#: Frames decoded or written per libsndfile call: ~1 MB of mono float32, so memory stays
#: bounded and a signal is never held for more than a few milliseconds.
BLOCK_FRAMES = 1 << 18

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

ProgressFn = Callable[[float], None]
CancelledFn = Callable[[], bool]


def fs_path(path: str | os.PathLike) -> bytes:
    """The path as the bytes the OS uses (what libsndfile must be given)."""
    return os.fsencode(os.fspath(path))


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    # soundfile prefixes the path; the user already sees it once.
    if "Error opening" in text and ":" in text:
        text = text.rsplit(":", 1)[-1].strip()
    if text.startswith("Error : "):
        text = text[len("Error : "):]
    text = text.rstrip(".")
    return text or type(exc).__name__


def _os_reason(exc: OSError) -> str:
    """The reason of an OS error in words (``No space left on device``)."""
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return exc.strerror or _short(exc)


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioInfo:
    """Header information of an audio file (names as :func:`soundfile.info`)."""

    path: Path
    samplerate: int
    channels: int
    frames: int
    format: str
    subtype: str
    seekable: bool

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate if self.samplerate else 0.0


def _unsearchable_folder(p: Path) -> Path | None:
    """The first folder on ``p``'s path that this process may not search, if any."""
    for parent in reversed(p.absolute().parents):
        try:
            if not os.access(parent, os.X_OK):
                return parent
        except OSError:
            return parent
    return None


def _check_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path after checking it names a readable, non-empty regular file."""
    p = Path(os.fspath(path))
    try:
        st = os.stat(p)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise AudioInputError(f"{p}: file not found") from None
        if exc.errno == errno.EACCES:
            folder = _unsearchable_folder(p)
            where = f" (no permission to enter folder {folder})" if folder is not None else ""
            raise AudioInputError(f"{p}: permission denied{where}") from None
        raise AudioInputError(f"{p}: cannot be read ({_os_reason(exc)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioInputError(f"{p}: is a folder, not an audio file")
    if not stat.S_ISREG(st.st_mode):
        raise AudioInputError(f"{p}: is not a regular file")
    if not os.access(p, os.R_OK):
        raise AudioInputError(f"{p}: permission denied")
    if st.st_size == 0:
        raise AudioInputError(f"{p}: file is empty (0 bytes)")
    return p


def _open_error(p: Path, exc: BaseException, at_s: float | None = None) -> AudioInputError:
    if isinstance(exc, AudioInputError):
        return exc
    if isinstance(exc, MemoryError):
        return AudioInputError(f"{p}: too large to load into memory")
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno == errno.EACCES:
            return AudioInputError(f"{p}: permission denied")
        return AudioInputError(f"{p}: cannot be read ({_os_reason(exc)})")
    msg = _short(exc)
    low = msg.lower()
    if "format not recognised" in low or "unknown format" in low or "not recognised" in low:
        return AudioInputError(f"{p}: not an audio file that can be read (format not recognised)")
    if "system error" in low:
        return AudioInputError(f"{p}: cannot be read (I/O error)")
    if at_s is not None:
        # libsndfile's decoder texts ("flac decoder lost sync", "Internal psf_fseek() failed")
        # say nothing to a user: say where the readable audio stops.
        return AudioInputError(f"{p}: truncated or corrupt audio file (the audio data is cut off or damaged at {at_s:.3f} s)")
    return AudioInputError(f"{p}: truncated or corrupt audio file ({msg})")


def _open_sound(p: Path) -> sf.SoundFile:
    try:
        return sf.SoundFile(fs_path(p))
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
        raise _open_error(p, exc) from None


def read_info(path: str | os.PathLike) -> AudioInfo:
    """libsndfile's header information, with the same error lines as :func:`read_clip`.

    ``frames`` is the header's figure; a truncated file may hold fewer.
    """
    p = _check_path(path)
    with _open_sound(p) as f:
        return AudioInfo(p, int(f.samplerate), int(f.channels), max(0, int(f.frames)), str(f.format),
                         str(f.subtype), bool(f.seekable()))


def _check_rate(p: Path, rate: int) -> None:
    if not (MIN_RATE <= rate <= MAX_RATE):
        raise AudioInputError(f"{p}: sample rate {rate} Hz is not supported ({MIN_RATE}–{MAX_RATE} Hz)")


def _nonfinite_error(p: Path, frame: int, rate: int) -> AudioInputError:
    return AudioInputError(
        f"{p}: contains non-finite samples (NaN or infinity), first at {frame / rate:.3f} s"
    )


def first_nonfinite(block: np.ndarray) -> int | None:
    """Index of the first frame of ``block`` (frames x channels) holding a NaN or infinity."""
    finite = np.isfinite(block)
    if finite.all():
        return None
    return int(np.argmin(finite.all(axis=1)))


def iter_blocks(
    f: sf.SoundFile,
    p: Path,
    block: int = BLOCK_FRAMES,
    out: np.ndarray | None = None,
):
    """Decode ``f`` from its current position in blocks of float32 frames x channels.

    Yields ``(start_frame, block)``.  Works on files libsndfile cannot seek in (no frame count
    needed).  With ``out`` (frames x channels float32) blocks are decoded into it while it has
    room (no copy), then into fresh arrays.  Raises one :class:`AudioInputError` line, naming
    where the data stops, when decoding fails part way; NaN and infinity are refused with the
    time of the first one.
    """
    rate = f.samplerate
    pos = 0
    buf = np.empty((block, f.channels), np.float32)
    while True:
        if out is not None and pos < len(out):
            dest = out[pos : pos + block]
        else:
            dest = buf
        try:
            got = f.read(len(dest), dtype="float32", always_2d=True, out=dest)
        except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
            raise _open_error(p, exc, at_s=pos / rate) from None
        n = len(got)
        if n == 0:
            return
        bad = first_nonfinite(got)
        if bad is not None:
            raise _nonfinite_error(p, pos + bad, rate)
        yield pos, got
        pos += n


def _resolved(p: Path) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return p.absolute()


def read_clip(path: str | os.PathLike) -> Clip:
    """Read an audio file into memory.

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
        With one line naming the file and the problem: not found, permission denied, empty,
        not audio, truncated/corrupt, unsupported rate, no samples, or non-finite samples.

    See Also
    --------
    stepedit_app.audio.longfile.open_clip : the same for files too long to hold in memory.
    """
    p = _check_path(path)
    with _open_sound(p) as f:
        rate, subtype, channels = int(f.samplerate), str(f.subtype), int(f.channels)
        _check_rate(p, rate)
        expected = max(0, int(f.frames))
        try:
            data = np.empty((expected, channels), np.float32)
        except MemoryError:
            raise AudioInputError(
                f"{p}: too large to load into memory ({expected / rate / 3600:.1f} h)"
            ) from None
        extra: list[np.ndarray] = []
        filled = 0
        for start, blk in iter_blocks(f, p, out=data):
            if start < expected:
                filled = start + len(blk)
            else:  # the header under-counted (streamed formats): keep what follows
                extra.append(blk.copy())
    if extra:
        data = np.concatenate([data[:filled], *extra], axis=0)
    elif filled < expected:
        # truncated: the header promised more than the file holds
        data = data[:filled].copy() if filled < expected // 2 else data[:filled]
    if data.shape[0] == 0:
        raise AudioInputError(f"{p}: contains no audio (0 frames)")
    data.flags.writeable = False  # hand the fresh array to the Clip without a copy
    return Clip(data, rate, _resolved(p), subtype)


# --- writing --------------------------------------------------------------------------------


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
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):
        return False


def check_not_source(target: str | os.PathLike, protect: tuple[str | os.PathLike | None, ...]) -> None:
    """Raise :class:`AudioOutputError` if ``target`` is (or links to) one of ``protect``."""
    t = Path(target)
    for g in protect:
        if g is not None and _same_file(t, Path(g)):
            raise AudioOutputError(f"{t}: refusing to overwrite the source file; choose another name")


def _is_read_only(st: os.stat_result, path: Path) -> bool:
    """Whether the existing file's permissions deny writing it.

    root may write anything, so for root "read-only" means no write bit at all (what ``ls``
    shows and what the user meant by ``chmod a-w``).
    """
    if os.geteuid() == 0:
        return not (st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return not os.access(path, os.W_OK)


def check_output(
    path: str | os.PathLike,
    subtype: str | None = None,
    source_subtype: str | None = None,
    protect: tuple[str | os.PathLike | None, ...] = (),
    force: bool = False,
) -> tuple[str, str]:
    """Check, before any work, that an export to ``path`` can be written.

    Returns ``(format, subtype)``.  Raises one :class:`AudioOutputError` line for: an
    extension or subtype that cannot be exported, the source file (or a link to it), a folder
    in the target's place, a missing or unwritable folder, a read-only file system, and (unless
    ``force``) an existing read-only file (:class:`ReadOnlyOutputError`).  Conditions that only
    show while writing (a full disk, a file size limit, an I/O error) are reported by
    :func:`write_clip`.
    """
    target = Path(os.fspath(path))
    st = export_subtype(target, subtype, source_subtype)
    fmt = EXPORT_FORMATS[target.suffix.lower()][0]
    check_not_source(target, protect)
    folder = target.parent
    try:
        fst = os.stat(folder)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise AudioOutputError(f"{target}: folder {folder} does not exist") from None
        raise AudioOutputError(f"{target}: cannot write in {folder} ({_os_reason(exc)})") from None
    if not stat.S_ISDIR(fst.st_mode):
        raise AudioOutputError(f"{target}: {folder} is not a folder")
    try:
        tst = os.stat(target)
    except FileNotFoundError:
        tst = None
    except OSError as exc:
        raise AudioOutputError(f"{target}: cannot write in {folder} ({_os_reason(exc)})") from None
    if tst is not None and stat.S_ISDIR(tst.st_mode):
        raise AudioOutputError(f"{target}: is a folder")
    if tst is not None and not stat.S_ISREG(tst.st_mode):
        raise AudioOutputError(f"{target}: exists and is not a regular file")
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            raise AudioOutputError(f"{target}: cannot write in {folder} ({os.strerror(errno.EROFS)})")
    except OSError:
        pass
    if not os.access(folder, os.W_OK | os.X_OK):
        raise AudioOutputError(f"{target}: cannot write in {folder} ({os.strerror(errno.EACCES)})")
    if tst is not None and not force and _is_read_only(tst, target):
        raise ReadOnlyOutputError(f"{target}: the existing file is read-only; not replaced")
    return fmt, st


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


def release_pages(a: np.ndarray) -> None:
    """Drop the pages of ``a`` from this process's resident memory if it is a view of a
    memory-mapped file (a file-backed long clip); they stay in the OS page cache and are read
    again if touched.  Called after streaming through a mapped clip (export, hashing), so a
    pass over a 2 GB file does not show as 2 GB of resident memory.  Does nothing otherwise."""
    base = a
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    if base is None or not hasattr(base, "madvise") or a.nbytes == 0:
        return
    try:
        start = np.frombuffer(base, np.uint8).ctypes.data
        off = a.ctypes.data - start
        lo = off - off % mmap.PAGESIZE
        hi = min(len(base), off + a.nbytes)
        if 0 <= lo < hi:
            base.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
    except (OSError, ValueError, AttributeError):
        pass


class _CheckedFile:
    """A file object for libsndfile's virtual I/O that never lets an exception escape into the
    cffi callback (where it would be printed as a traceback and lost: soundfile then fails with
    a bare ``AssertionError``).  The first failure is kept and re-raised by :meth:`check`."""

    def __init__(self, raw) -> None:  # noqa: ANN001 - a binary file object
        self._f = raw
        self.error: BaseException | None = None

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc

    def write(self, data) -> int:  # noqa: ANN001
        if self.error is not None:
            return 0
        try:
            n = self._f.write(data)
            return len(data) if n is None else n
        except BaseException as exc:  # noqa: BLE001 - kept and re-raised outside the callback
            self._fail(exc)
            return 0

    def readinto(self, buf) -> int:  # noqa: ANN001
        try:
            return self._f.readinto(buf) or 0
        except BaseException as exc:  # noqa: BLE001
            self._fail(exc)
            return 0

    def seek(self, offset: int, whence: int = 0) -> int:
        try:
            return self._f.seek(offset, whence)
        except BaseException as exc:  # noqa: BLE001
            self._fail(exc)
            return -1

    def tell(self) -> int:
        try:
            return self._f.tell()
        except BaseException as exc:  # noqa: BLE001
            self._fail(exc)
            return -1

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def _write_error(target: Path, exc: BaseException) -> AudioWriteError:
    if isinstance(exc, OSError):
        return AudioWriteError(f"{target}: could not be written ({_os_reason(exc)})")
    if isinstance(exc, MemoryError):
        return AudioWriteError(f"{target}: could not be written (out of memory)")
    return AudioWriteError(f"{target}: could not be written ({_short(exc)})")


def write_clip(
    clip: Clip,
    path: str | os.PathLike,
    subtype: str | None = None,
    protect: tuple[str | os.PathLike | None, ...] = (),
    *,
    force: bool = False,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
    on_written: Callable[[Path], None] | None = None,
    parts: tuple[np.ndarray, ...] | None = None,
) -> Path:
    """Write ``clip`` to ``path`` atomically.

    Parameters
    ----------
    clip
        The audio to write (in memory or file-backed); samples beyond [-1, 1] are clipped for
        PCM subtypes.  Written block by block, so memory stays bounded for long clips.
    path
        Target file; ``.wav`` or ``.flac``.
    subtype
        See :func:`export_subtype`.
    protect
        Paths that must never be written (the clip's own source is always protected).
    force
        Replace an existing read-only file (its permissions are kept).
    progress
        Called with the fraction written (0..1) after each block.
    cancelled
        Polled after each block; when it returns True the write stops, the temporary file is
        removed and :class:`~stepedit_app.errors.Cancelled` is raised (the target is unchanged).
    on_written
        Called with the target right after the rename, before an interrupt that arrived
        meanwhile is raised (keeps "what was written" exact).
    parts
        Write these consecutive pieces (frames x channels each) instead of ``clip.samples``;
        ``clip`` then only gives the rate, channels, subtype and source to protect.  A take
        spliced into a file-backed long clip is written this way without joining it in memory
        (:func:`stepedit_app.audio.clip.splice_parts`).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    AudioOutputError
        One line naming the target: refusing to overwrite a source, unsupported format,
        missing or unwritable folder, read-only file, non-finite audio, or the OS error that
        stopped the write (no space left, file too large, I/O error, ...).  The target is then
        exactly as it was before the call and no temporary file is left.
    """
    target = Path(os.fspath(path))
    fmt, st = check_output(target, subtype, clip.subtype, (*protect, clip.path), force)
    folder = target.parent
    mode = _export_mode(target)
    pieces = [np.asarray(a) for a in parts] if parts is not None else [clip.samples]
    for a in pieces:
        if a.ndim != 2 or a.shape[1] != clip.channels:
            raise ValueError(f"parts must be frames x {clip.channels} arrays")
    total = sum(len(a) for a in pieces)
    if total == 0:
        raise AudioOutputError(f"{target}: no audio to write; nothing written")
    tmp: str | None = None
    fh: _CheckedFile | None = None
    try:
        with deferred():
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        raw = os.fdopen(fd, "w+b", buffering=1 << 20)
        fh = _CheckedFile(raw)
        try:
            os.fchmod(raw.fileno(), mode)
            with sf.SoundFile(fh, "w", clip.rate, clip.channels, st, format=fmt) as out:
                done = 0
                for src in pieces:
                    for i in range(0, len(src), BLOCK_FRAMES):
                        block = np.asarray(src[i : i + BLOCK_FRAMES], dtype=np.float32)
                        if first_nonfinite(block) is not None:
                            raise AudioOutputError(f"{target}: audio contains non-finite samples; nothing written")
                        if st != "FLOAT":
                            block = np.clip(block, -1.0, 1.0)
                        with deferred():  # libsndfile's callbacks must not see a signal
                            out.write(np.ascontiguousarray(block))
                        release_pages(src[i : i + BLOCK_FRAMES])
                        fh.check()
                        done += len(block)
                        if progress is not None:
                            progress(min(1.0, done / total))
                        if cancelled is not None and cancelled():
                            raise Cancelled()
            fh.check()  # closing wrote the header
            raw.flush()
            os.fsync(raw.fileno())
        finally:
            try:
                raw.close()
            except OSError as exc:
                fh._fail(exc)
        fh.check()
        # The rename finishes the file: a signal arriving now is left pending, so the caller
        # (told through ``on_written`` inside this section) can say the file was written.
        with deferred(raise_after=False):
            os.replace(tmp, target)
            tmp = None
            if on_written is not None:
                on_written(target)
    except BaseException as exc:
        if tmp is not None:
            with deferred():
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                tmp = None
        if isinstance(exc, (AudioOutputError, Cancelled)) or not isinstance(exc, Exception):
            raise  # ours already, or KeyboardInterrupt / SystemExit
        cause = fh.error if fh is not None and fh.error is not None else exc
        if not isinstance(cause, Exception):
            raise cause from None  # an interrupt that arrived inside a libsndfile callback
        raise _write_error(target, cause) from None
    return target
