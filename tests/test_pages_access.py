"""Pages by role: a signed-in agent sees only their own conversations; writes refused in qa/ show as messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from qa.models import User
from qa.review.annotations import Review, my_review, save_review
from qa.review.coaching import add_item, create_list, list_items
from qa.review.replay import resolve_conversation
from qa.review.users import get_or_create_user
from tests.app_fixtures import point_app_to, start_app
from tests.helpers import read


def test_an_agent_sees_only_their_own_conversations(seeded_app: Engine) -> None:
    at = start_app("pages/queue.py", user="小美")
    assert not at.exception
    assert set(at.dataframe[0].value["agent"]) == {"小美"}  # tm-1, tm-2 only; 阿杰's tm-3/tm-4 are not listed
    assert not [e for e in at.expander if e.label == "分配给质检员"]
    assert [t.value for t in at.title] == ["我的会话"]  # no sampling or assigning: an agent does not review
    keys = {w.key for w in [*at.selectbox, *at.number_input, *at.slider, *at.get("segmented_control")]}
    assert not keys & {"queue_view", "queue_mode", "queue_rate", "queue_quota", "queue_seed"}
    assert [t.value for t in start_app("pages/queue.py", user="王质检").title] == ["质检队列"]
    at.switch_page("pages/replay.py")
    at.run()
    at.text_input(key="replay_lookup").input("tm-3").run()
    assert "坐席账号只能查看自己接待的会话" in [e.value for e in at.error]
    assert not [m for m in at.markdown if "亲，在的" in m.value]
    at.text_input(key="replay_lookup").input("tm-1").run()
    assert not at.error and "会话 tm-1" in [s.value for s in at.subheader]
    assert not [m for m in at.markdown if m.value.startswith("**整体评审**")]  # agents do not review
    assert "保存评审" not in [b.label for b in at.button]


def test_a_reviewer_sees_every_conversation_and_the_review_form(seeded_app: Engine) -> None:
    at = start_app("pages/replay.py", user="王质检")
    at.text_input(key="replay_lookup").input("tm-3").run()
    assert not at.error and "整体评审（王质检）" in [e.label for e in at.expander]
    assert "保存评审" in [b.label for b in at.button]


def test_an_admin_reads_the_audit_trail_on_the_data_page(seeded_app: Engine) -> None:
    at = start_app("pages/data.py")
    assert not at.exception and "审计记录" in [s.value for s in at.subheader]
    trail = at.dataframe[-1].value
    # the seed's import, and the admin account the first start created (the seed's accounts have no passwords)
    assert list(trail.columns) == ["时间", "操作人", "操作", "对象", "编号", "内容"]
    assert set(trail["操作"]) == {"导入", "新建"} and trail["内容"].iloc[-1].startswith("文件 seed.jsonl；格式 jsonl；新增会话")
    assert not trail["内容"].str.contains("{", regex=False).any()  # said in words, not JSON


def test_an_executive_sees_aggregates_but_opens_no_conversation(seeded_app: Engine) -> None:
    at = start_app("pages/agents.py", user="刘总")
    assert not at.exception and [t.value for t in at.title] == ["坐席"]
    assert at.markdown and any("风险" in m.value for m in at.markdown)  # the case lists name conversations…
    labels = {b.label for b in at.button}
    assert "回放" not in labels and "查看该坐席的全部会话" not in labels  # …with no button that could not open them
    assert "回放" in {b.label for b in start_app("pages/agents.py", user="陈经理").button}

def test_an_agent_sees_their_own_figures_against_the_team_and_no_colleague(seeded_app: Engine) -> None:
    get_or_create_user(seeded_app, "阿杰", "agent")  # 售后, with 小李
    at = start_app("pages/agents.py", user="阿杰")
    assert not at.exception and [t.value for t in at.title] == ["我的表现"]
    assert "ag_agent" not in {s.key for s in at.selectbox}  # no picking another agent
    assert any("对比：售后（组内全部坐席的会话合计）" in c.value for c in at.caption)  # the team's totals
    shown = " ".join([*(m.value for m in at.markdown), *(c.value for c in at.caption),
                      *(str(d.value.to_dict()) for d in at.dataframe)])
    assert "tm-3" in shown and "tm-4" in shown  # their own best and worst conversations
    assert "小李" not in shown and "jd-" not in shown  # no colleague's row or conversation
    assert "组内对比" not in [s.value for s in at.subheader]


def test_a_stale_review_form_is_refused_with_the_newer_review_shown(seeded_app: Engine) -> None:
    at = start_app("pages/replay.py", user="王质检")
    at.text_input(key="replay_lookup").input("tm-3").run()
    with seeded_app.connect() as conn:  # meanwhile, the same reviewer in another tab
        wang = conn.scalar(select(User.id).where(User.name == "王质检"))
    cid = read(seeded_app, resolve_conversation, "tm-3")
    save_review(seeded_app, cid, wang, Review({"态度礼貌": 1}, "不合格", "禁用语"), base_version=0)
    at.segmented_control(key="review_verdict").set_value("合格")
    [b for b in at.button if b.label == "保存评审"][0].click().run()
    errors = [e.value for e in at.error]
    assert any("这份评审在你打开表单后已被修改" in e and "结论 不合格" in e and "你的修改没有保存" in e for e in errors)
    assert read(seeded_app, my_review, cid, wang).verdict == "不合格"
    [b for b in at.button if b.label == "保存评审"][0].click().run()  # seen: a second click overwrites on purpose
    assert read(seeded_app, my_review, cid, wang).verdict == "合格"


def test_a_reviewer_reads_coaching_lists_but_cannot_edit_them(seeded_app: Engine) -> None:
    with seeded_app.connect() as conn:
        trainer = conn.scalar(select(User.id).where(User.name == "张培训"))
    lid = create_list(seeded_app, "售后", user_id=trainer)
    add_item(seeded_app, lid, read(seeded_app, resolve_conversation, "jd-2"), kind="bad", user_id=trainer)
    at = start_app("pages/coaching.py", user="王质检")
    at.button(key="coach_remove").click().run()
    assert not at.exception
    assert "王质检（质检员）没有权限编辑培训清单：仅限管理员、质检主管、培训师" in [e.value for e in at.error]
    assert len(read(seeded_app, list_items, lid)) == 1


def test_the_first_start_creates_an_admin_and_prints_how_to_sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    point_app_to(monkeypatch, f"sqlite:///{tmp_path / 'new.db'}")
    at = start_app(user=None)
    assert not at.exception
    printed = re.search(r"已创建管理员账号 admin，密码 (\S+?)（只显示这一次）", capsys.readouterr().out)
    assert printed is not None
    at.text_input(key="sign_in_name").input("admin")
    at.text_input(key="sign_in_password").input(printed[1])
    at.button[0].click().run()
    assert not at.exception and "已登录：admin（管理员）" in [c.value for c in at.sidebar.caption]
    point_app_to(monkeypatch, f"sqlite:///{tmp_path / 'new.db'}")  # a restart: the admin exists, nothing printed
    assert not start_app(user=None).exception and "管理员账号" not in capsys.readouterr().out
