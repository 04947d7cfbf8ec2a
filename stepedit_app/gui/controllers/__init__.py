"""Thin Qt controllers between :class:`~stepedit_app.session.editor.EditorState` and the work
that must not run on the GUI thread.

Each controller owns its workers (a :class:`~stepedit_app.gui.workers.WorkerPool`), subscribes
to the state's change events, writes results back to the state on the GUI thread, and reports
through two signals every controller has: ``status(str)`` (a line for the status bar) and
``failed(str, object)`` (a dialog title and the exception).  None of them lays out widgets.

- :mod:`.documents`: open audio and projects, save, autosave, recovery, export;
- :mod:`.render`: renders (latest wins), auto-render, takes published on the GUI thread;
- :mod:`.playback`: the player, transport, A/B, loop audition, the playhead;
- :mod:`.analysis`: spectrograms (whole file, the take as heard, zoomed detail) and diffs.

New features slot in as more controllers or methods on these (variations and "export
starred" in render/documents, an engine's setup in an engine-specific panel; see
:mod:`stepedit_app.gui.engine_panels`), with their menu items added by the window.
"""
