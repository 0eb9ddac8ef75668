"""The stream's 24-hour window: how long a backfill will take at its write budget, and whether that fits.

A stream keeps a change for 24 hours. A backfill that runs longer than that while the mapping is stopped or
behind, or that is meant to finish before the mapping starts from TRIM_HORIZON, loses changes; one that
runs for days under a small budget is in any case a mistake better caught before the first write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .items import WRITE_UNIT_BYTES
from .tables import OpsError, TableInfo

STREAM_RETENTION_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Estimate:
    items: int  # items left to copy (DynamoDB's item count, which it updates about every six hours)
    units_per_item: int  # write units of the table's average item (twice that in a transaction)
    budget: float | None  # write units per second (--max-wcu, the replica's provisioned); None: unlimited
    budget_from: str  # where the budget comes from, for people
    seconds: float | None  # None when no budget bounds the writes

    def text(self) -> str:
        if self.seconds is None:
            return (
                f"about {self.items} item(s) to copy at {self.units_per_item} write unit(s) each, no write "
                "budget (on-demand replica, no --max-wcu): the bar shows the time left"
            )
        return (
            f"about {self.items} item(s) to copy at {self.units_per_item} write unit(s) each within "
            f"{self.budget_from}: about {_duration(self.seconds)} at least"
        )


def estimate(
    source: TableInfo, replica: TableInfo, items_left: int, max_wcu: float | None, copy_mode: str
) -> Estimate:
    """The least time the writes of ``items_left`` items take within the tightest write budget."""
    average = source.size_bytes / source.item_count if source.item_count else 0
    units = max(1, math.ceil(average / WRITE_UNIT_BYTES)) * (2 if copy_mode == "transact" else 1)
    budgets = []
    if max_wcu:
        budgets.append((max_wcu, f"--max-wcu {max_wcu:g}"))
    if replica.write_capacity:
        provisioned = replica.write_capacity
        budgets.append((float(provisioned), f"{replica.name}'s {provisioned} provisioned WCU"))
    if not budgets:
        return Estimate(items_left, units, None, "", None)
    budget, budget_from = min(budgets)
    return Estimate(items_left, units, budget, budget_from, items_left * units / budget)


def check_window(estimate: Estimate, force: bool) -> None:
    """Refuse a backfill that cannot finish within the stream's retention, unless forced."""
    if force or estimate.seconds is None or estimate.seconds <= STREAM_RETENTION_SECONDS:
        return
    raise OpsError(
        f"this backfill would take {_duration(estimate.seconds)} or more ({estimate.items} item(s) at "
        f"{estimate.units_per_item} write unit(s) each within {estimate.budget_from}), longer than the 24 h "
        "a stream keeps its changes; raise --max-wcu or the replica's write capacity, or pass --force to "
        "run it anyway"
    )


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
