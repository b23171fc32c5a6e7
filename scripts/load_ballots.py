#!/usr/bin/env python3
"""Scripted ballot load through the local host over HTTP (loopback only, bounded).

Starts `feedback serve` on a free port with a fresh data folder, creates an open vote as the
dev admin, issues dev tokens for N citizens, then casts their ballots from W concurrent
workers and reports ballots per second and latency percentiles. Every ballot must be 201 and
the final tally must equal N.

    python3 scripts/load_ballots.py --voters 2000 --workers 8 [--binary target/release/feedback]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta


def call(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--voters", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--binary", default="target/release/feedback")
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="feedback-load-")
    proc = subprocess.Popen(
        [args.binary, "serve", "--addr", "127.0.0.1:0", "--data", data, "--schedule-every", "60s"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "RUST_LOG": "warn"},
    )
    try:
        base = None
        for line in proc.stdout:
            if line.startswith("feedback: listening on "):
                base = line.split()[-1].strip()
                break
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        token = lambda claims: call(base, "POST", "/v1/dev/tokens", body=claims)[1]["token"]
        admin = token({"sub": "admin-load", "roles": ["admin"], "region": "72"})
        now = datetime.now(UTC)
        status, poll = call(base, "POST", "/v1/polls", admin, {
            "kind": "vote", "title": "Нагрузочное голосование",
            "questions": [{"text": "Выберите вариант", "kind": "single", "options": ["А", "Б", "В"]}],
            "opens_at": (now - timedelta(minutes=1)).isoformat(), "closes_at": (now + timedelta(days=1)).isoformat(),
            "results": "live"})
        assert status == 201, poll
        pid = poll["id"]
        tokens = [token({"sub": f"load-{i}", "roles": ["citizen"], "region": "72", "municipality": "tyumen",
                         "birthdate": "1990-01-01"}) for i in range(args.voters)]
        latencies = []
        lock = threading.Lock()

        def vote(i):
            t0 = time.perf_counter()
            s, body = call(base, "POST", f"/v1/polls/{pid}/ballots", tokens[i], {"answers": [{"question": 0, "options": [i % 3]}]})
            dt = time.perf_counter() - t0
            assert s == 201, (s, body)
            with lock:
                latencies.append(dt)

        start = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(vote, range(args.voters)))
        elapsed = time.perf_counter() - start
        status, results = call(base, "GET", f"/v1/polls/{pid}/results", admin)
        assert results["total_ballots"] == args.voters, results
        q = statistics.quantiles(latencies, n=100)
        print(f"ballots: {args.voters} in {elapsed:.2f} s = {args.voters / elapsed:.0f} ballots/s "
              f"with {args.workers} workers; latency p50 {q[49]*1000:.1f} ms, p95 {q[94]*1000:.1f} ms, "
              f"p99 {q[98]*1000:.1f} ms; tally {results['total_ballots']} exact")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
