"""The controls panel: engine and device, presets, one slider per control, render.

The panel writes to a :class:`ControlsModel`; the model's ``changed`` signal updates the
widgets inside ``QSignalBlocker``\\ s, so loading a preset moves the sliders without echoing
back (napari's widget ↔ model rule).  Sliders read in percent; the number can be typed;
double-click resets to 0; the filter box narrows the list.  ``committed`` fires when a value is
final (slider released, number entered, key press), never on every pixel of a drag — the window
debounces it into an auto-render.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, QStandardPaths, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
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
from stepedit_app.engines.controls import MAX_ITERATIONS, EditRequest
from stepedit_app.errors import RequestError
from stepedit_app.gui.theme import RESOURCES

GROUP_TITLES = {"emotion": "EMOTION", "style": "STYLE", "speed": "SPEED"}
GROUP_ATTR = {"emotion": "emotions", "style": "styles", "speed": "speed"}


def shipped_presets_dir() -> Path:
    return RESOURCES / "presets"


def user_presets_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppConfigLocation)
    return Path(base or Path.home() / ".config" / "stepedit") / "presets"


def read_preset(path: Path) -> tuple[str, EditRequest]:
    """``(name, request)`` from a preset file; raises RequestError with one line."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RequestError(f"preset {Path(path).name}: cannot be read ({exc})") from None
    if not isinstance(d, dict) or "request" not in d:
        raise RequestError(f"preset {Path(path).name}: expected {{\"name\": ..., \"request\": ...}}")
    return str(d.get("name") or Path(path).stem), EditRequest.from_dict(d["request"])


