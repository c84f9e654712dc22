"""Relevance of an agent reply to what the customer just said: P(this reply answers the preceding turns), 0..1.

Why this design
---------------
A reply is relevant when its *content* follows from the customer's request, not when it repeats the customer's
words ("买了送什么" → "购买这款即赠送手机支架一个哦" shares almost nothing). So the model learns, from real
helpdesk dialogues, which reply vocabulary follows which request vocabulary: a low-rank bilinear score
``s = (c U)·(r V)`` between a context vector ``c`` and a reply vector ``r``, trained to pick the true reply out of
the other replies of a batch (in-batch softmax). It has to score a million agent messages in seconds, so every
step is a sparse or dense matrix product over messages, never a Python step per token.

Message vector (built once per message)
    The message's word tokens (the app's tokens) and its character bigrams, each hashed in numpy into 2^18
    buckets (words: a polynomial hash computed with cumulative sums over the code points of the joined tokens;
    bigrams: from adjacent code points; full-width → ASCII and lower-casing done on the code points). Only the
    buckets frequent enough in training are kept (``buckets``, in column order), weighted (1 + log tf)·idf and
    L2-normalised.
Context
    The sum of its messages' vectors, L2-normalised. Because ``c U = (Σ x_m) U / |c|``, the embeddings ``x U``,
    ``x V``… are computed once per message and summed per context with a sparse membership matrix.
Features of a (context, reply) pair, then a logistic regression (the combiner)
    ``s_gen``: the general bilinear model (rank 64; JD reply pairs, consecutive JD turns, STC-3 Weibo helpdesk
    pairs); ``s_stc``: a bilinear model of STC-3 pairs only (rank 32); ``s_last``: the general model on the last
    context message alone; ``cos``: TF-IDF cosine; ``vmax``: the highest cosine, in the reply space ``V``, between
    the reply and one context message (a same-company style cue); the overlap of the sets of characters (Chinese
    characters, digits, letters) of reply and context: its share of the reply's, of the context's, Jaccard, and
    its share of the reply's against the last context message alone; the log lengths of reply and context and
    the number of context messages (a short reply to a long request answers less of it); ``s_near``: how close
    the reply is (in the reply space ``V``) to the replies that followed contexts like this one (in the context
    space ``U``), and ``s_back``: how close the context is to the contexts that preceded replies like this one,
    both soft nearest-neighbour averages (temperature 0.02) over 512 prototype pairs, the k-means centres of
    the STC-3 training pairs' embeddings (a helpdesk answers similar requests with similar, often canned,
    replies of its own, which one bilinear score cannot hold); eight products of those scores (``_PRODUCTS``:
    mostly a bilinear score times a neighbour score), because the evidence compounds: a reply that both scores
    well and looks like the replies to similar requests is far likelier true than either alone says, which a
    sum of log-odds cannot express; ``w``: the context contains "@" (Weibo style), and ``w`` × each of those
    twenty-two. The combiner is fitted on calibration slices the bilinear models never saw. The overlap and
    length features lifted held-out STC-3 from 0.856 to 0.878 with the same bilinear scorers; ``s_near`` and
    ``s_back`` lifted STC-3 in grouped 5-fold cross-validation on the calibration slices from 0.846 to 0.866
    with JD unchanged (0.844), where seed ensembles or a higher rank of the STC-3 scorer, a which-helpdesk
    classifier and neighbours found by character TF-IDF gained less; the products lifted it from 0.866 to 0.882
    (JD 0.844 → 0.842), where more prototypes (1,024, 2,048, all 3,975 pairs), a top-k average instead of the
    softmax, a second temperature, neighbours in the STC-3 scorer's space, JD prototypes as a second pair of
    features and a character-bigram bilinear scorer gained at most 0.005. On the held-out test sets the
    products took STC-3 from 0.892 to 0.903 and JD from 0.863 to 0.862, for about 1.3 CPU-seconds more per
    million messages.
Templates
    Greetings and offers of help ("请问有什么可以帮您"), "请稍等" and "我帮您查一下", "请问还有其他…帮到您", thanks and
    very frequent replies answer nothing in particular and are neither relevant nor irrelevant (before the
    offers and holding lines were listed, a shop's own greetings were scored, low, and flagged 答非所问): ``apply`` leaves them NaN (shown as n/a) with the reason "模板回复".

Training and held-out evaluation are in ``scoring.relevance_fit``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from scoring.batch import MessageBatch, Signals
from scoring.errors import ScoringError
from scoring.linear import sigmoid
from scoring.text import get_tokenizer, is_content_token, load_stopwords, normalize

__all__ = ["CONTEXT_MESSAGES", "FEATURES", "STATE_KIND", "TEMPLATE_REASON", "MessageVectorizer", "RelevanceModel",
           "index_texts", "membership", "template_key", "unit_rows"]

STATE_KIND = "bilinear-relevance-5"
CONTEXT_MESSAGES = 5  # customer messages of a context that the model reads (the last ones)
_SINGLE = ("s_gen", "s_stc", "s_last", "cos", "vmax", "share_reply", "share_context", "jaccard", "share_last",
           "len_reply", "len_context", "n_context", "s_near", "s_back")
_NEIGHBOUR_FEATURES = 2  # the last two of _SINGLE
# Products of the scores whose evidence compounds rather than adds (see the module docstring).
_PRODUCTS = (("s_gen", "s_near"), ("s_stc", "s_near"), ("s_gen", "s_back"), ("s_near", "s_back"), ("s_gen", "s_stc"),
             ("s_stc", "s_back"), ("s_last", "s_near"), ("cos", "s_near"))
FEATURES = (*_SINGLE, *(f"{a}*{b}" for a, b in _PRODUCTS))
_PRODUCT_COLUMNS = np.array([[_SINGLE.index(a), _SINGLE.index(b)] for a, b in _PRODUCTS])
# Older artifacts (archive-adapted models trained before) still load: their features keep their weights, the
# features they lack get none. -3: before s_near/s_back; -4: before the products.
_OLD_KINDS = {"bilinear-relevance-3": _SINGLE[:-_NEIGHBOUR_FEATURES], "bilinear-relevance-4": _SINGLE}
_CHUNK = 8192  # pairs per product with the prototypes (8192 × 512 float32 = 16 MB)
TEMPLATE_REASON = "模板回复"
SHARED_WORDS = 3
_NB = 1 << 18  # buckets per hashed space: character bigrams in [0, NB), words in [NB, 2 NB)
_P = 1_000_003
_P_INV = pow(_P, -1, 1 << 64)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(64 - 18)
_KEEP_FULLWIDTH = np.array([ord(c) for c in "！？，；：（）"], dtype=np.uint32)
_TEMPLATE_STRIP = re.compile(r"#e-s\[数字x\]|\[数字x\]|[\s,，。.!！?？~～、:：;；()（）/\\^_∩o]+")
_TEMPLATE_PHRASES = re.compile(r"我去|我来|(确认|核实|查)一下|(请问)?有什么(可以|能|需要)?(帮|为)?(到|助)?(您|你)?|还有其他.{0,6}帮.?您|还有(别的|其他)|"
                               r"需要帮助|帮您(查|核实|确认|看)一下|帮您(查询|核实)|理解和支持|您的理解|购物愉快|应该的|"
                               r"我是|客服|请问|请稍等|稍等|您好|你好|不客气|客气了|客气啦|再见|感谢您|谢谢|祝您|很高兴|"
                               r"荣幸|为您服务|请问还有|马上为您|为您查询|正在为您|耐心等待|见谅|抱歉|在的|亲爱的|亲亲|亲|"
                               r"小妹|妹子|生活愉快|工作顺利|愉快|哦|呢|哈|呀|啦|吧|哒|的|一下|好的|嗯嗯|嗯|恩")
_TEMPLATE_REST = 4  # characters left after the courtesy and waiting phrases: a reply with fewer says nothing


def template_key(reply: str) -> str:
    """The reply normalised, with emoji codes, number placeholders, punctuation and spaces removed."""
    return _TEMPLATE_STRIP.sub("", normalize(reply))


def _codes(text: str) -> np.ndarray:
    """UTF-32 code points of ``text``, folded like ``scoring.text.normalize`` (full-width → ASCII, lower case)."""
    a = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).copy()
    a[(a >= 0xFF01) & (a <= 0xFF5E) & ~np.isin(a, _KEEP_FULLWIDTH)] -= 0xFEE0
    a[a == 0x3000] = 32
    a[(a >= 65) & (a <= 90)] += 32
    return a


def _char_sets(texts: Sequence[str]) -> sp.csr_matrix:
    """Messages × code points (mod 2^16), 1 where the message has that Chinese character, digit or letter."""
    a = _codes(_joined(texts, "\x00")).astype(np.int64)
    ends = a == 0
    row = np.cumsum(ends) - ends
    ok = ((a >= 0x4E00) & (a <= 0x9FFF)) | ((a >= 48) & (a <= 57)) | ((a >= 97) & (a <= 122))
    x = sp.csr_matrix((np.ones(int(ok.sum()), np.float32), (row[ok], a[ok] % 65536)), shape=(len(texts), 65536))
    x.sum_duplicates()
    x.data[:] = 1
    return x


def _joined(items: Sequence[str], sep: str) -> str:
    """``items`` joined by ``sep`` and ended by it, with ``sep`` removed from inside the items."""
    text = sep.join(items) + sep
    if text.count(sep) != len(items):
        text = sep.join(t.replace(sep, " ") for t in items) + sep
    return text


def _bigram_buckets(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(row, bucket in [0, NB)) of every character bigram of each text; bigrams touching a space are dropped."""
    a = _codes(_joined(texts, "\x00"))
    ends = a == 0
    row = np.cumsum(ends) - ends
    left, right = a[:-1], a[1:]
    ok = (left > 32) & (right > 32)
    h = (left[ok].astype(np.uint64) * np.uint64(_P)) ^ right[ok].astype(np.uint64)
    return row[:-1][ok].astype(np.int64), ((h * _GOLDEN) >> _SHIFT).astype(np.int64)


