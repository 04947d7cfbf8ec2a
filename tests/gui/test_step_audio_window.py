"""The Step-Audio-EditX engine in the real window: the real client, worker process and protocol
on the stand-in source tree of tests/engines/step_audio (no GPU, no weights).

Vocabulary and filter, the device picker, transcripts (sidecar, typed, refused for a
sub-region), tags and one-shot passes, the setup dialog writing the configuration, the
diagnosis, cloning into a new clip, a worker killed mid-edit, and the take's flags in the diff.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines" / "step_audio"))
from standin import TRANSCRIPTS, build_standin, calls, clear_calls, clear_flags, set_flag, standin_settings  # noqa: E402

from stepedit_app.engines.controls import EMOTIONS, SPEEDS, STYLES  # noqa: E402
from stepedit_app.engines.step_audio.engine import ENGINE_NAME, shared_client, shutdown_shared  # noqa: E402
from stepedit_app.engines.step_audio.settings import config_path, load_settings, save_settings  # noqa: E402
from stepedit_app.engines.step_audio.vocabulary import PARALINGUISTIC_TAGS  # noqa: E402

from .conftest import open_and_wait, render_and_wait, set_slider  # noqa: E402

LINE = "cmu_arctic_us_axb_a0004.wav"  # 16 kHz, 2.8 s: "Lord, but I'm glad to see you again, Phil."
SIDECAR_WORDS = TRANSCRIPTS[LINE]


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("standin")
    source, models = build_standin(root, "v1")
    return {"v1": source, "models": models}


@pytest.fixture(scope="module", autouse=True)
def _stop_worker():
    yield
    shutdown_shared()


@pytest.fixture
def user_dirs(tmp_path, monkeypatch):
    """The engine's configuration and worker log in a private folder (platformdirs reads XDG_*)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    return tmp_path


@pytest.fixture
def models(trees):
    clear_flags(trees["models"])
    clear_calls(trees["models"])
    yield trees["models"]
    clear_flags(trees["models"])


@pytest.fixture
def configured(user_dirs, trees, models):
    save_settings(standin_settings(trees["v1"], trees["models"]))
    return trees


@pytest.fixture
def line(tmp_path, data_dir):
    """A copy of the test line with its transcript next to it (``line.txt``)."""
    path = tmp_path / "line.wav"
    shutil.copy(data_dir / LINE, path)
    path.with_suffix(".txt").write_text(SIDECAR_WORDS + "\n")
    return path


def choose_engine(window, name: str) -> None:
    """Pick an engine in the picker, as the user does."""
    box = window.controls.engine_box
    i = box.findData(name)
    assert i >= 0
    box.setCurrentIndex(i)
    box.activated.emit(i)


@pytest.fixture
def gpu_window(configured, window, qtbot, line):
    open_and_wait(window, qtbot, line)
    choose_engine(window, ENGINE_NAME)
    assert window.state.engine_name == ENGINE_NAME
    window.controls.iterations.setValue(1)
    return window


def one_line(text: str) -> None:
    assert "\n" not in text and "Traceback" not in text and len(text) < 600, text


# --- vocabulary, filter, device ------------------------------------------------------------------


