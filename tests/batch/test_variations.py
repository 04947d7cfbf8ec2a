"""Variations: the grid from the command line (levels, presets, recipe delivery), takes named
by level for the window, and "Export starred" through the delivery settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from stepedit_app.audio.analysis import loudness_lufs, measure_cues
from stepedit_app.audio.io import read_clip
from stepedit_app.engines.controls import EditRequest
from stepedit_app.errors import RequestError, StepEditError
from stepedit_app.session.recipe import Delivery
from stepedit_app.session.session import EditSession
from stepedit_app.session.variations import (
    VariationProgress,
    VariationTake,
    export_starred,
    load_presets,
    parse_levels,
    render_variations,
    variation_grid,
)

from .helpers import DATA, independent_true_peak_db, stepedit, write_recipe


def test_cli_renders_a_grid_of_levels_named_by_level(tmp_path):
    src = DATA / "cmu_arctic_us_aew_a0001.wav"
    r = stepedit("variations", str(src), "--emotion", "angry", "--levels", "0.25,0.5,0.75,1",
                 "-o", str(tmp_path / "v"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [o["variation"] for o in out] == ["angry 25%", "angry 50%", "angry 75%", "angry 100%"]
    names = sorted(p.name for p in (tmp_path / "v").iterdir())
    assert names == sorted(f"cmu_arctic_us_aew_a0001_angry{n}.wav" for n in (25, 50, 75, 100))
    # a grid that means something: pitch rises with the level, the source is untouched
    f0 = [o["deltas"]["f0_st"] for o in out]
    assert all(b > a for a, b in zip(f0, f0[1:])) and f0[0] > 0
    base = measure_cues(read_clip(src)).median_f0_hz
    for o in out:
        got = measure_cues(read_clip(o["path"])).median_f0_hz
        assert abs(12 * np.log2(got / base) - o["deltas"]["f0_st"]) < 0.3


def test_cli_grid_of_presets_by_levels_through_a_recipe(tmp_path):
    recipe = write_recipe(tmp_path / "r.json", preset="aswg-portable", sample_rate=44100, bit_depth=16,
                          naming="{name}")
    r = stepedit("variations", str(DATA / "LJ001-0008.wav"), "--preset", "battle_shout", "--preset", "Weary elder",
                 "--levels", "50%,1", "--recipe", str(recipe), "--iterations", "1", "-o", str(tmp_path / "v"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [o["variation"] for o in out] == ["Battle shout 50%", "Battle shout 100%", "Weary elder 50%",
                                            "Weary elder 100%"]
    for o in out:
        y, rate = sf.read(o["path"], dtype="float64")
        assert rate == 44100 and sf.info(o["path"]).subtype == "PCM_16"
        assert abs(loudness_lufs(y, rate) - -18.0) <= 0.5 and independent_true_peak_db(y) < -1.0
    assert sorted(p.name for p in (tmp_path / "v").iterdir())[0] == "LJ001-0008_battle_shout100.wav"


@pytest.mark.parametrize(("args", "message"), [
    (["--emotion", "angry"], "--emotion needs --levels"),
    (["--emotion", "angy", "--levels", "0.5"], "--emotion 'angy': unknown"),
    (["--emotion", "angry", "--levels", "0.5,2"], "--levels: 2 out of range (0..1)"),
    (["--preset", "nope"], "--preset 'nope': unknown (shipped: battle_shout"),
    ([], "nothing to vary"),
])
def test_cli_usage_errors_are_one_line(tmp_path, args, message):
    r = stepedit("variations", str(DATA / "LJ001-0008.wav"), *args, "-o", str(tmp_path / "v"))
    assert r.returncode == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "v").exists()


def test_render_variations_names_takes_by_level_for_the_window_and_reports_progress():
    clip = read_clip(DATA / "LJ001-0008.wav")
    session = EditSession(clip)
    grid = variation_grid(control=("style", "whisper"), levels=parse_levels("0.3,0.6"),
                          base=EditRequest(emotions={"sad": 0.2}), iterations=2)
    events = list(render_variations(session, grid))
    takes = [e for e in events if isinstance(e, VariationTake)]
    assert len(session.takes) == 0  # render_variations publishes nothing; the caller does
    for t in takes:
        session.takes.add(t.take)
    assert [t.take.name for t in takes] == ["whisper 30% · it 1/2", "whisper 30%", "whisper 60% · it 1/2", "whisper 60%"]
    assert [t.final for t in takes] == [False, True, False, True]
    assert dict(takes[1].take.request.emotions) == {"sad": 0.2}  # the base request is kept
    prog = [e.overall for e in events if isinstance(e, VariationProgress)]
    assert prog == sorted(prog) and prog[-1] == 1.0
    assert len(session.takes) == 4


def test_export_starred_writes_every_starred_take_through_the_delivery(tmp_path):
    clip = read_clip(DATA / "LJ001-0004.wav")
    session = EditSession(clip)
    grid = variation_grid(control=("emotion", "happy"), levels=[0.4, 0.8])
    finals = []
    for e in render_variations(session, grid):
        if isinstance(e, VariationTake):
            session.takes.add(e.take)
            finals.append(e.take)
    with pytest.raises(StepEditError, match="no starred takes"):
        export_starred(clip, session.takes, Delivery(), tmp_path)
    for t in finals:
        session.takes.set_starred(t, True)
    delivery = Delivery(format="flac", bit_depth="24", sample_rate=48000, lufs=-23.0, tolerance_lu=0.5,
                        trim_head=True, trim_tail=True, tail_pad_ms=200, naming="{name}_{emotion}_{take}")
    done = export_starred(clip, session.takes, delivery, tmp_path)
    assert [e.path.name for e in done] == [f"LJ001-0004_happy40_{finals[0].id}.flac", f"LJ001-0004_happy80_{finals[1].id}.flac"]
    for e in done:
        y, rate = sf.read(e.path, dtype="float64")
        assert rate == 48000 and sf.info(e.path).subtype == "PCM_24"
        assert abs(loudness_lufs(y, rate) - -23.0) <= 0.5 and independent_true_peak_db(y) < -1.0
        assert not np.any(y[-int(0.2 * rate):])
        assert e.take.exported and e.report.in_spec
    with pytest.raises(StepEditError, match="two takes would be written"):
        export_starred(clip, session.takes, Delivery(naming="{name}"), tmp_path)


def test_shipped_presets_load_and_levels_parse():
    presets = load_presets()
    assert "battle_shout" in presets and presets["battle_shout"].label == "Battle shout"
    assert parse_levels("0.25, 50%,1") == [0.25, 0.5, 1.0]
    with pytest.raises(RequestError, match="given twice"):
        parse_levels("0.5,50%")



def test_a_cell_that_converges_early_ends_with_its_result_named_by_its_level(converging_engine):
    clip = read_clip(DATA / "LJ001-0008.wav")
    session = EditSession(clip, engine=converging_engine())
    grid = variation_grid(control=("style", "whisper"), levels=parse_levels("0.3,0.6"), iterations=3)
    events = list(render_variations(session, grid))
    takes = [e for e in events if isinstance(e, VariationTake)]
    # one take per cell, the one iteration 2 could not improve on: final, named by its level
    assert [(t.take.name, t.take.iteration, t.final) for t in takes] == [("whisper 30%", 1, True),
                                                                         ("whisper 60%", 1, True)]
    assert np.allclose(takes[0].take.segment.samples, clip.samples * 0.5, atol=2 ** -23)
    prog = [e.overall for e in events if isinstance(e, VariationProgress)]
    assert prog == sorted(prog)
