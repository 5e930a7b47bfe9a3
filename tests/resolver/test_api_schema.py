"""The served HTTP API against its own OpenAPI document: schemathesis generates requests, valid
and not, and every answer must be a documented status with the documented shape, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from tests.conftest import api_key, bearer, make_runtime, make_settings
from tests.resolver.test_api import _free_port, _wait_healthy, start_server

EXAMPLES_PER_OPERATION = 60
# Whether the meaning of a request is acceptable is the API's to judge: a schema-valid message
# may be empty, an unknown query parameter is ignored. Everything else schemathesis checks holds:
# no 5xx, documented statuses, content types, bodies and headers.
NOT_CHECKED = [positive_data_acceptance, negative_data_rejection]


@pytest.fixture(scope="module")
def served_api(
    tmp_path_factory: pytest.TempPathFactory, trained_models: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """`unticket serve` on loopback, and the header of an admin key (no rate limit to hit)."""
    data_dir = tmp_path_factory.mktemp("schema") / "data"
    api_settings = make_settings(data_dir, trained_models)
    make_runtime(api_settings).close()
    headers = bearer(api_key(api_settings, "admin"))
    port = _free_port()
    server = start_server(data_dir, port, UNTICKET_API_KEY_RATE_LIMIT="100000/second")
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server)
        yield url, headers
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def api_schema(served_api: tuple[str, dict[str, str]]) -> schemathesis.BaseSchema:
    """The OpenAPI document the server publishes."""
    url, _ = served_api
    return schemathesis.openapi.from_url(f"{url}/openapi.json")


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=str)
def test_the_api_keeps_its_documented_contract(
    api_schema: schemathesis.BaseSchema,
    served_api: tuple[str, dict[str, str]],
    mode: schemathesis.GenerationMode,
) -> None:
    _, headers = served_api
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:

        @given(operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def keeps_the_contract(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=NOT_CHECKED)

        try:
            keeps_the_contract()
        except Unsatisfiable:  # an operation without input has no invalid request
            assert mode == schemathesis.GenerationMode.NEGATIVE
