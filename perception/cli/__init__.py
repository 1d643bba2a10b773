"""The ``perception`` command line."""
