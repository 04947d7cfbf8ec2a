"""Cancel points for long DSP steps.

Analysis and synthesis functions take an optional ``cancel`` argument: a
:class:`~stepedit_app.engines.base.CancelToken` (anything with a ``check()`` method that raises
:class:`~stepedit_app.errors.Cancelled`), an object with a ``cancelled`` flag, or a plain
callable that returns True once the work should stop.  They call :func:`checkpoint` between
blocks of bounded work (tens of milliseconds), so a cancel is honoured promptly on long clips.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepedit_app.errors import Cancelled

CancelLike = Callable[[], bool] | Any | None


def checkpoint(cancel: CancelLike) -> None:
    """Raise :class:`Cancelled` if ``cancel`` says the work should stop (None: never)."""
    if cancel is None:
        return
    check = getattr(cancel, "check", None)
    if callable(check):
        check()
        return
    flag = getattr(cancel, "cancelled", None)
    if flag is not None and not callable(flag):
        if flag:
            raise Cancelled()
        return
    if callable(cancel) and cancel():
        raise Cancelled()
