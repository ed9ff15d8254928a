"""The Lessons page: each lesson's question, its set-up as one click (and as a link to hand out),
what to watch, what happens and why, and what to try next."""
from __future__ import annotations

import streamlit as st

from gan_core.config import ConfigError, TrainConfig
from gan_core.lessons import LESSONS, Lesson, configs
from ui.config_form import open_setup
from ui.links import share_url, to_params

TRAIN_PAGE = "pages/train.py"


def lessons_page() -> None:
    titles = {item.slug: f"{number}. {item.title}" for number, item in enumerate(LESSONS, 1)}
    slug = st.query_params.get("lesson")
    chosen = st.radio("Lesson", list(titles), format_func=titles.get, key="lesson",
                      index=list(titles).index(slug) if slug in titles else 0, label_visibility="collapsed",
                      horizontal=False)
    st.query_params["lesson"] = chosen
    _lesson(next(item for item in LESSONS if item.slug == chosen))


def _lesson(item: Lesson) -> None:
    st.header(item.title)
    st.markdown(f"**{item.question}**")
    st.latex(item.objective)
    runs = configs(item)
    st.subheader("Set it up", divider="gray")
    if item.is_comparison:
        st.markdown(f"Train these {len(runs)} variants of **{item.preset}** for about {item.steps:,} "
                    "steps each. They start from the same seed (the same initial weights, data order "
                    "and z) and differ only in the knobs named.")
    else:
        st.markdown(f"Train **{item.preset}** for about {item.steps:,} steps.")
    for name, config in runs.items():
        _open_button(item, name, config)
    st.subheader("Watch", divider="gray")
    st.markdown(item.watch)
    with st.expander("What happens, and why", icon=":material/lightbulb:"):
        st.markdown(item.explanation)
    st.subheader("Try next", divider="gray")
    st.markdown("\n".join(f"- {idea}" for idea in item.try_next))


def _open_button(item: Lesson, name: str, config: TrainConfig) -> None:
    params = to_params(item.preset, config)
    label = f"Open “{name}”" if item.is_comparison else "Open on the Train page"
    button, link = st.columns([1, 2], vertical_alignment="center")
    if button.button(label, key=f"open:{item.slug}:{name}", icon=":material/play_circle:", width="stretch"):
        try:
            open_setup(item.preset, config)
        except ConfigError as exc:
            st.error(str(exc))
            return
        st.switch_page(TRAIN_PAGE, query_params=params)
    link.code(share_url(_train_url(), params), language=None)


def _train_url() -> str:
    """The Train page's address: the app's root, beside this page."""
    return (st.context.url or "").rsplit("/", 1)[0] + "/"
