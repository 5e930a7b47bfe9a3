import json

from typer.testing import CliRunner

from unticket.cli import app

runner = CliRunner()


def test_every_command_has_help_with_an_example() -> None:
    for command in (
        ["ask"],
        ["chat"],
        ["serve"],
        ["simulate"],
        ["outbox"],
        ["enterprise", "init"],
        ["approvals", "list"],
        ["approvals", "decide"],
        ["tickets", "list"],
        ["tickets", "update"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Example:" in result.output, command


def test_ask_answers_as_json(settings, monkeypatch) -> None:
    from tests.conftest import make_runtime
    from unticket.settings import get_settings

    make_runtime(settings).close()
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["ask", "my printer is jammed", "--as", "E000020", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["intent"] == "printer_issue"


def test_simulate_refuses_to_mix_data_without_replace(settings, monkeypatch) -> None:
    from tests.conftest import make_runtime
    from unticket.settings import get_settings

    make_runtime(settings).close()
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["simulate", "--days", "1", "--employees", "50"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "--replace" in result.output
