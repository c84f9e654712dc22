"""Model cards: one Markdown page per artifact saying what it was trained on, how it was split and how it scored."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["CARD_TEXT", "write_card"]

CARD_TEXT = {
    "sentiment": (
        "Customer sentiment: P(a customer chat line is negative — upset, complaining)",
        "L2 logistic regression (C=4) over hashed TF-IDF of character 1–3-grams and word 1–2-grams (2^19 columns "
        "each). Trained on ../shared/data: online_shopping_10_cats (10 categories) and waimai_10k reviews "
        "(U+FEFF stripped, duplicates once, conflicting labels dropped), chat_sentiment_auto_30k (automatic, noisy "
        "labels), 500 real JD customer lines of the training blocks that two labellers agreed on "
        "(data/labels/jd_sentiment_train_labels.csv, weighted 10×) and ~6,000 plain questions and greetings from "
        "the JD training blocks as not-negative "
        "(scoring.sentiment.is_plain_question: short, question-shaped, no complaint cue). Log-odds shifted from the "
        "training share of negatives to a 25% prior; a plain question is held at 0.15. Explanations: the words "
        "weighing most towards negative, never stop words or nouns (jieba POS at training time) other than the "
        "300 most negative words.",
        "Leave-one-domain-out: each of the 10 shopping categories, 外卖 and 聊天 held out in turn, the model "
        "refitted on all the others (loco_per_domain; the review-domain mean leaves 聊天 out). chat_held_out: the "
        "chat utterances whose text hash is 0 mod 5, trained on everything else. jd_labelled_customer_lines: the "
        "shipped model on 500 real JD chat lines from held-out blocks, labelled twice and adjudicated "
        "(data/labels/jd_sentiment_labels.csv), scored on the lines taken for the customer's — AUC, the share it "
        "flags against the share people flagged, and the labellers' κ. chat_people_labelled: the chat_held_out "
        "model on 400 held-out chat utterances labelled twice by people (data/labels/chat_utterance_labels.csv; "
        "the corpus's own labels are automatic): negative against the rest and against positive, the labellers' "
        "κ, and how often the automatic label agrees with people's. Known weakness: book and water-heater "
        "reviews (judging content, few rows) stay below the other domains, and chat as an unseen domain is the "
        "hardest.",
    ),
    "relevance": (
        "Relevance of an agent reply to the customer's preceding messages (0..1; template replies are n/a)",
        "Low-rank bilinear scorers over hashed word and character-bigram vectors of each message (scoring/"
        "relevance.py, trained by scoring/relevance_fit.py): a general one trained on real JD context→reply pairs "
        "of the training blocks plus next-turn pairs mined from their contexts and STC-3 training dialogues, and an "
        "STC-only one; a logistic regression (C=10) combines them with the TF-IDF cosine, the character overlap of "
        "reply and context (share of the reply's, of the context's, Jaccard, against the last message), their "
        "lengths, the number of context messages and two nearest-neighbour features over 512 prototype STC-3 "
        "training pairs (k-means centres of their context and reply embeddings): how close the reply is to the "
        "replies that followed similar contexts, and how close the context is to the contexts that preceded "
        "similar replies; and eight products of the bilinear, cosine and neighbour scores (general × near, STC × "
        "near, general × back, near × back, general × STC, STC × back, last message × near, cosine × near), because "
        "agreeing evidence counts for more than the sum of its parts. The combiner is fitted on calibration slices "
        "never seen by the scorers (`huifang train --only relevance`). Template replies (greetings, 请稍等, 还有其他可以帮您…, very frequent replies) are "
        "neither relevant nor irrelevant and get no score.",
        "Fixed held-out sets: JD blocks with (line // 100) % 5 == 0 and STC-3 dialogues whose id hash is 0 mod 5, "
        "never used in training. Each true next reply against a reply from another conversation (random) or from "
        "the nearest other context by TF-IDF (hard). jd_at_flag_line and stc_at_flag_line: at the 答非所问 flag "
        "line (relevance below RELEVANCE_LOW, 0.1, set where about 2.4% of the calibration slices' real replies "
        "fall), the share of non-template true replies flagged and of replies from another conversation caught. "
        "Known weakness: hard negatives (a reply about the same topic) "
        "are separated far less well than random ones (JD 0.73, STC-3 0.70), and JD (0.86) has a thin margin over "
        "the issue's 0.85.",
    ),
    "tone": (
        "Tone risk of an agent reply (0..1; 0.5 is the flag line): curt, perfunctory, blaming, rude, sarcastic or "
        "shifting responsibility",
        "L2 logistic regression (C=4, bad replies weighted 3×) over hashed TF-IDF n-grams: the reply's character "
        "1–3-grams and word 1–2-grams, the character 1–2-grams of the customer's last two messages (weight 0.5), "
        "and four 禁用语 lexicon features. Trained on 1,520 real replies labelled twice independently and "
        "adjudicated (data/labels/jd_tone_labels.csv: 1,000 JD replies, a uniform and an oversampled-suspicious "
        "stratum; stc3_tone_labels.csv: 520 STC-3 replies; guideline tone_guideline.md) plus 600 bad/good reply "
        "pairs written into real JD contexts of the training blocks (tone_synthetic_train.csv). The shipped model "
        "leaves out the 73 real replies of the 8 JD blocks the probe set was written into (they count only in the "
        "cross-validation folds). The intercept is shifted so that 1.5% of real fine replies, out of fold, reach "
        "0.5.",
        "Grouped 5-fold cross-validation (a JD block of 100 lines or an STC-3 dialogue stays in one fold, written "
        "pairs with their JD block): real_out_of_fold. The probe set (tone_probe.csv: 300 bad replies written into "
        "held-out JD blocks, six kinds, half subtle, each with a good reply for the same context, written "
        "independently of the training pairs) is scored once by the shipped model. 'labellers' gives Cohen's κ "
        "between the two labellings. Known weakness: on real replies most bad ones are mild (curt/perfunctory) "
        "and the model catches few of them at the flag line (caught_bad); dismissive replies are the hardest "
        "written kind.",
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
        "5-fold cross-validation over the labelled dialogues, split by dialogue id and stratified by the target, "
        "the model refitted per fold. The message models it reads stay fixed: none learned the S labels, but the "
        "relevance model saw the text of the STC-3 training dialogues (80%, as true replies), so those folds' "
        "relevance inputs are slightly cleaner than on new data.",
    ),
    "category": (
        "Conversation category",
        "Multinomial logistic regression over word uni+bigrams of the conversation text, trained on the labelled "
        "conversations passed to train_all (from the database). Keyword rules (data/lexicon/category_rules.csv) "
        "are the fallback when no model exists.",
        "5-fold stratified cross-validation on those examples.",
    ),
    "relevance_local": (
        "Relevance learned from this shop's own conversations (used instead of the shipped model when it wins)",
        "The archive's latest 20,000 conversations (`huifang train --from-db`): each agent reply after customer "
        "messages with what it answers, against replies of other conversations; no labels needed. Same model and "
        "recipe as the shipped relevance model, both scorers trained on the archive's pairs.",
        "Conversations split by a hash of their id: 20% held out, 10% for the combiner, the rest trains. The "
        "shipped and the adapted model are measured on the same held-out pairs (each true reply and one reply of "
        "another conversation); the adapted model is used only when its ROC-AUC is higher by 0.005 ('in_use', "
        "'reason'). The shipped model's own card stays the figure on real marketplace data it never saw. "
        "Reviewers' relevance labels (答非所问: the flag belongs; 优秀话术: it does not) then refine the model in use: "
        "its combiner is refitted on the shipped calibration pairs plus 70% of the labels (split by conversation, "
        "each counted three times) and kept only when its ROC-AUC on the held-out 30% is higher by 0.005 and it is "
        "no more than 0.005 lower on the held-out JD pairs ('reviewers_held_out', 'shared_held_out', 'base'; "
        "'archive' keeps the adaptation's figures when the refinement lost).",
    ),
    "tone_local": (
        "Tone risk retrained with this shop's reviewer labels (used instead of the shipped model when it wins)",
        "The shipped tone training data plus reviewers' labels from the database (qa.review.labels: tags "
        "语气生硬/禁用语/推诿 = bad, 优秀话术 = fine, 态度礼貌 ≥ 4 against untagged flags = fine, 确认/误报 "
        "presses), each counted three times, with the customer's last two lines as context. Same model and "
        "recipe as the shipped tone model.",
        "Reviewer labels split by a hash of their conversation id: 30% held out, never trained on. Both models "
        "are measured on those held-out labels and on the shared probe set; the retrained model is used only "
        "when it is higher by 0.005 on the reviewers' labels and not lower by more than 0.005 on the probe "
        "('in_use', 'reason').",
    ),
    "sentiment_local": (
        "Customer sentiment retrained with this shop's reviewer labels (used instead of the shipped model when it "
        "wins)",
        "The shipped sentiment corpus plus reviewers' 确认/误报 presses on customer lines from the database, "
        "weighted like the labelled JD lines. Same model and recipe as the shipped sentiment model.",
        "Reviewer labels split by a hash of their conversation id: 30% held out, never trained on. Both models "
        "are measured on those held-out labels and on the 500 twice-labelled JD customer lines of held-out "
        "blocks; the retrained model is used only when it is higher by 0.005 on the reviewers' labels and not "
        "lower by more than 0.005 on the JD lines ('in_use', 'reason').",
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


LOCAL_CARDS = ("category", "csat_stage", "relevance_local", "tone_local", "sentiment_local")  # learned from the archive, so measured on it, not on ../shared
REPRODUCE_LOCAL = ("`huifang train --from-db` refits and re-measures it on the database's labelled conversations "
                   "(same seeded split); the figures change as the archive grows.")


def write_card(models_dir: Path, name: str, metrics: dict, trained: str | None, evaluated: str | None = None
               ) -> None:
    """Write ``name.md`` with purpose, data, split and the metrics as JSON, saying which command measured them
    and when (``evaluated``: by ``huifang evaluate`` on the shipped artifact; else by training, on ``trained``)."""
    title, data, split = CARD_TEXT[name]
    if name in LOCAL_CARDS:
        reproduce = REPRODUCE_LOCAL
    elif evaluated:
        reproduce = (f"written by `huifang evaluate` (scoring.evaluate.evaluate_all) on {evaluated}, from "
                     "the shipped artifact and the fixed, seeded held-out splits; re-running it reproduces them.")
    else:
        reproduce = (f"figures measured by `huifang train` on {trained}; `huifang evaluate` "
                     "(scoring.evaluate.evaluate_all) recomputes them from the shipped artifact with the same seeded "
                     "splits.")
    text = (
        f"# Model card: {name}\n\n{title}.\n\n- Trained: {trained or 'not recorded'}\n- Artifact: `{name}.json` + "
        f"`{name}.npz` (no pickle; loaded with `np.load(allow_pickle=False)`)\n- Figures: {reproduce}\n\n"
        f"## Data\n\n{data}\n\n## Split\n\n{split}\n\n## Metrics (held-out only)\n\n```json\n"
        f"{json.dumps(metrics, ensure_ascii=False, indent=2)}\n```\n"
    )
    (models_dir / f"{name}.md").write_text(text, encoding="utf-8")
