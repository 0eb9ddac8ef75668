"""`make bench`: every benchmark in one run, with its baseline measured beside it on this machine.

- loader:   rows/s of loader/load_logfile.py vs the lab's one-put_item-per-row loader (LocalStack)
- handler:  write calls per 100-record batch and CPU µs per record vs the lab's handler (moto in-process)
- pipeline: `make e2e` convergence seconds for the workshop data vs the poll-rate bound
- backfill: items/s and write calls per item of `ddb-replica backfill` on 20,000 seeded items
            (LocalStack), per copy mode and `--serverless` (the module's Step Functions map and Lambda)
            against the per-item conditional put (`--copy item`); `verify` s
- setup:    `make setup` time when everything is cached

Writes bench/results.json, bench/results.md and bench/results.png. Exits non-zero only when a run failed;
no figure is judged here (the goals are printed beside the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from e2e import localstack  # noqa: E402

BENCH = ROOT / "bench"
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[int, float]:
    """Run a command with its output shown; return its exit code and wall seconds."""
    started = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, check=False).returncode
    return code, time.perf_counter() - started


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def bench_loader(runs: int) -> dict[str, Any]:
    out = ROOT / "build" / "bench-loader.json"
    code, _ = run(
        [
            sys.executable,
            "bench/loader_bench.py",
            "--endpoint-url",
            ENDPOINT,
            "--runs",
            str(runs),
            "--json",
            str(out),
        ]
    )
    return {"exit_code": code, **(read_json(out) if out.exists() else {})}


def bench_handler() -> dict[str, Any]:
    out = ROOT / "build" / "bench-handler.json"
    code, _ = run([sys.executable, "bench/handler_bench.py", "--json", str(out)])
    return {"exit_code": code, **(read_json(out) if out.exists() else {})}


def bench_pipeline() -> dict[str, Any]:
    summary = ROOT / "build" / "e2e-summary.json"
    summary.unlink(missing_ok=True)
    code, _ = run([sys.executable, "tools/e2e.py", "--pre-stream-rows", "0"])  # the pipeline alone
    return {"exit_code": code, **(read_json(summary) if summary.exists() else {})}


def bench_backfill() -> dict[str, Any]:
    out = ROOT / "build" / "bench-backfill.json"
    out.unlink(missing_ok=True)
    code, _ = run([sys.executable, "bench/backfill_bench.py", "--endpoint-url", ENDPOINT, "--json", str(out)])
    return {"exit_code": code, **(read_json(out) if out.exists() else {})}


def bench_setup() -> dict[str, Any]:
    code, seconds = run(["bash", "tools/setup.sh"])
    return {"exit_code": code, "cached_seconds": round(seconds, 2)}


def versions() -> dict[str, str]:
    env = dict(
        line.split("=", 1)
        for line in (ROOT / "tools" / "versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    tf = os.environ.get("TF", "terraform")
    tf_version = subprocess.run(
        [tf, "version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return {
        "python": platform.python_version(),
        "terraform_cli": tf_version[0] if tf_version else tf,
        "aws_provider": f"{env.get('AWS_PROVIDER_VERSION')} ({env.get('AWS_PROVIDER_COMMIT')})",
        "localstack_core": env.get("LOCALSTACK_CORE_VERSION", "?"),
    }


def machine() -> dict[str, str]:
    return {
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
        "processor": platform.processor() or platform.machine(),
    }


def fmt(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown(results: dict[str, Any]) -> str:
    loader, handler, pipeline = results["loader"], results["handler"], results["pipeline"]
    modes = results["backfill"].get("modes", {})
    serverless = results["backfill"].get("serverless") or {}
    redrive = results["backfill"].get("redrive") or {}
    lab_l, ours_l = loader.get("results", {}).get("lab", {}), loader.get("results", {}).get("ours", {})
    lab_h, ours_h = handler.get("lab", {}), handler.get("ours", {})
    rows = [
        (
            "loader rows/s (best of runs)",
            ours_l.get("rows_per_second"),
            lab_l.get("rows_per_second"),
            f"{fmt(loader.get('speedup'), 1)}x",
            ">= 10x",
        ),
        (
            "handler write calls / 100 records",
            ours_h.get("write_calls"),
            lab_h.get("write_calls"),
            "",
            "<= 4",
        ),
        (
            "handler CPU µs / record",
            ours_h.get("cpu_us_per_record"),
            lab_h.get("cpu_us_per_record"),
            fmt(_ratio(ours_h.get("cpu_us_per_record"), lab_h.get("cpu_us_per_record"))) + "x",
            "<= 0.2x",
        ),
        (
            "handler write calls / 100 records, 2 targets",
            handler.get("ours, 2 targets", {}).get("write_calls"),
            ours_h.get("write_calls"),
            "(1 target)",
            "",
        ),
        (
            "handler CPU µs / record, 3 targets",
            handler.get("ours, 3 targets", {}).get("cpu_us_per_record"),
            ours_h.get("cpu_us_per_record"),
            fmt(
                _ratio(
                    handler.get("ours, 3 targets", {}).get("cpu_us_per_record"),
                    ours_h.get("cpu_us_per_record"),
                )
            )
            + "x of 1 target",
            "",
        ),
        (
            "pipeline convergence s (2000 rows)",
            pipeline.get("convergence_seconds"),
            pipeline.get("poll_bound_seconds"),
            fmt(_ratio(pipeline.get("convergence_seconds"), pipeline.get("poll_bound_seconds")))
            + "x of bound",
            "<= 1.5x bound",
        ),
        (
            f"backfill items/s ({results['backfill'].get('items')} items; batch vs per-item put)",
            modes.get("batch", {}).get("items_per_second"),
            modes.get("item", {}).get("items_per_second"),
            fmt(results["backfill"].get("batch_speedup_over_item")) + "x",
            ">= 3x",
        ),
        (
            "backfill write calls per copied item (batch vs per-item)",
            modes.get("batch", {}).get("write_calls_per_copied_item"),
            modes.get("item", {}).get("write_calls_per_copied_item"),
            "",
            "<= 0.05",
        ),
        (
            "backfill items/s, serverless (8 segments in Lambda at once) vs per-item put",
            serverless.get("items_per_second"),
            modes.get("item", {}).get("items_per_second"),
            fmt(results["backfill"].get("serverless_speedup_over_item")) + "x",
            "",
        ),
        (
            "backfill write calls per copied item, serverless",
            serverless.get("write_calls_per_copied_item"),
            modes.get("item", {}).get("write_calls_per_copied_item"),
            "",
            "<= 0.05",
        ),
        (
            "verify seconds (both tables)",
            results["backfill"].get("verify_seconds"),
            "",
            "",
            "",
        ),
        (
            "backfill again, nothing to write (s)",
            results["backfill"].get("rerun_seconds"),
            "",
            "",
            "",
        ),
        (
            "one failed 100-record batch fixed, s (redrive vs verify --repair of the 20,000-item table)",
            redrive.get("redrive_seconds"),
            redrive.get("repair_seconds"),
            fmt(redrive.get("redrive_speedup_over_repair")) + "x faster",
            "",
        ),
        ("make setup, cached (s)", results["setup"].get("cached_seconds"), "", "", "<= 10 s"),
    ]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {results['date']} by `make bench` on {results['machine']['platform']} "
        f"({results['machine']['cpus']} CPUs); versions: "
        + ", ".join(f"{name} {value}" for name, value in results["versions"].items())
        + ".",
        "",
        "| figure | ours | baseline | ratio | goal |",
        "|---|---|---|---|---|",
        *[
            f"| {name} | {fmt(ours)} | {fmt(base)} | {ratio} | {goal} |"
            for name, ours, base, ratio, goal in rows
        ],
        "",
        "Baselines: the lab's loader (one `put_item` per row) and handler (one `put_item` per record), run",
        "in the same process against the same LocalStack/moto; the pipeline's baseline is the poll-rate",
        "bound (batches of 100 x the mapping's poll interval); the backfill's, its first copy: one",
        "conditional PutItem per item (`--copy item`), on the same source table in the same run.",
    ]
    return "\n".join(lines) + "\n"


def _ratio(a: Any, b: Any) -> float | None:
    return a / b if isinstance(a, int | float) and isinstance(b, int | float) and b else None


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loader, pipeline = results["loader"].get("results", {}), results["pipeline"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    rates = [
        loader.get("lab", {}).get("rows_per_second") or 0,
        loader.get("ours", {}).get("rows_per_second") or 0,
    ]
    left.bar(
        ["lab loader\n(put_item per row)", "ours\n(batch_writer, threads)"], rates, color=["grey", "tab:blue"]
    )
    left.set_ylabel("rows / s (higher is better)")
    left.set_title("Loader, 2000 workshop rows, LocalStack")
    seconds = [pipeline.get("poll_bound_seconds") or 0, pipeline.get("convergence_seconds") or 0]
    right.bar(["poll-rate bound", "measured"], seconds, color=["grey", "tab:green"])
    right.set_ylabel("seconds from load start (lower is better)")
    right.set_title("Replica convergence, 2000 rows")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="loader runs per loader (best counts)")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    (ROOT / "build").mkdir(exist_ok=True)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
    }
    results["versions"] = versions()
    say("setup (cached)")
    results["setup"] = bench_setup()
    say("handler (moto in-process)")
    results["handler"] = bench_handler()
    with localstack(ENDPOINT):
        say("loader (LocalStack)")
        results["loader"] = bench_loader(args.runs)
        say("pipeline (make e2e on LocalStack)")
        results["pipeline"] = bench_pipeline()
        say("backfill and verify (LocalStack)")
        results["backfill"] = bench_backfill()
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (BENCH / "results.md").write_text(markdown(results), encoding="utf-8")
    chart(results, BENCH / "results.png")
    print(markdown(results))
    say("wrote bench/results.json, bench/results.md, bench/results.png")
    failed = [
        name
        for name in ("setup", "handler", "loader", "pipeline", "backfill")
        if results[name].get("exit_code")
    ]
    if failed:
        print(f"bench: FAILED runs: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
