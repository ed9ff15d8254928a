"""Compare page: two to four variants of one run, in lockstep, side by side.  Thin: the set-up
and the views live in ui.compare_views."""
import streamlit as st

st.title("Compare")
st.markdown(
    "Teach by comparison: train two to four **variants** of one GAN that start from the same "
    "weights, data order and z and differ only in the knobs you pick (say the loss form, or "
    "D's learning rate). They step together, so at every refresh they are at the same step: "
    "what differs on the charts is what the knob did.")

from ui.compare_views import compare_page  # noqa: E402

compare_page()
