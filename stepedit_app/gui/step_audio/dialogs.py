"""Step-Audio-EditX dialogs: setup, diagnosis, and cloning a voice.

* :class:`SetupDialog` offers what ``stepedit setup step-audio`` does: the model
  environment's Python, the official source folder, the models folder, dtype, quantization
  (the choices of the generation the source folder holds), the GPU memory share and the call
  time limit, plus the commands that create the model environment (``--print-env-commands``)
  with a Copy button.  It checks what the command line checks before writing the configuration.
* :class:`DoctorDialog` shows :func:`stepedit_app.engines.step_audio.doctor.checks` line by
  line with the hints, run on a worker; it can also load the model into the editor's worker.
* :class:`CloneDialog`: a prompt (the selected region, the whole clip, or a file), what the
  prompt says, the new words and a dialect tag; the clone runs on a worker with progress and
  Cancel, is written next to the source, and opens as a new clip.
"""

from __future__ import annotations

import glob
import html
import os
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from stepedit_app.audio.clip import Clip
from stepedit_app.engines.step_audio import inputs
from stepedit_app.engines.step_audio.settings import (
    AWQ_FILES,
    DTYPES,
    EXPECTED_FILES,
    QUANTIZATION,
    SUPPORTED_COMMITS,
    StepAudioSettings,
    config_path,
    env_commands,
    load_settings,
    log_path,
)
from stepedit_app.engines.step_audio.vocabulary import CLONE_TAGS
from stepedit_app.engines.step_audio.worker import detect_generation, source_commit
from stepedit_app.errors import RequestError, StepEditError
from stepedit_app.gui import theme
from stepedit_app.gui.step_audio.controller import StepAudioController, describe_device
from stepedit_app.session.editor import EditorState, format_seconds

AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.aiff *.aif *.mp3);;All files (*)"
STATUS_COLOURS = {"ok": "#5cc98a", "warn": theme.ACCENT, "FAIL": theme.ERROR, "skip": theme.TEXT_DIM,
                  "info": theme.TEXT_DIM}


def _note(text: str = "", warn: bool = False, wrap: bool = True) -> QLabel:
    # In a form row a wrapping label asks for the height of its narrowest layout: the short
    # notes there do not wrap (their full text is in the tooltip too).
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setObjectName("engineNote")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if warn:
        label.setStyleSheet(f"color: {theme.ERROR};")
    return label


def _path_row(edit: QLineEdit, browse) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    b = QPushButton("Browse…")
    b.clicked.connect(browse)
    row.addWidget(b)
    return row


def missing_model_files(models: str, quantization: str | None) -> list[str]:
    """The expected weight files (the facts sheet's names) missing in ``models``; every name
    when the folder does not exist."""
    wanted = list(EXPECTED_FILES) + (list(AWQ_FILES) if quantization in ("awq", "awq-4bit") else [])
    root = Path(models)
    out = []
    for rel in wanted:
        if rel.endswith("/"):
            ok = (root / rel).is_dir()
        elif "*" in rel:
            ok = bool(glob.glob(str(root / rel)))
        else:
            ok = (root / rel).is_file()
        if not ok:
            out.append(rel)
    return out


def check_setup(s: StepAudioSettings) -> str:
    """What ``stepedit setup step-audio`` checks before writing, as the dialog does; returns
    the generation.  Raises :class:`RequestError` (one line) for the first problem."""
    s.validate()
    if not s.python:
        raise RequestError("give the model environment's Python (…/bin/python)")
    py = Path(s.python)
    if not py.exists():
        raise RequestError(f"Python {s.python}: no such file")
    if py.is_dir():
        raise RequestError(f"Python {s.python}: is a folder (give the interpreter, e.g. VENV/bin/python)")
    if not os.access(py, os.X_OK):
        raise RequestError(f"Python {s.python}: not executable")
    if not s.source:
        raise RequestError("give the Step-Audio-EditX source folder (the one holding tts.py)")
    src = Path(s.source)
    if not src.is_dir():
        raise RequestError(f"source {s.source}: no such folder")
    if not (src / "tts.py").is_file():
        raise RequestError(f"source {s.source}: holds no tts.py (give the Step-Audio-EditX source folder)")
    if not s.models or not Path(s.models).is_dir():
        raise RequestError(f"models {s.models or '(empty)'}: no such folder")
    generation, _, problem = detect_generation(s.source)
    if generation is None:
        raise RequestError(f"source {s.source}: {problem}")
    if s.quantization and s.quantization not in QUANTIZATION[generation]:
        raise RequestError(f"quantization {s.quantization}: the source is generation {generation}, which takes "
                           f"{', '.join(QUANTIZATION[generation])}")
    return generation


