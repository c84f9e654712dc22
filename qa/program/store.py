"""Scorecards in the database: versions, the rules that pick one per conversation, and the demo scorecards.

A scorecard's content is only ever added, never changed: saving an edit writes version n+1 as JSON, and a review
points at the version it was made on, so it computes the same score after any later edit. Saving an unchanged
definition writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, Row, Select, delete, func, insert, select, update

from qa.errors import NotFoundError
from qa.models import (
    Agent,
    Conversation,
    ConversationScore,
    Platform,
    ScorecardRecord,
    ScorecardRule,
    ScorecardVersion,
    User,
)
from qa.program.errors import ScorecardError
from qa.program.people import acting_id
from qa.program.scorecard import Scorecard, check_scorecard, scorecard_from_dict, scorecard_to_dict
from qa.program.selection import SelectionRule, choose

__all__ = [
    "DEFAULT_SCORECARDS_DIR",
    "StoredScorecard",
    "active_scorecards",
    "choose_scorecard",
    "conversation_facts",
    "facts_select",
    "create_scorecard",
    "install_default_scorecards",
    "list_scorecards",
    "load_scorecard",
    "load_version",
    "save_selection_rules",
    "scorecard_history",
    "selection_rules",
    "set_scorecard_active",
    "update_scorecard",
]

DEFAULT_SCORECARDS_DIR = Path(__file__).resolve().parents[2] / "data" / "scorecards"


@dataclass(frozen=True)
class StoredScorecard:
    """One stored version of a scorecard: what reviews point at."""

    scorecard_id: int
    version_id: int
    version: int
    card: Scorecard
    active: bool = True


def _now() -> datetime:
    return datetime.now()


def _definition(card: Scorecard) -> str:
    return json.dumps(scorecard_to_dict(card), ensure_ascii=False, sort_keys=True)


def _insert_version(conn: Connection, scorecard_id: int, version: int, card: Scorecard, actor_id: int, note: str,
                    now: datetime) -> int:
    return conn.execute(insert(ScorecardVersion).values(
        scorecard_id=scorecard_id, version=version, definition=_definition(card), note=note.strip(),
        created_by=actor_id, created_at=now).returning(ScorecardVersion.id)).scalar_one()


def create_scorecard(engine: Engine, card: Scorecard, actor: str, note: str = "") -> StoredScorecard:
    """Store a new scorecard as its version 1."""
    check_scorecard(card)
    now = _now()
    with engine.begin() as conn:
        actor_id = acting_id(conn, actor, "manage_program")
        if conn.scalar(select(ScorecardRecord.id).where(ScorecardRecord.name == card.name)) is not None:
            raise ScorecardError(f"评分表“{card.name}”已存在：请换一个名称，或编辑已有的评分表")
        sid = conn.execute(insert(ScorecardRecord).values(
            name=card.name, description=card.description, active=True, created_by=actor_id, created_at=now)
            .returning(ScorecardRecord.id)).scalar_one()
        vid = _insert_version(conn, sid, 1, card, actor_id, note or "新建", now)
    return StoredScorecard(sid, vid, 1, card)


def update_scorecard(engine: Engine, scorecard_id: int, card: Scorecard, actor: str,
                     note: str = "") -> StoredScorecard:
    """Save an edit as the next version (nothing is written when the definition did not change)."""
    check_scorecard(card)
    with engine.begin() as conn:
        actor_id = acting_id(conn, actor, "manage_program")
        latest = load_scorecard(conn, scorecard_id)
        if _definition(latest.card) == _definition(card):
            return latest
        clash = conn.scalar(select(ScorecardRecord.id).where(ScorecardRecord.name == card.name,
                                                             ScorecardRecord.id != scorecard_id))
        if clash is not None:
            raise ScorecardError(f"评分表“{card.name}”已存在：请换一个名称")
        conn.execute(update(ScorecardRecord).where(ScorecardRecord.id == scorecard_id)
                     .values(name=card.name, description=card.description))
        vid = _insert_version(conn, scorecard_id, latest.version + 1, card, actor_id, note, _now())
    return StoredScorecard(scorecard_id, vid, latest.version + 1, card, latest.active)


def set_scorecard_active(engine: Engine, scorecard_id: int, active: bool, actor: str) -> None:
    """Take a scorecard out of use (or back): an inactive one is skipped by the selection rules."""
    with engine.begin() as conn:
        acting_id(conn, actor, "manage_program")
        done = conn.execute(update(ScorecardRecord).where(ScorecardRecord.id == scorecard_id).values(active=active))
        if done.rowcount == 0:
            raise NotFoundError(f"评分表 {scorecard_id} 不存在")


def _stored(row: Row) -> StoredScorecard:
    r = row._mapping
    return StoredScorecard(r["scorecard_id"], r["id"], r["version"], scorecard_from_dict(json.loads(r["definition"])),
                           bool(r["active"]))


def _version_select() -> Select:
    v = ScorecardVersion
    return (select(v.id, v.scorecard_id, v.version, v.definition, ScorecardRecord.active)
            .join(ScorecardRecord, ScorecardRecord.id == v.scorecard_id))


def load_scorecard(conn: Connection, scorecard_id: int, version: int | None = None) -> StoredScorecard:
    """A scorecard's latest version, or the numbered one."""
    v = ScorecardVersion
    query = _version_select().where(v.scorecard_id == scorecard_id)
    query = query.where(v.version == version) if version is not None else query.order_by(v.version.desc()).limit(1)
    row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"评分表 {scorecard_id}{f' 的第 {version} 版' if version else ''} 不存在")
    return _stored(row)


