"""smartcustoms: an open-source smart-customs platform."""

__version__ = "0.1.0"
