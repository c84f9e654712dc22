"""Model cards and agreement (model flag vs reviewers, reviewers vs each other) with hand-computed kappas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from qa.analytics import model_quality as mq
from qa.analytics.filters import Filters
from tests.app_fixtures import add_reviews
from tests.seed import seed_small


@pytest.fixture
def reviewed(engine: Engine) -> Engine:
    seed_small(engine)
    add_reviews(engine)
    return engine


def test_flag_vs_verdict(reviewed: Engine) -> None:
    with reviewed.connect() as conn:
        fa = mq.flag_vs_verdict(conn, Filters())
    # flagged (risk ≥ 0.5): tm-3 ×2 不合格, tm-4 不合格/需改进, jd-2 合格/不合格, dy-1 需改进; not: tm-1 合格 ×2
    assert (fa.tp, fa.fp, fa.fn, fa.tn, fa.n) == (4, 3, 0, 2, 9)
    assert fa.precision == pytest.approx(4 / 7) and fa.recall == 1.0
    # po = 6/9, pe = 7/9·4/9 + 2/9·5/9 = 38/81
    assert fa.kappa == pytest.approx((6 / 9 - 38 / 81) / (1 - 38 / 81))
    assert not fa.enough
    assert fa.confusion().values.tolist() == [[4, 3], [0, 2]]


def test_flag_vs_verdict_follows_filters(reviewed: Engine) -> None:
    with reviewed.connect() as conn:
        fa = mq.flag_vs_verdict(conn, Filters(platforms=("天猫",)))
        higher = mq.flag_vs_verdict(conn, Filters(), threshold=0.85)
    assert (fa.tp, fa.fp, fa.fn, fa.tn) == (3, 1, 0, 2)
    assert (higher.tp, higher.fp, higher.fn, higher.tn) == (1, 1, 3, 4)  # only tm-4 (0.9) flagged


def test_reviewer_agreement(reviewed: Engine) -> None:
    with reviewed.connect() as conn:
        ra = mq.reviewer_agreement(conn, Filters())
    assert ra.conversations == 4 and ra.verdict_n == 4  # dy-1 was reviewed once
    assert ra.verdict_exact == 0.5
    # pairs 合格/合格, 不合格/不合格, 不合格/需改进, 合格/不合格: po = 1/2, pe = (2·1 + 2·2)/16 = 3/8
    assert ra.verdict_kappa == pytest.approx((1 / 2 - 3 / 8) / (1 - 3 / 8))
    assert ra.verdict_table().loc["不合格"].tolist() == [0, 1, 1]
    # 态度礼貌: (5, 5), (1, 1), (1, 5) on a 1–5 scale: 1 − Σw·O / Σw·E = 1 − 16 / (16·5/3) = 0.4
    assert ra.score_n == 3 and ra.score_kappa == pytest.approx(0.4)
    assert ra.by_item.values.tolist() == [["态度礼貌", 3, pytest.approx(2 / 3), pytest.approx(0.4)]]


def test_agreement_without_reviews(engine: Engine) -> None:
    seed_small(engine)
    with engine.connect() as conn:
        fa = mq.flag_vs_verdict(conn, Filters())
        ra = mq.reviewer_agreement(conn, Filters())
    assert fa.n == 0 and fa.precision is None and fa.kappa is None
    assert ra.verdict_n == 0 and ra.verdict_kappa is None and ra.verdict_exact is None
    assert ra.verdict_table().values.sum() == 0


def test_model_cards_read_markdown_and_metrics(tmp_path: Path) -> None:
    (tmp_path / "sentiment.md").write_text("# 情绪模型\n\n说明", encoding="utf-8")
    (tmp_path / "sentiment.json").write_text(json.dumps({
        "trained": "2026-11-24", "vectorizer": {"terms": ["好"]},
        "metrics": {"fold_auc": [0.9, 0.92], "loco_mean_auc": 0.93, "loco_pooled": {"roc_auc": 0.96, "n": 62705},
                    "negatives": "1 per reply", "waimai": {"n": 11987, "roc_auc": 0.92}},
    }), encoding="utf-8")
    (tmp_path / "tone.md").write_text("没有标题的卡片", encoding="utf-8")
    (tmp_path / "extra.md").write_text("# Extra model\n\ntext", encoding="utf-8")
    cards = mq.model_cards(tmp_path)
    # known models take their Chinese title; another card its own heading, or its name without one
    assert [(c.name, c.title, c.trained) for c in cards] == [("extra", "Extra model", None),
                                                             ("sentiment", "顾客情绪", "2026-11-24"),
                                                             ("tone", "客服语气风险", None)]
    cards = cards[1:]
    assert cards[0].headline == {"loco_mean_auc": 0.93}
    assert cards[0].notes == {"fold_auc": "0.9、0.92", "negatives": "1 per reply"}
    assert list(cards[0].metrics.columns) == ["evaluation", "n", "roc_auc"]  # sizes first, whatever the file says
    assert cards[0].metrics.values.tolist() == [["loco_pooled", 62705, 0.96], ["waimai", 11987, 0.92]]
    assert cards[1].metrics.empty and cards[1].headline == {} and cards[1].notes == {}
    assert mq.cards_version(tmp_path) != mq.cards_version(tmp_path / "nothing-here")


def test_flatten_metrics() -> None:
    assert mq.flatten_metrics({"a": 1, "b": {"c": 0.5, "d": {"e": "x"}}, "f": [1, 2]}) == [
        ("a", 1), ("b.c", 0.5), ("b.d.e", "x"), ("f", "1、2")]


@pytest.mark.parametrize(("kappa", "label"), [
    (None, "无法计算"), (-0.1, "差于随机"), (0.0, "轻微一致"), (0.19999999999999996, "轻微一致"), (0.3, "一般"),
    (0.5, "中等"), (0.7, "较强"), (0.81, "几乎完全一致"),
])
def test_kappa_label(kappa: float | None, label: str) -> None:
    assert mq.kappa_label(kappa) == label


def test_the_shipped_cards_are_found_where_the_models_are() -> None:
    names = {card.name for card in mq.model_cards()}
    assert {"sentiment", "relevance", "tone", "dissatisfaction"} <= names


def test_the_models_page_says_which_adapted_models_are_in_use(tmp_path) -> None:
    assert all("随附模型" in line for line in mq.adapted_in_use(tmp_path))
    (tmp_path / "relevance_local.json").write_text(
        '{"metrics": {"in_use": true, "reason": "留出会话上 ROC-AUC 0.95"}}', encoding="utf-8")
    (tmp_path / "tone_local.json").write_text(
        '{"metrics": {"in_use": false, "reason": "留出的复核标注太少"}}', encoding="utf-8")
    relevance, tone, sentiment = mq.adapted_in_use(tmp_path)
    assert relevance == "相关度：使用本店档案训练的模型（留出会话上 ROC-AUC 0.95）"
    assert tone == "语气：使用随附模型（留出的复核标注太少）"
    assert sentiment.startswith("顾客情绪：使用随附模型（尚未")


@pytest.mark.parametrize("path, label", [("loco_per_domain.书籍", "留出领域：书籍"), ("probe", "探针集（留出语境）"),
                                         ("probe.caught_by_kind", "探针集·各类检出率"), ("something.else", "something.else")])
def test_evaluations_and_figures_have_chinese_names(path: str, label: str) -> None:
    assert mq.evaluation_label(path) == label
    assert mq.term("roc_auc") == "ROC-AUC" and mq.term("false_alarms_on_fine") == "误报率"
    assert mq.term("unknown_key") == "unknown_key"


def test_the_archive_trained_cards_read_in_chinese() -> None:
    """What `huifang train --from-db` records (csat_stage, relevance_local) has Chinese names, yes/no and lists."""
    headline, notes, table = mq.metrics_table({
        "dissatisfied_rate": 0.122, "rated": 1991, "in_use": True, "fold_auc": [0.9054, 0.91],
        "held_out_fitted": {"n": 598, "roc_auc": 0.87}, "held_out_prior": {"n": 598, "roc_auc": 0.87}})
    assert {mq.term(k) for k in headline} == {"不满比例", "带评价会话"}
    assert {mq.term(k): v for k, v in notes.items()} == {"在用": "是", "各折 AUC": "0.9054、0.91"}
    assert [mq.evaluation_label(e) for e in table["evaluation"]] == [
        "留出 30%·按本店评价拟合的权重", "留出 30%·默认先验权重"]


def test_every_figure_the_shipped_cards_record_has_a_chinese_name() -> None:
    # domain names (书籍, 酒店…) and example lines are data, not figures: only the ASCII keys need a name
    missing = {leaf for card in mq.model_cards() for leaf in [*card.headline, *card.notes, *card.metrics.columns]
               if leaf != "evaluation" and leaf.isascii() and mq.term(leaf) == leaf}
    assert missing == set()


def test_a_cards_table_is_cut_into_tables_that_fit_the_page() -> None:
    """Rows recording the same figures stay together; a row of many figures of its own (the sample lines'
    scores) becomes one column, so no table is 15 columns wide (the sentiment card's was)."""
    lines = {f"示例{i}": i / 10 for i in range(mq.WIDE + 3)}
    _, _, table = mq.metrics_table({
        "loco_per_domain": {"书籍": {"n": 3850, "roc_auc": 0.83}, "酒店": {"n": 9997, "roc_auc": 0.94}},
        "labellers": {"jd": {"n": 500, "kappa_bad": 0.8}}, "plain_and_complaint_lines": lines})
    tables = mq.display_tables(table)
    assert [list(t.columns) for t in tables] == [["evaluation", "n", "roc_auc"], ["evaluation", "n", "kappa_bad"],
                                                ["evaluation", "value"]]
    assert tables[0]["evaluation"].tolist() == ["loco_per_domain.书籍", "loco_per_domain.酒店"]
    assert mq.evaluation_label(tables[2]["evaluation"].iloc[0]) == "示例语句：示例0"
    assert tables[2]["value"].tolist() == list(lines.values())
    # every shipped card's tables fit: none wider than WIDE figures
    assert all(t.shape[1] <= mq.WIDE + 1 for card in mq.model_cards() for t in mq.display_tables(card.metrics))
