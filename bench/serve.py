#!/usr/bin/env python3
"""`neardup serve` under load, beside datasketch's MinHashLSH on Redis (issue 11).

    bench/.venv/bin/python bench/serve.py [--index-records 100000] [--seconds 8] [--neardup PATH]

Records: the speed sample (short records cut from debdocs, bench/speed_sample.py), the first
`--index-records` of it in the index (`neardup index create` + `dedup --index`), the next
`--query-records` checked, the rest added.

1. CLI: `neardup dedup --index COPY QUERY.jsonl` on a copy of the index: records/s.
2. Service: `neardup serve` on 127.0.0.1 (port chosen by the bench), then for 1, 8 and 64
   concurrent clients (threads, one keep-alive connection each) and batches of 1 and 100 records:
   `check` (the query records), `add` (records not yet in the index; once they run out, the same
   records with their words shuffled, new texts too) and `mix` (9 checks to 1 add). Each phase
   stops after `--seconds` or `--max-requests` requests, whichever first:
   records/s, p50/p99 request latency, errors (anything but 200).
3. Peer: datasketch `MinHashLSH` (the index's threshold and permutations, word 5-gram shingles of
   the lower-cased text) with Redis storage on a `redis-server` the bench starts on 127.0.0.1:
   MinHash time, `insert` one by one, `insertion_session` (pipelined), `query`; bounded by
   `--peer-records` and time.

Prints the table, the ratio of the service's add rate to the peer's insert rate (target >= 100x) and
of checks over HTTP to the CLI's `dedup --index` (target >= 50 %), and the ceiling on this machine: the
check rate (no writes at all) over the peer's insert rate, which no add rate can pass (an add is a
check plus a durable write). Everything is on loopback and
bounded in count and time; the bench stops the processes it started.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = Path(os.environ.get("NEARDUP_CORPUS_DIR", "/work/corpus"))
TOKEN = "bench-token-0123456789abcdef"


def sample_path(records: int) -> Path:
    """The speed sample with at least `records` records (made by speed_sample.py if missing)."""
    for n in (200000, 60000):
        p = CORPUS / "speed" / f"sample-{n}.jsonl"
        if n >= records and p.exists():
            return p
    n = max(records, 60000)
    out = subprocess.run(
        [sys.executable, str(HERE / "speed_sample.py"), "--records", str(n)],
        check=True, stdout=subprocess.PIPE, text=True,
    ).stdout.strip().splitlines()[-1]
    return Path(out)


def read_records(path: Path, n: int) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if len(out) >= n:
                break
            r = json.loads(line)
            out.append({"id": r["id"], "text": r["text"]})
    return out


def write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def run(cmd: list[str]) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"serve.py: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return time.perf_counter() - t


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`neardup serve` on a free loopback port; stopped with SIGTERM."""

    def __init__(self, neardup: str, index: Path, tmp: Path):
        token = tmp / "token"
        token.write_text(TOKEN + "\n")
        self.log = open(tmp / "serve.log", "w")
        self.proc = subprocess.Popen(
            [neardup, "serve", "--index", str(index), "--listen", "127.0.0.1:0",
             "--token-file", str(token)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        line = self.proc.stderr.readline()
        m = re.search(r"http://([0-9.]+):(\d+)", line)
        if not m:
            self.proc.kill()
            sys.exit(f"serve.py: serve did not start: {line}{self.proc.stderr.read()}")
        self.host, self.port = m.group(1), int(m.group(2))
        threading.Thread(target=lambda: shutil.copyfileobj(self.proc.stderr, self.log), daemon=True).start()

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


class Client:
    def __init__(self, host: str, port: int):
        self.conn = http.client.HTTPConnection(host, port, timeout=120)
        self.headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def post(self, path: str, records: list[dict]) -> tuple[int, dict | None]:
        body = json.dumps({"records": records}).encode()
        try:
            self.conn.request("POST", path, body=body, headers=self.headers)
            r = self.conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            return 0, None
        return r.status, (json.loads(data) if r.status == 200 else None)

    def get(self, path: str) -> dict:
        self.conn.request("GET", path, headers=self.headers)
        return json.loads(self.conn.getresponse().read())


class Feed:
    """Thread-safe supply of batches: checks cycle over `query`; adds take `fresh` records in
    order and, once they run out, again with their words shuffled (a fixed shuffle per round and
    record, id `<id>@<round>`): texts with other shingles, so new to the index as well."""

    def __init__(self, query: list[dict], fresh: list[dict]):
        self.query, self.fresh = query, fresh
        self.q = self.f = 0
        self.lock = threading.Lock()

    def take(self, kind: str, n: int) -> list[dict]:
        with self.lock:
            src = self.query if kind == "check" else self.fresh
            i = self.q if kind == "check" else self.f
            if kind == "check":
                out = [src[(i + k) % len(src)] for k in range(n)]
            else:
                out = [shuffled(src[(i + k) % len(src)], (i + k) // len(src), i + k) for k in range(n)]
            if kind == "check":
                self.q = (i + n) % len(src)
            else:
                self.f = i + n
            return out


def shuffled(rec: dict, round_: int, seq: int) -> dict:
    if round_ == 0:
        return rec
    words = rec["text"].split()
    random.Random(round_ * 1_000_003 + seq).shuffle(words)
    return {"id": f"{rec['id']}@{round_}", "text": " ".join(words)}


def phase(server: Server, feed: Feed, clients: int, batch: int, mix: str, seconds: float,
          max_requests: int) -> dict:
    lat: list[float] = []
    counts = {"records": 0, "errors": 0, "requests": 0, "added": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    issued = [0]

    def worker(k: int) -> None:
        c = Client(server.host, server.port)
        n = 0
        while time.perf_counter() < deadline:
            with lock:
                if issued[0] >= max_requests:
                    return
                issued[0] += 1
                seq = issued[0]
            kind = mix if mix != "mix" else ("add" if seq % 10 == 0 else "check")
            recs = feed.take(kind, batch)
            t = time.perf_counter()
            status, out = c.post(f"/v1/{kind}", recs)
            dt = time.perf_counter() - t
            ok = status == 200 and out is not None and len(out["results"]) == len(recs)
            with lock:
                lat.append(dt)
                counts["requests"] += 1
                if ok:
                    counts["records"] += len(recs)
                    counts["added"] += sum(1 for r in out["results"] if r["added"])
                else:
                    counts["errors"] += 1
            n += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
    return {
        "mix": mix, "clients": clients, "batch": batch, "requests": counts["requests"],
        "records": counts["records"], "added": counts["added"], "seconds": wall,
        "rps": counts["records"] / wall, "p50_ms": q(0.50), "p99_ms": q(0.99), "errors": counts["errors"],
    }


def peer(records: list[dict], settings: dict, seconds: float) -> dict:
    """datasketch MinHashLSH on Redis: MinHash, insert (one by one and pipelined), query."""
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError as e:
        return {"error": f"datasketch not installed ({e}); run: python3 -m venv bench/.venv && "
                         "bench/.venv/bin/pip install datasketch redis"}
    exe = shutil.which("redis-server")
    if not exe:
        return {"error": "redis-server not found (apt-get install -y redis-server)"}
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="neardup-redis-")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", tmp],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        import redis
        r = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(100):
            try:
                r.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        near = settings["near"]
        num_perm, threshold, n_words = near["num_perm"], near["threshold"], int(near["shingling"].split(":")[1])
        cfg = {"type": "redis", "redis": {"host": "127.0.0.1", "port": port}}

        t = time.perf_counter()
        sigs = []
        for rec in records:
            words = rec["text"].lower().split()
            m = MinHash(num_perm=num_perm)
            m.update_batch([" ".join(words[i:i + n_words]).encode() for i in range(max(1, len(words) - n_words + 1))])
            sigs.append((rec["id"], m))
            if time.perf_counter() - t > seconds:
                break
        minhash_s = time.perf_counter() - t
        n = len(sigs)

        def bounded(f, items):
            t = time.perf_counter()
            done = 0
            for it in items:
                f(it)
                done += 1
                if time.perf_counter() - t > seconds:
                    break
            return done, time.perf_counter() - t

        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, storage_config=dict(cfg, basename=b"one"))
        ins_n, ins_s = bounded(lambda s: lsh.insert(s[0], s[1]), sigs)
        lsh2 = MinHashLSH(threshold=threshold, num_perm=num_perm, storage_config=dict(cfg, basename=b"session"))
        t = time.perf_counter()
        with lsh2.insertion_session(buffer_size=1000) as session:
            for key, m in sigs:
                session.insert(key, m)
        ses_s = time.perf_counter() - t
        q_n, q_s = bounded(lambda s: lsh.query(s[1]), sigs[:ins_n])
        return {
            "records": n, "bands": lsh.b, "rows": lsh.r, "minhash_rps": n / minhash_s,
            "insert_rps": ins_n / ins_s, "session_rps": n / ses_s, "query_rps": q_n / q_s,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neardup", default=str(ROOT / "target" / "release" / "neardup"))
    ap.add_argument("--index-records", type=int, default=100000)
    ap.add_argument("--query-records", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=8.0, help="time bound of each phase")
    ap.add_argument("--max-requests", type=int, default=20000, help="request bound of each phase")
    ap.add_argument("--clients", default="1,8,64")
    ap.add_argument("--batches", default="1,100")
    ap.add_argument("--mixes", default="check,add,mix")
    ap.add_argument("--peer-records", type=int, default=5000)
    ap.add_argument("--tmp", default=None, help="where the index goes (default: a temp dir)")
    ap.add_argument("--history-copies", type=int, default=1,
                    help="index the base records this many times: copy k > 0 with its words shuffled "
                         "(id <id>~k, new texts), to reach an index of 1 M records from the sample")
    args = ap.parse_args()
    neardup = args.neardup
    if not Path(neardup).exists():
        sys.exit(f"serve.py: no binary at {neardup}: cargo build --release -p neardup-cli (or --neardup)")

    total = args.index_records + args.query_records * 2
    path = sample_path(total)
    records = read_records(path, total)
    if len(records) < total:
        sys.exit(f"serve.py: {path} holds {len(records)} records, fewer than {total}")
    base = records[: args.index_records]
    query = records[args.index_records: args.index_records + args.query_records]
    fresh = records[args.index_records + args.query_records:]

    tmp = Path(tempfile.mkdtemp(prefix="neardup-serve-bench-", dir=args.tmp))
    try:
        write_jsonl(tmp / "base.jsonl", base)
        write_jsonl(tmp / "query.jsonl", query)
        index = tmp / "index"
        run([neardup, "index", "create", str(index)])
        t_base = run([neardup, "dedup", "--index", str(index), str(tmp / "base.jsonl"), "-o", str(tmp / "base.out.jsonl")])
        for k in range(1, args.history_copies):
            rng = random.Random(k)
            copy = []
            for r in base:
                words = r["text"].split()
                rng.shuffle(words)
                copy.append({"id": f"{r['id']}~{k}", "text": " ".join(words)})
            write_jsonl(tmp / "copy.jsonl", copy)
            t_base += run([neardup, "dedup", "--index", str(index), str(tmp / "copy.jsonl"), "-o", str(tmp / "copy.out.jsonl")])
        (tmp / "copy.jsonl").unlink(missing_ok=True)
        (tmp / "copy.out.jsonl").unlink(missing_ok=True)
        stats = json.loads(subprocess.run([neardup, "index", "stats", "--json", str(index)],
                                          check=True, stdout=subprocess.PIPE, text=True).stdout)
        settings = stats["settings"]
        print(f"input: {path} ({len(records)} records: index {len(base)}, query {len(query)}, fresh {len(fresh)})")
        indexed = len(base) * max(1, args.history_copies)
        print(f"index: {stats['records']} records from {indexed} ({len(base)} x {max(1, args.history_copies)}) "
              f"in {t_base:.1f} s ({indexed / t_base:,.0f} records/s), "
              f"{stats.get('bytes_on_disk', 0) / 1e6:.1f} MB on disk")

        cli_index = tmp / "index-cli"
        shutil.copytree(index, cli_index)
        t_cli = run([neardup, "dedup", "--index", str(cli_index), str(tmp / "query.jsonl"), "-o", str(tmp / "query.out.jsonl")])
        cli_rps = len(query) / t_cli
        shutil.rmtree(cli_index)
        print(f"cli: dedup --index over the {len(query)} query records: {t_cli:.2f} s, {cli_rps:,.0f} records/s")

        server = Server(neardup, index, tmp)
        results = []
        try:
            feed = Feed(query, fresh)
            print(f"\n{'mix':<6} {'clients':>7} {'batch':>5} {'requests':>8} {'records':>8} {'added':>7} "
                  f"{'records/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
            for mix in args.mixes.split(","):
                for batch in (int(b) for b in args.batches.split(",")):
                    for clients in (int(c) for c in args.clients.split(",")):
                        r = phase(server, feed, clients, batch, mix, args.seconds, args.max_requests)
                        results.append(r)
                        print(f"{r['mix']:<6} {r['clients']:>7} {r['batch']:>5} {r['requests']:>8} {r['records']:>8} "
                              f"{r['added']:>7} {r['rps']:>10,.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['errors']:>6}",
                              flush=True)
            after = Client(server.host, server.port).get("/v1/stats")
        finally:
            code = server.stop()
        print(f"\nserve: SIGTERM -> exit {code}; index now {after['records']} records")

        if args.peer_records <= 0:
            print("\npeer: skipped (--peer-records 0)")
            p = None
        else:
            p = peer(query[: args.peer_records], settings, max(args.seconds, 30.0))
            print()
            if "error" in p:
                print(f"peer: {p['error']}")
                p = None
        if p is not None:
            print(f"peer: datasketch MinHashLSH, Redis storage ({p['bands']} bands x {p['rows']} rows), {p['records']} records:")
            print(f"  MinHash {p['minhash_rps']:,.0f}/s, insert {p['insert_rps']:,.0f}/s, "
                  f"insertion_session {p['session_rps']:,.0f}/s, query {p['query_rps']:,.0f}/s")
            best = lambda mix: max((r for r in results if r["mix"] == mix), key=lambda r: r["rps"], default=None)
            add, check = best("add"), best("check")
            print()
            if add:
                print(f"ratio: serve add {add['rps']:,.0f} records/s ({add['clients']} clients, batch {add['batch']}) "
                      f"/ peer insert {p['insert_rps']:,.0f}/s = {add['rps'] / p['insert_rps']:.1f}x "
                      f"(target >= 100x); / peer insertion_session {p['session_rps']:,.0f}/s = "
                      f"{add['rps'] / p['session_rps']:.1f}x")
            if check:
                print(f"ratio: serve check {check['rps']:,.0f} records/s ({check['clients']} clients, batch {check['batch']}) "
                      f"/ peer query {p['query_rps']:,.0f}/s = {check['rps'] / p['query_rps']:.1f}x")
                print(f"ratio: serve check / cli dedup --index = {check['rps'] / cli_rps:.0%} (target >= 50 %)")
                # An add is a check plus a durable write: what checks reach, with no writes at
                # all, bounds what adds can reach on this machine.
                print(f"ceiling: serve check {check['rps']:,.0f} records/s (no writes) / peer insert "
                      f"{p['insert_rps']:,.0f}/s = {check['rps'] / p['insert_rps']:.1f}x: adds at 100x would "
                      f"need {100 * p['insert_rps']:,.0f} records/s")
        errors = sum(r["errors"] for r in results)
        print(f"errors: {errors}")
        print(f"machine: {os.cpu_count()} cores, {platform_line()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def platform_line() -> str:
    import platform
    return f"{platform.system()} {platform.release()}, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
