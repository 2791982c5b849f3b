"""The compiler version, recorded in every generated artifact."""

__version__ = "0.1.0"
