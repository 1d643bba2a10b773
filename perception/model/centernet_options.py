"""Build a :class:`CenterNetHead` from user options (``model.head_options.<head>``).

Every box-head plugin (built-in or third-party) can hand its ``**options`` here: unknown names
and wrongly typed or out-of-range values raise :class:`~perception.errors.ConfigError` naming
the head and the option.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from perception.errors import ConfigError, did_you_mean
from perception.model.centernet_head import CenterNetHead
from perception.model.centernet_targets import BoxAttribute
from perception.model.feature_spec import FeatureSpec

POSITIVE_INT_OPTIONS = ("max_detections", "max_objects", "head_channels")
"""Options that must be integers >= 1."""

NON_NEGATIVE_FLOAT_OPTIONS = ("min_box_size", "size_weight", "offset_weight", "attribute_weight")
"""Options that must be numbers >= 0."""


def build_centernet_head(
    name: str,
    feature_spec: FeatureSpec,
    input_size: tuple[int, int],
    categories: Sequence[str],
    attributes: Sequence[BoxAttribute] = (),
    options: Mapping[str, Any] | None = None,
) -> CenterNetHead:
    """A CenterNet head called ``name`` with the validated ``options`` (see
    :class:`CenterNetHead` for their meaning and defaults)."""
    options = dict(options or {})
    known = POSITIVE_INT_OPTIONS + NON_NEGATIVE_FLOAT_OPTIONS
    for key, value in options.items():
        if key not in known:
            raise ConfigError(
                f"head '{name}': unknown option '{key}'{did_you_mean(key, known)}; "
                f"known options: {', '.join(known)}"
            )
        if key in POSITIVE_INT_OPTIONS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"head '{name}': option '{key}' must be a positive integer, got {value!r}"
                )
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"head '{name}': option '{key}' must be a number >= 0, got {value!r}")
    stride = feature_spec.finest.stride
    if input_size[0] % stride or input_size[1] % stride:
        raise ConfigError(
            f"head '{name}': input size {input_size[0]}x{input_size[1]} is not a multiple of "
            f"its feature stride {stride}"
        )
    return CenterNetHead(name, feature_spec, input_size, categories, attributes, **options)
