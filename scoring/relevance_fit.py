"""Fitting the relevance model (``scoring.relevance``) on the shared data, and its held-out evaluation.

Splits (fixed, seeded)
    JD: the held-out blocks of ``jd_held_out`` are the test set; of the other blocks of 100 lines, those with
    block % 10 == 1 are the calibration slice (1,200 pairs) and the rest train. STC-3: labelled dialogues with
    md5(id) % 5 == 0 are the test set, md5(id) % 10 == 1 the calibration slice, the rest (and every unlabelled
    dialogue) train.
Training
    The general bilinear model learns from the JD training pairs (context: the last five turns), every
    consecutive-turn pair mined from those contexts (turn t after the up to five turns before it) and the STC-3
    training pairs repeated four times; the STC-3 model from the STC-3 training pairs only (a helpdesk turn after
    the previous helpdesk turn and the customer turns since). Both: in-batch softmax, sparse Adam. The
    neighbour features' 512 prototypes are k-means centres of the STC-3 training pairs' (context ``U``, reply
    ``V``) embeddings under the trained general model. The combiner (a logistic regression over the single
    features and their products, ``scoring.relevance.FEATURES``) is fitted on the two calibration slices, each
    true pair with one random negative (a reply of another block or dialogue) and one hard negative (the reply
    of a similar context elsewhere).
Evaluation
    ROC-AUC on the test sets: every true pair plus one random or one hard negative per pair.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from scoring.datasets import Dialogue, jd_held_out, load_jddc, load_stc3
from scoring.relevance import (
    FEATURES,
    MessageVectorizer,
    RelevanceModel,
    index_texts,
    membership,
    template_key,
    unit_rows,
)
from scoring.schema import RELEVANCE_LOW
from scoring.text import get_tokenizer, normalize

__all__ = ["RelevanceParams", "PairSet", "jd_pair_set", "stc_pair_set", "md5_bucket", "random_negatives",
           "hard_negatives", "eval_pairs", "fit_bilinear", "fit_prototypes", "fit_pairs", "fit_combiner", "fit_relevance", "calibration_pairs",
           "jd_test_set", "stc_test_set", "training_pairs", "jd_held_out_auc", "evaluate_relevance", "adapt_relevance", "pair_set"]

JD_TURNS = 5  # JD context turns read (JD marks no roles, so these are both sides' turns)
Log = Callable[[str], None]
Pair = tuple[list[str], str]
LabelledPair = tuple[list[str], str, int]


@dataclass(frozen=True)
class RelevanceParams:
    """Training settings of the research's final recipe."""

    rank: int = 64
    rank_stc: int = 32
    min_df: int = 3
    epochs: int = 6
    epochs_stc: int = 20
    batch: int = 256
    batch_stc: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    stc_oversample: int = 4
    combiner_c: float = 10.0
    template_min_count: int = 3
    near_prototypes: int = 512
    near_temperature: float = 0.02
    seed: int = 0


@dataclass
class PairSet:
    """Context → reply pairs with their group (JD block, STC-3 dialogue id) and the context as one string (for
    the hard negatives)."""

    contexts: list[list[str]]
    replies: np.ndarray
    groups: np.ndarray
    joined: np.ndarray

    def take(self, mask: np.ndarray) -> PairSet:
        """The pairs where ``mask`` is true."""
        idx = np.flatnonzero(mask)
        return PairSet([self.contexts[i] for i in idx], self.replies[idx], self.groups[idx], self.joined[idx])

    def pairs(self) -> list[Pair]:
        """As (context, reply) tuples."""
        return list(zip(self.contexts, self.replies.tolist()))


def pair_set(contexts: list[list[str]], replies: Sequence[str], groups: Sequence[object]) -> PairSet:
    """A PairSet of (context texts, reply) pairs grouped by conversation."""
    return PairSet(contexts, np.array(replies, dtype=object), np.array(groups, dtype=object),
                   np.array([" ".join(c) for c in contexts], dtype=object))


