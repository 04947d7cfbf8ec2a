"""Engines by name.

Built-in engines are listed as ``name -> "module:Class"`` and imported only when asked for, so
``stepedit engines`` or the window's engine list never pay for importing an engine's
dependencies before they are needed, and this module imports no engine (no import cycle with
:mod:`stepedit_app.engines.base`).  Third-party code may :func:`register` more.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from stepedit_app.engines.base import Engine
from stepedit_app.errors import EngineUnavailable, RequestError

DEFAULT_ENGINE = "prosody"

#: Built-in engines: registered name -> "module:attribute" of the engine class.
BUILTIN: dict[str, str] = {
    "prosody": "stepedit_app.engines.prosody.engine:ProsodyEngine",
    "step-audio-editx": "stepedit_app.engines.step_audio.engine:StepAudioEngine",
}

_REGISTRY: dict[str, Callable[[], Engine]] = {}


def register(name: str, factory: Callable[[], Engine]) -> None:
    """Make ``factory`` (an :class:`Engine` subclass or a callable returning one) available as ``name``."""
    _REGISTRY[name] = factory


def engine_names() -> list[str]:
    """Every engine name, built-ins first."""
    return list(dict.fromkeys([*BUILTIN, *_REGISTRY]))


def engine_class(name: str):
    """The class (or factory) registered as ``name``; one line if unknown."""
    if name not in _REGISTRY and name in BUILTIN:
        module, attr = BUILTIN[name].split(":")
        _REGISTRY[name] = getattr(importlib.import_module(module), attr)
    if name not in _REGISTRY:
        raise RequestError(f"engine {name!r} is unknown (allowed: {', '.join(engine_names())})")
    return _REGISTRY[name]


def create_engine(name: str = DEFAULT_ENGINE) -> Engine:
    """Instantiate a registered engine, raising one line if it cannot run here."""
    cls = engine_class(name)
    ok, reason = cls.availability()
    if not ok:
        raise EngineUnavailable(f"engine {name!r} is not available: {reason}")
    return cls()
