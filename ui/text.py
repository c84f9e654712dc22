"""Imported and typed values shown as text: Streamlit renders captions, headings, labels and messages as
Markdown, so a conversation id like ``![x](http://host/x.png)`` would make every viewer's browser fetch an
outside image (who looked at what, when) and ``[点我](http://…)`` would be a live link."""

from __future__ import annotations

import re

__all__ = ["plain"]

_MARKDOWN = re.compile(r"([\\`*_\[\]<>$|~])|^([#>+-])")  # emphasis, links and images, HTML, math, tables; a
# heading, quote or list only where it starts the text
_AUTOLINK = re.compile(r"(?<=\w):(?=//)|(?<=\bwww)\.", re.IGNORECASE)  # what GFM would turn into a link by itself


def plain(value: object) -> str:
    """``value`` as text: every character by which Markdown (or Streamlit's :color[] and $math$) would format
    or link it is escaped; dates, times and punctuation read as they are."""
    escaped = _MARKDOWN.sub(lambda m: "\\" + m.group(0), str(value))
    return _AUTOLINK.sub(lambda m: "\\" + m.group(0), escaped)
