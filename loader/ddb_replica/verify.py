"""Verify: read both tables whole (parallel, strongly consistent scans), compare item by item.

Keys that differ are read again, replica then source, before they are reported: a change still on its way
through the stream is not drift. ``repair`` settles the keys that still differ (``settle.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .items import Item, key_id, key_of, same_item
from .scanning import read_table
from .settle import Settled, settle
from .tables import TableInfo
from .writes import Tables


@dataclass
class Differences:
    source_items: int = 0
    replica_items: int = 0
    missing: list[Item] = field(default_factory=list)  # keys in the source only
    extra: list[Item] = field(default_factory=list)  # keys in the replica only
    different: list[Item] = field(default_factory=list)  # keys in both, with other attributes

    @property
    def total(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.different)

    def keys(self) -> list[Item]:
        return [*self.missing, *self.extra, *self.different]


def compare(source: dict[str, Item], replica: dict[str, Item], key_names: Sequence[str]) -> Differences:
    """Item by item: every attribute, numbers by value, sets without order."""
    found = Differences(source_items=len(source), replica_items=len(replica))
    for kid, item in source.items():
        other = replica.get(kid)
        if other is None:
            found.missing.append(key_of(item, key_names))
        elif not same_item(item, other):
            found.different.append(key_of(item, key_names))
    found.extra = [key_of(item, key_names) for kid, item in replica.items() if kid not in source]
    return found


def scan_both(
    tables: Tables,
    source: TableInfo,
    replica: TableInfo,
    segments: int,
    workers: int,
    on_items: Callable[[int], object] = lambda count: None,
) -> tuple[dict[str, Item], dict[str, Item]]:
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify") as pool:
        source_items = pool.submit(read_table, tables.client, source, segments, workers, on_items)
        replica_items = pool.submit(read_table, tables.replica_side, replica, segments, workers, on_items)
        return source_items.result(), replica_items.result()


def confirm(tables: Tables, found: Differences) -> Differences:
    """Read the differing keys again (replica, then source); keep those that still differ."""
    keys = found.keys()
    replica = tables.replica_items(keys)
    source = tables.source_items(keys)
    confirmed = Differences(source_items=found.source_items, replica_items=found.replica_items)
    for key in keys:
        want, have = source.get(key_id(key)), replica.get(key_id(key))
        if same_item(want, have):
            continue
        if have is None:
            confirmed.missing.append(key)
        elif want is None:
            confirmed.extra.append(key)
        else:
            confirmed.different.append(key)
    return confirmed


def repair(tables: Tables, found: Differences) -> Settled:
    return settle(tables, found.keys())
