"""custody ledger figures: batched appends/s on SQLite or PostgreSQL, proof produce/verify
time, hashing speed.

    python bench/ledger_bench.py [--appends 200000] [--batch 1000] [--proof-size 2000000]
                                 [--hash-mib 1024] [--skip-proofs] [--skip-hash] [--cold]
                                 [--db postgresql://USER@HOST:PORT/DB]

With --db postgresql://..., the appends and proofs run against that PostgreSQL database, each in a
schema of its own (`custody_bench_appends`, `custody_bench_proofs_SIZE`) that is dropped
afterwards unless --keep is given; the database must allow the user to CREATE SCHEMA.

Everything is written under bench/out/ledger/ (git-ignored) and removed afterwards unless
--keep is given. Figures are printed; the lead records them in bench/RESULTS.md.

- appends: NewEntry records with a 300-byte body and two exposure refs (the shape of a signed
  attestation index), appended through LedgerStore.append in batches of --batch, one
  transaction per batch, WAL, synchronous=NORMAL (custody.store's settings); on PostgreSQL one
  transaction per batch holding the writers' advisory lock, server settings as they are. On
  SQLite a plain batched insert of the same rows (the floor) alternates with it, --rounds times
  each, and custody is reported as a ratio of that floor, CPU time beside wall time.
- proofs: a log of --proof-size entries is built through the same append path (64-byte
  bodies, no refs, to keep the file small), then random inclusion and consistency proofs against
  the full size are produced from SQLite and verified; median and 99th percentile per proof.
- hashing: custody.ledger.dataset.build_manifest (streamed SHA-256, thread pool, Merkle root)
  vs `sha256sum` and `openssl dgst -sha256` on the same files, all with a warm page cache,
  alternating, best of three runs each, CPU time beside wall time.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import time
from collections.abc import Callable
from urllib.parse import quote

import psycopg

from custody.ledger import merkle
from custody.ledger.dataset import build_manifest, list_files
from custody.ledger.store import LedgerStore, NewEntry

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "ledger")
SCHEMA_PREFIX = "custody_bench_"


def target(db: str | None, name: str, *, fresh: bool) -> str:
    """SQLite: bench/out/ledger/NAME.db; PostgreSQL: schema custody_bench_NAME in --db."""
    if db is None:
        path = os.path.join(OUT, f"{name}.db")
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
        return path
    schema = SCHEMA_PREFIX + name.replace("-", "_")
    with psycopg.connect(db, autocommit=True) as conn:
        if fresh:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    joiner = "&" if "?" in db else "?"
    return f"{db}{joiner}options={quote(f'-c search_path={schema}', safe='')}"


def drop_schemas(db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (SCHEMA_PREFIX + "%",)
        ).fetchall()
        for (schema,) in rows:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def store_bytes(db: str | None, path: str) -> int:
    if db is None:
        return os.path.getsize(path)
    with psycopg.connect(path) as conn:
        row = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _append_custody(path: str, total: int, batch: int) -> None:
    store = LedgerStore.open(path)
    body = os.urandom(150).hex().encode()
    done = 0
    while done < total:
        n = min(batch, total - done)
        refs = ({"principal": ["ann"], "dataset": [f"ds{i % 50}"]} for i in range(n))
        store.append(NewEntry("accessed", body + str(done + i).encode(), r) for i, r in enumerate(refs))
        done += n
    store.close()


FLOOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS row_ (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ref_ (idx INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ref_lookup ON ref_(field, value, idx);
"""


