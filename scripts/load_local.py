#!/usr/bin/env python3
"""Scripted load through the local host over HTTP, side by side with a raw SQLite baseline.

Starts `feedback serve` on a free port with a fresh data folder and, in one run, for ballots and
for submissions:
- the host: N requests from C concurrent keep-alive connections (spread over a few client
  processes, so the client is not the bottleneck), each by its own resident; every answer must
  be 201;
- the baseline: the same rows written straight into a SQLite file with the same schema and the
  same pragmas (WAL, synchronous=FULL, secure_delete, foreign_keys), one transaction per ballot
  or submission, one after the other. This is the rate of one writer paying one fsync a commit.

Then it checks what the load left: the tally of the vote equals the ballots cast, option by
option, and the turnout; every submission is stored once with its own number, and replaying a
sample of them with their Idempotency-Key answers with the same message and stores nothing.

    python3 scripts/load_local.py --count 3000 --connections 32 [--binary target/release/feedback]

Prints, per kind, requests per second, the baseline's rate, their ratio and latency percentiles,
and exits non-zero if a check fails. The goals (ratio >= 1.0, p99 <= 50 ms) are reported, not
enforced: they depend on the machine.
"""
import argparse
import http.client
import json
import multiprocessing
import os
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

CLIENT_PROCESSES = 4
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
           "PRAGMA secure_delete=ON")


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, base):
        url = urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def call(self, method, path, token=None, body=None, headers=None):
        head = {"content-type": "application/json", **(headers or {})}
        if token:
            head["authorization"] = "Bearer " + token
        data = json.dumps(body).encode() if body is not None else None
        try:
            self.conn.request(method, path, body=data, headers=head)
            resp = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn.request(method, path, body=data, headers=head)
            resp = self.conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")


def dev_token(client, sub, roles=("citizen",)):
    claims = {"sub": sub, "roles": list(roles), "region": "72", "municipality": "tyumen",
              "birthdate": "1990-01-01"}
    status, body = client.call("POST", "/v1/dev/tokens", body=claims)
    assert status == 200 or status == 201, (status, body)
    return body["token"]


def client_process(base, requests, threads, start_at, out):
    """Sends `requests` (tag, method, path, token, body, headers) over `threads` connections
    from `start_at` (time.monotonic) on; puts (tag, status, latency, start, end, answer) each."""
    chunks = [requests[i::threads] for i in range(threads)]
    results, lock = [], threading.Lock()

    def worker(chunk):
        client = Client(base)
        local = []
        while time.monotonic() < start_at:
            time.sleep(0.0005)
        for tag, method, path, token, body, headers in chunk:
            t0 = time.monotonic()
            status, answer = client.call(method, path, token, body, headers)
            t1 = time.monotonic()
            local.append((tag, status, t1 - t0, t0, t1, answer))
        with lock:
            results.extend(local)

    pool = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(results)


