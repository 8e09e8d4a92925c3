"""The catalogue's application code. Never imports ``app``."""

__version__ = "0.1.0"
