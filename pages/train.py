import streamlit as st

st.title("Train")
st.info("The Train page is being built.")
