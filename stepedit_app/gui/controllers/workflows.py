"""Workflows: recipes, the export settings they share with the export dialog, delivered
exports (one take, or every starred one) on a worker.

The export settings are the window's "delivery": the export dialog starts from them, "Save
recipe" writes them (with the current engine, sliders and iterations) and "Load recipe" sets
them, so what is exported by hand is what a batch with that recipe delivers.  A delivered
export runs :func:`~stepedit_app.session.variations.iter_export_takes` on a worker (the same
code as ``stepedit variations`` and, per line, the batch); the takes are marked exported here,
on the GUI thread, as their files are written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Signal

from stepedit_app.engines.base import CancelToken
from stepedit_app.errors import StepEditError
from stepedit_app.gui.controllers.base import Controller
from stepedit_app.gui.dialogs import DEFAULT_TEMPLATE, ExportSettings
from stepedit_app.gui.workers import Job
from stepedit_app.session.editor import EditorState, plural
from stepedit_app.session.recipe import (
    SCHEMA,
    SCHEMA_VERSION,
    Recipe,
    RecipeError,
    load_recipe,
    parse_delivery,
    recipe_from_dict,
    save_recipe,
)
from stepedit_app.session.takes import Take
from stepedit_app.session.variations import Exported, export_targets, iter_export_takes

if TYPE_CHECKING:
    from stepedit_app.gui.controllers.render import RenderController

#: Full-file delivery holds the whole file in memory several times over (float64, the
#: oversampled true-peak detector); beyond this the region alone, or an export as rendered
#: (streamed), is the way.
MAX_DELIVERY_S = 20 * 60.0


class WorkflowsController(Controller):
    """Recipes and delivered exports.

    Parameters
    ----------
    state
        The editor state.
    renderer
        The render controller (a recipe may switch the engine).
    settings
        Where the export settings are kept between sessions.

    Signals
    -------
    progress(str, float)
        What is being exported and how far (0..1); a negative fraction: done.
    exported(list)
        The :class:`~stepedit_app.session.variations.Exported` files of a finished export.
    settings_changed(object)
        The export settings changed (a recipe was loaded, an export was made).
    recipe_loaded(object), recipe_saved(object)
        The :class:`~stepedit_app.session.recipe.Recipe` applied; the path written.
    """

    progress = Signal(str, float)
    exported = Signal(list)
    settings_changed = Signal(object)
    recipe_loaded = Signal(object)
    recipe_saved = Signal(object)

    def __init__(self, state: EditorState, renderer: RenderController, settings: QSettings, parent=None) -> None:
        super().__init__(state, parent)
        self.renderer = renderer
        self.qsettings = settings
        self._job: Job | None = None
        self._cancel = CancelToken()

    @property
    def exporting(self) -> bool:
        return self._job is not None and self._job.running

    # --- export settings ---------------------------------------------------------------------
    def default_folder(self) -> Path:
        st = self.state
        if st.clip is not None and st.clip.path is not None:
            return Path(st.clip.path).parent
        return Path.home()

    def export_settings(self) -> ExportSettings:
        """The last export's settings (or a loaded recipe's); defaults where none were kept or
        the kept ones no longer validate."""
        q = self.qsettings
        folder = Path(str(q.value("export_folder", "") or self.default_folder()))
        template = str(q.value("export_template", DEFAULT_TEMPLATE) or DEFAULT_TEMPLATE)
        text = q.value("export_delivery", "")
        if text:
            try:
                d = json.loads(str(text))
                d["naming"] = template
                return ExportSettings.from_delivery(parse_delivery(d), folder)
            except (ValueError, TypeError, StepEditError):
                pass  # settings of another version: start from the defaults
        st = self.state
        depth = st.clip.subtype if st.clip is not None and st.clip.subtype in ("PCM_16", "PCM_24", "FLOAT") else "PCM_24"
        return ExportSettings(folder, template, subtype=depth)

    def set_export_settings(self, s: ExportSettings) -> None:
        """Keep ``s`` for the next export (raises :class:`RecipeError` for invalid ones)."""
        d = s.delivery().to_dict()
        d.pop("naming")
        self.qsettings.setValue("export_folder", str(s.folder))
        self.qsettings.setValue("export_template", s.template)
        self.qsettings.setValue("export_delivery", json.dumps(d))
        self.settings_changed.emit(s)

    # --- recipes -----------------------------------------------------------------------------
    def recipe(self, settings: ExportSettings | None = None, name: str = "") -> Recipe:
        """A recipe of the current engine, sliders and iterations and ``settings`` (default:
        the kept export settings).  Raises :class:`RecipeError` naming the field."""
        st = self.state
        s = settings or self.export_settings()
        request = {k: v for k, v in st.request().to_dict().items() if k != "transcript"}
        return recipe_from_dict({"schema": SCHEMA, "version": SCHEMA_VERSION, "name": name, "engine": st.engine_name,
                                 "request": request, "delivery": s.delivery_dict()})

    def save_recipe(self, path: str | Path, settings: ExportSettings | None = None) -> bool:
        """Write a recipe (see :meth:`recipe`) to ``path``; errors go to :attr:`failed`."""
        path = Path(path)
        if path.suffix.lower() != ".json":
            path = path.with_name(path.name + ".json")
        try:
            recipe = self.recipe(settings, name=path.stem.replace("_", " "))
            save_recipe(recipe, path)
        except StepEditError as exc:
            self.failed.emit("Cannot save the recipe", exc)
            return False
        self.status.emit(f"recipe saved: {path} — {self.describe(recipe)}")
        self.recipe_saved.emit(path)
        return True

    def load_recipe(self, path: str | Path) -> bool:
        """Read a recipe and apply it: engine, sliders and iterations (one undo step), and the
        export settings.  A recipe that does not validate, or asks for an engine or controls
        this machine cannot use, changes nothing and is reported in one line."""
        try:
            recipe = load_recipe(path)
        except RecipeError as exc:
            self.failed.emit("Cannot load the recipe", exc)
            return False
        return self.apply_recipe(recipe, Path(path).name)

    def apply_recipe(self, recipe: Recipe, label: str = "recipe") -> bool:
        st = self.state
        old_engine = st.engine_name
        if recipe.engine != old_engine and not self.renderer.set_engine(recipe.engine):
            return False  # the render controller said why
        try:
            st.apply_request(recipe.request, f"load recipe {label}")
        except StepEditError as exc:
            if recipe.engine != old_engine:
                self.renderer.set_engine(old_engine)
            self.failed.emit("Cannot load the recipe", RecipeError(f"{label}: request: {exc}"))
            return False
        current = self.export_settings()
        self.set_export_settings(ExportSettings.from_delivery(recipe.delivery, current.folder))
        self.status.emit(f"recipe loaded: {label} — {self.describe(recipe)}")
        self.recipe_loaded.emit(recipe)
        return True

    @staticmethod
    def describe(recipe: Recipe) -> str:
        """``prosody, angry 50 % (2 iterations); ASWG-R001 home console: -24 LUFS ...``."""
        s = ExportSettings.from_delivery(recipe.delivery, Path("."))
        return (f"{recipe.engine}, {recipe.request.summary()} ({plural(recipe.request.iterations, 'iteration')}); "
                f"{s.describe()}")

    # --- export ------------------------------------------------------------------------------
    def targets(self, settings: ExportSettings, takes: list[Take]) -> list[Path]:
        """The files an export of ``takes`` with ``settings`` writes (nothing is written).
        Raises :class:`StepEditError` for a template that cannot be used or that gives two
        takes one name."""
        clip = self.state.clip
        if clip is None:
            return []
        return export_targets(clip, takes, settings.delivery(), settings.folder)

    def export(self, takes: list[Take], settings: ExportSettings, label: str = "",
               on_finished: Callable[[list[Exported]], None] | None = None) -> bool:
        """Deliver ``takes`` with ``settings`` on a worker (as a batch would); :attr:`exported`
        (and ``on_finished``) with the files when done, :attr:`failed` with one line
        otherwise.  Returns False when it did not start (said why)."""
        st = self.state
        clip = st.clip
        if clip is None or not takes:
            return False
        if self.exporting:
            self.status.emit("An export is running; wait for it to finish.")
            return False
        try:
            delivery = settings.delivery()
            if delivery.scope == "full" and clip.duration > MAX_DELIVERY_S:
                raise StepEditError(
                    f"{clip.name} is {clip.duration / 60:.0f} minutes long: delivering the whole file is limited to "
                    f"{MAX_DELIVERY_S / 60:.0f} minutes; export the region alone, or as rendered (no loudness, "
                    "rate, trim or padding)")
            settings.folder.mkdir(parents=True, exist_ok=True)
            export_targets(clip, takes, delivery, settings.folder)  # names checked before any work
        except OSError as exc:
            self.failed.emit("Export failed", StepEditError(
                f"{settings.folder}: cannot create the export folder ({exc.strerror or exc})"))
            return False
        except StepEditError as exc:
            self.failed.emit("Export failed", exc)
            return False
        label = label or (f"exporting {plural(len(takes), 'take')}")
        total = len(takes)
        done: list[Exported] = []
        cancel = self._cancel = CancelToken()

        def on_file(e: Exported) -> None:
            done.append(e)
            if st.session is not None and not e.take.exported and st.session.takes.by_id(e.take.id) is e.take:
                st.session.takes.mark_exported(e.take)
            self.progress.emit(label, len(done) / total)

        def on_error(exc: BaseException) -> None:
            if done and isinstance(exc, StepEditError):
                exc = StepEditError(f"{exc} ({len(done)} of {plural(total, 'file')} written before)")
            self.failed.emit("Export failed", exc)

        def on_return(_result) -> None:
            self.status.emit(self.summary_line(done))
            self.exported.emit(list(done))
            if on_finished is not None:
                on_finished(list(done))

        def on_done() -> None:
            self._job = None
            self.progress.emit("", -1.0)

        self.progress.emit(label, 0.0)
        self._job = self.pool.job(lambda: iter_export_takes(clip, takes, delivery, settings.folder, cancel=cancel),
                                  name="deliver", cancel=cancel, on_yield=on_file, on_return=on_return,
                                  on_error=on_error, on_done=on_done)
        return True

    def cancel(self) -> None:
        self._cancel.cancel()

    @staticmethod
    def summary_line(done: list[Exported]) -> str:
        """``exported 3 files to DIR: all in spec`` / ``...: 1 out of spec`` / one file's figures."""
        if not done:
            return "nothing exported"
        if len(done) == 1:
            e = done[0]
            r = e.report
            spec = "" if r.in_spec is None else ("  in spec" if r.in_spec else "  OUT OF SPEC")
            return (f"exported {e.path} — {r.loudness_lufs:.1f} LUFS, {r.true_peak_db:.1f} dBTP, "
                    f"{r.rate} Hz{spec}")
        out = sum(1 for e in done if e.report.in_spec is False)
        judged = any(e.report.in_spec is not None for e in done)
        tail = "" if not judged else (": all in spec" if out == 0 else f": {out} out of spec")
        return f"exported {plural(len(done), 'file')} to {done[0].path.parent}{tail}"
