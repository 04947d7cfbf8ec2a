"""Projects, autosave and recovery without a window: real renders, real files, real processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from stepedit_app.audio.clip import Clip, Region
from stepedit_app.audio.io import read_clip
from stepedit_app.engines.controls import EditRequest
from stepedit_app.session import project as proj
from stepedit_app.session.documents import OpenedProject, SourceProblem, open_project
from stepedit_app.session.project import (
    Autosave,
    ProjectError,
    ProjectSnapshot,
    find_recoverable,
    read_project,
    save_project,
    sidecar_folder,
)
from stepedit_app.session.session import EditSession
from stepedit_app.session.storage import (
    file_sha256,
    read_audio_lossless,
    samples_sha256,
    write_audio_lossless,
)
from stepedit_app.session.takes import on_take_grid, to_take_grid


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, data_dir):
    """A copy of LJ001-0004 with two rendered takes (one renamed and starred)."""
    folder = tmp_path_factory.mktemp("src")
    src = folder / "line.wav"
    shutil.copy(data_dir / "LJ001-0004.wav", src)
    clip = read_clip(src)
    s = EditSession(clip)
    region = Region.from_seconds(1.0, 2.5, clip.rate)
    # two renders, one take each (a second iteration of one render may converge instead)
    takes = s.run(EditRequest(emotions={"sad": 0.6}), region) + s.run(EditRequest(emotions={"sad": 0.3}), region)
    s.takes.rename(takes[0], "slow and low")
    s.takes.set_starred(takes[1], True)
    return src, clip, s, region


def _snap(clip, s, selection=None, **kw):
    return ProjectSnapshot.capture(clip, file_sha256(clip.path), s.takes, selection=selection,
                                   controls=EditRequest(emotions={"sad": 0.6}, iterations=2),
                                   next_id=s.takes.next_id, **kw)


def _open(path, **kw):
    return proj.run_generator(open_project(path, **kw))


def test_takes_live_on_the_24_bit_grid(rendered):
    _, _, s, _ = rendered
    for t in s.takes:
        assert on_take_grid(t.segment.samples)
    x = np.random.default_rng(1).uniform(-1, 1, (1000, 2)).astype(np.float32)
    g = to_take_grid(x)
    assert np.array_equal(to_take_grid(g), g)
    assert np.abs(g - x).max() <= 2.0**-24 + 1e-12
    assert not on_take_grid(x)


def test_project_round_trip_is_bit_exact(rendered, tmp_path):
    src, clip, s, region = rendered
    path = save_project(tmp_path / "job.stepedit", _snap(clip, s, selection=region))
    assert path.exists() and not list(tmp_path.glob("**/*.part"))
    files = sorted(p.suffix for p in sidecar_folder(path).iterdir())
    assert files == [".flac", ".flac"]
    doc = json.loads(path.read_text())
    assert doc["format"] == "stepedit-project" and doc["source"]["sha256"] == file_sha256(src)
    assert doc["regions"] == [[region.start, region.end]]

    got = _open(path)
    assert isinstance(got, OpenedProject) and got.problems == []
    assert got.audio.clip.path == src.resolve()
    assert [t.id for t in got.takes] == [t.id for t in s.takes]
    for a, b in zip(s.takes, got.takes):
        assert np.array_equal(a.segment.samples, b.segment.samples)
        assert (a.name, a.starred, a.iteration, a.iterations, a.region, a.engine) == \
               (b.name, b.starred, b.iteration, b.iterations, b.region, b.engine)
        assert a.request == b.request
        assert a.cues.median_f0_hz == pytest.approx(b.cues.median_f0_hz)
    assert got.takes[0].name == "slow and low" and got.takes[1].starred
    assert got.file.selection == region
    assert got.file.controls == EditRequest(emotions={"sad": 0.6}, iterations=2)


def test_saving_again_reuses_audio_and_drops_deleted_takes(rendered, tmp_path):
    _, clip, s, _ = rendered
    path = save_project(tmp_path / "p.stepedit", _snap(clip, s))
    folder = sidecar_folder(path)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    snap = _snap(clip, s)
    snap.takes = snap.takes[1:]
    save_project(path, snap)
    after = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert len(after) == 1 and set(after) < set(before)
    name = next(iter(after))
    assert after[name] == before[name]  # not rewritten


def test_moved_and_changed_sources_are_reported_and_can_be_located(rendered, tmp_path):
    src, clip, s, _ = rendered
    home = tmp_path / "a"
    home.mkdir()
    moved_src = home / "line.wav"
    shutil.copy(src, moved_src)
    clip2 = read_clip(moved_src)
    path = save_project(home / "job.stepedit", _snap(clip2, s))
    # The folder moves as a whole: found again next to the project.
    shutil.move(home, tmp_path / "b")
    got = _open(tmp_path / "b" / "job.stepedit")
    assert isinstance(got, OpenedProject) and got.audio.clip.path == (tmp_path / "b" / "line.wav").resolve()
    # The source alone moves: missing, and the user locates it.
    elsewhere = tmp_path / "elsewhere.wav"
    shutil.move(tmp_path / "b" / "line.wav", elsewhere)
    problem = _open(tmp_path / "b" / "job.stepedit")
    assert isinstance(problem, SourceProblem) and problem.check.status == "missing"
    assert "moved or deleted" in problem.check.message()
    got = _open(tmp_path / "b" / "job.stepedit", source=elsewhere)
    assert isinstance(got, OpenedProject) and len(got.takes) == 2
    # The source changes: said so; opening anyway keeps the takes.
    x, sr = sf.read(elsewhere)
    sf.write(elsewhere, x * 0.5, sr, subtype="PCM_16")
    problem = _open(tmp_path / "b" / "job.stepedit", source=elsewhere)
    assert isinstance(problem, SourceProblem) and problem.check.status == "changed"
    assert "has changed since the project was saved" in problem.check.message()
    got = _open(tmp_path / "b" / "job.stepedit", source=elsewhere, accept_changed=True)
    assert isinstance(got, OpenedProject) and len(got.takes) == 2 and got.source.status == "changed"
    assert path.name == "job.stepedit"


def test_a_damaged_take_costs_that_take_only(rendered, tmp_path):
    _, clip, s, _ = rendered
    path = save_project(tmp_path / "p.stepedit", _snap(clip, s))
    files = sorted(sidecar_folder(path).iterdir())
    data, sr = read_audio_lossless(files[0])
    data[100] += 2.0**-23  # one sample, one step
    write_audio_lossless(files[0], data, sr)
    files[1].unlink()
    got = _open(path)
    assert got.takes == [] and len(got.problems) == 2
    assert "checksum" in got.problems[0] or "checksum" in got.problems[1]
    assert any("missing" in p for p in got.problems)


@pytest.mark.parametrize("content, message", [
    (b"\x00\x01 not json", "invalid JSON"),
    (b'{"format": "something-else"}', "not a StepEdit project"),
    (b'{"format": "stepedit-project", "version": 99}', "newer than this StepEdit"),
    (b'{"format": "stepedit-project", "version": 1, "source": 3, "takes": []}', "source entry is damaged"),
])
def test_bad_project_files_give_one_line(tmp_path, content, message):
    p = tmp_path / "bad.stepedit"
    p.write_bytes(content)
    with pytest.raises(ProjectError) as exc:
        read_project(p)
    assert message in str(exc.value) and "\n" not in str(exc.value) and str(p) in str(exc.value)
    with pytest.raises(ProjectError, match="file not found"):
        read_project(tmp_path / "nope.stepedit")


def test_a_failed_save_leaves_the_previous_project_and_no_temporary_file(rendered, tmp_path, monkeypatch):
    _, clip, s, _ = rendered
    path = save_project(tmp_path / "p.stepedit", _snap(clip, s))
    before = path.read_bytes()
    snap = _snap(clip, s)
    snap.takes[0].meta["name"] = "renamed"

    def boom(*a, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(proj.json, "dumps", lambda *a, **kw: "x" * 10)
    monkeypatch.setattr("os.fsync", boom)
    with pytest.raises(ProjectError, match="could not be written"):
        save_project(path, snap)
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]


def test_an_untouched_float_region_is_stored_exactly(tmp_path):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((16000, 1)) * 0.1).astype(np.float32)
    src = tmp_path / "f.wav"
    sf.write(src, x, 16000, subtype="FLOAT")
    clip = read_clip(src)
    s = EditSession(clip)
    take = s.run(EditRequest(), Region(1000, 9000))[0]  # identity: the float source itself
    assert not on_take_grid(take.segment.samples)
    path = save_project(tmp_path / "f.stepedit", ProjectSnapshot.capture(clip, file_sha256(src), s.takes))
    assert [p.suffix for p in sidecar_folder(path).iterdir()] == [".wav"]
    got = _open(path)
    assert np.array_equal(got.takes[0].segment.samples, take.segment.samples)
    assert samples_sha256(got.takes[0].segment.samples) == samples_sha256(take.segment.samples)


def test_autosave_of_a_dead_process_is_offered_and_a_live_one_is_not(rendered, tmp_path):
    _, clip, s, _ = rendered
    root = tmp_path / "autosave"
    mine = Autosave(root)
    mine.write(_snap(clip, s))
    assert find_recoverable(root) == []  # this process is alive
    # A process that has exited leaves its autosave behind.
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(child.stdout)
    owner = mine.folder / "owner.json"
    owner.write_text(json.dumps({"pid": dead_pid, "start": None}))
    found = find_recoverable(root)
    assert len(found) == 1 and found[0].takes == 2 and found[0].source == "line.wav"
    assert "2 takes of line.wav" in found[0].describe()
    # Adopting it claims the folder for this process and reuses the take files.
    again = Autosave(root)
    again.adopt(found[0])
    assert again.folder == mine.folder and find_recoverable(root) == []
    again.discard()
    assert not mine.folder.exists()


def test_empty_leftovers_are_cleaned_up(tmp_path):
    root = tmp_path / "autosave"
    (root / "x").mkdir(parents=True)
    (root / "x" / "owner.json").write_text('{"pid": -5}')
    assert find_recoverable(root) == []
    assert not (root / "x").exists()


def test_a_project_needs_a_source_file():
    with pytest.raises(ProjectError, match="needs a source file"):
        ProjectSnapshot.capture(Clip(np.zeros(100), 8000), "", [])
