import streamlit as st

st.title("Latent explorer")
st.info("The latent explorer is being built.")
