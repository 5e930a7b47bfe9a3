"""The KPI rates, each defined once, for every consumer of the warehouse.

The definitions live in the dbt project (`dbt/dbt_project.yml`, `vars.kpi_rates`): a rate is a
numerator over a denominator, both counts. The marts compute each row's rate from them (macro
`kpi_rate`); `unticket kpis`, the report and the dashboards compute a period's or a filter's
rate from the same counts summed (`Rate.over_rows`). A rate has one name everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt" / "dbt_project.yml"


@dataclass(frozen=True)
class Rate:
    """One KPI rate: `numerator` ÷ `denominator` (SQL over count columns), and how to read it."""

    key: str
    label: str
    numerator: str
    denominator: str
    better: Literal["higher", "lower"]

    def over_rows(self) -> str:
        """The rate over many rows (a period, a filter) as SQL: the counts summed, then divided
        as the marts' `safe_rate` divides (a double; null when the denominator is 0)."""
        numerator, denominator = f"sum({self.numerator})", f"sum({self.denominator})"
        return f"case when {denominator} > 0 then cast({numerator} as double) / {denominator} end"


@cache
def rates() -> dict[str, Rate]:
    """Every KPI rate by its key, as the dbt project defines them."""
    project = yaml.safe_load(DBT_PROJECT.read_text())
    return {
        key: Rate(key=key, **definition) for key, definition in project["vars"]["kpi_rates"].items()
    }


def rate(key: str) -> Rate:
    """One KPI rate by its key (e.g. `strict_deflection_rate`)."""
    return rates()[key]


def rate_columns(*keys: str) -> str:
    """SQL select-list items computing the rates `keys` over the selected rows, each named by
    its key."""
    return ",\n    ".join(f"{rate(key).over_rows()} as {key}" for key in keys)


def rate_labels() -> dict[str, str]:
    """Every KPI rate's label by its key: how charts and tables name a rate."""
    return {key: definition.label for key, definition in rates().items()}
