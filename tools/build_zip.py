"""Build the Lambda zip deterministically: the same sources always give the same bytes.

Plain ``zip -r`` stores file times, permissions and directory order, so every rebuild changes the
hash and ``terraform plan`` shows a diff. Here: fixed timestamp, sorted names, 0644, a Unix origin on
every platform, and entries stored uncompressed: deflate output differs between zlib builds (zlib,
zlib-ng, another level's heuristics), so compressed bytes are not the same on every machine. The
files are a few tens of KB either way. The stdlib ``zipfile`` is enough; no packaging library offers these
guarantees for a bundle of a few files.

A source is a file, stored under its own name at the root of the zip, or ``NAME=FILE``, stored as NAME
(``ddb_replica/backfill.py=loader/ddb_replica/backfill.py``: a package of the backfill function's zip).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # earliest time the zip format can store
FILE_MODE = 0o100644 << 16  # regular file, rw-r--r--
UNIX = 3  # "version made by" host system: zipfile writes 0 on Windows, 3 elsewhere


def build(sources: list[Path] | dict[str, Path], output: Path) -> None:
    """Write ``output`` holding ``sources`` (stored by file name, or by the names of a mapping) in a
    reproducible way."""
    named = sources if isinstance(sources, dict) else {source.name: source for source in sources}
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(output.suffix + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, source in sorted(named.items()):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = FILE_MODE
            info.create_system = UNIX
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, source.read_bytes())
    partial.replace(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="zip file to write, e.g. dist/ddbreplica_lambda.zip")
    parser.add_argument(
        "sources", nargs="+", help="files to put at the root of the zip, or NAME=FILE to store FILE as NAME"
    )
    args = parser.parse_args(argv)
    named = dict(_named(source) for source in args.sources)
    missing = [str(path) for path in named.values() if not path.is_file()]
    if missing:
        print(f"error: source file(s) not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    if len(named) != len(args.sources):
        print("error: two sources have the same name in the zip", file=sys.stderr)
        return 2
    build(named, args.output)
    print(f"built {args.output} ({args.output.stat().st_size} bytes)")
    return 0


def _named(source: str) -> tuple[str, Path]:
    name, _, path = source.rpartition("=")
    return (name, Path(path)) if name else (Path(path).name, Path(path))


if __name__ == "__main__":
    sys.exit(main())
