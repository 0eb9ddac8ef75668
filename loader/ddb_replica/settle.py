"""Make replica items equal to their source items, key by key, without ever overwriting a newer change.

One round: read the replica items, then the source items (both strongly consistent, in that order); for each
key where they differ, write the source's state to the replica on condition that the replica item is still the
one just read (put the source item, or delete when the source has none). Keys that were written are read
again in the next round, until both sides agree.

Why it is safe while the stream mapping is live: the source read comes after the replica read, so the source
state is at least as new as anything the stream had written when the replica was read. If the stream writes
after that read, the condition fails and the stream's (newer) write stands; if the stream writes after ours,
it writes a change that came later in the source, and its last write is the source's latest state. The rounds
catch the one case a condition cannot see: the replica returning to an identical earlier value in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .items import ConditionTooLargeError, Item, key_id, same_item
from .writes import Tables

MAX_ROUNDS = 5


@dataclass
class Settled:
    checked: int = 0
    puts: int = 0
    deletes: int = 0
    unresolved: list[Item] = field(default_factory=list)  # keys still different after the last round

    def add(self, other: Settled) -> None:
        self.checked += other.checked
        self.puts += other.puts
        self.deletes += other.deletes
        self.unresolved.extend(other.unresolved)


def settle(tables: Tables, keys: Sequence[Item], max_rounds: int = MAX_ROUNDS) -> Settled:
    """Bring the replica items of ``keys`` to their source state; report keys that would not settle."""
    result = Settled(checked=len(keys))
    todo = list(keys)
    for round_number in range(max_rounds):
        if not todo:
            break
        replica = tables.get_many(tables.replica, todo)
        source = tables.get_many(tables.source, todo)
        differing = [key for key in todo if not same_item(source.get(key_id(key)), replica.get(key_id(key)))]
        if round_number == max_rounds - 1:
            result.unresolved.extend(differing)
            break
        todo = []
        for key in differing:
            want, have = source.get(key_id(key)), replica.get(key_id(key))
            try:
                if want is None:
                    result.deletes += tables.delete_if_unchanged(have) if have is not None else 0
                else:
                    result.puts += tables.put_if_unchanged(want, expected=have)
            except ConditionTooLargeError:
                result.unresolved.append(key)
                continue
            todo.append(key)  # read again: our write, or whichever write beat it, must now match
    return result
