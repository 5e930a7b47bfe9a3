import csv
import gzip
import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from models.categorizer import (
    Categorizer,
    CategorizerError,
    read_csv_rows,
    read_labelled_csv,
    train_categorizer,
    training_hash,
)
from unticket.cli import app
from unticket.settings import PROJECT_ROOT

KAGGLE = (
    PROJECT_ROOT.parent
    / "shared"
    / "data"
    / "kaggle-it-service-ticket-classification"
    / "all_tickets_processed_improved_v3.csv.gz"
)
WORDS = {
    "password": ["password", "reset", "locked", "login", "expired", "account"],
    "printer": ["printer", "toner", "paper", "jam", "print", "tray"],
    "network": ["vpn", "wifi", "network", "connection", "router", "cable"],
}
FILLER = ["please", "help", "hello", "thanks", "urgent", "today", "my", "the", "is", "not"]


def synthetic(count: int, seed: int) -> tuple[list[str], list[str]]:
    """Tickets of three categories, each built from its own words plus shared filler."""
    rng = random.Random(seed)
    texts, labels = [], []
    for number in range(count):
        label = list(WORDS)[number % len(WORDS)]
        words = rng.sample(WORDS[label], 3) + rng.sample(FILLER, 4)
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def training() -> tuple[list[str], list[str]]:
    return synthetic(150, seed=1)


@pytest.fixture(scope="module")
def model(training) -> Categorizer:
    return train_categorizer(*training, seed=7)


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_learns_separable_classes(model) -> None:
    texts, labels = synthetic(60, seed=2)
    predictions = model.predict(texts)
    assert [label for label, _ in predictions] == labels
    assert all(0.0 <= confidence <= 1.0 for _, confidence in predictions)
    assert min(confidence for _, confidence in predictions) > 0.5
    assert model.labels == sorted(WORDS)
    assert np.allclose(model.probabilities(texts).sum(axis=1), 1.0)


def test_same_seed_same_model(training, model) -> None:
    again = train_categorizer(*training, seed=7)
    texts, _ = synthetic(30, seed=3)
    assert np.array_equal(again.probabilities(texts), model.probabilities(texts))
    assert again.info == model.info


def test_save_and_load_keep_predictions_and_metadata(tmp_path, training, model) -> None:
    info_path = model.save(tmp_path / "models" / "categorizer.pkl")
    loaded = Categorizer.load(tmp_path / "models" / "categorizer.pkl")
    texts, _ = synthetic(30, seed=4)
    assert loaded.predict(texts) == model.predict(texts)
    info = json.loads(info_path.read_text())
    assert info_path == tmp_path / "models" / "categorizer.json"
    assert info["training_hash"] == training_hash(*training) == loaded.info["training_hash"]
    assert info["labels"] == sorted(WORDS)
    assert info["rows"] == 150
    assert {"sklearn_version", "params", "seed", "metrics"} <= set(info)
    assert 0.9 <= info["metrics"]["training_accuracy"] <= 1.0


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        ([], [], "no training data"),
        (["vpn down", "printer jam"], ["network"], "2 texts but 1 labels"),
        (["vpn down", "wifi down"], ["network", "network"], "at least two labels"),
        (["vpn down", "  ", "printer jam"], ["network", "network", "printer"], "1 empty texts"),
    ],
)
def test_training_rejects_unusable_data(texts, labels, message) -> None:
    with pytest.raises(CategorizerError, match=message):
        train_categorizer(texts, labels)


def test_reading_a_csv_skips_and_records_incomplete_rows(tmp_path) -> None:
    path = tmp_path / "tickets.csv.gz"
    with gzip.open(path, "wt", newline="", encoding="utf-8") as handle:
        handle.write("id,text,category\n1,vpn down,network\n2,,network\n3,toner empty,\n")
    data = read_labelled_csv(path, "text", "category")
    assert (data.texts, data.labels) == (["vpn down"], ["network"])
    assert data.skipped == [(2, "empty text"), (3, "empty category")]


