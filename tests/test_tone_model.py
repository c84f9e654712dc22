"""The tone model: hashed n-grams that explanations can name again, the shipped model on replies a QA manager
would and would not want changed, and the issue's aims measured on the real labels and the probe set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scoring.artifacts import DEFAULT_MODELS_DIR, load_artifact
from scoring.evaluate import evaluate_tone
from scoring.hashing import HashedTfidf, char_ngram_matrix, ngram_ids, token_ngram_matrix
from scoring.schema import TONE_FLAG
from scoring.text import get_tokenizer
from scoring.tone import ToneInputs, ToneModel, normalize_reply

SHARED = Path(__file__).resolve().parents[2] / "shared"
TEXTS = ["你自己去查物流吧", "亲，这个您下单前就该看清楚的哦~#E-s[数字x]", "a", "", "😀好的 👍", "请稍等"]


@pytest.mark.parametrize("text", TEXTS)
def test_the_columns_of_a_text_are_the_ones_explanations_name(text: str) -> None:
    dim = 2**18
    chars = char_ngram_matrix([text, "别的"], 3, dim)
    assert set(chars[0].indices) == {col for _gram, col in ngram_ids("char", text, 3, dim)}
    tokens = get_tokenizer().tokenize(text)
    words = token_ngram_matrix([tokens, ["别的"]], 2, dim)
    assert set(words[0].indices) == {col for _gram, col in ngram_ids("token", tokens, 2, dim)}


def test_hashed_tfidf_rows_are_unit_length_and_survive_a_round_trip() -> None:
    model = HashedTfidf.fit(TEXTS, "char", 3, 2**16)
    x = model.transform(TEXTS)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    assert np.allclose(norms[[0, 1, 2, 4, 5]], 1.0, atol=1e-4) and norms[3] == 0
    meta, arrays = model.to_state("c_")
    again = HashedTfidf.from_state(meta, arrays, "c_")
    assert abs(again.transform(TEXTS) - x).max() < 1e-2  # IDF stored as float16


@pytest.mark.parametrize("docs", [["你好", ""], ["", "你好", "", ""], ["", ""], ["好", "", "谢谢您"]])
def test_hashed_tfidf_takes_empty_documents_anywhere_in_a_batch(docs: list[str]) -> None:
    """An empty context last in a batch once crashed scoring (reduceat past the data) and with it `huifang demo`."""
    x = HashedTfidf.fit(["你好呀", "谢谢您"], "char", 2, 1024).transform(docs)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    assert list(np.round(norms, 3)) == [1.0 if d else 0.0 for d in docs]


def test_placeholders_read_as_one_symbol_each() -> None:
    assert normalize_reply("亲#E-s[数字x]  订单[ORDERID_12]共[数字x]元") == "亲☺ 订单Ｏ共Ｎ元"


@pytest.fixture(scope="module")
def tone() -> ToneModel:
    return ToneModel.from_state(*load_artifact(DEFAULT_MODELS_DIR, "tone"))


def _risk(model: ToneModel, context: str, reply: str) -> tuple[float, list[str]]:
    risk, reasons = model.predict_explain(ToneInputs([reply], [get_tokenizer().tokenize(reply)], [context]))
    return float(risk[0]), reasons[0]


# Written for this test, not taken from the training pairs or the probe set.
FLAGGED = [
    ("东西坏了能换吗", "自己不会看说明书吗？"),
    ("都一个星期了还没到", "催什么催，等着就行"),
    ("为什么少发了一件", "亲，这个是仓库的问题，跟我们客服没关系哦，您自己联系仓库吧~"),
    ("能便宜点吗", "爱买不买"),
]
FINE = [
    ("谢谢", "不客气，祝您生活愉快~"),
    ("这款有M码吗", "亲，M码有货的，今天下单今天发哦"),
    ("快递到哪了", "您好，帮您查了一下，包裹已到您所在城市的站点，预计今天下午送达"),
    ("我要退货", "好的亲，已为您提交退货申请，快递员会上门取件，运费我们承担"),
]


@pytest.mark.parametrize("context, reply", FLAGGED)
def test_replies_a_manager_would_change_are_flagged_with_named_phrases(tone: ToneModel, context: str,
                                                                        reply: str) -> None:
    risk, reasons = _risk(tone, context, reply)
    assert risk >= TONE_FLAG
    phrases = [p for r in reasons for p in r.split("：", 1)[-1].split("、") if r.startswith(("风险措辞", "禁用语"))]
    assert phrases and all(len(p) >= 2 for p in phrases)


@pytest.mark.parametrize("context, reply", FINE)
def test_fine_replies_are_not_flagged(tone: ToneModel, context: str, reply: str) -> None:
    assert _risk(tone, context, reply)[0] < TONE_FLAG


@pytest.mark.real_data
def test_aims_on_real_labels_and_the_probe_set() -> None:
    if not (SHARED / "data" / "jddc").exists():
        pytest.skip("../shared/data is absent (fresh clone): the tone aims are measured on it")
    figures, _model = evaluate_tone(SHARED, get_tokenizer(), {})
    real, probe = figures["real_out_of_fold"], figures["probe"]
    assert real["false_alarms_on_fine"] <= 0.03 and real["by_source"]["jd"]["false_alarms_on_fine"] <= 0.03
    assert probe["caught_bad"] >= 0.8 and probe["false_alarms_on_good"] <= 0.03 and probe["roc_auc"] >= 0.9
    assert all(k["kappa_bad"] >= 0.6 for k in figures["labellers"].values())