def _word_buckets(tokens: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(row, bucket in [NB, 2 NB)) of every token: a polynomial hash of its folded code points, via cumsums."""
    lens = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    flat = list(itertools.chain.from_iterable(tokens))
    if not flat:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = _codes(_joined(flat, "\x01")).astype(np.uint64)
    powers = np.full(len(a), _P, dtype=np.uint64)
    powers[0] = 1
    powers = np.cumprod(powers)  # P^i mod 2^64
    prefix = np.cumsum(a * powers)
    ends = np.flatnonzero(a == 1)
    starts = np.concatenate([[0], ends[:-1] + 1])
    total = prefix[ends - 1] - np.where(starts > 0, prefix[np.maximum(starts - 1, 0)], np.uint64(0))
    inverse = np.full(len(a), _P_INV, dtype=np.uint64)
    inverse[0] = 1
    inverse = np.cumprod(inverse)  # P^-i mod 2^64: shifts each token's sum back to position 0
    h = ((total * inverse[starts]) ^ (ends - starts).astype(np.uint64)) * _GOLDEN >> _SHIFT
    ok = (a[starts] > 32) & (ends > starts)
    row = np.repeat(np.arange(len(tokens)), lens)
    return row[ok], h[ok].astype(np.int64) + _NB


def _buckets(tokens: Sequence[Sequence[str]], texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    word_rows, word_keys = _word_buckets(tokens)
    bigram_rows, bigram_keys = _bigram_buckets(texts)
    return np.concatenate([word_rows, bigram_rows]), np.concatenate([word_keys, bigram_keys])


@dataclass(eq=False)
class MessageVectorizer:
    """Hashed words and character bigrams of a message, (1 + log tf)·idf, rows L2-normalised.

    Parameters
    ----------
    buckets : ndarray of int32
        The kept hash buckets (bigrams below 2^18, words above), in column order.
    idf : ndarray of float32
        IDF of each column.
    """

    buckets: np.ndarray
    idf: np.ndarray
    _column: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._column = np.full(2 * _NB, -1, np.int32)
        self._column[self.buckets] = np.arange(len(self.buckets), dtype=np.int32)

    @classmethod
    def fit(cls, tokens: Sequence[Sequence[str]], texts: Sequence[str], min_df: int) -> MessageVectorizer:
        """Keep the buckets found in at least ``min_df`` of the messages (give each distinct message once)."""
        rows, keys = _buckets(tokens, texts)
        df = np.bincount(np.unique(rows * (2 * _NB) + keys) % (2 * _NB), minlength=2 * _NB)
        kept = np.flatnonzero(df >= min_df)
        idf = np.log((1 + len(texts)) / (1 + df[kept])) + 1
        return cls(kept.astype(np.int32), idf.astype(np.float32))

    @property
    def dim(self) -> int:
        """Number of columns."""
        return len(self.buckets)

    def transform(self, tokens: Sequence[Sequence[str]], texts: Sequence[str]) -> sp.csr_matrix:
        """One row per message from its tokens and raw text."""
        rows, keys = _buckets(tokens, texts)
        cols = self._column[keys]
        kept = cols >= 0
        x = sp.csr_matrix((np.ones(int(kept.sum()), np.float32), (rows[kept], cols[kept])),
                          shape=(len(texts), self.dim))
        x.sum_duplicates()
        x.data = (1.0 + np.log(x.data)) * self.idf[x.indices]
        counts = np.diff(x.indptr)
        norms = np.ones(len(texts), np.float32)
        if x.nnz:
            norms[counts > 0] = np.sqrt(np.add.reduceat(x.data ** 2, x.indptr[:-1][counts > 0]))
        x.data /= np.repeat(norms, counts)
        return x


def membership(contexts: Sequence[Sequence[int]], n_messages: int) -> sp.csr_matrix:
    """Pairs × messages, 1 where the message is in the pair's context (in the given order)."""
    lens = np.fromiter(map(len, contexts), dtype=np.int64, count=len(contexts))
    cols = np.fromiter(itertools.chain.from_iterable(contexts), dtype=np.int64, count=int(lens.sum()))
    indptr = np.concatenate([[0], np.cumsum(lens)])
    return sp.csr_matrix((np.ones(len(cols), np.float32), cols, indptr), shape=(len(contexts), n_messages))


def index_texts(contexts: Sequence[Sequence[str]], replies: Sequence[str]
                ) -> tuple[list[str], list[list[int]], np.ndarray]:
    """Distinct texts, each context as text ids (empty texts dropped) and each reply's text id."""
    ids: dict[str, int] = {}
    ctx_ids = [[ids.setdefault(t, len(ids)) for t in c if t] for c in contexts]
    reply_ids = np.array([ids.setdefault(r, len(ids)) for r in replies], dtype=np.int64)
    return list(ids), ctx_ids, reply_ids


@dataclass(eq=False)
class RelevanceModel:
    """P(an agent reply answers the context it follows), from message vectors, two bilinear models and a combiner.

    Parameters
    ----------
    vectorizer : MessageVectorizer
        Hashed words and character bigrams of one message.
    U, V : ndarray of shape (n_features, 64)
        General bilinear model: context and reply projections (float16 precision, held as float32).
    P, Q : ndarray of shape (n_features, 32)
        STC-3 (Weibo helpdesk) bilinear model.
    coef : ndarray of shape (2 * len(FEATURES) + 1,)
        Combiner weights over ``FEATURES``, the same times the "@" indicator, and the indicator.
    intercept : float
        Combiner intercept.
    template_keys : frozenset of str
        ``template_key`` of replies frequent in training (3+ times): template replies besides the phrase rule.
    near_contexts, near_replies : ndarray of shape (n_prototypes, 64)
        Prototype training pairs (k-means centres of STC-3 training pairs): unit context embeddings ``c U`` and
        unit reply embeddings ``r V`` (float16 precision); empty for a model saved before they existed.
    near_temperature : float
        Softmax temperature over the cosines to the prototypes.

    Notes
    -----
    ``apply`` reads, for each agent message, the last ``CONTEXT_MESSAGES`` customer messages with words that it
    answers (``MessageBatch.contexts``) plus the agent message before those (the previous answer, when it has
    words), as the training contexts did. A reply whose customer messages have no words (only pictures or
    stickers) is not scored.
    """

    vectorizer: MessageVectorizer
    U: np.ndarray
    V: np.ndarray
    P: np.ndarray
    Q: np.ndarray
    coef: np.ndarray
    intercept: float
    template_keys: frozenset[str]
    near_contexts: np.ndarray
    near_replies: np.ndarray
    near_temperature: float

    field = "relevance"

    def is_template(self, reply: str) -> bool:
        """True for a template reply: very short, frequent in training, or courtesy and waiting phrases with next
        to nothing else ("亲，请您稍等哦", not "您好，电子发票在订单详情里申请")."""
        key = template_key(reply)
        return len(key) <= 2 or key in self.template_keys or len(_TEMPLATE_PHRASES.sub("", key)) < _TEMPLATE_REST

    def features(self, tokens: Sequence[Sequence[str]], texts: Sequence[str], contexts: Sequence[Sequence[int]],
                 replies: np.ndarray) -> np.ndarray:
        """Combiner inputs of each (context message ids, reply message id) pair over the given messages."""
        x = self.vectorizer.transform(tokens, texts)
        xu, xv = np.asarray(x @ self.U), np.asarray(x @ self.V)
        xp, xq = np.asarray(x @ self.P), np.asarray(x @ self.Q)
        m = membership(contexts, len(texts))
        has = np.diff(m.indptr) > 0
        c = m @ x
        norm = np.sqrt(np.asarray(c.multiply(c).sum(axis=1)).ravel())
        norm[norm == 0] = 1
        cos = np.asarray(c.multiply(x[replies]).sum(axis=1)).ravel() / norm
        rv, rq = xv[replies], xq[replies]
        cu = (m @ xu) / norm[:, None]
        s_gen = (cu * rv).sum(axis=1)
        s_stc = ((m @ xp) * rq).sum(axis=1) / norm
        last = np.array([ctx[-1] if ctx else 0 for ctx in contexts], dtype=np.int64)
        s_last = np.where(has, (xu[last] * rv).sum(axis=1), 0.0)
        vn = unit_rows(xv)
        near = self.neighbour_scores(unit_rows(cu).astype(np.float32), vn[replies])  # float32: half the cost
        pair_of = np.repeat(np.arange(len(contexts)), np.diff(m.indptr))
        sims = (vn[m.indices] * vn[replies][pair_of]).sum(axis=1)
        vmax = np.zeros(len(contexts))
        if has.any():
            vmax[has] = np.maximum.reduceat(sims, m.indptr[:-1][has])
        at = np.fromiter(("@" in t for t in texts), dtype=np.float32, count=len(texts))
        w = (np.asarray(m @ at).ravel() > 0).astype(np.float32)
        chars = _char_sets(texts)
        in_context = m @ chars
        in_context.data[:] = 1
        in_reply = chars[replies]
        shared = np.asarray(in_context.multiply(in_reply).sum(axis=1)).ravel()
        n_reply = np.asarray(in_reply.sum(axis=1)).ravel()
        n_context = np.asarray(in_context.sum(axis=1)).ravel()
        shared_last = np.asarray(chars[last].multiply(in_reply).sum(axis=1)).ravel() * has
        lengths = np.fromiter(map(len, texts), dtype=np.float64, count=len(texts))
        single = np.column_stack([s_gen, s_stc, s_last, cos, vmax, shared / np.maximum(n_reply, 1),
                                  shared / np.maximum(n_context, 1),
                                  shared / np.maximum(n_reply + n_context - shared, 1),
                                  shared_last / np.maximum(n_reply, 1), np.log1p(lengths[replies]),
                                  np.log1p(np.asarray(m @ lengths).ravel()), np.diff(m.indptr), near])
        base = np.column_stack([single, single[:, _PRODUCT_COLUMNS[:, 0]] * single[:, _PRODUCT_COLUMNS[:, 1]]])
        return np.column_stack([base, w[:, None] * base, w]).astype(np.float32)

    def neighbour_scores(self, contexts: np.ndarray, replies: np.ndarray) -> np.ndarray:
        """``s_near`` and ``s_back`` of each pair from its unit context (``U`` space) and reply (``V``) embeddings.

        ``s_near``: how close the reply is to the replies of the training pairs whose contexts are like this
        one; ``s_back``: how close the context is to the contexts of the training pairs whose replies are like
        this one. Both are soft nearest-neighbour averages over the prototypes, so they carry what the bilinear
        score cannot: a helpdesk answers similar requests with similar (often its own canned) replies. The cost is
        two products with a (64 × prototypes) matrix per pair, in chunks to bound memory."""
        out = np.zeros((len(contexts), _NEIGHBOUR_FEATURES), np.float32)
        if not len(self.near_contexts):
            return out
        for s in range(0, len(contexts), _CHUNK):
            c, r = contexts[s:s + _CHUNK], replies[s:s + _CHUNK]
            out[s:s + _CHUNK, 0] = self._soft_average(c, self.near_contexts, self.near_replies, r)
            out[s:s + _CHUNK, 1] = self._soft_average(r, self.near_replies, self.near_contexts, c)
        return out

    def _soft_average(self, query: np.ndarray, keys: np.ndarray, values: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Per row: the softmax(cosine to ``keys`` / temperature)-weighted mean of ``values``, dotted with
        ``target``; in place on one (rows × prototypes) array, normalised after the product."""
        z = query @ keys.T
        z -= z.max(axis=1, keepdims=True)
        z *= 1 / self.near_temperature
        np.exp(z, out=z)
        return np.einsum("ij,ij->i", z @ values, target) / z.sum(axis=1)

    def score_messages(self, tokens: Sequence[Sequence[str]], texts: Sequence[str],
                       contexts: Sequence[Sequence[int]], replies: np.ndarray) -> np.ndarray:
        """P(relevant) of each (context message ids, reply message id) pair; each message is vectorised once."""
        if not len(replies):
            return np.zeros(0)
        return sigmoid(self.features(tokens, texts, contexts, replies) @ self.coef + self.intercept)

    def pair_features(self, contexts: Sequence[Sequence[str]], replies: Sequence[str]) -> np.ndarray:
        """Combiner inputs of (context texts, reply text) pairs; each distinct text is tokenised once."""
        texts, ctx_ids, reply_ids = index_texts(contexts, replies)
        return self.features(get_tokenizer().tokenize_many(texts), texts, ctx_ids, reply_ids)

    def predict(self, contexts: list[list[str]], replies: list[str]) -> np.ndarray:
        """P(relevant) of each reply text after its context texts (oldest first); templates are not set apart."""
        if not replies:
            return np.zeros(0)
        return sigmoid(self.pair_features(contexts, replies) @ self.coef + self.intercept)

    def apply(self, batch: MessageBatch, signals: Signals) -> None:
        """Relevance of every non-template agent reply with words to the customer messages it answers (and the
        previous agent message), with up to three words the reply shares with the customer; templates get NaN."""
        column = signals.column(self.field)
        words = signals.words[self.field]
        roles, texts, tokens = batch.roles, batch.texts, batch.tokens
        is_template: dict[str, bool] = {}
        prev_agent = _previous_agent(batch).tolist()
        pairs: list[int] = []
        customer: list[list[int]] = []
        contexts: list[list[int]] = []
        for i, ctx in batch.contexts.items():
            if roles[i] != "agent" or not tokens[i]:
                continue
            template = is_template.get(texts[i])
            if template is None:
                template = is_template[texts[i]] = self.is_template(texts[i])
            if template:
                words[i] = [TEMPLATE_REASON]
                continue
            said = [j for j in ctx if tokens[j]][-CONTEXT_MESSAGES:]
            if said:
                before = prev_agent[said[0]]
                pairs.append(i)
                customer.append(said)
                contexts.append([before, *said] if before >= 0 else said)
        if not pairs:
            return
        read = np.zeros(len(roles), bool)  # messages not read are vectorised as empty (no cost, no remapping)
        read[pairs] = True
        read[np.fromiter(itertools.chain.from_iterable(contexts), np.int64)] = True
        keep = read.tolist()
        column[pairs] = self.score_messages([t if k else [] for t, k in zip(tokens, keep)],
                                            [t if k else "" for t, k in zip(texts, keep)], contexts, np.array(pairs))
        stop = load_stopwords()
        for i, said in zip(pairs, customer):
            heard = set(tokens[said[0]]) if len(said) == 1 else set(itertools.chain.from_iterable(
                tokens[j] for j in said))
            words[i] = _first_shared(tokens[i], heard, stop)

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """For ``save_artifact``: settings in JSON, buckets, IDF and coefficients as arrays, projections float16."""
        meta = {"kind": STATE_KIND, "intercept": self.intercept, "features": list(FEATURES),
                "context_messages": CONTEXT_MESSAGES, "template_keys": sorted(self.template_keys),
                "near_temperature": self.near_temperature}
        arrays = {"buckets": self.vectorizer.buckets.astype(np.int32), "idf": self.vectorizer.idf.astype(np.float32),
                  "coef": self.coef.astype(np.float32),
                  **{name: getattr(self, name).astype(np.float16)
                     for name in ("U", "V", "P", "Q", "near_contexts", "near_replies")}}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> RelevanceModel:
        """From ``load_artifact``; refuses the retired LSA format. A model saved before the neighbour features or
        the products (an archive-adapted one trained earlier) loads with zero weights on the features it lacks
        (and, before the neighbour features, no prototypes), so it scores as it did."""
        kind = meta.get("kind")
        if kind != STATE_KIND and kind not in _OLD_KINDS:
            raise ScoringError("相关度模型文件是旧格式（LSA），请重新运行 `huifang train`。")
        vectorizer = MessageVectorizer(arrays["buckets"].astype(np.int32), arrays["idf"].astype(np.float32))
        U, V, P, Q = (arrays[name].astype(np.float32) for name in "UVPQ")
        coef = _coef_over_features(arrays["coef"].astype(np.float32), _OLD_KINDS.get(kind, FEATURES))
        if kind == "bilinear-relevance-3":
            none = np.zeros((0, U.shape[1]), np.float32)
            return cls(vectorizer, U, V, P, Q, coef, float(meta["intercept"]), frozenset(meta["template_keys"]),
                       none, none, 1.0)
        return cls(vectorizer, U, V, P, Q, coef, float(meta["intercept"]), frozenset(meta["template_keys"]),
                   arrays["near_contexts"].astype(np.float32), arrays["near_replies"].astype(np.float32),
                   float(meta["near_temperature"]))


def _coef_over_features(coef: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Combiner weights laid out over ``FEATURES`` from weights over ``names`` (the same layout: the features,
    the same times the "@" indicator, the indicator); features not in ``names`` get zero weight."""
    n, at = len(FEATURES), [FEATURES.index(name) for name in names]
    out = np.zeros(2 * n + 1, np.float32)
    out[at], out[[n + i for i in at]], out[-1] = coef[:len(names)], coef[len(names):2 * len(names)], coef[-1]
    return out


def unit_rows(a: np.ndarray) -> np.ndarray:
    """Rows of ``a`` scaled to length 1 (zero rows stay zero)."""
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-6)


def _previous_agent(batch: MessageBatch) -> np.ndarray:
    """For each message, the index of the last agent message with words before it in its conversation, or -1."""
    n = len(batch.roles)
    if not n:
        return np.zeros(0, np.int64)
    is_agent = np.fromiter((r == "agent" and bool(t) for r, t in zip(batch.roles, batch.tokens)), bool, n)
    last = np.maximum.accumulate(np.where(is_agent, np.arange(n), -1))
    before = np.concatenate([[-1], last[:-1]])
    conv_start = np.repeat(np.asarray(batch.starts[:-1]), np.diff(batch.starts))
    return np.where(before >= conv_start, before, -1)


def _first_shared(reply: Iterable[str], heard: set[str], stop: frozenset[str]) -> list[str]:
    """Up to ``SHARED_WORDS`` content words of the reply that the customer used, in reply order."""
    out: list[str] = []
    for w in reply:
        if w in heard and w not in out and is_content_token(w, stop):
            out.append(w)
            if len(out) == SHARED_WORDS:
                break
    return out