def _append_floor(path: str, total: int, batch: int) -> None:
    """The floor: the same rows (300-byte body, a 32-byte hash, two indexed refs) inserted with
    plain sqlite3 executemany, one transaction per batch, custody.store's WAL/NORMAL settings; no
    Merkle tree, commitments, salts or JSON."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(FLOOR_SCHEMA)
    body = os.urandom(150).hex().encode()
    done = 0
    while done < total:
        n = min(batch, total - done)
        rows = [
            (done + i, hashlib.sha256(b"%d" % (done + i)).digest(), body + b"%d" % (done + i))
            for i in range(n)
        ]
        refs = [(idx, "principal", "ann") for idx, _, _ in rows]
        refs += [(idx, "dataset", f"ds{idx % 50}") for idx, _, _ in rows]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO row_(idx, hash, body) VALUES (?, ?, ?)", rows)
        conn.executemany("INSERT INTO ref_(idx, field, value) VALUES (?, ?, ?)", refs)
        conn.execute("COMMIT")
        done += n
    conn.close()


def _timed(run: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_appends(total: int, batch: int, db: str | None, rounds: int) -> None:
    """custody appends against a plain batched-insert floor measured in the same run: the
    variants alternate, `rounds` times each, and the medians are compared (the floor is SQLite
    only; on PostgreSQL the figure is absolute)."""
    custody: list[tuple[float, float]] = []
    floor: list[tuple[float, float]] = []
    path = ""
    for _ in range(rounds):
        path = target(db, "appends", fresh=True)
        custody.append(_timed(functools.partial(_append_custody, path, total, batch)))
        if db is None:
            floor_path = target(None, "floor", fresh=True)
            floor.append(_timed(functools.partial(_append_floor, floor_path, total, batch)))
    backend = "sqlite" if db is None else "postgresql"
    size_mb = store_bytes(db, path) / 1e6
    wall, cpu = statistics.median(w for w, _ in custody), statistics.median(c for _, c in custody)
    print(
        f"appends: {backend}: {total} entries in batches of {batch}, median of {rounds}:"
        f" {total / wall:,.0f} appends/s wall, {total / cpu:,.0f}/s per CPU-second"
        f" (CPU {cpu / wall:.0%} of wall)"
    )
    if floor:
        fwall, fcpu = statistics.median(w for w, _ in floor), statistics.median(c for _, c in floor)
        print(
            f"         plain SQLite batched insert (the floor): {total / fwall:,.0f} rows/s wall,"
            f" {total / fcpu:,.0f}/s per CPU-second"
        )
        print(f"         custody = {fwall / wall:.0%} of the floor (wall), {fcpu / cpu:.0%} (CPU)")
        print(
            "         runs (wall/CPU s): custody "
            + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in custody)
            + "; floor "
            + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in floor)
        )
    what = "database file" if db is None else "tables and indexes"
    print(f"         {what} {size_mb:.0f} MB ({size_mb * 1e6 / total:.0f} bytes/entry)")


def build_log(size: int, db: str | None) -> LedgerStore:
    path = target(db, f"proofs-{size}", fresh=False)
    store = LedgerStore.open(path)
    have = store.size()
    if have < size:
        start = time.perf_counter()
        body = b"e" * 56
        while have < size:
            n = min(50_000, size - have)
            store.append(NewEntry("accessed", body + have.to_bytes(8, "big")) for _ in range(n))
            have += n
        print(f"proofs:  built a log of {size:,} entries in {time.perf_counter() - start:.0f} s")
    else:
        print(f"proofs:  reusing the log of {have:,} entries at {store.path}")
    return store


def _summary(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{label}: median {statistics.median(ordered) * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms"


def evict(path: str) -> None:
    """Drop one SQLite store's clean pages from the OS page cache (the file and its WAL), so the
    first pass reads from disk: opening the store runs `PRAGMA quick_check`, which reads the whole
    file and would otherwise leave it cached."""
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            fd = os.open(path + suffix, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def bench_proofs(size: int, samples: int, db: str | None, *, cold: bool = False) -> None:
    """Two passes over the same random leaves and sizes: the first reads pages the OS may not
    have cached yet (a fresh process on a big file; --cold makes sure of it on SQLite), the
    second shows the warm-cache cost."""
    store = build_log(size, db)
    n = store.size()
    if cold and db is None:
        evict(store.path)
    rng = random.Random(6962)
    root = store.root(n)
    leaves = [rng.randrange(n) for _ in range(samples)]
    sizes = [rng.randrange(1, n) for _ in range(samples)]
    for label in ("first pass", "second pass"):
        produce: list[float] = []
        verify: list[float] = []
        for index in leaves:
            t0 = time.perf_counter()
            proof = store.inclusion_proof(index, n)
            t1 = time.perf_counter()
            leaf = store.leaf_hash(index)
            t2 = time.perf_counter()
            merkle.verify_inclusion(index, n, leaf, proof, root)
            t3 = time.perf_counter()
            produce.append(t1 - t0)
            verify.append(t3 - t2)
        print(
            f"         inclusion at size {n:,}, {samples} random leaves, {label} (proof length ~{len(proof)})"
        )
        print("         " + _summary("produce", produce) + "; " + _summary("verify", verify))
        produce.clear()
        verify.clear()
        for size1 in sizes:
            root1 = store.root(size1)
            t0 = time.perf_counter()
            cproof = store.consistency_proof(size1, n)
            t1 = time.perf_counter()
            merkle.verify_consistency(size1, n, cproof, root1, root)
            t2 = time.perf_counter()
            produce.append(t1 - t0)
            verify.append(t2 - t1)
        print(f"         consistency from random sizes to {n:,}, {samples} samples, {label}")
        print("         " + _summary("produce", produce) + "; " + _summary("verify", verify))
    store.close()


def make_corpus(total_mib: int) -> str:
    root = os.path.join(OUT, "corpus")
    marker = os.path.join(OUT, f"corpus-{total_mib}.done")
    if os.path.exists(marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    big, small = (total_mib * 7) // 8, total_mib - (total_mib * 7) // 8
    os.makedirs(os.path.join(root, "shards"))
    os.makedirs(os.path.join(root, "small"))
    chunk = os.urandom(1 << 20)
    for i in range(max(1, big // 32)):  # 32 MiB shards
        with open(os.path.join(root, "shards", f"shard-{i:04d}.bin"), "wb") as handle:
            for _ in range(32):
                handle.write(chunk)
    for i in range(small * 16):  # 64 KiB files
        with open(os.path.join(root, "small", f"f-{i:06d}.jsonl"), "wb") as handle:
            handle.write(chunk[(i % 16) << 16 : ((i % 16) + 1) << 16])
    open(marker, "w").close()
    return root


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_tool(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one external hashing command."""
    wall, cpu = time.perf_counter(), _child_cpu()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - wall, _child_cpu() - cpu


