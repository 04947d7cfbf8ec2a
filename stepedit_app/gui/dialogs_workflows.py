"""Dialogs of the game-voice workflows: "Render variations" (a grid of levels and presets) and
the summary of a delivered export ("Export starred")."""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QUrl, Slot
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stepedit_app.engines.base import Capabilities
from stepedit_app.engines.controls import MAX_ITERATIONS, EditRequest
from stepedit_app.errors import StepEditError
from stepedit_app.gui import theme
from stepedit_app.session.variations import Exported, Preset, Variation, parse_levels, variation_grid

#: "Vary" choice that scales each checked preset by the levels instead of varying one control.
SCALE_PRESETS = "scale"
DEFAULT_LEVELS = "25, 50, 75, 100"
#: More cells than this is refused: a grid is for auditioning, a batch is for volume.
MAX_CELLS = 64


def parse_percent_levels(text: str) -> list[float]:
    """``"25, 50, 75 %, 100"`` -> ``[0.25, 0.5, 0.75, 1.0]``: the window speaks percent, like its
    sliders (raises :class:`~stepedit_app.errors.RequestError` with one line)."""
    parts = [p.strip().rstrip("%").strip() for p in text.replace(";", ",").split(",")]
    try:
        return parse_levels(",".join(f"{p}%" for p in parts if p))
    except StepEditError as exc:
        raise type(exc)(str(exc).removeprefix("--levels: ").replace("(0..1)", "(0..100 %)")) from None


