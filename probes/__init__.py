"""servebench: measure what the WSGI server costs, what the view costs, and why a view caps."""

__version__ = "0.1.0"
