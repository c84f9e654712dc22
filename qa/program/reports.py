"""The QA program's reports for people who work in Excel: one row per conversation, or per reviewed criterion.

Both take the same ``Filters`` as every view, so a manager exports exactly what the queue shows. Column headers
are Chinese because the files go to people, not programs; ``huifang export`` writes the same frames.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, Select, func, select

from qa.analytics.filters import Filters, apply_to_conversations
from qa.models import (
    Agent,
    AutoQaScore,
    Conversation,
    ConversationScore,
    Platform,
    ScorecardRecord,
    ScorecardReview,
    ScorecardReviewItem,
    ScorecardVersion,
    Shop,
    User,
)
from qa.program.store import load_version
from qa.review.coaching import handled_by

__all__ = ["conversation_report", "review_report"]

_c, _s = Conversation, ConversationScore


def _scope(f: Filters) -> Select:
    """Ids of the conversations ``f`` selects (a subquery: the reports join other tables onto them)."""
    return apply_to_conversations(select(_c.id).outerjoin(_s, _s.conversation_id == _c.id), f)


def conversation_report(conn: Connection, f: Filters) -> pd.DataFrame:
    """Per conversation: who (the main agent and, for a transferred chat, everyone in order), where, when, first response, handling time, CSAT, model scores, automatic score and
    the mean final review score (calibration reviews left out)."""
    r = ScorecardReview
    reviewed = (select(r.conversation_id, func.avg(r.score).label("review_score"), func.count().label("reviews"))
                .where(r.session_id.is_(None)).group_by(r.conversation_id).subquery())
    query = (
        select(_c.id, _c.external_id, Platform.name, Shop.name, func.coalesce(_c.team, Agent.team), Agent.name,
               func.coalesce(_c.category, _s.category), _c.started_at, _c.ended_at, _s.first_response_s,
               _s.max_wait_s, _s.replies, _s.replies_in_sla, _c.csat, _s.dissatisfaction_risk, _s.tone_risk,
               _s.relevance, _s.sentiment_end, AutoQaScore.score, reviewed.c.review_score, reviewed.c.reviews)
        .select_from(_c).outerjoin(_s, _s.conversation_id == _c.id)
        .outerjoin(Platform, Platform.id == _c.platform_id).outerjoin(Shop, Shop.id == _c.shop_id)
        .outerjoin(Agent, Agent.id == _c.agent_id).outerjoin(AutoQaScore, AutoQaScore.conversation_id == _c.id)
        .outerjoin(reviewed, reviewed.c.conversation_id == _c.id)
        .where(_c.id.in_(_scope(f))).order_by(_c.started_at, _c.id)
    )
    df = pd.DataFrame(conn.execute(query).all(), columns=[
        "id", "会话号", "平台", "店铺", "组", "坐席", "分类", "开始时间", "结束时间", "首次响应（秒）", "最长等待（秒）",
        "客服回复数", "SLA 内回复数", "CSAT", "不满风险", "语气风险", "相关度", "结束情绪", "自动质检分", "复核得分",
        "复核次数"])
    span = pd.to_datetime(df["结束时间"]) - pd.to_datetime(df["开始时间"])
    df.insert(9, "处理时长（分钟）", (span.dt.total_seconds() / 60).round(1))
    df["复核次数"] = df["复核次数"].fillna(0).astype(int)
    handled = handled_by(conn, df["id"].tolist())  # a transferred chat names everyone: "小安→阿强"
    df.insert(6, "经手坐席", [handled.get(cid, agent) for cid, agent in zip(df["id"], df["坐席"])])
    return df.drop(columns="id")


def review_report(conn: Connection, f: Filters) -> pd.DataFrame:
    """One row per criterion of every review (calibration reviews left out) on the conversations ``f`` selects,
    with the criterion's label from the review's own scorecard version, so old reviews read as they were made."""
    r, i, v = ScorecardReview, ScorecardReviewItem, ScorecardVersion
    rows = conn.execute(
        select(r.id, _c.external_id, Agent.name, User.name, ScorecardRecord.name, v.version, r.version_id, r.score,
               r.fatal_failed, r.updated_at, i.criterion_key, i.value, i.na, i.proposed, i.comment, r.comment)
        .join(_c, _c.id == r.conversation_id).outerjoin(Agent, Agent.id == _c.agent_id)
        .join(User, User.id == r.reviewer_id).join(v, v.id == r.version_id)
        .join(ScorecardRecord, ScorecardRecord.id == v.scorecard_id).join(i, i.review_id == r.id)
        .where(r.session_id.is_(None), r.conversation_id.in_(_scope(f))).order_by(r.id, i.criterion_key)).all()
    labels: dict[int, dict[str, str]] = {}
    out = []
    for (rid, ext, agent, reviewer, card, version, vid, score, fatal, at, key, value, na, proposed, item_note,
         note) in rows:
        if vid not in labels:
            labels[vid] = {c.key: c.label for _s, c in load_version(conn, vid).card.criteria()}
        out.append((rid, ext, agent, reviewer, f"{card} v{version}", score, "是" if fatal else "否", at,
                    labels[vid].get(key, key), "N/A" if na else value, proposed, item_note, note))
    return pd.DataFrame(out, columns=["复核号", "会话号", "坐席", "复核人", "评分表", "得分", "致命项未通过", "复核时间",
                                      "评分项", "评分", "自动建议", "评分项评语", "评语"])