def bench_hash(total_mib: int) -> None:
    """custody's manifest hashing against `sha256sum` and `openssl dgst -sha256` on the same files,
    alternating, best of three each. `sha256sum` may lack the CPU's SHA extensions where OpenSSL
    (and so hashlib) uses them, so `openssl` is the fairer single-thread peer."""
    root = make_corpus(total_mib)
    files = [full for _, full in list_files(root)[0]]
    nbytes = sum(os.path.getsize(f) for f in files)
    runs: dict[str, list[tuple[float, float]]] = {}
    peers = {
        "sha256sum": ["sha256sum", *files],
        "openssl dgst -sha256": ["openssl", "dgst", "-sha256", *files],
    }
    for _ in range(3):
        for name, argv in peers.items():
            if shutil.which(argv[0]):
                runs.setdefault(name, []).append(_run_tool(argv))
        runs.setdefault("custody (thread pool)", []).append(_timed(lambda: build_manifest(root)))
        runs.setdefault("custody (1 thread)", []).append(_timed(lambda: build_manifest(root, jobs=1)))
    mb = nbytes / 1e6
    print(f"hashing: {len(files)} files, {mb:,.0f} MB, warm cache, {os.cpu_count()} CPUs, best of 3 (wall)")
    best = {name: min(r, key=lambda x: x[0]) for name, r in runs.items()}
    for name, (wall, cpu) in best.items():
        ratios = ", ".join(
            f"{best[peer][0] / wall:.0%} of {peer}" for peer in peers if peer in best and peer != name
        )
        print(
            f"         {name:22} {mb / wall:8,.0f} MB/s wall, {mb / cpu:8,.0f} MB/s per CPU-second  {ratios}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--appends", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating runs of custody and the floor.")
    parser.add_argument("--proof-size", type=int, default=2_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--hash-mib", type=int, default=1024)
    parser.add_argument("--skip-appends", action="store_true")
    parser.add_argument("--skip-proofs", action="store_true")
    parser.add_argument("--skip-hash", action="store_true")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="SQLite: evict the log from the OS page cache before the first pass.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep bench/out/ledger (reuse the big log).")
    parser.add_argument("--db", help="postgresql://... URL: measure appends and proofs on PostgreSQL.")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    try:
        if not args.skip_appends:
            bench_appends(args.appends, args.batch, args.db, args.rounds)
        if not args.skip_proofs:
            bench_proofs(args.proof_size, args.samples, args.db, cold=args.cold)
        if not args.skip_hash:
            bench_hash(args.hash_mib)
    finally:
        if not args.keep:
            shutil.rmtree(OUT, ignore_errors=True)
            if args.db:
                drop_schemas(args.db)


if __name__ == "__main__":
    main()
