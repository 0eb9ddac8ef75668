"""The loader end to end: main(argv) in-process against moto, plus a few subprocess contract checks."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).parent))

from loader_fixtures import (
    DATA_FILE,
    LOADER_SCRIPT,
    REPO,
    TABLE,
    create_table,
    csv_text,
    good_rows,
    isolate_endpoint,
    item_count,
    moto_table,
    row,
    run_main,
    write_csv,
)

from loader import load_logfile

SUMMARY = re.compile(r"^RowCount: (\d+), Total seconds: (\d+\.\d+)$")


# --------------------------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------------------------


def test_workshop_file_round_trip(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with moto_table(monkeypatch) as table:
        # WHEN the workshop file is loaded the lab's way
        run = run_main(capsys, TABLE, str(DATA_FILE))
        # THEN all 2000 rows land and the summary is the lab's last line
        assert run.code == 0, run.err
        assert SUMMARY.match(run.last_line)
        assert run.row_count == 2000
        assert item_count(table) == 2000
        first = table.get_item(Key={"PK": "request#4001"})["Item"]
        assert first == {
            "PK": "request#4001",
            "GSI_1_PK": "host#66.249.67.3",
            "requestid": Decimal(4001),
            "host": "66.249.67.3",
            "date": "2009-07-21",
            "hourofday": Decimal(6),
            "timezone": "GMT-0700",
            "method": "GET",
            "url": "/gallery/main.php?g2_itemId=25483",
            "responsecode": Decimal(200),
            "bytessent": Decimal(7989),
            "useragent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        }
        error_row = table.get_item(Key={"PK": "request#4201"})["Item"]
        assert (error_row["responsecode"], error_row["servererror"]) == (Decimal(500), "5xx")
        last = table.get_item(Key={"PK": "request#6000"})["Item"]
        assert "servererror" not in last
        assert run.err == ""


def test_one_worker_gives_the_same_result(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "small.csv", good_rows(230))
    with moto_table(monkeypatch) as table:
        run = run_main(capsys, TABLE, str(path), "--workers", "1", "--region", "us-east-1")
        assert (run.code, run.row_count, item_count(table)) == (0, 230, 230)


# --------------------------------------------------------------------------------------------
# Bad input: reported with file:line, exit 2, nothing written
# --------------------------------------------------------------------------------------------

BAD_ROWS = [
    pytest.param(["4002,too,few,fields\n"], "expected 10 fields, got 4", id="field-count"),
    pytest.param([csv_text([row("x9")])], "requestid is not an integer: 'x9'", id="requestid"),
    pytest.param([csv_text([row(hourofday="6am")])], "hourofday is not an integer: '6am'", id="hourofday"),
    pytest.param([csv_text([row(responsecode="OK")])], "responsecode is not an integer: 'OK'", id="code"),
    pytest.param([csv_text([row(bytessent="1.5")])], "bytessent is not an integer: '1.5'", id="bytessent"),
    pytest.param([csv_text([row("")])], "requestid is empty", id="empty-requestid"),
    pytest.param([csv_text([row(host="")])], "host is empty", id="empty-host"),
    pytest.param([csv_text([row(1)])], "duplicate requestid 1 (an earlier row has it)", id="duplicate"),
]


@pytest.mark.parametrize(("bad_lines", "reason"), BAD_ROWS)
def test_bad_row_stops_the_whole_load(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    bad_lines: list[str],
    reason: str,
) -> None:
    # GIVEN good rows (one spanning two lines) with a bad row on physical line 5
    good = csv_text([row(1), row(2, useragent="multi\nline"), row(3)])
    path = tmp_path / "bad.csv"
    path.write_text(good + "".join(bad_lines) + csv_text(good_rows(3, first=10)), encoding="utf-8")
    with moto_table(monkeypatch) as table:
        # WHEN loaded without --skip-bad
        run = run_main(capsys, TABLE, str(path))
        # THEN the row is named, nothing is written and the exit code is 2
        assert run.code == 2
        assert run.err.splitlines() == [
            f"{path}:5: {reason}",
            f"{path}: 1 bad row(s); nothing written (--skip-bad loads the good rows)",
        ]
        assert run.out == ""
        assert item_count(table) == 0


def test_every_bad_row_is_listed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "bad.csv", [row(1), row("a"), row(3), row(3), row(5, host="")])
    with moto_table(monkeypatch) as table:
        run = run_main(capsys, TABLE, str(path))
        assert run.code == 2
        assert [line.split(": ", 1)[0] for line in run.err.splitlines()[:-1]] == [
            f"{path}:2",
            f"{path}:4",
            f"{path}:5",
        ]
        assert item_count(table) == 0


def test_undecodable_file_names_the_byte_offset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = csv_text(good_rows(2)).encode()
    path = tmp_path / "cp1252.csv"
    path.write_bytes(first + b"3,h,d,06,z,GET,/caf\xe9,200,5,ua\n")
    with moto_table(monkeypatch) as table:
        run = run_main(capsys, TABLE, str(path))
        offset = len(first) + len(b"3,h,d,06,z,GET,/caf")
        assert run.code == 2
        assert (
            run.err
            == f"error: {path}:3: not valid UTF-8 at byte offset {offset} (invalid continuation byte)\n"
        )
        assert item_count(table) == 0


def test_missing_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with moto_table(monkeypatch) as table:
        run = run_main(capsys, TABLE, str(tmp_path / "nope.csv"))
        assert (run.code, run.out) == (2, "")
        assert run.err == f"error: file not found: {tmp_path / 'nope.csv'}\n"
        assert item_count(table) == 0


def test_missing_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    isolate_endpoint(monkeypatch)
    with mock_aws():
        other = create_table("other")
        run = run_main(capsys, "logfile", str(DATA_FILE), "--region", "us-east-1")
        assert (run.code, run.out) == (2, "")
        assert run.err == (
            "error: table logfile not found in region us-east-1 at endpoint https://dynamodb.us-east-1.amazonaws.com\n"
        )
        assert item_count(other) == 0


def test_table_with_another_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_endpoint(monkeypatch)
    with mock_aws():
        table = create_table(TABLE, hash_key="id")
        run = run_main(capsys, TABLE, str(DATA_FILE))
        assert run.code == 2
        assert run.err.endswith("has key attribute 'id', which logfile items do not have (key: PK)\n")
        assert item_count(table) == 0


def test_key_of_wrong_type_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_endpoint(monkeypatch)
    with mock_aws():
        create_table(TABLE, hash_key="requestid", key_type="S")
        run = run_main(capsys, TABLE, str(DATA_FILE))
        assert run.code == 2
        assert run.err.endswith("defines requestid as S, but the loader writes it as N\n")


def test_no_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN no credentials anywhere (and an endpoint nothing listens on: signing fails before any call)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    run = run_main(capsys, TABLE, str(DATA_FILE), "--endpoint-url", "http://127.0.0.1:9")
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        "error: no usable AWS credentials (Unable to locate credentials); "
        "set AWS_ACCESS_KEY_ID or AWS_PROFILE\n"
    )


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    run = run_main(capsys, TABLE, str(DATA_FILE), "--endpoint-url", "http://127.0.0.1:9")
    assert run.code == 2
    assert run.err.startswith(
        'error: cannot reach DynamoDB: Could not connect to the endpoint URL: "http://127.0.0.1:9/"'
    )
    assert len(run.err.splitlines()) == 1


# --------------------------------------------------------------------------------------------
# --dry-run and --skip-bad
# --------------------------------------------------------------------------------------------


def test_dry_run_writes_nothing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with moto_table(monkeypatch) as table:
        run = run_main(capsys, TABLE, str(DATA_FILE), "--dry-run")
        assert run.code == 0
        assert run.out.splitlines()[0] == "dry run: 2000 row(s) valid, 0 bad; nothing written to logfile"
        assert run.row_count == 2000
        assert item_count(table) == 0


def test_dry_run_reports_bad_rows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [row(1), row(2, bytessent="-")])
    run = run_main(capsys, TABLE, str(path), "--dry-run")
    assert run.code == 2
    assert run.err.splitlines()[0] == f"{path}:2: bytessent is not an integer: '-'"


def test_skip_bad_writes_exactly_the_good_rows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN 250 good rows with four bad ones among them (a repeat keeps its first occurrence)
    rows = good_rows(250)
    rows[10] = row(11, hourofday="x")
    rows[100] = ["too", "short"]
    rows[200] = row(5, host="dup-of-5")
    rows[249] = row("", host="h")
    path = write_csv(tmp_path / "mixed.csv", rows)
    with moto_table(monkeypatch) as table:
        # WHEN loaded with --skip-bad
        run = run_main(capsys, TABLE, str(path), "--skip-bad")
        # THEN the good rows land, the bad ones are listed, and the exit code still says so
        assert run.code == 1
        assert run.row_count == 246
        assert item_count(table) == 246
        assert run.err.splitlines() == [
            f"{path}:11: hourofday is not an integer: 'x'",
            f"{path}:101: expected 10 fields, got 2",
            f"{path}:201: duplicate requestid 5 (an earlier row has it)",
            f"{path}:250: requestid is empty",
            f"{path}: skipped 4 bad row(s) listed above",
        ]
        assert "Item" not in table.get_item(Key={"PK": "request#11"})
        assert table.get_item(Key={"PK": "request#5"})["Item"]["host"] == "66.249.67.3"
        assert "Item" in table.get_item(Key={"PK": "request#12"})


def test_skip_bad_with_clean_file_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "clean.csv", good_rows(300))
    with moto_table(monkeypatch) as table:
        run = run_main(capsys, TABLE, str(path), "--skip-bad", "--quiet")
        assert (run.code, run.row_count, item_count(table)) == (0, 300, 300)
        assert run.out.count("\n") == 1


# --------------------------------------------------------------------------------------------
# Ctrl-C and write failures: the printed count is what the table holds
# --------------------------------------------------------------------------------------------


def test_ctrl_c_reports_confirmed_rows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "rows.csv", good_rows(1000))
    real_items = load_logfile.items_to_write

    def interrupted(path: str, skip: set[int]) -> Iterator[load_logfile.Item]:
        for n, item in enumerate(real_items(path, skip)):
            if n == 550:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(load_logfile, "items_to_write", interrupted)
    with moto_table(monkeypatch) as table:
        run = run_main(capsys, TABLE, str(path), "--workers", "2")
        assert run.code == 130
        written = item_count(table)
        assert run.row_count == written
        assert written % load_logfile.ROWS_PER_TASK == 0
        assert 0 < written <= 500
        assert run.err == f"interrupted: {written} row(s) confirmed written to logfile\n"


def test_ctrl_c_while_validating(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(load_logfile, "validate_file", interrupted)
    with moto_table(monkeypatch) as table:
        run = run_main(capsys, TABLE, str(DATA_FILE))
        assert (run.code, run.row_count, item_count(table)) == (130, 0, 0)
        assert run.err == "interrupted: 0 row(s) confirmed written to logfile\n"


def test_write_failure_reports_confirmed_rows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "rows.csv", good_rows(1000))
    real_write = load_logfile.write_chunk

    def failing(tables: load_logfile._ThreadTables, chunk: list[load_logfile.Item]) -> int:
        if chunk[0]["requestid"] == 301:
            raise RuntimeError("boom")
        return real_write(tables, chunk)

    monkeypatch.setattr(load_logfile, "write_chunk", failing)
    with moto_table(monkeypatch) as table:
        run = run_main(capsys, TABLE, str(path), "--workers", "1")
        # THEN the three chunks before the failing one (and one already running, if any) are counted
        assert run.code == 3
        written = item_count(table)
        assert run.row_count == written
        assert written in (300, 400)
        assert (
            run.err == f"error: writing logfile failed after {written} confirmed row(s): RuntimeError: boom\n"
        )


def test_unprocessed_items_back_off_then_give_up() -> None:
    sleeps: list[float] = []
    backoff = load_logfile._UnprocessedBackoff(sleep=sleeps.append)
    backoff(parsed={"UnprocessedItems": {"t": [{}]}})
    backoff(parsed={"UnprocessedItems": {}})
    assert len(sleeps) == 1
    assert backoff.rounds == 0
    for _ in range(load_logfile.MAX_UNPROCESSED_ROUNDS):
        backoff(parsed={"UnprocessedItems": {"t": [{}]}})
    assert all(0 <= s <= backoff.cap for s in sleeps)
    with pytest.raises(RuntimeError, match="unprocessed 10 times in a row"):
        backoff(parsed={"UnprocessedItems": {"t": [{}]}})


# --------------------------------------------------------------------------------------------
# Progress bar: on a terminal only
# --------------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "quiet", "expect_bar"), [(True, False, True), (True, True, False), (False, False, False)]
)
def test_progress_bar_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    tty: bool,
    quiet: bool,
    expect_bar: bool,
) -> None:
    path = write_csv(tmp_path / "rows.csv", good_rows(120))
    err = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with moto_table(monkeypatch):
        args = [TABLE, str(path), *(["--quiet"] if quiet else [])]
        assert load_logfile.main(args) == 0
    assert ("writing logfile" in err.getvalue()) is expect_bar
    assert SUMMARY.match(capsys.readouterr().out.splitlines()[-1])


# --------------------------------------------------------------------------------------------
# The lab's command lines, as real processes (no AWS calls: --dry-run or a missing file)
# --------------------------------------------------------------------------------------------


def _process(args: Iterable[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    return subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("cwd", "args"),
    [
        pytest.param(
            REPO,
            [sys.executable, "loader/load_logfile.py", "logfile", "./data/logfile_stream.csv"],
            id="root",
        ),
        pytest.param(
            REPO / "loader",
            [sys.executable, "load_logfile.py", "logfile", "../data/logfile_stream.csv"],
            id="loader-dir",
        ),
    ],
)
def test_script_runs_as_a_file(cwd: Path, args: list[str]) -> None:
    done = _process([*args, "--dry-run"], cwd)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("RowCount: 2000, Total seconds: ")
    assert done.stderr == ""


def test_console_script_reports_missing_file_without_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("load-logfile")
    done = _process([str(script), "logfile", "missing.csv"], tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: file not found: missing.csv\n"


def test_loader_script_path_is_the_lab_one() -> None:
    assert LOADER_SCRIPT.is_file()


def test_unknown_profile(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "nope")
    run = run_main(capsys, TABLE, str(DATA_FILE), "--endpoint-url", "http://127.0.0.1:9")
    assert (run.code, run.out) == (2, "")
    assert run.err == "error: The config profile (nope) could not be found\n"


@pytest.mark.parametrize("workers", ["0", "65", "many"])
def test_worker_count_is_bounded(capsys: pytest.CaptureFixture[str], workers: str) -> None:
    with pytest.raises(SystemExit) as caught:
        load_logfile.main([TABLE, str(DATA_FILE), "--workers", workers])
    assert caught.value.code == 2
    assert "--workers" in capsys.readouterr().err
