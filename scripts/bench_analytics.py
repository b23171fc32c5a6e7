#!/usr/bin/env python3
"""Analytics at scale, through the local host: seeds two data folders with `feedback seed`
(10,000 and 1,000,000 messages by default) in one run, serves each with `feedback serve`, and
times every analytics query over HTTP, on one kept-alive connection so that the figures are the
host's and not the client's connection set-up. The goal: the 1M latency within 1.5x of the 10k latency,
because a query reads counters per group, not messages. It also reports the seeding rate, the
time each seed took, and `feedback reconcile` on each folder.

Not part of CI (the 1M seed takes a long while). Usage:
    scripts/bench_analytics.py [--sizes 10000 1000000] [--rounds 40] [--keep]
Folders are kept under target/bench-analytics/<size> and reused when already seeded.
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "feedback"
REGION_FILE = ROOT / "infra" / "regions" / "72-tyumen.toml"
REGION_TZ = ZoneInfo(re.search(r'time_zone\s*=\s*"([^"]+)"', REGION_FILE.read_text()).group(1))
QUERIES = [
    "/v1/analytics/messages?from={from_}&to={to}&group_by=category",
    "/v1/analytics/messages?from={from_}&to={to}&group_by=municipality",
    "/v1/analytics/messages?from={from_}&to={to}&group_by=authority",
    "/v1/analytics/messages?from={from_}&to={to}&group_by=status",
    "/v1/analytics/messages?from={from_}&to={to}&group_by=day",
    "/v1/analytics/authorities?from={from_}&to={to}",
    "/v1/analytics/messages.csv?from={from_}&to={to}&group_by=category",
    "/v1/analytics/messages?from={month}&to={to}&group_by=category",
    # a range in the past with ragged edges: 17 days, 4 whole months, 20 days
    "/v1/analytics/messages?from=2026-01-15&to=2026-06-20&group_by=category",
]


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True, check=False, **kw)


def seed(size, folder):
    marker = folder / "seeded.json"
    if marker.exists():
        return json.loads(marker.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    out = run([str(BIN), "seed", "--messages", str(size), "--polls", "5", "--days", "365", "--data", str(folder)])
    elapsed = time.monotonic() - started
    if out.returncode != 0:
        sys.exit(f"seed {size} failed:\n{out.stdout}\n{out.stderr}")
    report = {"messages": size, "seconds": round(elapsed, 1), "rate": round(size / elapsed, 1),
              "output": out.stdout.strip().splitlines()[-12:]}
    marker.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return report


def serve(folder):
    # The host logs every request to stdout: it goes to a file, never to a pipe nobody drains.
    log = folder / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN), "serve", "--addr", "127.0.0.1:0", "--data", str(folder),
                                 "--schedule-every", "1h"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "RUST_LOG": "warn"})
    for _ in range(300):
        m = re.search(r"listening on (http://\S+)", log.read_text())
        if m:
            return proc, m.group(1)
        time.sleep(0.1)
    proc.kill()
    sys.exit("feedback serve did not start:\n" + log.read_text())


def token(folder):
    out = run([str(BIN), "token", "--data", str(folder), "--sub", "bench-admin", "--role", "admin",
               "--role", "analyst"])
    return out.stdout.strip()


def timed(url, tok, rounds):
    parts = urllib.parse.urlsplit(url)
    path = f"{parts.path}?{parts.query}"
    conn = http.client.HTTPConnection(parts.hostname, parts.port)

    def get():
        conn.request("GET", path, headers={"Authorization": f"Bearer {tok}"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            sys.exit(f"{path}: {resp.status} {body[:300]!r}")
        return body

    for _ in range(5):
        get()
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        body = get()
        samples.append((time.perf_counter() - t) * 1000)
    conn.close()
    samples.sort()
    groups = body.count(b"\n") - 1 if b".csv" in url.encode() else len(json.loads(body).get("groups", json.loads(body).get("items", [])))
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], groups


def machine():
    """What the table needs to be read on another machine: CPU, cores, memory, load."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return (f"{datetime.date.today()}, {cpu}, {os.cpu_count()} cores, {mem} GiB, Linux {platform.release()}, "
            f"load average {os.getloadavg()[0]:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--no-reconcile", action="store_true", help="skip the recount of every counter")
    args = ap.parse_args()
    build = run(["cargo", "build", "--release", "-q", "-p", "feedback-local"])
    if build.returncode != 0:
        sys.exit(build.stderr)
    results = {}
    print(f"machine: {machine()}", flush=True)
    for size in args.sizes:
        folder = ROOT / "target" / "bench-analytics" / str(size)
        report = seed(size, folder)
        print(f"seed {size}: {report['seconds']} s, {report['rate']} messages/s", flush=True)
        if not args.no_reconcile:
            started = time.monotonic()
            rec = run([str(BIN), "reconcile", "--data", str(folder)])
            print(f"reconcile {size}: {rec.stdout.strip().splitlines()[-1]} (exit {rec.returncode}, "
                  f"{time.monotonic() - started:.1f} s)", flush=True)
        proc, base = serve(folder)
        try:
            tok = token(folder)
            # Dates are the region's local dates, as the API reads them.
            today = datetime.datetime.now(REGION_TZ).date()
            to = today.isoformat()
            from_ = (today - datetime.timedelta(days=364)).isoformat()
            month = today.replace(day=1).isoformat()
            results[size] = []
            for q in QUERIES:
                path = q.format(from_=from_, to=to, month=month)
                p50, p95, groups = timed(base + path, tok, args.rounds)
                results[size].append((path, p50, p95, groups))
        finally:
            proc.terminate()
            proc.wait()
    sizes = args.sizes
    print(f"machine at the end: {machine()}")
    print()
    print("| query | groups | " + " | ".join(f"p50 {s:,} (ms)" for s in sizes) + " | ratio |")
    print("|---|---|" + "---|" * len(sizes) + "---|")
    for i, q in enumerate(QUERIES):
        row = [results[s][i] for s in sizes]
        ratio = row[-1][1] / row[0][1] if row[0][1] else float("nan")
        label = row[0][0] if "2026-01-15" in row[0][0] else re.sub(r"from=[^&]+&to=[^&]+&?", "", row[0][0])
        print(f"| `{label}` | {row[-1][3]} | " + " | ".join(f"{r[1]:.2f}" for r in row) + f" | {ratio:.2f} |")


if __name__ == "__main__":
    main()
