"""Sign-in and roles (issue #12, case 8): accounts with argon2 hashes, and every write refused in qa/ to a role
that may not do it, whatever a page shows."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from qa.access import (
    ROLES,
    SYSTEM,
    AccessDenied,
    Principal,
    allowed,
    can_view_conversation,
    principal_of,
    require,
    scope_filters,
)
from qa.analytics.filters import Filters
from qa.cli import main
from qa.ingest.importer import import_stream
from qa.ingest.removal import delete_conversations
from qa.jobs.background import BackgroundScoring
from qa.models import User
from qa.review.annotations import Review, add_message_note, save_review
from qa.review.coaching import create_list, delete_list
from qa.review.labels import record_feedback
from qa.review.queue import QueueQuery, assign, queue_page
from qa.review.replay import load_replay, resolve_conversation
from qa.review.users import (
    DEMO_USERS,
    SIGN_IN_LIMIT,
    AccountError,
    authenticate,
    create_user,
    ensure_admin,
    ensure_demo_users,
    get_or_create_user,
    set_password,
)
from tests.conftest import ROOT
from tests.helpers import read
from tests.seed import seed_small

ROLE_OF = {"王质检": "reviewer", "张培训": "trainer", "陈经理": "qa_manager", "演示管理员": "admin", "刘总": "executive",
           "小美": "agent"}


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_small(engine)
    return engine


def _who(engine: Engine, name: str) -> Principal:
    with engine.connect() as conn:
        principal = principal_of(conn, conn.scalar(select(User.id).where(User.name == name)))
    assert principal is not None
    return principal


@pytest.mark.parametrize(("permission", "roles"), [
    ("import", {"admin"}),
    ("delete", {"admin"}),
    ("train", {"admin"}),
    ("score", {"admin", "qa_manager"}),
    ("review", {"admin", "qa_manager", "reviewer"}),
    ("coach", {"admin", "qa_manager", "trainer"}),
    ("assign_others", {"admin", "qa_manager"}),
    ("audit", {"admin"}),
    ("view_conversations", {"admin", "qa_manager", "reviewer", "trainer", "agent"}),
])
def test_permission_table(permission: str, roles: set[str]) -> None:
    assert {r for r in ("admin", "qa_manager", "reviewer", "trainer", "agent", "executive")
            if allowed(Principal(1, "x", r), permission)} == roles


def test_a_refusal_names_who_what_and_who_may() -> None:
    with pytest.raises(AccessDenied, match="刘总（管理层）没有权限导入数据：仅限管理员"):
        require(Principal(1, "刘总", "executive"), "import")
    with pytest.raises(AccessDenied, match="请先登录"):
        require(None, "review")


@pytest.mark.parametrize("name", sorted(ROLE_OF))
def test_each_role_writes_only_what_it_may(seeded: Engine, name: str) -> None:
    role, who = ROLE_OF[name], _who(seeded, name)
    assert who.role == role
    cid = read(seeded, resolve_conversation, "tm-1")
    message = int(read(seeded, load_replay, cid).messages["id"].iloc[1])
    writes = {
        "review": lambda: save_review(seeded, cid, who.user_id, Review(verdict="合格"), base_version=0),
        "note": lambda: add_message_note(seeded, cid, message, who.user_id, "好"),
        "feedback": lambda: record_feedback(seeded, message, who.user_id, "tone_risk", agrees=False),
        "coach": lambda: create_list(seeded, f"清单-{name}", user_id=who.user_id),
        "import": lambda: import_stream(seeded, "x.jsonl", io.BytesIO(
            '{"conversation_id": "n-1", "messages": [{"role": "customer", "text": "在吗"}]}'.encode()), by=who),
        "assign": lambda: assign(seeded, QueueQuery(), who.user_id, 1, by=who),
        "score": lambda: BackgroundScoring(lambda *a, **k: None).start(seeded, by=who),  # type: ignore[arg-type,return-value]
        "delete": lambda: delete_conversations(seeded, ["tm-2"], by=who),
    }
    may = {"review": {"admin", "qa_manager", "reviewer"}, "note": {"admin", "qa_manager", "reviewer"},
           "feedback": {"admin", "qa_manager", "reviewer"}, "coach": {"admin", "qa_manager", "trainer"},
           "import": {"admin"}, "assign": {"admin", "qa_manager", "reviewer"}, "score": {"admin", "qa_manager"},
           "delete": {"admin"}}
    done = set()
    for what, write in writes.items():
        try:
            write()
        except AccessDenied:
            continue
        done.add(what)
    assert done == {what for what, roles in may.items() if role in roles}


def test_a_reviewer_assigns_to_themselves_only_and_only_admins_delete_lists(seeded: Engine) -> None:
    wang, li, chen = _who(seeded, "王质检"), _who(seeded, "李质检"), _who(seeded, "陈经理")
    with pytest.raises(AccessDenied, match="没有权限给别人分配质检任务"):
        assign(seeded, QueueQuery(), li.user_id, 1, by=wang)
    assert assign(seeded, QueueQuery(), li.user_id, 1, by=chen) == 1
    with pytest.raises(AccessDenied, match="张培训（培训师）没有权限编辑培训清单|没有权限评审"):
        assign(seeded, QueueQuery(), _who(seeded, "张培训").user_id, 1, by=chen)  # a trainer does not review
    lid = create_list(seeded, "话术", user_id=_who(seeded, "张培训").user_id)
    with pytest.raises(AccessDenied, match="没有权限删除数据：仅限管理员"):
        delete_list(seeded, lid, user_id=_who(seeded, "张培训").user_id)
    delete_list(seeded, lid, user_id=_who(seeded, "演示管理员").user_id)


def test_a_write_without_a_signed_in_user_is_refused(seeded: Engine) -> None:
    with pytest.raises(AccessDenied, match="请先登录"):
        create_list(seeded, "无主清单")
    with pytest.raises(AccessDenied, match="请先登录"):
        save_review(seeded, read(seeded, resolve_conversation, "tm-1"), 999, Review(verdict="合格"), base_version=0)


def test_an_agent_sees_only_their_own_conversations(seeded: Engine) -> None:
    agent, reviewer, boss = _who(seeded, "小美"), _who(seeded, "王质检"), _who(seeded, "刘总")
    own, other = read(seeded, resolve_conversation, "tm-1"), read(seeded, resolve_conversation, "tm-3")
    assert read(seeded, can_view_conversation, agent, own) and not read(seeded, can_view_conversation, agent, other)
    assert read(seeded, can_view_conversation, reviewer, other)
    assert not read(seeded, can_view_conversation, boss, own)  # executives: aggregates only
    queue = read(seeded, queue_page, QueueQuery(scope_filters(agent, Filters(agents=("阿杰",)))), 1)
    assert set(queue["agent"]) == {"小美"} and len(queue) == 2
    assert scope_filters(reviewer, Filters()) == Filters()


def test_a_disabled_account_is_no_one(seeded: Engine) -> None:
    uid = _who(seeded, "王质检").user_id
    with seeded.begin() as conn:
        conn.execute(User.__table__.update().where(User.id == uid).values(active=False))
    assert read(seeded, principal_of, uid) is None
    with pytest.raises(AccessDenied):
        save_review(seeded, read(seeded, resolve_conversation, "tm-1"), uid, Review(verdict="合格"), base_version=0)


def test_passwords_are_salted_hashes_and_sign_in_checks_them(engine: Engine) -> None:
    uid = create_user(engine, SYSTEM, "赵主管", "qa_manager", "long-enough-1")
    create_user(engine, SYSTEM, "钱主管", "qa_manager", "long-enough-1")
    with engine.connect() as conn:
        hashes = list(conn.scalars(select(User.password_hash).order_by(User.id)))
        assert all(h.startswith("$argon2id$") and "long-enough-1" not in h for h in hashes)
        assert hashes[0] != hashes[1]  # salted: the same password hashes differently
    assert authenticate(engine, "赵主管", "long-enough-1") == Principal(uid, "赵主管", "qa_manager", None)
    for name, password in (("赵主管", "wrong-password"), ("没有这人", "long-enough-1")):
        with pytest.raises(AccountError, match="^用户名或密码不正确$"):
            authenticate(engine, name, password)
    with pytest.raises(AccountError, match="密码至少 8 个字符"):
        set_password(engine, SYSTEM, "赵主管", "short")
    with pytest.raises(AccountError, match="坐席账号须指定对应的坐席名"):
        create_user(engine, SYSTEM, "某坐席", "agent", "long-enough-1")
    with pytest.raises(AccessDenied, match="没有权限管理账号"):
        create_user(engine, Principal(uid, "赵主管", "qa_manager"), "孙", "admin", "long-enough-1")
    set_password(engine, Principal(uid, "赵主管", "qa_manager"), "赵主管", "another-pass")  # one's own
    assert authenticate(engine, "赵主管", "another-pass").user_id == uid


def test_repeated_failures_pause_sign_in_for_that_name(engine: Engine,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.audit import audit_trail
    from qa.review import users

    uid = create_user(engine, SYSTEM, "赵主管", "qa_manager", "long-enough-1")
    create_user(engine, SYSTEM, "钱主管", "qa_manager", "long-enough-1")
    for _ in range(SIGN_IN_LIMIT - 1):  # a success starts the count again
        with pytest.raises(AccountError, match="^用户名或密码不正确$"):
            authenticate(engine, "赵主管", "wrong-password")
    assert authenticate(engine, "赵主管", "long-enough-1").user_id == uid
    for _ in range(SIGN_IN_LIMIT):
        with pytest.raises(AccountError, match="^用户名或密码不正确$"):
            authenticate(engine, " 赵主管", "wrong-password")
    with pytest.raises(AccountError, match="“赵主管”最近 15 分钟内登录失败 5 次，已暂停登录：请 15 分钟后再试"):
        authenticate(engine, "赵主管", "long-enough-1")  # even the right password, while paused
    assert authenticate(engine, "钱主管", "long-enough-1").name == "钱主管"  # other names are not paused
    trail = read(engine, audit_trail, SYSTEM, entity="account", entity_id="赵主管")
    assert list(trail["action"]).count("sign_in_failed") == 2 * SIGN_IN_LIMIT - 1
    assert list(trail["action"]).count("sign_in") == 1 and set(trail["user_name"]) == {"赵主管"}
    monkeypatch.setattr(users, "SIGN_IN_WINDOW", timedelta(0))  # the window has passed
    assert authenticate(engine, "赵主管", "long-enough-1").user_id == uid


def test_first_start_creates_one_admin(engine: Engine) -> None:
    get_or_create_user(engine, "王质检")  # accounts without passwords do not count
    password = ensure_admin(engine)
    assert password is not None and len(password) >= 12
    assert authenticate(engine, "admin", password).role == "admin"
    assert ensure_admin(engine) is None


def test_the_demo_has_one_account_per_role_signing_in_with_the_password_the_readme_gives(engine: Engine) -> None:
    ensure_demo_users(engine)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert {role for _, role, _, _ in DEMO_USERS} == set(ROLES)
    for name, role, agent, password in DEMO_USERS:
        assert f"`{password}`" in readme and name in readme, name
        who = authenticate(engine, name, password)
        assert (who.role, who.agent_name) == (role, agent)


def test_the_demo_script_serves_this_machine_only_unless_told_otherwise() -> None:
    script = (ROOT / "scripts" / "demo.sh").read_text(encoding="utf-8")
    start = [line for line in script.splitlines() if "streamlit run" in line]
    # Streamlit takes the last --server.address given, so the user's own ("$@") still wins
    assert start == ['exec python -m streamlit run app.py --server.address 127.0.0.1 "$@"']


def test_cli_adds_users_and_changes_passwords(sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(sqlite_engine.url)
    assert main(["--db", db, "user", "add", "周坐席", "--role", "agent", "--agent", "小美",
                 "--password", "agent-pass-1"]) == 0
    assert main(["--db", db, "user", "passwd", "周坐席", "--password", "agent-pass-2"]) == 0
    assert main(["--db", db, "user", "add", "周坐席", "--role", "agent", "--agent", "小美",
                 "--password", "agent-pass-1"]) == 1
    out = capsys.readouterr()
    assert "已创建账号 周坐席（坐席）" in out.out and "已有名为“周坐席”的账号" in out.err
    assert authenticate(sqlite_engine, "周坐席", "agent-pass-2") == Principal(
        authenticate(sqlite_engine, "周坐席", "agent-pass-2").user_id, "周坐席", "agent", "小美")


def test_only_admins_read_the_audit_trail(seeded: Engine) -> None:
    from qa.audit import audit_trail

    with pytest.raises(AccessDenied, match="陈经理（质检主管）没有权限查看审计记录"):
        read(seeded, audit_trail, _who(seeded, "陈经理"))
    assert not read(seeded, audit_trail, _who(seeded, "演示管理员")).empty
