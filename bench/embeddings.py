"""Do static word embeddings shipped inside a Python package understand employees better than
today's TF-IDF intent model, alone or combined with it?

Every model is trained on the team's examples (data/catalogue/examples/, all languages present)
and measured on:

(a) the team's held-out paraphrases, per language (data/eval/paraphrases/<language>.yml):
    accuracy and macro-F1, and the expected calibration error (15 equal-width bins of the
    top-class confidence) over all of them;
(b) the Rasa helpdesk-assistant utterances in
    ../shared/data/it-helpdesk-intent-utterances/ (evaluation only, never trained or tuned
    on), classifier alone: password_reset -> password_reset, problem_email -> email_issue, and
    the share of out_of_scope utterances predicted out_of_scope or below the engine's 0.6;
(c) cost: the median and 95th percentile of one single-message prediction (1,000 messages,
    one at a time, top intent and runners-up as the engine asks), training time, the size of
    what must be on disk at run time, and the time to load it.

Models: today's TF-IDF (word 1-2 + char_wb 2-5) logistic regression; a logistic regression on
mean-pooled static embeddings (WordLlama l2_supercat at 64/128/256 dimensions, the only weights
its wheel ships, and the multilingual 10k/64d model baked into tokenlearn-static-model); and two
combinations with TF-IDF: the L2-normalised embedding, times a weight, appended to the TF-IDF
features of one logistic regression ("tfidf + w*emb"), and the mean of the two models'
probabilities ("avg"). Everything tuned is tuned by 3-fold cross-validation on the training
examples only (never on the paraphrases or the Rasa utterances): the embedding models' C, and
the combination's weight (0.25, 0.5 or 1; at 1 the embedding counts like one more unit-norm
TF-IDF block), which keeps today's C=20. Seeds are fixed.

Needs the candidates in the venv (not project dependencies):
    .venv/bin/pip install wordllama tokenlearn-static-model
Run: .venv/bin/python -m bench.embeddings
"""

from __future__ import annotations

import math
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.stats import binomtest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tokenizers import Tokenizer

from bench.understanding import RASA, rasa_utterances
from catalogue.loading import merge_languages, read_by_language
from models.intents import IntentClassifier, train_intent_classifier
from models.paraphrases import held_out
from models.text import FastTfidf, normalise
from settings import PROJECT_ROOT

SEED = 7
THRESHOLD = 0.6  # the engine's lowest confidence it acts on (settings: intent threshold)
LATENCY_MESSAGES = 1_000
ECE_BINS = 15
C_GRID = (0.003, 0.01, 0.03, 0.1, 1.0)
STACK_WEIGHTS = (0.25, 0.5, 1.0)  # of the unit-norm embedding next to two unit-norm TF-IDF blocks
TIMING_PASSES = 3  # the machine is shared: keep the fastest pass
EXAMPLES = PROJECT_ROOT / "data" / "catalogue" / "examples"
LEGEND = f"""
* = no training examples in that language.
all acc, vs today, p, ECE, acted: over the paraphrases of all languages. vs today = utterances
  fixed/broken relative to today's model; p = exact McNemar test of those; acted = classified
  right with confidence >= {THRESHOLD}, which the engine acts on.
pw = Rasa password_reset -> password_reset; email = problem_email -> email_issue; oos =
  out_of_scope predicted out_of_scope or below {THRESHOLD} (classifier alone, not the engine).
µs = one prediction, one message at a time ({LATENCY_MESSAGES} messages, fastest of
  {TIMING_PASSES} passes). MB = on disk at run time (pickled classifier + embedding weights and
  tokenizer); load ms = unpickle + load the embeddings; train s includes choosing C or the
  weight by 3-fold CV ("tfidf + w*emb" reuses the fitted TF-IDF vocabularies)."""
RASA_EXPECTED = {"password_reset": "password_reset", "problem_email": "email_issue"}


@dataclass
class Embedder:
    """A static embedding: one unit-norm vector per text, plus what loading it cost."""

    name: str
    embed: Callable[[str], np.ndarray]
    disk_bytes: int
    load_seconds: float


