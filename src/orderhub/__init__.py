"""orderhub: one store and one API for every sales channel's orders."""

__version__ = "0.1.0"
