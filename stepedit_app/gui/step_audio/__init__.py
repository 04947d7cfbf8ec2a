"""The window parts of the Step-Audio-EditX engine.

:func:`install` (called by the window through :mod:`stepedit_app.gui.engine_panels`) adds:

- the engine's hooks: its panel (:mod:`.panel`), what an intensity means (a pass kept partly,
  by morphing), its device (the GPU of its worker process, not the editor's torch), its setup
  offer when picked unconfigured, and the meanings of its paralinguistic tags;
- Engine menu commands: setup, diagnosis, loading and unloading the model, cloning a voice,
  the one-shot passes, inserting a tag, the worker's log;
- :class:`StepAudioUI`, which opens the dialogs (:mod:`.dialogs`) and opens a clone as a new
  clip (after the current takes are saved, discarded or kept, as the window asks).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from stepedit_app.engines.base import Capabilities
from stepedit_app.engines.step_audio.engine import ENGINE_NAME
from stepedit_app.engines.step_audio.vocabulary import PARALINGUISTIC_TAGS
from stepedit_app.gui import engine_panels
from stepedit_app.gui.step_audio.controller import StepAudioController, describe_device, worker_facts
from stepedit_app.gui.step_audio.dialogs import CloneDialog, DoctorDialog, SetupDialog
from stepedit_app.gui.step_audio.panel import StepAudioPanel

#: Shown under the engine selector up to the "|"; all of it in the tooltips.
INTENSITY = ("Intensity: the share of one model pass kept, by morphing from its input to its output "
             "(30 % is a real in-between).| Each iteration runs one pass per slider (a fixed “more X” step) on the "
             "previous iteration's output; 100 % keeps the pass itself.")

_SPELLING = {"2025-11": "Original spelling (November 2025)", "2026-01": "Model card spelling (January 2026)"}
_TAGS = {t.tag: t for t in PARALINGUISTIC_TAGS}


def describe_tag(tag: str) -> tuple[str, str]:
    """``(meaning, spelling group)`` of a paralinguistic tag (the facts sheet's two spellings)."""
    t = _TAGS.get(tag)
    if t is None:
        return "", ""
    return t.meaning, _SPELLING.get(t.since, t.since)


def devices(caps: Capabilities) -> tuple[list[str], str]:
    """The engine's devices and what the picker's tooltip says: its GPU belongs to the worker
    process (its own Python and torch), so the editor's torch is not asked."""
    facts = worker_facts()
    line, _ok = describe_device(facts.get("hello"))
    return list(caps.devices) or ["cuda"], line


def _find_window_part(widget, name: str):
    w = widget
    while w is not None:
        part = getattr(w, name, None)
        if part is not None:
            return part
        w = w.parentWidget()
    return None


def _panel(state, parent):
    ui = _find_window_part(parent, "step_audio_ui")
    if ui is None:  # outside a window: status only
        return StepAudioPanel(state, None, {}, parent)
    return StepAudioPanel(state, ui.controller, ui.window.actions, parent)


engine_panels.register_ui(ENGINE_NAME, engine_panels.EngineUI(
    panel=_panel, intensity=INTENSITY, devices=devices, setup=True, describe_tag=describe_tag))


class StepAudioUI(QObject):
    """Opens the engine's dialogs for one window and wires its menu commands.

    Attributes
    ----------
    setup_dialog, doctor_dialog, clone_dialog
        The dialog last opened of each kind (None before).
    """

    def __init__(self, window, controller: StepAudioController) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.setup_dialog: SetupDialog | None = None
        self.doctor_dialog: DoctorDialog | None = None
        self.clone_dialog: CloneDialog | None = None
        self._select_after_setup = False

    # --- setup -------------------------------------------------------------------------------
    def open_setup(self, reason: str = "", select: bool = False) -> SetupDialog:
        """The setup dialog; with ``select``, the engine is chosen once it is saved."""
        if self.setup_dialog is not None:
            self.setup_dialog.close()
        self._select_after_setup = select
        dlg = self.setup_dialog = SetupDialog(self.controller, reason, self.window)
        dlg.accepted.connect(self._setup_saved)
        dlg.open()
        return dlg

    def _setup_saved(self) -> None:
        w = self.window
        w.renderer.load_engines()
        if self._select_after_setup:
            w.renderer.set_engine(ENGINE_NAME)
        if self.setup_dialog is not None and self.setup_dialog.diagnose_after:
            self.open_doctor()

    def on_setup_wanted(self, name: str, reason: str) -> None:
        if name == ENGINE_NAME:
            self.open_setup(reason=f"{name} is not available: {reason}", select=True)

    # --- diagnosis ---------------------------------------------------------------------------
    def open_doctor(self) -> DoctorDialog:
        if self.doctor_dialog is None:
            self.doctor_dialog = DoctorDialog(self.controller, self.window)
            self.doctor_dialog.setup_btn.clicked.connect(lambda: self.open_setup())
        self.doctor_dialog.open()
        self.controller.diagnose()
        return self.doctor_dialog

    # --- cloning -----------------------------------------------------------------------------
    def open_clone(self) -> CloneDialog:
        if self.clone_dialog is not None:
            self.clone_dialog.close()
        box = self.window.controls.transcript_box
        dlg = self.clone_dialog = CloneDialog(self.window.state, self.controller, box.words_for_selection,
                                              self.window)
        dlg.open()
        return dlg

    def open_clone_result(self, path: Path) -> bool:
        """Open a finished clone as the new clip, after the window asks about unsaved takes."""
        w = self.window
        if not w.open_file(path):
            w.show_status(f"the clone was written to {path}; it was not opened (the current takes were kept)")
            return False
        return True

    # --- menu commands -----------------------------------------------------------------------
    def insert_tag(self) -> None:
        caps = self.window.state.capabilities
        if caps is None or not caps.tags:
            self.window.show_status("the current engine has no paralinguistic tags (Step-Audio-EditX has)")
            return
        self.window.controls.transcript_box.popup_tags()

    def unload(self) -> None:
        if self.window.renderer.rendering or self.controller.cloning:
            self.window.show_status("the model is working: stop the render or the clone first (Esc)")
            return
        self.controller.unload()

    def on_capabilities(self, caps: Capabilities) -> None:
        acts = self.window.actions
        acts["sa_tag"].setEnabled("paralinguistic" in caps.edit_kinds and bool(caps.tags))
        for kind in ("denoise", "vad"):
            acts[f"sa_{kind}"].setEnabled(kind in caps.edit_kinds)

    def on_one_shot(self, kind: str, on: bool) -> None:
        # setChecked emits no ``triggered``: nothing echoes back to the state (``changed`` keeps
        # the panel's button in step).
        self.window.actions[f"sa_{kind}"].setChecked(on)

    def on_worker_changed(self, facts: dict) -> None:
        if self.window.state.engine_name == ENGINE_NAME:
            self.window.controls.device_box.setToolTip(describe_device(facts.get("hello"))[0])


def install(window) -> StepAudioController:
    """Add the engine's window parts to ``window``; returns its controller (the window shuts
    it down with its own)."""
    controller = window.step_audio = StepAudioController(window.state, window)
    ui = window.step_audio_ui = StepAudioUI(window, controller)
    st = window.state
    add = window.add_action
    g = "E&ngine"
    window.menus[g].addSeparator()
    add(g, "sa_denoise", "Denoise (Step-Audio-EditX)", lambda on: st.set_one_shot("denoise", on), checkable=True,
        tip="Run a denoise pass first in every iteration (kept whole; needs no transcript)")
    add(g, "sa_vad", "Remove Silence (Step-Audio-EditX)", lambda on: st.set_one_shot("vad", on), checkable=True,
        tip="Run a silence-removal pass first in every iteration (kept whole; needs no transcript)")
    add(g, "sa_tag", "Insert Paralinguistic Tag…", ui.insert_tag, "Ctrl+T",
        tip="Insert [Laughter], [Sigh]... at the transcript's cursor")
    add(g, "sa_clone", "Clone Voice…", ui.open_clone, tip="Speak new words in the voice of a recording (Step-Audio-EditX)")
    window.menus[g].addSeparator()
    add(g, "sa_setup", "Step-Audio-EditX Setup…", lambda: ui.open_setup(),
        tip="Point StepEdit at the model environment, the source and the weights")
    add(g, "sa_diagnose", "Diagnose Step-Audio-EditX…", ui.open_doctor,
        tip="Check the setup piece by piece (stepedit doctor)")
    add(g, "sa_load", "Load Step-Audio-EditX Model", controller.load_model,
        tip="Start the worker and load the weights now, so the first render starts at once")
    add(g, "sa_unload", "Unload Model (Free GPU Memory)", ui.unload,
        tip="Stop the worker; the next render loads the model again")
    add(g, "sa_log", "Open Step-Audio Worker Log", controller.open_log)
    window.renderer.setup_wanted.connect(ui.on_setup_wanted)
    window.renderer.finished.connect(lambda _n: controller.refresh() if st.engine_name == ENGINE_NAME else None)
    controller.clone_done.connect(ui.open_clone_result)
    controller.worker_changed.connect(ui.on_worker_changed)
    st.events.connect("capabilities", ui.on_capabilities)
    st.events.connect("one_shot", ui.on_one_shot)
    window.controls.transcript_box.set_tag_describer(describe_tag)
    if st.capabilities is not None:
        ui.on_capabilities(st.capabilities)
    return controller