def test_the_full_vocabulary_is_sliders_and_the_filter_keeps_active_ones(configured, window, qtbot, monkeypatch):
    from stepedit_app.gui.controllers import render

    asked = []
    monkeypatch.setattr(render, "_cuda_present", lambda: asked.append(1) or False)
    w, c = window, window.controls
    choose_engine(w, ENGINE_NAME)
    assert set(c.rows) == {("emotion", n) for n in EMOTIONS} | {("style", n) for n in STYLES} | {
        ("speed", n) for n in SPEEDS}
    assert len(c.rows) == 14 + 32 + 2
    assert "share of one model pass kept" in c.engine_note.text() and "morph" in c.engine_note.text()
    assert "morph" in c.rows[("style", "whisper")].slider.toolTip()
    # The GPU belongs to the worker process: offered without asking the editor's torch.
    assert [c.device_box.itemData(i) for i in range(c.device_box.count())] == ["cuda"]
    assert w.state.device == "cuda" and asked == []
    assert "worker process" in c.device_box.toolTip()

    # Typing filters; a control in use is never hidden; groups follow.
    set_slider(w, "emotion", "angry", 40)
    c.filter.setFocus()
    qtbot.keyClicks(c.filter, "whis")
    assert c.visible_controls() == ["angry", "whisper"]
    assert not c.group_labels["speed"].isVisibleTo(c)
    c.filter.clear()
    qtbot.keyClicks(c.filter, "act coy")  # the label's spelling finds act_coy
    assert c.visible_controls() == ["angry", "act_coy"]
    c.filter.clear()
    qtbot.keyClicks(c.filter, "zzz")
    assert c.visible_controls() == ["angry"] and c.no_match.isVisibleTo(c)
    # Keyboard: Down goes to the first listed slider, Up/Down between sliders, Left/Right set one,
    # Up above the first returns to the box, Esc in the box clears it.
    c.filter.clear()
    qtbot.keyClicks(c.filter, "style sh")
    assert c.visible_controls() == ["angry", "shy", "shout"]
    qtbot.keyClick(c.filter, Qt.Key.Key_Down)
    assert QApplication.focusWidget() is c.rows[("emotion", "angry")].slider
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Down)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Down)
    assert QApplication.focusWidget() is c.rows[("style", "shout")].slider
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Up)
    assert QApplication.focusWidget() is c.rows[("style", "shy")].slider
    assert w.state.values[("style", "shout")] == 0 and w.state.values[("style", "shy")] == 0
    qtbot.keyClick(c.rows[("style", "shy")].slider, Qt.Key.Key_Right)
    assert w.state.values[("style", "shy")] == pytest.approx(0.01)
    qtbot.keyClick(c.rows[("style", "shy")].slider, Qt.Key.Key_Up)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Up)
    assert QApplication.focusWidget() is c.filter
    # A slider taken back to 0 from the keyboard stays listed while it has the focus.
    c.filter.clear()
    qtbot.keyClicks(c.filter, "whis")
    assert c.visible_controls() == ["angry", "whisper", "shy"]
    qtbot.keyClick(c.filter, Qt.Key.Key_Down)
    for _ in range(4):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_PageDown)
    assert w.state.values[("emotion", "angry")] == 0 and "angry" in c.visible_controls()
    c.filter.setFocus()
    qtbot.keyClicks(c.filter, "p")
    assert c.visible_controls() == ["whisper", "shy"]
    qtbot.keyClick(c.filter, Qt.Key.Key_Escape)
    assert c.filter.text() == "" and len(c.visible_controls()) == 48
    w.actions["filter"].trigger()
    assert QApplication.focusWidget() is c.filter


# --- setup and diagnosis -------------------------------------------------------------------------


def test_picking_the_unconfigured_engine_opens_the_setup_which_writes_the_config(user_dirs, trees, models,
                                                                                 window, qtbot):
    w, c = window, window.controls
    i = c.engine_box.findData(ENGINE_NAME)
    assert c.engine_box.itemText(i) == f"{ENGINE_NAME} (set up…)"
    assert c.engine_box.model().item(i).isEnabled()
    choose_engine(w, ENGINE_NAME)
    dlg = w.step_audio_ui.setup_dialog
    assert dlg is not None and dlg.isVisible()
    assert w.state.engine_name == "prosody" and c.engine_box.currentData() == "prosody"
    assert "not configured" in dlg.reason.text() and dlg.reason.isVisible()

    # The environment commands, with a Copy button.
    text = dlg.commands.toPlainText()
    assert "git clone https://github.com/stepfun-ai/Step-Audio-EditX" in text and "checkout aacb90a" in text
    qtbot.mouseClick(dlg.copy_btn, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == text
    dlg.gen_group.buttons()[1].setChecked(True)
    assert "uv sync" in dlg.commands.toPlainText() and "checkout a652e87" in dlg.commands.toPlainText()

    # A bad folder is one line in the dialog; nothing is written.
    dlg.python.setText(sys.executable)
    dlg.source.setText(str(trees["v1"]))
    dlg.models.setText(str(user_dirs / "no-such-folder"))
    assert "generation v1" in dlg.source_note.text().lower() and "supported" in dlg.source_note.text()
    assert dlg.gen_group.buttons()[0].isChecked()  # the source's generation is shown
    qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton)
    assert dlg.isVisible() and dlg.error.isVisible() and "no such folder" in dlg.error.text()
    one_line(dlg.error.text())
    assert not config_path().exists()

    # Quantisation choices follow the generation of the source.
    dlg.models.setText(str(trees["models"]))
    assert "Every expected weight file" in dlg.models_note.text()
    qs = [dlg.quantization.itemData(k) for k in range(dlg.quantization.count())]
    assert qs == [None, "int4", "int8", "awq-4bit"]
    dlg.quantization.setCurrentIndex(qs.index("int8"))
    dlg.dtype.setCurrentIndex(dlg.dtype.findData("float16"))
    dlg.limit_share.setChecked(True)
    dlg.share.setValue(60)
    qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible())
    s = load_settings()
    assert (s.python, s.source, s.models) == (sys.executable, str(trees["v1"]), str(trees["models"]))
    assert (s.quantization, s.dtype, s.gpu_share) == ("int8", "float16", pytest.approx(0.6))
    # Saved: the engine is chosen, and no longer offered for setup.
    assert w.state.engine_name == ENGINE_NAME and c.engine_box.currentData() == ENGINE_NAME
    assert c.engine_box.itemText(c.engine_box.findData(ENGINE_NAME)) == ENGINE_NAME
    assert len(c.rows) == 48