def load_version(conn: Connection, version_id: int) -> StoredScorecard:
    """The scorecard version a review or calibration session points at."""
    row = conn.execute(_version_select().where(ScorecardVersion.id == version_id)).first()
    if row is None:
        raise NotFoundError(f"评分表版本 {version_id} 不存在")
    return _stored(row)


def list_scorecards(conn: Connection) -> pd.DataFrame:
    """Every scorecard with its latest version: id, name, description, active, version, version_id, criteria,
    updated_at, updated_by."""
    v, s = ScorecardVersion, ScorecardRecord
    latest = select(v.scorecard_id, func.max(v.version).label("version")).group_by(v.scorecard_id).subquery()
    rows = conn.execute(
        select(s.id, s.name, s.description, s.active, v.version, v.id.label("version_id"), v.definition,
               v.created_at.label("updated_at"), User.name.label("updated_by"))
        .join(latest, latest.c.scorecard_id == s.id)
        .join(v, (v.scorecard_id == s.id) & (v.version == latest.c.version))
        .outerjoin(User, User.id == v.created_by).order_by(s.name)).mappings().all()
    columns = ["id", "name", "description", "active", "version", "version_id", "criteria", "updated_at",
               "updated_by"]
    return pd.DataFrame([{**r, "criteria": sum(len(sec["criteria"]) for sec in json.loads(r["definition"])["sections"])}
                         for r in rows], columns=columns)


def scorecard_history(conn: Connection, scorecard_id: int) -> pd.DataFrame:
    """A scorecard's versions, newest first: version, version_id, created_at, created_by, note."""
    v = ScorecardVersion
    rows = conn.execute(select(v.version, v.id.label("version_id"), v.created_at, User.name.label("created_by"),
                               v.note).outerjoin(User, User.id == v.created_by)
                        .where(v.scorecard_id == scorecard_id).order_by(v.version.desc())).mappings().all()
    return pd.DataFrame(rows, columns=["version", "version_id", "created_at", "created_by", "note"])


# ---------------------------------------------------------------- which scorecard a conversation gets


def selection_rules(conn: Connection) -> list[SelectionRule]:
    """The rule list in its order of precedence."""
    r = ScorecardRule
    rows = conn.execute(select(ScorecardRecord.name, r.team, r.category, r.platform)
                        .join(ScorecardRecord, ScorecardRecord.id == r.scorecard_id).order_by(r.position, r.id))
    return [SelectionRule(name, team, category, platform) for name, team, category, platform in rows]