def jd_pair_set(rows: Sequence[dict]) -> PairSet:
    """JD pairs by line: the last ``JD_TURNS`` turns and the reply; the group is the block of 100 lines."""
    contexts = [list(r["context"][-JD_TURNS:]) for r in rows]
    return PairSet(contexts, np.array([r["reply"] for r in rows], dtype=object), np.arange(len(rows)) // 100,
                   np.array([" | ".join(c) for c in contexts], dtype=object))


def stc_pair_set(dialogues: Sequence[Dialogue]) -> PairSet:
    """Each helpdesk turn after customer turn(s): the previous helpdesk turn (if any) and those customer turns."""
    contexts, replies, groups = [], [], []
    for d in dialogues:
        prev_agent, pending = "", []
        for sender, text in d.turns:
            if not text:
                continue
            if sender == "customer":
                pending.append(text)
                continue
            if pending:
                contexts.append(([prev_agent] if prev_agent else []) + pending)
                replies.append(text)
                groups.append(d.id)
            prev_agent, pending = text, []
    return pair_set(contexts, replies, groups)


def md5_bucket(key: str, m: int) -> int:
    """md5(key) modulo ``m``: the STC-3 split of a dialogue id."""
    return int(hashlib.md5(key.encode()).hexdigest(), 16) % m


