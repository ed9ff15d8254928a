"""Every set-up is a link: the preset, the knobs that differ from it, and what a teacher hides.

``?preset=toy-ring&lr_d=0.002&seed=3&hide=Model,Schedule`` opens the Train page on toy-ring
with D's learning rate and the seed changed and two sidebar sections hidden, as TensorFlow
Playground keeps its whole state in its URL; ``&variants=2&A.loss=bce&B.loss=log`` on the
Compare page makes two variants of it.  The Latent page's view is a link the same way:
``?model=dcgan-small&seed=3&z0=1.5&dir1=-0.8`` is a shipped model, the seed of z and the sliders
moved away from that seed's z.  A link never names a server path or a device: those are the
server's.  Bad or stale parameters are reported and ignored, never fatal.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

import streamlit as st

from gan_core.compare import MAX_VARIANTS, NAMES
from gan_core.config import ConfigError, TrainConfig, parse_value
from gan_core.presets import PRESETS, preset

PRESET, HIDE, VARIANTS = "preset", "hide", "variants"
SERVER_FIELDS = frozenset({"data_dir", "image_folder", "points_file", "device"})   # never taken from a link
VARIANT_KEY = re.compile(rf"^[{NAMES[:MAX_VARIANTS]}]\.")            # "B.loss": variant B's loss
MAX_VALUE_CHARS = 100     # of one set-up value in a link: longer than any knob's value


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
            config = config.replace(**{key: _parsed(key, raw)})
        except (ConfigError, TypeError) as exc:
            problems.append(str(exc))
    return name, config, problems


def comparison_params(preset_name: str, base: TrainConfig, changes: list[dict[str, object]],
                      hide: tuple[str, ...] = ()) -> dict[str, str]:
    """The link of a comparison: the base set-up's link, then ``A.loss=bce&B.loss=log`` for what
    sets each variant apart."""
    params = to_params(preset_name, base, hide) | {VARIANTS: str(len(changes))}
    for name, change in zip(NAMES, changes):
        params |= {f"{name}.{knob}": link_value(value) for knob, value in change.items()}
    return params


def comparison_from_params(params: Mapping[str, str], default: str
                           ) -> tuple[str, TrainConfig, list[dict[str, object]], list[str]]:
    """(preset name, base config, each variant's changes, problems) from a comparison's link;
    bad parameters are skipped with a reason."""
    ours = {key for key in params if VARIANT_KEY.match(key)}
    name, base, problems = from_params({k: v for k, v in params.items() if k not in ours | {VARIANTS}}, default)
    count = _variant_count(params.get(VARIANTS, "2"), problems)
    changes: dict[str, dict[str, object]] = {letter: {} for letter in NAMES[:count]}
    for key in sorted(ours):
        letter, knob = key.split(".", 1)
        if letter not in changes:
            problems.append(f"{key}: there are only {count} variants")
            continue
        change = changes[letter]
        try:
            if knob in SERVER_FIELDS | {"seed"}:
                raise ConfigError(knob, "the same for every variant")
            value = _parsed(knob, params[key])
            base.replace(**change, **{knob: value})
            change[knob] = value
        except (ConfigError, TypeError) as exc:
            problems.append(f"variant {letter}: {exc}")
    return name, base, list(changes.values()), problems


def _parsed(key: str, raw: str) -> object:
    """A link's value of ``key``; ConfigError when it is none (a long one is quoted cut short)."""
    if len(raw) > MAX_VALUE_CHARS:
        raise ConfigError(key, f"{_shown(raw)} is longer than any value it takes")
    return parse_value(key, raw)


def _variant_count(raw: str, problems: list[str]) -> int:
    if raw.isdecimal() and 2 <= int(raw) <= MAX_VARIANTS:
        return int(raw)
    problems.append(f"variants: {_shown(raw)} is not a number from 2 to {MAX_VARIANTS}: comparing 2")
    return 2


def hidden(params: Mapping[str, str]) -> tuple[str, ...]:
    """The sidebar sections and knobs a link hides (a teacher's focused view)."""
    return tuple(part.strip() for part in params.get(HIDE, "").split(",") if part.strip())


def share_url(page_url: str | None, params: Mapping[str, str]) -> str:
    """The whole link (relative when the page's own address is unknown)."""
    return f"{(page_url or '').split('?', 1)[0]}?{urlencode(params)}"


def share(params: Mapping[str, str], label: str, caption: str) -> None:
    """Keep the page's URL on ``params`` and offer the whole link to copy."""
    keep_url(params)
    with st.popover(label, icon=":material/share:", width="stretch"):
        st.caption(caption)
        st.code(share_url(st.context.url, params), language=None)


def keep_url(params: Mapping[str, str]) -> None:
    """Make ``params`` the page's URL (only when they changed: each write is a message to the browser)."""
    if st.query_params.to_dict() != dict(params):
        st.query_params.from_dict(params)


# ------------------------------------------------------------------------------ the Latent page
MODEL, SOURCE, SEED = "model", "source", "seed"
LATENT_SOURCES = ("shipped", "run", "upload")   # a shipped model, this session's run, an upload
MAX_SEED = 2**31 - 1                            # the largest seed the page's seed boxes take
SHOWN_CHARS = 24                                # of a bad value, quoted in its problem
LISTED = 3                                      # unknown names quoted in their one problem


@dataclass(frozen=True)
class LatentLink:
    """What a Latent page link asks for.  ``sliders`` holds every other parameter as written:
    which names are sliders, and their ranges, depend on the model, so ``fit_sliders`` reads them
    once it is loaded."""

    source: str = "shipped"
    model: str | None = None
    seed: int | None = None
    sliders: Mapping[str, str] = field(default_factory=dict)


def latent_params(source: str, model: str | None, seed: int | None,
                  sliders: Mapping[str, float]) -> dict[str, str]:
    """The link of a Latent page view: a shipped model by name (another source by its kind only,
    as its weights are this session's), then the seed and sliders the caller counts as changed."""
    params = {MODEL: model} if source == "shipped" and model else {}
    params |= {SOURCE: source} if source != "shipped" else {}
    params |= {SEED: str(seed)} if seed is not None else {}
    return params | {name: link_value(round(value, 4)) for name, value in sliders.items()}


def latent_from_params(params: Mapping[str, str], models: Collection[str]) -> tuple[LatentLink, list[str]]:
    """(link, problems) from a Latent page link's parameters; ``models`` are the shipped names."""
    problems = []
    source = params.get(SOURCE, "shipped")
    if source not in LATENT_SOURCES:
        problems.append(f"source {_shown(source)} is none of {', '.join(LATENT_SOURCES)}")
        source = "shipped"
    model = params.get(MODEL)
    if model is not None and model not in models:
        problems.append(f"model {_shown(model)} is not a shipped model (any more)")
        model = None
    seed = _seed(params.get(SEED), problems)
    sliders = {key: raw for key, raw in params.items() if key not in (SOURCE, MODEL, SEED)}
    return LatentLink(source, model, seed, sliders), problems


def fit_sliders(raw: Mapping[str, str],
                ranges: Mapping[str, tuple[float, float]]) -> tuple[dict[str, float], list[str]]:
    """(slider values, problems): each of a link's values that names a slider in ``ranges`` (name
    -> low, high) and lies in its range.  Names this model has no slider for make one line, however
    many a link holds."""
    values, problems, unknown = {}, [], []
    for name, text in raw.items():
        if name not in ranges:
            unknown.append(name)
            continue
        low, high = ranges[name]
        try:
            value = float(text)
        except ValueError:
            problems.append(f"{name}: {_shown(text)} is not a number")
            continue
        if low <= value <= high:
            values[name] = value
        else:
            problems.append(f"{name}: {_shown(text)} is outside the slider's range {low:g} to {high:g}")
    if unknown:
        more = f" and {len(unknown) - LISTED} more" if len(unknown) > LISTED else ""
        problems.append(f"{', '.join(map(_shown, unknown[:LISTED]))}{more}: no such slider on this model "
                        f"(it has {', '.join(ranges) or 'none'})")
    return values, problems


def _seed(text: str | None, problems: list[str]) -> int | None:
    """The link's seed of z, or None (after noting why) when it has none or a bad one."""
    if text is None:
        return None
    try:
        seed = int(text)
    except ValueError:
        problems.append(f"seed {_shown(text)} is not a whole number")
        return None
    if not 0 <= seed <= MAX_SEED:
        problems.append(f"seed {_shown(text)} is outside 0 to {MAX_SEED}")
        return None
    return seed


def _shown(text: str) -> str:
    """A link's value quoted in a problem, cut short: a link may hold anything, of any length."""
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…")