@dataclass
class Model:
    """A trained classifier seen only through its single-message probabilities."""

    name: str
    labels: list[str]
    probs_one: Callable[[str], np.ndarray]
    train_seconds: float
    disk_bytes: int
    load_seconds: float


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax of one row of scores."""
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


def unit(vector: np.ndarray) -> np.ndarray:
    """The vector scaled to length 1 (a zero vector stays zero)."""
    norm = math.sqrt(float(vector @ vector))
    return vector / norm if norm else vector


def load_wordllama(dim: int) -> Embedder:
    """WordLlama l2_supercat from its wheel (downloads disabled), truncated to `dim`."""
    import wordllama
    from wordllama import WordLlama

    # 0.4.0.post1 looks for its bundled tokenizer in wordllama/tokenizer/ (it is in tokenizers/)
    # and would fetch it from the Hugging Face hub; its package folder has the cache layout.
    root = Path(wordllama.__file__).parent
    tokenizer_file = root / "tokenizers" / "l2_supercat_tokenizer_config.json"
    start = time.perf_counter()
    model = WordLlama.load(
        dim=256, trunc_dim=None if dim == 256 else dim, cache_dir=root, disable_download=True
    )
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    table = model.embedding
    seconds = time.perf_counter() - start

    def embed(text: str) -> np.ndarray:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        return unit(table[ids].sum(axis=0)) if ids else np.zeros(table.shape[1], np.float32)

    probe = ["Reset my password please", "mein Passwort ist abgelaufen"]
    assert np.allclose(np.vstack([embed(t) for t in probe]), model.embed(probe, norm=True), 1e-5)
    size = (root / "weights" / "l2_supercat_256.safetensors").stat().st_size
    return Embedder(f"wl{dim}", embed, size + tokenizer_file.stat().st_size, seconds)


def load_tokenlearn() -> Embedder:
    """The 10k/64d int8 multilingual static model baked into tokenlearn-static-model, computed
    here in numpy (the package's own call costs ~340 µs a message); checked against it."""
    import static_model
    from safetensors import safe_open

    root = Path(static_model.__file__).parent / "model"
    start = time.perf_counter()
    with safe_open(str(root / "model.safetensors"), framework="np") as handle:
        table = handle.get_tensor("embeddings").astype(np.float32)
        mapping = handle.get_tensor("mapping")
        weights = handle.get_tensor("weights")
    tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
    seconds = time.perf_counter() - start

    def embed(text: str) -> np.ndarray:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        return unit(weights[ids] @ table[mapping[ids]]) if ids else np.zeros(64, np.float32)

    probe = "¿Cómo restablezco mi contraseña?"
    assert np.allclose(embed(probe), static_model.get_embeddings(probe), atol=1e-5)
    size = sum(p.stat().st_size for p in root.iterdir())
    return Embedder("tl64", embed, size, seconds)


def embed_all(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed texts one by one, through the same path as a single message."""
    return np.vstack([embedder.embed(t) for t in texts])


def pickled(obj: object) -> tuple[int, float]:
    """Size of an object's pickle and the seconds to load it back."""
    data = pickle.dumps(obj)
    start = time.perf_counter()
    pickle.loads(data)
    return len(data), time.perf_counter() - start


def train_tfidf(examples: dict[str, list[str]]) -> tuple[IntentClassifier, Model]:
    """Today's classifier, trained as the engine trains it."""
    start = time.perf_counter()
    classifier = train_intent_classifier(examples)
    seconds = time.perf_counter() - start
    size, load = pickled(classifier)
    model = Model(
        "tfidf (today)", classifier.labels, classifier.probabilities_one, seconds, size, load
    )
    return classifier, model


def choose_c(features: np.ndarray, labels: list[str]) -> float:
    """The C of a standardised logistic regression with the best 3-fold accuracy."""
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=SEED)
    scores = {}
    for c in C_GRID:
        pipe = make_pipeline(
            StandardScaler(), LogisticRegression(C=c, max_iter=3000, random_state=SEED)
        )
        scores[c] = cross_val_score(pipe, features, labels, cv=folds).mean()
    return max(scores, key=scores.__getitem__)


def train_embedding(embedder: Embedder, texts: list[str], labels: list[str]) -> Model:
    """Logistic regression on standardised embeddings; the scaler is folded into the weights."""
    start = time.perf_counter()
    features = embed_all(embedder, texts)
    c = choose_c(features, labels)
    scaler = StandardScaler().fit(features)
    lr = LogisticRegression(C=c, max_iter=3000, random_state=SEED)
    lr.fit(scaler.transform(features), labels)
    weights = np.ascontiguousarray((lr.coef_ / scaler.scale_).T.astype(np.float32))
    bias = lr.intercept_ - (scaler.mean_ / scaler.scale_) @ lr.coef_.T
    seconds = time.perf_counter() - start

    def probs_one(text: str) -> np.ndarray:
        return softmax(embedder.embed(text) @ weights + bias)

    size, load = pickled((weights, bias))
    name = f"{embedder.name} lr (C={c:g})"
    labels_out = [str(x) for x in lr.classes_]
    return Model(
        name,
        labels_out,
        probs_one,
        seconds,
        size + embedder.disk_bytes,
        load + embedder.load_seconds,
    )


def choose_weight(words: sparse.spmatrix, embedded: np.ndarray, labels: list[str]) -> float:
    """The embedding block's weight with the best 3-fold accuracy on the training examples
    (the TF-IDF vocabularies, fitted on all examples, are reused in every fold)."""
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=SEED)
    scores = {}
    for weight in STACK_WEIGHTS:
        matrix = sparse.hstack([words, sparse.csr_matrix(weight * embedded)]).tocsr()
        lr = LogisticRegression(C=20.0, max_iter=2000, random_state=SEED)
        scores[weight] = cross_val_score(lr, matrix, labels, cv=folds).mean()
    return max(scores, key=scores.__getitem__)


