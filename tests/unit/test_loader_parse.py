"""Pure row parsing and file reading: no AWS."""

from __future__ import annotations

import string
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from loader_fixtures import FIRST_ROW, csv_text, row, write_csv

from loader.load_logfile import (
    FIELDS,
    InputChangedError,
    Record,
    RowError,
    UndecodableError,
    checked_rows,
    chunked,
    item_size,
    items_to_write,
    iter_records,
    parse_row,
)

# --------------------------------------------------------------------------------------------
# parse_row: item layout
# --------------------------------------------------------------------------------------------


def test_first_row_gives_the_lab_item() -> None:
    # GIVEN the first row of the workshop data  WHEN parsed
    item = parse_row(FIRST_ROW)
    # THEN every attribute has the lab's name, value and type (N as int, S as str), no servererror
    assert item == {
        "PK": "request#4001",
        "GSI_1_PK": "host#66.249.67.3",
        "requestid": 4001,
        "host": "66.249.67.3",
        "date": "2009-07-21",
        "hourofday": 6,
        "timezone": "GMT-0700",
        "method": "GET",
        "url": "/gallery/main.php?g2_itemId=25483",
        "responsecode": 200,
        "bytessent": 7989,
        "useragent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    }


@pytest.mark.parametrize("code", ["500", "0500", "+500"])
def test_responsecode_500_marks_servererror(code: str) -> None:
    item = parse_row(row(responsecode=code))
    assert isinstance(item, dict)
    assert item["responsecode"] == 500
    assert item["servererror"] == "5xx"


@pytest.mark.parametrize("code", ["200", "404", "501", "503", "50"])
def test_other_codes_have_no_servererror(code: str) -> None:
    item = parse_row(row(responsecode=code))
    assert isinstance(item, dict)
    assert "servererror" not in item


def test_leading_zeros_give_the_same_number_and_key() -> None:
    item = parse_row(row("0042", hourofday="09"))
    assert isinstance(item, dict)
    assert (item["PK"], item["requestid"], item["hourofday"]) == ("request#42", 42, 9)


def test_unicode_user_agent_and_url_are_kept_verbatim() -> None:
    agent = "Mozílla/5.0 (日本語; ☃) “quoted”"
    item = parse_row(row(useragent=agent, url="/ünï/çødé?q=été"))
    assert isinstance(item, dict)
    assert item["useragent"] == agent
    assert item["url"] == "/ünï/çødé?q=été"


def test_empty_optional_string_fields_are_kept() -> None:
    item = parse_row(row(useragent="", timezone=""))
    assert isinstance(item, dict)
    assert item["useragent"] == ""


# --------------------------------------------------------------------------------------------
# parse_row: bad rows
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (row()[:9], "expected 10 fields, got 9"),
        ([*row(), "extra"], "expected 10 fields, got 11"),
        (row(""), "requestid is empty"),
        (row(host=""), "host is empty"),
        (row("abc"), "requestid is not an integer: 'abc'"),
        (row("4001.0"), "requestid is not an integer: '4001.0'"),
        (row(" 4001"), "requestid is not an integer: ' 4001'"),
        (row("4_001"), "requestid is not an integer: '4_001'"),
        (row("٤٠٠١"), "requestid is not an integer: '٤٠٠١'"),  # Arabic-Indic digits
        (row(hourofday="6.5"), "hourofday is not an integer: '6.5'"),
        (row(hourofday=""), "hourofday is not an integer: ''"),
        (row(responsecode="5xx"), "responsecode is not an integer: '5xx'"),
        (row(bytessent="-"), "bytessent is not an integer: '-'"),
        (row(bytessent="1e3"), "bytessent is not an integer: '1e3'"),
        (row("9" * 39), "requestid has more than 38 digits, DynamoDB's number precision"),
        (row(host="h" * 2044), "GSI_1_PK is 2049 bytes, over DynamoDB's 2048-byte key limit"),
    ],
)
def test_bad_row_reasons(fields: list[str], reason: str) -> None:
    assert parse_row(fields) == RowError(reason)


def test_item_over_400_kb_is_rejected() -> None:
    result = parse_row(row(url="u" * 300_000, useragent="a" * 120_000))
    assert isinstance(result, RowError)
    assert "over DynamoDB's 400 KB item limit" in result.reason


def test_item_size_bounds_numbers_generously() -> None:
    assert item_size({"n": 1, "s": "ab"}) == (1 + 21) + (1 + 2)


