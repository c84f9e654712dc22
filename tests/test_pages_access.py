"""Pages by role: a signed-in agent sees only their own conversations; writes refused in qa/ show as messages."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.app_fixtures import start_app


def test_an_agent_sees_only_their_own_conversations(seeded_app: Engine) -> None:
    at = start_app("pages/queue.py", user="小美")
    assert not at.exception
    assert set(at.dataframe[0].value["agent"]) == {"小美"}  # tm-1, tm-2 only; 阿杰's tm-3/tm-4 are not listed
    assert not [e for e in at.expander if e.label == "分配给质检员"]
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
    assert not at.error and "**整体评审**（王质检）" in [m.value for m in at.markdown]
    assert "保存评审" in [b.label for b in at.button]


def test_an_admin_reads_the_audit_trail_on_the_data_page(seeded_app: Engine) -> None:
    at = start_app("pages/data.py")
    assert not at.exception and "审计记录" in [s.value for s in at.subheader]
    trail = at.dataframe[-1].value
    # the seed's import, and the admin account the first start created (the seed's accounts have no passwords)
    assert set(trail["action"]) == {"导入", "新建"} and "seed.jsonl" in trail["after"].iloc[-1]


def test_an_executive_sees_aggregates_but_opens_no_conversation(seeded_app: Engine) -> None:
    at = start_app("pages/agents.py", user="刘总")
    assert not at.exception and [t.value for t in at.title] == ["坐席"]
    replay = [b for b in at.button if b.label == "回放"]
    assert replay  # the case lists name conversations…
    replay[0].click().run()
    assert not at.exception  # …but do not open them
    assert "管理层账号只查看汇总数据，不打开单条会话；需要时请质检主管协助。" in [i.value for i in at.info]
    assert [t.value for t in at.title] == ["坐席"]