def _blank(value: str | None) -> str | None:
    return (value or "").strip() or None


def save_selection_rules(engine: Engine, rules: Sequence[SelectionRule], actor: str) -> None:
    """Replace the whole rule list (the page edits it as one table); errors name the rule (1-based)."""
    with engine.begin() as conn:
        acting_id(conn, actor, "manage_program")
        ids = {name: sid for name, sid in conn.execute(select(ScorecardRecord.name, ScorecardRecord.id))}
        rows = []
        for n, rule in enumerate(rules, start=1):
            if rule.scorecard not in ids:
                raise ScorecardError(f"第 {n} 条规则：评分表“{rule.scorecard}”不存在")
            rows.append({"position": n, "scorecard_id": ids[rule.scorecard], "team": _blank(rule.team),
                         "category": _blank(rule.category), "platform": _blank(rule.platform)})
        conn.execute(delete(ScorecardRule))
        if rows:
            conn.execute(insert(ScorecardRule), rows)


def facts_select() -> Select:
    """(id, team, category, platform) of conversations as the rules see them: the agent's team and the model's
    category fill what the import left empty. Add a ``where`` on ``Conversation.id``."""
    c = Conversation
    return (select(c.id, func.coalesce(c.team, Agent.team).label("team"),
                   func.coalesce(c.category, ConversationScore.category).label("category"),
                   Platform.name.label("platform"))
            .outerjoin(Agent, Agent.id == c.agent_id).outerjoin(ConversationScore, ConversationScore.conversation_id == c.id)
            .outerjoin(Platform, Platform.id == c.platform_id))


def conversation_facts(conn: Connection, conversation_id: int) -> tuple[str | None, str | None, str | None]:
    """(team, category, platform) of one conversation as the rules see them."""
    row = conn.execute(facts_select().where(Conversation.id == conversation_id)).first()
    if row is None:
        raise NotFoundError(f"会话 {conversation_id} 不存在（可能已被删除）")
    return row.team, row.category, row.platform


def active_scorecards(conn: Connection) -> dict[str, StoredScorecard]:
    """The latest version of every active scorecard, by name."""
    ids = conn.execute(select(ScorecardRecord.name, ScorecardRecord.id).where(ScorecardRecord.active.is_(True)))
    return {name: load_scorecard(conn, sid) for name, sid in ids}


def choose_scorecard(conn: Connection, conversation_id: int) -> StoredScorecard | None:
    """The latest version of the scorecard the rules give this conversation; None when no rule matches."""
    team, category, platform = conversation_facts(conn, conversation_id)
    active = active_scorecards(conn)
    name = choose(selection_rules(conn), team, category, platform, available=active)
    return None if name is None else active[name]


# ---------------------------------------------------------------- demo scorecards


def install_default_scorecards(engine: Engine, actor: str, directory: Path | None = None) -> list[str]:
    """Create the scorecards in ``data/scorecards/*.json`` that do not exist yet, and their rules when no rules
    are set; returns the names created. Safe to run on every demo start."""
    directory = directory or DEFAULT_SCORECARDS_DIR
    created, rules = [], []
    with engine.connect() as conn:
        existing = set(conn.scalars(select(ScorecardRecord.name)))
        have_rules = conn.scalar(select(func.count()).select_from(ScorecardRule)) != 0
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        card = scorecard_from_dict(data["scorecard"])
        rules += [(r.pop("rank", 100), SelectionRule(card.name, **r)) for r in data.get("rules", ())]
        if card.name not in existing:
            create_scorecard(engine, card, actor, note="演示评分表")
            created.append(card.name)
    if not have_rules and rules:
        save_selection_rules(engine, [r for _rank, r in sorted(rules, key=lambda x: x[0])], actor)
    return created