@given(
    requestid=st.integers(min_value=0, max_value=10**38 - 1),
    hour=st.integers(min_value=0, max_value=23),
    code=st.integers(min_value=100, max_value=599),
    sent=st.integers(min_value=0, max_value=10**12),
    text=st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
)
def test_any_valid_row_parses_to_typed_item(
    requestid: int, hour: int, code: int, sent: int, text: str
) -> None:
    fields = [
        str(requestid),
        "host" + text,
        text,
        f"{hour:02d}",
        text,
        text,
        text,
        str(code),
        str(sent),
        text,
    ]
    item = parse_row(fields)
    assert isinstance(item, dict)
    assert item["PK"] == f"request#{requestid}"
    assert item["GSI_1_PK"] == f"host#host{text}"
    assert (item["requestid"], item["hourofday"], item["responsecode"], item["bytessent"]) == (
        requestid,
        hour,
        code,
        sent,
    )
    assert ("servererror" in item) == (code == 500)
    assert set(item) - {"servererror"} == {*FIELDS, "PK", "GSI_1_PK"}


@given(st.text(alphabet=string.ascii_letters + string.punctuation + " .", min_size=1, max_size=8))
def test_non_digit_requestids_are_rejected(text: str) -> None:
    if text.lstrip("+-").isdigit():
        return
    assert parse_row(row(text)) == RowError(f"requestid is not an integer: {text!r}")


# --------------------------------------------------------------------------------------------
# Reading records: quoting, physical line numbers, encoding
# --------------------------------------------------------------------------------------------


def test_quoted_commas_stay_in_one_field(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        '1,h,2009-07-21,06,GMT-0700,GET,"/a,b,c",200,5,"Mozilla/5.0 (X11; U; Linux, en-US)"\n',
        encoding="utf-8",
    )
    [record] = iter_records(str(path))
    item = parse_row(record.fields)
    assert isinstance(item, dict)
    assert (item["url"], item["useragent"]) == ("/a,b,c", "Mozilla/5.0 (X11; U; Linux, en-US)")


def test_records_report_the_line_they_start_on(tmp_path: Path) -> None:
    # GIVEN a record whose quoted field spans two lines, an empty line and CRLF endings
    rows = [row(1), row(2, useragent="two\nlines"), row(3)]
    text = csv_text(rows[:2]) + "\n" + csv_text(rows[2:])
    path = tmp_path / "multi.csv"
    path.write_bytes(text.replace("\n", "\r\n").encode())
    # WHEN read
    records = list(iter_records(str(path)))
    # THEN line numbers are physical start lines and the embedded newline survives
    assert [r.line for r in records] == [1, 2, 5]
    assert records[1].fields[9] == "two\r\nlines"
    assert records[-1].end_offset == path.stat().st_size


def test_utf8_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text([row(7)]).encode())
    [record] = iter_records(str(path))
    assert record.fields[0] == "7"


def test_undecodable_bytes_report_their_byte_offset(tmp_path: Path) -> None:
    first = csv_text([row(1)]).encode()
    path = tmp_path / "latin1.csv"
    path.write_bytes(first + "2,h,d,06,z,GET,/,200,5,Mozilla é\n".encode("latin-1"))
    with pytest.raises(UndecodableError) as caught:
        list(iter_records(str(path)))
    offset = len(first) + len(b"2,h,d,06,z,GET,/,200,5,Mozilla ")
    assert caught.value.offset == offset
    assert (
        str(caught.value) == f"{path}:2: not valid UTF-8 at byte offset {offset} (invalid continuation byte)"
    )


def test_malformed_quoting_is_a_bad_record_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(
        csv_text([row(1)]) + '2,"h"x,d,06,z,GET,/,200,5,ua\n' + csv_text([row(3)]), encoding="utf-8"
    )
    records = list(iter_records(str(path)))
    assert [(r.line, r.csv_error is not None) for r in records] == [(1, False), (2, True), (3, False)]


def test_duplicates_are_flagged_by_numeric_value() -> None:
    records = [Record(n, fields, 0) for n, fields in enumerate([row("7"), row("8"), row("007")], start=1)]
    results = [result for _, result in checked_rows(records)]
    assert isinstance(results[0], dict)
    assert isinstance(results[1], dict)
    assert results[2] == RowError("duplicate requestid 7 (an earlier row has it)")


def test_chunked_keeps_order_and_remainder() -> None:
    items = [{"n": n} for n in range(7)]
    chunks = list(chunked(items, 3))  # type: ignore[arg-type]
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert [i for c in chunks for i in c] == items


def test_write_csv_helper_round_trips(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [row(1), row(2)])
    assert [r.fields for r in iter_records(str(path))] == [row(1), row(2)]


def test_write_pass_skips_known_bad_lines_and_refuses_new_ones(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [row(1), row("x"), row(3)])
    assert [item["requestid"] for item in items_to_write(str(path), {2})] == [1, 3]
    with pytest.raises(InputChangedError, match=r"r.csv:2: file changed during the load"):
        list(items_to_write(str(path), set()))
