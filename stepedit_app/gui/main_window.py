"""The editor window: views, controls, takes, transport, diff; renders on a worker thread.

Threads: the GUI thread owns every widget, the clip and the takes' arrays (read-only).  Renders,
the spectrogram and the diff run as :class:`~stepedit_app.gui.workers.GeneratorWorker`\\ s on
their own QThreads and report through queued signals.  The session's TakeList is appended to
on the render thread; its events are bounced to the GUI thread through ``_TakeBridge``.
Splicing a take into the whole clip (for A/B playback) is done on the render thread as well,
so a long file never stalls the event loop when a take arrives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, QStandardPaths, Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from stepedit_app.audio.clip import Clip, Region
from stepedit_app.audio.io import read_clip
from stepedit_app.audio.peaks import PeakPyramid
from stepedit_app.engines.base import CancelToken
from stepedit_app.engines.registry import DEFAULT_ENGINE, engine_class, engine_names
from stepedit_app.errors import StepEditError
from stepedit_app.gui.dialogs import ErrorDialog, ExportDialog, ExportSettings, error_parts
from stepedit_app.gui.panels.controls import ControlsModel, ControlsPanel
from stepedit_app.gui.panels.takes import TakesPanel
from stepedit_app.gui.panels.transport import TransportBar
from stepedit_app.gui.views.diff import DiffView
from stepedit_app.gui.views.ruler import format_time
from stepedit_app.gui.views.spectrogram import N_BINS, N_FFT, choose_hop
from stepedit_app.gui.views.timeline import TimelineView
from stepedit_app.gui.workers import REGISTRY, WorkerPool, make_timer
from stepedit_app.session.session import Progress, RenderCancelled, TakeReady
from stepedit_app.session.takes import Take

AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.aiff *.aif *.mp3);;All files (*)"
DEFAULT_TEMPLATE = "{name}_{emotion}_{take}"
MAX_RECENT = 10
AUTO_RENDER_DEBOUNCE_MS = 250
PLAYHEAD_MS = 30


def config_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppConfigLocation)
    return Path(base or Path.home() / ".config" / "stepedit")


def make_settings() -> QSettings:
    d = config_dir()
    d.mkdir(parents=True, exist_ok=True)
    return QSettings(str(d / "stepedit.ini"), QSettings.Format.IniFormat)


def default_player():
    from stepedit_app.audio.playback import Player

    return Player()


class _Bridge(QObject):
    """Signals emitted from foreign threads (render worker, PortAudio) and received on the GUI thread."""

    take_event = Signal(str, object)
    playback_finished = Signal()


class MainWindow(QMainWindow):
    """The StepEdit editor window."""

    clip_opened = Signal(str)
    #: Thread id the render ran on (tests assert it is not the GUI thread's).
    render_thread = Signal(object)
    take_ready = Signal(object)
    render_finished = Signal(int)
    take_selected = Signal(int)
    diff_ready = Signal(object)
    spectrogram_done = Signal()
    error_shown = Signal(str)
    status_changed = Signal(str)
    exported = Signal(str)

    def __init__(self, player=None, settings: QSettings | None = None, engine: str = DEFAULT_ENGINE) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("StepEdit")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else make_settings()
        self.clip: Clip | None = None
        self.session = None
        self.pyramid: PeakPyramid | None = None
        self.region: Region | None = None
        self.engine_name = engine
        self.device = "cpu"
        self.spectrogram_scale = "log"
        self.compute_identity = True
        self.last_error: ErrorDialog | None = None
        self._render = None
        self._render_total = 0
        self._render_new = 0
        self._pending = None
        self._spec = None
        self._diff = None
        self._diff_gen = 0
        self._closing = False
        self.pool = WorkerPool(self)
        self.bridge = _Bridge(self)

        # --- widgets ---------------------------------------------------------------------------
        self.timeline = TimelineView()
        self.transport = TransportBar()
        self.takes_panel = TakesPanel()
        self.diff_view = DiffView()
        self.controls_model = ControlsModel(self)
        self.controls = ControlsPanel(self.controls_model)
        self.controls.setMinimumWidth(300)
        left = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(0)
        tl.addWidget(self.timeline, 1)
        tl.addWidget(self.transport)
        left.addWidget(top)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.takes_panel)
        bottom.addWidget(self.diff_view)
        bottom.setStretchFactor(0, 2)
        bottom.setStretchFactor(1, 3)
        bottom.setSizes([380, 620])
        left.addWidget(bottom)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        left.setSizes([600, 330])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(self.controls)
        main.setStretchFactor(0, 1)
        main.setStretchFactor(1, 0)
        main.setSizes([1200, 340])
        self.setCentralWidget(main)
        self.statusBar().showMessage("Open a voice file: File → Open (Ctrl+O) or drop it here.")

        # --- timers ----------------------------------------------------------------------------
        self.playhead_timer = make_timer(self, PLAYHEAD_MS, self._tick_playhead, name="playhead")
        self.auto_timer = make_timer(self, AUTO_RENDER_DEBOUNCE_MS, self._auto_render, single_shot=True,
                                     name="auto-render")

        # --- player ----------------------------------------------------------------------------
        self.player = player if player is not None else default_player()
        self.player.on_finished = self.bridge.playback_finished.emit
        self.bridge.playback_finished.connect(self._on_playback_finished)
        self._refresh_devices()

        # --- wiring ----------------------------------------------------------------------------
        self.bridge.take_event.connect(self.takes_panel.on_take_event)
        self.bridge.take_event.connect(self._on_take_event)
        self.timeline.selection_finished.connect(self._on_selection)
        self.timeline.select_all.connect(self.select_all)
        self.timeline.cursor_clicked.connect(self._on_cursor)
        self.controls.render_clicked.connect(self.render)
        self.controls.cancel_clicked.connect(self.cancel_render)
        self.controls.committed.connect(self._on_committed)
        self.controls.engine_selected.connect(self.set_engine)
        self.controls.device_selected.connect(self._on_device)
        self.controls.preset_error.connect(self._on_preset_error)
        self.controls.save_preset_btn.clicked.connect(self._save_preset_dialog)
        self.takes_panel.selection_changed.connect(self._on_take_selected)
        self.takes_panel.export_clicked.connect(self.export_dialog)
        self.transport.play_toggled.connect(self.toggle_play)
        self.transport.play_selection.connect(self.play_selection)
        self.transport.loop_toggled.connect(self.set_loop)
        self.transport.ab_toggled.connect(self.toggle_ab)
        self.transport.device_selected.connect(self._on_output_device)
        self._build_menus()
        self._load_engines()
        self.resize(1366, 768)

    # =========================================================================================
    # menus and shortcuts
    # =========================================================================================
    def _action(self, menu, text: str, slot, shortcut=None, checkable: bool = False, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            seqs = shortcut if isinstance(shortcut, list) else [shortcut]
            a.setShortcuts([QKeySequence(s) for s in seqs])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.setCheckable(checkable)
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        self.addAction(a)
        return a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = f.addMenu("Open &Recent")
        self.export_action = self._action(f, "&Export Take…", self.export_dialog, "Ctrl+E")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = mb.addMenu("&Edit")
        self.undo_action = self._action(e, "&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(e, "&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        e.addSeparator()
        self._action(e, "Re&name Take", self.takes_panel.rename_selected, "F2")
        self._action(e, "&Star Take", self.takes_panel.toggle_star, "S")
        self._action(e, "&Delete Take", self.takes_panel.delete_selected, [QKeySequence.StandardKey.Delete, "Backspace"])
        self._action(e, "Previous Take", lambda: self.takes_panel.step(-1), "Up")
        self._action(e, "Next Take", lambda: self.takes_panel.step(1), "Down")
        e.addSeparator()
        self._action(e, "Select &All", self.select_all, "Ctrl+A")
        self._action(e, "Clear Selection", self.clear_selection, "Ctrl+D")
        v = mb.addMenu("&View")
        self._action(v, "Zoom to Selection", self.zoom_to_selection, "Z")
        self._action(v, "Zoom to Whole Clip", self.zoom_all, "Shift+Z")
        v.addSeparator()
        sm = v.addMenu("Spectrogram Frequency Scale")
        group = QActionGroup(self)
        self.scale_actions = {}
        for scale in ("linear", "log", "mel"):
            a = self._action(sm, scale.capitalize(), lambda _=False, s=scale: self.set_spectrogram_scale(s),
                             checkable=True)
            a.setChecked(scale == self.spectrogram_scale)
            group.addAction(a)
            self.scale_actions[scale] = a
        p = mb.addMenu("&Playback")
        self._action(p, "Play / Stop", self.toggle_play, "Space")
        self._action(p, "Play Selection", self.play_selection, "Shift+Space")
        self.loop_action = self._action(p, "Loop Region", self.toggle_loop, "L", checkable=True)
        self._action(p, "A/B: Original ↔ Take", self.toggle_ab, "Tab")
        g = mb.addMenu("E&ngine")
        self._action(g, "&Render", self.render, ["Return", "Enter"])
        self._action(g, "&Cancel Render", self.cancel_render, "Esc")
        self.auto_action = self._action(g, "Auto-render on Slider Release", self._toggle_auto, checkable=True)
        self.controls.auto_render.toggled.connect(self.auto_action.setChecked)
        self._action(g, "Reset All Controls", self.controls_model.reset, "Ctrl+R")
        self._action(g, "Save Preset…", self._save_preset_dialog)
        h = mb.addMenu("&Help")
        self._action(h, "&Keyboard Shortcuts", self.show_shortcuts, "F1")
        self._action(h, "&About StepEdit", self._about)
        self._update_recent_menu()
        self._update_undo_actions()

    def shortcut_table(self) -> list[tuple[str, str, str]]:
        """``(menu, action, shortcut)`` for every action with a shortcut (the Help table)."""
        rows = []
        for menu_action in self.menuBar().actions():
            menu = menu_action.menu()
            if menu is None:
                continue
            stack = [(menu_action.text().replace("&", ""), menu)]
            while stack:
                title, m = stack.pop(0)
                for a in m.actions():
                    if a.menu() is not None:
                        stack.append((f"{title} → {a.text().replace('&', '')}", a.menu()))
                    elif a.shortcuts():
                        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts())
                        rows.append((title, a.text().replace("&", ""), keys))
        return rows

    @Slot()
    def show_shortcuts(self) -> QDialog:
        dlg = QDialog(self)
        dlg.setWindowTitle("Keyboard Shortcuts")
        dlg.setObjectName("shortcutsDialog")
        lay = QVBoxLayout(dlg)
        view = QTextBrowser()
        rows = "".join(f"<tr><td style='color:#8d949c;padding-right:16px'>{m}</td><td>{a}</td>"
                       f"<td style='color:#ffb000;padding-left:16px'><b>{k}</b></td></tr>"
                       for m, a, k in self.shortcut_table())
        view.setHtml(f"<table cellspacing=4>{rows}</table>"
                     "<p style='color:#8d949c'>Mouse: drag in the waveform or spectrogram to select; "
                     "double-click selects all; right-drag pans; wheel zooms; double-click a slider resets it.</p>")
        lay.addWidget(view)
        dlg.resize(560, 620)
        dlg.open()
        return dlg

    @Slot()
    def _about(self) -> None:
        from stepedit_app import __version__

        QMessageBox.about(self, "About StepEdit", f"StepEdit {__version__}\nAn editor for expressive voice.")

    # =========================================================================================
    # opening files
    # =========================================================================================
    @Slot()
    def open_dialog(self) -> None:
        start = self.settings.value("last_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open voice file", str(start), AUDIO_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> bool:
        """Open ``path``; on failure show the error dialog and keep the current clip."""
        if not self._confirm_discard():
            return False
        try:
            clip = read_clip(path)
        except StepEditError as exc:
            self.show_error("Cannot open file", exc)
            return False
        self._set_clip(clip)
        self._add_recent(str(clip.path))
        self.settings.setValue("last_folder", str(Path(clip.path).parent))
        return True

    def _set_clip(self, clip: Clip) -> None:
        from stepedit_app.session.session import EditSession

        self.cancel_render()
        self._stop_worker("_spec")
        self._stop_worker("_diff")
        self.stop()
        try:
            session = EditSession(clip, self.engine_name, self.device)
        except StepEditError as exc:
            self.show_error("Cannot start the engine", exc)
            return
        if self.session is not None:
            self.session.engine.close()
        self.clip = clip
        self.session = session
        self.session.takes.subscribe(self._take_listener)
        self.region = None
        self.pyramid = PeakPyramid(clip.samples)
        self.timeline.set_clip(clip.samples, clip.rate, self.pyramid)
        self.takes_panel.set_takes(session.takes)
        self.diff_view.clear("Select a take to see what it changed.")
        self.transport.set_duration(clip.duration)
        self.transport.show_source("A")
        try:
            self.player.load(clip.samples, clip.rate)
        except StepEditError as exc:
            self.show_status(str(exc))
        self.setWindowTitle(f"StepEdit — {clip.path.name if clip.path else 'untitled'}")
        self._start_spectrogram()
        self._update_undo_actions()
        self.show_status(f"{clip.name}: {clip.duration:.2f} s, {clip.rate} Hz, {clip.channels} ch, "
                         f"{clip.subtype or ''}. Drag in the waveform to select a region.")
        self.clip_opened.emit(str(clip.path))

    def _take_listener(self, event: str, take: Take) -> None:
        # Called on whichever thread changed the TakeList (the render thread for "added").
        self.bridge.take_event.emit(event, take)

    def _add_recent(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._update_recent_menu()

    def recent_files(self) -> list[str]:
        v = self.settings.value("recent", [])
        if isinstance(v, str):
            v = [v]
        return [str(p) for p in (v or [])]

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, path=p: self.open_file(path))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def dragEnterEvent(self, ev) -> None:  # noqa: N802 - Qt API
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:  # noqa: N802 - Qt API
        for u in ev.mimeData().urls():
            if u.isLocalFile():
                self.open_file(u.toLocalFile())
                ev.acceptProposedAction()
                return

    # =========================================================================================
    # engine
    # =========================================================================================
    def _load_engines(self) -> None:
        entries = []
        for name in engine_names():
            ok, reason = engine_class(name).availability()
            entries.append((name, ok, reason))
        self.controls.set_engines(entries, self.engine_name)
        self._apply_capabilities()

    def _apply_capabilities(self) -> None:
        if self.session is not None:
            caps = self.session.engine.capabilities()
        else:
            caps = engine_class(self.engine_name)().capabilities()
        devices = [d for d in caps.devices if d == "cpu" or (d == "cuda" and _cuda_present())]
        self.controls.set_capabilities(caps, devices or ["cpu"])

    @Slot(str)
    def set_engine(self, name: str) -> None:
        if name == self.engine_name:
            return
        try:
            if self.session is not None:
                self.cancel_render()
                self.session.set_engine(name)
            else:
                ok, reason = engine_class(name).availability()
                if not ok:
                    raise StepEditError(f"engine {name!r} is not available: {reason}")
        except StepEditError as exc:
            self.show_error("Cannot switch engine", exc)
            self.controls.set_engines([(n, *engine_class(n).availability()) for n in engine_names()], self.engine_name)
            return
        self.engine_name = name
        self._apply_capabilities()
        self.show_status(f"engine: {name}")

    @Slot(str)
    def _on_device(self, device: str) -> None:
        self.device = device
        if self.session is not None:
            try:
                self.session.set_device(device)
            except StepEditError as exc:
                self.show_error("Cannot use this device", exc)
                return
        self.show_status(f"engine device: {device.upper()}")

    # =========================================================================================
    # region
    # =========================================================================================
    @Slot(float, float)
    def _on_selection(self, a: float, b: float) -> None:
        if self.clip is None:
            return
        self.set_region_seconds(a, b)

    def set_region_seconds(self, a: float, b: float) -> None:
        """Set the region (model); the views follow."""
        if self.clip is None:
            return
        r = Region.from_seconds(max(0.0, a), min(self.clip.duration, b), self.clip.rate)
        if r.length <= 0:
            self.clear_selection()
            return
        self.region = r
        s, e = r.seconds(self.clip.rate)
        self.timeline.set_region((s, e))
        try:
            self.player.set_loop(r.start, r.end)
        except StepEditError:
            pass
        self.show_status(f"selection {format_time(s, 3)} – {format_time(e, 3)}  ({e - s:.3f} s)")

    @Slot()
    def select_all(self) -> None:
        if self.clip is not None:
            self.set_region_seconds(0.0, self.clip.duration)

    @Slot()
    def clear_selection(self) -> None:
        self.region = None
        self.timeline.set_region(None)

    @Slot()
    def zoom_to_selection(self) -> None:
        if self.clip is not None and self.region is not None:
            s, e = self.region.seconds(self.clip.rate)
            pad = 0.1 * (e - s)
            self.timeline.zoom_to(max(0.0, s - pad), min(self.clip.duration, e + pad))

    @Slot()
    def zoom_all(self) -> None:
        if self.clip is not None:
            self.timeline.zoom_to(0.0, self.clip.duration)

    @Slot(float)
    def _on_cursor(self, t: float) -> None:
        self._cursor = max(0.0, t)
        self.timeline.set_playhead(self._cursor)
        self.transport.show_time(self._cursor)

    # =========================================================================================
    # rendering
    # =========================================================================================
    @property
    def rendering(self) -> bool:
        return self._render is not None and self._render.running

    @Slot()
    def render(self) -> None:
        """Render the region (the whole clip when nothing is selected) with the current controls."""
        if self.session is None:
            self.show_status("Open a file first.")
            return
        try:
            request = self.controls_model.request()
            region = self.session.region_or_whole(self.region)
            self.session.engine.capabilities().check_request(request)
        except StepEditError as exc:
            self.show_error("Cannot render", exc)
            return
        if self.rendering:
            # Latest wins: cancel the running render, start this one when it has stopped.
            self._pending = (request, region)
            self._render.worker.quit()
            return
        self._start_render(request, region)

    def _start_render(self, request, region: Region) -> None:
        session = self.session
        cancel = CancelToken()

        def work():
            for ev in session.render(request, region, cancel):
                if isinstance(ev, TakeReady):
                    # The last iteration is the one selected and auditioned.
                    yield ev, ev.take.iteration == ev.take.iterations
                else:
                    yield ev

        handle = self.pool.create(work, cancel, name="render")
        handle.worker.started_on.connect(self._on_render_thread)
        handle.worker.yielded.connect(self._on_render_event)
        handle.worker.errored.connect(self._on_render_error)
        handle.worker.done.connect(self._on_render_done)
        self._render = handle
        self._render_total = request.iterations
        self._render_new = 0
        self._last_new = None
        self.controls.set_rendering(True, request.iterations)
        self.show_status(f"rendering {request.summary()} ({request.iterations} iteration(s))…")
        self.pool.start(handle)

    @Slot(object)
    def _on_render_thread(self, ident: int) -> None:
        self.render_thread.emit(ident)

    @Slot(object)
    def _on_render_event(self, ev) -> None:
        if isinstance(ev, Progress):
            self.controls.set_progress(ev.iteration, ev.fraction, ev.message)
        elif isinstance(ev, tuple) and isinstance(ev[0], TakeReady):
            take, last = ev[0].take, ev[1]
            self._render_new += 1
            self._last_new = take
            if last:
                if self.playing and self.transport.loop_btn.isChecked():
                    # Loop audition: hear the new take from the next pass, nothing else changes.
                    self._queue_take(take)
                self.takes_panel.select(take.id)
            self.take_ready.emit(take)
        elif isinstance(ev, RenderCancelled):
            self.controls.mark_cancelled(ev.kept)
            if ev.kept and self._last_new is not None:
                self.takes_panel.select(self._last_new.id)
            self.show_status(f"render cancelled; {ev.kept} finished iteration(s) kept")

    @Slot(object)
    def _on_render_error(self, exc) -> None:
        self.show_error("Render failed", exc)

    @Slot()
    def _on_render_done(self) -> None:
        self.controls.set_rendering(False)
        n = self._render_new
        self._render = None
        if self._pending is not None and not self._closing:
            request, region = self._pending
            self._pending = None
            self._start_render(request, region)
            return
        if n and not self.statusBar().currentMessage().startswith("render cancelled"):
            self.show_status(f"{n} take(s) ready — Tab switches original/take, arrows move through takes")
        self.render_finished.emit(n)

    @Slot()
    def cancel_render(self) -> None:
        self._pending = None
        if self.rendering:
            self._render.worker.quit()

    @Slot()
    def _on_committed(self) -> None:
        if self.controls.auto_render.isChecked():
            self.auto_timer.start()

    @Slot()
    def _auto_render(self) -> None:
        if self.session is not None and self.region is not None:
            self.render()

    @Slot()
    def _toggle_auto(self) -> None:
        self.controls.auto_render.setChecked(self.auto_action.isChecked())

    # =========================================================================================
    # takes
    # =========================================================================================
    @property
    def selected_take(self) -> Take | None:
        return self.takes_panel.selected_take()

    @Slot(str, object)
    def _on_take_event(self, event: str, take: Take) -> None:
        self._update_undo_actions()

    @Slot(int)
    def _on_take_selected(self, take_id: int) -> None:
        take = self.selected_take
        self.export_action.setEnabled(take is not None)
        if take is None or self.clip is None:
            self.timeline.set_take(None, 1, 0.0)
            self.timeline.spectrogram.clear_pitch()
            self.diff_view.clear("Select a take to see what it changed.")
            self._set_player_take(None)
            self.take_selected.emit(-1)
            return
        start_s = take.region.start / self.clip.rate
        self.timeline.set_take(take.segment.samples, take.segment.rate, start_s)
        if not (self.playing and self.transport.loop_btn.isChecked() and take.id in self._queued_ids()):
            self._set_player_take(take)
        self.transport.show_source(getattr(self.player, "source", "A"), take.name)
        self._start_diff(take)
        self.take_selected.emit(take.id)

    def _queued_ids(self) -> set[int]:
        return getattr(self, "_queued", set())

    def _set_player_take(self, take: Take | None) -> None:
        try:
            if take is None:
                self.player.set_take(None, None)
            else:
                # The player reads the original outside the region and the take's segment
                # inside it: no spliced copy of the clip per take.
                self.player.set_take(take.segment.samples, (take.region.start, take.region.end), segment=True)
        except StepEditError as exc:
            self.show_status(str(exc))

    def _queue_take(self, take: Take) -> None:
        try:
            self.player.queue_take(take.segment.samples, (take.region.start, take.region.end), segment=True)
            self._queued = {take.id}
        except StepEditError as exc:
            self.show_status(str(exc))

    @Slot()
    def undo(self) -> None:
        if self.session is not None:
            self.session.takes.undo()
            self._update_undo_actions()

    @Slot()
    def redo(self) -> None:
        if self.session is not None:
            self.session.takes.redo()
            self._update_undo_actions()

    def _update_undo_actions(self) -> None:
        t = self.session.takes if self.session is not None else None
        self.undo_action.setEnabled(bool(t and t.can_undo()))
        self.redo_action.setEnabled(bool(t and t.can_redo()))
        self.undo_action.setText(f"&Undo {t.undo_label()}" if t and t.can_undo() else "&Undo")
        self.redo_action.setText(f"&Redo {t.redo_label()}" if t and t.can_redo() else "&Redo")

    # =========================================================================================
    # diff
    # =========================================================================================
    def _start_diff(self, take: Take) -> None:
        from stepedit_app.session.diff import compute_diff

        self._stop_worker("_diff", wait=False)
        self._diff_gen += 1
        gen_id = self._diff_gen
        original = self.clip.slice(take.region)
        segment = take.segment
        identity = self.compute_identity
        cancel = CancelToken()

        def work():
            yield gen_id, take, compute_diff(original, segment, identity=identity, cancel=cancel)

        handle = self.pool.create(work, cancel, name="diff")
        handle.worker.yielded.connect(self._on_diff)
        handle.worker.errored.connect(self._on_diff_error)
        self._diff = handle
        self.diff_view.show_pending(take.name)
        self.pool.start(handle)

    @Slot(object)
    def _on_diff(self, result) -> None:
        gen_id, take, diff = result
        if gen_id != self._diff_gen or self.clip is None:
            return  # a newer take was selected meanwhile
        original = self.clip.slice(take.region).samples
        self.diff_view.show_diff(diff, original, take.segment.samples, self.clip.rate, take.name)
        start_s = take.region.start / self.clip.rate
        t_o = np.asarray(diff.f0_times_original, dtype=np.float64) + start_s
        aligned = getattr(diff, "aligned_take_f0", None)
        if aligned is not None and len(aligned) == len(t_o):
            self.timeline.spectrogram.set_pitch(t_o, diff.f0_original, t_o, aligned)
        else:
            self.timeline.spectrogram.set_pitch(t_o, diff.f0_original,
                                                np.asarray(diff.f0_times_take) + start_s, diff.f0_take)
        self.diff_ready.emit(diff)

    @Slot(object)
    def _on_diff_error(self, exc) -> None:
        line, _ = error_parts(exc)
        self.diff_view.clear(f"could not measure: {line}")

    # =========================================================================================
    # spectrogram
    # =========================================================================================
    def _start_spectrogram(self) -> None:
        from stepedit_app.audio.spectrogram import iter_spectrogram

        self._stop_worker("_spec")
        clip = self.clip
        hop = choose_hop(clip.frames)
        scale = self.spectrogram_scale
        total = clip.frames // hop + 1
        self.timeline.spectrogram.reset(clip.duration, total, N_BINS)
        chunk_s = max(5.0, clip.duration / 24.0)

        def work():
            # Runs on the worker thread: the mono mix of a long file is made here too.
            x = clip.samples[:, 0] if clip.channels == 1 else clip.samples.mean(axis=1)
            yield from iter_spectrogram(x, clip.rate, chunk_s=chunk_s, n_fft=N_FFT, hop=hop, scale=scale,
                                        n_bins=N_BINS)

        handle = self.pool.create(work, name="spectrogram")
        handle.worker.yielded.connect(self.timeline.spectrogram.add_chunk)
        handle.worker.done.connect(self._on_spectrogram_done)
        handle.worker.errored.connect(self._on_spectrogram_error)
        self._spec = handle
        self.pool.start(handle)

    @Slot()
    def _on_spectrogram_done(self) -> None:
        self.timeline.spectrogram.finish()
        self.spectrogram_done.emit()

    @Slot(object)
    def _on_spectrogram_error(self, exc) -> None:
        line, _ = error_parts(exc)
        self.show_status(f"spectrogram: {line}")

    def set_spectrogram_scale(self, scale: str) -> None:
        self.spectrogram_scale = scale
        if scale in getattr(self, "scale_actions", {}):
            self.scale_actions[scale].setChecked(True)
        if self.clip is not None:
            self._start_spectrogram()
            take = self.selected_take
            if take is not None:
                self._start_diff(take)

    def _stop_worker(self, attr: str, wait: bool = True) -> None:
        h = getattr(self, attr)
        if h is not None:
            h.worker.quit()
            if wait:
                h.stop()
            setattr(self, attr, None)

    # =========================================================================================
    # playback
    # =========================================================================================
    def _refresh_devices(self) -> None:
        try:
            devices = list(self.player.output_devices())
        except Exception:  # noqa: BLE001 - no PortAudio at all: playback off, editor on
            devices = []
        self.transport.set_devices([(int(i), str(n)) for i, n in devices], getattr(self.player, "device", None))
        if not getattr(self.player, "available", bool(devices)):
            err = getattr(self.player, "error", None) or "no audio output device"
            self.show_status(f"Playback is off: {err}. Everything else works.")

    @Slot(int)
    def _on_output_device(self, idx: int) -> None:
        try:
            self.player.set_device(idx)
        except StepEditError as exc:
            self.show_error("Cannot use this output device", exc)

    @property
    def playing(self) -> bool:
        return getattr(getattr(self.player, "state", None), "name", "STOPPED") == "PLAYING"

    @Slot()
    def toggle_play(self) -> None:
        if self.playing:
            self.stop()
        else:
            self.play()

    def play(self, start_s: float | None = None, end_s: float | None = None, loop: bool | None = None) -> bool:
        """Start playback; returns False (with a status message) when there is no audio device."""
        if self.clip is None:
            return False
        loop = self.transport.loop_btn.isChecked() if loop is None else loop
        if loop and self.region is not None and start_s is None:
            start, end = self.region.start, self.region.end
        else:
            t = getattr(self, "_cursor", 0.0) if start_s is None else start_s
            start = int(round(t * self.clip.rate))
            end = None if end_s is None else int(round(end_s * self.clip.rate))
            if start >= self.clip.frames - 1:
                start = 0
        try:
            self.player.play(start, end, loop=loop)
        except StepEditError as exc:
            self.show_status(f"Cannot play: {exc}")
            return False
        self.transport.show_playing(True)
        self.playhead_timer.start()
        return True

    @Slot()
    def play_selection(self) -> None:
        if self.region is None:
            self.play()
            return
        s, e = self.region.seconds(self.clip.rate)
        self.play(s, e, loop=self.transport.loop_btn.isChecked())

    @Slot()
    def stop(self) -> None:
        try:
            self.player.stop()
        except StepEditError:
            pass
        self.playhead_timer.stop()
        self.transport.show_playing(False)

    @Slot(bool)
    def set_loop(self, on: bool) -> None:
        self.transport.show_loop(on)
        self.loop_action.setChecked(on)
        if self.region is not None:
            try:
                self.player.set_loop(self.region.start, self.region.end) if on else None
            except StepEditError:
                pass
        if self.playing:
            # Restart in the new mode from the region (loop) or keep going (no loop).
            pos = self.player.position_seconds()
            self.stop()
            if on:
                self.play()
            else:
                self.play(pos)

    @Slot()
    def toggle_loop(self) -> None:
        self.set_loop(not self.transport.loop_btn.isChecked())

    @Slot()
    def toggle_ab(self) -> None:
        take = self.selected_take
        current = getattr(self.player, "source", "A")
        if current == "A" and take is None:
            self.show_status("Select a take to compare (B).")
            return
        new = "B" if current == "A" else "A"
        try:
            self.player.set_source(new)
        except StepEditError as exc:
            self.show_status(str(exc))
            return
        self.transport.show_source(new, take.name if take else "")

    @Slot()
    def _on_playback_finished(self) -> None:
        self.playhead_timer.stop()
        self.transport.show_playing(False)

    def _to_original_time(self, frame: int) -> float:
        """Map a position in the playing source's timeline onto the original's (seconds)."""
        rate = self.clip.rate
        take = self.selected_take
        if getattr(self.player, "source", "A") != "B" or take is None:
            return frame / rate
        s, e = take.region.start, take.region.end
        n = take.segment.frames
        if frame < s:
            return frame / rate
        if frame < s + n:
            return (s + (frame - s) * (e - s) / max(1, n)) / rate
        return (frame - (n - (e - s))) / rate

    @Slot()
    def _tick_playhead(self) -> None:
        if self.clip is None:
            return
        t = self._to_original_time(int(self.player.position))
        self.timeline.set_playhead(t)
        self.transport.show_time(t)
        if not self.playing:
            self.playhead_timer.stop()
            self.transport.show_playing(False)

    # =========================================================================================
    # export
    # =========================================================================================
    def _export_preview(self, template: str, ext: str) -> str:
        from stepedit_app.session.export import render_name

        take = self.selected_take
        return render_name(template, source=self.clip, take=take, ext=ext)

    @Slot()
    def export_dialog(self) -> None:
        take = self.selected_take
        if take is None or self.clip is None:
            self.show_status("Select a take to export.")
            return
        folder = Path(self.settings.value("export_folder", str(Path(self.clip.path).parent)))
        template = str(self.settings.value("export_template", DEFAULT_TEMPLATE))
        dlg = ExportDialog(folder, template, self._export_preview, self, self.clip.subtype)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.export_take(dlg.settings())

    def export_take(self, settings: ExportSettings, take: Take | None = None) -> Path | None:
        """Export ``take`` (default: the selected one) as ``settings`` say; errors → dialog."""
        from stepedit_app.session.export import export, render_name

        take = take or self.selected_take
        if take is None or self.clip is None:
            return None
        try:
            name = render_name(settings.template, source=self.clip, take=take, ext=settings.ext)
            path = settings.folder / name
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                out = export(self.clip, take, path, subtype=settings.subtype, scope=settings.scope,
                             lufs=settings.lufs, true_peak_db=settings.true_peak_db, takes=self.session.takes)
            finally:
                QApplication.restoreOverrideCursor()
        except StepEditError as exc:
            self.show_error("Export failed", exc)
            return None
        if not take.exported:
            self.session.takes.mark_exported(take)
        self.settings.setValue("export_folder", str(settings.folder))
        self.settings.setValue("export_template", settings.template)
        self.show_status(f"exported {out}")
        self.exported.emit(str(out))
        return Path(out)

    # =========================================================================================
    # presets
    # =========================================================================================
    @Slot()
    def _save_preset_dialog(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Preset name:")
        if ok and name.strip():
            try:
                path = self.controls.save_preset(name.strip())
            except (OSError, StepEditError) as exc:
                self.show_error("Cannot save preset", exc)
                return
            self.show_status(f"preset saved: {path}")

    @Slot(object)
    def _on_preset_error(self, exc) -> None:
        self.show_error("Cannot load preset", exc)

    # =========================================================================================
    # errors, status, closing
    # =========================================================================================
    def show_error(self, title: str, exc: BaseException) -> ErrorDialog:
        """One line, details behind a button; window-modal but non-blocking."""
        line, details = error_parts(exc)
        if self.last_error is not None:
            self.last_error.close()
        dlg = ErrorDialog(title, line, details, self)
        dlg.open()
        self.last_error = dlg
        self.statusBar().showMessage(line)
        self.error_shown.emit(line)
        return dlg

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text)
        self.status_changed.emit(text)

    def _confirm_discard(self) -> bool:
        """Ask before dropping takes that were never exported."""
        if self.session is None:
            return True
        n = len(self.session.takes.unexported())
        if n == 0:
            return True
        return self.ask_discard(n)

    def ask_discard(self, n: int) -> bool:
        ans = QMessageBox.question(
            self, "Unexported takes",
            f"{n} take(s) were not exported and will be lost. Continue?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return ans == QMessageBox.StandardButton.Discard

    def closeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        if not self._closing and not self._confirm_discard():
            ev.ignore()
            return
        self.shutdown()
        super().closeEvent(ev)

    def shutdown(self) -> None:
        """Stop playback, cancel and wait for every worker, stop every timer."""
        self._closing = True
        self._pending = None
        self.auto_timer.stop()
        self.playhead_timer.stop()
        self.timeline.spectrogram.stop()
        try:
            self.player.stop()
        except StepEditError:
            pass
        self.pool.shutdown()
        try:
            self.player.close()
        except Exception:  # noqa: BLE001 - closing must never fail
            pass
        if self.session is not None:
            self.session.engine.close()
        # Deliver queued signals from finished workers now, while receivers still exist.
        QApplication.processEvents()
        leftover = REGISTRY.running()
        if leftover:  # pragma: no cover - a bug; tests fail on it
            self.statusBar().showMessage(f"still running at close: {', '.join(leftover)}")


def _cuda_present() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch: no CUDA
        return False


