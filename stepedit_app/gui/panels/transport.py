"""The transport bar: play/stop, play selection, loop, A/B, time, output device.

Loop, A/B and the take's name follow the state; play state and time come from the playback
controller.  The buttons only ask: the controllers decide.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QWidget

from stepedit_app.gui import theme
from stepedit_app.gui.views.ruler import format_time
from stepedit_app.session.editor import EditorState


class TransportBar(QWidget):
    """Buttons and read-outs of playback.

    Signals
    -------
    play_toggled(), play_selection(), ab_toggled(), device_selected(int)
    """

    play_toggled = Signal()
    play_selection = Signal()
    ab_toggled = Signal()
    device_selected = Signal(int)

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transport")
        self.state = state
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(6)
        self.play_btn = QToolButton()
        self.play_btn.setText("▶  Play")
        self.play_btn.setToolTip("Play / stop (Space)")
        self.sel_btn = QToolButton()
        self.sel_btn.setText("▶ Selection")
        self.sel_btn.setToolTip("Play the selected region (Shift+Space)")
        self.loop_btn = QToolButton()
        self.loop_btn.setText("⟲  Loop")
        self.loop_btn.setCheckable(True)
        self.loop_btn.setToolTip("Loop the region (L); a finished render is swapped in at the next pass")
        self.ab_btn = QToolButton()
        self.ab_btn.setObjectName("abButton")
        self.ab_btn.setText("A")
        self.ab_btn.setCheckable(True)
        self.ab_btn.setToolTip("A = original, B = selected take; switches at the same position (Tab)")
        self.time = QLabel("0:00.00 / 0:00.00")
        self.time.setObjectName("timeLabel")
        self.source_label = QLabel("original")
        self.device_box = QComboBox()
        self.device_box.setObjectName("outputBox")
        self.device_box.setToolTip("Audio output device")
        self.device_box.setMinimumWidth(160)
        for w in (self.play_btn, self.sel_btn, self.loop_btn, self.ab_btn):
            lay.addWidget(w)
        lay.addWidget(self.source_label)
        lay.addStretch(1)
        lay.addWidget(self.time)
        lay.addStretch(1)
        lay.addWidget(QLabel("out:"))
        lay.addWidget(self.device_box)
        self.play_btn.clicked.connect(self.play_toggled)
        self.sel_btn.clicked.connect(self.play_selection)
        self.loop_btn.toggled.connect(state.set_loop)
        self.ab_btn.clicked.connect(self._on_ab)
        self.device_box.activated.connect(self._on_device)
        self._duration = 0.0
        state.events.connect("loop", self._on_loop)
        state.events.connect("source", lambda _s: self._show_source())
        state.events.connect("take", lambda _t: self._show_source())
        state.events.connect("takes", lambda ev, t: self._show_source() if ev == "changed" else None)
        state.events.connect("document", self._on_document)

    @Slot()
    def _on_ab(self) -> None:
        self._show_source()  # the button shows the state; the controller decides
        self.ab_toggled.emit()

    @Slot(int)
    def _on_device(self, i: int) -> None:
        data = self.device_box.itemData(i)
        if data is not None:
            self.device_selected.emit(int(data))

    def set_devices(self, devices: list[tuple[int, str]], current: int | None) -> None:
        with QSignalBlocker(self.device_box):
            self.device_box.clear()
            if not devices:
                self.device_box.addItem("no audio device", None)
                self.device_box.setEnabled(False)
                return
            self.device_box.setEnabled(True)
            for idx, name in devices:
                self.device_box.addItem(name, idx)
            if current is not None:
                self.device_box.setCurrentIndex(max(0, self.device_box.findData(current)))

    def show_playing(self, playing: bool) -> None:
        self.play_btn.setText("■  Stop" if playing else "▶  Play")

    def _show_source(self) -> None:
        b = self.state.source == "B"
        take = self.state.selected_take
        with QSignalBlocker(self.ab_btn):
            self.ab_btn.setChecked(b)
            self.ab_btn.setText("B" if b else "A")
        self.source_label.setText(f"take: {take.name}" if b and take is not None else "original")
        self.source_label.setStyleSheet(f"color: {theme.ACCENT if b else theme.ORIGINAL};")

    def _on_loop(self, on: bool) -> None:
        with QSignalBlocker(self.loop_btn):
            self.loop_btn.setChecked(on)

    def _on_document(self) -> None:
        clip = self.state.clip
        self._duration = clip.duration if clip is not None else 0.0
        self._show_source()
        self.show_time(0.0)

    def show_time(self, t: float, duration: float | None = None) -> None:
        if duration is not None:
            self._duration = duration
        self.time.setText(f"{format_time(t)} / {format_time(self._duration)}")
