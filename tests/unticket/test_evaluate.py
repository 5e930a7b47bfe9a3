"""`unticket eval understanding`: the local intent model and the LLM provider side by side on
the held-out paraphrases and a labelled CSV, with clear errors for a malformed file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.paraphrases import held_out
from resolver.llm.evaluation import LabelledFileError, read_labelled_csv, spread
from settings import Settings, get_settings
from tests.conftest import make_runtime
from tests.stubs.llm_server import MODEL, LlmServerStub, json_answer
from unticket.cli import app

runner = CliRunner()
LABELLED = [
    ("I forgot my password", "password_reset"),
    ("my account is locked", "account_unlock"),
    ("the printer on floor 3 is jammed", "printer_issue"),
    ("what's the status of INC0012345", "ticket_status"),
]


@pytest.fixture
def data_dir(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data dir with an enterprise and a trained model, as `UNTICKET_DATA_DIR`."""
    make_runtime(settings).close()
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield settings.data_dir
    get_settings.cache_clear()


def write_csv(path: Path, text: str) -> Path:
    """`text` written as a CSV file."""
    path.write_text(text, encoding="utf-8")
    return path


def test_both_columns_side_by_side_with_the_llm(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    truth = {text: intent for text, intent in LABELLED}
    labelled = write_csv(
        tmp_path / "labelled.csv",
        "text,intent\n" + "".join(f'"{text}",{intent}\n' for text, intent in LABELLED),
    )
    with LlmServerStub() as llm:
        # the stub knows the right answer to the labelled file, and is unsure of the rest
        llm.answer = lambda request: json_answer(
            truth.get(request["messages"][-1]["content"], "out_of_scope"), 0.8
        )
        monkeypatch.setenv("UNTICKET_LLM_BASE_URL", llm.url)
        monkeypatch.setenv("UNTICKET_LLM_MODEL", MODEL)
        monkeypatch.setenv("UNTICKET_LLM_API_KEY", llm.api_key)
        monkeypatch.setenv("UNTICKET_LLM_PRICE_PER_1K_INPUT", "0.5")
        monkeypatch.setenv("UNTICKET_LLM_PRICE_PER_1K_OUTPUT", "1.5")
        result = runner.invoke(
            app,
            ["eval", "understanding", "--file", str(labelled), "--limit", "40"],
            terminal_width=200,
        )
    assert result.exit_code == 0, result.output
    output = result.output
    assert "held-out paraphrases (40 messages)" in output
    assert "labelled.csv (4 messages)" in output
    for heading in ("local model", "LLM", "local + LLM below 0.60"):
        assert heading in output
    rows = {line.split("│")[1].strip(): line for line in output.splitlines() if "│" in line}
    accuracy = [cell.strip() for cell in rows["accuracy"].split("│")[2:5]]
    assert accuracy[1] == "100.0%"  # the LLM's on the labelled file (the last table)
    # 120 input tokens at 0.5 and 24 output tokens at 1.5 per 1,000: 0.096 a message
    assert "96.00" in rows["cost per 1,000 messages"]
    assert "44 messages evaluated" in output
    assert f"LLM calls ({MODEL}): ok 44." in output
    assert len(llm.requests) == 44


def test_the_local_model_alone_without_a_provider(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["eval", "understanding", "--language", "de", "--limit", "10"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "local model" in result.output and "local + LLM" not in result.output
    assert "No LLM provider configured: set UNTICKET_LLM_BASE_URL" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("words,label\nhello,greeting\n", "needs the columns text,intent"),
        ("text,intent\n,password_reset\nhi,greeting\n", "line 2: no text"),
        ("text,intent\nreset it,reset_everything\n", "line 2: intent 'reset_everything' is not"),
        ("text,intent\n", "has a header but no rows"),
    ],
)
def test_a_malformed_file_is_a_clear_error(
    data_dir: Path, tmp_path: Path, content: str, message: str
) -> None:
    labelled = write_csv(tmp_path / "labelled.csv", content)
    result = runner.invoke(app, ["eval", "understanding", "--file", str(labelled)])
    assert result.exit_code == 2
    error = " ".join(result.output.split())
    assert message in error and "data/catalogue/intents.yml" in error


def test_a_missing_or_binary_file_and_an_unknown_language(data_dir: Path, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["eval", "understanding", "--file", str(tmp_path / "no.csv")])
    assert missing.exit_code == 2 and "cannot read" in missing.output
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"text,intent\n\xff\xfe,greeting\n")
    with pytest.raises(LabelledFileError, match="is not UTF-8 text"):
        read_labelled_csv(binary, {"greeting"})
    unknown = runner.invoke(app, ["eval", "understanding", "--language", "xx"])
    assert unknown.exit_code == 2 and "no held-out paraphrases in xx" in unknown.output


def test_held_out_reads_every_language_and_spread_takes_some_of_each() -> None:
    cases = held_out()
    assert {case.language for case in cases} == {"en", "de", "es", "fr"}
    picked = spread(cases, 8)
    assert len(picked) == 8 and picked[0] == cases[0]
    assert {case.language for case in picked} == {"en", "de", "es", "fr"}
    assert spread(cases, None) == cases and spread(cases[:3], 8) == cases[:3]
