"""Playback: the player, transport, A/B at the same moment, loop audition, the playhead.

The player (:class:`~stepedit_app.audio.playback.Player`) follows the state: the document's
clip is A, the selected take is B, the region is the loop, ``state.source`` picks what is heard.
A take that arrives while a loop plays is queued and swapped in at the next pass.  A timer
reads the player's position and reports it in the timeline being heard (B's own timeline
while a take plays), which is the timeline the views show.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot

from stepedit_app.errors import StepEditError
from stepedit_app.gui.controllers.base import Controller
from stepedit_app.gui.workers import make_timer
from stepedit_app.session.editor import EditorState
from stepedit_app.session.takes import Take

PLAYHEAD_MS = 30


def default_player():
    from stepedit_app.audio.playback import Player

    return Player()


class PlaybackController(Controller):
    """Transport commands and the playhead.

    Signals
    -------
    playing_changed(bool)
    position_changed(float)
        Seconds in the timeline being heard (A, or B while the take is heard).
    heard_take_changed(object)
        The take now loaded as B in the player (None: none); it changes when a queued take
        is swapped in at a loop boundary, which can be after the selection changed.
    devices_changed(list, object)
        ``[(index, name)]`` of output devices and the current one.
    """

    playing_changed = Signal(bool)
    position_changed = Signal(float)
    heard_take_changed = Signal(object)
    devices_changed = Signal(list, object)
    _finished_bridge = Signal()

    def __init__(self, state: EditorState, player=None, parent=None) -> None:
        super().__init__(state, parent)
        self.player = player if player is not None else default_player()
        # Called on PortAudio's thread: a signal carries it to the GUI thread.
        self.player.on_finished = self._finished_bridge.emit
        self._finished_bridge.connect(self._on_finished)
        self.heard: Take | None = None
        self._queued: Take | None = None
        self._swaps = 0
        self._was_playing = False
        self.timer = make_timer(self, PLAYHEAD_MS, self._tick, name="playhead")
        ev = state.events
        ev.connect("document", self._on_document)
        ev.connect("take", self._on_take)
        ev.connect("region", self._on_region)
        ev.connect("loop", self._on_loop)
        ev.connect("source", self._on_source)
        ev.connect("cursor", self._on_cursor)

    # --- devices -----------------------------------------------------------------------------
    def refresh_devices(self) -> None:
        try:
            devices = list(self.player.output_devices())
        except Exception:  # noqa: BLE001 - no PortAudio at all: playback off, editor on
            devices = []
        self.devices_changed.emit([(int(i), str(n)) for i, n in devices], getattr(self.player, "device", None))
        if not getattr(self.player, "available", bool(devices)):
            err = getattr(self.player, "error", None) or "no audio output device"
            self.status.emit(f"Playback is off: {err}. Everything else works.")

    def set_output_device(self, index: int) -> None:
        try:
            self.player.set_device(index)
        except StepEditError as exc:
            self.failed.emit("Cannot use this output device", exc)

    # --- transport ---------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return getattr(getattr(self.player, "state", None), "name", "STOPPED") == "PLAYING"

    def toggle_play(self) -> None:
        if self.playing:
            self.stop()
        else:
            self.play()

    def _to_heard(self, frame_a: int) -> int:
        m = self.player.timeline if self.state.source == "B" else None
        return m.a_to_b(frame_a) if m is not None else frame_a

    def play(self, start_s: float | None = None, end_s: float | None = None, loop: bool | None = None) -> bool:
        """Start playback (times in the original's seconds; default: the cursor, or the
        region when looping).  False, with a status line, when there is no audio device."""
        st = self.state
        if st.clip is None:
            return False
        loop = st.loop if loop is None else loop
        rate = st.clip.rate
        end = None
        if loop and st.region is not None and start_s is None:
            start = self._to_heard(st.region.start)
        else:
            t = st.cursor if start_s is None else start_s
            start = self._to_heard(int(round(t * rate)))
            end = None if end_s is None else self._to_heard(int(round(end_s * rate)))
            if start >= st.clip.frames - 1 and end is None:
                start = 0
        try:
            self.player.play(start, end, loop=loop)
        except StepEditError as exc:
            self.status.emit(f"Cannot play: {exc}")
            return False
        self.timer.start()
        self._set_playing(True)
        return True

    def play_selection(self) -> None:
        st = self.state
        if st.region is None or st.clip is None:
            self.play()
            return
        s, e = st.region.seconds(st.clip.rate)
        self.play(s, e, loop=st.loop)

    def stop(self) -> None:
        try:
            self.player.stop()
        except StepEditError:
            pass
        self.timer.stop()
        self._set_playing(False)

    def toggle_loop(self) -> None:
        self.state.set_loop(not self.state.loop)

    def toggle_ab(self) -> None:
        new = "B" if self.state.source == "A" else "A"
        if not self.state.set_source(new):
            self.status.emit("Select a take to compare (B).")

    def audition(self, take: Take) -> None:
        """Loop audition: a take that arrives while the loop plays is heard from the next pass."""
        if self.playing and self.state.loop:
            try:
                self.player.queue_take(take.segment.samples, (take.region.start, take.region.end), segment=True)
                self._queued = take
            except StepEditError as exc:
                self.status.emit(str(exc))

    def _set_playing(self, on: bool) -> None:
        if on != self._was_playing:
            self._was_playing = on
            self.playing_changed.emit(on)

    # --- state -> player ---------------------------------------------------------------------
    def _on_document(self) -> None:
        self.stop()
        self._queued = None
        clip = self.state.clip
        if clip is not None:
            try:
                self.player.load(clip.samples, clip.rate)
            except StepEditError as exc:
                self.status.emit(str(exc))
        self._set_heard(None)
        self.position_changed.emit(0.0)

    def _on_take(self, take: Take | None) -> None:
        if take is not None and self._queued is take and self.playing and self.state.loop:
            return  # swapped in by the player at the next loop boundary
        self._queued = None
        try:
            if take is None:
                self.player.set_take(None, None)
            else:
                # The player reads the original outside the region and the take's segment
                # inside it: no spliced copy of the clip per take.
                self.player.set_take(take.segment.samples, (take.region.start, take.region.end), segment=True)
        except StepEditError as exc:
            self.status.emit(str(exc))
            return
        self._set_heard(take)

    def _on_region(self, region) -> None:
        try:
            if region is None:
                self.player.set_loop(0, 0)
            else:
                self.player.set_loop(region.start, region.end)
        except StepEditError:
            pass

    def _on_loop(self, on: bool) -> None:
        if self.playing:
            # Restart in the new mode: from the region (loop), or on from here (no loop).
            pos_a = self._heard_to_a(self.player.position)
            self.stop()
            if on:
                self.play()
            else:
                self.play(pos_a / self.state.clip.rate)

    def _on_source(self, source: str) -> None:
        try:
            self.player.set_source(source)
        except (StepEditError, ValueError) as exc:
            self.status.emit(str(exc))
        self._emit_position()

    def _on_cursor(self, _t: float) -> None:
        if not self.playing:
            self._emit_position()

    # --- playhead ----------------------------------------------------------------------------
    def _heard_to_a(self, frame: int) -> int:
        m = self.player.timeline if self.player.source == "B" else None
        return m.b_to_a(frame) if m is not None else int(frame)

    def _set_heard(self, take: Take | None) -> None:
        if take is not self.heard:
            self.heard = take
            self.heard_take_changed.emit(take)

    def _emit_position(self) -> None:
        st = self.state
        if st.clip is None:
            return
        if self.playing:
            self.position_changed.emit(self.player.position / st.clip.rate)
        else:
            self.position_changed.emit(self._to_heard(int(round(st.cursor * st.clip.rate))) / st.clip.rate)

    @Slot()
    def _tick(self) -> None:
        if self.state.clip is None:
            return
        swaps = getattr(self.player, "swaps", 0)
        if swaps != self._swaps:
            self._swaps = swaps
            if self._queued is not None:
                self._set_heard(self._queued)
                self._queued = None
        self.position_changed.emit(self.player.position / self.state.clip.rate)
        if not self.playing:
            self.timer.stop()
            self._set_playing(False)

    @Slot()
    def _on_finished(self) -> None:
        self.timer.stop()
        self._set_playing(False)

    def shutdown(self) -> None:
        self.timer.stop()
        try:
            self.player.stop()
        except StepEditError:
            pass
        try:
            self.player.close()
        except Exception:  # noqa: BLE001 - closing must never fail
            pass
        super().shutdown()
