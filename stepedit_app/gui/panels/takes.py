"""The take list: every iteration of every render, newest first.

Changes come from the session's :class:`~stepedit_app.session.takes.TakeList` as
``(event, take)`` pairs, delivered on the GUI thread by the window's bridge signal (renders add
takes on the worker thread).  Rename (F2 or double-click), star (S), delete (Delete) and
undo/redo go to the TakeList; the list redraws from its events.
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
from stepedit_app.session.takes import Take, TakeList

ID_ROLE = Qt.ItemDataRole.UserRole


class TakesPanel(QWidget):
    """List of takes with rename / star / delete and an Export button."""

    #: Selected take id, or -1 for none (the original).
    selection_changed = Signal(int)
    export_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("takes")
        self.takes: TakeList | None = None
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
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.export_btn = QPushButton("Export…")
        self.export_btn.setToolTip("Export the selected take (Ctrl+E)")
        self.export_btn.setEnabled(False)
        self.star_btn = QPushButton("★ Star")
        self.star_btn.setToolTip("Star / unstar the selected take (S)")
        self.delete_btn = QPushButton("Delete")
        self.delete_btn.setToolTip("Delete the selected take (Delete; Ctrl+Z undoes)")
        for b in (self.export_btn, self.star_btn, self.delete_btn):
            row.addWidget(b)
        lay.addLayout(row)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemChanged.connect(self._on_item_edited)
        self.export_btn.clicked.connect(self.export_clicked)
        self.star_btn.clicked.connect(self.toggle_star)
        self.delete_btn.clicked.connect(self.delete_selected)

    def set_takes(self, takes: TakeList | None) -> None:
        self.takes = takes
        self.rebuild()

    # --- drawing -----------------------------------------------------------------------------
    def _text(self, t: Take) -> str:
        star = "★ " if t.starred else "   "
        mark = "" if t.exported else "  •"
        return (f"{star}{t.name}{mark}\n      {t.request.summary()} · it {t.iteration}/{t.iterations} · "
                f"{t.engine} · {t.created.strftime('%H:%M:%S')} · {t.elapsed_s:.1f} s")

    def _style(self, item: QListWidgetItem, t: Take) -> None:
        with QSignalBlocker(self.list):
            item.setText(self._text(t))
            item.setData(ID_ROLE, t.id)
            item.setToolTip(f"{t.summary()}\nregion {t.region.start}–{t.region.end} frames\n"
                            f"{'exported' if t.exported else 'not exported yet'}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            f = QFont(item.font())
            f.setBold(t.starred)
            item.setFont(f)
            if t.starred:
                item.setForeground(QColor(theme.ACCENT))
            else:
                item.setForeground(QColor(theme.TEXT))

    def rebuild(self) -> None:
        keep = self.selected_id()
        with QSignalBlocker(self.list):
            self.list.clear()
            if self.takes is not None:
                for t in reversed(list(self.takes)):
                    item = QListWidgetItem()
                    self._style(item, t)
                    self.list.addItem(item)
        self.select(keep, emit=False)
        self._update_buttons()

    def _item(self, take_id: int) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            it = self.list.item(i)
            if it.data(ID_ROLE) == take_id:
                return it
        return None

    @Slot(str, object)
    def on_take_event(self, event: str, take: Take) -> None:
        """TakeList event (on the GUI thread)."""
        if event == "changed":
            item = self._item(take.id)
            if item is not None:
                self._style(item, take)
                return
        before = self.selected_id()
        self.rebuild()
        if event == "removed" and before == take.id:
            # Select the neighbour so arrow-key auditioning continues.
            if self.list.count():
                self.list.setCurrentRow(0)
            else:
                self.selection_changed.emit(-1)

    # --- selection ---------------------------------------------------------------------------
    def selected_id(self) -> int:
        item = self.list.currentItem()
        return int(item.data(ID_ROLE)) if item is not None and item.isSelected() else -1

    def selected_take(self) -> Take | None:
        tid = self.selected_id()
        return self.takes.by_id(tid) if (self.takes is not None and tid >= 0) else None

    def select(self, take_id: int, emit: bool = True) -> None:
        item = self._item(take_id) if take_id >= 0 else None
        if not emit:
            with QSignalBlocker(self.list):
                self.list.setCurrentItem(item) if item else self.list.clearSelection()
            self._update_buttons()
            return
        if item is None:
            self.list.clearSelection()
            self.list.setCurrentItem(None)
        else:
            self.list.setCurrentItem(item)

    def step(self, delta: int) -> None:
        """Move the selection by ``delta`` rows (arrow keys)."""
        n = self.list.count()
        if not n:
            return
        row = self.list.currentRow()
        row = 0 if row < 0 else max(0, min(n - 1, row + delta))
        self.list.setCurrentRow(row)

    @Slot()
    def _on_current(self, *_args) -> None:
        self._update_buttons()
        self.selection_changed.emit(self.selected_id())

    def _update_buttons(self) -> None:
        has = self.selected_id() >= 0
        for b in (self.export_btn, self.star_btn, self.delete_btn):
            b.setEnabled(has)

    # --- edits -------------------------------------------------------------------------------
    def rename_selected(self) -> None:
        item = self.list.currentItem()
        take = self.selected_take()
        if item is None or take is None:
            return
        with QSignalBlocker(self.list):
            item.setText(take.name)
        self.list.editItem(item)

    @Slot(QListWidgetItem)
    def _on_item_edited(self, item: QListWidgetItem) -> None:
        if self.takes is None:
            return
        take = self.takes.by_id(int(item.data(ID_ROLE)))
        if take is None:
            return
        new = item.text().split("\n", 1)[0].replace("★", "").replace("•", "").strip()
        if new and new != take.name:
            self.takes.rename(take, new)
        else:
            self._style(item, take)

    def rename(self, take: Take, name: str) -> None:
        if self.takes is not None:
            self.takes.rename(take, name)

    @Slot()
    def toggle_star(self) -> None:
        take = self.selected_take()
        if take is not None and self.takes is not None:
            self.takes.set_starred(take, not take.starred)

    @Slot()
    def delete_selected(self) -> None:
        take = self.selected_take()
        if take is not None and self.takes is not None:
            self.takes.remove(take)
