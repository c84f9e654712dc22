"""A small database with known numbers, built through the real import path, for query and page tests.

Scores are written directly (not by the ML models) so that tests can assert exact figures a user would read.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select

from qa.access import SYSTEM
from qa.analytics.segments import Turn, segment_rows
from qa.analytics.stats import rebuild_daily_stats
from qa.ingest.importer import import_stream
from qa.models import AgentSegment, Conversation, ConversationScore, Message, MessageScore
from qa.review.users import ensure_demo_users

# (id, platform, shop, agent, team, category, day, first_response_s, risk, tone_risk, csat)
CONVERSATIONS = [
    ("tm-1", "天猫", "某某官方旗舰店", "小美", "售前", "产品/尺码咨询", "2026-11-10", 20, 0.10, 0.05, 5),
    ("tm-2", "天猫", "某某官方旗舰店", "小美", "售前", "产品/尺码咨询", "2026-11-11", 30, 0.20, 0.10, None),
    ("tm-3", "天猫", "某某官方旗舰店", "阿杰", "售后", "退货", "2026-11-11", 400, 0.80, 0.70, 1),
    ("tm-4", "天猫", "某某官方旗舰店", "阿杰", "售后", "退货", "2026-11-12", 600, 0.90, 0.85, 2),
    ("jd-1", "京东", "某某京东自营旗舰店", "小李", "售后", "换货", "2026-11-11", 25, 0.30, 0.10, 4),
    ("jd-2", "京东", "某某京东自营旗舰店", "小李", "售后", "赠品/物流", "2026-11-12", 45, 0.60, 0.20, None),
    ("dy-1", "抖音", "某某抖音官方旗舰店", "小王", "评价", "负面评价", "2026-11-12", 90, 0.70, 0.40, 2),
    ("dy-2", "抖音", "某某抖音官方旗舰店", "小王", "评价", "发票", "2026-11-13", 15, 0.05, 0.02, 5),
]
SLA = {"天猫": 180, "京东": 30, "抖音": 180}


def seed_small(engine: Engine) -> None:
    """Import CONVERSATIONS (4 messages each) and give each the listed scores."""
    lines = []
    for cid, platform, shop, agent, team, category, day, frt, _risk, _tone, csat in CONVERSATIONS:
        t0 = datetime.fromisoformat(f"{day} 10:00:00")
        msgs = [
            {"role": "customer", "text": "你好，在吗？我想问一下订单", "ts": t0.isoformat()},
            {"role": "agent", "agent": agent, "text": "亲，在的，请问有什么可以帮您", "ts": (t0 + timedelta(seconds=frt)).isoformat()},
            {"role": "customer", "text": "什么时候发货", "ts": (t0 + timedelta(seconds=frt + 60)).isoformat()},
            {"role": "agent", "agent": agent, "text": "今天就发哦", "ts": (t0 + timedelta(seconds=frt + 80)).isoformat()},
        ]
        obj = {"conversation_id": cid, "platform": platform, "shop": shop, "team": team, "category": category,
               "messages": msgs, **({"csat": csat} if csat else {})}
        lines.append(json.dumps(obj, ensure_ascii=False))
    import_stream(engine, "seed.jsonl", io.BytesIO("\n".join(lines).encode()), by=SYSTEM)
    ensure_demo_users(engine, passwords=False)  # hashing costs time, and tests sign in by session
    by_id = {row[0]: row for row in CONVERSATIONS}
    with engine.begin() as conn:
        convs = conn.execute(select(Conversation.id, Conversation.external_id, Conversation.content_hash)).all()
        for conv_id, ext, chash in convs:
            _cid, platform, _s, _a, _t, category, day, frt, risk, tone, csat = by_id[ext]
            in_sla = 2 if frt + 20 <= SLA[platform] else (1 if 20 <= SLA[platform] else 0)
            conn.execute(insert(ConversationScore).values(
                conversation_id=conv_id, model_version="test", content_hash=chash, scored_at=datetime(2026, 11, 20),
                dissatisfaction_risk=risk, tone_risk=tone, relevance=0.8, first_response_s=frt, max_wait_s=frt,
                replies=2, replies_in_sla=in_sla, unanswered_at_end=0, sentiment_start=0.3, sentiment_worst=risk,
                sentiment_end=risk, category=category, category_source="given", rule_hits=1 if tone > 0.5 else 0,
                explanation=f"等待 {frt} 秒" if frt > SLA[platform] else "正常"))
            msgs = conn.execute(select(Message.id, Message.role, Message.agent_id)
                                .where(Message.conversation_id == conv_id).order_by(Message.seq)).all()
            msg_ids = [m.id for m in msgs]
            turns = [Turn(m.role, m.agent_id, (frt if seq == 1 else 20) if m.role == "agent" else None,
                          ((frt > SLA[platform]) if seq == 1 else False) if m.role == "agent" else None,
                          tone if m.role == "agent" else None, 0.8 if m.role == "agent" else None,
                          int(m.role == "agent" and tone > 0.5)) for seq, m in enumerate(msgs)]
            segments = segment_rows(conv_id, turns, csat=csat, first_response_s=frt, risks=[risk])
            conn.execute(insert(AgentSegment), [{**segments[0], "replies_in_sla": in_sla}])  # the figures above
            for seq, mid in enumerate(msg_ids):
                agent_msg = seq % 2 == 1
                conn.execute(insert(MessageScore).values(
                    message_id=mid, conversation_id=conv_id, model_version="test",
                    sentiment_neg=None if agent_msg else risk, tone_risk=tone if agent_msg else None,
                    relevance=0.8 if agent_msg else None, wait_s=(frt if seq == 1 else 20) if agent_msg else None,
                    sla_breach=(frt > SLA[platform]) if seq == 1 else (False if agent_msg else None),
                    rule_hits="不知道" if agent_msg and tone > 0.5 else "",
                    explanation="命中禁用语“不知道”" if agent_msg and tone > 0.5 else ""))
        rebuild_daily_stats(conn)
