"""Rejected rows must not count against the agent (issue #13.4): a conversation whose file had rejected rows tied
to it is marked, and neither its unanswered end nor the SLA breach across the gap is counted — for each class of
input: a message table (rows name their conversation), canonical JSONL (a line names it), a chat log (a message
lies inside it)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, func, select

from qa.jobs.scoring import score_database
from qa.models import AgentSegment, Conversation, ConversationScore, DailyStat, MessageScore
from qa.program.autoqa import auto_results
from qa.review.queue import conversation_reasons
from qa.review.replay import header_badges, load_replay
from tests.helpers import conv, import_bytes, jsonl, read

GAP = "导入时有 1 行被拒，结尾未回复/超时不计"

_CSV_HEAD = "会话ID,发送时间,发送方,客服昵称,内容,平台\n"


def _csv(cid: str, malformed: str) -> str:
    """A chat whose last agent reply is the row ``malformed`` (a bad time), then nothing; and its control."""
    return (f"{cid},2026-11-11 10:00:00,顾客,,这件有M码吗,天猫\n"
            f"{cid},2026-11-11 10:00:20,客服,小美,亲，有的,天猫\n"
            f"{cid},2026-11-11 10:01:00,顾客,,发什么快递,天猫\n"
            f"{cid},{malformed},客服,小美,默认中通哦,天猫\n")


CSV = (_CSV_HEAD + _csv("end", "2026-11-11 25:01:30")
       # the first reply is lost: the customer asks again and the next reply comes 7 minutes after the question
       + "mid,2026-11-11 10:00:00,顾客,,在吗,天猫\n"
       + "mid,2026-11-11 10:00:61,客服,小美,在的亲,天猫\n"
       + "mid,2026-11-11 10:01:00,顾客,,人呢,天猫\n"
       + "mid,2026-11-11 10:07:00,客服,小美,不好意思久等了,天猫\n")
CONTROL = _CSV_HEAD + _csv("ctl", "2026-11-11 10:01:30").rsplit("\n", 2)[0] + "\n"  # really unanswered

JSONL = jsonl(conv("end", ("customer", "这件有M码吗", "2026-11-11 10:00:00"), ("agent", "亲，有的", "2026-11-11 10:00:20"),
                   ("customer", "发什么快递", "2026-11-11 10:01:00"), platform="天猫"),
              conv("end", ("agent", "默认中通哦", "2026-13-11 10:01:30"), platform="天猫"))  # its part, malformed

LOG = """/*****************以下为一通会话************************************/
jd_user01 2026-10-07 10:00:00
这个有货吗
某店自营客服01 2026-10-07 10:00:20
您好，有货的
jd_user01 2026-10-07 10:01:00
什么时候发货
某店自营客服01 2026-10-07 25:01:30
今天就发
/*****************会话结束_时间：2026-10-07 10:05:00************************/
"""


def _scores(engine: Engine, external_id: str) -> tuple[int, int, int, int, list[bool | None]]:
    """(rejected rows, unanswered at end, replies, replies in SLA, each reply's breach) of a scored conversation."""
    with engine.connect() as conn:
        cid, rejected = conn.execute(select(Conversation.id, Conversation.rejected_rows)
                                     .where(Conversation.external_id.like(external_id))).one()
        s = conn.execute(select(ConversationScore.unanswered_at_end, ConversationScore.replies,
                                ConversationScore.replies_in_sla).where(ConversationScore.conversation_id == cid)).one()
        breaches = conn.scalars(select(MessageScore.sla_breach).where(
            MessageScore.conversation_id == cid, MessageScore.wait_s.is_not(None)).order_by(MessageScore.message_id))
    return rejected, s.unanswered_at_end, s.replies, s.replies_in_sla, list(breaches)


@pytest.mark.parametrize("name, data, external_id", [
    ("t.csv", CSV.encode(), "end"), ("t.jsonl", JSONL, "end"), ("t.txt", LOG.encode(), "jd-%")])
def test_a_malformed_last_reply_marks_the_conversation_and_its_end_is_not_counted(
        engine: Engine, name: str, data: bytes, external_id: str) -> None:
    report = import_bytes(engine, name, data)
    assert report.rejected >= 1 and report.rejections[0].row in (5, 2, 8)  # reported by row, as before
    import_bytes(engine, "control.csv", CONTROL.encode())
    score_database(engine, n_jobs=1)
    assert _scores(engine, external_id) == (1, 0, 1, 1, [None])  # marked; the end and its SLA not counted
    assert _scores(engine, "ctl") == (0, 1, 1, 1, [False])  # without rejected rows the end counts
    with engine.connect() as conn:
        cid = conn.scalar(select(Conversation.id).where(Conversation.external_id.like(external_id)))
        assert conn.scalar(select(func.sum(AgentSegment.unanswered_at_end))
                           .where(AgentSegment.conversation_id == cid)) == 0
        assert GAP in conn.scalar(select(ConversationScore.explanation).where(ConversationScore.conversation_id == cid))
    assert GAP in read(engine, conversation_reasons, cid)
    assert read(engine, auto_results, cid)["unanswered_end"].passed is None  # auto-QA: not applicable
    with engine.connect() as conn:
        ctl = conn.scalar(select(Conversation.id).where(Conversation.external_id == "ctl"))
    assert read(engine, auto_results, ctl)["unanswered_end"].passed is False
    replay = read(engine, load_replay, cid)
    assert replay.header.rejected_rows == 1 and (GAP, False) in header_badges(replay.header)
    assert replay.messages["sla_s"].isna().all()  # no SLA line drawn under its waits


def test_a_reply_lost_in_the_middle_does_not_make_the_next_wait_a_breach(engine: Engine) -> None:
    import_bytes(engine, "t.csv", CSV.encode())
    score_database(engine, n_jobs=1)
    rejected, unanswered, replies, in_sla, breaches = _scores(engine, "mid")
    assert (rejected, unanswered, replies, breaches) == (1, 0, 1, [None])  # the 7-minute wait spans the lost reply
    with engine.connect() as conn:
        assert conn.scalar(select(func.sum(DailyStat.replies) - func.sum(DailyStat.replies_in_sla))) == 0
        mid = conn.scalar(select(Conversation.id).where(Conversation.external_id == "mid"))
    assert "慢" not in read(engine, conversation_reasons, mid)


def test_a_later_clean_export_that_fills_the_gap_clears_the_mark(engine: Engine) -> None:
    import_bytes(engine, "t.csv", (_CSV_HEAD + _csv("end", "2026-11-11 25:01:30")).encode())
    report = import_bytes(engine, "fixed.csv", (_CSV_HEAD + _csv("end", "2026-11-11 10:01:30")).encode())
    assert (report.counts.conversations_merged, report.counts.messages_added) == (1, 1)
    with engine.connect() as conn:
        assert conn.scalar(select(Conversation.rejected_rows).where(Conversation.external_id == "end")) == 0


def test_a_rejected_line_that_names_no_conversation_marks_none(engine: Engine) -> None:
    data = JSONL.replace(b'{"conversation_id": "end", "messages": [{"role": "agent"', b'{"messages": [{"role": "agent"')
    assert json.loads(data.splitlines()[1]).get("conversation_id") is None
    import_bytes(engine, "t.jsonl", data)
    with engine.connect() as conn:
        assert conn.scalar(select(Conversation.rejected_rows).where(Conversation.external_id == "end")) == 0