def test_diagnose_shows_the_doctor_lines_and_loads_the_model(configured, window, qtbot):
    from stepedit_app.engines.step_audio.doctor import checks

    w = window
    with qtbot.waitSignal(w.step_audio.doctor_done, timeout=120000):
        w.actions["sa_diagnose"].trigger()
    dlg = w.step_audio_ui.doctor_dialog
    assert dlg.isVisible()
    lines = dlg.lines()
    expected = checks()
    assert [ln.split(":")[0] for ln in lines if not ln.startswith("hint:")] == [
        f"{c.status}  {c.name}" for c in expected]
    assert "ok  source: generation v1 at aacb90a (supported)" in lines
    cuda = next(k for k, ln in enumerate(lines) if ln.startswith("FAIL  CUDA"))
    assert lines[cuda] == "FAIL  CUDA: no CUDA device visible in the model environment"
    assert lines[cuda + 1].startswith("hint: check nvidia-smi")
    assert "problem" in dlg.head.text()
    assert dlg.report().startswith("Step-Audio-EditX (engine step-audio-editx)\n")
    assert "v1 aacb90a" in dlg.report()

    # Load Model warms the editor's own worker (the next render starts at once).
    with qtbot.waitSignal(w.step_audio.load_done, timeout=120000):
        qtbot.mouseClick(dlg.load_btn, Qt.MouseButton.LeftButton)
    assert dlg.lines()[-1].startswith("warn  load: generation v1 loaded in")
    assert "runs on the CPU: its torch has no CUDA device" in dlg.lines()[-1]
    client = shared_client(load_settings())
    assert client.alive and client.loaded["generation"] == "v1"
    panel = w.controls.engine_panel
    assert panel is None  # prosody is still the engine: the diagnosis does not switch
    choose_engine(w, ENGINE_NAME)
    assert "Model v1 loaded" in w.controls.engine_panel.status.text()
    dlg.close()


def test_diagnose_with_nothing_configured(user_dirs, window, qtbot):
    with qtbot.waitSignal(window.step_audio.doctor_done, timeout=60000):
        window.step_audio_ui.open_doctor()
    lines = window.step_audio_ui.doctor_dialog.lines()
    assert lines[0] == f"FAIL  configuration: nothing configured ({config_path()} does not exist)"
    assert lines[1].startswith("hint: create the model environment (stepedit setup step-audio --print-env-commands")
    window.step_audio_ui.doctor_dialog.close()


# --- transcripts, tags, one-shot passes ---------------------------------------------------------


