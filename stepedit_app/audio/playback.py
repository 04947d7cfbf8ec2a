"""Playback through sounddevice (PortAudio), with A/B switching and loop audition.

Structure after Friture's playback state machine (STOPPED / PLAYING / STOPPING); callback
rules from the sounddevice documentation: the callback never allocates or blocks, fills the
whole buffer with ``outdata[:] = ...``, and ends playback with ``CallbackStop`` (observed
through ``finished_callback``).  Everything the callback reads is prepared beforehand: two
buffers (A = the original, B = the take read through :class:`~stepedit_app.audio.timeline.TakeAudio`),
the loop bounds in both timelines, and a pending take for the next loop boundary.  Positions
map between A and B with :class:`~stepedit_app.audio.timeline.ABTimeline`, so A/B flips at the
same moment of speech without restarting the stream.

No Qt here: the GUI polls :attr:`Player.position` with a timer to move its playhead and turns
:attr:`Player.on_finished` (called on PortAudio's thread) into a queued signal.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from stepedit_app.audio.timeline import ABTimeline, TakeAudio
from stepedit_app.errors import StepEditError

try:  # resolved once: the audio callback must not import
    from sounddevice import CallbackStop as _CallbackStop
except (ImportError, OSError):  # PortAudio missing: playback reports it, nothing else changes

    class _CallbackStop(Exception):  # type: ignore[no-redef]
        pass


class PlaybackState(enum.Enum):
    STOPPED = 0
    PLAYING = 1
    STOPPING = 2


def _sounddevice():
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:  # PortAudio library missing
        return None, f"PortAudio is not available ({exc})"
    return sd, None


class Player:
    """Audio output for one clip and (optionally) one take.

    Parameters
    ----------
    stream_factory
        Called like ``sounddevice.OutputStream(samplerate=, channels=, dtype=, callback=,
        finished_callback=, device=)``; tests may inject a fake stream.
    """

    BLOCK = 512

    def __init__(self, stream_factory: Callable[..., Any] | None = None) -> None:
        self._factory = stream_factory
        self._stream: Any = None
        self._lock = threading.Lock()
        self.device: int | None = None
        self.rate = 0
        self._a: np.ndarray | None = None
        self._b: np.ndarray | None = None
        self._map: ABTimeline | None = None
        self._source = "A"
        self._state = PlaybackState.STOPPED
        self._pos = 0
        self._end = 0
        self._loop = False
        self._loop_a: tuple[int, int] | None = None
        self._pending: tuple[np.ndarray | None, ABTimeline | None] | None = None
        self.on_finished: Callable[[], None] | None = None
        self.swaps = 0  # loop-boundary swaps done (lets callers observe loop audition)
        self.error: str | None = None
        if stream_factory is None:
            sd, err = _sounddevice()
            if sd is None:
                self.error = err
            else:
                try:
                    dev = sd.query_devices(kind="output")
                    self.device = None if dev is None else int(dev["index"]) if "index" in dev else None
                except Exception as exc:  # noqa: BLE001 - PortAudio reports several ways
                    self.error = f"no audio output device ({' '.join(str(exc).split())})"

    # --- devices -----------------------------------------------------------------------------
    @staticmethod
    def output_devices() -> list[tuple[int, str]]:
        """``[(index, name)]`` of output devices; empty (never raising) without PortAudio."""
        sd, _ = _sounddevice()
        if sd is None:
            return []
        try:
            return [(i, d["name"]) for i, d in enumerate(sd.query_devices()) if d["max_output_channels"] > 0]
        except Exception:  # noqa: BLE001
            return []

    @property
    def available(self) -> bool:
        return self.error is None

    def set_device(self, index: int | None) -> None:
        playing = self._state == PlaybackState.PLAYING
        self.stop()
        self.device = index
        self.error = None
        if playing:
            self.play(self.position, None, self._loop)

    # --- content ------------------------------------------------------------------------------
    def load(self, original: np.ndarray, rate: int, take: np.ndarray | None = None,
             region: tuple[int, int] | None = None, segment: bool = False) -> None:
        """Set the original (A) and optionally a take (B); stops playback.

        ``take`` is the take spliced into the whole clip, or with ``segment=True`` just the
        edited region's samples (B is then read from A outside ``region``, without a copy).
        """
        self.stop()
        self.rate = int(rate)
        self._a = np.ascontiguousarray(original, dtype=np.float32)
        if self._a.ndim == 1:
            self._a = self._a[:, None]
        self._source = "A"
        self._loop_a = None
        self._set_b(take, region, segment)

    def _prep_b(self, take: np.ndarray | None, region: tuple[int, int] | None, segment: bool = False):
        if take is None or self._a is None:
            return None, None
        b = np.ascontiguousarray(take, dtype=np.float32)
        if b.ndim == 1:
            b = b[:, None]
        if b.shape[1] != self._a.shape[1]:
            raise ValueError("take has a different channel count")
        if segment:
            if region is None:
                raise ValueError("a take segment needs its region")
            b = TakeAudio(self._a, b, region)
        return b, ABTimeline(len(self._a), region, len(b))

    def _set_b(self, take, region, segment: bool = False) -> None:
        b, m = self._prep_b(take, region, segment)
        with self._lock:
            if self._source == "B":
                # keep hearing the same moment: move the position into the new B timeline
                pos_a = self._map.b_to_a(self._pos) if self._map is not None else self._pos
                if b is None:
                    self._source = "A"
                    self._pos = pos_a
                    self._end = self._bounds("A")[1]
                else:
                    self._pos = m.a_to_b(pos_a)
            self._b, self._map = b, m
            self._end = self._bounds(self._source)[1]

    def set_take(self, take: np.ndarray | None, region: tuple[int, int] | None, segment: bool = False) -> None:
        """Replace B now (at the same moment of speech if B is playing); see :meth:`load`."""
        self._pending = None
        self._set_b(take, region, segment)

    def queue_take(self, take: np.ndarray | None, region: tuple[int, int] | None, segment: bool = False) -> None:
        """Loop audition: while looping, swap B in at the next loop boundary; else now."""
        if self._state == PlaybackState.PLAYING and self._loop:
            prepared = self._prep_b(take, region, segment)
            with self._lock:
                self._pending = prepared
        else:
            self.set_take(take, region, segment)

    # --- transport ----------------------------------------------------------------------------
    def _buf(self, source: str) -> np.ndarray | None:
        return self._b if source == "B" else self._a

    def _bounds(self, source: str) -> tuple[int, int]:
        """Loop (or play) bounds in ``source``'s timeline."""
        buf = self._buf(source)
        n = 0 if buf is None else len(buf)
        if self._loop_a is None:
            return 0, n
        s, e = self._loop_a
        if source == "B" and self._map is not None:
            s, e = self._map.a_to_b(s), self._map.a_to_b(e)
        return max(0, min(s, n)), max(0, min(e, n))

    def set_loop(self, start: int, end: int) -> None:
        """Loop/selection bounds in the original's (A) timeline."""
        with self._lock:
            self._loop_a = (int(start), int(end)) if end > start else None
            self._end = self._bounds(self._source)[1]

    @property
    def loop(self) -> bool:
        return self._loop

    @loop.setter
    def loop(self, on: bool) -> None:
        self._loop = bool(on)

    def play(self, start: int = 0, end: int | None = None, loop: bool = False) -> None:
        """Play the current source from ``start`` (its own timeline) to ``end`` or the loop end.

        Raises :class:`StepEditError` (one line) when there is no audio output.
        """
        if self._a is None:
            raise StepEditError("nothing to play: open a file first")
        self.stop()
        if self.error is not None:
            raise StepEditError(self.error)
        buf = self._buf(self._source)
        if buf is None:
            self._source, buf = "A", self._a
        with self._lock:
            self._loop = bool(loop)
            lo, hi = self._bounds(self._source)
            if end is not None:
                hi = min(int(end), len(buf))
            self._end = hi
            self._pos = int(min(max(start, 0), max(0, hi - 1)))
            self._state = PlaybackState.PLAYING
        try:
            factory = self._factory
            if factory is None:
                import sounddevice as sd

                factory = sd.OutputStream
            self._stream = factory(
                samplerate=self.rate, channels=self._a.shape[1], dtype="float32", blocksize=self.BLOCK,
                callback=self._callback, finished_callback=self._finished, device=self.device,
            )
            self._stream.start()
        except Exception as exc:  # noqa: BLE001 - PortAudio errors are varied
            self._state = PlaybackState.STOPPED
            self._stream = None
            msg = " ".join(str(exc).split()) or type(exc).__name__
            self.error = f"no audio output device: {msg}"
            raise StepEditError(self.error) from None

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            self._state = PlaybackState.STOPPING
            try:
                stream.stop()
                stream.close()
            except Exception:  # noqa: BLE001
                pass
        self._state = PlaybackState.STOPPED

    def close(self) -> None:
        self.stop()

    def set_source(self, source: str) -> None:
        """Switch between 'A' (original) and 'B' (take) at the same moment, without a restart."""
        if source not in ("A", "B"):
            raise ValueError("source must be 'A' or 'B'")
        with self._lock:
            if source == self._source or (source == "B" and self._b is None):
                return
            if self._map is not None:
                self._pos = self._map.a_to_b(self._pos) if source == "B" else self._map.b_to_a(self._pos)
            self._source = source
            lo, hi = self._bounds(source)
            self._end = hi
            self._pos = min(self._pos, max(0, hi - 1))

    @property
    def source(self) -> str:
        return self._source

    @property
    def timeline(self) -> ABTimeline | None:
        """The A/B map of the take now in B (None without a take)."""
        return self._map

    @property
    def state(self) -> PlaybackState:
        return self._state

    @property
    def position(self) -> int:
        return self._pos

    def position_seconds(self) -> float:
        return self._pos / self.rate if self.rate else 0.0

    # --- PortAudio thread ----------------------------------------------------------------------
    def _callback(self, outdata: np.ndarray, frames: int, time, status) -> None:  # noqa: ANN001
        with self._lock:
            buf = self._b if self._source == "B" and self._b is not None else self._a
            pos, end = self._pos, self._end
            written = 0
            while written < frames:
                n = min(frames - written, end - pos)
                if n > 0:
                    if isinstance(buf, TakeAudio):
                        buf.copy_into(outdata[written : written + n], pos, n)
                    else:
                        outdata[written : written + n] = buf[pos : pos + n]
                    written += n
                    pos += n
                if pos >= end:
                    if not self._loop:
                        break
                    if self._pending is not None:
                        self._b, self._map = self._pending
                        self._pending = None
                        self.swaps += 1
                        if self._source == "B" and self._b is None:
                            self._source = "A"
                        buf = self._b if self._source == "B" and self._b is not None else self._a
                    lo, end = self._bounds(self._source)
                    self._end = end
                    pos = lo
                    if end <= lo:
                        break
            if written < frames:
                outdata[written:] = 0
            self._pos = pos
        if written < frames:
            raise _CallbackStop

    def _finished(self) -> None:
        if self._state == PlaybackState.PLAYING:
            self._state = PlaybackState.STOPPED
            cb = self.on_finished
            if cb is not None:
                cb()
