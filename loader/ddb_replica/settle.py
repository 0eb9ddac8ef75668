"""Make replica items equal to their source items, key by key, without ever overwriting a newer change.

One round: read the replica items, then the source items (both strongly consistent, in that order); for each
key where they differ, write the source's state to the replica on condition that the replica item is still the
one just read (put the source item, or delete when the source has none). Keys that were written are read
again in the next round, until both sides agree.

Why it is safe while the stream mapping is live: the source read comes after the replica read, so the source
state is at least as new as anything the stream had written when the replica was read. If the stream writes
after that read, the condition fails and the stream's (newer) write stands; if the stream writes after ours,
it writes a change that came later in the source, and its last write is the source's latest state. The rounds
catch what a condition cannot see: the replica returning to an identical earlier value in between, and, in
an item too wide for DynamoDB's expression limits, a change confined to attributes the condition leaves out.

A key whose write the replica refuses (ValidationException, a full item collection) is reported unresolved
with the replica's reason, and the other keys go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from botocore.exceptions import ClientError
from ddbreplica_lambda import is_refused

from .items import Item, key_id, same_item
from .writes import Tables

MAX_ROUNDS = 5


@dataclass
class Settled:
    checked: int = 0
    puts: int = 0
    deletes: int = 0
    unresolved: list[Item] = field(default_factory=list)  # keys still different after the last round
    refused: dict[str, str] = field(default_factory=dict)  # key id -> why the replica refused its write

    def add(self, other: Settled) -> None:
        self.checked += other.checked
        self.puts += other.puts
        self.deletes += other.deletes
        self.unresolved.extend(other.unresolved)
        self.refused.update(other.refused)


def settle(
    tables: Tables, keys: Sequence[Item], max_rounds: int = MAX_ROUNDS, wait_for_capacity: bool = True
) -> Settled:
    """Bring the replica items of ``keys`` to their source state; report keys that would not settle.
    ``wait_for_capacity=False``: its writes are charged to --max-wcu without waiting (the next charge
    waits for them)."""
    result = Settled(checked=len(keys))
    todo = list(keys)
    for round_number in range(max_rounds):
        if not todo:
            break
        replica = tables.replica_items(todo)
        source = tables.source_items(todo)
        differing = [key for key in todo if not same_item(source.get(key_id(key)), replica.get(key_id(key)))]
        if round_number == max_rounds - 1:
            result.unresolved.extend(differing)
            break
        todo = []
        for key in differing:
            want, have = source.get(key_id(key)), replica.get(key_id(key))
            try:
                _write(tables, want, have, result, wait_for_capacity)
            except ClientError as error:
                if not is_refused(error):
                    raise
                # The replica will not take this item (e.g. an index key of another type): report it, and
                # go on with the other keys, so that a backfill finishes and its --resume never stops here.
                result.unresolved.append(key)
                result.refused[key_id(key)] = _reason(error)
                continue
            todo.append(key)  # read again: our write, or whichever write beat it, must now match
    return result


def _write(tables: Tables, want: Item | None, have: Item | None, result: Settled, wait: bool) -> None:
    """Write the source's state over the replica item read, if that is still there; count what landed."""
    if want is None:
        result.deletes += tables.delete_if_unchanged(have, wait=wait) if have is not None else 0
    else:
        result.puts += tables.put_if_unchanged(want, expected=have, wait=wait)


def _reason(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'error')}: {details.get('Message', '')}"