def train_stacked(
    tfidf: IntentClassifier, embedder: Embedder, texts: list[str], labels: list[str]
) -> Model:
    """One logistic regression (today's C) on TF-IDF features plus the unit-norm embedding,
    weighted as cross-validation on the examples prefers."""
    start = time.perf_counter()
    words = tfidf.features.transform([normalise(t) for t in texts])
    embedded = embed_all(embedder, texts)
    weight = choose_weight(words, embedded, labels)
    matrix = sparse.hstack([words, sparse.csr_matrix(weight * embedded)]).tocsr()
    lr = LogisticRegression(C=20.0, max_iter=2000, random_state=SEED).fit(matrix, labels)
    seconds = time.perf_counter() - start
    weights = np.ascontiguousarray(lr.coef_.T)
    width = words.shape[1]
    fast, offset = [], 0
    for _, vectorizer in tfidf.features.transformer_list:
        fast.append(FastTfidf(vectorizer, offset))
        offset += len(vectorizer.vocabulary_)

    def probs_one(text: str) -> np.ndarray:
        scores = lr.intercept_ + weight * embedder.embed(text) @ weights[width:]
        clean = normalise(text)
        for part in fast:
            indices, values = part.features(clean)
            scores += values @ weights[indices]
        return softmax(scores)

    size, load = pickled((tfidf.features, lr))
    name = f"tfidf + {weight:g}*{embedder.name}"
    labels_out = [str(x) for x in lr.classes_]
    return Model(
        name,
        labels_out,
        probs_one,
        seconds,
        size + embedder.disk_bytes,
        load + embedder.load_seconds,
    )


def averaged(first: Model, second: Model, name: str) -> Model:
    """The mean of two models' probabilities (same labels, same order)."""
    assert first.labels == second.labels

    def probs_one(text: str) -> np.ndarray:
        return (first.probs_one(text) + second.probs_one(text)) / 2

    return Model(
        name,
        first.labels,
        probs_one,
        first.train_seconds + second.train_seconds,
        first.disk_bytes + second.disk_bytes,
        first.load_seconds + second.load_seconds,
    )


