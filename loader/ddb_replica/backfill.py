"""Backfill: copy the items that predate the stream into the replica, while the stream mapping runs.

Each segment of a parallel Scan is read page by page, and each page in chunks of 100 keys. For every chunk:
 1. its keys are written to the segment's checkpoint as *pending*;
 2. the replica items of the chunk are read, and the items the replica lacks are written (``copying.py``:
    BatchWriteItem by default; conditional transactions or puts keep a stream write that came in between
    even for that moment);
 3. every key of the chunk is settled (``settle.py``): a strongly consistent read of replica then source,
    and a conditional write where they differ. This puts back a newer write of the stream that the copy
    overwrote, removes an item the copy brought back after the source deleted it, writes what the copy
    could not, and reports keys that would not settle;
 4. the checkpoint moves past the chunk (the Scan resumes after its last key), pending cleared.
A run stopped anywhere resumes (``--resume``) by settling the pending keys, then scanning on from the last
completed chunk.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .copying import COPY_MODES, DEFAULT_COPY_MODE, copy_missing
from .items import Item, decode_key, encode_key, key_id, key_of
from .scanning import pages
from .settle import Settled, settle
from .tables import OpsError
from .writes import Tables

STATE_VERSION = 1
MAX_REFUSED = 100  # keys the replica may refuse in a run before it stops (--max-refused)
# Keys read, copied and settled together (BatchGetItem's limit): the settle follows its copy closely.
CHUNK_KEYS = 100
# The copy mode of a run whose manifest names none: it was started before the modes, with conditional puts.
EARLIER_COPY_MODE = "item"


class TooManyRefusedError(RuntimeError):
    """The replica refuses many keys: a difference between the tables, not a few poison items."""


@dataclass
class SegmentState:
    """Where one segment is; saved after every page."""

    segment: int
    total_segments: int
    last_key: dict[str, Any] | None = None  # encoded LastEvaluatedKey of the last completed page
    done: bool = False
    scanned: int = 0
    copied: int = 0  # put where the replica had no item
    present: int = 0  # the replica already had an item (the stream's or an earlier run's)
    corrected: int = 0  # settle writes: stale or resurrected replica items fixed
    pending: list[dict[str, Any]] = field(default_factory=list)  # encoded keys of the page in progress
    unresolved: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # key id -> why the replica refused the key


class CheckpointStore(Protocol):
    """Where a segment's state is saved: files (``Checkpoints``) or a table (``segment_store``)."""

    def save(self, state: SegmentState) -> None: ...