def test_edit_with_the_sidecar_then_a_subregion_needs_typed_words(gpu_window, qtbot, models, line, tmp_path):
    w, st, box = gpu_window, gpu_window.state, gpu_window.controls.transcript_box
    assert box.isVisible() and box.edit.toPlainText() == SIDECAR_WORDS
    assert box.note.text() == "From line.txt (the whole clip's words)."
    set_slider(w, "emotion", "happy", 60)
    assert render_and_wait(w, qtbot) == 1
    (take,) = st.takes
    assert take.request.transcript == SIDECAR_WORDS and take.engine == ENGINE_NAME
    assert [(c["edit_type"], c["edit_info"], c["audio_text"]) for c in calls(models)] == [
        ("emotion", "happy", SIDECAR_WORDS)]
    assert take.flags["engine"]["generation"] == "v1"

    # A sub-region: the sidecar's words are taken away, and a render is refused, pointing here.
    st.set_region_seconds(0.0, 1.4)
    assert box.edit.toPlainText() == "" and box.note.property("warning")
    assert box.note.text() == "Needed: the exact words of 0:00.000–0:01.400. line.txt holds the whole file's; StepEdit does not guess the region's."
    clear_calls(models)
    with qtbot.waitSignal(w.error_shown, timeout=5000) as err:
        assert not w.renderer.render()
    one_line(err.args[0])
    assert err.args[0].startswith("Type the exact words of the selected region (0:00.000–0:01.400) in the "
                                  "Transcript field")
    assert len(st.takes) == 1 and calls(models) == []
    w.last_error.close()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is box.edit)
    qtbot.keyClicks(box.edit, "Lord, but I'm glad")
    assert box.note.text() == "Typed."
    assert render_and_wait(w, qtbot) == 1
    assert st.selected_take.request.transcript == "Lord, but I'm glad"
    assert [c["audio_text"] for c in calls(models)] == ["Lord, but I'm glad"]

    # Typed words stay when the selection moves (they are visible, and the note says so).
    st.set_region_seconds(0.0, 1.5)
    assert box.edit.toPlainText() == "Lord, but I'm glad" and "the selection has changed" in box.note.text()
    # Back to the whole clip with an empty field: the sidecar's words return.
    box.edit.clear()
    st.select_all()
    assert box.edit.toPlainText() == SIDECAR_WORDS

    # The transcripts are stored with the takes' requests in the project.
    project = tmp_path / "line.stepedit"
    assert w.documents.save_project_now(project)
    doc = json.loads(project.read_text())
    texts = [t["request"].get("transcript") for t in doc["takes"]]
    assert texts == [SIDECAR_WORDS, "Lord, but I'm glad"]


def test_a_lab_sidecar_with_htk_labels_fills_the_field(configured, window, qtbot, tmp_path, data_dir):
    path = tmp_path / "arctic.wav"
    shutil.copy(data_dir / LINE, path)
    path.with_suffix(".lab").write_text("0 2000000 sil\n2000000 5000000 Lord,\n5000000 9000000 but\n"
                                        "9000000 12000000 I'm\n12000000 15000000 glad\n15000000 16000000 sp\n")
    open_and_wait(window, qtbot, path)
    choose_engine(window, ENGINE_NAME)
    box = window.controls.transcript_box
    assert box.edit.toPlainText() == "Lord, but I'm glad" and box.note.text().startswith("From arctic.lab")


