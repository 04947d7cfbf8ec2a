"""EditorState without a window: change events, one undo history for every kind of change."""

from __future__ import annotations

import pytest

from stepedit_app.audio.clip import Region
from stepedit_app.audio.io import read_clip
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.registry import create_engine
from stepedit_app.errors import RequestError
from stepedit_app.session.editor import EditorState, format_seconds, plural
from stepedit_app.session.session import EditSession, TakeReady


@pytest.fixture(scope="module")
def clip(data_dir):
    return read_clip(data_dir / "LJ001-0004.wav")


@pytest.fixture
def state(clip):
    st = EditorState()
    st.set_capabilities(create_engine("prosody").capabilities())
    st.set_document(clip, EditSession(clip))
    return st


def record(state, *names):
    seen = []
    for n in names:
        state.events.connect(n, lambda *a, n=n: seen.append((n, *a)))
    return seen


def test_region_changes_emit_events_and_undo_in_order(state, clip):
    seen = record(state, "region")
    state.set_region_seconds(1.0, 2.0)
    state.set_region_seconds(3.0, 2.5)  # either order
    assert state.region == Region.from_seconds(2.5, 3.0, clip.rate)
    assert state.history.undo_label() == "select 0:02.500–0:03.000"
    state.undo()
    assert state.region == Region.from_seconds(1.0, 2.0, clip.rate)
    state.undo()
    assert state.region is None
    state.redo()
    assert state.region == Region.from_seconds(1.0, 2.0, clip.rate)
    assert [e[1] for e in seen] == [Region.from_seconds(1.0, 2.0, clip.rate), Region.from_seconds(2.5, 3.0, clip.rate),
                                    Region.from_seconds(1.0, 2.0, clip.rate), None,
                                    Region.from_seconds(1.0, 2.0, clip.rate)]
    # Clamped to the clip; an empty span clears.
    state.set_region(Region(-100, clip.frames + 100))
    assert state.region == clip.whole()
    state.set_region(Region(10, 10))
    assert state.region is None


def test_a_slider_drag_is_one_undo_step(state):
    seen = record(state, "control")
    for v in (0.1, 0.2, 0.35, 0.6):  # the drag: every pixel is an event, not a step
        state.set_control("emotion", "happy", v)
    assert len(seen) == 4
    assert not state.history.can_undo()
    assert state.commit_controls()
    assert not state.commit_controls()  # nothing new
    assert state.history.undo_label() == "happy 0 → 60 %"
    state.set_control("style", "whisper", 0.3)
    state.set_iterations(3)
    state.commit_controls()
    assert state.history.undo_label() == "whisper 0 → 30 %"
    state.undo()
    assert state.values[("style", "whisper")] == 0.0 and state.iterations == 2
    assert state.values[("emotion", "happy")] == pytest.approx(0.6)
    state.undo()
    assert state.values[("emotion", "happy")] == 0.0
    state.redo()
    assert state.values[("emotion", "happy")] == pytest.approx(0.6)
    assert state.request() == EditRequest(emotions={"happy": 0.6}, iterations=2)


def test_presets_and_reset_are_single_steps_and_refuse_unknown_controls(state):
    state.apply_request(EditRequest(emotions={"angry": 0.7}, styles={"serious": 0.3}, iterations=3), "preset Tense guard")
    assert state.history.undo_label() == "preset Tense guard"
    assert state.iterations == 3
    state.reset_controls()
    assert all(v == 0 for v in state.values.values())
    state.undo()
    assert state.values[("emotion", "angry")] == pytest.approx(0.7)
    with pytest.raises(RequestError, match="not a control"):
        state.set_control("emotion", "humour", 0.5)


def test_takes_rename_star_delete_share_the_history_with_regions_and_sliders(state, clip):
    s = state.session
    state.set_region_seconds(1.0, 2.0)
    # two renders, two takes (one two-iteration render may converge after its first take)
    for v in (0.5, 0.6):
        for ev in s.render(EditRequest(emotions={"sad": v}, iterations=1), state.region):
            if isinstance(ev, TakeReady):
                state.add_take(ev.take)  # published by the owner, as the window's render controller does
    t1, t2 = state.takes
    name2 = t2.name
    state.select_take(t2.id)
    state.set_control("emotion", "happy", 0.4)
    state.commit_controls()
    s.takes.rename(t2, "hero")
    s.takes.set_starred(t2, True)
    s.takes.remove(t2)
    assert state.selected_take is t1  # the neighbour is selected
    labels = []
    while state.history.can_undo():
        labels.append(state.history.undo_label())
        state.undo()
    assert labels == ["delete take 'hero'", "star take", f"rename take '{name2}'", "happy 0 → 40 %",
                      "select 0:01.000–0:02.000"]
    assert len(state.takes) == 2 and t2.name == name2 and not t2.starred
    assert state.region is None and state.values[("emotion", "happy")] == 0.0


def test_b_needs_a_take_and_falls_back_to_a_when_the_take_goes(state):
    assert not state.set_source("B")
    assert state.source == "A"
    take = state.session.run(EditRequest(emotions={"sad": 0.3}, iterations=1), Region.from_seconds(1, 2, 22050))[0]
    state.select_take(take.id)
    assert state.set_source("B") and state.source == "B"
    assert state.b_shift() == take.segment.frames - take.region.length
    state.select_take(None)
    assert state.source == "A"


def test_modified_follows_changes_and_saves(state):
    assert not state.modified
    state.set_region_seconds(0.5, 1.0)
    assert state.modified
    state.mark_saved(None)  # an autosave does not make the work "saved"
    assert state.modified
    from pathlib import Path

    state.mark_saved(Path("/tmp/x.stepedit"))
    assert not state.modified and state.project_path == Path("/tmp/x.stepedit")


def test_wording():
    assert plural(1, "iteration") == "1 iteration"
    assert plural(3, "take") == "3 takes"
    assert format_seconds(61.25) == "1:01.250"
    assert format_seconds(3725.5, 1) == "1:02:05.5"
