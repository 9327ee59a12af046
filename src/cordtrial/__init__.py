"""cordtrial: running and analysing clinical trials of regenerative therapies for SCI."""

__version__ = "0.1.0"
__all__ = ["__version__"]
