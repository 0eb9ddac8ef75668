"""Baseline for bench/loader_bench.py: the workshop lab's loader, one ``put_item`` per row.

Behaves like the lab's ``load_logfile.py`` (same item layout, a progress line every 100 rows,
the ``RowCount: ..., Total seconds: ...`` summary) with the lab's ``lab_config.boto_args``
replaced by explicit endpoint and region arguments. No validation, batching or threads: it is
the thing being compared against, so keep it naive.

    python bench/baselines/lab_loader.py logfile ./data/logfile_stream.csv [endpoint-url] [region]
"""

from __future__ import annotations

import csv
import sys
import time

import boto3

ATTRIBUTE_NAMES = [
    "requestid",
    "host",
    "date",
    "hourofday",
    "timezone",
    "method",
    "url",
    "responsecode",
    "bytessent",
    "useragent",
]
ATTRIBUTE_TYPES = [int, str, str, int, str, str, str, int, int, str]


def import_csv(
    table_name: str,
    file_name: str,
    endpoint_url: str | None = None,
    region: str | None = None,
    *,
    verbose: bool = True,
) -> int:
    """Write every row with its own PutItem call; return the number of rows written."""
    dynamodb = boto3.resource("dynamodb", endpoint_url=endpoint_url, region_name=region)
    table = dynamodb.Table(table_name)
    count = 0
    lap = time.time()
    with open(file_name, encoding="utf-8") as csvfile:
        for row in csv.reader(csvfile, delimiter=","):
            count += 1
            item: dict[str, str | int] = {
                name: convert(row[n])
                for n, (name, convert) in enumerate(zip(ATTRIBUTE_NAMES, ATTRIBUTE_TYPES, strict=True))
            }
            item["PK"] = f"request#{item['requestid']}"
            item["GSI_1_PK"] = f"host#{item['host']}"
            if item["responsecode"] == 500:
                item["servererror"] = "5xx"
            table.put_item(Item=item)
            if verbose and count % 100 == 0:
                print(f"row: {count} in {time.time() - lap}")
                lap = time.time()
    return count


if __name__ == "__main__":
    args = sys.argv[1:]
    begin = time.time()
    endpoint, region = [*args[2:4], None, None][:2]
    rows = import_csv(args[0], args[1], endpoint, region)
    print(f"RowCount: {rows}, Total seconds: {time.time() - begin}")
