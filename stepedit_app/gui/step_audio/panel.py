"""The Step-Audio-EditX panel under the engine selector: model status, setup, diagnosis,
cloning, the one-shot passes (denoise, silence removal) and what a pass does.

Its buttons trigger the Engine menu's actions and follow their enabled and checked states, so
the menu, the shortcuts and the panel are the same commands (short labels here, the menu's
full text in the tooltips).
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from stepedit_app.gui import theme
from stepedit_app.gui.step_audio.controller import StepAudioController, describe_device
from stepedit_app.session.editor import EditorState

ORDER_NOTE = ("Each iteration: denoise → silence removal → tags (first iteration) → emotions → styles → speed, "
              "strongest first; each iteration edits the previous one's output.")


def status_line(facts: dict, loading: str = "") -> tuple[str, bool]:
    """``(text, warning)`` for the model status line."""
    if not facts:
        return "", False
    if not facts.get("configured"):
        return f"Not set up: {facts.get('problem') or 'not configured'}.", True
    if loading:
        return f"Loading the model… {loading}", False
    if not facts.get("alive"):
        return "Model not loaded: the first render (or Load Model) loads it, a minute or two.", False
    device, ok = describe_device(facts.get("hello"))
    loaded = facts.get("loaded")
    if loaded:
        return f"Model {loaded.get('generation')} loaded. {device}", not ok
    return f"Worker running, model not loaded yet. {device}", not ok


class StepAudioPanel(QWidget):
    """Status line, the engine's commands as buttons, and the one-shot passes."""

    def __init__(self, state: EditorState, controller: StepAudioController | None, actions: dict[str, QAction],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepAudioPanel")
        self.state = state
        self.controller = controller
        self._loading = ""
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 4)
        lay.setSpacing(4)
        self.status = QLabel("")
        self.status.setObjectName("stepAudioStatus")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.actions = actions
        self.buttons: dict[str, QToolButton] = {}
        for keys in ((("sa_setup", "Setup…"), ("sa_diagnose", "Diagnose…"), ("sa_load", "Load Model")),
                     (("sa_denoise", "Denoise"), ("sa_vad", "Cut Silence"), ("sa_clone", "Clone Voice…"))):
            row = QHBoxLayout()
            row.setSpacing(4)
            for key, text in keys:
                a = actions.get(key)
                if a is None:
                    continue
                b = QToolButton()
                b.setObjectName(f"button-{key}")
                b.setText(text)
                b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                b.clicked.connect(a.trigger)  # the action toggles (checkable) and runs its command
                if a.isCheckable():
                    b.setCheckable(True)
                    b.setToolTip(f"{a.statusTip()}\n\n{ORDER_NOTE}")
                else:
                    shortcut = a.shortcut().toString()
                    b.setToolTip(a.statusTip() + (f" ({shortcut})" if shortcut else ""))
                a.changed.connect(self._sync)
                row.addWidget(b)
                self.buttons[key] = b
            lay.addLayout(row)
        self._sync()
        if controller is not None:
            controller.worker_changed.connect(self.show_facts)
            controller.load_progress.connect(self._on_loading)
            controller.load_done.connect(self._on_loaded)
            controller.load_failed.connect(self._on_loaded)
            self.show_facts(controller.facts or controller.refresh())

    def _sync(self) -> None:
        """Follow the actions' enabled and checked states."""
        for key, b in self.buttons.items():
            a = self.actions[key]
            b.setEnabled(a.isEnabled())
            if a.isCheckable() and b.isChecked() != a.isChecked():
                b.blockSignals(True)
                b.setChecked(a.isChecked())
                b.blockSignals(False)

    def _on_loading(self, stage: str) -> None:
        self._loading = stage
        self.show_facts(self.controller.facts)

    def _on_loaded(self, *_args) -> None:
        self._loading = ""

    def show_facts(self, facts: dict) -> None:
        text, warn = status_line(facts, self._loading)
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {theme.ERROR};" if warn else f"color: {theme.TEXT};")
