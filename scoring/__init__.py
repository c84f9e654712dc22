"""Huifang's scoring layer: text processing, ML models, training and evaluation (no Streamlit, no database)."""
