"""``stepedit setup step-audio``, ``stepedit doctor``, ``stepedit clone`` and ``stepedit edit
--engine step-audio-editx`` on the command line: missing configuration, the stand-in tree,
transcripts from flags and sidecars, one-line errors with the documented exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from standin import TRANSCRIPTS, calls

from stepedit_app.audio.io import read_clip
from stepedit_app.cli import main
from stepedit_app.engines.controls import EMOTIONS, STYLES
from stepedit_app.engines.step_audio.settings import NOT_CONFIGURED, config_path
from stepedit_app.engines.step_audio.vocabulary import tag_strings


def run(argv, capsys):
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def configured(trees, capsys):
    rc, out, err = run(["setup", "step-audio", "--python", sys.executable, "--source", str(trees["v1"]),
                        "--models", str(trees["models"])], capsys)
    assert rc == 0, err
    return trees


# --- nothing configured ----------------------------------------------------------------------------


def test_doctor_with_nothing_configured_fails_with_clear_lines(user_dirs):
    r = subprocess.run([sys.executable, "-m", "stepedit_app", "doctor"], capture_output=True, text=True, timeout=120,
                       env={**os.environ})
    assert r.returncode == 1 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == "Step-Audio-EditX (engine step-audio-editx)"
    assert lines[1] == f"  FAIL  configuration: nothing configured ({config_path()} does not exist)"
    assert lines[2].startswith("        hint: create the model environment (stepedit setup step-audio --print-env-commands v1")
    assert lines[3] == "  skip  interpreter, source, official modules, packages, CUDA, weights: nothing configured"
    assert lines[4].startswith("supported upstream commits (stepfun-ai/Step-Audio-EditX): v1 aacb90a (2025-12-22")
    assert "v2 a652e87" in lines[4]
    assert "Traceback" not in r.stdout


def test_engines_lists_the_whole_vocabulary_even_unconfigured(capsys):
    rc, out, err = run(["engines", "--json"], capsys)
    assert rc == 0 and err == ""
    e = {x["name"]: x for x in json.loads(out)}["step-audio-editx"]
    assert e["available"] is False and e["reason"] == NOT_CONFIGURED
    assert e["emotions"] == list(EMOTIONS) and len(e["emotions"]) == 14
    assert e["styles"] == list(STYLES) and len(e["styles"]) == 32
    assert e["speed"] == ["faster", "slower"]
    assert e["edit_kinds"] == ["emotion", "style", "speed", "denoise", "vad", "paralinguistic", "clone"]
    assert e["tags"] == list(tag_strings()) and "[Laughter]" in e["tags"] and "[laugh]" in e["tags"]
    assert e["needs_transcript"] is True and e["output_rate"] == 24000 and e["continuous"] is True


def test_edit_and_clone_unconfigured_are_one_line_exit_1(female16_clip_path, tmp_path, capsys):
    expected = f"stepedit: engine 'step-audio-editx' is not available: {NOT_CONFIGURED}"
    rc, out, err = run(["edit", str(female16_clip_path), "-o", str(tmp_path / "o.wav"), "--engine", "step-audio-editx",
                        "--emotion", "happy=0.5", "--text", "x"], capsys)
    assert rc == 1 and one_line(err) == expected
    (tmp_path / "p.txt").write_text("words")
    rc, out, err = run(["clone", "--prompt-audio", str(female16_clip_path), "--prompt-text", "words", "--text", "new",
                        "-o", str(tmp_path / "c.wav")], capsys)
    assert rc == 1 and one_line(err) == expected
    assert list(tmp_path.glob("*.wav")) == []


# --- setup -------------------------------------------------------------------------------------------


def test_setup_stores_the_configuration_atomically_and_updates_parts(configured, capsys):
    data = json.loads(config_path().read_text())
    assert data["python"] == sys.executable and data["source"] == str(configured["v1"])
    assert data["quantization"] is None and data["dtype"] is None
    assert sorted(p.name for p in config_path().parent.iterdir()) == ["step-audio.json"]
    rc, out, err = run(["setup", "step-audio", "--quantization", "int8", "--gpu-share", "70%", "--dtype", "float16"], capsys)
    assert rc == 0 and out.startswith(f"saved {config_path()} (Step-Audio-EditX v1)")
    data = json.loads(config_path().read_text())
    assert (data["quantization"], data["gpu_share"], data["dtype"]) == ("int8", 0.7, "float16")
    assert data["source"] == str(configured["v1"])  # kept
    rc, out, err = run(["setup", "step-audio", "--show"], capsys)
    assert rc == 0 and out.startswith(f"# {config_path()}\n") and '"quantization": "int8"' in out


def test_setup_keeps_a_venv_python_symlink(trees, tmp_path, capsys):
    link = tmp_path / "venv" / "bin" / "python"
    link.parent.mkdir(parents=True)
    link.symlink_to(sys.executable)
    rc, _, err = run(["setup", "step-audio", "--python", str(link), "--source", str(trees["v1"]),
                      "--models", str(trees["models"])], capsys)
    assert rc == 0, err
    assert json.loads(config_path().read_text())["python"] == str(link)  # not resolved to the base interpreter


@pytest.mark.parametrize("argv,expected", [
    (["setup", "step-audio", "--python", "{py}"], "stepedit: setup step-audio: --source, --models needed (nothing is configured yet)"),
    (["setup", "step-audio", "--python", "{tmp}/nope", "--source", "{v1}", "--models", "{models}"],
     "stepedit: --python {tmp}/nope: no such file"),
    (["setup", "step-audio", "--python", "{py}", "--source", "{tmp}", "--models", "{models}"],
     "stepedit: --source {tmp}: holds no tts.py (give the Step-Audio-EditX source folder)"),
    (["setup", "step-audio", "--python", "{py}", "--source", "{v1}", "--models", "{tmp}/m"],
     "stepedit: --models {tmp}/m: no such folder"),
    (["setup", "step-audio", "--python", "{py}", "--source", "{v1}", "--models", "{models}", "--quantization", "fp8"],
     "stepedit: --quantization fp8: the source is generation v1, which takes int4, int8, awq-4bit"),
    (["setup", "step-audio", "--python", "{py}", "--source", "{v2}", "--models", "{models}", "--quantization", "int4"],
     "stepedit: --quantization int4: the source is generation v2, which takes awq, gptq, fp8"),
    (["setup", "step-audio", "--python", "{py}", "--source", "{v1}", "--models", "{models}", "--gpu-share", "2"],
     "stepedit: GPU memory share 2.0 out of range (allowed: 0.05..1)"),
    (["setup", "step-audio", "--show"], "stepedit: nothing configured ({cfg} does not exist)"),
    (["setup", "elsewhere"], "^stepedit setup: argument target: invalid choice: 'elsewhere' (choose from "),
])
def test_setup_errors_are_one_line_exit_2_and_store_nothing(trees, tmp_path, capsys, argv, expected):
    fill = {"py": sys.executable, "tmp": str(tmp_path), "v1": str(trees["v1"]), "v2": str(trees["v2"]),
            "models": str(trees["models"]), "cfg": str(config_path())}
    rc, out, err = run([a.format(**fill) for a in argv], capsys)
    assert rc == 2 and out == ""
    if expected.startswith("^"):
        assert one_line(err).startswith(expected[1:].format(**fill))
    else:
        assert one_line(err) == expected.format(**fill)
    assert not config_path().exists()


@pytest.mark.parametrize("gen,must", [
    ("v1", ["git -C /src checkout aacb90a", "python3.10 -m venv", "transformers==4.53.3", "onnxruntime-gpu==1.17.0",
            "stepfun-ai/Step-Audio-EditX --local-dir /m/Step-Audio-EditX",
            "stepfun-ai/Step-Audio-Tokenizer --local-dir /m/Step-Audio-Tokenizer",
            "stepedit setup step-audio --python ~/.venvs/step-audio-v1/bin/python --source /src --models /m"]),
    ("v2", ["git -C /src checkout a652e87", "uv sync --python 3.12", "vLLM 0.14.0rc2",
            "stepedit setup step-audio --python /src/.venv/bin/python --source /src --models /m"]),
])
def test_print_env_commands(capsys, gen, must):
    rc, out, err = run(["setup", "step-audio", "--print-env-commands", gen, "--source", "/src", "--models", "/m"], capsys)
    assert rc == 0 and err == ""
    for piece in must:
        assert piece in out, piece
    assert not config_path().exists()  # printing stores nothing


# --- doctor on the stand-in --------------------------------------------------------------------------


def _doctor(capsys, *extra):
    rc, out, err = run(["doctor", "--json", *extra], capsys)
    assert err == ""
    d = json.loads(out)
    return rc, {c["name"]: c for c in d["checks"]}


def test_doctor_checks_each_piece_of_the_stand_in(configured, capsys):
    rc, checks = _doctor(capsys, "--load")
    assert rc == 1  # no CUDA here
    assert checks["configuration"]["status"] == "ok"
    assert checks["source"] == {"name": "source", "status": "ok", "detail": "generation v1 at aacb90a (supported)", "hint": ""}
    assert checks["interpreter"]["status"] == "warn" and "v1's pins install on 3.10" in checks["interpreter"]["detail"]
    assert checks["official modules"]["status"] == "ok"
    assert checks["packages"]["status"] == "FAIL"  # transformers missing or >= 4.54 in the editor's own venv
    assert "pip install transformers==4.53.3" in checks["packages"]["hint"]
    assert checks["CUDA"]["status"] == "FAIL" and checks["CUDA"]["detail"] == "no CUDA device visible in the model environment"
    assert checks["weights"]["status"] == "ok" and checks["weights"]["detail"].startswith("12 expected files present")
    assert checks["load"]["status"] == "ok" and checks["load"]["detail"].startswith("generation v1 loaded in ")
    assert checks["log"]["status"] == "info"


def test_doctor_names_missing_weights_and_broken_modules(configured, tmp_path, capsys):
    models = tmp_path / "models"
    shutil.copytree(configured["models"], models)
    (models / "Step-Audio-EditX" / "CosyVoice-300M-25Hz" / "hift.pt").unlink()
    for p in (models / "Step-Audio-EditX").glob("*.safetensors"):
        p.unlink()
    src = tmp_path / "src"
    shutil.copytree(configured["v1"], src)
    (src / "tokenizer.py").write_text("import funasr_detach_missing\n")
    rc, _, err = run(["setup", "step-audio", "--models", str(models), "--source", str(src)], capsys)
    assert rc == 0, err
    rc, checks = _doctor(capsys, "--load")
    assert rc == 1
    assert checks["weights"]["detail"] == (f"missing in {models}: Step-Audio-EditX/*.safetensors, "
                                           "Step-Audio-EditX/CosyVoice-300M-25Hz/hift.pt")
    assert checks["official modules"]["detail"] == ("tokenizer does not import: ModuleNotFoundError: No module named "
                                                    "'funasr_detach_missing'")
    assert checks["source"]["status"] == "ok"
    assert checks["load"]["status"] == "skip"


def test_doctor_text_output_has_a_hint_under_each_failure(configured, capsys):
    rc, out, err = run(["doctor"], capsys)
    assert rc == 1 and err == ""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  FAIL"):
            assert lines[i + 1].startswith("        hint: "), lines[i:i + 2]
    assert lines[-1] == "the GPU engine is not ready; the embedded engine (prosody) works without it"


# --- edit and clone on the stand-in ------------------------------------------------------------------


def test_cli_edit_with_text(configured, female16_clip_path, tmp_path, capsys):
    out_path = tmp_path / "happy.wav"
    rc, out, err = run(["edit", str(female16_clip_path), "-o", str(out_path), "--engine", "step-audio-editx",
                        "--emotion", "happy=0.5", "--iterations", "2", "--text", TRANSCRIPTS[female16_clip_path.name],
                        "--seed", "3"], capsys)
    assert rc == 0, err
    assert err.startswith(f"wrote {out_path} (happy 50%, 2 iterations): pitch +")
    assert read_clip(out_path).rate == 16000
    assert [c["audio_text"] for c in calls(configured["models"])] == [TRANSCRIPTS[female16_clip_path.name]] * 2


def test_cli_edit_reads_a_sidecar_for_the_whole_file_only(configured, female_clip_path, tmp_path, capsys):
    src = tmp_path / "line.wav"
    shutil.copy(female_clip_path, src)
    out_path = tmp_path / "o.wav"
    base = ["edit", str(src), "-o", str(out_path), "--engine", "step-audio-editx", "--style", "serious=1"]
    rc, out, err = run(base, capsys)
    assert rc == 2 and one_line(err) == (f"stepedit: engine 'step-audio-editx' needs the transcript of the region: "
                                         f"--text \"...\", or {tmp_path / 'line'}.txt next to the file")
    (tmp_path / "line.txt").write_text(TRANSCRIPTS[female_clip_path.name] + "\n")
    rc, out, err = run(base, capsys)
    assert rc == 0, err
    assert err.splitlines()[0] == f"transcript from {tmp_path / 'line.txt'}"
    assert "note: nothing above 12 kHz" not in err  # 22.05 kHz: the model's band covers it
    assert calls(configured["models"])[-1]["audio_text"] == TRANSCRIPTS[female_clip_path.name]
    rc, out, err = run([*base, "--region", "1:3"], capsys)
    assert rc == 2 and one_line(err) == ("stepedit: region 1.000–3.000 s needs its own transcript (--text); line.txt "
                                         "holds the whole file's words and StepEdit does not guess which of them the "
                                         "region speaks")


def test_cli_edit_notes_the_lost_band(configured, female_clip_path, tmp_path, capsys):
    x, rate = sf.read(female_clip_path)
    from stepedit_app.engines.step_audio.inputs import resample

    src = tmp_path / "wide.wav"
    sf.write(src, resample(x, rate, 44100), 44100)
    rc, out, err = run(["edit", str(src), "-o", str(tmp_path / "o.flac"), "--engine", "step-audio-editx",
                        "--denoise"], capsys)
    assert rc == 0, err
    assert "note: nothing above 12 kHz (the engine's output band)" in err.splitlines()


def test_cli_clone(configured, male_clip_path, tmp_path, capsys):
    prompt = tmp_path / "voice.wav"
    shutil.copy(male_clip_path, prompt)
    out_path = tmp_path / "clone.wav"
    base = ["clone", "--prompt-audio", str(prompt), "--text", "[Cantonese] a new line in the same voice", "-o",
            str(out_path)]
    rc, out, err = run(base, capsys)
    assert rc == 2 and one_line(err) == (f"stepedit: the prompt's transcript is needed: --prompt-text, or "
                                         f"{tmp_path / 'voice'}.txt next to it")
    rc, out, err = run([*base, "--prompt-text", TRANSCRIPTS[male_clip_path.name], "--rate", "16000"], capsys)
    assert rc == 0, err
    c = read_clip(out_path)
    assert c.rate == 16000 and c.channels == 1 and c.duration > 2.0
    assert calls(configured["models"])[-1] == {"op": "clone", "prompt_text": TRANSCRIPTS[male_clip_path.name],
                                               "text": "[Cantonese] a new line in the same voice"}
    (tmp_path / "voice.lab").write_text(TRANSCRIPTS[male_clip_path.name])
    rc, out, err = run([*base, "-o", str(tmp_path / "clone2.wav")], capsys)
    assert rc == 0 and f"prompt transcript from {tmp_path / 'voice.lab'}" in err


def test_cli_clone_refuses_a_long_prompt_and_never_writes_over_it(configured, male_clip_path, tmp_path, capsys):
    x, rate = sf.read(male_clip_path)
    long = tmp_path / "long.wav"
    sf.write(long, np.tile(x, 9), rate)
    rc, out, err = run(["clone", "--prompt-audio", str(long), "--prompt-text", "w", "--text", "new", "-o",
                        str(tmp_path / "o.wav")], capsys)
    assert rc == 2 and one_line(err).startswith(f"stepedit: clone: the prompt is {9 * len(x) / rate:.1f} s; the model takes up to 30 s")
    rc, out, err = run(["clone", "--prompt-audio", str(long), "--prompt-text", "w", "--text", "new", "-o", str(long)],
                       capsys)
    assert rc == 2 and "refusing to overwrite the source file" in err
