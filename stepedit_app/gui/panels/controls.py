"""The controls panel: engine and device, presets, an engine's own panel, one slider per
control, iterations, transcript, render.

Widgets write to :class:`~stepedit_app.session.editor.EditorState`; the state's events update
the widgets inside ``QSignalBlocker``\\ s, so a preset or an undo moves the sliders without
echoing back (napari's widget <-> model rule).  A value becomes final (one undo step, and an
auto-render when that is on) when a slider is released, a typed value is entered, a key moves
a slider, or a slider is reset by a double click.

Keys as in audio editors: Enter in a percent box commits the number typed (it does not
render); Enter on a slider, or on the focused Render button, renders.

The filter box narrows the list by name (an engine may have ~50 controls), but never hides a
control that is in use.  An engine can add its own widgets (a setup button, a tag picker)
through :mod:`stepedit_app.gui.engine_panels`; the transcript field appears when the engine's
capabilities say it needs one.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QEvent, QSignalBlocker, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from stepedit_app.engines.base import Capabilities
from stepedit_app.engines.controls import MAX_ITERATIONS
from stepedit_app.errors import RequestError
from stepedit_app.gui import engine_panels
from stepedit_app.gui.panels.transcript import TranscriptBox
from stepedit_app.session.editor import EditorState
from stepedit_app.session.presets import list_presets, read_preset, user_presets_dir, write_preset

GROUP_TITLES = {"emotion": "EMOTION", "style": "STYLE", "speed": "SPEED"}
ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class SliderRow(QWidget):
    """``name ──●── 35 %``: slider and typed number; double-click resets to 0.

    Signals
    -------
    render_requested()
        Enter was pressed on the slider.
    """

    render_requested = Signal()
    focused = Signal()
    #: Up (-1) or Down (+1) on the slider: the panel moves the focus to the row above or below.
    step_focus = Signal(int)

    def __init__(self, group: str, name: str, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group, self.name, self.state = group, name, state
        self.setObjectName(f"slider-{group}-{name}")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        self.label = QLabel(name.replace("_", " "))
        self.label.setMinimumWidth(74)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setPageStep(10)
        self.slider.setToolTip(f"{group} {name}: 0–100 %. Double-click resets to 0; Enter renders.")
        self.spin = QSpinBox()
        self.spin.setRange(0, 100)
        self.spin.setSuffix(" %")
        self.spin.setFixedWidth(68)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        # The value counts when entered (Enter or leaving the box), not on every digit.
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("Type a value; Enter sets it")
        lay.addWidget(self.label)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderReleased.connect(self._commit)
        self.spin.valueChanged.connect(self._on_spin)
        self.slider.installEventFilter(self)
        self.label.installEventFilter(self)
        self.spin.installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt API
        if ev.type() == QEvent.Type.FocusIn:
            self.focused.emit()  # the panel scrolls the row into view (Tab through ~50 rows)
            return False
        if obj is self.spin:
            return False
        if ev.type() == QEvent.Type.MouseButtonDblClick:
            self.reset()
            return True
        if obj is self.slider and ev.type() == QEvent.Type.KeyPress and ev.key() in ENTER_KEYS:
            self.render_requested.emit()
            return True
        if obj is self.slider and ev.type() == QEvent.Type.KeyPress and ev.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            # A list of ~50 controls: Up and Down move between them (Left/Right, Page keys set the value).
            self.step_focus.emit(-1 if ev.key() == Qt.Key.Key_Up else 1)
            return True
        return super().eventFilter(obj, ev)

    def reset(self) -> None:
        self.state.set_control(self.group, self.name, 0.0)
        self.state.commit_controls()

    def _commit(self) -> None:
        self.state.commit_controls()

    @Slot(int)
    def _on_slider(self, v: int) -> None:
        self.state.set_control(self.group, self.name, v / 100.0)
        with QSignalBlocker(self.spin):
            self.spin.setValue(v)
        if not self.slider.isSliderDown():  # keys or a click on the groove: final at once
            self._commit()

    @Slot(int)
    def _on_spin(self, v: int) -> None:
        self.state.set_control(self.group, self.name, v / 100.0)
        self._commit()

    def show_value(self, value: float) -> None:
        """Model → widget, without echoing back."""
        pct = int(round(value * 100))
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(pct)
            self.spin.setValue(pct)
        self.label.setStyleSheet("color: #ffb000;" if pct else "")

    @property
    def percent(self) -> int:
        return self.slider.value()


class ControlsPanel(QWidget):
    """Engine, device, presets, engine panel, sliders, iterations, transcript, render.

    Signals
    -------
    engine_selected(str), device_selected(str)
        The user picked an engine or a device (the render controller switches).
    render_requested(), cancel_requested()
    preset_error(object)
        A preset could not be read or applied.
    save_preset_requested()
    """

    engine_selected = Signal(str)
    device_selected = Signal(str)
    render_requested = Signal()
    cancel_requested = Signal()
    preset_error = Signal(object)
    save_preset_requested = Signal()

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controls")
        self.state = state
        self.rows: dict[tuple[str, str], SliderRow] = {}
        self.group_labels: dict[str, QLabel] = {}
        self.presets: dict = {}
        self.engine_panel: QWidget | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 8, 10, 10)
        outer.setSpacing(6)
        self._build_engine_and_presets(outer)
        self.filter = QLineEdit()
        self.filter.setObjectName("filterBox")
        self.filter.setPlaceholderText("Filter controls…  (e.g. whis, ang)")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip("Type part of a name or a group (emotion, style, speed). Controls in use always "
                               "stay listed. Down or Enter: to the first slider, then Up/Down between sliders and "
                               "Left/Right to set one; Esc: clear (Ctrl+F comes back here)")
        self.filter.installEventFilter(self)
        outer.addWidget(self.filter)
        self.no_match = QLabel("")
        self.no_match.setObjectName("engineNote")
        self.no_match.hide()
        outer.addWidget(self.no_match)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.slider_host = QWidget()
        self.slider_layout = QVBoxLayout(self.slider_host)
        self.slider_layout.setContentsMargins(0, 0, 4, 0)
        self.slider_layout.setSpacing(2)
        self.scroll.setWidget(self.slider_host)
        outer.addWidget(self.scroll, 1)
        self._build_render_area(outer)

        ev = state.events
        ev.connect("control", self._on_control)
        ev.connect("iterations", self._on_iterations)
        ev.connect("capabilities", self._on_capabilities)
        ev.connect("auto_render", self._on_auto_render)
        ev.connect("keep_duration", self._on_keep_duration)
        ev.connect("engine", self._on_engine)
        self.iterations.valueChanged.connect(self._on_iterations_box)
        self.filter.textChanged.connect(self.apply_filter)
        # A new filter shows its matches from the top (a slider moved meanwhile does not scroll).
        self.filter.textChanged.connect(lambda _t: self.scroll.verticalScrollBar().setValue(0))
        self.render_btn.clicked.connect(self.render_requested)
        self.cancel_btn.clicked.connect(self.cancel_requested)
        self.engine_box.activated.connect(lambda i: self.engine_selected.emit(self.engine_box.itemData(i)))
        self.device_box.activated.connect(lambda i: self.device_selected.emit(self.device_box.itemData(i)))
        self.preset_box.activated.connect(self._on_preset)
        self.save_preset_btn.clicked.connect(self.save_preset_requested)
        self.auto_render.toggled.connect(state.set_auto_render)
        self.keep_duration.toggled.connect(state.set_keep_duration)
        self.reload_presets()

    def _build_engine_and_presets(self, outer: QVBoxLayout) -> None:
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.engine_box = QComboBox()
        self.engine_box.setObjectName("engineBox")
        self.device_box = QComboBox()
        self.device_box.setObjectName("deviceBox")
        self.device_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        er = QHBoxLayout()
        er.addWidget(self.engine_box, 1)
        er.addWidget(self.device_box)
        form.addRow("Engine", er)
        self.preset_box = QComboBox()
        self.preset_box.setObjectName("presetBox")
        self.preset_box.setToolTip("Load a preset (shipped, or your own)")
        self.save_preset_btn = QToolButton()
        self.save_preset_btn.setText("Save…")
        self.save_preset_btn.setToolTip("Save the current sliders as a preset")
        pr = QHBoxLayout()
        pr.addWidget(self.preset_box, 1)
        pr.addWidget(self.save_preset_btn)
        form.addRow("Preset", pr)
        outer.addLayout(form)
        self.engine_note = QLabel("")
        self.engine_note.setObjectName("engineNote")
        self.engine_note.setWordWrap(True)
        outer.addWidget(self.engine_note)
        # An engine's own widgets (setup, tag picker...) go here.
        self.engine_panel_host = QVBoxLayout()
        self.engine_panel_host.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self.engine_panel_host)

    def _build_render_area(self, outer: QVBoxLayout) -> None:
        it = QHBoxLayout()
        it.addWidget(QLabel("Iterations"))
        self.iterations = QSpinBox()
        self.iterations.setObjectName("iterationsBox")
        self.iterations.setRange(1, MAX_ITERATIONS)
        self.iterations.setValue(self.state.iterations)
        self.iterations.setKeyboardTracking(False)
        self.iterations.setToolTip("Refinement passes; every pass becomes a take")
        it.addWidget(self.iterations)
        it.addStretch(1)
        outer.addLayout(it)
        # The options get their own row: beside the iterations box their labels were cut.
        it = QHBoxLayout()
        self.keep_duration = QCheckBox("Keep length")
        self.keep_duration.setObjectName("keepDurationBox")
        self.keep_duration.setToolTip("Lip-sync: the region keeps its length to the sample; a tempo change is "
                                      "redistributed inside it (pauses absorb it first)")
        it.addWidget(self.keep_duration)
        self.auto_render = QCheckBox("Auto-render")
        self.auto_render.setToolTip("Render when a slider is released (debounced)")
        it.addWidget(self.auto_render)
        it.addStretch(1)
        outer.addLayout(it)
        self.transcript_box = TranscriptBox(self.state)
        self.transcript_label = self.transcript_box.title
        self.transcript = self.transcript_box.edit
        outer.addWidget(self.transcript_box)
        br = QHBoxLayout()
        self.render_btn = QPushButton("Render  ⏎")
        self.render_btn.setObjectName("renderButton")
        self.render_btn.setToolTip("Render the region with these controls (Enter on a slider or here; Ctrl+Enter anywhere)")
        self.render_btn.setAutoDefault(True)  # Enter on the focused button renders
        self.cancel_btn = QPushButton("Cancel  Esc")
        self.cancel_btn.setToolTip("Stop rendering; finished iterations are kept (Esc)")
        self.cancel_btn.setEnabled(False)
        br.addWidget(self.render_btn, 2)
        br.addWidget(self.cancel_btn, 1)
        outer.addLayout(br)
        self.progress_host = QWidget()
        self.progress_layout = QVBoxLayout(self.progress_host)
        self.progress_layout.setContentsMargins(0, 0, 0, 0)
        self.progress_layout.setSpacing(2)
        self.progress_bars: list[QProgressBar] = []
        self.progress_labels: list[str] | None = None  # a variations grid: one bar per cell
        outer.addWidget(self.progress_host)

    # --- engine ------------------------------------------------------------------------------
    def set_engines(self, entries: list[tuple[str, bool, str]], current: str) -> None:
        with QSignalBlocker(self.engine_box):
            self.engine_box.clear()
            for name, ok, reason in entries:
                spec = engine_panels.ui(name)
                can_setup = spec is not None and spec.setup
                label = name if ok else f"{name} (set up…)" if can_setup else f"{name} (unavailable)"
                self.engine_box.addItem(label, name)
                i = self.engine_box.count() - 1
                tip = reason if ok or not can_setup else f"{reason}. Choose it to set it up."
                self.engine_box.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
                if not ok and not can_setup:
                    self.engine_box.model().item(i).setEnabled(False)
            self.engine_box.setCurrentIndex(max(0, self.engine_box.findData(current)))

    def _on_engine(self, name: str, _device: str) -> None:
        i = self.engine_box.findData(name)
        if i >= 0 and i != self.engine_box.currentIndex():
            with QSignalBlocker(self.engine_box):
                self.engine_box.setCurrentIndex(i)

    def set_devices(self, devices: list[str], current: str) -> None:
        with QSignalBlocker(self.device_box):
            self.device_box.clear()
            for d in devices:
                self.device_box.addItem(d.upper(), d)
            self.device_box.setCurrentIndex(max(0, self.device_box.findData(current)))
        self.device_box.setEnabled(len(devices) > 1)

    def _on_capabilities(self, caps: Capabilities) -> None:
        """Rebuild the sliders (controls an engine cannot do are absent, not greyed)."""
        spec = engine_panels.ui(caps.name)
        intensity = spec.intensity if spec is not None and spec.intensity else ""
        mode = "continuous" if caps.continuous else f"{caps.intensity_steps} steps"
        short = intensity.split("|")[0]
        self.engine_note.setText(short or f"{caps.description}  Intensity: {mode}.")
        self.engine_note.setToolTip(f"{caps.description}\n\n{intensity.replace('|', '')}" if intensity else caps.description)
        self.keep_duration.setVisible(caps.keeps_duration)  # absent where the engine cannot, not greyed
        while self.slider_layout.count():
            item = self.slider_layout.takeAt(0)
            if item.widget():
                item.widget().hide()  # gone at once, not when the deferred delete runs
                item.widget().deleteLater()
        self.rows.clear()
        self.group_labels.clear()
        for group, names in (("emotion", caps.emotions), ("style", caps.styles), ("speed", caps.speed)):
            if not names:
                continue
            title = QLabel(GROUP_TITLES[group])
            title.setObjectName("sectionTitle")
            self.slider_layout.addWidget(title)
            self.group_labels[group] = title
            for n in names:
                row = SliderRow(group, n, self.state)
                if not caps.continuous and caps.intensity_steps:
                    row.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
                    row.slider.setTickInterval(max(1, round(100 / caps.intensity_steps)))
                row.show_value(self.state.values[(group, n)])
                if intensity:
                    row.slider.setToolTip(f"{group} {n}: 0–100 %. {intensity.replace('|', '')} "
                                          "Double-click resets to 0; Enter renders.")
                row.render_requested.connect(self.render_requested)
                row.focused.connect(lambda r=row: self.scroll.ensureWidgetVisible(r, 0, 24))
                row.step_focus.connect(lambda d, r=row: self.focus_row_after(r, d))
                self.slider_layout.addWidget(row)
                self.rows[(group, n)] = row
        self.slider_layout.addStretch(1)
        self._set_engine_panel(engine_panels.create(caps.name, self.state, self))
        self.apply_filter(self.filter.text())

    def _set_engine_panel(self, widget: QWidget | None) -> None:
        if self.engine_panel is not None:
            self.engine_panel.hide()
            self.engine_panel.deleteLater()
        self.engine_panel = widget
        if widget is not None:
            self.engine_panel_host.addWidget(widget)

    # --- state -> widgets --------------------------------------------------------------------
    def _on_control(self, group: str, name: str, value: float) -> None:
        row = self.rows.get((group, name))
        if row is not None:
            row.show_value(value)
            if self.filter.text().strip():
                self.apply_filter(self.filter.text())

    def _on_iterations(self, n: int) -> None:
        with QSignalBlocker(self.iterations):
            self.iterations.setValue(n)

    @Slot(int)
    def _on_iterations_box(self, n: int) -> None:
        self.state.set_iterations(n)
        self.state.commit_controls()

    def _on_keep_duration(self, on: bool) -> None:
        with QSignalBlocker(self.keep_duration):
            self.keep_duration.setChecked(on)

    def _on_auto_render(self, on: bool) -> None:
        with QSignalBlocker(self.auto_render):
            self.auto_render.setChecked(on)

    # --- filter ------------------------------------------------------------------------------
    @Slot(str)
    def apply_filter(self, text: str) -> None:
        """Show controls whose name contains every word of ``text``, and every control in use
        (a filter must never hide a slider that shapes the render)."""
        words = text.lower().split()
        shown: dict[str, int] = {}
        matched = 0
        focus = QApplication.focusWidget()
        for (g, n), row in self.rows.items():
            hay = f"{g} {n} {n.replace('_', ' ')}"
            match = all(w in hay for w in words)
            # A row in use, or in the user's hands (dragged, focused), is never hidden.
            busy = row.slider.isSliderDown() or (focus is not None and row.isAncestorOf(focus))
            vis = match or self.state.values.get((g, n), 0.0) > 0 or busy
            row.setVisible(vis)
            shown[g] = shown.get(g, 0) + int(vis)
            matched += int(match)
        for g, label in self.group_labels.items():
            label.setVisible(shown.get(g, 0) > 0)
        self.no_match.setVisible(bool(words) and matched == 0)
        self.no_match.setText(f"No control matches “{text.strip()}”." + (" Controls in use are still listed."
                                                                         if any(shown.values()) else ""))

    def first_visible_row(self) -> SliderRow | None:
        return next((row for row in self.rows.values() if not row.isHidden()), None)

    def focus_row_after(self, row: SliderRow, delta: int) -> None:
        """Move the keyboard to the listed slider ``delta`` rows from ``row`` (above the first
        one: back to the filter box)."""
        shown = [r for r in self.rows.values() if not r.isHidden()]
        i = shown.index(row) + delta if row in shown else 0
        if i < 0:
            self.focus_filter()
        elif i < len(shown):
            shown[i].slider.setFocus(Qt.FocusReason.TabFocusReason)

    def focus_filter(self) -> None:
        """Put the keyboard in the filter box, its text selected (Ctrl+F)."""
        self.filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter.selectAll()

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt API
        # In the filter box: Down or Enter go to the first listed slider, Esc clears.
        if obj is self.filter and ev.type() == QEvent.Type.KeyPress:
            if ev.key() in (Qt.Key.Key_Down, *ENTER_KEYS):
                row = self.first_visible_row()
                if row is not None:
                    row.slider.setFocus(Qt.FocusReason.TabFocusReason)
                return True
            if ev.key() == Qt.Key.Key_Escape and self.filter.text():
                self.filter.clear()
                return True
        return super().eventFilter(obj, ev)

    def visible_controls(self) -> list[str]:
        return [n for (_, n), row in self.rows.items() if not row.isHidden()]

    # --- presets -----------------------------------------------------------------------------
    def reload_presets(self, select: str | None = None) -> None:
        self.presets = list_presets()
        with QSignalBlocker(self.preset_box):
            self.preset_box.clear()
            self.preset_box.addItem("— choose a preset —", None)
            for name in self.presets:
                self.preset_box.addItem(name, name)
            if select:
                self.preset_box.setCurrentIndex(max(0, self.preset_box.findData(select)))

    @Slot(int)
    def _on_preset(self, i: int) -> None:
        name = self.preset_box.itemData(i)
        if name:
            self.load_preset(name)

    def load_preset(self, name: str) -> bool:
        try:
            _, request = read_preset(self.presets[name])
            self.state.apply_request(request, f"preset {name}")
        except RequestError as exc:
            self.preset_error.emit(exc)
            return False
        return True

    def save_preset(self, name: str):
        # A preset is the controls, not this region's words: no transcript, no tags.
        request = dataclasses.replace(self.state.request(), transcript=None, paralinguistic=None)
        path = write_preset(user_presets_dir(), name, request)
        self.reload_presets(select=" ".join(name.split()))
        return path

    # --- render state ------------------------------------------------------------------------
    def set_rendering(self, running: bool, total: int = 0) -> None:
        self.cancel_btn.setEnabled(running)
        self.render_btn.setEnabled(not running)
        if running:
            for bar in self.progress_bars:
                bar.deleteLater()
            self.progress_bars = []
            self.progress_labels = None
            for k in range(1, total + 1):
                bar = QProgressBar()
                bar.setRange(0, 1000)
                bar.setFormat(f"iteration {k} / {total}  %p%")
                self.progress_layout.addWidget(bar)
                self.progress_bars.append(bar)

    #: A grid with more cells than this shows one bar for the whole grid.
    MAX_CELL_BARS = 6

    def label_progress(self, labels: list[str]) -> None:
        """Name the bars (a variations grid: one bar per cell, named by the cell; one bar in
        all for a large grid)."""
        self.progress_labels = list(labels)
        if len(labels) > self.MAX_CELL_BARS:
            for bar in self.progress_bars[1:]:
                bar.deleteLater()
            del self.progress_bars[1:]
        for k, bar in enumerate(self.progress_bars, start=1):
            bar.setValue(0)  # shows the cell's name before it starts
            bar.setFormat(f"{self._bar_label(k)}  %p%")

    def _bar_label(self, k: int) -> str:
        labels = self.progress_labels
        if labels is not None and k <= len(labels):
            return f"{labels[k - 1]}  ({k} / {len(labels)})"
        return f"iteration {k} / {len(self.progress_bars)}"

    def set_progress(self, iteration: int, fraction: float, message: str = "") -> None:
        labels = self.progress_labels
        if labels is not None and len(labels) > len(self.progress_bars) == 1:
            bar = self.progress_bars[0]  # one bar for a large grid: the cell's name, overall progress
            bar.setValue(int(round(1000 * (iteration - 1 + fraction) / len(labels))))
            bar.setFormat(f"{self._bar_label(iteration)}  %p%")
            return
        for k, bar in enumerate(self.progress_bars, start=1):
            if k < iteration:
                bar.setValue(1000)
            elif k == iteration:
                bar.setValue(int(round(1000 * fraction)))
                if message == "analysing":
                    bar.setFormat(f"analysing…  {self._bar_label(k)}")
                else:
                    bar.setFormat(f"{self._bar_label(k)}  %p%")

    def mark_converged(self, iteration: int) -> None:
        """The render ended at ``iteration``: the bars of the iterations it did not need say so."""
        for k, bar in enumerate(self.progress_bars, start=1):
            if k > iteration:
                bar.setValue(0)
                bar.setFormat(f"{self._bar_label(k)}  not needed: converged at {iteration}")

    def mark_cancelled(self, kept: int) -> None:
        labels = self.progress_labels
        if labels is not None and len(labels) > len(self.progress_bars) == 1:
            self.progress_bars[0].setFormat(f"cancelled: {kept} of {len(labels)} kept")
            return
        for k, bar in enumerate(self.progress_bars, start=1):
            if k > kept:
                bar.setValue(0)
                bar.setFormat(f"{self._bar_label(k)}  cancelled")
