"""Dialogs: the error dialog (one line, expandable details), the export dialog (with the
delivery settings a recipe holds) and the questions asked when work could be lost."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stepedit_app.audio.delivery import PRESETS, SAMPLE_RATES
from stepedit_app.errors import StepEditError
from stepedit_app.session.recipe import NAMING_FIELDS, Delivery, parse_delivery

_LOG_IN_LINE = re.compile(r"\blog: (\S.*?)\s*$")


def error_parts(exc: BaseException) -> tuple[str, str]:
    """``(one line, details)`` for an exception.

    A :class:`StepEditError` is the user's line as is (details: the engine traceback if it
    carries one); anything else is a bug, shown as its type and message with the traceback.
    """
    if isinstance(exc, StepEditError):
        line = " ".join(str(exc).split()) or type(exc).__name__
        details = getattr(exc, "details", "") or ""
    else:
        line = f"Unexpected error: {type(exc).__name__}: {' '.join(str(exc).split())}"
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if len(line) > 300:
        details = f"{line}\n\n{details}"
        # A line that names a log keeps the name: it is what the user needs to go on.
        m = _LOG_IN_LINE.search(line)
        tail = line[m.start():] if m and len(line) - m.start() < 250 else ""
        line = line[: 297 - len(tail)] + "…" + (f" {tail}" if tail else "")
    return line, details


class ErrorDialog(QMessageBox):
    """One clear line; the details (a traceback, the full message) behind "Show Details…"."""

    def __init__(self, title: str, line: str, details: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorDialog")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle(title)
        self.setText(line)
        self.setTextFormat(Qt.TextFormat.PlainText)
        if details:
            self.setDetailedText(details)
        self.setStandardButtons(QMessageBox.StandardButton.Ok)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.open_button: QPushButton | None = None

    def add_open_file_button(self, text: str, path: Path) -> QPushButton:
        """A button that opens ``path`` (a log) with the desktop's viewer; the dialog stays open."""
        button = self.addButton(text, QMessageBox.ButtonRole.ActionRole)
        button.setToolTip(str(path))
        button.clicked.connect(lambda: open_file(path))
        self.open_button = button
        return button

    def done(self, result: int) -> None:  # noqa: D102 - Qt API
        # Every message-box button closes the box; opening the log keeps the line on screen.
        if self.open_button is not None and self.clickedButton() is self.open_button:
            return
        super().done(result)


def log_named_in(line: str) -> Path | None:
    """The log file an error line ends by naming (``...; log: /path/worker.log``), or None."""
    m = _LOG_IN_LINE.search(line)
    return Path(m.group(1)) if m else None


