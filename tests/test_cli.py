"""The ``stepedit`` command line on real speech: engines, info, edit, and usage errors (exit 2,
one line on stderr, never a traceback)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stepedit_app.audio.clip import Region
from stepedit_app.audio.io import read_clip
from stepedit_app.cli import SUBCOMMANDS, main
from stepedit_app.engines.controls import EMOTIONS, STYLES
from stepedit_app.engines.registry import create_engine, engine_names

_COMMANDS = ", ".join(SUBCOMMANDS)
_ENGINES = ", ".join(engine_names())

ROOT = Path(__file__).parents[1]


def _run(argv, capsys) -> tuple[int, str, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- engines ---------------------------------------------------------------------------------


def test_engines_text(capsys):
    rc, out, err = _run(["engines"], capsys)
    assert rc == 0 and err == ""
    caps = create_engine("prosody").capabilities()
    lines = out.splitlines()
    assert lines[0] == "prosody — available"
    assert f"  emotions: {', '.join(caps.emotions)}" in lines
    assert f"  styles: {', '.join(caps.styles)}" in lines
    assert f"  speed: {', '.join(caps.speed)}" in lines
    assert "  intensity: continuous; devices: cpu; transcript: not needed" in lines


def test_engines_json(capsys):
    rc, out, err = _run(["engines", "--json"], capsys)
    assert rc == 0 and err == ""
    engines = json.loads(out)
    assert isinstance(engines, list)
    by_name = {e["name"]: e for e in engines}
    p = by_name["prosody"]
    caps = create_engine("prosody").capabilities()
    assert p["available"] is True and p["reason"] == "ready"
    assert p["emotions"] == list(caps.emotions) and "happy" in p["emotions"]
    assert p["styles"] == list(caps.styles) and "whisper" in p["styles"]
    assert p["speed"] == ["faster", "slower"]
    assert p["needs_transcript"] is False and p["devices"] == ["cpu"] and p["continuous"] is True
    assert p == {"name": "prosody", "available": True, "reason": "ready", **caps.to_dict()}


# --- info ------------------------------------------------------------------------------------


@pytest.mark.parametrize("which,frames,rate,f0_lo,f0_hi", [
    ("female_clip_path", 113309, 22050, 180, 280),
    ("male_clip_path", 62081, 16000, 85, 140),
])
def test_info_json_on_real_speech(which, frames, rate, f0_lo, f0_hi, request, capsys):
    path = request.getfixturevalue(which)
    rc, out, err = _run(["info", str(path), "--json"], capsys)
    assert rc == 0 and err == ""
    info = json.loads(out)
    assert info["path"] == str(path.resolve())
    assert info["frames"] == frames and info["rate_hz"] == rate and info["channels"] == 1
    assert info["duration_s"] == pytest.approx(frames / rate, abs=1e-4)
    assert info["subtype"] == "PCM_16"
    assert f0_lo <= info["median_f0_hz"] <= f0_hi
    assert math.isfinite(info["loudness_lufs"]) and -40 < info["loudness_lufs"] < -10
    assert 0.0 <= info["speech_ratio"] <= 1.0 and info["speech_ratio"] > 0.5  # it is speech
    assert 0.0 < info["voiced_fraction"] <= 1.0
    assert info["peak_dbfs"] < 0
    assert info["f0_range_st"] > 1


def test_info_text(female_clip_path, capsys):
    rc, out, err = _run(["info", str(female_clip_path)], capsys)
    assert rc == 0 and err == ""
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in out.splitlines())
    assert list(rows) == ["file", "duration", "sample rate", "channels", "format", "median pitch",
                          "pitch range", "loudness", "peak", "speech ratio"]
    assert rows["file"].strip() == str(female_clip_path.resolve())
    assert rows["duration"].strip() == "5.139 s (113309 frames)"
    assert rows["sample rate"].strip() == "22050 Hz"
    assert rows["channels"].strip() == "1"
    assert rows["format"].strip() == "PCM_16"
    f0 = float(rows["median pitch"].split()[0])
    assert 180 <= f0 <= 280 and rows["median pitch"].strip().endswith(" Hz")
    assert rows["loudness"].strip().endswith(" LUFS") and math.isfinite(float(rows["loudness"].split()[0]))
    assert rows["speech ratio"].strip().endswith(" %")


# --- edit ------------------------------------------------------------------------------------


def test_edit_region_with_kept_iterations(female_clip_path, tmp_path, capsys):
    out = tmp_path / "out.wav"
    keep = tmp_path / "iterations"
    argv = ["edit", str(female_clip_path), "-o", str(out), "--region", "0.5:1.7", "--emotion", "sad=0.6",
            "--iterations", "3", "--keep-iterations", str(keep)]
    rc, stdout, err = _run(argv, capsys)
    assert rc == 0 and stdout == ""
    line = _one_line(err)
    # three iterations, or fewer when one could not improve on the last (no duplicate takes)
    assert line.startswith(f"wrote {out} (sad 60%, 3 iterations): ") or line.startswith(
        f"wrote {out} (sad 60%, converged at iteration ")
    src = read_clip(female_clip_path)
    r = Region.parse("0.5:1.7", src.rate)
    names = sorted(p.name for p in keep.iterdir())
    assert 1 <= len(names) <= 3
    assert names == [f"LJ001-0004_sad60_it{k}.wav" for k in range(1, len(names) + 1)]
    outputs = []
    for p in [keep / n for n in names] + [out]:
        info = sf.info(str(p))
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", src.rate, 1)
        y = read_clip(p)
        assert np.isfinite(y.samples).all()
        # before the region: the source, bit for bit; after it: the source, shifted
        assert np.array_equal(y.samples[: r.start], src.samples[: r.start])
        assert np.array_equal(y.samples[y.frames - (src.frames - r.end) :], src.samples[r.end :])
        # sad is slower: the region got longer
        assert y.frames > src.frames
        # the region itself changed
        seg = y.samples[r.start : r.start + r.length]
        assert not np.array_equal(seg, src.samples[r.start : r.end])
        outputs.append(y)
    assert np.array_equal(outputs[-1].samples, outputs[-2].samples)  # the output is the last iteration


def test_edit_with_no_change_is_bit_identical(female_clip_path, tmp_path, capsys):
    out = tmp_path / "same.flac"
    rc, _, err = _run(["edit", str(female_clip_path), "-o", str(out), "--emotion", "happy=0", "-q"], capsys)
    assert rc == 0 and err == ""
    assert sf.info(str(out)).subtype == "PCM_16"
    assert np.array_equal(read_clip(out).samples, read_clip(female_clip_path).samples)


def test_edit_subtype_and_percent(male_clip_path, tmp_path, capsys):
    out = tmp_path / "loud.wav"
    rc, _, err = _run(["edit", str(male_clip_path), "-o", str(out), "--style", "loudly=60%", "--subtype", "float",
                       "--region", "1:", "-q"], capsys)
    assert rc == 0 and err == ""
    info = sf.info(str(out))
    assert info.subtype == "FLOAT" and info.samplerate == 16000
    src = read_clip(male_clip_path)
    y = read_clip(out)
    assert abs(y.frames - src.frames) <= 1  # 'loudly' changes no timing
    assert np.array_equal(y.samples[:16000], src.samples[:16000])


# --- usage errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("argv,expected", [
    (["edit", "{src}"], "=stepedit edit: the following arguments are required: -o/--output"),
    (["edit", "{src}", "-o", "{out}", "--emotion", "happy"],
     "=stepedit: --emotion 'happy': expected NAME=INTENSITY, e.g. happy=0.6"),
    (["edit", "{src}", "-o", "{out}", "--emotion", "happy:0.5"],
     "=stepedit: --emotion 'happy:0.5': expected NAME=INTENSITY, e.g. happy=0.6"),
    (["edit", "{src}", "-o", "{out}", "--emotion", "happy=lots"],
     "=stepedit: --emotion 'happy=lots': intensity 'lots' is not a number (allowed: 0..1)"),
    (["edit", "{src}", "-o", "{out}", "--emotion", "happy=0.5", "--engine", "nope"],
     f"=stepedit: engine 'nope' is unknown (allowed: {_ENGINES})"),
    (["edit", "{src}", "-o", "{out}", "--emotion", "hapy=0.5"],
     "=stepedit: emotions: unknown name 'hapy' (did you mean 'happy'? allowed: " + ", ".join(EMOTIONS) + ")"),
    (["edit", "{src}", "-o", "{out}", "--style", "zzqx=0.5"],
     "=stepedit: styles: unknown name 'zzqx' (allowed: " + ", ".join(STYLES) + ")"),
    (["edit", "{src}", "-o", "{out}", "--emotion", "happy=1.5"],
     "=stepedit: emotions.happy: intensity 1.5 out of range (allowed: 0..1)"),
    (["edit", "{src}", "-o", "{out}", "--emotion", "happy=0.5", "--subtype", "8"],
     "=stepedit: WAV export does not support '8' (allowed: PCM_16 (16-bit), PCM_24 (24-bit), FLOAT (32-bit float))"),
    (["edit", "{src}", "-o", "{out}", "--region", "1:1.05", "--emotion", "sad=1"],
     "=stepedit: region 1.000–1.050 s is too short to edit (0.050 s; minimum 0.1 s)"),
    (["edit", "{src}", "-o", "{out}", "--region", "abc", "--emotion", "sad=1"],
     "=stepedit: region 'abc': expected START:END in seconds, e.g. 0.5:2.0"),
    (["edit", "{src}", "-o", "{out}", "--emotion", "humour=0.5"],
     "=stepedit: engine 'prosody' cannot do emotion 'humour'; see 'stepedit engines' for what it supports"),
    (["edit", "{src}", "-o", "{out}", "--emotion", "happy=0.5", "--emotion", "Happy=0.7"],
     "=stepedit: emotions.happy: given twice"),
    (["edit", "{src}", "-o", "{out}", "--style", "whisper=0.2", "--style", "whisper=0.9"],
     "=stepedit: styles.whisper: given twice"),
    (["edit", "{src}", "-o", "{out}", "--iterations", "abc"],
     "=stepedit edit: argument --iterations: invalid int value: 'abc'"),
    (["edit", "{src}", "-o", "{out}", "--iterations", "0", "--emotion", "sad=1"],
     "=stepedit: iterations: 0 out of range (allowed: 1..10)"),
    (["edit", "{src}", "-o", "{dir}/x.mp3", "--emotion", "sad=1"],
     "=stepedit: {dir}/x.mp3: cannot export to .mp3 (allowed: .wav, .flac)"),
    (["edit", "{src}", "-o", "{out}", "--region", "9:10", "--emotion", "sad=1"],
     "=stepedit: region 9.000–10.000 s is outside the clip (0.000–5.139 s)"),
    (["edit", "{src}", "-o", "{out}", "--mood", "grumpy"], "^stepedit: unrecognized arguments: --mood grumpy"),
    (["frobnicate", "{src}"], "^stepedit: argument command: invalid choice: 'frobnicate'"),
    (["info"], "=stepedit info: the following arguments are required: input"),
    (["info", "{src}", "--verbose"], "=stepedit: unrecognized arguments: --verbose"),
    (["--bogus"], "=stepedit: unrecognized arguments: --bogus"),
    (["{dir}/nothing_here.wav"],
     "=stepedit: {dir}/nothing_here.wav: no such file (commands: " + _COMMANDS + "; see stepedit --help)"),
    (["frobnicate"], "=stepedit: frobnicate: no such file (commands: " + _COMMANDS + "; see stepedit --help)"),
])
def test_usage_errors_give_exit_2_and_one_line(argv, expected, female_clip_path, tmp_path, capsys):
    fill = {"src": str(female_clip_path), "out": str(tmp_path / "out.wav"), "dir": str(tmp_path)}
    argv = [a.format(**fill) for a in argv]
    expected = expected.format(**fill)
    rc, out, err = _run(argv, capsys)
    assert rc == 2, (argv, err)
    assert out == ""
    line = _one_line(err)
    if expected.startswith("="):
        assert line == expected[1:]
    else:
        assert line.startswith(expected[1:]), line
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing written


def test_usage_errors_in_a_real_process(female_clip_path, tmp_path):
    cases = [
        (["frobnicate", str(female_clip_path)], "stepedit: argument command: invalid choice: 'frobnicate'"),
        (["edit", str(female_clip_path)], "stepedit edit: the following arguments are required: -o/--output"),
        ([str(tmp_path / "missing.wav")], f"stepedit: {tmp_path / 'missing.wav'}: no such file"),
        (["edit", str(female_clip_path), "-o", str(tmp_path / "o.wav"), "--engine", "nope", "--emotion", "happy=1"],
         "stepedit: engine 'nope' is unknown"),
    ]
    procs = [(expect, subprocess.Popen([sys.executable, "-m", "stepedit_app", *argv], cwd=ROOT, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)) for argv, expect in cases]
    for expect, proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        assert out == "" and "Traceback" not in err
        assert len(err.splitlines()) == 1 and err.startswith(expect), err
    assert list(tmp_path.iterdir()) == []


def test_help_and_version_exit_cleanly(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("stepedit ")
    with pytest.raises(SystemExit) as exc:
        main(["edit", "--help"])
    assert exc.value.code == 0
    assert "--keep-iterations DIR" in capsys.readouterr().out


def test_keep_iterations_on_an_existing_file_is_one_line(female_clip_path, tmp_path, capsys):
    """--keep-iterations naming a file (not a folder) used to end in a FileExistsError traceback
    and exit status 1."""
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    out = tmp_path / "out.wav"
    rc, stdout, err = _run(["edit", str(female_clip_path), "-o", str(out), "--emotion", "happy=0.5",
                            "--region", "0.5:1.0", "--keep-iterations", str(blocker)], capsys)
    assert rc == 2 and stdout == ""
    assert _one_line(err) == f"stepedit: {blocker}: cannot create the --keep-iterations folder (File exists)"
    assert not out.exists() and blocker.read_text() == "x"


def test_edit_to_a_folder_named_like_a_wav_is_one_line(female_clip_path, tmp_path, capsys):
    target = tmp_path / "d.wav"
    target.mkdir()
    rc, _, err = _run(["edit", str(female_clip_path), "-o", str(target), "--style", "loudly=0.5",
                       "--region", "0.5:0.8", "-q"], capsys)
    assert rc == 2
    assert _one_line(err) == f"stepedit: {target}: is a folder"
    assert list(target.iterdir()) == []


def test_info_on_the_16k_female_clip(female16_clip_path, capsys):
    rc, out, err = _run(["info", str(female16_clip_path), "--json"], capsys)
    assert rc == 0 and err == ""
    info = json.loads(out)
    assert info["rate_hz"] == 16000 and info["channels"] == 1
    assert 2.5 < info["duration_s"] < 3.1
    assert 150 <= info["median_f0_hz"] <= 320
    assert math.isfinite(info["loudness_lufs"]) and 0.0 <= info["speech_ratio"] <= 1.0


def test_edit_keep_duration_keeps_the_length_to_the_sample(female_clip_path, tmp_path, capsys):
    """--keep-duration: a slowing edit of a region leaves the file's length unchanged to the
    sample; without it the file gets longer."""
    src = read_clip(female_clip_path)
    for flag, same in (("--keep-duration", True), (None, False)):
        out = tmp_path / f"sad_{same}.wav"
        argv = ["edit", str(female_clip_path), "-o", str(out), "--emotion", "sad=1", "--region", "0.3:4.5", "-q"]
        rc, _, err = _run(argv + ([flag] if flag else []), capsys)
        assert rc == 0 and err == ""
        y = read_clip(out)
        assert (y.frames == src.frames) is same
        assert not np.array_equal(y.samples, src.samples)
