"""strikewatch: a command-line tracker for Hollywood labor news."""

__version__ = "0.1.0"
