"""The Lessons page: each lesson's question, its set-up as one click (and as a link to hand out),
what to watch, what happens and why, and what to try next."""
from __future__ import annotations

import streamlit as st

from gan_core.compare import NAMES
from gan_core.config import TrainConfig
from gan_core.errors import GanCoreError
from gan_core.lessons import LESSONS, Lesson, configs
from gan_core.presets import preset
from ui.compare_views import COMPARE_PAGE, open_comparison
from ui.config_form import open_setup
from ui.links import comparison_params, share_url, to_params

TRAIN_PAGE = "app_pages/train.py"


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
        st.markdown(f"Compare {len(runs)} variants of **{item.preset}** for about {item.steps:,} steps: "
                    + ", ".join(f"**{letter}** {name}" for letter, name in zip(NAMES, runs))
                    + ". They start from the same seed (the same initial weights, data order and z) "
                      "and differ only in the knobs named.")
    else:
        st.markdown(f"Train **{item.preset}** for about {item.steps:,} steps.")
    _open_button(item, runs)
    st.subheader("Watch", divider="gray")
    st.markdown(item.watch)
    with st.expander("What happens, and why", icon=":material/lightbulb:"):
        st.markdown(item.explanation)
    st.subheader("Try next", divider="gray")
    st.markdown("\n".join(f"- {idea}" for idea in item.try_next))


def _open_button(item: Lesson, runs: dict[str, TrainConfig]) -> None:
    """One click opens the set-up: a single run on the Train page, variants on the Compare page."""
    if item.is_comparison:
        base = preset(item.preset, **item.changes, steps=item.steps)
        changes = [dict(change) for change in item.variants.values()]
        page, label, params = COMPARE_PAGE, "Open the comparison", comparison_params(item.preset, base, changes)
    else:
        [config] = runs.values()
        page, label, params = TRAIN_PAGE, "Open on the Train page", to_params(item.preset, config)
    button, link = st.columns([1, 2], vertical_alignment="center")
    if button.button(label, key=f"open:{item.slug}", icon=":material/play_circle:", width="stretch"):
        try:
            if item.is_comparison:
                open_comparison(item.preset, base, changes)
            else:
                open_setup(item.preset, config)
        except GanCoreError as exc:
            st.error(str(exc))
            return
        st.switch_page(page, query_params=params)
    link.code(share_url(_page_url("compare" if item.is_comparison else ""), params), language=None)


def _page_url(path: str) -> str:
    """Another page's address (the Train page's is the app's root), beside this page."""
    return (st.context.url or "").rsplit("/", 1)[0] + "/" + path
