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


def test_sql_reads_the_warehouse_and_nothing_else(settings, monkeypatch, tmp_path) -> None:
    import duckdb

    from unticket.settings import get_settings

    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute("create schema marts; create table marts.kpis as select 42 as answer")
    outside = tmp_path / "outside.txt"
    outside.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        works = runner.invoke(app, ["sql", "select answer from marts.kpis"])
        markup = runner.invoke(app, ["sql", "select '[link=https://evil.example]x[/link]' as t"])
        refused = {
            query: runner.invoke(app, ["sql", query])
            for query in (
                f"select * from read_text('{outside}')",
                f"select * from read_csv('{outside}')",
                f"copy (select 1) to '{tmp_path / 'written.csv'}'",
                f"attach '{tmp_path / 'other.duckdb'}'",
                "set enable_external_access = true",
                "install httpfs",
                "create table marts.mine as select 1",
            )
        }
    finally:
        get_settings.cache_clear()
    assert works.exit_code == 0 and "42" in works.output
    assert "[link=https://evil.example]x[/link]" in markup.output  # shown as text, not a link
    for query, result in refused.items():
        assert result.exit_code == 2, query
        assert "secret-hash" not in result.output, query
    assert not (tmp_path / "written.csv").exists() and not (tmp_path / "other.duckdb").exists()
