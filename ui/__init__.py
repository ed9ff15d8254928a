"""Streamlit-only helpers: widgets, figures and per-session state.  gan_core never imports this."""
