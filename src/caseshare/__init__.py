"""caseshare: case management whose heart is case sharing."""

__version__ = "0.1.0"
