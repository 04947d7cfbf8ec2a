"""StepEdit: a desktop editor for expressive voice."""

__version__ = "0.1.0"