def fire(base, requests, connections):
    """All `requests` from `connections` connections; returns the results and the elapsed time."""
    per_process = [requests[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    threads = max(1, connections // CLIENT_PROCESSES)
    out = multiprocessing.Queue()
    start_at = time.monotonic() + 1.0
    procs = [multiprocessing.Process(target=client_process, args=(base, r, threads, start_at, out))
             for r in per_process]
    for p in procs:
        p.start()
    results = []
    for _ in procs:
        results.extend(out.get())
    for p in procs:
        p.join()
    elapsed = max(r[4] for r in results) - min(r[3] for r in results)
    return results, elapsed


def tokens(base, prefix, n):
    """Dev tokens for n residents, fetched concurrently before the load."""
    got = [None] * n

    def worker(k):
        client = Client(base)
        for i in range(k, n, 8):
            got[i] = dev_token(client, f"{prefix}-{i}")

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return got


def raw_db(host_db, path):
    """A fresh SQLite file with the host database's schema and pragmas."""
    src = sqlite3.connect(f"file:{host_db}?mode=ro", uri=True)
    ddl = [sql for (name, sql) in src.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                                              "ORDER BY type = 'index'") if not name.startswith("sqlite_")]
    src.close()
    db = sqlite3.connect(path, isolation_level=None)
    for p in PRAGMAS:
        db.execute(p)
    for sql in ddl:
        db.execute(sql)
    return db


def rows(db, sql, *args):
    cur = db.execute(sql, args)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def insert(db, table, row):
    cols = list(row)
    db.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
               [row[c] for c in cols])


def report(kind, n, results, elapsed, raw_rate):
    bad = [(s, a) for (_, s, _, _, _, a) in results if s != 201]
    assert not bad, f"{kind}: {len(bad)} answers were not 201, e.g. {bad[:3]}"
    q = statistics.quantiles([r[2] for r in results], n=100)
    rate = n / elapsed
    ratio = rate / raw_rate
    p99 = q[98] * 1000
    verdict = "meets" if ratio >= 1.0 and p99 <= 50 else "misses"
    print(f"{kind}: host {rate:,.0f}/s, raw single-transaction baseline {raw_rate:,.0f}/s, ratio {ratio:.2f}; "
          f"latency p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, p99 {p99:.1f} ms "
          f"({n} in {elapsed:.2f} s) -> {verdict} the goal (ratio >= 1.0, p99 <= 50 ms)", flush=True)
    return rate, ratio, p99


def ballots(base, data, scratch, n, connections):
    admin_client = Client(base)
    admin = dev_token(admin_client, "admin-load", roles=("admin",))
    now = datetime.now(UTC)
    status, poll = admin_client.call("POST", "/v1/polls", admin, {
        "kind": "vote", "title": "Нагрузочное голосование",
        "questions": [{"text": "Выберите вариант", "kind": "single", "options": ["А", "Б", "В"]}],
        "opens_at": (now - timedelta(minutes=1)).isoformat(), "closes_at": (now + timedelta(days=1)).isoformat(),
        "results": "live"})
    assert status == 201, poll
    pid = poll["id"]
    toks = tokens(base, "voter", n)
    requests = [(i, "POST", f"/v1/polls/{pid}/ballots", toks[i], {"answers": [{"question": 0, "options": [i % 3]}]},
                 None) for i in range(n)]
    results, elapsed = fire(base, requests, connections)

    # The baseline: the rows `cast_ballot` writes, in one transaction a ballot.
    host_db = os.path.join(data, "feedback.db")
    db = raw_db(host_db, os.path.join(scratch, "raw-ballots.db"))
    src = sqlite3.connect(f"file:{host_db}?mode=ro", uri=True)
    for row in rows(src, "SELECT * FROM polls WHERE id = ?", pid):
        insert(db, "polls", row)
    src.close()
    bump = ("INSERT INTO tallies (poll_id, question, option, count) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (poll_id, question, option) DO UPDATE SET count = count + 1")
    t0 = time.monotonic()
    for i in range(n):
        db.execute("BEGIN")
        doc = db.execute("SELECT doc FROM polls WHERE id = ?", (pid,)).fetchone()[0]
        json.loads(doc)
        db.execute("INSERT INTO voter_roll (poll_id, voter_hash) VALUES (?, ?)", (pid, secrets.token_hex(32)))
        db.execute("INSERT INTO receipts (receipt, poll_id) VALUES (?, ?)", (secrets.token_urlsafe(16), pid))
        db.execute(bump, (pid, -1, 0))
        db.execute(bump, (pid, 0, i % 3))
        db.execute("INSERT INTO turnout (poll_id, municipality, count) VALUES (?, 'tyumen', 1) "
                   "ON CONFLICT (poll_id, municipality) DO UPDATE SET count = count + 1", (pid,))
        db.execute("COMMIT")
    raw_rate = n / (time.monotonic() - t0)
    db.close()
    out = report("ballots", n, results, elapsed, raw_rate)

    status, res = admin_client.call("GET", f"/v1/polls/{pid}/results", admin)
    assert status == 200, res
    assert res["total_ballots"] == n, f"tally {res['total_ballots']} != {n} ballots"
    expected = [sum(1 for i in range(n) if i % 3 == o) for o in range(3)]
    counts = json.dumps(res, ensure_ascii=False)
    src = sqlite3.connect(f"file:{host_db}?mode=ro", uri=True)
    stored = dict(src.execute("SELECT option, count FROM tallies WHERE poll_id = ? AND question = 0", (pid,)))
    roll = src.execute("SELECT COUNT(*) FROM voter_roll WHERE poll_id = ?", (pid,)).fetchone()[0]
    turnout = src.execute("SELECT SUM(count) FROM turnout WHERE poll_id = ?", (pid,)).fetchone()[0]
    src.close()
    assert [stored.get(o, 0) for o in range(3)] == expected, (stored, expected, counts)
    assert roll == n and turnout == n, (roll, turnout)
    print(f"ballots: tally exact: {n} ballots, options {expected}, voter roll {roll}, turnout {turnout}")
    return out


def submissions(base, data, scratch, n, connections):
    toks = tokens(base, "resident", n)
    keys = [f"load-{secrets.token_hex(8)}" for _ in range(n)]
    body = lambda i: {"category_id": "dorogi-yamy",
                      "text": f"Яма номер {i} на проезжей части у дома {i % 90 + 1} по улице Республики"}
    requests = [(i, "POST", "/v1/messages", toks[i], body(i), {"Idempotency-Key": keys[i]}) for i in range(n)]
    results, elapsed = fire(base, requests, connections)
    created = {r[0]: r[5] for r in results if r[1] == 201}
    ids = [m["id"] for m in created.values()]
    numbers = [m.get("number") for m in created.values()]

    # The baseline: the rows `reserve_numbers` and `create_message` write (the number sequence,
    # the quota, the two queued jobs, the message, its history entry and number, the counters,
    # the idempotency record), taken from what the host stored, one transaction a submission.
    host_db = os.path.join(data, "feedback.db")
    src = sqlite3.connect(f"file:{host_db}?mode=ro", uri=True)
    messages = rows(src, "SELECT * FROM messages")
    first = {r["message_id"]: r for r in rows(src, "SELECT * FROM history WHERE seq = "
                                              "(SELECT MIN(seq) FROM history h WHERE h.message_id = history.message_id)")}
    numbers_of = {r["message_id"]: r for r in rows(src, "SELECT * FROM message_numbers")}
    idem = {json.loads(r["doc"])["response"]["id"]: r for r in rows(src, "SELECT * FROM idempotency")}
    counter_cols = [r[1] for r in src.execute("SELECT * FROM pragma_table_info('counter_items')")][2:]
    touched = [(s, sl) for (s, sl) in src.execute("SELECT series, slot FROM counter_items WHERE submitted = ?", (n,))]
    quota = rows(src, "SELECT * FROM quotas LIMIT 1")
    src.close()
    assert len(messages) == n, f"{len(messages)} messages stored for {n} submissions"
    db = raw_db(host_db, os.path.join(scratch, "raw-submissions.db"))
    upsert = (f"INSERT INTO counter_items (series, slot, {', '.join(counter_cols)}) VALUES (?, ?, "
              f"{', '.join('?' * len(counter_cols))}) ON CONFLICT (series, slot) DO UPDATE SET "
              + ", ".join(f"{c} = {c} + excluded.{c}" for c in counter_cols))
    increments = [1 if c in ("submitted", "messages") else 0 for c in counter_cols]
    window = quota[0]["window"] if quota else "0"
    t0 = time.monotonic()
    for i, m in enumerate(messages):
        mid = m["id"]
        db.execute("BEGIN")
        db.execute("INSERT INTO sequences (name, last) VALUES ('message_number', 1) "
                   "ON CONFLICT (name) DO UPDATE SET last = last + 1 RETURNING last").fetchone()
        db.execute("DELETE FROM quotas WHERE key = ? AND window < ?", (f"submit#{i}", window))
        db.execute("INSERT INTO quotas (key, window, count, expires_ms) VALUES (?, ?, 1, 0) "
                   "ON CONFLICT (key, window) DO UPDATE SET count = count + 1 WHERE count < 10",
                   (f"submit#{i}", window))
        for job, body_ in ((f"route-{mid}", json.dumps({"job": "route_message", "message_id": mid})),
                           (f"publish-{mid}", first[mid]["doc"])):
            db.execute("INSERT INTO queue (queue, message_id, body, sent_ms, visible_ms) VALUES ('work', ?, ?, 0, 0) "
                       "ON CONFLICT(message_id) DO NOTHING", (job, body_))
        insert(db, "messages", m)
        insert(db, "history", first[mid])
        if mid in numbers_of:
            insert(db, "message_numbers", numbers_of[mid])
        for series, slot in touched:
            db.execute(upsert, (series, slot, *increments))
        if mid in idem:
            insert(db, "idempotency", idem[mid])
        db.execute("COMMIT")
    raw_rate = n / (time.monotonic() - t0)
    db.close()
    out = report("submissions", n, results, elapsed, raw_rate)

    assert len(set(ids)) == n and len(set(numbers)) == n, "every submission has its own message and number"
    sample = range(0, n, max(1, n // 50))
    replay = [(i, "POST", "/v1/messages", toks[i], body(i), {"Idempotency-Key": keys[i]}) for i in sample]
    again, _ = fire(base, replay, min(connections, len(replay)))
    wrong = [(r[0], r[1]) for r in again if r[1] not in (200, 201) or r[5]["id"] != created[r[0]]["id"]]
    assert not wrong, f"replays not answered with their own message: {wrong[:5]}"
    src = sqlite3.connect(f"file:{host_db}?mode=ro", uri=True)
    stored = src.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    src.close()
    assert stored == n, f"{stored} messages after the replay, {n} expected"
    print(f"submissions: exact: {n} stored, each with its own number; {len(again)} replays with their "
          f"Idempotency-Key answered with their message and stored nothing")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=3000, help="ballots, and submissions, per kind")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--binary", default="target/release/feedback")
    ap.add_argument("--kinds", nargs="+", default=["ballots", "submissions"], choices=["ballots", "submissions"])
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="feedback-load-")
    scratch = tempfile.mkdtemp(prefix="feedback-load-raw-", dir=os.path.dirname(data))
    env = {**os.environ, "RUST_LOG": "warn", "FEEDBACK_SUBMISSIONS_PER_HOUR": "1000000"}
    proc = subprocess.Popen(
        [args.binary, "serve", "--addr", "127.0.0.1:0", "--data", data, "--schedule-every", "60s"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        base = None
        for line in proc.stdout:
            if line.startswith("feedback: listening on "):
                base = line.split()[-1].strip()
                break
        assert base, "the host did not start"
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start; "
              f"{args.connections} connections from {CLIENT_PROCESSES} client processes", flush=True)
        if "ballots" in args.kinds:
            ballots(base, data, scratch, args.count, args.connections)
        if "submissions" in args.kinds:
            submissions(base, data, scratch, args.count, args.connections)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
