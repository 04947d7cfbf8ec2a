"""The dark theme: one accent colour for "the take", grey for "the original".

Colours are defined once here and used by the style sheet (``resources/style.qss``, with
``@NAME`` placeholders), the palette and every pyqtgraph item, so the take is the same colour
in the waveform, the pitch line, the diff table and the selected row.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from stepedit_app.session.presets import RESOURCES  # noqa: E402 - one definition

#: "The take": a warm amber that reads on dark grey and is far from the spectrogram's blues.
ACCENT = "#ffb000"
ACCENT_DIM = "#8a6200"
#: "The original".
ORIGINAL = "#9aa3ad"
ORIGINAL_DIM = "#5b636c"
BG = "#1b1d21"
BG_VIEW = "#121316"
PANEL = "#23262b"
BORDER = "#33373e"
TEXT = "#e3e6ea"
TEXT_DIM = "#8d949c"
REGION = (90, 150, 255, 48)
REGION_EDGE = "#5a96ff"
PLAYHEAD = "#ffffff"
ERROR = "#ff5c5c"

COLOURS = {
    "ACCENT": ACCENT, "ACCENT_DIM": ACCENT_DIM, "ORIGINAL": ORIGINAL, "ORIGINAL_DIM": ORIGINAL_DIM,
    "BG": BG, "BG_VIEW": BG_VIEW, "PANEL": PANEL, "BORDER": BORDER, "TEXT": TEXT,
    "TEXT_DIM": TEXT_DIM, "REGION_EDGE": REGION_EDGE, "ERROR": ERROR,
}


def spectrogram_lut() -> np.ndarray:
    """A 256-entry uint8 RGBA colour map for dB (dark blue → magenta → orange → pale yellow).

    Perceptually ordered like "inferno" but kept below the accent's saturation at the top, so
    the amber pitch line of the take stays visible over loud harmonics.
    """
    stops = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    cols = np.array([
        [10, 10, 22], [50, 20, 95], [140, 40, 110], [215, 100, 70], [250, 235, 180],
    ], dtype=np.float64)
    x = np.linspace(0.0, 1.0, 256)
    rgb = np.stack([np.interp(x, stops, cols[:, i]) for i in range(3)], axis=1)
    lut = np.empty((256, 4), dtype=np.uint8)
    lut[:, :3] = np.round(rgb).astype(np.uint8)
    lut[:, 3] = 255
    return lut


def difference_lut() -> np.ndarray:
    """Diverging map for dB differences: blue (take quieter) → near-black → amber (take louder)."""
    x = np.linspace(-1.0, 1.0, 256)
    neg = np.array([70, 140, 255], dtype=np.float64)
    pos = np.array([255, 176, 0], dtype=np.float64)
    mid = np.array([24, 25, 30], dtype=np.float64)
    a = np.abs(x)[:, None]
    rgb = np.where(x[:, None] < 0, mid + (neg - mid) * a, mid + (pos - mid) * a)
    lut = np.empty((256, 4), dtype=np.uint8)
    lut[:, :3] = np.round(rgb).astype(np.uint8)
    lut[:, 3] = 255
    return lut


def style_sheet() -> str:
    """The application style sheet with the colour placeholders filled in."""
    path = RESOURCES / "style.qss"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    # Longest names first so @ACCENT_DIM is not read as @ACCENT + "_DIM".
    for name in sorted(COLOURS, key=len, reverse=True):
        text = text.replace(f"@{name}", COLOURS[name])
    return text


def apply(app: QApplication) -> None:
    """Fusion style, dark palette, style sheet and pyqtgraph defaults."""
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: BG, QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BG_VIEW, QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.ToolTipBase: PANEL, QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT, QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT, QPalette.ColorRole.Highlight: ACCENT_DIM,
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.PlaceholderText: TEXT_DIM,
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(TEXT_DIM))
    app.setPalette(pal)
    app.setStyleSheet(style_sheet())
    configure_pyqtgraph()


def configure_pyqtgraph() -> None:
    pg.setConfigOptions(background=BG_VIEW, foreground=TEXT_DIM, antialias=False, imageAxisOrder="row-major")


def pen(colour: str, width: float = 1.0, alpha: int = 255) -> pg.QtGui.QPen:
    c = QColor(colour)
    c.setAlpha(alpha)
    p = pg.mkPen(c, width=width)
    p.setCosmetic(True)
    return p
