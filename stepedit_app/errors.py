"""Errors that reach the user as one clear line.

Every error the user can cause (a bad file, a bad control value, a region outside the clip)
is a :class:`StepEditError`; its ``str()`` is the single line shown on the command line or in
the GUI's error dialog.  The command line exits 2 for those, and 1 for an
:class:`EngineError` (the engine failed or returned unusable audio), an
:class:`AudioWriteError` (the system refused a write) and anything else, which is a bug: one
line there too, with the details saved to a report file.
"""

from __future__ import annotations


class StepEditError(Exception):
    """Base class of errors whose message is meant for the user."""


class AudioInputError(StepEditError):
    """A file could not be read as usable audio."""


class AudioOutputError(StepEditError):
    """An export could not be written (the source is never touched)."""


class AudioWriteError(AudioOutputError):
    """The system stopped a write part way (no space, file too large, I/O error); the target is
    unchanged.  Not the user's input: the command line exits 1."""


class ReadOnlyOutputError(AudioOutputError):
    """The export target exists and is read-only (replaced only when forced)."""


class RegionError(StepEditError):
    """A region is empty, outside the clip, or too short to edit."""


class RequestError(StepEditError):
    """An edit request names an unknown control or an out-of-range value."""


class EngineError(StepEditError):
    """An engine failed or is unavailable; the session stays intact."""


class EngineUnavailable(EngineError):
    """The engine cannot run on this machine (missing weights, GPU, package)."""


class Cancelled(Exception):
    """Raised inside a render when the user cancelled it (not an error)."""
