"""The transcript field: the exact words of the region, where they came from, and tags.

An engine that re-speaks the words (Step-Audio-EditX) needs the region's exact transcript for
every edit except denoise and silence removal.  This widget keeps
:attr:`~stepedit_app.session.editor.EditorState.transcript` and says where the words came from:

* **a sidecar** ``NAME.txt`` / ``NAME.lab`` next to the audio file fills the field while the
  selection is the whole clip (or nothing: a render then edits the whole clip);
* for a **sub-region** the sidecar's words are taken away and the field asks for the region's
  own: the sidecar holds the whole file's words and the window never guesses which of them a
  region speaks (a render without them is refused, pointing here: :meth:`TranscriptBox.ask`);
* words the user **typed** stay until the user changes them (they are visible; when the
  selection moves after typing, the note says which region they were typed for); the sidecar's
  words with tags added are still the sidecar's, and leave the field for a sub-region too.

Paralinguistic tags (``[Laughter]``...) from the engine's capabilities are inserted at the
cursor by the tag picker; a transcript holding tags becomes a paralinguistic pass (see
:meth:`EditorState.request`).  Bracketed words that are not tags the engine knows are pointed
out: the model would read them as words.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from stepedit_app.audio.clip import Region
from stepedit_app.engines.base import Capabilities
from stepedit_app.engines.step_audio.inputs import read_sidecar
from stepedit_app.errors import StepEditError
from stepedit_app.gui import theme
from stepedit_app.session.editor import EditorState, format_seconds, split_tags

_BRACKETED = re.compile(r"\[[^\]\n]{1,40}\]")


class TranscriptBox(QWidget):
    """Title, tag picker, the text field and a one-line note on where the words came from.

    Attributes
    ----------
    edit : QPlainTextEdit
        The field (``objectName`` ``transcriptBox``).
    note : QLabel
        Where the words came from, or what is missing (``objectName`` ``transcriptSource``).
    tag_button : QToolButton
        Opens the tag picker (shown when the engine has tags).
    """

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptArea")
        self.state = state
        #: ``(words, sidecar path)`` of the open clip, or None.
        self.sidecar: tuple[str, Path] | None = None
        self._sidecar_problem = ""
        #: "sidecar", "typed" or "" (empty field).
        self.source = ""
        self._typed_for: Region | None = None
        self._asking = False
        self._describe = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 2, 0, 0)
        lay.setSpacing(2)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("Transcript of the region")
        head.addWidget(self.title)
        head.addStretch(1)
        self.tag_button = QToolButton()
        self.tag_button.setObjectName("tagButton")
        self.tag_button.setText("Insert tag ▾")
        self.tag_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        self.tag_button.setToolTip("Insert a paralinguistic tag ([Laughter], [Sigh]...) at the cursor: the model "
                                   "adds that sound there (Ctrl+T)")
        self.tag_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tag_menu = QMenu(self.tag_button)
        self.tag_menu.setObjectName("tagMenu")
        self.tag_button.setMenu(self.tag_menu)
        self.tag_button.hide()
        head.addWidget(self.tag_button)
        lay.addLayout(head)
        self.edit = QPlainTextEdit()
        self.edit.setObjectName("transcriptBox")
        self.edit.setPlaceholderText("The exact words spoken in the selected region")
        self.edit.setFixedHeight(56)
        self.edit.setTabChangesFocus(True)
        lay.addWidget(self.edit)
        self.note = QLabel("")
        self.note.setObjectName("transcriptSource")
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        self.edit.textChanged.connect(self._on_typed)
        ev = state.events
        ev.connect("document", self._on_document)
        ev.connect("region", self._on_region)
        ev.connect("transcript", self._on_state_transcript)
        ev.connect("capabilities", self.set_capabilities)
        for name in ("committed", "one_shot"):
            ev.connect(name, lambda *_a: self.update_note())

    # --- engine ------------------------------------------------------------------------------
    def set_tag_describer(self, describe) -> None:
        """``describe(tag) -> (meaning, group)`` for the picker (None: tags alone)."""
        self._describe = describe
        if self.state.capabilities is not None:
            self.set_capabilities(self.state.capabilities)

    def set_capabilities(self, caps: Capabilities) -> None:
        """Show the field for engines that need transcripts, and their tags in the picker."""
        self.setVisible(caps.needs_transcript)
        self.tag_menu.clear()
        groups: dict[str, list[tuple[str, str]]] = {}
        for tag in caps.tags:
            meaning, group = self._describe(tag) if self._describe is not None else ("", "")
            groups.setdefault(group, []).append((tag, meaning))
        for k, (group, tags) in enumerate(groups.items()):
            if k:
                self.tag_menu.addSeparator()
            if group:
                # A disabled title (the Fusion style draws a section as a bare line).
                title = self.tag_menu.addAction(group)
                title.setEnabled(False)
                font = title.font()
                font.setBold(True)
                title.setFont(font)
            for tag, meaning in tags:
                a = self.tag_menu.addAction(f"{tag}    {meaning}" if meaning else tag)
                a.setData(tag)
                a.triggered.connect(lambda _=False, t=tag: self.insert_tag(t))
        self.tag_button.setVisible(bool(caps.tags) and "paralinguistic" in caps.edit_kinds)
        self.update_note()

    # --- sidecar and region ------------------------------------------------------------------
    def _whole(self, region: Region | None) -> bool:
        clip = self.state.clip
        return region is None or clip is None or (region.start <= 0 and region.end >= clip.frames)

    def _on_document(self) -> None:
        clip = self.state.clip
        self.sidecar, self._sidecar_problem = None, ""
        if clip is not None and clip.path is not None:
            try:
                self.sidecar = read_sidecar(clip.path)
            except StepEditError as exc:  # unreadable sidecar: said in the note, never a dialog
                self._sidecar_problem = str(exc)
        self._typed_for = None
        self._asking = False
        if self.sidecar is not None:
            self._set(self.sidecar[0], "sidecar")
        else:
            self._set("", "")

    def _from_sidecar(self) -> bool:
        """Whether the field holds the sidecar's words (perhaps with tags added)."""
        if self.sidecar is None:
            return False
        if self.source == "sidecar":
            return True
        caps = self.state.capabilities
        plain = split_tags(self.state.transcript, caps.tags)[0] if caps is not None else self.state.transcript
        return plain == self.sidecar[0]

    def _on_region(self, region: Region | None) -> None:
        self._asking = False
        if not self._whole(region) and self._from_sidecar():
            self._set("", "")  # the sidecar holds the whole file's words, not this region's
        elif self.source == "" and self.sidecar is not None and self._whole(region):
            self._set(self.sidecar[0], "sidecar")
        self.update_note()

    def _set(self, text: str, source: str) -> None:
        self.source = source
        with QSignalBlocker(self.edit):
            self.edit.setPlainText(text)
        self.state.set_transcript(text)
        self.update_note()

    # --- typing ------------------------------------------------------------------------------
    @Slot()
    def _on_typed(self) -> None:
        text = self.edit.toPlainText()
        self.source = "typed" if text.strip() else ""
        self._typed_for = self.state.region
        self._asking = False
        self.state.set_transcript(text)
        self.update_note()

    def _on_state_transcript(self, text: str) -> None:
        if " ".join(self.edit.toPlainText().split()) != text:
            # Set from elsewhere (a project's controls, undo of a preset): words given, not guessed.
            with QSignalBlocker(self.edit):
                self.edit.setPlainText(text)
            if self.sidecar is not None and text == self.sidecar[0] and self._whole(self.state.region):
                self.source = "sidecar"
            else:
                self.source = "typed" if text else ""
                self._typed_for = self.state.region
            self.update_note()

    def insert_tag(self, tag: str) -> None:
        """Insert ``tag`` at the cursor, with a space on either side where a word touches it."""
        cur = self.edit.textCursor()
        text = self.edit.toPlainText()
        pos = cur.selectionStart()
        end = cur.selectionEnd()
        before = text[pos - 1] if pos > 0 else " "
        after = text[end] if end < len(text) else " "
        ins = ("" if before.isspace() else " ") + tag + ("" if after.isspace() else " ")
        cur.insertText(ins)
        self.edit.setTextCursor(cur)
        self.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def popup_tags(self) -> None:
        """Open the tag picker under the field (keyboard: Ctrl+T)."""
        if self.tag_button.isVisible():
            self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.tag_menu.popup(self.edit.mapToGlobal(self.edit.cursorRect().bottomLeft()))

    def words_for_selection(self) -> str:
        """The words known to belong to the current selection ("" when there are none, or when
        they were typed for another selection)."""
        if self.source == "sidecar":
            return self.state.transcript if self._whole(self.state.region) else ""
        if self.source == "typed" and self._typed_for == self.state.region:
            return self.state.transcript
        return ""

    # --- what is missing ---------------------------------------------------------------------
    def missing_message(self) -> str:
        """The one line a refused render shows when the words of the region are missing."""
        st = self.state
        region = st.region
        if region is not None and not self._whole(region) and st.clip is not None:
            a, b = region.seconds(st.clip.rate)
            where = f"the selected region ({format_seconds(a)}–{format_seconds(b)})"
        else:
            where = "the clip"
        line = (f"Type the exact words of {where} in the Transcript field: this engine re-speaks them "
                "(denoise and silence removal alone need none)")
        if self.sidecar is not None and not self._whole(region):
            line += (f"; {self.sidecar[1].name} holds the whole file's words, and StepEdit does not guess "
                     "which of them the region speaks")
        return line + "."

    def _short_missing(self) -> str:
        """:meth:`missing_message` in a few words, for the note under the field."""
        st = self.state
        where = "the clip"
        if st.region is not None and not self._whole(st.region):
            where = st.region_label(st.region)
        line = f"Needed: the exact words of {where}."
        if self.sidecar is not None and not self._whole(st.region):
            line += f" {self.sidecar[1].name} holds the whole file's; StepEdit does not guess the region's."
        return line

    def ask(self, focus: bool = True) -> str:
        """A render lacks the words: mark the field (and focus it), return the line to show."""
        self._asking = True
        self.update_note()
        if focus:
            self.edit.setFocus(Qt.FocusReason.OtherFocusReason)
        return self.missing_message()

    def update_note(self) -> None:
        st = self.state
        caps = st.capabilities
        text = st.transcript
        warn = False
        try:
            wants = st.request().wants_transcript
        except StepEditError:
            wants = True
        parts: list[str] = []
        sub = not self._whole(st.region)
        if not text:
            if self._asking or (wants and sub and self.sidecar is not None):
                warn = True
                parts.append(self._short_missing())
            elif not wants:
                parts.append("Needed for emotion, style, speed and tags; denoise and silence removal alone need none.")
            elif self.sidecar is None:
                parts.append("Type the region's exact words (or put NAME.txt or NAME.lab next to the audio file).")
            else:
                parts.append("Type the region's exact words.")
            if self._sidecar_problem:
                parts.append(self._sidecar_problem)
        elif self.source == "sidecar" and self.sidecar is not None:
            parts.append(f"From {self.sidecar[1].name} (the whole clip's words).")
        else:
            where = ""
            typed_for = self._typed_for
            if st.clip is not None and typed_for != st.region:
                was = "the whole clip" if self._whole(typed_for) else st.region_label(typed_for)
                where = f" for {was}; the selection has changed since: check they are its words"
                warn = True
            parts.append(f"Typed{where}.")
        if text and caps is not None and caps.tags:
            _plain, found = split_tags(text, caps.tags)
            used = [t for t in caps.tags if t in text]
            if found:
                parts.append(f"Tags: {' '.join(used)} — a paralinguistic pass adds them (first iteration).")
            unknown = [m for m in _BRACKETED.findall(split_tags(text, caps.tags)[0])]
            if unknown:
                warn = True
                parts.append(f"{', '.join(unknown)} is not a tag this engine knows: the model would read it as words.")
        self.note.setText(" ".join(parts))
        colour = theme.ERROR if warn else theme.TEXT_DIM
        self.note.setStyleSheet(f"color: {colour};")
        self.note.setProperty("warning", warn)
