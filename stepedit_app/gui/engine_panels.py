"""Engine-specific widgets in the controls panel, found by engine name.

An engine whose controls are more than sliders (the GPU engine's setup button and model
status, a paralinguistic-tag picker) registers a factory here; the controls panel places the
widget under the engine selector whenever that engine is chosen and removes it when another
is.  The widget writes to the :class:`~stepedit_app.session.editor.EditorState` like every
other control.  The embedded engine needs none.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from stepedit_app.session.editor import EditorState

PanelFactory = Callable[[EditorState, QWidget], QWidget]

_PANELS: dict[str, PanelFactory] = {}


def register(engine: str, factory: PanelFactory) -> None:
    """Show ``factory(state, parent)`` in the controls panel while ``engine`` is selected."""
    _PANELS[engine] = factory


def unregister(engine: str) -> None:
    _PANELS.pop(engine, None)


def create(engine: str, state: EditorState, parent: QWidget) -> QWidget | None:
    factory = _PANELS.get(engine)
    return factory(state, parent) if factory is not None else None
