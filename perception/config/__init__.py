"""Typed configuration: the schema and its strict YAML loader."""

from perception.config.loader import load_config, save_config
from perception.config.schema import RunConfig

__all__ = ["RunConfig", "load_config", "save_config"]
