"""Reading and writing audio files: a corrupt-input corpus generated into tmp_path, the formats
libsndfile gives us, export subtypes, source protection and atomic writes.

Every unusable file must become one :class:`AudioInputError` line naming the file and the
problem, and through the command line exactly one ``stepedit: ...`` line on stderr with exit
status 2 (never a traceback).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from stepedit_app.audio.clip import Clip, Region
from stepedit_app.audio.io import read_clip, read_info, write_clip
from stepedit_app.cli import main
from stepedit_app.engines.prosody.profiles import PROFILES
from stepedit_app.errors import AudioInputError, AudioOutputError, RegionError

ROOT = Path(__file__).parents[2]


# --- the corpus ----------------------------------------------------------------------------


def _make(kind: str, tmp: Path, real: Path) -> Path:
    """Create one broken input of ``kind`` in ``tmp`` (from the real clip where useful)."""
    if kind == "zero_bytes":
        p = tmp / "zero.wav"
        p.write_bytes(b"")
    elif kind == "text":
        p = tmp / "notes.wav"
        p.write_text("Shopping list\n- eggs\n- milk\n" * 30)
    elif kind == "header":
        p = tmp / "header.wav"
        p.write_bytes(real.read_bytes()[:20])
    elif kind == "nan":
        p = tmp / "nan.wav"
        x = (0.1 * np.sin(np.arange(16000) / 5.0)).astype(np.float32)
        x[6000] = np.nan  # first bad sample at 6000 / 16000 = 0.375 s
        x[9000] = np.inf
        sf.write(p, x, 16000, subtype="FLOAT")
    elif kind == "no_frames":
        p = tmp / "noframes.wav"
        sf.write(p, np.zeros((0, 1), np.float32), 16000, subtype="PCM_16")
    elif kind == "missing":
        p = tmp / "does_not_exist.wav"
    elif kind == "folder":
        p = tmp / "a_folder.wav"
        p.mkdir()
    elif kind == "rate_4k":
        p = tmp / "rate4k.wav"
        sf.write(p, 0.1 * np.sin(np.arange(4000) / 3.0), 4000, subtype="PCM_16")
    else:  # pragma: no cover - test bug
        raise AssertionError(kind)
    return p


#: kind -> the reason after "PATH: " (exact), or a prefix of it (ending in "(").
REASONS = {
    "zero_bytes": "file is empty (0 bytes)",
    "text": "not an audio file that can be read (format not recognised)",
    "header": "truncated or corrupt audio file (",
    "nan": "contains non-finite samples (NaN or infinity), first at 0.375 s",
    "no_frames": "contains no audio (0 frames)",
    "missing": "file not found",
    "folder": "is a folder, not an audio file",
    "rate_4k": "sample rate 4000 Hz is not supported (8000–192000 Hz)",
}


def _check_reason(msg: str, path: Path, kind: str) -> None:
    reason = REASONS[kind]
    assert "\n" not in msg
    if reason.endswith("("):
        assert msg.startswith(f"{path}: {reason}"), msg
        assert msg.endswith(")") and len(msg) > len(f"{path}: {reason})"), msg
    else:
        assert msg == f"{path}: {reason}", msg


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_read_clip_gives_one_line_naming_file_and_reason(kind, tmp_path, female_clip_path):
    path = _make(kind, tmp_path, female_clip_path)
    with pytest.raises(AudioInputError) as exc:
        read_clip(path)
    _check_reason(str(exc.value), path, kind)
    # also accepted as a string path
    with pytest.raises(AudioInputError) as exc2:
        read_clip(str(path))
    assert str(exc2.value) == str(exc.value)


@pytest.mark.parametrize("kind", ["zero_bytes", "text", "header", "missing", "folder"])
def test_read_info_uses_the_same_lines(kind, tmp_path, female_clip_path):
    path = _make(kind, tmp_path, female_clip_path)
    with pytest.raises(AudioInputError) as exc:
        read_info(path)
    _check_reason(str(exc.value), path, kind)


def _one_stderr_line(capsys) -> tuple[str, str]:
    cap = capsys.readouterr()
    lines = cap.err.splitlines()
    assert len(lines) == 1, cap.err
    assert "Traceback" not in cap.err
    return lines[0], cap.out


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_cli_info_and_edit_refuse_with_one_line(kind, tmp_path, female_clip_path, capsys):
    path = _make(kind, tmp_path, female_clip_path)
    with pytest.raises(AudioInputError) as exc:
        read_clip(path)
    expected = f"stepedit: {exc.value}"
    out = tmp_path / "out.wav"
    for argv in (
        ["info", str(path)],
        ["info", str(path), "--json"],
        ["edit", str(path), "-o", str(out), "--emotion", "happy=0.5"],
    ):
        assert main(argv) == 2, argv
        line, stdout = _one_stderr_line(capsys)
        assert line == expected
        assert stdout == ""
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_subprocess_never_shows_a_traceback(tmp_path, female_clip_path):
    """The real program, as the user runs it: one line, exit 2, for every corpus entry."""
    procs = {}
    for kind in sorted(REASONS):
        d = tmp_path / kind
        d.mkdir()
        path = _make(kind, d, female_clip_path)
        commands = [("info", ["info", str(path)])]
        if kind == "nan":  # edit too (each process costs ~2 s of imports; in-process tests cover the rest)
            commands.append(("edit", ["edit", str(path), "-o", str(d / "out.wav"), "--style", "whisper=0.4"]))
        for cmd, argv in commands:
            procs[kind, cmd] = (path, subprocess.Popen(
                [sys.executable, "-m", "stepedit_app", *argv], cwd=ROOT,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            ))
    assert len(procs) == len(REASONS) + 1
    for (kind, cmd), (path, proc) in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (kind, cmd, err)
        assert "Traceback" not in err and out == ""
        lines = err.splitlines()
        assert len(lines) == 1, (kind, cmd, err)
        assert lines[0].startswith("stepedit: ")
        _check_reason(lines[0][len("stepedit: "):], path, kind)
        assert not (path.parent / "out.wav").exists()


# --- truncated data, NaN, tiny and huge files ------------------------------------------------


def _data_offset(wav_bytes: bytes) -> int:
    i = wav_bytes.index(b"data")
    return i + 8


def test_wav_truncated_mid_data_reads_the_part_that_is_there(tmp_path, female_clip_path):
    """libsndfile reads a WAV whose data chunk was cut short: we get exactly the whole frames
    that are in the file, identical to the start of the full recording (not an error)."""
    data = female_clip_path.read_bytes()
    half = tmp_path / "half.wav"
    half.write_bytes(data[: len(data) // 2])
    clip = read_clip(half)
    full = read_clip(female_clip_path)
    expected_frames = (len(data) // 2 - _data_offset(data)) // 2  # 16-bit mono
    assert clip.frames == expected_frames
    assert 0 < clip.frames < full.frames
    assert clip.rate == full.rate and clip.channels == 1 and clip.subtype == "PCM_16"
    assert np.array_equal(clip.samples, full.samples[: clip.frames])


def test_truncated_wav_edits_through_the_cli(tmp_path, female_clip_path, capsys):
    data = female_clip_path.read_bytes()
    half = tmp_path / "half.wav"
    half.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.wav"
    assert main(["edit", str(half), "-o", str(out), "--region", "0.2:0.8", "--style", "loudly=0.5", "-q"]) == 0
    assert capsys.readouterr().err == ""
    y, rate = sf.read(out, dtype="float32", always_2d=True)
    src = read_clip(half)
    assert rate == src.rate and len(y) == src.frames  # 'loudly' keeps the timing
    a = int(round(0.2 * rate))
    assert np.array_equal(y[:a], src.samples[:a])


def test_nan_message_points_at_the_first_bad_sample_in_any_channel(tmp_path):
    p = tmp_path / "nan2.wav"
    x = np.zeros((8000, 2), np.float32)
    x[2400, 1] = np.nan  # 0.3 s, right channel only
    sf.write(p, x, 8000, subtype="FLOAT")
    with pytest.raises(AudioInputError) as exc:
        read_clip(p)
    assert str(exc.value) == f"{p}: contains non-finite samples (NaN or infinity), first at 0.300 s"


def test_ten_ms_clip_reads_but_cannot_be_edited(tmp_path, capsys):
    p = tmp_path / "tiny.wav"
    sf.write(p, 0.2 * np.sin(np.arange(160) / 4.0), 16000, subtype="PCM_16")
    clip = read_clip(p)
    assert clip.frames == 160 and clip.duration == pytest.approx(0.010)
    msg = "region 0.000–0.010 s is too short to edit (0.010 s; minimum 0.1 s)"
    with pytest.raises(RegionError) as exc:
        clip.whole().check_editable(clip)
    assert str(exc.value) == msg
    # info works on it
    assert main(["info", str(p), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames"] == 160 and info["rate_hz"] == 16000
    # edit refuses with exactly that line
    out = tmp_path / "o.wav"
    assert main(["edit", str(p), "-o", str(out), "--emotion", "happy=0.5"]) == 2
    line, _ = _one_stderr_line(capsys)
    assert line == f"stepedit: {msg}"
    assert not out.exists()


def _multichannel_voice(rate: int, n: int, channels: int) -> np.ndarray:
    t = np.arange(n) / rate
    f0 = 150 * (1 + 0.03 * np.sin(2 * np.pi * 4 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 10))
    voice *= 0.25 / np.abs(voice).max()
    return np.stack([voice * (1.0 - 0.08 * c) for c in range(channels)], axis=1).astype(np.float32)


def test_192k_8_channel_file_reads_and_edits(tmp_path, capsys):
    rate, n = 192000, 96000  # 0.5 s
    x = _multichannel_voice(rate, n, 8)
    src = tmp_path / "multi.wav"
    sf.write(src, x, rate, subtype="PCM_24")
    clip = read_clip(src)
    assert (clip.rate, clip.channels, clip.frames, clip.subtype) == (rate, 8, n, "PCM_24")
    assert np.abs(clip.samples - x).max() < 2.0**-22
    out = tmp_path / "out.wav"
    assert main(["edit", str(src), "-o", str(out), "--emotion", "happy=0.5"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"wrote {out} (happy 50%, 1 iteration)") and err.count("\n") == 1
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.format, info.subtype) == (rate, 8, "WAV", "PCM_24")
    y, _ = sf.read(out, dtype="float32", always_2d=True)
    # happy at 0.5 scales speech by exp(0.5 * tempo_log) and pauses by exp(0.5 * (tempo + pause))
    p = PROFILES["emotion"]["happy"]
    shortest = n * np.exp(0.5 * (p.tempo_log + p.pause_log))
    longest = n * np.exp(0.5 * p.tempo_log)
    assert shortest - 2 <= len(y) <= longest + 2, (len(y), shortest, longest)
    # the signal is a continuous voice: all speech, so the speech factor applies
    assert abs(len(y) - longest) <= 0.01 * n
    assert np.isfinite(y).all() and 0.01 < np.abs(y).max() < 1.0
    assert all(np.std(y[:, c]) > 0.01 for c in range(8))  # no channel lost


# --- formats we read -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source(female_clip_path) -> Clip:
    return read_clip(female_clip_path)


LOSSLESS = [
    ("flac", "FLAC", "PCM_16"),
    ("flac24", "FLAC", "PCM_24"),
    ("aiff", "AIFF", "PCM_16"),
    ("int32", "WAV", "PCM_32"),
    ("float64", "WAV", "DOUBLE"),
    ("float32", "WAV", "FLOAT"),
]


@pytest.mark.parametrize("name,fmt,subtype", LOSSLESS)
@pytest.mark.parametrize("channels", [1, 2])
def test_lossless_formats_read_exactly(name, fmt, subtype, channels, source, tmp_path):
    x = source.samples[:, 0]
    data = x[:, None] if channels == 1 else np.stack([x, np.roll(x, 441)], axis=1)
    ext = {"FLAC": ".flac", "AIFF": ".aiff", "WAV": ".wav"}[fmt]
    p = tmp_path / f"{name}{ext}"
    sf.write(p, data, source.rate, format=fmt, subtype=subtype)
    c = read_clip(p)
    assert (c.rate, c.channels, c.frames, c.subtype) == (source.rate, channels, source.frames, subtype)
    assert c.samples.dtype == np.float32 and not c.samples.flags.writeable
    assert c.path == p.resolve()
    # 16-bit samples are exact in every one of these
    assert np.array_equal(c.samples, data)


def _best_correlation(a: np.ndarray, b: np.ndarray, max_lag: int) -> float:
    n = min(len(a), len(b)) - max_lag
    best = -1.0
    for lag in range(-max_lag, max_lag + 1, 1):
        x = a[max(0, lag) : max(0, lag) + n]
        y = b[max(0, -lag) : max(0, -lag) + n]
        best = max(best, float(np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y))))
    return best


@pytest.mark.parametrize("fmt,subtype,ext", [("OGG", "VORBIS", ".ogg"), ("MP3", "MPEG_LAYER_III", ".mp3")])
def test_lossy_formats_read(fmt, subtype, ext, source, tmp_path):
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile ({sf.__libsndfile_version__}) cannot write {fmt}")
    x = source.samples[:, 0]
    data = np.stack([x, 0.5 * x], axis=1)
    p = tmp_path / f"speech{ext}"
    sf.write(p, data, source.rate, format=fmt, subtype=subtype)
    c = read_clip(p)
    assert c.rate == source.rate and c.channels == 2 and c.subtype == subtype
    assert abs(c.frames - source.frames) <= 2048  # codec padding at most
    assert np.isfinite(c.samples).all()
    assert _best_correlation(c.samples[:, 0].astype(np.float64), x.astype(np.float64), 1200) > 0.95
    # and it edits: a lossy source exports at the 24-bit default
    out = tmp_path / "from_lossy.wav"
    write_clip(c, out)
    assert sf.info(str(out)).subtype == "PCM_24"


def test_8khz_file_reads(source, tmp_path):
    y = scipy.signal.resample_poly(source.samples[:, 0].astype(np.float64), 160, 441)
    p = tmp_path / "narrow.wav"
    sf.write(p, y, 8000, subtype="PCM_16")
    c = read_clip(p)
    assert c.rate == 8000 and c.frames == len(y)
    assert np.abs(c.samples[:, 0] - y).max() <= 2.0**-15 + 1e-9


# --- writing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ext,subtype,expected_subtype", [
    (".wav", "16", "PCM_16"), (".wav", "24", "PCM_24"), (".wav", "float", "FLOAT"),
    (".flac", "16", "PCM_16"), (".flac", "24", "PCM_24"),
    (".wav", "PCM_24", "PCM_24"), (".flac", "pcm16", "PCM_16"), (".wav", None, "PCM_16"),
    (".flac", None, "PCM_16"),
])
def test_write_and_reread_a_16_bit_source_is_bit_identical(ext, subtype, expected_subtype, source, tmp_path):
    out = tmp_path / f"out{ext}"
    assert write_clip(source, out, subtype) == out
    info = sf.info(str(out))
    assert info.subtype == expected_subtype and info.samplerate == source.rate
    back = read_clip(out)
    assert np.array_equal(back.samples, source.samples)


@pytest.mark.parametrize("ext,subtype,tol", [
    (".wav", "16", 2.0**-15), (".wav", "24", 2.0**-23), (".wav", "float", 0.0),
    (".flac", "16", 2.0**-15), (".flac", "24", 2.0**-23),
])
def test_write_quantises_within_one_step(ext, subtype, tol, tmp_path):
    rng = np.random.default_rng(3)
    x = (rng.uniform(-0.9, 0.9, size=(4000, 3))).astype(np.float32)
    clip = Clip(x, 44100)
    out = tmp_path / f"q{ext}"
    write_clip(clip, out, subtype)
    back = read_clip(out)
    assert back.channels == 3 and back.rate == 44100
    if tol:
        assert 0 < np.abs(back.samples - x).max() <= tol
    else:
        assert np.array_equal(back.samples, x)


def test_pcm_export_clips_overs_and_float_keeps_them(tmp_path):
    x = np.array([0.5, 1.5, -2.0, 0.25], np.float32)
    clip = Clip(x, 8000)
    write_clip(clip, tmp_path / "f.wav", "float")
    assert np.array_equal(read_clip(tmp_path / "f.wav").samples[:, 0], x)
    write_clip(clip, tmp_path / "i.wav", "24")
    y = read_clip(tmp_path / "i.wav").samples[:, 0]
    assert y[1] == pytest.approx(1.0, abs=2e-7) and y[2] == -1.0 and y[0] == 0.5


def test_flac_float_is_refused_naming_the_allowed_subtypes(source, tmp_path):
    out = tmp_path / "x.flac"
    with pytest.raises(AudioOutputError) as exc:
        write_clip(source, out, "float")
    assert str(exc.value) == "FLAC export does not support 'float' (allowed: PCM_16 (16-bit), PCM_24 (24-bit))"
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_unknown_export_extension_is_refused(source, tmp_path):
    out = tmp_path / "x.mp3"
    with pytest.raises(AudioOutputError) as exc:
        write_clip(source, out)
    assert str(exc.value) == f"{out}: cannot export to .mp3 (allowed: .wav, .flac)"


def test_export_refuses_non_finite_audio(tmp_path):
    clip = Clip(np.array([0.0, np.nan, 0.1], np.float32), 8000)
    out = tmp_path / "x.wav"
    with pytest.raises(AudioOutputError) as exc:
        write_clip(clip, out)
    assert str(exc.value) == f"{out}: audio contains non-finite samples; nothing written"
    assert list(tmp_path.iterdir()) == []


def test_export_into_a_missing_folder(source, tmp_path):
    out = tmp_path / "nope" / "x.wav"
    with pytest.raises(AudioOutputError) as exc:
        write_clip(source, out)
    assert str(exc.value) == f"{out}: folder {out.parent} does not exist"


def test_never_writes_over_the_source(female_clip_path, tmp_path, capsys):
    src = tmp_path / "take.wav"
    src.write_bytes(female_clip_path.read_bytes())
    link = tmp_path / "link.wav"
    link.symlink_to(src)
    before = src.read_bytes()
    clip = read_clip(src)
    for target in (src, link, tmp_path / "." / "take.wav"):
        with pytest.raises(AudioOutputError) as exc:
            write_clip(clip, target)
        assert str(exc.value) == f"{target}: refusing to overwrite the source file; choose another name"
        assert main(["edit", str(src), "-o", str(target), "--emotion", "sad=0.4"]) == 2
        line, _ = _one_stderr_line(capsys)
        assert line == f"stepedit: {target}: refusing to overwrite the source file; choose another name"
    # an edited clip (no path of its own) is protected through ``protect``
    edited = clip.with_samples(clip.samples * 0.5)
    with pytest.raises(AudioOutputError, match="refusing to overwrite the source file"):
        write_clip(edited, link, protect=(src,))
    assert src.read_bytes() == before and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.wav", "take.wav"]


def test_atomic_write_leaves_the_previous_export_when_writing_fails(source, tmp_path, monkeypatch):
    target = tmp_path / "export.wav"
    write_clip(source.with_samples(source.samples * 0.5), target)
    previous = target.read_bytes()
    real_write = sf.SoundFile.write
    calls = []

    def fail_half_way(self, data):
        calls.append(len(data))
        real_write(self, data[: len(data) // 2])  # half the samples really reach the disk
        raise OSError("No space left on device")

    monkeypatch.setattr(sf.SoundFile, "write", fail_half_way)
    with pytest.raises(AudioOutputError) as exc:
        write_clip(source, target)
    assert calls == [source.frames]
    assert str(exc.value) == f"{target}: could not be written (No space left on device)"
    assert target.read_bytes() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["export.wav"]  # no .part file left
    # a new target is not created at all
    fresh = tmp_path / "fresh.flac"
    with pytest.raises(AudioOutputError):
        write_clip(source, fresh)
    assert not fresh.exists()
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def test_export_gets_ordinary_file_permissions(source, tmp_path):
    """The atomic temporary file must not leave exports readable by their owner only."""
    umask = os.umask(0o022)
    try:
        out = tmp_path / "shared.wav"
        write_clip(source, out)
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        # rewriting an existing export keeps its permissions
        os.chmod(out, 0o664)
        write_clip(source, out, "24")
        assert stat.S_IMODE(out.stat().st_mode) == 0o664
    finally:
        os.umask(umask)


def test_region_check_editable_on_read_files(source):
    r = Region.parse("1:1.05", source.rate)
    with pytest.raises(RegionError) as exc:
        r.check_editable(source)
    assert str(exc.value) == "region 1.000–1.050 s is too short to edit (0.050 s; minimum 0.1 s)"


# --- more truncations and the supported-rate bounds -------------------------------------------


def test_wav_cut_inside_or_just_after_the_header(female_clip_path, tmp_path, capsys):
    """44 bytes is the whole canonical header with no sample data: 'no audio', not 'corrupt'."""
    data = female_clip_path.read_bytes()
    assert _data_offset(data) == 44
    for n in (44, 45):  # 45: one byte of a 2-byte sample, still no whole frame
        p = tmp_path / f"cut{n}.wav"
        p.write_bytes(data[:n])
        with pytest.raises(AudioInputError) as exc:
            read_clip(p)
        assert str(exc.value) == f"{p}: contains no audio (0 frames)"
        assert main(["info", str(p)]) == 2
        line, _ = _one_stderr_line(capsys)
        assert line == f"stepedit: {p}: contains no audio (0 frames)"


@pytest.mark.parametrize("fmt,subtype,ext,outcome", [
    ("WAV", "FLOAT", ".wav", "prefix"),
    ("AIFF", "PCM_16", ".aiff", "prefix"),
    ("WAV", "PCM_24", ".wav", "prefix"),
    ("FLAC", "PCM_16", ".flac", "error"),  # the FLAC decoder loses sync: refused, never garbage
])
def test_other_files_cut_in_half(fmt, subtype, ext, outcome, source, tmp_path, capfd):
    """A file cut in half is either read as the whole frames it still holds (exactly the start
    of the recording) or refused with the one 'truncated or corrupt' line; which one is fixed
    per format here so that a change of behaviour is noticed."""
    x = np.stack([source.samples[:, 0], -source.samples[:, 0]], axis=1)
    full = tmp_path / f"full{ext}"
    sf.write(full, x, source.rate, format=fmt, subtype=subtype)
    b = full.read_bytes()
    p = tmp_path / f"half{ext}"
    p.write_bytes(b[: len(b) // 2])
    if outcome == "prefix":
        c = read_clip(p)
        assert c.channels == 2 and c.rate == source.rate and c.subtype == subtype
        assert 0.4 * len(x) < c.frames < 0.6 * len(x)
        assert np.array_equal(c.samples, read_clip(full).samples[: c.frames])
    else:
        with pytest.raises(AudioInputError) as exc:
            read_clip(p)
        msg = str(exc.value)
        assert msg.startswith(f"{p}: truncated or corrupt audio file (") and msg.endswith(")")
        assert "\n" not in msg
        capfd.readouterr()
        assert main(["info", str(p)]) == 2
        err = capfd.readouterr().err  # file-descriptor level: libsndfile adds nothing either
        assert err == f"stepedit: {msg}\n"


@pytest.mark.parametrize("rate,ok", [(7999, False), (8000, True), (192000, True), (192001, False), (384000, False)])
def test_supported_rate_bounds(rate, ok, tmp_path):
    p = tmp_path / f"r{rate}.wav"
    sf.write(p, np.zeros(2000), rate, subtype="PCM_16")
    if ok:
        assert read_clip(p).rate == rate
    else:
        with pytest.raises(AudioInputError) as exc:
            read_clip(p)
        assert str(exc.value) == f"{p}: sample rate {rate} Hz is not supported (8000–192000 Hz)"


def test_edit_of_a_clip_with_overs_writes_pcm_within_full_scale(tmp_path, capsys):
    """A float source beyond full scale edits and exports as 16-bit without wrapping around."""
    rate = 16000
    x = _multichannel_voice(rate, rate, 1) * 6.0  # peaks at 1.5
    src = tmp_path / "hot.wav"
    sf.write(src, x, rate, subtype="FLOAT")
    out = tmp_path / "hot16.wav"
    assert main(["edit", str(src), "-o", str(out), "--style", "loudly=0.3", "--subtype", "16", "-q"]) == 0
    y, r = sf.read(out, dtype="float32", always_2d=True)
    assert r == rate and np.isfinite(y).all() and len(y) == len(x)  # 'loudly' keeps the timing
    # the engine limits peaks to -1 dBFS, so nothing reaches the 16-bit clip (or wraps around)
    assert 0.85 < np.abs(y).max() <= 10 ** (-1 / 20) + 2.0**-15
    assert float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) > 0.1  # still a full-level voice


# --- region and request errors the corpus files cannot show (merged from test_bad_input.py) -----


@pytest.mark.parametrize("args, msg", [
    (["--region", "3:2"], "region 3.000–2.000 s is empty (end must be after start)"),
    (["--region", "1:1.05"], "region 1.000–1.050 s is too short to edit (0.050 s; minimum 0.1 s)"),
    (["--iterations", "11"], "iterations: 11 out of range (allowed: 1..10)"),
])
def test_bad_region_or_request_gives_one_line_and_writes_nothing(args, msg, tmp_path, female_clip_path, capsys):
    out = tmp_path / "o.wav"
    assert main(["edit", str(female_clip_path), "-o", str(out), "--emotion", "happy=1", *args]) == 2
    line, _ = _one_stderr_line(capsys)
    assert line == f"stepedit: {msg}"
    assert not out.exists()
