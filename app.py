"""GAN Playground: `streamlit run app.py`.  Navigation only; each page lives in app_pages/."""
import streamlit as st

from gan_core.forkserver import start_forkserver

# Streamlit runs this script as __main__.  A run's training process (a multiprocessing child) runs
# it again as __mp_main__: there it must draw nothing (each st call would log a warning).
if __name__ == "__main__":
    # First of all (it imports no torch): the forkserver runs' processes come from, told to import
    # what every child imports anyway (multiprocessing runs streamlit's main script again in each).
    # Its imports then overlap the pages' own, and a cold server's first page is ready sooner.
    start_forkserver(also_preload=("streamlit.web.cli",))
    st.set_page_config(page_title="GAN Playground", page_icon="🎲", layout="wide")
    navigation = st.navigation([
        st.Page("app_pages/train.py", title="Train", icon=":material/model_training:", default=True),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("app_pages/latent.py", title="Latent explorer", icon=":material/explore:"),
        st.Page("app_pages/lessons.py", title="Lessons", icon=":material/school:"),
    ])
    navigation.run()
