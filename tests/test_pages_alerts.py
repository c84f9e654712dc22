"""The 预警 page as a QA manager uses it (AppTest): create a rule, check now, see the firing, stop and delete."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.app_fixtures import start_app


def test_create_check_and_manage_a_rule(seeded_app: Engine) -> None:
    at = start_app("pages/alerts.py")
    assert not at.exception
    assert "还没有预警规则" in at.info[0].value
    at.text_input(key="alert_name").input("退货不满超 30%")
    at.selectbox(key="alert_metric").select("risk_high_share")
    at.selectbox(key="alert_dimension").select("category")
    at.text_input(key="alert_value").input("退货")
    at.number_input(key="alert_threshold").set_value(0.3)
    at.number_input(key="alert_volume").set_value(1)
    at.button[0].click().run()  # the form's 创建
    assert not at.exception
    assert "已创建预警规则“退货不满超 30%”：分类“退货”：高风险会话占比 近 7 天高于 30.0%（至少 1 个已评分会话）" in \
        [s.value for s in at.success]
    check = next(b for b in at.button if b.label == "立即检查")
    check.click().run()
    assert "检查完成：新提醒 1 条，已发送 0 条" in [s.value for s in at.success]
    events = at.dataframe[0].value
    assert events["subject"].tolist() == ["分类 退货"]
    assert "高风险会话占比近 7 天为 100.0%" in events["message"].iloc[0]

    next(b for b in at.button if b.label == "停用").click().run()
    assert any("（已停用）" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "删除").click().run()
    assert "已删除预警规则“退货不满超 30%”及其提醒记录" in [s.value for s in at.success]
    assert "暂无提醒。" in [c.value for c in at.caption]


def test_a_rule_that_cannot_work_is_refused_with_the_field(seeded_app: Engine) -> None:
    at = start_app("pages/alerts.py")
    at.text_input(key="alert_name").input("翻倍")
    at.radio(key="alert_kind").set_value("change")
    at.number_input(key="alert_threshold").set_value(0.5)
    at.button[0].click().run()
    assert not at.exception
    assert "环比变差的倍数须大于 1（例如 2 表示翻倍）" in [e.value for e in at.error]


def test_executives_read_alerts_but_cannot_change_them(seeded_app: Engine) -> None:
    from qa.program.alerts import AlertRule, add_rule

    add_rule(seeded_app, AlertRule("退货不满", "threshold", "risk_high_share", "category", "退货", 0.3, min_volume=1),
             "陈经理")
    at = start_app("pages/alerts.py", user="刘总")
    assert not at.exception
    assert any("退货不满" in m.value for m in at.markdown)
    assert not at.expander and not [b for b in at.button if b.label in ("停用", "删除", "立即检查")]


def test_executives_see_what_fired_and_who_sets_rules_without_an_invitation(seeded_app: Engine) -> None:
    from qa.program.alerts import AlertRule, add_rule, run_alerts

    at = start_app("pages/alerts.py", user="刘总")
    assert not at.exception
    infos = [i.value for i in at.info]
    assert "预警规则由质检主管或管理员在本页设置；你可以查看触发的提醒和现有规则。" in infos
    assert "还没有预警规则：请质检主管设置。" in infos and not any("可以从" in i for i in infos)
    assert not at.text_input and not at.button  # no form, no 创建
    add_rule(seeded_app, AlertRule("退货不满", "threshold", "risk_high_share", "category", "退货", 0.3, min_volume=1),
             "陈经理")
    run_alerts(seeded_app)
    at = start_app("pages/alerts.py", user="刘总")
    assert not at.exception
    events = at.dataframe[0].value  # what fired, first on the page
    assert events["subject"].tolist() == ["分类 退货"]
    headers = [h.value for h in at.subheader]
    assert headers == ["最近的提醒", "规则"]
    assert not at.button