def open_file(path: Path) -> bool:
    """Open ``path`` with the desktop's default application (a log: the text editor)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


#: The window's default file-name template (the take id keeps names unique).
DEFAULT_TEMPLATE = "{name}_{emotion}_{take}"
_DEPTH_OF = {"PCM_16": "16", "PCM_24": "24", "FLOAT": "float"}
_SUBTYPE_OF = {v: k for k, v in _DEPTH_OF.items()}


@dataclass
class ExportSettings:
    """Where and how takes are exported: a folder, a file-name template and the delivery
    settings (the same ones a recipe holds, see :class:`~stepedit_app.session.recipe.Delivery`).

    With no loudness target, no rate change, no trim and no padding (:attr:`processed` false)
    a single take is written as rendered: outside its region every sample is the source's,
    bit for bit.  Otherwise it goes through :func:`~stepedit_app.audio.delivery.deliver`,
    exactly as a batch with the same recipe delivers it.
    """

    folder: Path
    template: str = DEFAULT_TEMPLATE
    ext: str = ".wav"
    subtype: str = "PCM_24"
    scope: str = "full"
    lufs: float | None = None
    true_peak_db: float = -1.0
    sample_rate: int | None = None
    tolerance_lu: float = 0.5
    preset: str | None = None
    trim_head: bool = False
    trim_tail: bool = False
    trim_threshold_db: float = -60.0
    head_pad_ms: float = 0.0
    tail_pad_ms: float = 0.0
    dither: str = "tpdf"

    @property
    def processed(self) -> bool:
        """Whether the audio is processed (loudness, rate, trim or padding), not only written."""
        return (self.lufs is not None or self.sample_rate is not None or self.trim_head or self.trim_tail
                or self.head_pad_ms > 0 or self.tail_pad_ms > 0)

    def delivery_dict(self) -> dict:
        """The ``delivery`` object of a recipe for these settings (JSON field names)."""
        return {
            "preset": self.preset,
            "format": self.ext.lower().lstrip("."),
            "bit_depth": _DEPTH_OF.get(self.subtype, "24"),
            "sample_rate": self.sample_rate,
            "lufs": self.lufs,
            "true_peak": self.true_peak_db,
            "tolerance": self.tolerance_lu,
            "trim": {"head": self.trim_head, "tail": self.trim_tail, "threshold_db": self.trim_threshold_db},
            "pad": {"head_ms": self.head_pad_ms, "tail_ms": self.tail_pad_ms},
            "dither": self.dither,
            "scope": self.scope,
            "naming": self.template,
        }

    def delivery(self) -> Delivery:
        """These settings as a validated :class:`Delivery` (raises :class:`RecipeError` naming
        the field, e.g. an unknown template field)."""
        return parse_delivery(self.delivery_dict())

    @classmethod
    def from_delivery(cls, d: Delivery, folder: Path) -> ExportSettings:
        """The settings of a recipe's delivery (e.g. after "Load recipe")."""
        return cls(
            folder=Path(folder), template=d.naming, ext=d.ext, subtype=d.subtype, scope=d.scope, lufs=d.lufs,
            true_peak_db=d.true_peak_db, sample_rate=d.sample_rate, tolerance_lu=d.tolerance_lu, preset=d.preset,
            trim_head=d.trim_head, trim_tail=d.trim_tail, trim_threshold_db=d.trim_threshold_db,
            head_pad_ms=d.head_pad_ms, tail_pad_ms=d.tail_pad_ms, dither=d.dither,
        )

    def describe(self) -> str:
        """One line: what a delivered file will be (``ASWG-R001 home console: -24 LUFS ±2 LU,
        ≤ -1 dBTP · 48 kHz · 24-bit TPDF · trim head/tail · pads 20/100 ms``)."""
        parts = []
        if self.lufs is not None:
            label = PRESETS[self.preset].label + ": " if self.preset in PRESETS else ""
            parts.append(f"{label}{_num(self.lufs)} LUFS ±{_num(self.tolerance_lu)} LU, ≤ {_num(self.true_peak_db)} dBTP")
        else:
            parts.append(f"no loudness target, ≤ {_num(self.true_peak_db)} dBTP")
        parts.append(f"{self.sample_rate / 1000:g} kHz" if self.sample_rate else "source rate")
        depth = {"PCM_16": "16-bit", "PCM_24": "24-bit", "FLOAT": "32-bit float"}.get(self.subtype, self.subtype)
        dither = " TPDF" if self.dither == "tpdf" and self.subtype != "FLOAT" else ""
        parts.append(f"{self.ext.lstrip('.').upper()} {depth}{dither}")
        trims = [w for w, on in (("head", self.trim_head), ("tail", self.trim_tail)) if on]
        if trims:
            parts.append(f"trim {'/'.join(trims)}")
        if self.head_pad_ms or self.tail_pad_ms:
            parts.append(f"pads {_num(self.head_pad_ms)}/{_num(self.tail_pad_ms)} ms")
        return " · ".join(parts)


def _num(v: float) -> str:
    """``-24``, ``-1.5``: a setting as typed, with a real minus sign."""
    return f"{v:g}".replace("-", "−")


FORMATS = [("WAV", ".wav"), ("FLAC", ".flac")]
DEPTHS = [("16-bit", "PCM_16"), ("24-bit", "PCM_24"), ("32-bit float", "FLOAT")]
#: Loudness choices: no target, the delivery presets, or a target typed by hand.
NO_TARGET = ""
CUSTOM = "custom"