def test_reading_names_missing_files_and_columns(tmp_path) -> None:
    with pytest.raises(CategorizerError, match="no file at"):
        read_csv_rows(tmp_path / "absent.csv")
    write_csv(tmp_path / "tickets.csv", [{"id": "1", "body": "vpn down"}])
    with pytest.raises(CategorizerError, match=r"no column 'text'.*columns are: id, body"):
        read_labelled_csv(tmp_path / "tickets.csv", "text", "body")


def test_load_refuses_missing_and_foreign_files(tmp_path) -> None:
    with pytest.raises(CategorizerError, match="no model file"):
        Categorizer.load(tmp_path / "absent.pkl")
    (tmp_path / "other.pkl").write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(CategorizerError, match="not a categoriser"):
        Categorizer.load(tmp_path / "other.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(CategorizerError, match="not a categoriser model"):
        Categorizer.load(tmp_path / "junk.pkl")


def run_cli(*command: str, **options: object) -> Result:
    """Run `unticket <command> --option value ...`; underscores in option names become dashes."""
    arguments = list(command)
    for name, value in options.items():
        arguments += [f"--{name.replace('_', '-')}", str(value)]
    return CliRunner().invoke(app, arguments)


def test_cli_trains_then_categorises_a_csv(tmp_path) -> None:
    texts, labels = synthetic(90, seed=5)
    history = [
        {"ref": str(i), "text": t, "category": c}
        for i, (t, c) in enumerate(zip(texts, labels, strict=True))
    ]
    history.append({"ref": "blank", "text": "", "category": "network"})
    write_csv(tmp_path / "history.csv", history)
    model_path = tmp_path / "categorizer.pkl"
    result = run_cli(
        "models", "train", "categorizer", input=tmp_path / "history.csv", text_column="text",
        label_column="category", output=model_path, folds=2,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "90 rows used (3 categories), 1 skipped" in result.output
    assert "cross-validated accuracy 1.000" in result.output
    assert json.loads(model_path.with_suffix(".json").read_text())["metrics"]["cv_folds"] == 2

    new, truth = synthetic(12, seed=6)
    write_csv(tmp_path / "new.csv", [{"ref": str(i), "body": t} for i, t in enumerate([*new, ""])])
    output = tmp_path / "out" / "categorised.csv"
    result = run_cli(
        "models", "predict", "categorizer", model=model_path, input=tmp_path / "new.csv",
        text_column="body", output=output,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["ref", "body", "predicted_label", "confidence"]
    assert [row["predicted_label"] for row in rows] == [*truth, ""]
    assert all(0 < float(row["confidence"]) <= 1 for row in rows[:-1])


def test_cli_explains_missing_columns_and_models(tmp_path) -> None:
    write_csv(tmp_path / "new.csv", [{"ref": "1", "body": "vpn down"}])
    result = run_cli(
        "models", "train", "categorizer", input=tmp_path / "new.csv", text_column="text",
        label_column="category", output=tmp_path / "m.pkl",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "columns are: ref, body" in result.output
    result = run_cli(
        "models", "predict", "categorizer", model=tmp_path / "absent.pkl",
        input=tmp_path / "new.csv", text_column="body", output=tmp_path / "o.csv",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no model file" in result.output


def test_models_commands_have_help_with_an_example() -> None:
    for command in (["models", "train", "categorizer"], ["models", "predict", "categorizer"]):
        result = CliRunner().invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Example:" in result.output, command


@pytest.mark.skipif(not KAGGLE.exists(), reason="needs ../shared/data beside the checkout")
def test_learns_kaggle_categories_from_a_slice_of_the_training_rows() -> None:
    _, rows = read_csv_rows(KAGGLE)
    training_rows = [row for number, row in enumerate(rows) if number % 5 != 4]  # no hold-out
    train, test = training_rows[:3000], training_rows[3000:4000]
    model = train_categorizer([r["Document"] for r in train], [r["Topic_group"] for r in train])
    predicted = [label for label, _ in model.predict([r["Document"] for r in test])]
    accuracy = np.mean([p == r["Topic_group"] for p, r in zip(predicted, test, strict=True)])
    assert accuracy > 0.7  # the largest category is 28 % of the tickets
