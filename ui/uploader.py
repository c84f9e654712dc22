"""A file uploader that speaks Chinese.

Streamlit draws its dropzone in English ("Drag and drop files here", "Upload", "1GB per file") and, as of 1.67,
has no parameter or locale for that text (streamlit/streamlit#13500). Its limit is also shown rounded to whole
gigabytes (512 MB reads "1GB"). So the English is hidden by CSS scoped to this one widget (its ``st-key-…`` class)
and the Chinese is drawn in its place; the widget itself, its upload and its accept list are Streamlit's own.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

__all__ = ["upload_files"]

_STYLE = """<style>
.st-key-{key} [data-testid="stFileUploaderDropzoneInstructions"] > div > span {{ font-size: 0; visibility: hidden; }}
.st-key-{key} [data-testid="stFileUploaderDropzoneInstructions"] > div > span::before {{
  content: "拖放文件到这里，或点“选择文件”"; visibility: visible; display: block; font-size: 0.875rem; margin-bottom: 0.25rem; }}
.st-key-{key} [data-testid="stFileUploaderDropzoneInstructions"] > div > span::after {{
  content: "每个文件不超过 {limit} MB · {types}"; visibility: visible; font-size: 0.75rem; }}
.st-key-{key} [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {{ font-size: 0; visibility: hidden; }}
.st-key-{key} [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {{
  content: "选择文件"; visibility: visible; font-size: 0.875rem; }}
</style>"""


def upload_files(label: str, extensions: Sequence[str], key: str) -> list[UploadedFile]:
    """Several files to upload, each up to ``server.maxUploadSize``; the dropzone's own text in Chinese."""
    limit = st.get_option("server.maxUploadSize")
    types = "、".join(e.lstrip(".").upper() for e in extensions)
    st.html(_STYLE.format(key=key, limit=f"{limit:,}", types=types))
    return st.file_uploader(label, type=list(extensions), accept_multiple_files=True, key=key,
                            max_upload_size=limit) or []
