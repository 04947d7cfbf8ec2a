"""The window's workflow commands: Export (one take, or every starred take, through the
delivery settings), Render Variations, Save / Load Recipe — their menu, buttons and dialogs.

The work is done by the controllers (:class:`~stepedit_app.gui.controllers.workflows.
WorkflowsController` for recipes and delivered exports, :class:`~stepedit_app.gui.controllers.
render.RenderController` for the grid, :class:`~stepedit_app.gui.controllers.documents.
DocumentsController` for a take written as rendered); this class asks the user what to do and
shows what happened.  Dialogs open window-modal without blocking (:meth:`QDialog.open`), so the
loop keeps playing while a dialog is up; the last one is :attr:`MainWindow.last_dialog`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QDialog, QFileDialog

from stepedit_app.errors import StepEditError
from stepedit_app.gui.dialogs import ExportDialog, ExportSettings
from stepedit_app.gui.dialogs_workflows import DEFAULT_LEVELS, DeliverySummaryDialog, VariationsDialog
from stepedit_app.session.presets import list_presets, preset_slug, read_preset
from stepedit_app.session.takes import Take
from stepedit_app.session.variations import Exported, Preset

if TYPE_CHECKING:
    from stepedit_app.gui.main_window import MainWindow

RECIPE_FILTER = "StepEdit recipes (*.json);;All files (*)"


class WorkflowActions(QObject):
    """Export, Export Starred, Render Variations, Save / Load Recipe for ``window``."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window

    # --- menu and buttons --------------------------------------------------------------------
    def build_menu(self) -> None:
        """The Workflows menu; Export Starred also goes next to Export Take in the File menu."""
        w = self.w
        add, m = w.add_action, "&Workflows"
        add(m, "variations", "Render &Variations…", self.variations_dialog, "Ctrl+Shift+V",
            tip="Render a grid of levels or presets of the region as takes")
        add(m, "export_starred", "Export &Starred…", self.export_starred_dialog, "Ctrl+Shift+E",
            tip="Deliver every starred take (loudness, format, trim, padding)")
        w.menus[m].addSeparator()
        add(m, "save_recipe", "Save &Recipe…", self.save_recipe_dialog,
            tip="The engine, sliders, iterations and export settings as a recipe for the batch")
        add(m, "load_recipe", "&Load Recipe…", self.load_recipe_dialog,
            tip="Set the engine, sliders, iterations and export settings from a recipe")
        file_menu = w.menus["&File"]
        actions = file_menu.actions()
        file_menu.insertAction(actions[actions.index(w.actions["export"]) + 1], w.actions["export_starred"])
        panel = w.takes_panel
        panel.variations_requested.connect(self.variations_dialog)
        panel.export_starred_requested.connect(self.export_starred_dialog)
        w.renderer.grid_started.connect(w.controls.label_progress)
        w.workflows.progress.connect(w._on_progress)
        st = w.state
        st.events.connect("takes", lambda _ev, _take: self.update_actions())
        st.events.connect("document", self.update_actions)
        self.update_actions()

    def update_actions(self) -> None:
        st, a = self.w.state, self.w.actions
        a["export_starred"].setEnabled(any(t.starred for t in st.takes))
        a["variations"].setEnabled(st.session is not None)

    def _open(self, dlg: QDialog) -> QDialog:
        """Open ``dlg`` window-modal without blocking (playback and renders go on)."""
        self.w.last_dialog = dlg
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # Back to the window when it closes (not every platform reactivates the parent), so
        # Esc, Space and the arrows work at once on the render it may have started.
        dlg.finished.connect(lambda _r: self.w.activateWindow())
        dlg.open()
        return dlg

    # --- export ------------------------------------------------------------------------------
    @Slot()
    def export_dialog(self) -> ExportDialog | None:
        """Export the selected take: the dialog opens with the kept export settings."""
        w, st = self.w, self.w.state
        take = st.selected_take
        if take is None or st.clip is None:
            w.show_status("Select a take to export.")
            return None
        wf = w.workflows
        dlg = ExportDialog(wf.export_settings(), lambda s: [p.name for p in wf.targets(s, [take])], w,
                           source_rate=st.clip.rate)
        dlg.accepted.connect(lambda: self.export_take(dlg.settings(), take))
        dlg.recipe_requested.connect(self.save_recipe_dialog)
        return self._open(dlg)

    def export_take(self, settings: ExportSettings, take: Take | None = None) -> bool:
        """Export ``take`` (default: the selected one) on a worker; errors -> dialog.

        As rendered (no loudness, rate, trim or padding) it is written as is; otherwise it is
        delivered as a batch with these settings would deliver it.
        """
        w, st = self.w, self.w.state
        take = take or st.selected_take
        if take is None or st.clip is None:
            return False
        wf = w.workflows
        try:
            wf.set_export_settings(settings)
            if settings.processed:
                return wf.export([take], settings, f"exporting {take.name}")
            path = wf.targets(settings, [take])[0]
            settings.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            w.show_error("Export failed", StepEditError(
                f"{settings.folder}: cannot create the export folder ({exc.strerror or exc})"))
            return False
        except StepEditError as exc:
            w.show_error("Export failed", exc)
            return False
        w.documents.export(take, path, subtype=settings.subtype, scope=settings.scope, lufs=None,
                           true_peak_db=settings.true_peak_db)
        return True

    @Slot()
    def export_starred_dialog(self) -> ExportDialog | None:
        """Deliver every starred take: the export dialog for all of them, then a summary."""
        w, st = self.w, self.w.state
        starred = [t for t in st.takes if t.starred]
        if st.clip is None or not starred:
            w.show_status("No starred takes: star the keepers with S, then Export Starred.")
            return None
        wf = w.workflows
        dlg = ExportDialog(wf.export_settings(), lambda s: [p.name for p in wf.targets(s, starred)], w,
                           source_rate=st.clip.rate, count=len(starred))
        dlg.accepted.connect(lambda: self.export_starred(dlg.settings(), starred))
        dlg.recipe_requested.connect(self.save_recipe_dialog)
        return self._open(dlg)

    def export_starred(self, settings: ExportSettings, takes: list[Take] | None = None) -> bool:
        """Deliver ``takes`` (default: every starred take) on a worker; when done, a summary
        lists each file's loudness and true peak, in or out of spec."""
        w = self.w
        takes = takes if takes is not None else [t for t in w.state.takes if t.starred]
        if not takes:
            w.show_status("No starred takes: star the keepers with S, then Export Starred.")
            return False
        wf = w.workflows
        try:
            wf.set_export_settings(settings)
        except StepEditError as exc:
            w.show_error("Export failed", exc)
            return False

        def show(done: list[Exported]) -> None:
            if done:
                self._open(DeliverySummaryDialog(done, settings.lufs, settings.tolerance_lu, settings.true_peak_db, w))

        return wf.export(list(takes), settings, f"exporting {len(takes)} starred takes", on_finished=show)

    # --- variations --------------------------------------------------------------------------
    @Slot()
    def variations_dialog(self) -> VariationsDialog | None:
        """Render variations: a grid of levels (and presets) of the region, as takes."""
        w, st = self.w, self.w.state
        if st.session is None or st.capabilities is None:
            w.show_status("Open a file first.")
            return None
        try:
            base = st.request()
        except StepEditError as exc:
            w.show_error("Cannot render variations", exc)
            return None
        presets = []
        for path in list_presets().values():
            try:
                label, request = read_preset(path)
            except StepEditError:
                continue
            presets.append(Preset(preset_slug(label), label, request))
        where = st.region_label(st.region) if st.region is not None else "the whole clip"
        q = w.settings
        group, _, name = str(q.value("variations_control", "") or "").partition(":")
        dlg = VariationsDialog(st.capabilities, base, presets, where, w,
                               levels=str(q.value("variations_levels", DEFAULT_LEVELS) or DEFAULT_LEVELS),
                               control=(group, name) if name else None, iterations=st.iterations)
        dlg.accepted.connect(lambda: self._render_grid(dlg))
        return self._open(dlg)

    def _render_grid(self, dlg: VariationsDialog) -> None:
        w = self.w
        try:
            grid = dlg.grid()
        except StepEditError as exc:
            w.show_error("Cannot render variations", exc)
            return
        vary = dlg.vary
        w.settings.setValue("variations_control", f"{vary[0]}:{vary[1]}" if vary else "")
        w.settings.setValue("variations_levels", dlg.levels.text())
        w.renderer.render_variations(grid, dlg.keep_iterations)

    # --- recipes -----------------------------------------------------------------------------
    @Slot()
    def save_recipe_dialog(self, settings: ExportSettings | None = None) -> bool:
        """Save the engine, sliders, iterations and export settings (``settings``, default: the
        kept ones) as a recipe file."""
        w = self.w
        start = Path(str(w.settings.value("recipe_folder", "") or Path.home()))
        try:
            stem = w.state.request().slug() or "recipe"
        except StepEditError:
            stem = "recipe"
        path, _ = QFileDialog.getSaveFileName(w, "Save recipe", str(start / f"{stem}.json"), RECIPE_FILTER)
        if not path:
            return False
        w.settings.setValue("recipe_folder", str(Path(path).parent))
        return w.workflows.save_recipe(path, settings if isinstance(settings, ExportSettings) else None)

    @Slot()
    def load_recipe_dialog(self) -> bool:
        """Set the engine, sliders, iterations and export settings from a recipe file."""
        w = self.w
        start = str(w.settings.value("recipe_folder", "") or Path.home())
        path, _ = QFileDialog.getOpenFileName(w, "Load recipe", start, RECIPE_FILTER)
        if not path:
            return False
        w.settings.setValue("recipe_folder", str(Path(path).parent))
        return w.workflows.load_recipe(path)