class SetupDialog(QDialog):
    """Configure the Step-Audio-EditX engine (``stepedit setup step-audio`` as a dialog).

    Parameters
    ----------
    controller
        Saves the configuration and re-reads the engines.
    reason
        Why the engine is unavailable (shown at the top), when the dialog is offered because
        the user picked it.
    """

    def __init__(self, controller: StepAudioController, reason: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepAudioSetup")
        self.setWindowTitle("Step-Audio-EditX Setup")
        self.controller = controller
        self.saved_path: Path | None = None
        self.diagnose_after = False
        try:
            current = load_settings()
            self._load_problem = ""
        except StepEditError as exc:
            current, self._load_problem = None, str(exc)
        lay = QVBoxLayout(self)
        intro = _note("Step-Audio-EditX (StepFun's 3B audio LLM) runs on an NVIDIA GPU in its own Python environment, "
                      "with weights you download. Point StepEdit at them here; the commands below create them.")
        lay.addWidget(intro)
        self.reason = _note(reason or self._load_problem, warn=True)
        self.reason.setVisible(bool(reason or self._load_problem))
        lay.addWidget(self.reason)

        form = QFormLayout()
        self.python = QLineEdit(current.python if current else "")
        self.python.setPlaceholderText("…/step-audio-v1/bin/python")
        form.addRow("Model environment's Python", _path_row(self.python, self._browse_python))
        self.source = QLineEdit(current.source if current else "")
        self.source.setPlaceholderText("the Step-Audio-EditX source folder (holds tts.py)")
        form.addRow("Step-Audio-EditX source", _path_row(self.source, self._browse_source))
        self.source_note = _note(wrap=False)
        form.addRow("", self.source_note)
        self.models = QLineEdit(current.models if current else "")
        self.models.setPlaceholderText("holds Step-Audio-EditX/ and Step-Audio-Tokenizer/")
        form.addRow("Models folder", _path_row(self.models, self._browse_models))
        self.models_note = _note(wrap=False)
        form.addRow("", self.models_note)
        self.dtype = QComboBox()
        self.dtype.addItem("default (upstream's: bfloat16)", None)
        for d in DTYPES:
            self.dtype.addItem(d, d)
        self.dtype.setCurrentIndex(max(0, self.dtype.findData(current.dtype if current else None)))
        form.addRow("Weights' dtype", self.dtype)
        self.quantization = QComboBox()
        self.quantization.setToolTip("v1 (Transformers): int4, int8 (bitsandbytes) or awq-4bit; v2 (vLLM): awq, gptq "
                                     "or fp8. Quantised: about 10–12 GB instead of 16 GB, some timbre drift")
        form.addRow("Quantization", self.quantization)
        share = QHBoxLayout()
        self.limit_share = QCheckBox("Limit to")
        self.share = QSpinBox()
        self.share.setRange(5, 100)
        self.share.setSuffix(" % of the GPU's memory")
        self.share.setValue(int(round((current.gpu_share or 0.5) * 100)) if current else 50)
        self.limit_share.setChecked(bool(current and current.gpu_share))
        self.share.setEnabled(self.limit_share.isChecked())
        self.limit_share.toggled.connect(self.share.setEnabled)
        share.addWidget(self.limit_share)
        share.addWidget(self.share, 1)
        form.addRow("GPU memory", share)
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(10.0, 7200.0)
        self.timeout.setDecimals(0)
        self.timeout.setSuffix(" s per call (+60 s per second of audio)")
        self.timeout.setValue(current.timeout_s if current else 300.0)
        self.timeout.setToolTip("A call running longer counts as hung: the worker is stopped and reported")
        form.addRow("Time limit", self.timeout)
        lay.addLayout(form)

        env = QGroupBox("Create the model environment (stepedit setup step-audio --print-env-commands)")
        el = QVBoxLayout(env)
        gr = QHBoxLayout()
        self.gen_group = QButtonGroup(self)
        for g in ("v1", "v2"):
            commit, date, what = SUPPORTED_COMMITS[g]
            rb = QRadioButton(f"{g}: {what.split(';')[0]} ({commit}, {date})")
            rb.setObjectName(f"gen-{g}")
            rb.setToolTip(what)
            self.gen_group.addButton(rb)
            gr.addWidget(rb)
            if g == "v1":
                rb.setChecked(True)
        gr.addStretch(1)
        el.addLayout(gr)
        self.commands = QPlainTextEdit()
        self.commands.setObjectName("envCommands")
        self.commands.setReadOnly(True)
        self.commands.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.commands.setMinimumHeight(170)
        font = self.commands.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.commands.setFont(font)
        el.addWidget(self.commands, 1)
        cr = QHBoxLayout()
        cr.addWidget(_note("Run these in a terminal (they clone, install and download about 8 GB), then come back."), 1)
        self.copy_btn = QPushButton("Copy")
        self.copy_btn.setToolTip("Copy the commands to the clipboard")
        self.copy_btn.clicked.connect(self.copy_commands)
        cr.addWidget(self.copy_btn)
        el.addLayout(cr)
        lay.addWidget(env, 1)  # spare height goes to the commands, not between the fields

        self.error = _note("", warn=True)
        self.error.setObjectName("setupError")
        self.error.hide()
        lay.addWidget(self.error)
        self.where = _note(f"The configuration is written to {config_path()}.")
        lay.addWidget(self.where)
        buttons = QDialogButtonBox()
        self.save_btn = buttons.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_diag_btn = buttons.addButton("Save and Diagnose", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.save_btn.setDefault(True)
        buttons.rejected.connect(self.reject)
        self.save_btn.clicked.connect(lambda: self.save(diagnose=False))
        self.save_diag_btn.clicked.connect(lambda: self.save(diagnose=True))
        lay.addWidget(buttons)

        for edit in (self.source, self.models, self.python):
            edit.textChanged.connect(self._update)
        self.gen_group.buttonToggled.connect(lambda *_: self._update_commands())
        self.quantization.currentIndexChanged.connect(lambda *_: self._update_models_note())
        self._current_q = current.quantization if current else None
        self._update()
        self.resize(860, 720)

    # --- browsing ----------------------------------------------------------------------------
    def _start(self, edit: QLineEdit) -> str:
        t = edit.text().strip()
        return str(Path(t).expanduser().parent if t else Path.home())

    @Slot()
    def _browse_python(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "The model environment's Python", self._start(self.python))
        if path:
            self.python.setText(path)

    @Slot()
    def _browse_source(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Step-Audio-EditX source folder", self._start(self.source))
        if path:
            self.source.setText(path)

    @Slot()
    def _browse_models(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Models folder", self._start(self.models))
        if path:
            self.models.setText(path)

    # --- live checks -------------------------------------------------------------------------
    def generation(self) -> str | None:
        src = self.source.text().strip()
        if not src or not (Path(src).expanduser() / "tts.py").is_file():
            return None
        return detect_generation(str(Path(src).expanduser()))[0]

    @Slot()
    def _update(self, *_args) -> None:
        src = os.path.expanduser(self.source.text().strip())
        gen = self.generation()
        if not src:
            self.source_note.setText("The folder you cloned github.com/stepfun-ai/Step-Audio-EditX into.")
        elif gen is None:
            problem = detect_generation(src)[2] if (Path(src) / "tts.py").is_file() else "no tts.py here"
            self.source_note.setText(f"Not a Step-Audio-EditX source folder: {problem}.")
        else:
            commit = source_commit(src)
            want = SUPPORTED_COMMITS[gen][0]
            at = "commit unknown (no .git)" if commit is None else f"at {commit[:7]}" + (
                " (supported)" if commit.startswith(want) else f", not the supported {want}: it may work")
            self.source_note.setText(f"Generation {gen} ({SUPPORTED_COMMITS[gen][2].split(';')[0]}), {at}.")
            for b in self.gen_group.buttons():
                if b.objectName() == f"gen-{gen}":
                    b.setChecked(True)
        # Quantisation choices of the generation found (both, labelled, when none is found).
        q = self.quantization.currentData() if self.quantization.count() else self._current_q
        with QSignalBlocker(self.quantization):
            self.quantization.clear()
            self.quantization.addItem("none", None)
            for g in ((gen,) if gen else ("v1", "v2")):
                for name in QUANTIZATION[g]:
                    self.quantization.addItem(name if gen else f"{name} ({g})", name)
            self.quantization.setCurrentIndex(max(0, self.quantization.findData(q)))
        self._update_models_note()
        self._update_commands()

    def _update_models_note(self) -> None:
        models = os.path.expanduser(self.models.text().strip())
        if not models:
            self.models_note.setText("Where the two huggingface-cli downloads below put their folders.")
            return
        if not Path(models).is_dir():
            self.models_note.setText("No such folder.")
            return
        missing = missing_model_files(models, self.quantization.currentData())
        if missing:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            self.models_note.setText(f"Missing: {shown}.")
        else:
            self.models_note.setText("Every expected weight file is there.")

    def _update_commands(self) -> None:
        gen = "v2" if any(b.isChecked() and b.objectName() == "gen-v2" for b in self.gen_group.buttons()) else "v1"
        kw = {}
        if self.source.text().strip():
            kw["source"] = os.path.abspath(os.path.expanduser(self.source.text().strip()))
        if self.models.text().strip():
            kw["models"] = os.path.abspath(os.path.expanduser(self.models.text().strip()))
        self.commands.setPlainText("\n".join(env_commands(gen, **kw)))

    @Slot()
    def copy_commands(self) -> None:
        QGuiApplication.clipboard().setText(self.commands.toPlainText())
        self.copy_btn.setText("Copied")

    # --- saving ------------------------------------------------------------------------------
    def settings(self) -> StepAudioSettings:
        """The configuration the fields describe (paths made absolute; a venv's python stays a
        symlink: abspath, not resolve)."""

        def ab(edit: QLineEdit) -> str:
            t = edit.text().strip()
            return os.path.abspath(os.path.expanduser(t)) if t else ""

        try:
            base = load_settings()
        except StepEditError:
            base = None
        s = StepAudioSettings(python=ab(self.python), source=ab(self.source), models=ab(self.models),
                              dtype=self.dtype.currentData(), quantization=self.quantization.currentData(),
                              gpu_share=self.share.value() / 100.0 if self.limit_share.isChecked() else None,
                              timeout_s=float(self.timeout.value()))
        if base is not None:  # time limits the dialog does not show are kept
            s.timeout_per_audio_s, s.stall_s, s.load_timeout_s = base.timeout_per_audio_s, base.stall_s, base.load_timeout_s
            s.extra = dict(base.extra)
        return s

    def save(self, diagnose: bool = False) -> bool:
        """Check and write the configuration; the dialog closes when it was written."""
        try:
            s = self.settings()
            check_setup(s)
            self.saved_path = self.controller.save(s)
        except (StepEditError, OSError) as exc:
            self.error.setText(" ".join(str(exc).split()))
            self.error.show()
            return False
        self.diagnose_after = diagnose
        self.accept()
        return True


class DoctorDialog(QDialog):
    """The diagnosis, one line per piece with its hint (``stepedit doctor`` in a window).

    The checks run on the controller's worker (they start the model environment's Python);
    :meth:`run` starts them again.  "Load Model" loads the weights into the editor's worker.
    """

    def __init__(self, controller: StepAudioController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepAudioDoctor")
        self.setWindowTitle("Diagnose Step-Audio-EditX")
        self.controller = controller
        self.checks: list = []
        lay = QVBoxLayout(self)
        self.head = QLabel("")
        self.head.setWordWrap(True)
        lay.addWidget(self.head)
        self.view = QTextBrowser()
        self.view.setObjectName("doctorLines")
        self.view.setOpenLinks(False)
        lay.addWidget(self.view, 1)
        #: ``(status, name, detail, hint)`` as shown.
        self.rows: list[list[str]] = []
        from stepedit_app.engines.step_audio.doctor import supported_line

        self.supported = _note(supported_line() + ".")
        lay.addWidget(self.supported)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        lay.addWidget(self.progress)
        buttons = QDialogButtonBox()
        self.rerun_btn = buttons.addButton("Run Again", QDialogButtonBox.ButtonRole.ActionRole)
        self.load_btn = buttons.addButton("Load Model", QDialogButtonBox.ButtonRole.ActionRole)
        self.load_btn.setToolTip("Start the worker and load the weights now (the editor keeps them loaded)")
        self.setup_btn = buttons.addButton("Setup…", QDialogButtonBox.ButtonRole.ActionRole)
        self.log_btn = buttons.addButton("Open Log", QDialogButtonBox.ButtonRole.ActionRole)
        self.log_btn.setToolTip(str(log_path()))
        self.copy_btn = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_btn.setToolTip("Copy the report (as stepedit doctor prints it)")
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        self.rerun_btn.clicked.connect(self.run)
        self.load_btn.clicked.connect(self.load_model)
        self.log_btn.clicked.connect(controller.open_log)
        self.copy_btn.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.report()))
        lay.addWidget(buttons)
        controller.doctor_started.connect(self._started)
        controller.doctor_done.connect(self.show_checks)
        controller.load_progress.connect(self._load_progress)
        controller.load_done.connect(self._load_done)
        controller.load_failed.connect(self._load_failed)
        self.resize(900, 460)

    @Slot()
    def run(self) -> None:
        self.controller.diagnose()

    def _started(self) -> None:
        self.head.setText("Checking: the configuration, the model environment's Python and the official modules "
                          "(in that environment), CUDA, the weight files…")
        self.progress.show()
        self.rerun_btn.setEnabled(False)

    def show_checks(self, checks: list) -> None:
        """Show the diagnosis lines (a hint under each failure or warning)."""
        self.checks = list(checks)
        self.progress.hide()
        self.rerun_btn.setEnabled(True)
        self.rows = [[c.status, c.name, c.detail, c.hint if c.status in ("FAIL", "warn") else ""] for c in self.checks]
        self._render()
        bad = [c for c in self.checks if c.status == "FAIL"]
        if bad:
            self.head.setText(f"{len(bad)} problem(s): the GPU engine is not ready; the embedded engine (prosody) "
                              "works without it.")
            self.head.setStyleSheet(f"color: {theme.ERROR};")
        else:
            self.head.setText("Nothing failed. Load Model checks the last piece: the weights load on the GPU.")
            self.head.setStyleSheet("")

    def _render(self) -> None:
        cells = []
        for status, name, detail, hint in self.rows:
            colour = STATUS_COLOURS.get(status, theme.TEXT_DIM)
            hint_html = (f"<br><span style='color:{theme.TEXT_DIM}'>hint: {html.escape(hint)}</span>"
                         if hint else "")
            cells.append(f"<tr><td style='color:{colour};padding-right:10px'><b>{html.escape(status)}</b></td>"
                         f"<td style='padding-right:12px;white-space:nowrap'>{html.escape(name)}</td>"
                         f"<td>{html.escape(detail)}{hint_html}</td></tr>")
        self.view.setHtml(f"<table cellspacing=3>{''.join(cells)}</table>")

    def lines(self) -> list[str]:
        """The lines as shown: ``status  name: detail`` (and ``hint: ...`` under failures)."""
        out = []
        for status, name, detail, hint in self.rows:
            out.append(f"{status}  {name}: {detail}")
            if hint:
                out.append(f"hint: {hint}")
        return out

    def report(self) -> str:
        return "\n".join(["Step-Audio-EditX (engine step-audio-editx)", *self.lines(), self.supported.text()])

    # --- model load --------------------------------------------------------------------------
    @Slot()
    def load_model(self) -> None:
        if self.controller.load_model():
            self.load_btn.setEnabled(False)
            self.progress.show()
            self.rows.append(["…", "load", "starting the worker", ""])
            self._load_row = self.rows[-1]
            self._render()

    def _load_progress(self, stage: str) -> None:
        row = getattr(self, "_load_row", None)
        if row is not None:
            row[2] = stage
            self._render()

    def _load_done(self, res: dict) -> None:
        self.progress.hide()
        self.load_btn.setEnabled(True)
        row = getattr(self, "_load_row", None)
        hello = self.controller.facts.get("hello") or {}
        line, ok = describe_device(hello or None)
        mem = res.get("peak_mem_mb")
        if row is not None:
            row[0] = "ok" if ok else "warn"
            row[2] = (f"generation {res.get('generation')} loaded in {res.get('load_s')} s"
                      + (f", peak {mem / 1024:.1f} GB" if mem else "") + f". {line}")
            self._render()

    def _load_failed(self, line: str) -> None:
        self.progress.hide()
        self.load_btn.setEnabled(True)
        row = getattr(self, "_load_row", None)
        if row is not None:
            row[0], row[2], row[3] = "FAIL", line, "see the log (Open Log)"
            self._render()


def unique_path(folder: Path, stem: str, suffix: str = ".wav") -> Path:
    """``folder/stem.wav``, or ``stem-2.wav``... whichever does not exist yet."""
    p = folder / f"{stem}{suffix}"
    k = 2
    while p.exists():
        p = folder / f"{stem}-{k}{suffix}"
        k += 1
    return p


class CloneDialog(QDialog):
    """Speak new words in the voice of a prompt; the result opens as a new clip.

    Parameters
    ----------
    state
        The editor's state: its clip and selection are the prompt choices, its transcript the
        prompt's words when they belong to that selection.
    controller
        Runs the clone on a worker.
    transcript_for_region
        ``() -> str``: the words known for the current selection ("" when none).
    """

    def __init__(self, state: EditorState, controller: StepAudioController, transcript_for_region=None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cloneDialog")
        self.setWindowTitle("Clone Voice — Step-Audio-EditX")
        self.state = state
        self.controller = controller
        self._words_for_region = transcript_for_region or (lambda: "")
        self.result_path: Path | None = None
        self._file_sidecar: tuple[str, Path] | None = None
        lay = QVBoxLayout(self)
        lay.addWidget(_note("The model speaks the new words in the voice of a short recording (3–10 s of clean "
                            "speech works best; up to 30 s) whose exact words you give. The result is saved and "
                            "opens as a new clip."))
        form = QFormLayout()
        voice = QVBoxLayout()
        self.use_region = QRadioButton("")
        self.use_clip = QRadioButton("")
        self.use_file = QRadioButton("A file:")
        self.file = QLineEdit()
        self.file.setPlaceholderText("a recording of the voice")
        fr = _path_row(self.file, self._browse_file)
        fr.insertWidget(0, self.use_file)
        voice.addWidget(self.use_region)
        voice.addWidget(self.use_clip)
        voice.addLayout(fr)
        self.prompt_note = _note(wrap=False)
        voice.addWidget(self.prompt_note)
        form.addRow("Voice", voice)
        self.prompt_text = QPlainTextEdit()
        self.prompt_text.setObjectName("promptText")
        self.prompt_text.setPlaceholderText("The exact words of the voice recording")
        self.prompt_text.setFixedHeight(54)
        self.prompt_text.setTabChangesFocus(True)
        form.addRow("What it says", self.prompt_text)
        self.prompt_text_note = _note(wrap=False)
        form.addRow("", self.prompt_text_note)
        self.dialect = QComboBox()
        self.dialect.setObjectName("cloneTag")
        self.dialect.addItem("as written (no tag)", "")
        for t in CLONE_TAGS:
            self.dialect.addItem(f"{t.tag}  {t.meaning}", t.tag)
        self.dialect.setToolTip("A language or dialect tag placed before the new words (the model's clone tags)")
        form.addRow("Language / dialect", self.dialect)
        self.text = QPlainTextEdit()
        self.text.setObjectName("cloneText")
        self.text.setPlaceholderText("What the cloned voice should say")
        self.text.setFixedHeight(70)
        self.text.setTabChangesFocus(True)
        form.addRow("New words", self.text)
        self.sent = _note(wrap=False)
        form.addRow("", self.sent)
        self.output = QLineEdit()
        self.output.setObjectName("cloneOutput")
        form.addRow("Save as", _path_row(self.output, self._browse_output))
        lay.addLayout(form)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setFormat("cloning…")
        self.progress.hide()
        lay.addWidget(self.progress)
        self.error = _note("", warn=True)
        self.error.setObjectName("cloneError")
        self.error.hide()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.clone_btn = buttons.addButton("Clone", QDialogButtonBox.ButtonRole.AcceptRole)
        self.clone_btn.setDefault(True)
        self.cancel_btn = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.clone_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self._cancel_or_close)
        lay.addWidget(buttons)

        clip = state.clip
        region = state.region
        has_region = clip is not None and region is not None and (region.start > 0 or region.end < clip.frames)
        if clip is not None:
            self.use_clip.setText(f"The whole clip: {clip.name} ({clip.duration:.1f} s)")
        else:
            self.use_clip.setText("The whole clip (no clip open)")
        if has_region:
            a, b = region.seconds(clip.rate)
            self.use_region.setText(f"The selected region: {format_seconds(a)}–{format_seconds(b)} ({b - a:.1f} s)")
        else:
            self.use_region.setText("The selected region (nothing selected)")
        self.use_region.setEnabled(has_region)
        self.use_clip.setEnabled(clip is not None)
        (self.use_region if has_region else self.use_clip if clip is not None else self.use_file).setChecked(True)
        folder = Path(clip.path).parent if clip is not None and clip.path else Path.home()
        stem = f"{Path(clip.path).stem}_clone" if clip is not None and clip.path else "clone"
        self.output.setText(str(unique_path(folder, stem)))
        for rb in (self.use_region, self.use_clip, self.use_file):
            rb.toggled.connect(self._prompt_changed)
        self.file.textChanged.connect(self._file_changed)
        self.text.textChanged.connect(self._update_sent)
        self.dialect.currentIndexChanged.connect(self._update_sent)
        self.prompt_text.textChanged.connect(self._update_prompt_text_note)
        controller.clone_done.connect(self._done)
        controller.clone_failed.connect(self._failed)
        controller.clone_finished.connect(self._finished)
        self._prompt_changed()
        self._update_sent()
        lay.addStretch(1)
        self.resize(720, self.sizeHint().height())

    # --- prompt ------------------------------------------------------------------------------
    def prompt_choice(self) -> str:
        return "region" if self.use_region.isChecked() else "clip" if self.use_clip.isChecked() else "file"

    @Slot()
    def _browse_file(self) -> None:
        start = self.file.text().strip() or (str(Path(self.state.clip.path).parent) if self.state.clip and
                                             self.state.clip.path else str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Voice to clone", start, AUDIO_FILTER)
        if path:
            self.file.setText(path)
            self.use_file.setChecked(True)

    @Slot()
    def _browse_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the clone as", self.output.text(),
                                              "WAV (*.wav);;FLAC (*.flac)")
        if path:
            self.output.setText(path)

    def _file_changed(self) -> None:
        if self.file.text().strip() and not self.use_file.isChecked():
            self.use_file.setChecked(True)
        else:
            self._prompt_changed()

    def _prompt_changed(self, *_args) -> None:
        choice = self.prompt_choice()
        self._file_sidecar = None
        words, source = "", ""
        if choice == "file":
            path = self.file.text().strip()
            if path and Path(path).is_file():
                try:
                    self._file_sidecar = inputs.read_sidecar(path)
                except StepEditError as exc:
                    source = str(exc)
                if self._file_sidecar is not None:
                    words, source = self._file_sidecar[0], f"From {self._file_sidecar[1].name}."
            self.prompt_note.setText("Its length is checked when cloning: 3–10 s of clean speech works best.")
        else:
            st = self.state
            clip = st.clip
            if clip is not None:
                r = st.region if choice == "region" else clip.whole()
                secs = r.length / clip.rate
                warn = secs > inputs.MAX_INPUT_S
                self.prompt_note.setText(
                    f"{secs:.1f} s" + (f": too long, the model takes up to {inputs.MAX_INPUT_S:.0f} s — select less"
                                       if warn else " (3–10 s of clean speech works best)" if not 3 <= secs <= 10 else ""))
                self.prompt_note.setStyleSheet(f"color: {theme.ERROR};" if warn else "")
                if choice == "region" or st.region is None or (st.region.start <= 0 and st.region.end >= clip.frames):
                    words = self._words_for_region()
                    source = "The words in the main window's transcript field." if words else ""
                elif clip.path is not None:
                    side = inputs.read_sidecar(clip.path)
                    if side is not None:
                        words, source = side[0], f"From {side[1].name}."
        # Never keep words that belonged to another prompt: replace them.
        self.prompt_text.setPlainText(words)
        self.prompt_text_note.setText(source or "Type the exact words of the voice recording.")

    def _update_prompt_text_note(self) -> None:
        if not self.prompt_text.toPlainText().strip():
            self.prompt_text_note.setText("Type the exact words of the voice recording.")

    def prompt_clip(self) -> Clip:
        """The prompt audio (raises :class:`StepEditError` with one line when unusable)."""
        from stepedit_app.audio.io import read_clip, read_info

        choice = self.prompt_choice()
        st = self.state
        if choice == "file":
            path = self.file.text().strip()
            if not path:
                raise RequestError("choose the voice recording (a file, or a region of the open clip)")
            info = read_info(path)  # the header first: a long file is refused before it is read
            if info.duration > inputs.MAX_INPUT_S:
                raise RequestError(f"the voice recording is {info.duration:.1f} s; the model takes up to "
                                   f"{inputs.MAX_INPUT_S:.0f} s (3–10 s of clean speech works best)")
            return read_clip(path)
        if st.clip is None:
            raise RequestError("no clip is open: choose a file for the voice")
        return st.clip.slice(st.region) if choice == "region" else st.clip

    # --- words -------------------------------------------------------------------------------
    def target_text(self) -> str:
        words = " ".join(self.text.toPlainText().split())
        tag = self.dialect.currentData()
        return f"{tag} {words}" if tag and words and not words.startswith(tag) else words

    def _update_sent(self, *_args) -> None:
        t = self.target_text()
        self.sent.setText(f"Sent to the model: {t}" if t else "")

    # --- running -----------------------------------------------------------------------------
    @Slot()
    def start(self) -> bool:
        """Check the fields and start the clone on the controller's worker."""
        self.error.hide()
        try:
            prompt = self.prompt_clip()
            prompt_text = " ".join(self.prompt_text.toPlainText().split())
            if not prompt_text:
                raise RequestError("type the exact words of the voice recording (What it says)")
            text = self.target_text()
            if not " ".join(self.text.toPlainText().split()):
                raise RequestError("type the new words (New words)")
            if prompt.duration > inputs.MAX_INPUT_S:
                raise RequestError(f"the voice recording is {prompt.duration:.1f} s; the model takes up to "
                                   f"{inputs.MAX_INPUT_S:.0f} s (3–10 s of clean speech works best)")
            out = Path(os.path.expanduser(self.output.text().strip()))
            if not self.output.text().strip():
                raise RequestError("choose where to save the clone (Save as)")
            if out.suffix.lower() not in (".wav", ".flac"):
                out = out.with_suffix(".wav")
                self.output.setText(str(out))
            if out.exists():
                raise RequestError(f"{out} exists: choose another name (a clone never replaces a file)")
        except StepEditError as exc:
            self._failed(" ".join(str(exc).split()))
            return False
        if not self.controller.clone(prompt, prompt_text, text, out):
            return False
        self.clone_btn.setEnabled(False)
        self.progress.show()
        self.cancel_btn.setText("Stop")
        return True

    def _cancel_or_close(self) -> None:
        if self.controller.cloning:
            self.controller.cancel_clone()
        else:
            self.reject()

    def _done(self, path: Path) -> None:
        self.result_path = Path(path)
        self.accept()

    def _failed(self, line: str) -> None:
        self.error.setText(line)
        self.error.show()

    def _finished(self) -> None:
        self.progress.hide()
        self.clone_btn.setEnabled(True)
        self.cancel_btn.setText("Cancel")

    def reject(self) -> None:  # noqa: D102 - Qt API
        if self.controller.cloning:
            self.controller.cancel_clone()  # closing the dialog stops the clone
        super().reject()
