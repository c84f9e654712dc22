"""Model cards: one Markdown page per artifact saying what it was trained on, how it was split and how it scored."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["CARD_TEXT", "write_card"]

CARD_TEXT = {
    "sentiment": (
        "Customer sentiment (P(negative)) per customer message",
        "Trained on ../shared/data/reviews: online_shopping_10_cats.csv (U+FEFF stripped; duplicated texts kept "
        "once, texts with conflicting labels dropped) + waimai_10k.csv (same cleaning). Features: word unigrams "
        "and bigrams from rjieba tokens with the user dictionary (top 60,000 by document frequency), sublinear "
        "TF-IDF; L2 logistic regression C=4.",
        "Leave-one-category-out over the 10 shopping categories (trained on the other 9 only; waimai not used), "
        "and waimai as an out-of-domain short-text test (trained on all 10 shopping categories). The shipped "
        "model is refitted on all rows of both corpora. Threshold 0.5 for macro-F1; ECE over 10 equal bins.",
    ),
    "relevance": (
        "Relevance of an agent reply to the customer's preceding message(s) (0..1)",
        "Trained on ../shared/data/stc3 (labelled + unlabelled dialogues): each true helpdesk reply paired with "
        "the customer turns it answers (positive) vs. 2 replies drawn from other dialogues (negative). Features: "
        "content-word TF-IDF → 96-d LSA, a ridge map customer→reply in LSA space, element-wise products, cosine, "
        "word overlap, lengths; logistic regression.",
        "5-fold cross-validation split by dialogue id (stratified by the dissatisfaction label); in each fold the "
        "model is refitted on the training dialogues, and scored on held-out dialogues against 1 negative per "
        "true reply drawn from other held-out dialogues.",
    ),
    "tone": (
        "Tone risk of an agent reply (0..1, higher = curt/perfunctory/blaming/rude)",
        "Logistic regression fitted on the real tone labels data/labels/stc3_tone_labels.csv (STC-3 helpdesk "
        "replies; bad = curt/perfunctory/blaming/rude; see data/labels/tone_guideline.md), over lexicon features "
        "(data/lexicon/forbidden_phrases.csv severities, courtesy_phrases.csv), length, reply sentiment (from the "
        "review-trained sentiment model), relevance to the customer's text, the customer's negativity and the "
        "out-of-fold log-odds of a word n-gram model of the reply. A severity-2/3 forbidden phrase floors the "
        "risk at 0.6/0.9.",
        "Same dialogue-grouped 5 folds as relevance/dissatisfaction: all models refitted per fold, labelled replies "
        "of held-out dialogues scored through Scorer.score. 'lexicon_only' is the rule baseline "
        "(scoring.tone.lexicon_risk) on the same replies. Labels oversample suspicious replies (see the "
        "guideline), so the positive rate is higher than in real traffic.",
    ),
    "dissatisfaction": (
        "Dissatisfaction risk of a conversation: P(customer ends dissatisfied)",
        "Trained on ../shared/data/stc3/dialogues_labeled.json; target = at least half of the 19 annotators gave "
        "S < 0. Features: out-of-fold log-odds of a word n-gram model (customer uni+bigrams, agent unigrams), "
        "sentiment trajectory (start, worst, end, mean, rise), tone max/mean, relevance mean/min/last, message "
        "counts, who spoke last. Responsiveness is NOT learned (STC-3 has no timestamps): it enters as a "
        "documented log-odds prior (+0.8 × share of replies over SLA, +0.5 when customer messages are left "
        "unanswered and timestamps exist), replaceable by weights fitted on imported CSAT "
        "(scoring.dissatisfaction.fit_responsiveness_stage).",
        "5-fold cross-validation split by dialogue id (stratified by the target); relevance and tone are refitted "
        "inside each fold so no held-out dialogue influences any model that scores it.",
    ),
    "category": (
        "Conversation category",
        "Multinomial logistic regression over word uni+bigrams of the conversation text, trained on the labelled "
        "conversations passed to train_all (from the database). Keyword rules (data/lexicon/category_rules.csv) "
        "are the fallback when no model exists.",
        "5-fold stratified cross-validation on those examples.",
    ),
    "csat_stage": (
        "Responsiveness stage of the dissatisfaction risk, fitted on the archive's own CSAT",
        "Conversations of the database with a CSAT and timestamps; dissatisfied = CSAT ≤ 2. Inputs: the STC-3 "
        "model's log-odds, the share of replies over the platform SLA, and whether customer messages were left "
        "unanswered. Replaces the documented prior weights (scoring/dissatisfaction.py RESPONSIVENESS_PRIOR).",
        "Seeded stratified 70/30 split: weights fitted on 70%, both the prior and the fitted stage measured on the "
        "held-out 30%; the shipped weights are refitted on all rated conversations.",
    ),
}


LOCAL_CARDS = ("category", "csat_stage")  # learned from the archive, so measured on it, not on ../shared
REPRODUCE_LOCAL = ("`huifang train --from-db` refits and re-measures it on the database's labelled conversations "
                   "(same seeded split); the figures change as the archive grows.")


def write_card(models_dir: Path, name: str, metrics: dict, trained: str) -> None:
    """Write ``name.md`` with purpose, data, split and the metrics as JSON."""
    title, data, split = CARD_TEXT[name]
    reproduce = (REPRODUCE_LOCAL if name in LOCAL_CARDS else
                 "`huifang evaluate` (scoring.evaluate.evaluate_all) recomputes these figures with the same seeded "
                 "splits.")
    text = (
        f"# Model card: {name}\n\n{title}.\n\n- Trained: {trained}\n- Artifact: `{name}.json` + `{name}.npz` "
        f"(no pickle; loaded with `np.load(allow_pickle=False)`)\n- Reproduce: {reproduce}\n\n"
        f"## Data\n\n{data}\n\n## Split\n\n{split}\n\n## Metrics (held-out only)\n\n```json\n"
        f"{json.dumps(metrics, ensure_ascii=False, indent=2)}\n```\n"
    )
    (models_dir / f"{name}.md").write_text(text, encoding="utf-8")
