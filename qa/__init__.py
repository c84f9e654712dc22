"""Huifang's domain layer: storage (db, models), ingest/, review/, analytics/, jobs/ — no Streamlit here."""
