"""The main user paths in a real browser against `streamlit run` on a temporary seeded database."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import no_exception, settle, sign_in

pytestmark = pytest.mark.e2e


def _main(page):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="stMain"]')


def test_overview_to_replay_annotate_reload_annotation_still_there(page, app_url):
    page.goto(app_url)
    settle(page)
    sign_in(page)
    main = _main(page)
    main.get_by_role("heading", name="总览").wait_for()
    main.get_by_text("CSAT", exact=True).first.wait_for()
    no_exception(page)

    page.locator('[data-testid="stSidebarNav"]').get_by_text("质检队列").click()
    settle(page)
    main.get_by_text(re.compile(r"共 8 条会话")).wait_for()
    main.get_by_role("button", name=re.compile("从本页第一条开始回放")).click()
    settle(page)
    heading = main.get_by_role("heading", name=re.compile(r"会话 tm-4"))  # highest risk in tests/seed.py
    heading.wait_for()
    no_exception(page)

    main.get_by_role("button", name=re.compile("批注")).first.click()  # beside the first message
    form = page.locator('[data-testid="stPopoverBody"]')
    form.get_by_label("批注", exact=True).fill("首响超时，未致歉")
    form.get_by_role("button", name="保存", exact=True).click()
    settle(page)
    main.get_by_text(re.compile(r"^批注 · .*：首响超时，未致歉$")).wait_for()  # under the message in the chat

    page.reload()  # a new Streamlit session: the browser's session cookie signs it in, on the same conversation
    settle(page)
    heading.wait_for(timeout=120_000)
    assert page.get_by_label("用户名").count() == 0
    main.get_by_text("首响超时，未致歉").first.wait_for(state="attached")
    no_exception(page)

    page.get_by_role("button", name="退出登录").click()  # signing out ends the session: a reload asks again
    page.get_by_label("用户名").wait_for()
    page.reload()
    page.get_by_label("用户名").wait_for(timeout=120_000)
    assert heading.count() == 0


def _upload(page, app_url, path):  # type: ignore[no-untyped-def]
    """Choose ``path`` on the 数据 page and press 导入; returns the page's main area."""
    page.goto(f"{app_url}/data")
    settle(page)
    sign_in(page)
    main = _main(page)
    main.locator('input[type="file"]').set_input_files(str(path))
    main.get_by_text(path.name).first.wait_for()
    main.get_by_role("button", name="导入").click()
    settle(page)
    return main


def test_upload_with_a_bad_row_reports_the_row(page, app_url, tmp_path):
    csv = tmp_path / "坏行.csv"
    csv.write_bytes("会话ID,发送时间,发送方,消息内容\n"
                    "u1,2026-11-11 10:00:00,顾客,在吗\n"
                    "u1,2026-11-11 25:61:00,客服,时间是坏的\n"
                    "u1,2026-11-11 10:00:30,客服,在的亲\n".encode("gbk"))
    main = _upload(page, app_url, csv)
    main.get_by_text(re.compile(r"坏行\.csv（CSV 消息表）.*新增会话 1.*新增消息 2 拒绝 1 行")).wait_for()
    main.get_by_text("被拒绝的行（1）").wait_for()
    cells = main.locator('[role="gridcell"]')
    cells.filter(has_text="无法识别的时间").first.wait_for(state="attached")
    assert "3" in [c.strip() for c in cells.all_inner_texts()]
    no_exception(page)


def test_upload_of_a_large_export_is_parsed_in_the_worker_and_reported(page, app_url, tmp_path):
    from qa.ingest import parse_worker
    from tests.helpers import conv, jsonl

    lines = [conv(f"big-{i}", ("customer", f"第 {i} 单什么时候发货" + "，麻烦快点" * 20, "2026-11-11 10:00:00"),
                  ("agent", "亲，今天就发哦" + "，请耐心等待" * 20, "2026-11-11T10:00:30+08:00"), platform="天猫")
             for i in range(14_000)]
    data = jsonl(*lines)
    assert len(data) > parse_worker.PARALLEL_MIN_BYTES  # the size from which an import parses in a worker
    upload = tmp_path / "大文件.jsonl"
    upload.write_bytes(data)
    main = _upload(page, app_url, upload)
    main.get_by_text(re.compile(r"大文件\.jsonl（JSONL 会话）.*新增会话 14,000.*新增消息 28,000 拒绝 0 行")).wait_for(
        timeout=60_000)
    no_exception(page)