def test_tags_go_in_at_the_cursor_and_make_a_paralinguistic_pass(gpu_window, qtbot, models):
    w, st, box = gpu_window, gpu_window.state, gpu_window.controls.transcript_box
    # Both spellings, grouped, with what they sound like.
    menu = box.tag_menu
    tags = [a.data() for a in menu.actions() if a.data()]
    assert tags == [t.tag for t in PARALINGUISTIC_TAGS] and len(tags) == 24
    sections = [a.text() for a in menu.actions() if not a.isSeparator() and not a.isEnabled()]
    assert sections == ["Original spelling (November 2025)", "Model card spelling (January 2026)"]
    assert box.tag_button.isVisible()
    # Cursor after "Lord, but": insert [Laughter] there (spaces added where a word touches it).
    box.edit.setFocus()
    cur = box.edit.textCursor()
    cur.setPosition(len("Lord, but"))
    box.edit.setTextCursor(cur)
    next(a for a in menu.actions() if a.data() == "[Laughter]").trigger()
    assert box.edit.toPlainText() == "Lord, but [Laughter] I'm glad to see you again, Phil."
    cur = box.edit.textCursor()
    cur.movePosition(cur.MoveOperation.End)
    box.edit.setTextCursor(cur)
    next(a for a in menu.actions() if a.data() == "[sigh]").trigger()
    assert box.edit.toPlainText().endswith("Phil. [sigh]")
    assert "Tags: [Laughter] [sigh]" in box.note.text()
    req = st.request()
    assert req.transcript == SIDECAR_WORDS and req.paralinguistic == box.edit.toPlainText()
    # A bracketed word the model does not know is pointed out.
    qtbot.keyClicks(box.edit, " [laff]")
    assert "[laff] is not a tag this engine knows" in box.note.text() and box.note.property("warning")
    for _ in range(len(" [laff]")):
        qtbot.keyClick(box.edit, Qt.Key.Key_Backspace)
    assert render_and_wait(w, qtbot) == 1
    (call,) = calls(models)
    assert call["edit_type"] == "paralinguistic" and call["audio_text"] == SIDECAR_WORDS
    assert call["target_text"] == "Lord, but [Laughter] I'm glad to see you again, Phil. [sigh]"
    take = st.selected_take
    assert take.request.paralinguistic == call["target_text"]
    # The sidecar's words with tags are still the whole file's: a sub-region empties the field.
    st.set_region_seconds(0.5, 1.5)
    assert box.edit.toPlainText() == "" and st.transcript == ""
    st.select_all()
    assert box.edit.toPlainText() == SIDECAR_WORDS
    assert take.segment.duration > w.state.clip.duration + 0.3  # the stand-in inserts 0.4 s there
    assert take.flags["transcript"] == call["target_text"]

    # One-shot passes: denoise alone needs no transcript; the panel's button is the menu's toggle.
    clear_calls(models)
    box.edit.clear()
    qtbot.mouseClick(w.controls.engine_panel.buttons["sa_denoise"], Qt.MouseButton.LeftButton)
    assert st.denoise and w.actions["sa_denoise"].isChecked()
    assert "denoise and silence removal alone need none" in box.note.text() and not box.note.property("warning")
    assert render_and_wait(w, qtbot) == 1
    assert [(c["edit_type"], c["audio_text"]) for c in calls(models)] == [("denoise", "")]
    assert st.selected_take.request.denoise and st.selected_take.request.summary() == "denoise"
    w.actions["sa_vad"].trigger()
    assert st.vad and w.controls.engine_panel.buttons["sa_vad"].isChecked()
    # Back to prosody: the one-shot passes are off (prosody cannot do them).
    choose_engine(w, "prosody")
    assert not st.denoise and not st.vad and not w.actions["sa_denoise"].isEnabled()


# --- cloning ---------------------------------------------------------------------------------------


def test_clone_from_the_window_opens_a_new_clip_after_saving_the_takes(gpu_window, qtbot, models, line, tmp_path):
    w, st = gpu_window, gpu_window.state
    set_slider(w, "emotion", "sad", 50)
    render_and_wait(w, qtbot)
    project = tmp_path / "line.stepedit"
    assert w.documents.save_project_now(project)
    render_and_wait(w, qtbot)  # a second take, not saved yet
    asked = []
    w.ask_unsaved = lambda n: asked.append(n) or "save"
    st.set_region_seconds(0.2, 2.4)
    w.controls.transcript_box.edit.setFocus()  # as a click in the field does
    qtbot.keyClicks(w.controls.transcript_box.edit, "Lord, but I'm glad to see you")

    w.actions["sa_clone"].trigger()
    dlg = w.step_audio_ui.clone_dialog
    assert dlg.isVisible() and dlg.use_region.isChecked() and "0:00.200–0:02.400" in dlg.use_region.text()
    assert dlg.prompt_text.toPlainText() == "Lord, but I'm glad to see you"  # the words typed for this region
    assert Path(dlg.output.text()) == line.parent / "line_clone.wav"
    dlg.dialect.setCurrentIndex(dlg.dialect.findData("[Cantonese]"))
    dlg.text.setFocus()
    qtbot.keyClicks(dlg.text, "A brand new line for the guard.")
    assert dlg.sent.text() == "Sent to the model: [Cantonese] A brand new line for the guard."

    # Stopped half way: nothing is written, nothing opens.
    set_flag(models, "STANDIN_SLOW", "20")
    assert dlg.start()
    assert not dlg.clone_btn.isEnabled() and dlg.progress.isVisible()
    qtbot.waitUntil(lambda: any(c["op"] == "clone" for c in calls(models)), timeout=60000)
    with qtbot.waitSignal(w.step_audio.clone_finished, timeout=20000):
        qtbot.mouseClick(dlg.cancel_btn, Qt.MouseButton.LeftButton)
    assert dlg.isVisible() and dlg.clone_btn.isEnabled() and not (line.parent / "line_clone.wav").exists()
    assert st.clip.path == line
    (models / "STANDIN_SLOW").unlink()

    clear_calls(models)
    with qtbot.waitSignal(w.documents.opened, timeout=120000):
        qtbot.mouseClick(dlg.clone_btn, Qt.MouseButton.LeftButton)
    assert not dlg.isVisible()
    (call,) = calls(models)
    assert call == {"op": "clone", "prompt_text": "Lord, but I'm glad to see you",
                    "text": "[Cantonese] A brand new line for the guard."}
    # The old takes were saved in their project before the new clip replaced them.
    assert asked == [2]  # the window counts every take not exported once the document changed
    assert len(json.loads(project.read_text())["takes"]) == 2
    # The clone is the new document.
    out = line.parent / "line_clone.wav"
    assert st.clip.path == out and st.clip.rate == 24000 and st.takes == []
    info = sf.info(out)
    assert info.samplerate == 24000 and info.subtype == "PCM_24" and info.frames == st.clip.frames
    assert w.windowTitle() == "StepEdit — line_clone.wav"


