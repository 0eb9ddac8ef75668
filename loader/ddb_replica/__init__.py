"""``ddb-replica``: operations on a stream-fed replica table.

``backfill`` copies the items that predate the source table's stream into the replica, safely while the
stream mapping is live; ``verify`` compares both tables item by item (and ``--repair`` fixes drift).
The entry point is :func:`loader.ddb_replica.cli.main`.
"""