def read_paraphrases() -> dict[str, tuple[list[str], list[str]]]:
    """The held-out paraphrases by language: (texts, true intents)."""
    by_language: dict[str, tuple[list[str], list[str]]] = {}
    for case in held_out():
        texts, truth = by_language.setdefault(case.language, ([], []))
        texts.append(case.text)
        truth.append(case.intent)
    return by_language


def read_rasa() -> dict[str, list[str]]:
    """The Rasa utterances by their own intent labels (empty if the file is missing)."""
    return rasa_utterances() if RASA.exists() else {}


def expected_calibration_error(probs: np.ndarray, truth: list[str], labels: list[str]) -> float:
    """ECE over `ECE_BINS` equal-width bins (right-closed) of the top-class confidence."""
    confidence = probs.max(axis=1)
    correct = np.array([labels[i] == t for i, t in zip(probs.argmax(axis=1), truth, strict=True)])
    bins = np.clip(np.ceil(confidence * ECE_BINS).astype(int) - 1, 0, ECE_BINS - 1)
    total = 0.0
    for b in range(ECE_BINS):
        members = bins == b
        if members.any():
            gap = abs(correct[members].mean() - confidence[members].mean())
            total += gap * members.sum() / len(truth)
    return total


def paraphrase_scores(model: Model, paraphrases: dict) -> dict[str, object]:
    """Accuracy and macro-F1 per language, pooled accuracy and ECE."""
    row: dict[str, object] = {}
    all_probs, all_truth = [], []
    for language, (texts, truth) in paraphrases.items():
        probs = np.vstack([model.probs_one(t) for t in texts])
        predicted = [model.labels[i] for i in probs.argmax(axis=1)]
        accuracy = float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)]))
        macro = f1_score(truth, predicted, average="macro", zero_division=0)
        row[language] = (accuracy, macro)
        all_probs.append(probs)
        all_truth.extend(truth)
    probs = np.vstack(all_probs)
    hits = [model.labels[i] == t for i, t in zip(probs.argmax(axis=1), all_truth, strict=True)]
    row["all"] = float(np.mean(hits))
    row["hits"] = hits
    row["ece"] = expected_calibration_error(probs, all_truth, model.labels)
    row["acted"] = float(np.mean(np.array(hits) & (probs.max(axis=1) >= THRESHOLD)))
    return row


def rasa_scores(model: Model, rasa: dict[str, list[str]]) -> dict[str, float]:
    """Share of password_reset/problem_email recognised, and of out_of_scope held back."""
    scores = {}
    for label, expected in RASA_EXPECTED.items():
        hits = [model.labels[int(np.argmax(model.probs_one(t)))] == expected for t in rasa[label]]
        scores[label] = float(np.mean(hits))
    held = []
    for text in rasa["out_of_scope"]:
        probs = model.probs_one(text)
        top = int(np.argmax(probs))
        held.append(model.labels[top] == "out_of_scope" or probs[top] < THRESHOLD)
    scores["out_of_scope"] = float(np.mean(held))
    return scores


def latency_us(model: Model, messages: list[str]) -> tuple[float, float]:
    """Median and 95th percentile microseconds of one prediction, as the engine makes it, from
    the pass (of `TIMING_PASSES` over the messages) with the lowest median."""
    for text in messages[:200]:  # warm-up
        model.probs_one(text)
    passes = []
    for _ in range(TIMING_PASSES):
        timings = []
        for text in messages:
            start = time.perf_counter_ns()
            row = model.probs_one(text)
            order = np.argsort(row)[::-1][:3]
            _ = [(model.labels[i], float(row[i])) for i in order]
            timings.append(time.perf_counter_ns() - start)
        passes.append((float(np.median(timings)) / 1e3, float(np.percentile(timings, 95)) / 1e3))
    return min(passes)


def paired(baseline: list[bool], hits: list[bool]) -> tuple[int, int]:
    """Paraphrases a model gets right that today's gets wrong, and the reverse."""
    fixed = sum(h and not b for b, h in zip(baseline, hits, strict=True))
    broken = sum(b and not h for b, h in zip(baseline, hits, strict=True))
    return fixed, broken