# --- failures and flags ----------------------------------------------------------------------------


class _UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def handle(self, url: QUrl) -> None:
        self.urls.append(url)


def test_a_worker_killed_mid_edit_is_one_line_with_the_log_and_the_next_render_restarts_it(
        gpu_window, qtbot, models):
    w, st = gpu_window, gpu_window.state
    set_slider(w, "emotion", "angry", 70)
    render_and_wait(w, qtbot)
    (first,) = st.takes
    client = shared_client(load_settings())
    pid = client.pid
    set_flag(models, "STANDIN_SLOW", "30")
    clear_calls(models)
    with qtbot.waitSignal(w.error_shown, timeout=60000) as err:
        assert w.renderer.render()
        qtbot.waitUntil(lambda: len(calls(models)) == 1, timeout=30000)  # the worker is in the pass
        os.kill(pid, signal.SIGKILL)
    line = err.args[0]
    one_line(line)
    assert line.startswith("the step-audio worker was killed by SIGKILL (the system may have run out of memory) "
                           "during the angry pass")
    assert line.endswith(f"the next edit restarts it; log: {client.log_file}")
    dlg = w.last_error
    assert dlg.isVisible() and dlg.text() == line and dlg.open_button is not None
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "handle")
    try:
        qtbot.mouseClick(dlg.open_button, Qt.MouseButton.LeftButton)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in catcher.urls] == [str(client.log_file)]
    assert dlg.isVisible()  # opening the log keeps the line on screen
    dlg.close()
    # The session and its takes are intact; the window is ready again.
    qtbot.waitUntil(lambda: not w.renderer.rendering)
    assert st.takes == [first] and st.selected_take is first and w.controls.render_btn.isEnabled()
    assert not client.alive
    assert "Model not loaded" in w.controls.engine_panel.status.text()

    (models / "STANDIN_SLOW").unlink()
    assert render_and_wait(w, qtbot) == 1
    assert len(st.takes) == 2 and client.alive and client.pid != pid


def test_flags_are_shown_in_the_diff_with_the_lost_band(configured, window, qtbot, tmp_path, data_dir, models):
    """A 48 kHz line (speech plus an 'air' band above 12 kHz) through a pass that drops content."""
    from scipy.signal import butter, resample_poly, sosfilt

    x, rate = sf.read(data_dir / "LJ001-0008.wav", dtype="float64")
    y = resample_poly(x, 320, 147)  # 22050 -> 48000
    air = sosfilt(butter(8, 13000, "highpass", fs=48000, output="sos"), np.random.default_rng(1).standard_normal(len(y)))
    y = y + 0.01 * air
    path = tmp_path / "wide.wav"
    sf.write(path, y.astype(np.float32), 48000, subtype="PCM_24")
    path.with_suffix(".txt").write_text("has never been surpassed.")
    open_and_wait(window, qtbot, path)
    choose_engine(window, ENGINE_NAME)
    window.controls.iterations.setValue(1)
    set_flag(models, "STANDIN_DROP")
    set_slider(window, "emotion", "angry", 50)
    render_and_wait(window, qtbot)
    take = window.state.selected_take
    assert take.flags["full_pass"] == ["angry"] and take.flags["band_limit_hz"] == 12000.0
    view = window.diff_view
    qtbot.waitUntil(lambda: view.table.rowCount() > 0, timeout=60000)
    assert view.flags_label.isVisible()
    text = view.flags_label.text()
    assert "kept whole (content dropped or added, so no in-between): angry" in text
    assert "nothing above 12 kHz (the engine's output band)" in text
    assert "alignment cost" in view.flags_label.toolTip() and "not aligned" in view.flags_label.toolTip()
    # The lost band is marked on the spectrogram difference, and is what the difference shows there.
    assert view.band.isVisible() and "12 kHz" in view.band_text.toPlainText()
    lo, hi = view.band.getRegion()
    rows = view.diff.spec_diff_db.shape[0]
    assert 0 < lo < hi == rows
    band = view.diff.spec_diff_db[int(np.ceil(lo)):]
    below = view.diff.spec_diff_db[: int(lo) - 8]
    assert band.mean() < -15 and band.mean() < below.mean() - 10
    # A take without flags shows none.
    clear_flags(models)
    window.state.set_region_seconds(0.2, 1.2)
    window.controls.transcript_box.edit.setPlainText("never been")
    render_and_wait(window, qtbot)
    qtbot.waitUntil(lambda: view.diff is not None and window.state.selected_take.name in view.title.text(),
                    timeout=60000)
    assert "full_pass" not in window.state.selected_take.flags
    assert view.flags_label.text().startswith("⚑ nothing above 12 kHz") and "kept whole" not in view.flags_label.text()


@pytest.mark.parametrize("flag, start", [
    ("STANDIN_OOM", "out of GPU memory during the happy pass (OutOfMemoryError: CUDA out of memory."),
    ("STANDIN_HANG", "the step-audio worker did not finish the happy pass within 4 s (hung) and was stopped"),
])
def test_an_out_of_memory_or_hung_worker_is_one_line_and_the_takes_stay(flag, start, user_dirs, trees, models,
                                                                         window, qtbot, line):
    # Short limits: a call over 4 s counts as hung (the time limit is read at each request).
    save_settings(standin_settings(trees["v1"], trees["models"], timeout_s=4.0, timeout_per_audio_s=0.001,
                                    stall_s=3.0))
    w, st = window, window.state
    open_and_wait(w, qtbot, line)
    choose_engine(w, ENGINE_NAME)
    w.controls.iterations.setValue(1)
    set_slider(w, "emotion", "happy", 80)
    render_and_wait(w, qtbot)
    set_flag(models, flag)
    with qtbot.waitSignal(w.error_shown, timeout=60000) as err:
        assert w.renderer.render()
    one_line(err.args[0])
    assert err.args[0].startswith(start), err.args[0]
    assert err.args[0].endswith(f"log: {shared_client(load_settings()).log_file}")
    assert w.last_error.open_button is not None
    w.last_error.close()
    qtbot.waitUntil(lambda: not w.renderer.rendering)
    assert len(st.takes) == 1
    clear_flags(models)
    assert render_and_wait(w, qtbot) == 1 and len(st.takes) == 2


def test_the_device_line_comes_from_the_worker_not_the_editor():
    from stepedit_app.gui.step_audio.controller import describe_device

    assert describe_device(None) == ("The model runs on the GPU of its worker process (its own Python and torch), "
                                     "not the editor's; Diagnose checks it.", True)
    gpu = {"cuda": True, "device": "NVIDIA H100 80GB HBM3", "memory_total_mb": 81559}
    assert describe_device(gpu) == ("GPU of the model worker: NVIDIA H100 80GB HBM3, 80 GB.", True)
    cpu_torch = {"cuda": False, "device": "NVIDIA H100 80GB HBM3", "memory_total_mb": 81559}
    line, ok = describe_device(cpu_torch)
    assert not ok and line == ("The model worker runs on the CPU: nvidia-smi lists NVIDIA H100 80GB HBM3, 80 GB, but "
                               "its torch has no CUDA device. Diagnose says why.")


def test_auto_render_without_the_words_says_so_without_a_dialog(gpu_window, qtbot, models):
    w, st, box = gpu_window, gpu_window.state, gpu_window.controls.transcript_box
    st.set_region_seconds(0.5, 1.5)
    w.controls.auto_render.setChecked(True)
    shown = []
    w.error_shown.connect(shown.append)
    with qtbot.waitSignal(w.renderer.transcript_missing, timeout=5000) as missing:
        set_slider(w, "emotion", "happy", 30)
    assert missing.args == [False] and shown == [] and st.takes == [] and calls(models) == []
    assert w.statusBar().currentMessage().startswith("Type the exact words of the selected region")
    assert box.note.property("warning") and QApplication.focusWidget() is not box.edit
