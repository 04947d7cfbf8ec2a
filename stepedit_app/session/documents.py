"""Opening what the editor edits: an audio file, or a project with its source and takes.

Both are generators that yield progress (0..1) and return the opened document, so the window
runs them on a worker (with a progress bar and a cancel token) and the command line iterates
them directly.  They are the one place the open path lives: a streaming reader for long files
(a file-backed clip with its peak pyramid built in the same pass) replaces the body of
:func:`open_audio` without changing its callers.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

from stepedit_app.audio.clip import Clip
from stepedit_app.audio.io import read_clip
from stepedit_app.audio.peaks import PeakPyramid
from stepedit_app.engines.base import CancelToken
from stepedit_app.session.project import ProjectFile, SourceCheck, check_source, load_takes, read_project
from stepedit_app.session.storage import file_sha256
from stepedit_app.session.takes import Take


@dataclass
class OpenedAudio:
    """A clip ready for the window: samples, peak pyramid, and the source file's hash."""

    clip: Clip
    peaks: PeakPyramid
    sha256: str


@dataclass
class OpenedProject:
    """A project ready for the window (its audio opened, its takes read and verified)."""

    file: ProjectFile
    audio: OpenedAudio
    takes: list[Take]
    #: Takes that could not be restored, one line each (the others are kept).
    problems: list[str] = field(default_factory=list)
    #: How the source was found ("ok", or "changed" when the user chose to open anyway).
    source: SourceCheck | None = None


@dataclass
class SourceProblem:
    """The project's source was moved or changed: the window asks the user what to do."""

    file: ProjectFile
    check: SourceCheck


def open_audio(path: str | Path, cancel: CancelToken | None = None) -> Generator[float, None, OpenedAudio]:
    """Read ``path``, hash it and build its peak pyramid; yields progress.

    Raises :class:`~stepedit_app.errors.AudioInputError` (one line) for unreadable audio and
    :class:`~stepedit_app.errors.Cancelled` when ``cancel`` is set.
    """
    cancel = cancel or CancelToken()
    yield 0.0
    clip = read_clip(path)
    yield 0.5
    cancel.check()
    sha = file_sha256(clip.path)
    yield 0.7
    cancel.check()
    peaks = PeakPyramid(clip.samples)
    yield 1.0
    return OpenedAudio(clip, peaks, sha)


def open_project(path: str | Path, cancel: CancelToken | None = None, *, source: Path | None = None,
                 accept_changed: bool = False) -> Generator[float, None, OpenedProject | SourceProblem]:
    """Read a project, find and check its source (``source``: a file the user located), open
    it and read the takes back bit for bit; yields progress.

    Returns :class:`SourceProblem` instead when the source is missing, or changed and
    ``accept_changed`` is false.  Raises :class:`~stepedit_app.session.project.ProjectError`
    for an unreadable project.
    """
    cancel = cancel or CancelToken()
    pf = read_project(path)
    yield 0.05
    check = check_source(pf, source)
    cancel.check()
    if check.status == "missing" or (check.status == "changed" and not accept_changed):
        return SourceProblem(pf, check)
    gen = open_audio(check.path, cancel)
    while True:
        try:
            f = next(gen)
        except StopIteration as stop:
            audio = stop.value
            break
        yield 0.05 + 0.6 * f
    cancel.check()
    takes, problems = load_takes(pf, audio.clip)
    yield 1.0
    return OpenedProject(pf, audio, takes, problems, check)
