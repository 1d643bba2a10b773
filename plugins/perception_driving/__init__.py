"""The built-in driving plugins of the perception toolkit.

Each module here is one plugin, exposed through the ``perception`` entry-point group in
``plugins/pyproject.toml`` exactly as a third-party package would expose its own.
"""
