"""The editor window: layout, menus, status bar, dialogs and closing; nothing else.

The editor's state lives in :class:`~stepedit_app.session.editor.EditorState` (no Qt); the
work lives in the controllers (:mod:`stepedit_app.gui.controllers`), which own their worker
threads; the views follow both through :mod:`stepedit_app.gui.bindings`.  This class builds
them, lays them out, turns every command into a menu item with its shortcut, shows what the
controllers report (status lines, progress, error dialogs), and asks before work is lost.

Menus are built from :meth:`MainWindow.add_action` into :attr:`MainWindow.menus`, so later
features add their items the same way (the Workflows menu — render variations, export
starred, recipes — is built by :class:`~stepedit_app.gui.workflows.WorkflowActions`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from stepedit_app.engines.registry import DEFAULT_ENGINE
from stepedit_app.errors import RequestError, StepEditError
from stepedit_app.gui import engine_panels
from stepedit_app.gui.bindings import TimelineBinding, bind_diff
from stepedit_app.gui.controllers.analysis import AnalysisController
from stepedit_app.gui.controllers.documents import DocumentsController
from stepedit_app.gui.controllers.playback import PlaybackController
from stepedit_app.gui.controllers.render import RenderController
from stepedit_app.gui.controllers.workflows import WorkflowsController
from stepedit_app.gui.dialogs import (
    ErrorDialog,
    ExportDialog,
    ExportSettings,
    ask_recover,
    ask_source_problem,
    ask_unsaved,
    error_parts,
    log_named_in,
)
from stepedit_app.gui.keys import KeyRouter
from stepedit_app.gui.panels.controls import ControlsPanel
from stepedit_app.gui.panels.takes import TakesPanel
from stepedit_app.gui.panels.transport import TransportBar
from stepedit_app.gui.views.diff import DiffView
from stepedit_app.gui.views.timeline import TimelineView
from stepedit_app.gui.workers import REGISTRY
from stepedit_app.gui.workflows import WorkflowActions
from stepedit_app.session.editor import EditorState, format_seconds
from stepedit_app.session.project import SUFFIX
from stepedit_app.session.storage import user_config_dir

AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.aiff *.aif *.mp3);;All files (*)"
PROJECT_FILTER = f"StepEdit projects (*{SUFFIX});;All files (*)"
MAX_RECENT = 10


def make_settings() -> QSettings:
    d = user_config_dir()
    d.mkdir(parents=True, exist_ok=True)
    return QSettings(str(d / "stepedit.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    """The StepEdit editor window.

    Parameters
    ----------
    player
        Audio output (default: PortAudio through sounddevice); tests inject a paced one.
    settings
        Where recent files and export choices are kept.
    engine
        The engine to start with.
    autosave_root
        Folder of autosaves (default: the user's data folder).

    Signals
    -------
    error_shown(str), status_changed(str)
        The one line of an error dialog; a status-bar line.
    """

    error_shown = Signal(str)
    status_changed = Signal(str)

    def __init__(self, player=None, settings: QSettings | None = None, engine: str = DEFAULT_ENGINE,
                 autosave_root: Path | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("StepEdit")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else make_settings()
        self.state = EditorState(engine)
        self.last_error: ErrorDialog | None = None
        self._closing = False

        self.documents = DocumentsController(self.state, self, autosave_root)
        self.renderer = RenderController(self.state, self)
        self.playback = PlaybackController(self.state, player, self)
        self.analysis = AnalysisController(self.state, self)
        self.workflows = WorkflowsController(self.state, self.renderer, self.settings, self)
        self.controllers = (self.documents, self.renderer, self.playback, self.analysis, self.workflows)
        #: Export, variations and recipe commands (their dialogs: the last one opened).
        self.workflow_actions = WorkflowActions(self)
        self.last_dialog: QDialog | None = None

        self.timeline = TimelineView()
        self.transport = TransportBar(self.state)
        self.takes_panel = TakesPanel(self.state)
        self.diff_view = DiffView()
        self.controls = ControlsPanel(self.state)
        self._layout()
        self.binding = TimelineBinding(self.timeline, self.state, self.playback, self.analysis, self.transport)
        bind_diff(self.diff_view, self.state, self.analysis)
        self._connect()
        self.menus: dict[str, QMenu] = {}
        self.actions: dict[str, QAction] = {}
        self._build_menus()
        # Engines' own window parts (the GPU engine's setup, diagnosis, cloning): menus and controllers.
        for ctl in engine_panels.install_builtin(self):
            ctl.status.connect(self.show_status)
            ctl.failed.connect(self.show_error)
            self.controllers = (*self.controllers, ctl)
        self.keys = KeyRouter(self)
        self.playback.refresh_devices()
        self.renderer.load_engines()
        self.statusBar().showMessage("Open a voice file: File → Open (Ctrl+O) or drop it here.")
        self.resize(1366, 768)

    # =========================================================================================
    # layout
    # =========================================================================================
    def _layout(self) -> None:
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
        self.progress = QProgressBar()
        self.progress.setObjectName("taskProgress")
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)

    def _connect(self) -> None:
        st, c = self.state, self.controls
        for ctl in self.controllers:
            ctl.status.connect(self.show_status)
            ctl.failed.connect(self.show_error)
        self.documents.progress.connect(self._on_progress)
        self.documents.opened.connect(self._on_opened)
        self.documents.source_problem.connect(self._on_source_problem)
        self.documents.restore_problems.connect(self._on_restore_problems)
        self.documents.exported.connect(lambda _p: None)
        self.renderer.engines_changed.connect(c.set_engines)
        self.renderer.devices_changed.connect(c.set_devices)
        self.renderer.devices_changed.connect(lambda *_: c.device_box.setToolTip(self.renderer.device_note))
        self.renderer.transcript_missing.connect(self._on_transcript_missing)
        self.renderer.started.connect(lambda n: c.set_rendering(True, n))
        self.renderer.progress.connect(c.set_progress)
        self.renderer.cancelled.connect(c.mark_cancelled)
        self.renderer.converged.connect(c.mark_converged)
        # A render that converged early: its result (the last take, now selected) is heard.
        self.renderer.converged.connect(lambda _k: self._audition_selected())
        self.renderer.finished.connect(lambda _n: c.set_rendering(False))
        self.renderer.take_ready.connect(lambda take, last: self.playback.audition(take) if last else None)
        self.playback.playing_changed.connect(self.transport.show_playing)
        self.playback.devices_changed.connect(self.transport.set_devices)
        c.render_requested.connect(self.renderer.render)
        c.cancel_requested.connect(self.renderer.cancel)
        c.engine_selected.connect(self.renderer.set_engine)
        c.device_selected.connect(self.renderer.set_device)
        c.preset_error.connect(lambda exc: self.show_error("Cannot load preset", exc))
        c.save_preset_requested.connect(self.save_preset_dialog)
        self.takes_panel.export_requested.connect(self.export_dialog)
        self.transport.play_toggled.connect(self.playback.toggle_play)
        self.transport.play_selection.connect(self.playback.play_selection)
        self.transport.ab_toggled.connect(self.playback.toggle_ab)
        self.transport.device_selected.connect(self.playback.set_output_device)
        st.events.connect("region", self._on_region)
        st.events.connect("take", lambda take: self._enable_take_actions())
        st.events.connect("history", self._update_undo_actions)
        st.events.connect("loop", lambda on: self.actions["loop"].setChecked(on))
        st.events.connect("auto_render", lambda on: self.actions["auto_render"].setChecked(on))
        st.events.connect("modified", lambda _m: self._update_title())

    # =========================================================================================
    # menus
    # =========================================================================================
    def add_action(self, menu: str, key: str, text: str, slot, shortcut=None, *, checkable: bool = False,
                   tip: str = "") -> QAction:
        """Add a command to ``menu`` (created if new) as :attr:`actions` ``[key]``; its shortcut
        works anywhere in the window (text fields keep plain keys, see :mod:`.keys`)."""
        m = self.menus.get(menu)
        if m is None:
            m = self.menus[menu] = self.menuBar().addMenu(menu)
        a = QAction(text, self)
        if shortcut is not None:
            seqs = shortcut if isinstance(shortcut, list) else [shortcut]
            a.setShortcuts([QKeySequence(s) for s in seqs])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.setCheckable(checkable)
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        m.addAction(a)
        self.addAction(a)
        self.actions[key] = a
        return a

    def _build_menus(self) -> None:
        add, st, pb, r = self.add_action, self.state, self.playback, self.renderer
        f = "&File"
        add(f, "open", "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = self.menus[f].addMenu("Open &Recent")
        add(f, "open_project", "Open &Project…", self.open_project_dialog, "Ctrl+Shift+O")
        add(f, "save", "&Save Project", self.save_project, QKeySequence.StandardKey.Save)
        add(f, "save_as", "Save Project &As…", self.save_project_as, "Ctrl+Shift+S")
        self.menus[f].addSeparator()
        add(f, "export", "&Export Take…", self.export_dialog, "Ctrl+E")
        self.menus[f].addSeparator()
        add(f, "quit", "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = "&Edit"
        add(e, "undo", "&Undo", st.undo, QKeySequence.StandardKey.Undo)
        add(e, "redo", "&Redo", st.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.menus[e].addSeparator()
        add(e, "rename", "Re&name Take", self.takes_panel.rename_selected, "F2")
        add(e, "star", "&Star Take", self.takes_panel.toggle_star, "S")
        add(e, "delete", "&Delete Take", self.takes_panel.delete_selected, [QKeySequence.StandardKey.Delete, "Backspace"])
        add(e, "prev_take", "Previous Take", lambda: st.step_take(-1), "Up")
        add(e, "next_take", "Next Take", lambda: st.step_take(1), "Down")
        self.menus[e].addSeparator()
        add(e, "select_all", "Select &All", st.select_all, "Ctrl+A")
        add(e, "clear_selection", "Clear Selection", lambda: st.set_region(None), "Ctrl+D")
        v = "&View"
        add(v, "zoom_sel", "Zoom to Selection", self.zoom_to_selection, "Z")
        add(v, "zoom_all", "Zoom to Whole Clip", self.zoom_all, "Shift+Z")
        self.menus[v].addSeparator()
        scale_menu = self.menus[v].addMenu("Spectrogram Frequency Scale")
        group = QActionGroup(self)
        for scale in ("linear", "log", "mel"):
            a = QAction(scale.capitalize(), self, checkable=True)
            a.setChecked(scale == self.analysis.scale)
            a.triggered.connect(lambda _=False, s=scale: self.analysis.set_scale(s))
            group.addAction(a)
            scale_menu.addAction(a)
            self.actions[f"scale_{scale}"] = a
        p = "&Playback"
        add(p, "play", "Play / Stop", pb.toggle_play, "Space")
        add(p, "play_selection", "Play Selection", pb.play_selection, "Shift+Space")
        add(p, "loop", "Loop Region", pb.toggle_loop, "L", checkable=True)
        add(p, "ab", "A/B: Original ↔ Take", pb.toggle_ab, "Tab")
        g = "E&ngine"
        add(g, "render", "&Render", r.render, ["Ctrl+Return", "Ctrl+Enter"],
            tip="Enter on a slider or the Render button renders too")
        add(g, "cancel", "&Cancel Render", r.cancel, "Esc")
        add(g, "auto_render", "Auto-render on Slider Release", lambda on: st.set_auto_render(on), checkable=True)
        add(g, "reset", "Reset All Controls", st.reset_controls, "Ctrl+R")
        add(g, "filter", "Filter Controls", self.controls.focus_filter, "Ctrl+F")
        add(g, "save_preset", "Save Preset…", self.save_preset_dialog)
        self.workflow_actions.build_menu()
        h = "&Help"
        add(h, "shortcuts", "&Keyboard Shortcuts", self.show_shortcuts, "F1")
        add(h, "about", "&About StepEdit", self._about)
        self._update_recent_menu()
        self._update_undo_actions()
        self._enable_take_actions()

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
                     "<p style='color:#8d949c'>Space, L, Tab and the letter keys work wherever the focus is, "
                     "except while typing in a text field. Enter commits a typed value; Enter on a slider "
                     "or the Render button renders.</p>"
                     "<p style='color:#8d949c'>Mouse: drag in the waveform or spectrogram to select (always a "
                     "new selection; drag an edge to adjust it; Shift-drag or Shift-click extends it); "
                     "double-click selects all; right-drag pans; wheel zooms; double-click a slider resets it.</p>")
        lay.addWidget(view)
        dlg.resize(600, 660)
        dlg.open()
        return dlg

    @Slot()
    def _about(self) -> None:
        from stepedit_app import __version__

        QMessageBox.about(self, "About StepEdit", f"StepEdit {__version__}\nAn editor for expressive voice.")

    def _update_undo_actions(self) -> None:
        h = self.state.history
        self.actions["undo"].setEnabled(h.can_undo())
        self.actions["redo"].setEnabled(h.can_redo())
        self.actions["undo"].setText(f"&Undo {h.undo_label()}" if h.can_undo() else "&Undo")
        self.actions["redo"].setText(f"&Redo {h.redo_label()}" if h.can_redo() else "&Redo")

    def _enable_take_actions(self) -> None:
        has = self.state.selected_take is not None
        for key in ("export", "star", "rename", "delete"):
            self.actions[key].setEnabled(has)

    # =========================================================================================
    def _audition_selected(self) -> None:
        take = self.state.selected_take
        if take is not None:
            self.playback.audition(take)

    # status
    # =========================================================================================
    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text)
        self.status_changed.emit(text)

    def show_error(self, title: str, exc: BaseException) -> ErrorDialog:
        """One line, details behind a button; window-modal but non-blocking."""
        line, details = error_parts(exc)
        if self.last_error is not None:
            self.last_error.close()
        dlg = ErrorDialog(title, line, details, self)
        log = log_named_in(" ".join(str(exc).split()))
        if log is not None:
            dlg.add_open_file_button("Open Log", log)
        dlg.open()
        self.last_error = dlg
        self.statusBar().showMessage(line)
        self.error_shown.emit(line)
        return dlg

    def _on_transcript_missing(self, asked: bool) -> None:
        # An auto-render (a slider just released) leaves the keyboard where it is.
        line = self.controls.transcript_box.ask(focus=asked)
        if asked:
            self.show_error("Transcript needed", RequestError(line))
        else:  # an auto-render: the field says it; no dialog on every slider release
            self.show_status(line)

    def _on_progress(self, label: str, fraction: float) -> None:
        if fraction < 0:
            self.progress.hide()
            return
        self.progress.setFormat(f"{label}  %p%")
        self.progress.setValue(int(round(1000 * fraction)))
        self.progress.show()

    def _on_region(self, region) -> None:
        if region is None or self.state.clip is None:
            self.show_status("no selection: a render edits the whole clip")
            return
        a, b = region.seconds(self.state.clip.rate)
        self.show_status(f"selection {format_seconds(a)} – {format_seconds(b)}  ({b - a:.3f} s)")

    def _update_title(self) -> None:
        st = self.state
        name = st.project_path.name if st.project_path else (st.clip.path.name if st.clip and st.clip.path else "")
        mark = " •" if st.modified and st.takes else ""
        self.setWindowTitle(f"StepEdit — {name}{mark}" if name else "StepEdit")

    # =========================================================================================
    # documents
    # =========================================================================================
    @Slot()
    def open_dialog(self) -> None:
        start = self.settings.value("last_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open voice file", str(start), AUDIO_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> bool:
        """Open an audio file or a project (by its suffix), after asking about unsaved takes."""
        if Path(path).suffix == SUFFIX:
            return self.open_project(path)
        if not self.confirm_leave():
            return False
        self.documents.open_audio(path)
        return True

    @Slot()
    def open_project_dialog(self) -> None:
        start = self.settings.value("last_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open project", str(start), PROJECT_FILTER)
        if path:
            self.open_project(path)

    def open_project(self, path: str | Path) -> bool:
        if not self.confirm_leave():
            return False
        self.documents.open_project(path)
        return True

    def _on_opened(self) -> None:
        st = self.state
        path = str(st.project_path or st.clip.path)
        self._add_recent(path)
        self.settings.setValue("last_folder", str(Path(path).parent))
        self._update_title()

    def _on_source_problem(self, problem) -> None:
        choice = self.ask_source_problem(problem.check.message(), problem.check.status == "changed")
        if choice == "anyway":
            self.documents.resolve_source(problem, problem.check.path, accept_changed=True)
        elif choice == "locate":
            path, _ = QFileDialog.getOpenFileName(self, f"Locate {problem.check.expected.name}",
                                                  str(problem.file.path.parent), AUDIO_FILTER)
            if path:
                self.documents.resolve_source(problem, Path(path))

    def ask_source_problem(self, message: str, changed: bool) -> str:
        return ask_source_problem(self, message, changed)

    def _on_restore_problems(self, problems: list[str]) -> None:
        self.show_error("Some takes could not be restored",
                        StepEditError(f"{len(problems)} take(s) could not be restored: " + "; ".join(problems)))

    @Slot()
    def save_project(self) -> bool:
        if self.state.project_path is None:
            return self.save_project_as()
        return self.documents.save_project(self.state.project_path)

    @Slot()
    def save_project_as(self) -> bool:
        st = self.state
        if st.clip is None:
            self.show_status("Open a file first.")
            return False
        start = st.project_path or (Path(st.clip.path).with_suffix(SUFFIX) if st.clip.path else Path.home())
        path, _ = QFileDialog.getSaveFileName(self, "Save project", str(start), PROJECT_FILTER)
        if not path:
            return False
        return self.documents.save_project(path)

    def offer_recovery(self) -> bool:
        """At start: offer the takes of a window that did not close (crash, kill)."""
        found = self.documents.recoverable()
        if not found:
            return False
        choice = self.ask_recover([r.describe() for r in found])
        if choice == "recover":
            self.documents.open_project(found[0].project, recovered=found[0])
            return True
        if choice == "discard":
            for r in found:
                self.documents.discard_recoverable(r)
        return False

    def ask_recover(self, descriptions: list[str]) -> str:
        return ask_recover(self, descriptions)

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
    # view commands
    # =========================================================================================
    @Slot()
    def zoom_to_selection(self) -> None:
        st = self.state
        if st.clip is not None and st.region is not None:
            s, e = st.region.seconds(st.clip.rate)
            pad = 0.1 * (e - s)
            self.timeline.zoom_to(max(0.0, s - pad), min(st.clip.duration, e + pad))

    @Slot()
    def zoom_all(self) -> None:
        if self.state.clip is not None:
            self.timeline.wave_plot.setXRange(0.0, self.timeline.duration, padding=0)

    # =========================================================================================
    # export and presets
    # =========================================================================================
    @Slot()
    def export_dialog(self) -> ExportDialog | None:
        """Export the selected take (the dialog; see :mod:`stepedit_app.gui.workflows`)."""
        return self.workflow_actions.export_dialog()

    def export_take(self, settings: ExportSettings, take=None) -> bool:
        """Export ``take`` (default: the selected one) on a worker; errors -> dialog."""
        return self.workflow_actions.export_take(settings, take)

    @Slot()
    def save_preset_dialog(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Preset name:")
        if ok and name.strip():
            try:
                path = self.controls.save_preset(name.strip())
            except (OSError, StepEditError) as exc:
                self.show_error("Cannot save preset", exc)
                return
            self.show_status(f"preset saved: {path}")

    # =========================================================================================
    # leaving work behind
    # =========================================================================================
    def unsaved_takes(self) -> int:
        """Takes that would be lost: not exported, and not saved in a project since."""
        st = self.state
        if not st.modified and st.project_path is not None:
            return 0
        return sum(1 for t in st.takes if not t.exported)

    def confirm_leave(self) -> bool:
        """Before replacing the document or closing: save, discard or cancel."""
        n = self.unsaved_takes()
        if n == 0:
            return True
        choice = self.ask_unsaved(n)
        if choice == "save":
            st = self.state
            if st.project_path is None:
                start = Path(st.clip.path).with_suffix(SUFFIX) if st.clip and st.clip.path else Path.home()
                path, _ = QFileDialog.getSaveFileName(self, "Save project", str(start), PROJECT_FILTER)
                if not path:
                    return False
            else:
                path = st.project_path
            return self.documents.save_project_now(path)
        return choice == "discard"

    def ask_unsaved(self, n: int) -> str:
        return ask_unsaved(self, n)

    def closeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        if not self._closing and not self.confirm_leave():
            ev.ignore()
            return
        if not self._closing:
            self.documents.close_clean()
        self.shutdown()
        super().closeEvent(ev)

    def shutdown(self) -> None:
        """Stop playback, cancel and wait for every worker, stop every timer."""
        if self._closing:
            return
        self._closing = True
        self.keys.detach()
        self.timeline.spectrogram.stop()
        self.timeline.detail_timer.stop()
        for ctl in self.controllers:
            ctl.shutdown()
        if self.state.session is not None:
            self.state.session.engine.close()
        # Deliver queued signals from finished workers now, while receivers still exist;
        # then stop the views' timers those signals may have started.
        QApplication.processEvents()
        self.timeline.spectrogram.stop()
        self.timeline.detail_timer.stop()
        leftover = REGISTRY.running()
        if leftover:  # pragma: no cover - a bug; tests fail on it
            self.statusBar().showMessage(f"still running at close: {', '.join(leftover)}")
