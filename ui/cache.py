"""The process-wide engine and cached reads of ``qa``.

``st.cache_resource`` is shared by every session, so only thread-safe objects go there: the Engine (its pool is
thread-safe), never a Session or Connection. Reads of ``qa`` take a Connection as their first argument (writes
take the Engine and open their own transaction); ``read`` runs one on a fresh connection, ``cached`` and
``cached_with_reviews`` keep the result until the archive (or the reviews) change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy import Engine

from qa.analytics.stats import data_version
from qa.db import get_engine
from qa.jobs.background import BackgroundScoring
from qa.review.annotations import review_version
from qa.review.users import ensure_admin

__all__ = ["engine", "read", "data_version_now", "cached", "cached_with_reviews", "background_scoring"]

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process-wide engine (DATABASE_URL or the embedded SQLite file), migrated once; on the first start of
    an installation nobody can sign in to, an admin account is created and its password printed to the log."""
    eng = get_engine()
    password = ensure_admin(eng)
    if password is not None:
        print(f"回放 Huifang 首次启动：已创建管理员账号 admin，密码 {password}（只显示这一次）。"
              "请用它登录，再用 huifang user add 添加同事、huifang user passwd admin 修改密码。", flush=True)
    return eng


@st.cache_resource(show_spinner=False)
def background_scoring() -> BackgroundScoring:
    """The process's one background scoring run (shared by every session, like the engine)."""
    return BackgroundScoring()


def read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(conn, *args, **kwargs)`` on a connection of its own, uncached."""
    with engine().connect() as conn:
        return fn(conn, *args, **kwargs)


@st.cache_data(ttl=2, show_spinner=False)
def data_version_now() -> str:
    """The archive's data version, re-read at most every two seconds rather than once per query on a page."""
    return read(data_version)


@st.cache_data(show_spinner=False, max_entries=2000)
def _cached_read(name: str, version: str, args: tuple, kwargs: tuple, _fn: Callable[..., Any]) -> Any:
    # keyed by the function's name, the version and the arguments; ``_fn`` (leading underscore) is not hashed
    return read(_fn, *args, **dict(kwargs))


def cached(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``read(fn, ...)`` cached per arguments and data version, for reads of scores and conversations.

    Arguments must be hashable values (Filters, dates, strings); results must pickle (DataFrames, dataclasses).
    """
    name = f"{fn.__module__}.{fn.__qualname__}"
    return _cached_read(name, data_version_now(), args, tuple(sorted(kwargs.items())), fn)


def cached_with_reviews(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``cached`` for reads that show reviews, notes or assignments too: a saved review shows at once."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    version = f"{data_version_now()}|{read(review_version)}"
    return _cached_read(name, version, args, tuple(sorted(kwargs.items())), fn)
