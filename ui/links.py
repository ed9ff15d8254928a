"""Every set-up is a link: the preset, the knobs that differ from it, and what a teacher hides.

``?preset=toy-ring&lr_d=0.002&seed=3&hide=Model,Schedule`` opens the Train page on toy-ring
with D's learning rate and the seed changed and two sidebar sections hidden, as TensorFlow
Playground keeps its whole state in its URL.  A link never names a server path or a device: those
are the server's.  Bad or stale parameters are reported and ignored, never fatal.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlencode

from gan_core.config import ConfigError, TrainConfig, parse_value
from gan_core.presets import PRESETS, preset

PRESET, HIDE = "preset", "hide"
SERVER_FIELDS = frozenset({"data_dir", "image_folder", "device"})   # never taken from a link


def link_value(value: object) -> str:
    """A knob's value as a link writes it (and ``parse_value`` reads it back)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(map(str, value))
    return repr(value) if isinstance(value, float) else str(value)


def to_params(preset_name: str, config: TrainConfig, hide: tuple[str, ...] = ()) -> dict[str, str]:
    """The link of ``config``: its preset and only the knobs that differ from it."""
    base = preset(preset_name).to_dict()
    params = {PRESET: preset_name}
    params |= {name: link_value(value) for name, value in config.to_dict().items()
               if name not in SERVER_FIELDS and value != base[name]}
    return params | ({HIDE: ",".join(hide)} if hide else {})


def from_params(params: Mapping[str, str], default: str) -> tuple[str, TrainConfig, list[str]]:
    """(preset name, config, problems) from a link's parameters; each bad one is skipped with a
    one-line reason, so the rest of the link still works."""
    problems = []
    name = params.get(PRESET, default)
    if name not in PRESETS:
        problems.append(f"preset {name!r} does not exist (any more): showing {default}")
        name = default
    config = preset(name)
    for key, raw in params.items():
        if key in (PRESET, HIDE):
            continue
        if key in SERVER_FIELDS:
            problems.append(f"{key}: chosen by the server, not by a link")
            continue
        try:
            config = config.replace(**{key: parse_value(key, raw)})
        except (ConfigError, TypeError, json.JSONDecodeError) as exc:
            problems.append(str(exc))
    return name, config, problems


def hidden(params: Mapping[str, str]) -> tuple[str, ...]:
    """The sidebar sections and knobs a link hides (a teacher's focused view)."""
    return tuple(part.strip() for part in params.get(HIDE, "").split(",") if part.strip())


def share_url(page_url: str | None, params: Mapping[str, str]) -> str:
    """The whole link (relative when the page's own address is unknown)."""
    return f"{(page_url or '').split('?', 1)[0]}?{urlencode(params)}"