@dataclass
class Checkpoints:
    """One JSON file per segment, plus a manifest naming the tables and the segment count."""

    directory: Path
    source: str
    replica: str

    @property
    def manifest(self) -> Path:
        return self.directory / "backfill.json"

    def path(self, segment: int) -> Path:
        return self.directory / f"segment-{segment:05d}.json"

    def start(self, total_segments: int, copy_mode: str = DEFAULT_COPY_MODE) -> list[SegmentState]:
        """A fresh run: forget earlier checkpoints of this directory."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in self.directory.glob("segment-*.json"):
            old.unlink()
        manifest = {
            "version": STATE_VERSION,
            "source": self.source,
            "replica": self.replica,
            "total_segments": total_segments,
            "copy": copy_mode,
        }
        _write_atomically(self.manifest, manifest)
        states = [SegmentState(segment, total_segments) for segment in range(total_segments)]
        for state in states:
            self.save(state)
        return states

    def resume(self, total_segments: int | None, copy_mode: str | None) -> tuple[list[SegmentState], str]:
        """The states an interrupted run left, and its copy mode (a resumed run keeps the guarantee it was
        started with); errors name the directory and what to do."""
        if not self.manifest.exists():
            raise OpsError(f"nothing to resume: {self.manifest} does not exist (run without --resume)")
        manifest = _read_json(self.manifest)
        if (manifest.get("source"), manifest.get("replica")) != (self.source, self.replica):
            raise OpsError(
                f"{self.manifest} belongs to a backfill of {manifest.get('source')} -> "
                f"{manifest.get('replica')}; pass --state-dir for this pair or run without --resume"
            )
        total = int(manifest["total_segments"])
        if total_segments is not None and total_segments != total:
            raise OpsError(
                f"{self.manifest} was written with --segments {total}; resume with the same count "
                f"(or drop --segments)"
            )
        saved = str(manifest.get("copy", EARLIER_COPY_MODE))
        if saved not in COPY_MODES:
            raise OpsError(
                f"{self.manifest}: unknown copy mode {saved!r}; run without --resume to start over"
            )
        if copy_mode is not None and copy_mode != saved:
            raise OpsError(
                f"{self.manifest} was started with --copy {saved}; resume with the same (or drop --copy)"
            )
        return [self._load(segment, total) for segment in range(total)], saved

    def _load(self, segment: int, total: int) -> SegmentState:
        path = self.path(segment)
        try:
            data = _read_json(path)
            state = SegmentState(**data)
        except (OSError, TypeError, ValueError) as error:
            raise OpsError(
                f"{path}: unreadable checkpoint ({error}); run without --resume to start over"
            ) from None
        if (state.segment, state.total_segments) != (segment, total):
            raise OpsError(f"{path}: belongs to segment {state.segment} of {state.total_segments}")
        return state

    def save(self, state: SegmentState) -> None:
        _write_atomically(self.path(state.segment), asdict(state))


def _write_atomically(path: Path, data: object) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1))
    os.replace(temporary, path)


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


@dataclass
class Backfill:
    """One backfill run over all segments."""

    tables: Tables
    checkpoints: CheckpointStore
    workers: int
    page_size: int | None = None  # Scan Limit (default: DynamoDB's 1 MB pages)
    on_items: Callable[[int], object] = lambda count: None
    stop: threading.Event = field(default_factory=threading.Event)
    max_refused: int = MAX_REFUSED
    copy_mode: str = DEFAULT_COPY_MODE  # how missing items are written (copying.py)
    refused: set[str] = field(default_factory=set)  # ids of the keys refused so far (checkpoints' included)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, states: Sequence[SegmentState]) -> list[SegmentState]:
        """Run every unfinished segment; on Ctrl-C, finish the chunks in progress and return."""
        self.refused = {kid for state in states for kid in state.refused}
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="backfill") as pool:
            futures = [pool.submit(self.segment, state) for state in states if not state.done]
            try:
                _wait_all(futures)
            except BaseException:
                self.stop.set()
                raise
        return list(states)

    def segment(self, state: SegmentState) -> None:
        if self.stop.is_set():  # queued behind a segment that failed, or after Ctrl-C
            return
        if state.pending:
            self._settle(state, [decode_key(key) for key in state.pending])
            state.pending = []
            self.checkpoints.save(state)
        start = decode_key(state.last_key) if state.last_key else None
        segment = pages(
            self.tables.client,
            self.tables.source,
            state.segment,
            state.total_segments,
            start,
            limit=self.page_size,
        )
        for page in segment:
            keys = [key_of(item, self.tables.key_names) for item in page.items]
            for offset in range(0, len(keys), CHUNK_KEYS):
                end = offset + CHUNK_KEYS
                # After the chunk, the scan resumes after its last key (a Scan takes any key of its segment
                # as ExclusiveStartKey), or where the page ends.
                resume_after = keys[end - 1] if end < len(keys) else page.last_key
                self._chunk(state, page.items[offset:end], keys[offset:end], resume_after)
                if self.stop.is_set():
                    return
            if not keys:  # a page with no item of this segment still moves the scan on
                self._advance(state, page.last_key)

    def _chunk(
        self, state: SegmentState, items: Sequence[Item], keys: Sequence[Item], resume_after: Item | None
    ) -> None:
        """Copy and settle up to 100 keys, with a checkpoint before (its keys pending) and after."""
        state.pending = [encode_key(key) for key in keys]
        self.checkpoints.save(state)
        self._copy(state, items, keys)
        self._settle(state, keys)
        state.scanned += len(items)
        state.pending = []
        self._advance(state, resume_after)
        self.on_items(len(items))

    def _advance(self, state: SegmentState, resume_after: Item | None) -> None:
        state.last_key = encode_key(resume_after) if resume_after else None
        state.done = resume_after is None
        self.checkpoints.save(state)

    def _copy(self, state: SegmentState, items: Sequence[Item], keys: Sequence[Item]) -> None:
        """Write the items the replica lacks. One BatchGetItem first: an item already there costs no write,
        so a second run over a replicated table writes nothing. The stream may write in between:
        copying.py says what each mode does then, and the settle that follows decides.
        """
        in_replica = self.tables.replica_items(keys)
        missing = [item for item, key in zip(items, keys, strict=True) if key_id(key) not in in_replica]
        copied = copy_missing(self.tables, missing, self.copy_mode)
        state.copied += copied.copied
        state.present += len(items) - len(missing) + copied.present

    def _settle(self, state: SegmentState, keys: Sequence[Item]) -> None:
        # Its writes wait for no --max-wcu capacity (they are charged to the next copy): with --copy batch,
        # an older image the copy wrote over a newer stream write stays no longer than the settle takes.
        settled: Settled = settle(self.tables, keys, wait_for_capacity=False)
        state.corrected += settled.puts + settled.deletes
        # A resumed run settles its pending page, then scans it again: a key is listed once.
        state.unresolved.extend(
            encoded for encoded in map(encode_key, settled.unresolved) if encoded not in state.unresolved
        )
        state.refused.update(settled.refused)
        with self.lock:
            self.refused.update(settled.refused)
            refused = len(self.refused)
        # Only new refusals stop the run: a resume after the cause was fixed goes on past the earlier ones.
        if settled.refused and refused > self.max_refused:
            example = next(iter(settled.refused.values()))
            raise TooManyRefusedError(
                f"the replica refused the writes of {refused} keys (more than --max-refused "
                f"{self.max_refused}), e.g. {example}: the tables differ in a way many items hit (an index "
                "key of another type?)"
            )


def _wait_all(futures: Sequence[Future[None]]) -> None:
    """Wait for every future; raise the first error (after which the others are asked to stop)."""
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
        for future in finished:
            future.result()