def _spin(lo: float, hi: float, step: float, suffix: str, decimals: int = 1, name: str = "") -> QDoubleSpinBox:
    b = QDoubleSpinBox()
    b.setRange(lo, hi)
    b.setSingleStep(step)
    b.setDecimals(decimals)
    b.setSuffix(suffix)
    b.setKeyboardTracking(False)
    if name:
        b.setObjectName(name)
    return b


class ExportDialog(QDialog):
    """Where and how to export the selected take, or every starred take.

    The delivery part holds what a recipe holds: format, bit depth and dither, sample rate,
    a loudness target (a delivery preset or typed) with its tolerance and true-peak ceiling,
    head/tail trim and padding, the file-name template and whether the whole file or the
    region alone is written.

    Parameters
    ----------
    settings
        The settings to start from (the last export's, or a loaded recipe's).
    preview
        ``preview(settings) -> [file name, ...]`` of the files that would be written; raises
        :class:`StepEditError` for a template that cannot be used (shown inline).
    source_rate
        The source's sample rate (the "same as source" choice).
    count
        How many takes are exported (more than one: "Export starred").

    Signals
    -------
    recipe_requested(object)
        "Save as Recipe…" was clicked: the current :class:`ExportSettings`.
    """

    recipe_requested = Signal(object)

    def __init__(self, settings: ExportSettings, preview: Callable[[ExportSettings], list[str]],
                 parent: QWidget | None = None, *, source_rate: int | None = None, count: int = 1) -> None:
        super().__init__(parent)
        self.count = count
        self.setWindowTitle("Export take" if count == 1 else f"Export {count} starred takes")
        self.setObjectName("exportDialog")
        self._preview = preview
        outer = QVBoxLayout(self)
        outer.addWidget(self._file_group(settings))
        outer.addWidget(self._delivery_group(settings, source_rate))
        self.note = QLabel("")
        self.note.setObjectName("engineNote")
        self.note.setWordWrap(True)
        outer.addWidget(self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_btn = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_btn.setText("Export" if count == 1 else f"Export {count} Takes")
        self.recipe_btn = self.buttons.addButton("Save as Recipe…", QDialogButtonBox.ButtonRole.ActionRole)
        self.recipe_btn.setToolTip("Save these settings and the current sliders as a recipe for the batch")
        outer.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.recipe_btn.clicked.connect(lambda: self.recipe_requested.emit(self.settings()))
        self._set_loudness_choice(settings)
        for sig in (self.template.textChanged, self.folder.textChanged, self.scope.currentIndexChanged,
                    self.format.currentIndexChanged, self.depth.currentIndexChanged, self.rate.currentIndexChanged,
                    self.dither.toggled, self.trim_head.toggled, self.trim_tail.toggled, self.lufs.valueChanged,
                    self.tolerance.valueChanged, self.peak.valueChanged, self.head_pad.valueChanged,
                    self.tail_pad.valueChanged, self.threshold.valueChanged):
            sig.connect(self._update)
        self.loudness.currentIndexChanged.connect(self._on_loudness_choice)
        for box in (self.lufs, self.tolerance, self.peak):
            box.valueChanged.connect(self._on_loudness_value)
        self._update()

    # --- building ----------------------------------------------------------------------------
    def _file_group(self, s: ExportSettings) -> QGroupBox:
        box = QGroupBox("File")
        form = QFormLayout(box)
        self.scope = QComboBox()
        self.scope.setObjectName("scopeBox")
        self.scope.addItem("Whole file with the take spliced in", "full")
        self.scope.addItem("The region alone", "region")
        self.scope.setCurrentIndex(max(0, self.scope.findData(s.scope)))
        form.addRow("Export", self.scope)
        fr = QHBoxLayout()
        self.format = QComboBox()
        self.format.setObjectName("formatBox")
        for label, ext in FORMATS:
            self.format.addItem(label, ext)
        self.format.setCurrentIndex(max(0, self.format.findData(s.ext.lower())))
        self.depth = QComboBox()
        self.depth.setObjectName("depthBox")
        for label, st in DEPTHS:
            self.depth.addItem(label, st)
        self.depth.setCurrentIndex(max(0, self.depth.findData(s.subtype)))
        self.dither = QCheckBox("TPDF dither")
        self.dither.setObjectName("ditherBox")
        self.dither.setToolTip("Dither when the audio is processed and rounded to 16 or 24 bits")
        self.dither.setChecked(s.dither == "tpdf")
        fr.addWidget(self.format)
        fr.addWidget(self.depth)
        fr.addWidget(self.dither)
        fr.addStretch(1)
        form.addRow("Format", fr)
        self.template = QLineEdit(s.template)
        self.template.setObjectName("templateBox")
        self.template.setToolTip("Fields: " + " ".join("{" + f + "}" for f in NAMING_FIELDS))
        form.addRow("File name", self.template)
        self.folder = QLineEdit(str(s.folder))
        self.folder.setObjectName("folderBox")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        fo = QHBoxLayout()
        fo.addWidget(self.folder, 1)
        fo.addWidget(browse)
        form.addRow("Folder", fo)
        self.preview_label = QLabel("")
        self.preview_label.setObjectName("engineNote")
        self.preview_label.setWordWrap(True)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("", self.preview_label)
        return box

    def _delivery_group(self, s: ExportSettings, source_rate: int | None) -> QGroupBox:
        box = QGroupBox("Delivery")
        form = QFormLayout(box)
        self.loudness = QComboBox()
        self.loudness.setObjectName("loudnessBox")
        self.loudness.addItem("No loudness target", NO_TARGET)
        for p in PRESETS.values():
            self.loudness.addItem(f"{p.label}  ({_num(p.lufs)} LUFS ±{_num(p.tolerance_lu)} LU)", p.name)
        self.loudness.addItem("Custom target", CUSTOM)
        form.addRow("Loudness", self.loudness)
        lr = QHBoxLayout()
        self.lufs = _spin(-40.0, -5.0, 0.5, " LUFS", name="lufsBox")
        self.tolerance = _spin(0.1, 6.0, 0.5, " LU", name="toleranceBox")
        self.tolerance.setPrefix("± ")
        self.peak = _spin(-12.0, 0.0, 0.5, " dBTP", name="peakBox")
        self.peak.setPrefix("≤ ")
        self.peak.setToolTip("True-peak ceiling, held by a look-ahead limiter (4x oversampled detector)")
        self.lufs.setValue(s.lufs if s.lufs is not None else -23.0)
        self.tolerance.setValue(s.tolerance_lu)
        self.peak.setValue(s.true_peak_db)
        lr.addWidget(self.lufs)
        lr.addWidget(self.tolerance)
        lr.addWidget(self.peak)
        lr.addStretch(1)
        self.target_label = QLabel("Target")
        form.addRow(self.target_label, lr)
        self.rate = QComboBox()
        self.rate.setObjectName("rateBox")
        self.rate.addItem(f"Same as source ({source_rate:,} Hz)".replace(",", " ") if source_rate else "Same as source",
                          0)
        for r in SAMPLE_RATES:
            self.rate.addItem(f"{r:,} Hz".replace(",", " "), r)
        self.rate.setCurrentIndex(max(0, self.rate.findData(s.sample_rate or 0)))
        self.rate.setToolTip("Resampled with libsoxr (very high quality)")
        form.addRow("Sample rate", self.rate)
        tr = QHBoxLayout()
        self.trim_head = QCheckBox("Head")
        self.trim_head.setObjectName("trimHeadBox")
        self.trim_tail = QCheckBox("Tail")
        self.trim_tail.setObjectName("trimTailBox")
        self.trim_head.setChecked(s.trim_head)
        self.trim_tail.setChecked(s.trim_tail)
        self.threshold = _spin(-90.0, -20.0, 1.0, " dBFS", decimals=0, name="thresholdBox")
        self.threshold.setPrefix("below ")
        self.threshold.setValue(s.trim_threshold_db)
        for w in (self.trim_head, self.trim_tail, self.threshold):
            tr.addWidget(w)
        tr.addStretch(1)
        form.addRow("Trim silence", tr)
        pr = QHBoxLayout()
        self.head_pad = _spin(0.0, 10000.0, 10.0, " ms", decimals=0, name="headPadBox")
        self.head_pad.setPrefix("head ")
        self.tail_pad = _spin(0.0, 10000.0, 10.0, " ms", decimals=0, name="tailPadBox")
        self.tail_pad.setPrefix("tail ")
        self.head_pad.setValue(s.head_pad_ms)
        self.tail_pad.setValue(s.tail_pad_ms)
        pr.addWidget(self.head_pad)
        pr.addWidget(self.tail_pad)
        pr.addStretch(1)
        form.addRow("Padding", pr)
        return box

    # --- loudness presets --------------------------------------------------------------------
    def _set_loudness_choice(self, s: ExportSettings) -> None:
        if s.lufs is None:
            key = NO_TARGET
        elif s.preset in PRESETS and self._matches(PRESETS[s.preset], s.lufs, s.tolerance_lu, s.true_peak_db):
            key = s.preset
        else:
            key = CUSTOM
        with QSignalBlocker(self.loudness):
            self.loudness.setCurrentIndex(max(0, self.loudness.findData(key)))

    @staticmethod
    def _matches(p, lufs: float, tol: float, peak: float) -> bool:
        return abs(p.lufs - lufs) < 1e-6 and abs(p.tolerance_lu - tol) < 1e-6 and abs(p.true_peak_db - peak) < 1e-6

    @Slot(int)
    def _on_loudness_choice(self, _i: int) -> None:
        key = self.loudness.currentData()
        if key in PRESETS:
            p = PRESETS[key]
            for box, v in ((self.lufs, p.lufs), (self.tolerance, p.tolerance_lu), (self.peak, p.true_peak_db)):
                with QSignalBlocker(box):
                    box.setValue(v)
        self._update()

    @Slot()
    def _on_loudness_value(self, *_args) -> None:
        """A value typed over a preset's makes the target a custom one."""
        key = self.loudness.currentData()
        if key in PRESETS and not self._matches(PRESETS[key], self.lufs.value(), self.tolerance.value(),
                                                 self.peak.value()):
            with QSignalBlocker(self.loudness):
                self.loudness.setCurrentIndex(self.loudness.findData(CUSTOM))
            self._update()

    # --- reading -----------------------------------------------------------------------------
    @Slot()
    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export folder", self.folder.text())
        if d:
            self.folder.setText(d)

    def settings(self) -> ExportSettings:
        key = self.loudness.currentData()
        target = key != NO_TARGET
        return ExportSettings(
            folder=Path(self.folder.text().strip()).expanduser(),
            template=self.template.text().strip() or DEFAULT_TEMPLATE,
            ext=self.format.currentData(),
            subtype=self.depth.currentData(),
            scope=self.scope.currentData(),
            lufs=self.lufs.value() if target else None,
            true_peak_db=self.peak.value(),
            sample_rate=self.rate.currentData() or None,
            tolerance_lu=self.tolerance.value(),
            preset=key if key in PRESETS else None,
            trim_head=self.trim_head.isChecked(),
            trim_tail=self.trim_tail.isChecked(),
            trim_threshold_db=self.threshold.value(),
            head_pad_ms=self.head_pad.value(),
            tail_pad_ms=self.tail_pad.value(),
            dither="tpdf" if self.dither.isChecked() else "none",
        )

    @Slot()
    def _update(self, *_args) -> None:
        # FLAC holds no float samples.
        flac = self.format.currentData() == ".flac"
        float_item = self.depth.model().item(self.depth.findData("FLOAT"))
        float_item.setEnabled(not flac)
        if flac and self.depth.currentData() == "FLOAT":
            with QSignalBlocker(self.depth):
                self.depth.setCurrentIndex(self.depth.findData("PCM_24"))
        target = self.loudness.currentData() != NO_TARGET
        # without a target only the ceiling applies (the limiter holds it in any delivery)
        self.lufs.setVisible(target)
        self.tolerance.setVisible(target)
        self.target_label.setText("Target" if target else "Ceiling")
        self.threshold.setEnabled(self.trim_head.isChecked() or self.trim_tail.isChecked())
        s = self.settings()
        self.dither.setEnabled(s.subtype != "FLOAT")
        ok = True
        try:
            names = self._preview(s)
        except StepEditError as exc:
            ok = False
            text = str(exc).removeprefix("delivery.naming: ")
            self.preview_label.setText(f"<span style='color:#ff5c5c'>File name: {escape(text)}</span>")
        else:
            first = str(s.folder / names[0]) if names else str(s.folder)
            if len(names) > 1:  # "Export starred": the names, a few of them
                first += ", " + ", ".join(names[1:3])
            more = f"  (+ {len(names) - 3} more)" if len(names) > 3 else ""
            exists = sum((s.folder / n).exists() for n in names)
            warn = (f"<br><span style='color:#ffb000'>replaces {exists} existing file{'s' if exists > 1 else ''}</span>"
                    if exists else "")
            self.preview_label.setText(f"{escape(first)}{more}{warn}")
        self.save_btn.setEnabled(ok)
        self.recipe_btn.setEnabled(ok)
        if self.count > 1 or s.processed:
            self.note.setText(f"Delivered exactly as a batch with these settings delivers: {s.describe()}.")
        else:
            self.note.setText("Written as rendered: no loudness, rate, trim, padding, limiter or dither; outside "
                              "the region every sample is the source's, bit for bit. Choose a loudness target, a "
                              "sample rate, trim or padding to deliver it as a batch with these settings would (a "
                              "batch always holds the ceiling).")


def ask_recover(parent: QWidget, descriptions: list[str]) -> str:
    """After a crash: ``"recover"``, ``"discard"`` or ``"later"``."""
    box = QMessageBox(parent)
    box.setObjectName("recoverDialog")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Recover takes")
    lines = "\n".join(f"• {d}" for d in descriptions)
    box.setText("StepEdit did not close properly last time. Recover the takes it autosaved?")
    box.setInformativeText(lines)
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(recover)
    box.exec()
    clicked = box.clickedButton()
    return "recover" if clicked is recover else "discard" if clicked is discard else "later"


def ask_source_problem(parent: QWidget, message: str, changed: bool) -> str:
    """A project's source moved or changed: ``"locate"``, ``"anyway"`` (changed only) or
    ``"cancel"``."""
    box = QMessageBox(parent)
    box.setObjectName("sourceDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Source file")
    box.setText(message[0].upper() + message[1:] + ".")
    locate = box.addButton("Locate…", QMessageBox.ButtonRole.AcceptRole)
    anyway = box.addButton("Open Anyway", QMessageBox.ButtonRole.DestructiveRole) if changed else None
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(locate)
    box.exec()
    clicked = box.clickedButton()
    return "locate" if clicked is locate else "anyway" if (anyway is not None and clicked is anyway) else "cancel"


def ask_unsaved(parent: QWidget, n: int) -> str:
    """Takes not saved in a project nor exported: ``"save"``, ``"discard"`` or ``"cancel"``."""
    box = QMessageBox(parent)
    box.setObjectName("unsavedDialog")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Unsaved takes")
    box.setText(f"{n} take{' is' if n == 1 else 's are'} not saved in a project and "
                f"{'was' if n == 1 else 'were'} not exported.")
    box.setInformativeText("Save them in a project before going on?")
    save = box.addButton(QMessageBox.StandardButton.Save)
    discard = box.addButton(QMessageBox.StandardButton.Discard)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(save)
    box.exec()
    clicked = box.clickedButton()
    return "save" if clicked is save else "discard" if clicked is discard else "cancel"
