"""Customer sentiment per message: the probability that a customer chat line is negative (upset, complaining).

One logistic regression over hashed TF-IDF n-grams (``scoring.hashing``): character 1–3-grams of the text and
word 1–2-grams of its tokens. Characters carry what words miss in short, misspelt chat lines; words carry the
phrases an explanation can name. Trained on the review corpora (ten shopping categories, food delivery), the
short human–machine chat utterances, ~500 real JD customer lines labelled twice (weighted tenfold, or a hundred
thousand review sentences would drown them), and plain questions and greetings taken from real JD chats (lines
with no complaint cue, as not-negative), so that "在吗" or "这个有货吗" read as the neutral lines they are instead of
the complaints such words open in reviews; a short question or greeting with no complaint cue is held at 0.15
whatever the n-grams say. The reviews are half negative and a service archive is not: the log-odds are shifted
from the training share of negatives to a prior of 25% (``SENTIMENT_PARAMS["prior"]``). Explanations name the
words that pushed a message towards negative, skipping stop words and nouns (jieba's part-of-speech tags, at
training time) other than the few hundred most negative words (骗子, 垃圾, 差评), so "我的手机支架呢？？" is never
negative "because of 手机".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from scoring.batch import MessageBatch, Signals
from scoring.hashing import HashedTfidf, ngram_ids
from scoring.linear import sigmoid
from scoring.text import load_stopwords

__all__ = ["SENTIMENT_PARAMS", "ALWAYS_TRAINED", "SentimentModel", "corpus_weights", "is_plain_question"]

SENTIMENT_PARAMS = {"C": 4.0, "dim": 2**19, "prior": 0.25, "plain_question_cap": 0.15, "strong_words": 300,
                    "labelled_chat_weight": 10.0}
ALWAYS_TRAINED = ("提问", "京东标注")
"""Corpus domains that are never held out: they only teach the model what customer chat lines look like."""
_WORD = re.compile(r"^[\u4e00-\u9fffA-Za-z]{2,}$|^[\u4e00-\u9fff]$")
_QUESTION = re.compile(r"(吗|呢|么|嘛|多久|几天|什么|怎么|哪|能不能|可以|是否|有没有)[？?]*$|[？?]$|^(在吗|亲|你好|您好|请问)")
_COMPLAINT = re.compile(r"不|没|差|慢|退|骗|坑|垃圾|烂|投诉|假|坏|破|错|漏|失望|生气|怎么还|为什么|太|难|无语|晕|气|再也|"
                        r"人呢|理我|回复|催|急|到底|还要|多久|[?？!！]{2}")
_IMPATIENT = re.compile(r"[?？!！]{2}")
_NOUN_TAGS = ("n", "nr", "ns", "nt", "nz", "ng", "nrt", "nrfg", "vn", "an")


def _blocks() -> tuple[HashedTfidf, HashedTfidf]:
    dim = int(SENTIMENT_PARAMS["dim"])
    return HashedTfidf("char", 3, dim, np.ones(dim, np.float32)), HashedTfidf("token", 2, dim, np.ones(dim, np.float32))


def corpus_weights(domains: Sequence[str]) -> np.ndarray:
    """Sample weights of a training corpus: the few hundred labelled real chat lines weigh like thousands of
    review sentences, or the reviews would drown them out."""
    return np.where(np.asarray(domains) == "京东标注", SENTIMENT_PARAMS["labelled_chat_weight"], 1.0)


def is_plain_question(text: str) -> bool:
    """A short greeting or question without any complaint cue ("在吗", "这个有货吗", "买了送什么")."""
    return 2 <= len(text) <= 15 and bool(_QUESTION.search(text)) and not _COMPLAINT.search(text)


@dataclass
class SentimentModel:
    """P(negative) of a customer chat line.

    Parameters
    ----------
    chars, words : HashedTfidf
        Character 1–3-grams of the text, word 1–2-grams of its tokens.
    coef : ndarray
        Weights over both blocks (characters first).
    intercept : float
    nouns : list of str
        Words never named as the reason for a score (nouns, other than the strong words).
    strong : list of str
        The most negative words: explainable even when a noun or a single character.
    """

    chars: HashedTfidf
    words: HashedTfidf
    coef: np.ndarray
    intercept: float
    nouns: list[str]
    strong: list[str]

    field = "sentiment_neg"

    @classmethod
    def fit(cls, texts: Sequence[str], token_lists: Sequence[Sequence[str]], y_negative: np.ndarray,
            counts: tuple[sp.csr_matrix, sp.csr_matrix] | None = None, explained: bool = True,
            sample_weight: np.ndarray | None = None) -> SentimentModel:
        """Fit on texts with 1 = negative; ``counts`` (from ``counts``) saves hashing the same corpus again, and
        without ``explained`` (cross-validation folds) the noun list is not made."""
        model = cls(*_blocks(), np.zeros(0), 0.0, [], [])
        char_counts, word_counts = counts if counts is not None else cls.counts(texts, token_lists)
        model.chars.fit_counts(char_counts)
        model.words.fit_counts(word_counts)
        lr = LogisticRegression(C=SENTIMENT_PARAMS["C"], max_iter=3000, solver="liblinear")
        lr.fit(model._weigh(char_counts, word_counts), y_negative, sample_weight=sample_weight)
        share, prior = float(np.average(y_negative, weights=sample_weight)), SENTIMENT_PARAMS["prior"]
        shift = np.log(prior / (1 - prior)) - np.log(share / (1 - share))
        model.coef, model.intercept = lr.coef_.ravel().astype(np.float32), float(lr.intercept_[0] + shift)
        if explained:
            model.nouns, model.strong = model._word_lists(token_lists)
        return model

    @staticmethod
    def counts(texts: Sequence[str], token_lists: Sequence[Sequence[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The raw n-gram counts of both blocks (the hashing does not depend on what a model learned)."""
        chars, words = _blocks()
        return chars.counts(list(texts)), words.counts(token_lists)

    def _weigh(self, char_counts: sp.csr_matrix, word_counts: sp.csr_matrix) -> sp.csr_matrix:
        return sp.hstack([self.chars.weigh(char_counts), self.words.weigh(word_counts)]).tocsr()

    def _word_lists(self, token_lists: Sequence[Sequence[str]]) -> tuple[list[str], list[str]]:
        """The nouns among the corpus's words (never shown as a reason) and its most negative words (always
        explainable, nouns such as 骗子 included)."""
        import jieba.posseg  # only when training: tagging loads a second dictionary

        frequent = Counter(t for tokens in token_lists for t in tokens if _WORD.match(t))
        words = [w for w, n in frequent.items() if n >= 3]
        dim = self.chars.dim
        weight = {w: self.coef[dim + col] * self.words.idf[col] for w in words
                  for _gram, col in ngram_ids("token", [w], 1, self.words.dim)}
        strong = sorted(weight, key=weight.__getitem__, reverse=True)[: int(SENTIMENT_PARAMS["strong_words"])]
        strong_set = set(strong)
        nouns = sorted(w for w in words if w not in strong_set
                       and all(p.flag in _NOUN_TAGS for p in jieba.posseg.lcut(w)))
        return nouns, sorted(strong)

    def decision(self, texts: Sequence[str], token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Log-odds of negative per text."""
        if not texts:
            return np.zeros(0)
        counts = self.chars.counts(list(texts)), self.words.counts(token_lists)  # this artifact's widths, not today's
        return np.asarray(self._weigh(*counts) @ self.coef).ravel() + self.intercept

    def predict(self, texts: Sequence[str], token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """P(negative) per text, a plain question or greeting held at the cap."""
        p = sigmoid(self.decision(texts, token_lists))
        plain = np.fromiter((is_plain_question(t) for t in texts), bool, len(texts))
        return np.where(plain, np.minimum(p, SENTIMENT_PARAMS["plain_question_cap"]), p)

    def predict_explain(self, texts: Sequence[str], token_lists: Sequence[Sequence[str]], k: int = 3
                        ) -> tuple[np.ndarray, list[list[str]]]:
        """P(negative) and, for a text at 0.5 or above, the words (never nouns) that pushed it there."""
        p = self.predict(texts, token_lists)
        hidden, strong = self._word_sets
        dim = self.chars.dim
        reasons = []
        for prob, text, tokens in zip(p, texts, token_lists):
            picked: list[str] = []
            if prob >= 0.5:
                cue = ["连续问号或感叹号"] if _IMPATIENT.search(text) else []
                picked = self.words.strongest(
                    tokens, self.coef[dim:dim + self.words.dim], k,
                    lambda gram: all(_WORD.match(w) and w not in hidden for w in gram.split(" "))
                    and (len(gram.replace(" ", "")) >= 2 or gram in strong), cue)
            reasons.append(picked)
        return p, reasons

    @cached_property
    def _word_sets(self) -> tuple[frozenset[str], frozenset[str]]:
        """(words never shown, words always explainable), made once per loaded model."""
        return frozenset(self.nouns) | load_stopwords(), frozenset(self.strong)

    def apply(self, batch: MessageBatch, signals: Signals) -> None:
        """P(negative) of every customer message with words, and the words behind a negative one."""
        customers = batch.scored("customer")
        if customers:
            p, words = self.predict_explain([batch.texts[i] for i in customers], [batch.tokens[i] for i in customers])
            signals.column(self.field)[customers] = p
            signals.words[self.field].update(zip(customers, words))

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """For ``save_artifact``."""
        meta: dict = {"intercept": self.intercept, "nouns": self.nouns, "strong": self.strong,
                      "params": SENTIMENT_PARAMS}
        arrays: dict[str, np.ndarray] = {"coef": self.coef}
        for prefix, block in (("chars_", self.chars), ("words_", self.words)):
            m, a = block.to_state(prefix)
            meta.update(m)
            arrays.update(a)
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> SentimentModel:
        """From ``load_artifact``."""
        return cls(HashedTfidf.from_state(meta, arrays, "chars_"), HashedTfidf.from_state(meta, arrays, "words_"),
                   arrays["coef"].astype(np.float32), float(meta["intercept"]), list(meta["nouns"]),
                   list(meta["strong"]))
