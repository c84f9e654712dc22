"""Signing in: the account kept in the session, the sign-in form, and what the sidebar says about it.

The session holds only the account id (``SIGNED_IN_KEY``); the role is read from the database on every run, so an
account disabled or changed by an admin takes effect on the next click. A password sign-in also starts a
``qa.review.sessions`` session whose token goes into a cookie (a line of script: Streamlit can read cookies but
not set them), so a reload or a link opened in a new tab comes back signed in until 退出登录 or the expiry.
When ``[auth]`` is configured in ``.streamlit/secrets.toml``, single sign-on (``st.login``, OIDC) is offered too:
the provider's e-mail address is matched to an account of that name, which an admin creates first.
"""

from __future__ import annotations

import json

import streamlit as st

from qa.access import ROLES, Principal, principal_named, principal_of
from qa.errors import HuifangError
from qa.review.sessions import COOKIE, SESSION_HOURS, end_session, resume_session, start_session
from qa.review.users import authenticate
from ui.cache import engine
from ui.text import plain

__all__ = ["SIGNED_IN_KEY", "current_principal", "current_user", "sign_in"]

SIGNED_IN_KEY = "signed_in_user_id"
_TOKEN_KEY = "sign_in_token"  # this browser's session token, to end it on 退出登录
_COOKIE_PENDING_KEY = "sign_in_cookie_pending"  # written into the browser on the first signed-in run


def _cookie_script(value: str, max_age: int) -> None:
    """Set (or, with an empty value and age 0, delete) the session cookie in the browser."""
    cookie = json.dumps(f"{COOKIE}={value}; Path=/; Max-Age={max_age}; SameSite=Strict")
    st.html(f"<script>document.cookie = {cookie} + (location.protocol === 'https:' ? '; Secure' : '');</script>",
            unsafe_allow_javascript=True)


def _cookie() -> str | None:
    """This browser's session token, as sent when the page was loaded."""
    token = st.context.cookies.get(COOKIE)
    return token if isinstance(token, str) and token else None


def _resumed() -> Principal | None:
    """The account this browser's cookie still signs in (a reload or a new tab), or None."""
    token = _cookie()
    principal = resume_session(engine(), token) if token else None
    if principal is not None:
        st.session_state[SIGNED_IN_KEY] = principal.user_id
        st.session_state[_TOKEN_KEY] = token
    return principal


def current_principal() -> Principal | None:
    """The signed-in account, or None."""
    uid = st.session_state.get(SIGNED_IN_KEY)
    if uid is None:
        return _resumed()
    with engine().connect() as conn:
        principal = principal_of(conn, uid)
    if principal is None:  # disabled or removed since signing in
        st.session_state.pop(SIGNED_IN_KEY, None)
    return principal


def current_user() -> tuple[int, str] | None:
    """(id, name) of the signed-in account, which signs what is written; None when nobody is signed in."""
    principal = current_principal()
    if principal is None or principal.user_id is None:
        return None
    return principal.user_id, principal.name


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml (StreamlitSecretNotFoundError)
        return False


def _oidc_principal() -> Principal | None:
    """The account named like the OIDC user's e-mail, once the provider has signed them in."""
    if not st.user.is_logged_in:
        return None
    email = str(st.user.get("email") or "")
    with engine().connect() as conn:
        principal = principal_named(conn, email)
    if principal is None:
        st.error(f"单点登录的账号 {plain(email)} 在回放中没有对应的用户：请管理员用 huifang user add 添加")
    return principal


def sign_in() -> Principal:
    """The signed-in account; otherwise the sign-in form, and the page stops here."""
    principal = current_principal()
    if principal is None and _oidc_configured():
        principal = _oidc_principal()
        if principal is not None:
            st.session_state[SIGNED_IN_KEY] = principal.user_id
    if principal is not None:
        with st.sidebar:
            st.caption(f"已登录：{plain(principal.name)}（{ROLES.get(principal.role, principal.role)}）")
            if st.session_state.get(_COOKIE_PENDING_KEY):
                _cookie_script(st.session_state.pop(_COOKIE_PENDING_KEY), SESSION_HOURS * 3600)
            if st.button("退出登录", key="sign_out"):
                st.session_state.pop(SIGNED_IN_KEY, None)
                token = st.session_state.pop(_TOKEN_KEY, None)
                if token:
                    end_session(engine(), token)
                if _oidc_configured() and st.user.is_logged_in:
                    st.logout()
                st.rerun()
        return principal
    st.title("登录回放")
    engine()  # on an installation's first start this makes the admin account and prints its password to the log,
    # which the caption below points to: before anyone has to try a sign-in to get it
    with st.form("sign_in_form"):
        name = st.text_input("用户名", key="sign_in_name")
        password = st.text_input("密码", type="password", key="sign_in_password")
        if st.form_submit_button("登录", type="primary"):
            try:
                found = authenticate(engine(), name, password)
            except HuifangError as e:
                st.error(plain(e))
            else:
                assert found.user_id is not None  # authenticate returns stored accounts only
                st.session_state[SIGNED_IN_KEY] = found.user_id
                token = start_session(engine(), found.user_id)
                st.session_state[_TOKEN_KEY] = st.session_state[_COOKIE_PENDING_KEY] = token
                st.rerun()
    if _cookie():  # ended or expired (a valid one would have signed in): forget it
        _cookie_script("", 0)
    if _oidc_configured():
        st.button("单点登录", key="sign_in_oidc", on_click=st.login)
    st.caption("没有账号？请管理员用 `huifang user add` 创建。首次启动时创建的管理员账号和密码打印在启动日志中。")
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises
