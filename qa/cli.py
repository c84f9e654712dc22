"""The ``huifang`` command: argument parsing and printing only; the work is done by ``qa`` and ``scoring``."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from qa.db import get_engine
from qa.errors import USER_ERRORS

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]


def _cmd_import(args: argparse.Namespace) -> int:
    from qa.ingest.importer import import_path
    from qa.ingest.privacy import KINDS, SETTING, import_kinds, parse_kinds
    from qa.ingest.rejections import KEPT_REJECTIONS

    if args.no_mask or args.mask is not None:  # through the environment, so a parse worker masks alike
        os.environ[SETTING] = ",".join(sorted(frozenset() if args.no_mask else parse_kinds(args.mask))) or "off"
    kinds = import_kinds()
    print("脱敏：" + ("、".join(v for k, v in KINDS.items() if k in kinds) if kinds else "关闭（消息原文入库）"),
          file=sys.stderr)
    engine = get_engine(args.db)
    failed = 0
    for path in args.files:
        try:
            reports = import_path(engine, Path(path))
        except USER_ERRORS as e:
            print(f"错误：{e}", file=sys.stderr)
            failed += 1
            continue
        except FileNotFoundError:
            print(f"错误：找不到文件 {path}", file=sys.stderr)
            failed += 1
            continue
        for report in reports:
            print(report.summary())
            shown = report.rejections[: args.show_rejections]
            for r in shown:
                print(f"  拒绝：{r}")
            if report.rejected > len(shown):
                more = (f"（前 {KEPT_REJECTIONS:,} 条见“数据”页或 --show-rejections）"
                        if len(report.rejections) > len(shown) else "")
                print(f"  ……另有 {report.rejected - len(shown):,} 条被拒绝未列出{more}")
    from qa.ingest.runs import interrupted_runs, interrupted_text
    from qa.program.alerts import run_alerts

    with engine.connect() as conn:
        for run in interrupted_runs(conn):
            print(f"未完成：{interrupted_text(*run)}", file=sys.stderr)
    _print_alerts(engine, run_alerts(engine).new)
    return 1 if failed else 0


def _print_alerts(engine: Engine, new: int) -> None:
    """New alert firings after an import or scoring run, so a nightly job's log shows them too."""
    from qa.program.alerts import recent_events

    if not new:
        return
    with engine.connect() as conn:
        for message in recent_events(conn, new)["message"]:
            print(f"预警：{message}")


def _new_password(args: argparse.Namespace) -> str:
    """``--password``, else typed twice (not echoed), else — with no terminal — a random one that is printed."""
    import getpass
    import secrets

    if args.password:
        return args.password
    if not sys.stdin.isatty():
        password = secrets.token_urlsafe(12)
        print(f"已生成随机密码：{password}（只显示这一次）")
        return password
    first, second = getpass.getpass("新密码："), getpass.getpass("再输入一次：")
    if first != second:
        from qa.review.users import AccountError

        raise AccountError("两次输入的密码不一致，未修改")
    return first


def _cmd_user(args: argparse.Namespace) -> int:
    from qa.access import ROLES, SYSTEM
    from qa.review.users import create_user, ensure_admin, list_users, set_password

    engine = get_engine(args.db)
    if args.action == "add":
        create_user(engine, SYSTEM, args.name, args.role, _new_password(args), agent_name=args.agent)
        print(f"已创建账号 {args.name}（{ROLES[args.role]}）")
    elif args.action == "passwd":
        set_password(engine, SYSTEM, args.name, _new_password(args))
        print(f"已修改 {args.name} 的密码")
    elif args.action == "init":
        password = ensure_admin(engine)
        print("已有可登录的管理员，未做改动" if password is None else f"已创建管理员 admin，密码：{password}")
    else:
        with engine.connect() as conn:
            for _uid, name, role in list_users(conn):
                print(f"{name}\t{ROLES.get(role, role)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from huifang_demo.setup import load_demo

    load_demo(get_engine(args.db), Path(args.out), conversations=args.conversations, messages=args.size,
              seed=args.seed, score=not args.no_score, echo=print)
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from qa.jobs.scoring import score_database

    def progress(done: int, total: int) -> None:
        print(f"\r已评分 {done:,}/{total:,} 个会话", end="", file=sys.stderr, flush=True)

    engine = get_engine(args.db)
    report = score_database(engine, n_jobs=args.jobs, rescore_all=args.all, progress=progress)
    print(file=sys.stderr)
    print(f"模型版本 {report.model_version}：待评分 {report.pending:,} 个会话，已评分 {report.scored:,} 个"
          f"（{report.messages:,} 条消息），自动质检 {report.auto_checked:,} 个，用时 {report.seconds:.1f} 秒")
    _print_alerts(engine, report.alerts)
    return 0


def _cmd_score_file(args: argparse.Namespace) -> int:
    from qa.jobs.score_file import score_jsonl

    scored, rejections = score_jsonl(Path(args.input), Path(args.out), level=args.level)
    for r in rejections:
        print(f"拒绝：{r}", file=sys.stderr)
    print(f"已评分 {scored:,} 个会话 → {args.out}（拒绝 {len(rejections):,} 行）")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from qa.jobs.training import category_examples, train_from_archive
    from scoring.train import train_all

    if args.from_db:
        train_from_archive(get_engine(args.db), Path(args.models), Path(args.shared))
        return 0
    if not (Path(args.shared) / "data").is_dir():
        print(f"错误：找不到真实训练数据目录 {Path(args.shared) / 'data'}（用 --shared 指定）", file=sys.stderr)
        return 1
    examples = category_examples(get_engine(args.db)) if not args.no_db else None
    train_all(Path(args.shared), Path(args.models), category_examples=examples,
              only=args.only.split(",") if args.only else None)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from scoring.evaluate import evaluate_all, format_report

    print(format_report(evaluate_all(Path(args.shared), Path(args.models))))
    return 0


def _cmd_export_report(args: argparse.Namespace) -> int:
    """The QA program's reports (the queue page's 导出 buttons) for all conversations; .xlsx by the file name."""
    from qa.analytics.exports import frame_csv, frames_excel
    from qa.analytics.filters import Filters
    from qa.program.reports import conversation_report, review_report

    with get_engine(args.db).connect() as conn:
        df = (conversation_report if args.what == "conversations" else review_report)(conn, Filters())
    mask = not args.unmasked
    data = frames_excel({args.what: df}, mask=mask) if args.out.endswith(".xlsx") else frame_csv(df, mask=mask)
    if args.out == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(args.out).write_bytes(data)
    print(f"已导出 {len(df):,} 行 → {args.out}" + ("（未脱敏：含个人信息，请妥善保管）" if args.unmasked else ""),
          file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from qa.analytics.exports import annotations_query, iter_rows, scores_query, segments_query

    if args.what in ("conversations", "reviews"):
        return _cmd_export_report(args)
    query = {"annotations": annotations_query, "scores": scores_query, "agents": segments_query}[args.what]()
    out = open(args.out, "w", newline="", encoding="utf-8-sig") if args.out != "-" else sys.stdout
    try:
        writer = csv.writer(out)
        n = -1
        for n, row in enumerate(iter_rows(get_engine(args.db), query, mask=not args.unmasked)):
            writer.writerow(row)
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"已导出 {max(n, 0):,} 行 → {args.out}" + ("（未脱敏：含个人信息，请妥善保管）" if args.unmasked else ""),
          file=sys.stderr)
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    from qa.access import SYSTEM
    from qa.ingest.removal import delete_conversations

    print(delete_conversations(get_engine(args.db), args.conversation, by=SYSTEM).summary())
    return 0


def _cmd_backup(args: argparse.Namespace) -> int:
    from qa.backup import backup

    print(f"已备份 {backup(get_engine(args.db), Path(args.path)).summary()}")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from qa.backup import restore

    print(f"已恢复 {restore(get_engine(args.db), Path(args.path), force=args.force).summary()}")
    print("如果应用正在运行，请重启它，以免页面显示缓存的旧数据", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="huifang", description="回放 Huifang：电商客服质检与会话回放")
    p.add_argument("--db", default=None, help="数据库 URL（默认 DATABASE_URL 环境变量，或 data/huifang.db）")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("import", help="导入聊天记录、消息表、工单表（CSV/XLSX/JSONL/TXT/LOG/ZIP）")
    s.add_argument("files", nargs="+")
    s.add_argument("--show-rejections", type=int, default=20, help="最多打印多少条被拒绝的行")
    s.add_argument("--mask", metavar="KINDS", default=None,
                   help="消息文本中要脱敏的个人信息：all（默认）或 phone,id_card,bank_card,address,email 中的几项"
                        "（默认取 HUIFANG_MASK 环境变量）")
    s.add_argument("--no-mask", action="store_true", help="不脱敏，消息原文入库（导出时仍会脱敏）")
    s.set_defaults(func=_cmd_import)

    s = sub.add_parser("demo", help="生成演示数据并通过正常导入流程载入、评分")
    s.add_argument("--conversations", type=int, default=10_000)
    s.add_argument("--size", type=int, default=None, help="按消息条数生成（如 1000000），优先于 --conversations")
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--out", default=str(ROOT / "data" / "demo"))
    s.add_argument("--no-score", action="store_true")
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser("score", help="为数据库中新的或已变化的会话评分（增量）")
    s.add_argument("--all", action="store_true", help="全部重新评分")
    s.add_argument("--jobs", type=int, default=None, help="并行进程数（默认 CPU 核数）")
    s.set_defaults(func=_cmd_score)

    s = sub.add_parser("score-file", help="不用数据库，直接为 JSONL 文件评分并写出 CSV")
    s.add_argument("input")
    s.add_argument("--out", required=True)
    s.add_argument("--level", choices=["conversation", "message"], default="conversation")
    s.set_defaults(func=_cmd_score_file)

    s = sub.add_parser("train", help="用 ../shared/data 的真实数据（及库中带分类的会话）重新训练模型")
    s.add_argument("--shared", default=str(ROOT.parent / "shared"))
    s.add_argument("--models", default=str(ROOT / "data" / "models"))
    s.add_argument("--no-db", action="store_true", help="不读取数据库中的分类样本")
    s.add_argument("--only", help="只重新训练这些随附模型（逗号分隔：sentiment,tone,relevance,dissatisfaction），"
                                  "其余从模型目录读取")
    s.add_argument("--from-db", action="store_true",
                   help="从数据库学习：带分类的会话 → 分类模型；带 CSAT 的会话 → 不满风险的响应阶段；本店回复 → 相关度；"
                        "复核员的确认/误报与标签 → 语气、情绪（各自在留出数据上更好才启用）")
    s.set_defaults(func=_cmd_train)

    s = sub.add_parser("evaluate", help="在留出的真实数据上评估模型并打印指标")
    s.add_argument("--shared", default=str(ROOT.parent / "shared"))
    s.add_argument("--models", default=str(ROOT / "data" / "models"))
    s.set_defaults(func=_cmd_evaluate)

    s = sub.add_parser("export", help="导出批注、评分、坐席分段（转接会话按坐席拆分）、会话报表或复核明细为 CSV"
                                      "（会话报表与复核明细可用 .xlsx）")
    s.add_argument("what", choices=["annotations", "scores", "agents", "conversations", "reviews"])
    s.add_argument("--out", default="-", help="文件名；以 .xlsx 结尾时会话报表与复核明细写成 Excel")
    s.add_argument("--unmasked", action="store_true", help="导出原文，不隐藏手机号、身份证号等个人信息（仅限管理员）")
    s.set_defaults(func=_cmd_export)

    s = sub.add_parser("delete", help="删除会话及其消息、评分、批注等（如误导入的 9999 年会话）；不可撤销")
    s.add_argument("--conversation", action="append", required=True, metavar="ID",
                   help="数据库 ID、来源键“平台|会话ID”或文件里的会话ID；可重复给出")
    s.set_defaults(func=_cmd_delete)

    s = sub.add_parser("user", help="账号：add 新建 / passwd 改密码 / list 列出 / init 没有管理员时创建一个")
    s.add_argument("action", choices=["add", "passwd", "list", "init"])
    s.add_argument("name", nargs="?", default="")
    s.add_argument("--role", default="reviewer",
                   help="admin 管理员 / qa_manager 质检主管 / reviewer 质检员 / trainer 培训师 / agent 坐席 / executive 管理层")
    s.add_argument("--agent", default=None, help="坐席账号对应的坐席名（只能看到这个坐席的会话）")
    s.add_argument("--password", default=None, help="不给时交互输入（无终端时生成随机密码并打印）")
    s.set_defaults(func=_cmd_user)

    s = sub.add_parser("backup", help="备份整个数据库到文件（应用运行时也可以；SQLite 在线备份，PostgreSQL 用 pg_dump）")
    s.add_argument("path")
    s.set_defaults(func=_cmd_backup)

    s = sub.add_parser("restore", help="用备份文件替换整个数据库（数据库不是空的时需要 --force）")
    s.add_argument("path")
    s.add_argument("--force", action="store_true", help="覆盖已有数据")
    s.set_defaults(func=_cmd_restore)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
