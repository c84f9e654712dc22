"""The format registry: one list that detection, report names and the upload dialog read; adding a format is one
module and one entry (the README's example, imported end to end)."""

from __future__ import annotations

import io

import pytest

import qa.ingest.formats as formats
from qa.access import SYSTEM
from qa.ingest.formats import FORMATS, format_name, upload_extensions
from qa.ingest.formats.base import Format, Sample
from qa.ingest.importer import import_stream
from qa.ingest.records import ConversationRecord, MessageRecord
from tests.helpers import counts


def test_codes_are_unique_and_every_format_has_a_chinese_name():
    codes = [f.code for f in FORMATS]
    assert len(codes) == len(set(codes))
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in f.name) for f in FORMATS)


@pytest.mark.parametrize("code, name", [("csv_tickets", "CSV 工单表"), ("chatlog_jd", "京东咚咚聊天记录"),
                                        ("jsonl", "JSONL 会话"), ("xlsx_jd_sessions", "京东会话明细表"),
                                        ("no_such_layout", "no_such_layout")])
def test_format_names(code, name):
    assert format_name(code) == name


def test_upload_dialog_offers_every_format_and_zip():
    assert set(upload_extensions()) == {"csv", "xlsx", "xlsm", "jsonl", "txt", "log", "zip"}


def _parse(sample: Sample):
    conv = ConversationRecord(external_id=sample.name)
    for line in sample.text:
        role, _, text = line.rstrip("\n").partition("\t")
        conv.messages.append(MessageRecord(role, text))
    yield conv


LINELOG = Format("linelog", "逐行日志", (".tsv",),
                 detect=lambda s: s.first_line.startswith(("customer\t", "agent\t")), parse=_parse)


def test_a_new_format_is_one_module_and_one_entry(engine, monkeypatch):
    monkeypatch.setattr(formats, "FORMATS", (LINELOG, *FORMATS))
    (report,) = import_stream(engine, "chat.tsv", io.BytesIO("customer\t在吗\nagent\t在的亲\n".encode()), by=SYSTEM)
    assert (report.format, report.counts.conversations_added) == ("linelog", 1)
    assert "逐行日志" in report.summary() and "tsv" in upload_extensions()
    assert counts(engine)["messages"] == 2
