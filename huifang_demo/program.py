"""Demo content for the QA program: scorecards, auto-QA, reviews, a closed calibration session, disputes, and
reviewers' say on the tags the scoring run proposed on the conversations they reviewed.

Reviews are made the way a reviewer would make them: auto-QA's proposals accepted (now and then overridden),
the criteria it cannot fill rated by hand with plausible values, so every view of the program has content. Runs
once: a database that already has scorecard reviews is left alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from qa.models import Agent, Conversation, ScorecardReview
from qa.program import alerts, autoqa, calibration, disputes, reviews, store
from qa.program.alerts import AlertRule
from qa.program.scorecard import Criterion, Rating, Scorecard
from qa.program.tag_store import judge_tag, tags_of
from qa.review.users import ensure_demo_users, get_or_create_user

__all__ = ["MANAGER", "REVIEWERS", "seed_program"]

MANAGER = "陈经理"
REVIEWERS = ("王质检", "李质检")


def _by_hand(c: Criterion, rng: random.Random) -> Rating:
    """A plausible value for a criterion auto-QA cannot fill."""
    if c.kind == "adjust":
        if c.points <= -100 or c.fatal != "none":
            return Rating(1.0 if rng.random() < 0.02 else 0.0)
        return Rating(float(rng.random() < (0.25 if c.points > 0 else 0.1)))
    lo, hi = c.bounds
    if c.scale == "yes_no":
        return Rating(hi if rng.random() < 0.9 else lo)
    return Rating(float(rng.choice([hi - 2, hi - 1, hi - 1, hi, hi])) if hi - lo >= 2 else hi)


def _ratings(card: Scorecard, proposals: dict[str, autoqa.Proposal], rng: random.Random,
             override: float = 0.1) -> dict[str, Rating]:
    out = {}
    for _s, c in card.criteria():
        proposal = proposals.get(c.key)
        if proposal is not None and rng.random() >= override:
            out[c.key] = proposal.rating
        else:
            out[c.key] = _by_hand(c, rng)
    return out


def seed_program(engine: Engine, per_reviewer: int = 40, seed: int = 7, now: datetime | None = None,
                 echo: Callable[[str], None] = print) -> None:
    """Install the demo scorecards, run auto-QA, and add reviews, a closed calibration session and disputes."""
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(ScorecardReview)):
            return
    ensure_demo_users(engine)
    store.install_default_scorecards(engine, MANAGER)
    run = autoqa.run_auto_qa(engine)
    if run.checked:  # scoring has usually run auto-QA already: "0 个会话" here only confused people
        echo(f"自动质检 {run.checked:,} 个会话")
    rng = random.Random(seed)
    now = now or datetime.now()
    with engine.connect() as conn:
        pool = list(conn.scalars(select(Conversation.id).where(Conversation.agent_id.is_not(None))
                                 .order_by(Conversation.id)))
    sample = rng.sample(pool, min(len(pool), per_reviewer * len(REVIEWERS) + 6))
    made, reviewed = [], []
    for i, cid in enumerate(sample[:per_reviewer * len(REVIEWERS)]):
        reviewer = REVIEWERS[i % len(REVIEWERS)]
        with engine.connect() as conn:
            chosen = store.choose_scorecard(conn, cid)
            shown = autoqa.proposals(conn, cid, chosen.card) if chosen else {}
        if chosen is None:
            continue
        when = now - timedelta(days=rng.randint(0, 12), hours=rng.randint(0, 8))
        made.append(reviews.save_review(engine, cid, chosen.version_id, _ratings(chosen.card, shown, rng), reviewer,
                                        proposals={k: p.rating.value for k, p in shown.items()}, now=when))
        reviewed.append((cid, reviewer))
    echo(f"演示评审 {len(made)} 条")
    echo(f"演示标签确认 {_judge_tags(engine, reviewed, rng)} 个")
    _calibration(engine, sample[-6:], rng, now)
    _disputes(engine, made, rng, now)
    echo(f"演示预警规则 {len(DEMO_ALERTS)} 条，触发 {_alerts(engine)} 次")


DEMO_ALERTS = (
    AlertRule("分类高风险会话占比超 10%", "threshold", "risk_high_share", "category", threshold=0.10),
    AlertRule("店铺差评率环比升到 1.5 倍", "change", "csat_low_share", "shop", threshold=1.5),
    AlertRule("坐席致命项未通过", "fatal"),
)
"""One rule of each kind, so the 预警 page (an executive's "what is getting worse") opens with rules and firings."""


def _alerts(engine: Engine) -> int:
    """The demo's alert rules, evaluated once on the archive: how many firings they stored."""
    for rule in DEMO_ALERTS:
        alerts.add_rule(engine, rule, MANAGER)
    return alerts.run_alerts(engine).new


def _judge_tags(engine: Engine, reviewed: list[tuple[int, str]], rng: random.Random) -> int:
    """Each reviewer confirms the proposed tags of the conversations they reviewed, now and then taking one off
    as wrong, so the replay's 标签 panel shows every state; returns how many tags were judged."""
    with engine.connect() as conn:
        proposed = tags_of(conn, "conversation", [cid for cid, _who in reviewed])
    judged = 0
    for cid, reviewer in reviewed:
        for tag in proposed[cid]:
            judge_tag(engine, "conversation", cid, tag.tag_id, rng.random() >= 0.15, reviewer)
            judged += 1
    return judged


def _calibration(engine: Engine, conversations: list[int], rng: random.Random, now: datetime) -> None:
    """A closed session on the 售后 scorecard: the two reviewers and the manager as benchmark."""
    with engine.connect() as conn:
        listed = store.list_scorecards(conn).set_index("name")
        version_id = int(listed.loc["售后", "version_id"])
        card = store.load_version(conn, version_id).card
    people = [*REVIEWERS, MANAGER]
    sid = calibration.create_session(engine, "演示校准：售后", version_id, conversations, list(REVIEWERS), MANAGER,
                                     benchmark=MANAGER, now=now - timedelta(days=3))
    for cid in conversations:
        with engine.connect() as conn:
            shown = autoqa.proposals(conn, cid, card)
        base = _ratings(card, shown, rng, override=0.0)
        for person in people:
            mine = {k: (_by_hand(card.criterion(k), rng) if k not in shown and rng.random() < 0.4 else r)
                    for k, r in base.items()}
            calibration.submit_review(engine, sid, cid, mine, person, now=now - timedelta(days=2))
    calibration.close_session(engine, sid, MANAGER, now=now - timedelta(days=1))


def _disputes(engine: Engine, made: list[int], rng: random.Random, now: datetime) -> None:
    """Two disputes by the agents concerned (one changed, one still open) and a few confirmations."""
    if len(made) < 6:
        return
    with engine.connect() as conn:
        agent_of = {rid: name for rid, name in conn.execute(
            select(ScorecardReview.id, Agent.name).join(Conversation, Conversation.id == ScorecardReview.conversation_id)
            .join(Agent, Agent.id == Conversation.agent_id).where(ScorecardReview.id.in_(made)))}
    picks = rng.sample(made, 6)
    for rid in picks:
        get_or_create_user(engine, agent_of[rid], "agent")
    changed, pending = picks[0], picks[1]
    for rid, reason in ((changed, "顾客最后已经满意，结尾并非未回复"), (pending, "当时系统卡顿，回复延迟不是本人原因")):
        with engine.connect() as conn:
            review = reviews.load_review(conn, rid)
        disputes.open_dispute(engine, rid, reason, agent_of[rid], now=review.updated_at + timedelta(hours=5))
    with engine.connect() as conn:
        review = reviews.load_review(conn, changed)
        did = disputes.open_disputes(conn).set_index("review_id").loc[changed, "dispute_id"]
    low = next((c for _s, c in review.scorecard.card.criteria() if c.kind == "scored"
                and review.ratings[c.key].rated and (review.ratings[c.key].value or 0) < c.bounds[1]), None)
    fixed = dict(review.ratings) if low is None else {**review.ratings, low.key: Rating(low.bounds[1])}
    disputes.resolve_dispute(engine, int(did), MANAGER, "复核录音后认可申诉，改分", fixed,
                             now=review.updated_at + timedelta(days=1))
    for rid in picks[2:]:
        with engine.connect() as conn:
            review = reviews.load_review(conn, rid)
        disputes.acknowledge(engine, rid, agent_of[rid], now=review.updated_at + timedelta(hours=2))