def mcnemar(fixed: int, broken: int) -> float:
    """Exact two-sided McNemar p-value of the discordant pairs (1.0 when there are none)."""
    return binomtest(fixed, fixed + broken).pvalue if fixed + broken else 1.0


def format_line(cells: list[str], widths: list[int]) -> str:
    """One table line: the first cell left-aligned, the others right-aligned."""
    return "  ".join(
        c.ljust(w) if i == 0 else c.rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def print_table(
    results: list[tuple[Model, dict, dict, tuple]], languages: list[str], trained: set[str]
) -> None:
    """One table: a row per model."""
    lang_heads = [f"{lang}{'' if lang in trained else '*'} acc/F1" for lang in languages]
    heads = [
        "model",
        *lang_heads,
        "all acc",
        "vs today",
        "p",
        "ECE",
        "acted",
        "pw",
        "email",
        "oos",
        "p50 µs",
        "p95 µs",
        "MB",
        "load ms",
        "train s",
    ]
    rows = []
    baseline = results[0][1]["hits"]
    for model, para, rasa, (p50, p95) in results:
        fixed, broken = paired(baseline, para["hits"])
        cells = [model.name]
        cells += [f"{para[lang][0]:.3f}/{para[lang][1]:.3f}" for lang in languages]
        cells += [f"{para['all']:.3f}", f"+{fixed}/-{broken}", f"{mcnemar(fixed, broken):.2f}"]
        cells += [f"{para['ece']:.3f}", f"{para['acted']:.3f}"]
        cells += [
            f"{rasa[k]:.2f}" if rasa else "-"
            for k in ("password_reset", "problem_email", "out_of_scope")
        ]
        cells += [f"{p50:.0f}", f"{p95:.0f}", f"{model.disk_bytes / 1e6:.1f}"]
        cells += [f"{model.load_seconds * 1e3:.0f}", f"{model.train_seconds:.0f}"]
        rows.append(cells)
    widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(len(heads))]
    print(format_line(heads, widths))
    print("-" * len(format_line(heads, widths)))
    for r in rows:
        print(format_line(r, widths))


def main() -> int:
    """Train every model on the examples, evaluate, and print the table."""
    by_language = read_by_language(EXAMPLES)
    examples = merge_languages(by_language)
    texts = [t for utterances in examples.values() for t in utterances]
    labels = [i for i, utterances in examples.items() for _ in utterances]
    paraphrases = read_paraphrases()
    rasa = read_rasa()
    print(
        f"training: {len(texts)} examples in {sorted(by_language)}; "
        f"paraphrases: {', '.join(f'{k} {len(v[0])}' for k, v in paraphrases.items())}; "
        f"Rasa: {sum(len(rasa.get(k, [])) for k in (*RASA_EXPECTED, 'out_of_scope'))}",
        flush=True,
    )

    tfidf, today = train_tfidf(examples)
    print(f"trained {today.name} in {today.train_seconds:.0f} s", flush=True)
    embedders = [load_wordllama(64), load_wordllama(128), load_wordllama(256), load_tokenlearn()]
    alone = {e.name: train_embedding(e, texts, labels) for e in embedders}
    print("trained " + ", ".join(m.name for m in alone.values()), flush=True)
    models = [today, *alone.values()]
    for name in ("wl256", "tl64"):
        embedder = next(e for e in embedders if e.name == name)
        models.append(train_stacked(tfidf, embedder, texts, labels))
        print(f"trained {models[-1].name} in {models[-1].train_seconds:.0f} s", flush=True)
        models.append(averaged(today, alone[name], f"avg(tfidf, {name})"))

    rng = np.random.default_rng(SEED)
    pool = [t for texts_, _ in paraphrases.values() for t in texts_]
    messages = [str(t) for t in rng.choice(pool, LATENCY_MESSAGES)]
    results = []
    for model in models:
        para = paraphrase_scores(model, paraphrases)
        rasa_row = rasa_scores(model, rasa) if rasa else {}
        results.append((model, para, rasa_row, latency_us(model, messages)))
    print()
    print_table(results, list(paraphrases), set(by_language))
    print(LEGEND)
    return 0


if __name__ == "__main__":
    sys.exit(main())
