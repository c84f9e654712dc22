"""Streamlit helpers the pages share: cached reads (cache), per-user state (state), the signed-in user (user),
the sidebar filters (filters), charts and cell formats (charts), and the app frame (frame). No SQL here."""
