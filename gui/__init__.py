"""The PySide6 + pyqtgraph lab window."""
