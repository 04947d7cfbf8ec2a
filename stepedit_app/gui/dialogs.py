"""Dialogs: the error dialog (one line, expandable details) and the export dialog."""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from stepedit_app.errors import StepEditError

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


@dataclass
class ExportSettings:
    folder: Path
    template: str
    ext: str
    subtype: str
    scope: str
    lufs: float | None
    true_peak_db: float


FORMATS = [
    ("WAV 16-bit", ".wav", "PCM_16"),
    ("WAV 24-bit", ".wav", "PCM_24"),
    ("WAV 32-bit float", ".wav", "FLOAT"),
    ("FLAC 16-bit", ".flac", "PCM_16"),
    ("FLAC 24-bit", ".flac", "PCM_24"),
]


class ExportDialog(QDialog):
    """Where and how to export the selected take."""

    def __init__(self, folder: Path, template: str, preview, parent: QWidget | None = None,
                 source_subtype: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export take")
        self.setObjectName("exportDialog")
        self._preview = preview
        form = QFormLayout(self)
        self.scope = QComboBox()
        self.scope.addItem("Whole file with the take spliced in", "full")
        self.scope.addItem("The region alone", "region")
        form.addRow("Export", self.scope)
        self.format = QComboBox()
        for label, ext, st in FORMATS:
            self.format.addItem(label, (ext, st))
        default = {"PCM_16": 0, "PCM_24": 1, "FLOAT": 2}.get(source_subtype or "", 1)
        self.format.setCurrentIndex(default)
        form.addRow("Format", self.format)
        self.normalise = QCheckBox("Normalise loudness")
        self.lufs = QDoubleSpinBox()
        self.lufs.setRange(-40.0, -5.0)
        self.lufs.setValue(-23.0)
        self.lufs.setSuffix(" LUFS")
        self.peak = QDoubleSpinBox()
        self.peak.setRange(-12.0, 0.0)
        self.peak.setValue(-1.0)
        self.peak.setSingleStep(0.5)
        self.peak.setSuffix(" dBTP ceiling")
        nr = QHBoxLayout()
        nr.addWidget(self.normalise)
        nr.addWidget(self.lufs)
        nr.addWidget(self.peak)
        form.addRow("Loudness", nr)
        self.template = QLineEdit(template)
        self.template.setToolTip("Fields: {name} {emotion} {take} {iteration} {engine} {date}")
        form.addRow("File name", self.template)
        self.folder = QLineEdit(str(folder))
        browse = QPushButton("Browse…")
        fr = QHBoxLayout()
        fr.addWidget(self.folder, 1)
        fr.addWidget(browse)
        form.addRow("Folder", fr)
        self.preview_label = QLabel("")
        self.preview_label.setObjectName("engineNote")
        form.addRow("", self.preview_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        form.addRow(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        browse.clicked.connect(self._browse)
        for sig in (self.template.textChanged, self.format.currentIndexChanged, self.folder.textChanged):
            sig.connect(self._update_preview)
        self._update_preview()

    @Slot()
    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export folder", self.folder.text())
        if d:
            self.folder.setText(d)

    @Slot()
    def _update_preview(self, *_):
        s = self.settings()
        try:
            name = self._preview(s.template, s.ext)
        except Exception as exc:  # noqa: BLE001 - shown inline, the dialog stays usable
            name = f"(invalid template: {exc})"
        self.preview_label.setText(str(Path(s.folder) / name))

    def settings(self) -> ExportSettings:
        ext, st = self.format.currentData()
        return ExportSettings(
            folder=Path(self.folder.text()).expanduser(),
            template=self.template.text().strip() or "{name}_{emotion}_{take}",
            ext=ext,
            subtype=st,
            scope=self.scope.currentData(),
            lufs=self.lufs.value() if self.normalise.isChecked() else None,
            true_peak_db=self.peak.value(),
        )


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
