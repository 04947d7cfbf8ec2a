"""Diff (what changed) and export (splice, formats, loudness) on real speech."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from stepedit_app.audio.analysis import loudness_lufs
from stepedit_app.audio.clip import Region
from stepedit_app.audio.io import read_clip
from stepedit_app.engines.controls import EditRequest
from stepedit_app.errors import StepEditError
from stepedit_app.session.diff import compute_diff, dtw_path
from stepedit_app.session.export import export, render_name, true_peak_dbfs
from stepedit_app.session.session import EditSession


@pytest.fixture(scope="module")
def edited(data_dir):
    clip = read_clip(data_dir / "LJ001-0004.wav")
    s = EditSession(clip)
    region = Region.from_seconds(1.0, 3.0, clip.rate)
    take = s.run(EditRequest(emotions={"sad": 1.0}), region)[0]  # slower: length changes
    return clip, s, region, take


def test_dtw_recovers_a_known_stretch():
    rng = np.random.default_rng(0)
    a = np.cumsum(rng.standard_normal((120, 4)), axis=0)
    idx = np.minimum((np.arange(180) / 1.5).astype(int), 119)  # b = a stretched x1.5
    b = a[idx]
    path = dtw_path(a, b)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (119, 179)
    assert np.all(np.diff(path, axis=0) >= 0)
    err = np.abs(idx[path[:, 1]] - path[:, 0])
    assert np.mean(err == 0) > 0.95


def test_diff_reports_the_edit_in_the_users_units(edited):
    clip, s, region, take = edited
    d = compute_diff(clip.slice(region), take.segment, identity=False)
    keys = [r.key for r in d.rows]
    for k in ("f0_st", "range_st", "tempo_pct", "loudness_lu", "tilt_db", "voiced", "f1_pct", "f2_pct"):
        assert k in keys
    assert d.row("tempo_pct").value < -5  # sad is slower
    assert d.row("loudness_lu").value < -1.5  # and softer
    assert d.row("range_st").value < 0
    assert d.row("tempo_pct").change.endswith("%")
    # alignment: the path spans both, and the aligned take pitch lives on the original's frames
    assert len(d.path) and d.path[-1, 1] > d.path[-1, 0]
    assert len(d.aligned_take_f0) == len(d.f0_original)
    assert np.mean(d.aligned_take_f0 > 0) > 0.3
    assert d.spec_diff_db.shape[0] == 96 and np.isfinite(d.spec_diff_db).all()
    assert d.identity is None


def test_diff_of_identical_audio_shows_no_change(edited):
    clip, _, region, _ = edited
    seg = clip.slice(region)
    d = compute_diff(seg, seg, identity=False)
    for key in ("f0_st", "range_st", "loudness_lu", "tilt_db", "f1_pct"):
        assert abs(d.row(key).value) < 1e-9
    assert np.abs(d.spec_diff_db).max() == 0


def test_identity_is_a_similarity_or_absent(edited):
    clip, _, region, take = edited
    d = compute_diff(clip.slice(region), take.segment, identity=True)
    assert d.identity is None or 0.5 < d.identity <= 1.0


def test_export_full_keeps_everything_outside_the_region(edited, tmp_path):
    clip, s, region, take = edited
    out = export(clip, take, tmp_path / "x.wav", takes=s.takes)
    assert take.exported
    y, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == clip.rate and sf.info(out).subtype == "PCM_16"
    x = clip.samples
    n_after = clip.frames - region.end
    assert np.array_equal(y[: region.start], x[: region.start])
    assert np.array_equal(y[-n_after:], x[region.end :])
    assert len(y) == clip.frames - region.length + take.segment.frames
    assert not np.array_equal(y[region.start : region.start + 1000], x[region.start : region.start + 1000])


def test_export_region_flac_normalised_with_true_peak_ceiling(edited, tmp_path):
    clip, _, _, take = edited
    out = export(clip, take, tmp_path / "r.flac", scope="region", subtype="24", lufs=-16.0, true_peak_db=-1.0)
    y = read_clip(out)
    assert y.frames == take.segment.frames and sf.info(out).subtype == "PCM_24"
    assert true_peak_dbfs(y.samples, y.rate) <= -1.0 + 0.05
    got = loudness_lufs(y.samples, y.rate)
    assert got <= -16.0 + 0.1
    # a loud target is limited by the ceiling: loudness lands below it, never clipped
    out2 = export(clip, take, tmp_path / "loud.wav", scope="region", lufs=-3.0, true_peak_db=-1.0)
    y2 = read_clip(out2)
    assert true_peak_dbfs(y2.samples, y2.rate) <= -0.95
    assert loudness_lufs(y2.samples, y2.rate) < -3.0


def test_export_never_writes_the_source(edited, tmp_path):
    clip, _, _, take = edited
    before = clip.path.read_bytes()
    with pytest.raises(StepEditError, match="refusing to overwrite the source"):
        export(clip, take, clip.path)
    assert clip.path.read_bytes() == before


def test_file_name_template(edited):
    clip, _, _, take = edited
    assert render_name("{name}_{emotion}_{take}", source=clip, take=take, ext=".wav") == f"LJ001-0004_sad100_{take.id}.wav"
    assert render_name("{name}/{engine}:{iteration}", source=clip, take=take, ext="flac") == "LJ001-0004_prosody_1.flac"
    with pytest.raises(StepEditError, match=r"unknown field \{mood\}.*allowed: \{name\}"):
        render_name("{name}_{mood}", source=clip, take=take, ext=".wav")
    assert math.isfinite(true_peak_dbfs(clip.samples, clip.rate))


def test_pitch_rows_on_too_few_voiced_frames_read_na_with_the_reason(edited):
    clip, s, region, _ = edited
    whisper = s.run(EditRequest(emotions={"fear": 1.0}, styles={"whisper": 1.0}), region)[0]
    ra = s.analysis(region)
    d = compute_diff(clip.slice(region), whisper.segment, identity=False, original_track=ra.track,
                     original_cues=ra.cues, take_cues=whisper.cues)
    for key in ("f0_st", "range_st", "irregularity", "f1_pct", "f2_pct"):
        row = d.row(key)
        assert row.change.startswith("n/a (take ") and "% voiced" in row.change, row.change
        assert row.take == "n/a" and row.original != "n/a"
        assert math.isnan(row.value)
        assert "pitch and formant measures need 15 % voiced" in row.reason
    # rows that do not rest on voicing are still measured
    assert d.row("loudness_lu").reason == "" and math.isfinite(d.row("loudness_lu").value)


def test_the_region_is_analysed_once_for_engine_takes_and_diff(data_dir, monkeypatch):
    import stepedit_app.session.session as session_mod

    clip = read_clip(data_dir / "LJ001-0004.wav")
    s = EditSession(clip)
    region = Region.from_seconds(1.0, 3.0, clip.rate)
    calls = []
    real = session_mod.analyse
    monkeypatch.setattr(session_mod, "analyse", lambda c, r, cancel=None: calls.append(r) or real(c, r, cancel))
    import stepedit_app.engines.prosody.engine as engine_mod

    measured = []
    real_measure = engine_mod.measure_cues
    monkeypatch.setattr(engine_mod, "measure_cues", lambda *a, **kw: measured.append(a[0]) or real_measure(*a, **kw))
    take = s.run(EditRequest(emotions={"happy": 0.5}, iterations=1), region)[0]
    s.run(EditRequest(emotions={"happy": 0.8}, iterations=1), region)
    ra = s.analysis(region)
    d_shared = compute_diff(clip.slice(region), take.segment, identity=False, original_track=ra.track,
                            original_cues=ra.cues, take_cues=take.cues)
    assert calls == [region]  # two renders and a diff: one analysis of the original region
    # the engine measured only its own outputs, never the original region again
    original = clip.slice(region).samples
    assert len(measured) == 2
    assert not any(m.frames == region.length and np.array_equal(m.samples, original) for m in measured)
    d_fresh = compute_diff(clip.slice(region), take.segment, identity=False)
    assert [r.change for r in d_shared.rows] == [r.change for r in d_fresh.rows]
    assert math.isfinite(take.deltas["f0_st"])
    assert take.deltas["f0_st"] == pytest.approx(d_fresh.row("f0_st").value)
