"""The take list: every iteration of every render, newest first.

It shows the state's takes and selection and writes the selection back: a click, the arrow
keys (when the list has focus, or Up/Down anywhere through the Edit menu) all select the same
way, and a selected take loads everywhere (A/B, diff, export, star).  Rename (F2 or
double-click; Enter commits, Esc cancels), star (S), delete (Delete) and undo/redo go to the
session's take list, whose changes come back as state events.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stepedit_app.gui import theme
from stepedit_app.session.editor import EditorState, format_seconds
from stepedit_app.session.takes import Take

ID_ROLE = Qt.ItemDataRole.UserRole


class TakesPanel(QWidget):
    """List of takes with rename / star / delete, Export, Variations and Export Starred.

    Signals
    -------
    export_requested(), variations_requested(), export_starred_requested()
    """

    export_requested = Signal()
    variations_requested = Signal()
    export_starred_requested = Signal()

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("takes")
        self.state = state
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 6)
        lay.setSpacing(4)
        title = QLabel("TAKES")
        title.setObjectName("sectionTitle")
        lay.addWidget(title)
        self.list = QListWidget()
        self.list.setObjectName("takeList")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setAlternatingRowColors(True)
        # Long request summaries end in "…" instead of a horizontal scroll bar (the tooltip
        # has them in full).
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.export_btn = QPushButton("Export…")
        self.export_btn.setToolTip("Export the selected take (Ctrl+E)")
        self.star_btn = QPushButton("★ Star")
        self.star_btn.setToolTip("Star / unstar the selected take (S)")
        self.delete_btn = QPushButton("Delete")
        self.delete_btn.setToolTip("Delete the selected take (Delete; Ctrl+Z undoes)")
        for b in (self.export_btn, self.star_btn, self.delete_btn):
            row.addWidget(b)
        row.addStretch(1)
        self.variations_btn = QPushButton("Variations…")
        self.variations_btn.setObjectName("variationsButton")
        self.variations_btn.setToolTip("Render a grid of levels or presets as takes (Ctrl+Shift+V)")
        self.export_starred_btn = QPushButton("Export ★…")
        self.export_starred_btn.setObjectName("exportStarredButton")
        self.export_starred_btn.setToolTip("Deliver every starred take (Ctrl+Shift+E)")
        row.addWidget(self.variations_btn)
        row.addWidget(self.export_starred_btn)
        lay.addLayout(row)
        self.list.itemSelectionChanged.connect(self._on_selection)
        self.list.itemChanged.connect(self._on_item_edited)
        # Esc ends a rename without an itemChanged: redraw the row in full.
        self.list.itemDelegate().closeEditor.connect(self._on_editor_closed)
        self.export_btn.clicked.connect(self.export_requested)
        self.variations_btn.clicked.connect(self.variations_requested)
        self.export_starred_btn.clicked.connect(self.export_starred_requested)
        self.star_btn.clicked.connect(self.toggle_star)
        self.delete_btn.clicked.connect(self.delete_selected)
        state.events.connect("document", self.rebuild)
        state.events.connect("takes", self._on_takes)
        state.events.connect("take", self._on_selected)
        self.rebuild()

    # --- drawing -----------------------------------------------------------------------------
    def _text(self, t: Take) -> str:
        star = "★ " if t.starred else "   "
        mark = "" if t.exported else "  •"
        return (f"{star}{t.name}{mark}\n      {t.request.summary()} · it {t.iteration}/{t.iterations} · "
                f"{t.engine} · {t.created.strftime('%H:%M:%S')} · {t.elapsed_s:.1f} s")

    def _tooltip(self, t: Take) -> str:
        rate = t.segment.rate
        a, b = t.region.start / rate, t.region.end / rate
        length = t.segment.frames / rate
        return (f"{t.summary()}\nregion {format_seconds(a)}–{format_seconds(b)} ({b - a:.3f} s; "
                f"take {length:.3f} s)\n{'exported' if t.exported else 'not exported yet'}")

    def _style(self, item: QListWidgetItem, t: Take) -> None:
        with QSignalBlocker(self.list):
            item.setText(self._text(t))
            item.setData(ID_ROLE, t.id)
            item.setToolTip(self._tooltip(t))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            f = QFont(item.font())
            f.setBold(t.starred)
            item.setFont(f)
            item.setForeground(QColor(theme.ACCENT if t.starred else theme.TEXT))

    def rebuild(self) -> None:
        with QSignalBlocker(self.list):
            self.list.clear()
            for t in reversed(self.state.takes):
                item = QListWidgetItem()
                self._style(item, t)
                self.list.addItem(item)
        self._show_selection(self.state.selected_take)

    def _item(self, take_id: int) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            it = self.list.item(i)
            if it.data(ID_ROLE) == take_id:
                return it
        return None

    def _on_takes(self, event: str, take: Take) -> None:
        self.export_starred_btn.setEnabled(any(t.starred for t in self.state.takes))
        if event == "changed":
            item = self._item(take.id)
            if item is not None:
                self._style(item, take)
                return
        self.rebuild()

    # --- selection: state <-> list -----------------------------------------------------------
    def _on_selected(self, take: Take | None) -> None:
        self._show_selection(take)

    def _show_selection(self, take: Take | None) -> None:
        item = self._item(take.id) if take is not None else None
        with QSignalBlocker(self.list):
            if item is None:
                self.list.clearSelection()
                self.list.setCurrentItem(None)
            else:
                self.list.setCurrentItem(item)
                item.setSelected(True)
                self.list.scrollToItem(item)
        for b in (self.export_btn, self.star_btn, self.delete_btn):
            b.setEnabled(take is not None)
        self.export_starred_btn.setEnabled(any(t.starred for t in self.state.takes))
        self.variations_btn.setEnabled(self.state.session is not None)

    @Slot()
    def _on_selection(self) -> None:
        items = self.list.selectedItems()
        self.state.select_take(int(items[0].data(ID_ROLE)) if items else None)

    # --- edits -------------------------------------------------------------------------------
    def rename_selected(self) -> None:
        take = self.state.selected_take
        item = self._item(take.id) if take is not None else None
        if item is None:
            return
        with QSignalBlocker(self.list):
            item.setText(take.name)
        self.list.setFocus()
        self.list.editItem(item)

    @Slot(QListWidgetItem)
    def _on_item_edited(self, item: QListWidgetItem) -> None:
        if self.state.session is None:
            return
        take = self.state.session.takes.by_id(int(item.data(ID_ROLE)))
        if take is None:
            return
        new = item.text().split("\n", 1)[0].replace("★", "").replace("•", "").strip()
        if new and new != take.name:
            self.state.session.takes.rename(take, new)
        else:
            self._style(item, take)

    @Slot()
    def _on_editor_closed(self, *_args) -> None:
        take = self.state.selected_take
        item = self._item(take.id) if take is not None else None
        if item is not None:
            self._style(item, take)

    @Slot()
    def toggle_star(self) -> None:
        take = self.state.selected_take
        if take is not None:
            self.state.session.takes.set_starred(take, not take.starred)

    @Slot()
    def delete_selected(self) -> None:
        take = self.state.selected_take
        if take is not None:
            self.state.session.takes.remove(take)
