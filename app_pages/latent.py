"""Latent explorer: walk through a trained generator's latent space (views in ui/latent_views.py)."""
import streamlit as st

from ui.latent_views import explore, pick_model

st.title("Latent explorer")
st.caption("G turns a latent vector z into a sample. Move z with sliders, walk between two points "
           "or at random, and check whether G copies its training data.")
picked = pick_model()
if picked is not None:
    explore(picked)