class VariationsDialog(QDialog):
    """Choose a grid: a control and its levels (angry at 25/50/75/100 %), on top of the current
    sliders or of each checked preset; or the checked presets scaled by the levels.

    Parameters
    ----------
    capabilities
        The engine's controls (the "Vary" list) and the check of every cell's request.
    base
        The current sliders: the grid's row when no preset is checked.
    presets
        Presets offered as rows.
    region_label
        What is rendered (``1.000–3.000 s`` or ``the whole clip``).
    levels, control, iterations
        Where to start (the last grid's choices).
    """

    def __init__(self, capabilities: Capabilities, base: EditRequest, presets: list[Preset], region_label: str,
                 parent: QWidget | None = None, *, levels: str = DEFAULT_LEVELS,
                 control: tuple[str, str] | None = None, iterations: int = 1) -> None:
        super().__init__(parent)
        self.setObjectName("variationsDialog")
        self.setWindowTitle("Render variations")
        self.caps = capabilities
        self.base = base
        self._cells: list[Variation] = []
        form = QFormLayout(self)
        intro = QLabel(f"Renders each cell of the grid on <b>{escape(region_label)}</b> and adds it to the takes, "
                       "named by its level. Audition them with the arrow keys; star the keepers (S).")
        intro.setWordWrap(True)
        intro.setObjectName("engineNote")
        form.addRow(intro)
        self.control = QComboBox()
        self.control.setObjectName("varyBox")
        for group, names in (("emotion", capabilities.emotions), ("style", capabilities.styles),
                             ("speed", capabilities.speed)):
            for n in names:
                self.control.addItem(f"{group}: {n.replace('_', ' ')}", f"{group}:{n}")
        self.control.addItem("preset intensity (scales each checked preset)", SCALE_PRESETS)
        if control is None:  # the strongest slider in use, else the first control
            active = sorted(base.active(), key=lambda c: -c[2])
            control = (active[0][0], active[0][1]) if active else None
        i = self.control.findData(f"{control[0]}:{control[1]}") if control is not None else -1
        self.control.setCurrentIndex(max(0, i))
        form.addRow("Vary", self.control)
        self.levels = QLineEdit(levels)
        self.levels.setObjectName("levelsBox")
        self.levels.setPlaceholderText("e.g. 25, 50, 75, 100")
        self.levels.setToolTip("Intensities in percent, separated by commas")
        form.addRow("Levels (%)", self.levels)
        self.presets = QListWidget()
        self.presets.setObjectName("presetList")
        self.presets.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.presets.setMaximumHeight(150)
        # the theme styles check boxes, not the indicators of checkable list items
        self.presets.setStyleSheet(
            f"QListWidget::indicator {{ width: 12px; height: 12px; }}"
            f"QListWidget::indicator:unchecked {{ background: {theme.BG_VIEW}; border: 1px solid {theme.TEXT_DIM}; }}"
            f"QListWidget::indicator:checked {{ background: {theme.ACCENT}; border: 1px solid {theme.ACCENT}; }}")
        self.preset_objs: dict[str, Preset] = {}
        for p in presets:
            item = QListWidgetItem(p.label)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, p.key)
            item.setToolTip(p.request.summary())
            self.presets.addItem(item)
            self.preset_objs[p.key] = p
        self.base_label = QLabel("")
        self.base_label.setObjectName("engineNote")
        self.base_label.setWordWrap(True)
        form.addRow("Presets", self.presets)
        form.addRow("", self.base_label)
        self.iterations = QSpinBox()
        self.iterations.setObjectName("gridIterationsBox")
        self.iterations.setRange(1, MAX_ITERATIONS)
        self.iterations.setValue(max(1, min(MAX_ITERATIONS, iterations)))
        self.iterations.setToolTip("Refinement passes per cell")
        self.keep_all = QCheckBox("Keep every iteration as a take")
        self.keep_all.setObjectName("keepIterationsBox")
        self.keep_all.setToolTip("Off: each cell's last iteration only")
        form.addRow("Iterations", self.iterations)
        form.addRow("", self.keep_all)
        self.preview = QLabel("")
        self.preview.setObjectName("gridPreview")
        self.preview.setWordWrap(True)
        self.preview.setTextFormat(Qt.TextFormat.RichText)
        form.addRow(self.preview)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        form.addRow(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.control.currentIndexChanged.connect(self._update)
        self.levels.textChanged.connect(self._update)
        self.presets.itemChanged.connect(self._update)
        self.iterations.valueChanged.connect(self._update)
        self.resize(520, self.sizeHint().height())
        self._update()

    # --- reading -----------------------------------------------------------------------------
    def checked_presets(self) -> list[Preset]:
        out = []
        for i in range(self.presets.count()):
            it = self.presets.item(i)
            if it.checkState() == Qt.CheckState.Checked:
                out.append(self.preset_objs[it.data(Qt.ItemDataRole.UserRole)])
        return out

    def set_presets_checked(self, keys: list[str]) -> None:
        with QSignalBlocker(self.presets):
            for i in range(self.presets.count()):
                it = self.presets.item(i)
                on = it.data(Qt.ItemDataRole.UserRole) in keys
                it.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self._update()

    @property
    def vary(self) -> tuple[str, str] | None:
        """The control varied, or None when presets are scaled."""
        d = str(self.control.currentData())
        if d == SCALE_PRESETS:
            return None
        group, _, name = d.partition(":")
        return group, name

    def grid(self) -> list[Variation]:
        """The grid's cells; raises :class:`StepEditError` with one line for a grid that cannot
        be rendered (bad levels, nothing to vary, a control this engine lacks, too many cells)."""
        presets = self.checked_presets()
        control = self.vary
        text = self.levels.text().strip()
        levels = parse_percent_levels(text) if text else []
        if control is not None and not levels:
            raise StepEditError("give one or more levels, e.g. 25, 50, 75, 100")
        if control is None and not presets:
            raise StepEditError("check one or more presets to scale")
        cells = variation_grid(control=control, levels=levels, presets=presets, base=self.base,
                               iterations=self.iterations.value())
        if len(cells) > MAX_CELLS:
            raise StepEditError(f"{len(cells)} cells is more than a grid for auditioning ({MAX_CELLS}); "
                                "use a batch for volume")
        for v in cells:
            try:
                self.caps.check_request(v.request)
            except StepEditError as exc:
                raise StepEditError(f"{v.label}: {exc}") from None
        return cells

    @property
    def keep_iterations(self) -> bool:
        return self.keep_all.isChecked()

    # --- feedback ----------------------------------------------------------------------------
    @Slot()
    def _update(self, *_args) -> None:
        presets = self.checked_presets()
        if presets:
            self.base_label.setText(f"Each checked preset is a row of the grid ({len(presets)} checked).")
        else:
            base = self.base.summary() if self.base.active() else "no other control"
            self.base_label.setText(f"No preset checked: the row is the current sliders ({base}).")
        try:
            self._cells = self.grid()
        except StepEditError as exc:
            self._cells = []
            self.preview.setText(f"<span style='color:{theme.ERROR}'>{escape(str(exc))}</span>")
            self.ok.setEnabled(False)
            self.ok.setText("Render")
            return
        n = len(self._cells)
        labels = [c.label for c in self._cells]
        shown = " · ".join(escape(x) for x in labels[:8]) + (f" · … (+ {n - 8})" if n > 8 else "")
        per = self.iterations.value()
        extra = f", {per} iterations each" if per > 1 else ""
        self.preview.setText(f"<b>{n} take{'s' if n != 1 else ''}</b>{extra}: "
                             f"<span style='color:{theme.ACCENT}'>{shown}</span>")
        self.ok.setEnabled(True)
        self.ok.setText(f"Render {n} Variation{'s' if n != 1 else ''}")


class DeliverySummaryDialog(QDialog):
    """What a delivered export wrote: per file its loudness and true peak, in or out of spec."""

    COLUMNS = ("File", "Take", "Loudness", "True peak", "Rate", "Spec")

    def __init__(self, done: list[Exported], lufs: float | None, tolerance_lu: float, ceiling_db: float,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deliverySummary")
        self.setWindowTitle(f"Exported {len(done)} file{'s' if len(done) != 1 else ''}")
        self.results = done
        lay = QVBoxLayout(self)
        out = [e for e in done if e.report.in_spec is False]
        if lufs is None:
            head = f"No loudness target; true peak held at ≤ {ceiling_db:g} dBTP."
        elif out:
            head = (f"<span style='color:{theme.ERROR}'><b>{len(out)} of {len(done)} out of spec</b></span> "
                    f"({lufs:g} LUFS ±{tolerance_lu:g} LU, ≤ {ceiling_db:g} dBTP).")
        else:
            head = (f"<span style='color:{theme.ACCENT}'><b>All {len(done)} in spec</b></span>: "
                    f"{lufs:g} LUFS ±{tolerance_lu:g} LU, ≤ {ceiling_db:g} dBTP.")
        folder = done[0].path.parent if done else Path(".")
        self.header = QLabel(f"{head}<br><span style='color:{theme.TEXT_DIM}'>{escape(str(folder))}</span>")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        lay.addWidget(self.header)
        self.table = QTableWidget(len(done), len(self.COLUMNS))
        self.table.setObjectName("summaryTable")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        for row, e in enumerate(done):
            r = e.report
            why = ""
            if r.in_spec is None:
                spec, colour = "no target", theme.TEXT_DIM
            elif r.in_spec:
                spec, colour = "✓ in spec", theme.ACCENT
            else:
                why = r.note or self._why(r.loudness_lufs, r.true_peak_db, lufs, tolerance_lu, ceiling_db)
                spec, colour = "✗ " + self._short(r.loudness_lufs, r.true_peak_db, lufs, ceiling_db), theme.ERROR
            cells = (e.path.name, e.take.name, f"{r.loudness_lufs:.1f} LUFS", f"{r.true_peak_db:.1f} dBTP",
                     f"{r.rate:,} Hz".replace(",", " "), spec)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == len(cells) - 1:
                    item.setForeground(QColor(colour))
                if col in (2, 3, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(str(e.path) if col == 0 else (why or text) if col == len(cells) - 1 else text)
                self.table.setItem(row, col, item)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        hh = self.table.horizontalHeader()
        for col in range(len(self.COLUMNS)):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_btn = buttons.addButton("Open Folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_btn.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.table.setCurrentItem(None)
        buttons.button(QDialogButtonBox.StandardButton.Close).setFocus()
        self.resize(820, min(560, 150 + 30 * max(1, len(done))))

    @staticmethod
    def _short(loud: float, peak: float, lufs: float | None, ceiling: float) -> str:
        """``+0.3 dB over`` / ``-5.4 LU``: how far out, in a few characters."""
        if peak > ceiling:
            return f"{peak - ceiling:+.1f} dB over"
        if lufs is not None:
            return f"{loud - lufs:+.1f} LU"
        return "out of spec"

    @staticmethod
    def _why(loud: float, peak: float, lufs: float | None, tol: float, ceiling: float) -> str:
        if peak > ceiling:
            return f"true peak {peak - ceiling:+.1f} dB over the ceiling"
        if lufs is not None:
            return f"loudness {loud - lufs:+.1f} LU off target"
        return "out of spec"
