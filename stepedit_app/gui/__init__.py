"""The editor window (PySide6 + pyqtgraph).  Everything Qt lives below this package."""