def random_negatives(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each pair, the index of a pair of another group."""
    n = len(groups)
    j = rng.integers(0, n, n)
    bad = groups[j] == groups
    while bad.any():
        j[bad] = rng.integers(0, n, int(bad.sum()))
        bad = groups[j] == groups
    return j


def hard_negatives(ps: PairSet, rng: np.random.Generator, k: int = 10) -> np.ndarray:
    """For each pair, the index of one of the ``k`` pairs of another group whose context is most similar
    (character 1–2-gram TF-IDF) and whose reply has another template key."""
    x = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, min_df=1).fit_transform(
        [normalize(c) for c in ps.joined])
    groups = np.unique(ps.groups, return_inverse=True)[1]
    keys = np.unique(np.array([template_key(r) for r in ps.replies], dtype=object), return_inverse=True)[1]
    n = len(ps.replies)
    out = np.empty(n, dtype=np.int64)
    for s in range(0, n, 2000):
        rows = np.arange(s, min(s + 2000, n))
        sim = (x[rows] @ x.T).toarray()
        sim[(groups[rows, None] == groups[None, :]) | (keys[rows, None] == keys[None, :])] = -1
        top = np.argsort(-sim, axis=1)[:, :k]
        out[rows] = top[np.arange(len(rows)), rng.integers(0, k, len(rows))]
    return out


def eval_pairs(ps: PairSet, hard: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(context index, reply index, label): every true pair, then one negative per pair."""
    rng = np.random.default_rng(seed)
    n = len(ps.replies)
    neg = hard_negatives(ps, rng) if hard else random_negatives(ps.groups, rng)
    return (np.concatenate([np.arange(n), np.arange(n)]), np.concatenate([np.arange(n), neg]),
            np.concatenate([np.ones(n), np.zeros(n)]))


def fit_bilinear(xc: sp.csr_matrix, xr: sp.csr_matrix, reply_keys: np.ndarray, rank: int, epochs: int, batch: int,
                 params: RelevanceParams, init_seed: int, log: Log) -> tuple[np.ndarray, np.ndarray]:
    """U, V of the score (xc U)·(xr V), trained so that each context picks its reply among the batch's replies
    (replies with the same ``reply_keys`` are not counted as negatives); sparse Adam on the rows in the batch."""
    init = np.random.default_rng(init_seed)
    dim = xc.shape[1]
    u = (init.standard_normal((dim, rank)) * 0.05).astype(np.float32)
    v = (init.standard_normal((dim, rank)) * 0.05).astype(np.float32)
    moments = [(np.zeros_like(u), np.zeros_like(u)), (np.zeros_like(v), np.zeros_like(v))]
    b1, b2, eps = 0.9, 0.999, 1e-8
    rng = np.random.default_rng(params.seed)
    n, t = xc.shape[0], 0
    for epoch in range(epochs):
        order, total = rng.permutation(n), 0.0
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            size = len(idx)
            if size < 8:
                continue
            c, r = xc[idx], xr[idx]
            a, b = np.asarray(c @ u), np.asarray(r @ v)
            same = reply_keys[idx][:, None] == reply_keys[idx][None, :]
            np.fill_diagonal(same, False)
            scores = a @ b.T - 1e4 * same
            prob = np.exp(scores - scores.max(axis=1, keepdims=True))
            prob /= prob.sum(axis=1, keepdims=True)
            diag = np.arange(size)
            total += -np.log(prob[diag, diag] + 1e-12).sum()
            prob[diag, diag] -= 1
            prob /= size  # d loss / d scores
            t += 1
            for w, grad, (m1, m2), x in ((u, c.T @ (prob @ b), moments[0], c), (v, r.T @ (prob.T @ a), moments[1], r)):
                rows = np.unique(x.indices)
                g = grad[rows] + params.weight_decay * w[rows]
                m1[rows] = b1 * m1[rows] + (1 - b1) * g
                m2[rows] = b2 * m2[rows] + (1 - b2) * g * g
                w[rows] -= params.lr * (m1[rows] / (1 - b1 ** t)) / (np.sqrt(m2[rows] / (1 - b2 ** t)) + eps)
        log(f"  epoch {epoch} loss {total / n:.4f}")
    return u, v


def _float16(a: np.ndarray) -> np.ndarray:
    """``a`` at the precision it is stored with, so the combiner sees what the artifact will hold."""
    return a.astype(np.float16).astype(np.float32)


def fit_pairs(pairs: Sequence[Pair], stc_pairs: Sequence[Pair], calibration: Sequence[LabelledPair],
              template_replies: Sequence[str], params: RelevanceParams = RelevanceParams(), log: Log = print
              ) -> RelevanceModel:
    """The model from data: general pairs (every source), STC-3 pairs, labelled calibration pairs for the
    combiner (never seen by the bilinear models) and the training replies whose frequent ones are templates."""
    texts, ctx_ids, reply_ids = index_texts([c for c, _ in [*pairs, *stc_pairs]], [r for _, r in [*pairs, *stc_pairs]])
    log(f"{len(pairs)} general pairs, {len(stc_pairs)} STC-3 pairs, {len(texts)} distinct messages")
    tokens = get_tokenizer().tokenize_many(texts)
    vectorizer = MessageVectorizer.fit(tokens, texts, params.min_df)
    log(f"{vectorizer.dim} hashed features kept (min_df {params.min_df})")
    x = vectorizer.transform(tokens, texts)
    c = sp.csr_matrix(membership(ctx_ids, len(texts)) @ x)
    norms = np.sqrt(np.asarray(c.multiply(c).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    c = sp.csr_matrix(sp.diags(1 / norms) @ c)
    keys = np.unique(np.array([template_key(texts[j]) for j in reply_ids], dtype=object), return_inverse=True)[1]
    xr = x[reply_ids]
    general, stc = np.arange(len(pairs)), np.arange(len(pairs), len(pairs) + len(stc_pairs))
    log("general bilinear model")
    u, v = fit_bilinear(c[general], xr[general], keys[general], params.rank, params.epochs, params.batch, params,
                        params.seed, log)
    log("STC-3 bilinear model")
    p, q = fit_bilinear(c[stc], xr[stc], keys[stc], params.rank_stc, params.epochs_stc, params.batch_stc, params,
                        params.seed + 1, log)
    counts = collections.Counter(template_key(r) for r in template_replies)
    u, v = _float16(u), _float16(v)
    near_contexts, near_replies = fit_prototypes(np.asarray(c[stc] @ u), np.asarray(xr[stc] @ v),
                                                 params.near_prototypes, params.seed)
    log(f"{len(near_contexts)} prototype pairs for the neighbour features")
    model = RelevanceModel(vectorizer, u, v, _float16(p), _float16(q), np.zeros(2 * len(FEATURES) + 1, np.float32),
                           0.0, frozenset(k for k, n in counts.items() if n >= params.template_min_count),
                           near_contexts, near_replies, params.near_temperature)
    fit_combiner(model, calibration, params.combiner_c)
    log(f"combiner coefficients {np.round(model.coef, 3).tolist()}, intercept {model.intercept:.3f}")
    return model


def fit_prototypes(contexts: np.ndarray, replies: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit context and reply embeddings of ``n`` prototype pairs: k-means centres of the training pairs' joined
    unit (context, reply) embeddings, so that the neighbour features cost ``n`` cosines per pair, not one per
    training pair (at 512 they separate held-out pairs as well as all 4,000 STC-3 training pairs do)."""
    joined = np.hstack([unit_rows(contexts), unit_rows(replies)])
    k = min(n, len(np.unique(joined.round(4), axis=0)))
    centres = KMeans(k, n_init=1, random_state=seed).fit(joined).cluster_centers_
    rank = contexts.shape[1]
    return _float16(unit_rows(centres[:, :rank])), _float16(unit_rows(centres[:, rank:]))


def fit_combiner(model: RelevanceModel, calibration: Sequence[LabelledPair], c: float,
                 sample_weight: np.ndarray | None = None) -> RelevanceModel:
    """Set ``model``'s combiner (in place) from labelled pairs its bilinear scorers never saw; returns it."""
    features = model.pair_features([ctx for ctx, _, _ in calibration], [r for _, r, _ in calibration])
    combiner = LogisticRegression(C=c, max_iter=2000)
    combiner.fit(features, np.array([y for _, _, y in calibration]), sample_weight=sample_weight)
    model.coef, model.intercept = combiner.coef_.ravel().astype(np.float32), float(combiner.intercept_[0])
    return model


def _stc_split(ps: PairSet) -> tuple[np.ndarray, np.ndarray]:
    """(test, calibration) masks of STC-3 pairs by dialogue id."""
    test = np.array([md5_bucket(g, 5) == 0 for g in ps.groups], dtype=bool)
    calibration = np.array([md5_bucket(g, 10) == 1 for g in ps.groups], dtype=bool) & ~test
    return test, calibration


def _labelled(ps: PairSet, rng: np.random.Generator) -> list[LabelledPair]:
    """Each true pair, then its context with a random and with a hard negative reply."""
    rand, hard = random_negatives(ps.groups, rng), hard_negatives(ps, rng)
    out: list[LabelledPair] = []
    for i, ctx in enumerate(ps.contexts):
        out += [(ctx, ps.replies[i], 1), (ctx, ps.replies[rand[i]], 0), (ctx, ps.replies[hard[i]], 0)]
    return out


def _jd_splits(shared_dir: Path) -> tuple[tuple[dict, ...], PairSet, np.ndarray, np.ndarray]:
    """JD rows, their pairs, and the held-out (test) and calibration masks."""
    rows = load_jddc(shared_dir)
    jd = jd_pair_set(rows)
    jd_test = np.array([jd_held_out(i) for i in range(len(rows))], dtype=bool)
    return rows, jd, jd_test, ~jd_test & (jd.groups % 10 == 1)


def calibration_pairs(shared_dir: Path) -> list[LabelledPair]:
    """The combiner's labelled pairs: the JD and STC-3 calibration slices, each true pair with a random and a hard
    negative (seeded, so the shipped combiner and a reviewer-taught one start from the same pairs)."""
    _rows, jd, _test, jd_cal = _jd_splits(shared_dir)
    stc = stc_pair_set(load_stc3(shared_dir, labeled=True))
    rng = np.random.default_rng(1)
    return _labelled(jd.take(jd_cal), rng) + _labelled(stc.take(_stc_split(stc)[1]), rng)


def training_pairs(shared_dir: Path, params: RelevanceParams = RelevanceParams()) -> tuple[list[Pair], list[Pair]]:
    """The bilinear scorers' training pairs (general, STC-3 only) from the training splits alone: JD pairs of
    training blocks plus the consecutive turns mined from their contexts, STC-3 training and unlabelled
    dialogues (repeated ``stc_oversample`` times in the general set)."""
    rows, jd, jd_test, jd_cal = _jd_splits(shared_dir)
    stc = stc_pair_set(load_stc3(shared_dir, labeled=True))
    stc_test, stc_cal = _stc_split(stc)
    stc_train = stc.take(~stc_test & ~stc_cal).pairs() + stc_pair_set(load_stc3(shared_dir, labeled=False)).pairs()
    pairs = jd.take(~jd_test & ~jd_cal).pairs()
    seen = {(tuple(c), r) for c, r in pairs}
    for i in np.flatnonzero(~jd_test & ~jd_cal):
        turns = rows[i]["context"]
        for t in range(1, len(turns)):
            key = (tuple(turns[max(0, t - JD_TURNS):t]), turns[t])
            if key not in seen:
                seen.add(key)
                pairs.append((list(key[0]), key[1]))
    return pairs + stc_train * params.stc_oversample, stc_train


def fit_relevance(shared_dir: Path, log: Log = print, params: RelevanceParams = RelevanceParams()
                  ) -> RelevanceModel:
    """The shipped model: JD and STC-3 training splits for the bilinear models, their calibration slices for
    the combiner (test splits untouched)."""
    _rows, jd, jd_test, _cal = _jd_splits(shared_dir)
    pairs, stc_train = training_pairs(shared_dir, params)
    calibration = calibration_pairs(shared_dir)
    log(f"calibration: {len(calibration) // 3} pairs (JD and STC-3), with 2 negatives each")
    return fit_pairs(pairs, stc_train, calibration, jd.replies[~jd_test].tolist(), params, log)


def stc_test_set(shared_dir: Path) -> PairSet:
    """The held-out STC-3 pairs (labelled dialogues whose id hash is 0 mod 5; never trained on)."""
    stc = stc_pair_set(load_stc3(shared_dir, labeled=True))
    return stc.take(_stc_split(stc)[0])


def jd_test_set(shared_dir: Path) -> PairSet:
    """The held-out JD pairs (never trained on): what every relevance model is finally judged on."""
    _rows, jd, jd_test, _cal = _jd_splits(shared_dir)
    return jd.take(jd_test)


def jd_held_out_auc(model: RelevanceModel, shared_dir: Path) -> float:
    """ROC-AUC on the held-out JD pairs, each true reply against a reply of another block (``jd_random``)."""
    ps = jd_test_set(shared_dir)
    ci, ri, y = eval_pairs(ps, hard=False)
    return float(roc_auc_score(y, model.predict([ps.contexts[i] for i in ci], ps.replies[ri].tolist())))


def _auc(y: np.ndarray, p: np.ndarray) -> dict:
    return {"roc_auc": round(float(roc_auc_score(y, p)), 4), "n": int(len(y))}


def evaluate_relevance(model: RelevanceModel, shared_dir: Path) -> dict:
    """Held-out ROC-AUC (JD test blocks, STC-3 test dialogues) against random and hard negatives, JD also without
    template replies, and the share of JD test replies that are templates."""
    jd = jd_test_set(shared_dir)
    template = np.array([model.is_template(r) for r in jd.replies], dtype=bool)
    stc = stc_test_set(shared_dir)
    out: dict = {}
    for name, ps in (("jd", jd), ("stc", stc)):
        for hard in (False, True):
            ci, ri, y = eval_pairs(ps, hard)
            p = model.predict([ps.contexts[i] for i in ci], ps.replies[ri].tolist())
            kind = f"{name}_{'hard' if hard else 'random'}"
            out[kind] = _auc(y, p)
            if name == "jd":
                real = ~template[ri]
                out[f"{kind}_nontemplate"] = _auc(y[real], p[real])
            if not hard:
                out[f"{name}_at_flag_line"] = _at_flag_line(model, ps, ri, y, p)
    out["template_share_jd_test"] = round(float(template.mean()), 4)
    return out


def _at_flag_line(model: RelevanceModel, ps: PairSet, ri: np.ndarray, y: np.ndarray, p: np.ndarray) -> dict:
    """How the 答非所问 flag (``RELEVANCE_LOW``) behaves on non-template replies: the share of true replies it
    flags (false alarms a reviewer would see) and of replies from another conversation it catches."""
    real = np.array([not model.is_template(r) for r in ps.replies[ri]], dtype=bool)
    low = p < RELEVANCE_LOW
    return {"threshold": RELEVANCE_LOW, "true_replies_flagged": round(float(low[real & (y == 1)].mean()), 4),
            "swapped_replies_caught": round(float(low[real & (y == 0)].mean()), 4)}


ADAPT_MIN_PAIRS = 2000
ADAPT_MARGIN = 0.005


def adapt_relevance(shipped: RelevanceModel, archive: PairSet, log: Log = print,
                    params: RelevanceParams = RelevanceParams()) -> tuple[RelevanceModel | None, dict]:
    """A relevance model learned from a shop's own conversations, and whether to use it instead of ``shipped``.

    No labels are needed: each true next reply is a positive, a reply of another conversation a negative. The
    archive is split by conversation (md5 of its group: 0 mod 5 held out, 1 mod 10 for the combiner, the rest
    trains both scorers); the adapted model is returned only when its held-out ROC-AUC beats the shipped
    model's on the same pairs by ``ADAPT_MARGIN``. The figures say which is in use and why.
    """
    test = np.array([md5_bucket(str(g), 5) == 0 for g in archive.groups], dtype=bool)
    calibration = np.array([md5_bucket(str(g), 10) == 1 for g in archive.groups], dtype=bool) & ~test
    train = ~test & ~calibration
    figures: dict = {"archive_pairs": int(len(archive.replies)), "training_pairs": int(train.sum()),
                     "held_out_pairs": int(test.sum())}
    if train.sum() < ADAPT_MIN_PAIRS or test.sum() < 100 or calibration.sum() < 50:
        return None, {**figures, "in_use": False,
                      "reason": f"档案中的回复太少（训练 {int(train.sum())} 对，至少需要 {ADAPT_MIN_PAIRS} 对）"}
    pairs = archive.take(train).pairs()
    # Templates stay the shipped model's: a shop's own frequent replies are often specific answers (its quick
    # phrases for a product), which a frequency rule over one archive would wrongly take for greetings.
    model = fit_pairs(pairs, pairs, _labelled(archive.take(calibration), np.random.default_rng(1)), [], params, log)
    model.template_keys = shipped.template_keys
    held_out = archive.take(test)
    ci, ri, y = eval_pairs(held_out, hard=False)
    contexts, replies = [held_out.contexts[i] for i in ci], held_out.replies[ri].tolist()
    figures["shipped"] = _auc(y, shipped.predict(contexts, replies))
    figures["adapted"] = _auc(y, model.predict(contexts, replies))
    better = figures["adapted"]["roc_auc"] >= figures["shipped"]["roc_auc"] + ADAPT_MARGIN
    figures["in_use"] = better
    figures["reason"] = (f"留出会话上 ROC-AUC {figures['adapted']['roc_auc']:.3f}，高于随附模型的 "
                         f"{figures['shipped']['roc_auc']:.3f}" if better else
                         f"留出会话上 ROC-AUC {figures['adapted']['roc_auc']:.3f}，未高于随附模型的 "
                         f"{figures['shipped']['roc_auc']:.3f}（需高出 {ADAPT_MARGIN}），继续使用随附模型")
    return (model if better else None), figures