def write_preset(folder: Path, name: str, request: EditRequest) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "preset"
    path = folder / f"{slug}.json"
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps({"name": name, "request": request.to_dict()}, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


class ControlsModel(QObject):
    """The intensities of the current engine's controls, 0..1, keyed by ``(group, name)``."""

    changed = Signal(str, str, float)
    iterations_changed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.values: dict[tuple[str, str], float] = {}
        self.iterations = 2
        self.transcript = ""

    def set_controls(self, caps: Capabilities) -> None:
        old = self.values
        self.values = {}
        for group, names in (("emotion", caps.emotions), ("style", caps.styles), ("speed", caps.speed)):
            for n in names:
                self.values[(group, n)] = old.get((group, n), 0.0)

    def set_value(self, group: str, name: str, value: float) -> None:
        value = min(1.0, max(0.0, float(value)))
        key = (group, name)
        if key not in self.values:
            raise RequestError(f"{group} {name!r} is not a control of this engine")
        if abs(self.values[key] - value) < 1e-9:
            return
        self.values[key] = value
        self.changed.emit(group, name, value)

    def set_iterations(self, n: int) -> None:
        n = max(1, min(MAX_ITERATIONS, int(n)))
        if n != self.iterations:
            self.iterations = n
            self.iterations_changed.emit(n)

    def reset(self) -> None:
        for (g, n) in list(self.values):
            self.set_value(g, n, 0.0)

    def request(self) -> EditRequest:
        groups: dict[str, dict[str, float]] = {"emotions": {}, "styles": {}, "speed": {}}
        for (g, n), v in self.values.items():
            if v > 0:
                groups[GROUP_ATTR[g]][n] = round(v, 4)
        return EditRequest(groups["emotions"], groups["styles"], groups["speed"], self.iterations,
                           self.transcript or None)

    def set_request(self, request: EditRequest) -> None:
        """Apply a request (a preset): controls it names are set, all others go to 0."""
        wanted = {(g, n): v for g, n, v in request.controls()}
        missing = [f"{g} {n}" for (g, n), v in wanted.items() if v > 0 and (g, n) not in self.values]
        if missing:
            raise RequestError(f"this engine cannot do {', '.join(missing)}")
        for key in list(self.values):
            self.set_value(*key, wanted.get(key, 0.0))
        self.set_iterations(request.iterations)


class SliderRow(QWidget):
    """``name ──●── 35 %``: slider and typed number, double-click resets."""

    edited = Signal(str, str, float)
    committed = Signal()

    def __init__(self, group: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group, self.name = group, name
        self.setObjectName(f"slider-{group}-{name}")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        self.label = QLabel(name.replace("_", " "))
        self.label.setMinimumWidth(74)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setPageStep(10)
        self.slider.setToolTip(f"{group} {name}: 0–100 %. Double-click resets to 0.")
        self.spin = QSpinBox()
        self.spin.setRange(0, 100)
        self.spin.setSuffix(" %")
        self.spin.setFixedWidth(68)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.spin.setKeyboardTracking(False)
        lay.addWidget(self.label)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderReleased.connect(self.committed)
        self.spin.valueChanged.connect(self._on_spin)
        self.slider.installEventFilter(self)
        self.label.installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt API
        if ev.type() == QEvent.Type.MouseButtonDblClick:
            self.reset()
            return True
        return super().eventFilter(obj, ev)

    def reset(self) -> None:
        self.slider.setValue(0)
        self.committed.emit()

    @Slot(int)
    def _on_slider(self, v: int) -> None:
        self.edited.emit(self.group, self.name, v / 100.0)
        if not self.slider.isSliderDown():
            self.committed.emit()

    @Slot(int)
    def _on_spin(self, v: int) -> None:
        self.edited.emit(self.group, self.name, v / 100.0)
        self.committed.emit()

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
    """Engine, device, presets, sliders, iterations, transcript, render and progress."""

    engine_selected = Signal(str)
    device_selected = Signal(str)
    #: A control value became final (debounced by the window into an auto-render).
    committed = Signal()
    render_clicked = Signal()
    cancel_clicked = Signal()
    preset_error = Signal(object)

    def __init__(self, model: ControlsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controls")
        self.model = model
        self.rows: dict[tuple[str, str], SliderRow] = {}
        self.group_labels: dict[str, QLabel] = {}
        self.presets: dict[str, Path] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 8, 10, 10)
        outer.setSpacing(6)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.engine_box = QComboBox()
        self.engine_box.setObjectName("engineBox")
        self.device_box = QComboBox()
        self.device_box.setObjectName("deviceBox")
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

        self.filter = QLineEdit()
        self.filter.setObjectName("filterBox")
        self.filter.setPlaceholderText("Filter controls…  (e.g. whis, ang)")
        self.filter.setClearButtonEnabled(True)
        outer.addWidget(self.filter)

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.slider_host = QWidget()
        self.slider_layout = QVBoxLayout(self.slider_host)
        self.slider_layout.setContentsMargins(0, 0, 4, 0)
        self.slider_layout.setSpacing(2)
        self.scroll.setWidget(self.slider_host)
        outer.addWidget(self.scroll, 1)

        it = QHBoxLayout()
        it.addWidget(QLabel("Iterations"))
        self.iterations = QSpinBox()
        self.iterations.setObjectName("iterationsBox")
        self.iterations.setRange(1, MAX_ITERATIONS)
        self.iterations.setValue(model.iterations)
        self.iterations.setToolTip("Refinement passes; every pass becomes a take")
        it.addWidget(self.iterations)
        it.addStretch(1)
        self.auto_render = QCheckBox("Auto-render")
        self.auto_render.setToolTip("Render when a slider is released (debounced)")
        it.addWidget(self.auto_render)
        outer.addLayout(it)

        self.transcript_label = QLabel("Transcript of the region")
        self.transcript = QPlainTextEdit()
        self.transcript.setPlaceholderText("The words spoken in the selected region")
        self.transcript.setFixedHeight(56)
        outer.addWidget(self.transcript_label)
        outer.addWidget(self.transcript)

        br = QHBoxLayout()
        self.render_btn = QPushButton("Render  ⏎")
        self.render_btn.setObjectName("renderButton")
        self.render_btn.setToolTip("Render the region with these controls (Enter)")
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
        outer.addWidget(self.progress_host)

        model.changed.connect(self._on_model_changed)
        model.iterations_changed.connect(self._on_model_iterations)
        self.iterations.valueChanged.connect(self._on_iterations)
        self.filter.textChanged.connect(self.apply_filter)
        self.render_btn.clicked.connect(self.render_clicked)
        self.cancel_btn.clicked.connect(self.cancel_clicked)
        self.engine_box.activated.connect(self._on_engine)
        self.device_box.activated.connect(self._on_device)
        self.preset_box.activated.connect(self._on_preset)
        self.transcript.textChanged.connect(self._on_transcript)
        self.reload_presets()

    # --- engine ------------------------------------------------------------------------------
    def set_engines(self, entries: list[tuple[str, bool, str]], current: str) -> None:
        with QSignalBlocker(self.engine_box):
            self.engine_box.clear()
            for name, ok, reason in entries:
                self.engine_box.addItem(name if ok else f"{name} (unavailable)", name)
                i = self.engine_box.count() - 1
                self.engine_box.setItemData(i, reason, Qt.ItemDataRole.ToolTipRole)
                if not ok:
                    self.engine_box.model().item(i).setEnabled(False)
            self.engine_box.setCurrentIndex(max(0, self.engine_box.findData(current)))

    def set_capabilities(self, caps: Capabilities, devices: list[str]) -> None:
        """Rebuild the sliders for ``caps`` (controls an engine cannot do are absent)."""
        self.model.set_controls(caps)
        with QSignalBlocker(self.device_box):
            self.device_box.clear()
            for d in devices:
                self.device_box.addItem(d.upper(), d)
        self.device_box.setEnabled(len(devices) > 1)
        mode = "continuous" if caps.continuous else f"{caps.intensity_steps} steps"
        self.engine_note.setText(f"{caps.description}  Intensity: {mode}.")
        while self.slider_layout.count():
            item = self.slider_layout.takeAt(0)
            if item.widget():
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
                row = SliderRow(group, n)
                if not caps.continuous and caps.intensity_steps:
                    row.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
                    row.slider.setTickInterval(max(1, round(100 / caps.intensity_steps)))
                row.show_value(self.model.values[(group, n)])
                row.edited.connect(self._on_row_edited)
                row.committed.connect(self.committed)
                self.slider_layout.addWidget(row)
                self.rows[(group, n)] = row
        self.slider_layout.addStretch(1)
        self.transcript_label.setVisible(caps.needs_transcript)
        self.transcript.setVisible(caps.needs_transcript)
        self.apply_filter(self.filter.text())

    @Slot(int)
    def _on_engine(self, i: int) -> None:
        self.engine_selected.emit(self.engine_box.itemData(i))

    @Slot(int)
    def _on_device(self, i: int) -> None:
        self.device_selected.emit(self.device_box.itemData(i))

    # --- model <-> widgets -------------------------------------------------------------------
    @Slot(str, str, float)
    def _on_row_edited(self, group: str, name: str, value: float) -> None:
        self.model.set_value(group, name, value)

    @Slot(str, str, float)
    def _on_model_changed(self, group: str, name: str, value: float) -> None:
        row = self.rows.get((group, name))
        if row is not None:
            row.show_value(value)

    @Slot(int)
    def _on_iterations(self, n: int) -> None:
        self.model.set_iterations(n)

    @Slot(int)
    def _on_model_iterations(self, n: int) -> None:
        with QSignalBlocker(self.iterations):
            self.iterations.setValue(n)

    @Slot()
    def _on_transcript(self) -> None:
        self.model.transcript = self.transcript.toPlainText().strip()

    @Slot(str)
    def apply_filter(self, text: str) -> None:
        """Show only controls whose name contains every word of ``text``."""
        words = text.lower().split()
        shown: dict[str, int] = {}
        for (g, n), row in self.rows.items():
            hay = f"{g} {n}"
            vis = all(w in hay for w in words)
            row.setVisible(vis)
            shown[g] = shown.get(g, 0) + int(vis)
        for g, label in self.group_labels.items():
            label.setVisible(shown.get(g, 0) > 0)

    def visible_controls(self) -> list[str]:
        return [n for (_, n), row in self.rows.items() if not row.isHidden()]

    # --- presets -----------------------------------------------------------------------------
    def reload_presets(self, select: str | None = None) -> None:
        self.presets.clear()
        for folder in (shipped_presets_dir(), user_presets_dir()):
            if folder.is_dir():
                for p in sorted(folder.glob("*.json")):
                    try:
                        name, _ = read_preset(p)
                    except RequestError:
                        continue
                    self.presets[name] = p
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

    def load_preset(self, name: str) -> None:
        try:
            _, request = read_preset(self.presets[name])
            self.model.set_request(request)
        except RequestError as exc:
            self.preset_error.emit(exc)
            return
        self.committed.emit()

    def save_preset(self, name: str) -> Path:
        path = write_preset(user_presets_dir(), name, self.model.request())
        self.reload_presets(select=name)
        return path

    # --- render state ------------------------------------------------------------------------
    def set_rendering(self, running: bool, total: int = 0) -> None:
        self.cancel_btn.setEnabled(running)
        if running:
            for bar in self.progress_bars:
                bar.deleteLater()
            self.progress_bars = []
            for k in range(1, total + 1):
                bar = QProgressBar()
                bar.setRange(0, 1000)
                bar.setFormat(f"iteration {k} / {total}  %p%")
                self.progress_layout.addWidget(bar)
                self.progress_bars.append(bar)

    def set_progress(self, iteration: int, fraction: float, message: str = "") -> None:
        for k, bar in enumerate(self.progress_bars, start=1):
            if k < iteration:
                bar.setValue(1000)
            elif k == iteration:
                bar.setValue(int(round(1000 * fraction)))
                if message == "analysing":
                    bar.setFormat(f"analysing…  iteration {k} / {len(self.progress_bars)}")
                else:
                    bar.setFormat(f"iteration {k} / {len(self.progress_bars)}  %p%")

    def mark_cancelled(self, kept: int) -> None:
        for k, bar in enumerate(self.progress_bars, start=1):
            if k > kept:
                bar.setValue(0)
                bar.setFormat(f"iteration {k} / {len(self.progress_bars)}  cancelled")
