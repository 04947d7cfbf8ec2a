"""Keys as in audio editors: transport keys work whatever has focus, except text entry.

Qt lets the focused widget claim a key before the window's shortcuts see it (a
``ShortcutOverride`` event): a spin box claims Space and letters, a button claims Space, and
Tab moves the focus.  In an audio editor Space, L and Tab mean play, loop and A/B wherever
the focus is, so this filter decides instead of the widget:

- in *text entry* (a line edit, the transcript, a take being renamed) every plain key belongs
  to the field: typing "l" or a space types it, Tab moves on, Esc ends the edit;
- elsewhere (sliders, percent boxes, buttons, lists, the views) plain letters, Space and Tab
  go to the window's shortcuts; arrow keys stay with widgets that use them (a slider, a
  percent box, a list).

A percent box is not text entry: only digits can be typed there, so Space and L are free.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QKeySequenceEdit,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

#: Keys the window's shortcuts get even when a non-text widget has the focus.
TRANSPORT_KEYS = {Qt.Key.Key_Space, Qt.Key.Key_Tab} | {getattr(Qt.Key, f"Key_{c}") for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
#: Keys that widgets which navigate or step keep for themselves.
NAVIGATION_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_PageUp,
                   Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End}
_COMMAND_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                      | Qt.KeyboardModifier.MetaModifier)


def is_text_entry(widget: QWidget | None) -> bool:
    """True for widgets where keys type text (a spin box's number field is not)."""
    w = widget
    while w is not None:
        if isinstance(w, QAbstractSpinBox):
            return False
        w = w.parentWidget()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, (QLineEdit, QTextEdit, QPlainTextEdit, QKeySequenceEdit))


def _uses_navigation(widget: QWidget | None) -> bool:
    w = widget
    while w is not None:
        if isinstance(w, (QAbstractSpinBox, QAbstractSlider, QComboBox, QAbstractItemView)):
            return True
        w = w.parentWidget()
    return False


class KeyRouter(QObject):
    """Application event filter deciding who gets a key in ``window`` (see module doc)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        QApplication.instance().installEventFilter(self)

    def detach(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt API
        if ev.type() != QEvent.Type.ShortcutOverride:
            return False
        focus = QApplication.focusWidget()
        if focus is None or focus.window() is not self.window:
            return False
        if ev.modifiers() & _COMMAND_MODIFIERS:
            return False  # Ctrl/Alt shortcuts work everywhere, as before
        key = ev.key()
        if is_text_entry(focus):
            ev.accept()  # the field gets the key; no shortcut fires
            return True
        if key in TRANSPORT_KEYS:
            ev.ignore()  # not claimed by the widget: the window's shortcut fires
            return True
        if key in NAVIGATION_KEYS and _uses_navigation(focus):
            ev.accept()  # a slider or a percent box steps, a list moves
            return True
        return False
