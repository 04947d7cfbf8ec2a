"""Engine-specific parts of the window, found by engine name.

An engine whose controls are more than sliders (the GPU engine's setup, model status and
one-shot actions) registers here:

- a **panel** factory: the controls panel places the widget under the engine selector whenever
  that engine is chosen and removes it when another is.  The widget writes to the
  :class:`~stepedit_app.session.editor.EditorState` like every other control;
- an **intensity** note: what a slider's percentage means for this engine (shown under the
  engine selector and in every slider's tooltip);
- **devices**: the devices the engine may run on, with a tooltip.  By default the window offers
  CUDA only when the editor's own torch sees a GPU; an engine that runs in another process
  (the GPU belongs to its worker) says which devices it has instead;
- **setup**: whether the window can set the engine up.  Such an engine stays selectable while
  it is unavailable (not configured, or its configuration broke): picking it asks the render
  controller for a setup (its ``setup_wanted`` signal, which the engine's installer answers with
  a dialog) instead of refusing;
- **tag descriptions**: what each paralinguistic tag of the engine's capabilities sounds like,
  and which spelling group it belongs to (the transcript's tag picker shows them).

Window-level features (menus, controllers) are added by an installer: :data:`BUILTIN` names
the installers of the built-in engines, imported only when a window starts.  The embedded
engine needs none of this.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QWidget

from stepedit_app.engines.base import Capabilities
from stepedit_app.session.editor import EditorState

PanelFactory = Callable[[EditorState, QWidget], QWidget]


@dataclass
class EngineUI:
    """What the window shows for one engine besides its sliders (every field optional)."""

    panel: PanelFactory | None = None
    #: What an intensity means for this engine: the part up to a "|" is shown under the engine
    #: selector, all of it in the sliders' tooltips.
    intensity: str = ""
    #: ``devices(caps) -> ([device, ...], tooltip)``.
    devices: Callable[[Capabilities], tuple[list[str], str]] | None = None
    #: The window can set this engine up (see the module notes).
    setup: bool = False
    #: ``describe(tag) -> (meaning, group)`` for the tag picker.
    describe_tag: Callable[[str], tuple[str, str]] | None = None


_UI: dict[str, EngineUI] = {}

#: Installers of the built-in engines' window parts: engine name -> "module:function(window)".
BUILTIN: dict[str, str] = {
    "step-audio-editx": "stepedit_app.gui.step_audio:install",
}


def register(engine: str, factory: PanelFactory) -> None:
    """Show ``factory(state, parent)`` in the controls panel while ``engine`` is selected."""
    ui(engine, create=True).panel = factory


def unregister(engine: str) -> None:
    """Forget the panel of ``engine`` (its other hooks stay)."""
    if engine in _UI:
        _UI[engine].panel = None


def register_ui(engine: str, spec: EngineUI) -> None:
    """Register every window hook of ``engine`` at once (replacing earlier ones)."""
    _UI[engine] = spec


def ui(engine: str, create: bool = False) -> EngineUI | None:
    """The hooks registered for ``engine`` (None when there are none and ``create`` is false)."""
    if create and engine not in _UI:
        _UI[engine] = EngineUI()
    return _UI.get(engine)


def create(engine: str, state: EditorState, parent: QWidget) -> QWidget | None:
    spec = _UI.get(engine)
    return spec.panel(state, parent) if spec is not None and spec.panel is not None else None


def install_builtin(window) -> list[object]:
    """Run the built-in engines' installers for ``window``; returns what they return (their
    controllers, which the window shuts down with its own)."""
    out = []
    for target in BUILTIN.values():
        module, attr = target.split(":")
        result = getattr(importlib.import_module(module), attr)(window)
        if result is not None:
            out.append(result)
    return out
