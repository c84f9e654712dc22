"""Huifang's domain layer: storage, import, queries and annotations (no Streamlit here)."""
