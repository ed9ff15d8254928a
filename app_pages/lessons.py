"""Lessons: short guided experiments built on the seed posts (views in ui/lessons_view.py)."""
import streamlit as st

st.title("Lessons")
st.caption("Each lesson asks one question and sets up the run that answers it: open it, watch what "
           "it says to watch, then read why. Every claim here was measured at the lesson's seed.")

from ui.lessons_view import lessons_page  # noqa: E402

lessons_page()
