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
  transaction per batch holding the writers' advisory lock, server settings as they are.
- proofs: a log of --proof-size entries is built through the same append path (64-byte
  bodies, no refs, to keep the file small), then random inclusion and consistency proofs against
  the full size are produced from SQLite and verified; median and 99th percentile per proof.
- hashing: custody.ledger.dataset.build_manifest (streamed SHA-256, thread pool, Merkle root)
  vs `sha256sum` on the same files, both with a warm page cache, best of three runs each.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import time
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


def bench_appends(total: int, batch: int, db: str | None) -> None:
    path = target(db, "appends", fresh=True)
    store = LedgerStore.open(path)
    backend = store.conn.dialect.name
    body = os.urandom(150).hex().encode()
    start = time.perf_counter()
    done = 0
    while done < total:
        n = min(batch, total - done)
        refs = ({"principal": ["ann"], "dataset": [f"ds{i % 50}"]} for i in range(n))
        store.append(NewEntry("accessed", body + str(done + i).encode(), r) for i, r in enumerate(refs))
        done += n
    elapsed = time.perf_counter() - start
    store.close()
    size_mb = store_bytes(db, path) / 1e6
    rate = total / elapsed
    print(
        f"appends: {backend}: {total} entries in batches of {batch}: {elapsed:.2f} s = {rate:,.0f} appends/s"
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


def bench_hash(total_mib: int) -> None:
    root = make_corpus(total_mib)
    files = [full for _, full in list_files(root)[0]]
    nbytes = sum(os.path.getsize(f) for f in files)
    sha_runs: list[float] = []
    ours: list[float] = []
    ours_1: list[float] = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(["sha256sum", *files], check=True, stdout=subprocess.DEVNULL)
        sha_runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        build_manifest(root)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        build_manifest(root, jobs=1)
        ours_1.append(time.perf_counter() - t0)
    mb = nbytes / 1e6
    sha, best, best_1 = min(sha_runs), min(ours), min(ours_1)
    print(f"hashing: {len(files)} files, {mb:,.0f} MB, warm cache, {os.cpu_count()} CPUs, best of 3")
    print(f"         sha256sum              {mb / sha:8,.0f} MB/s")
    print(f"         custody (thread pool)  {mb / best:8,.0f} MB/s = {sha / best:.0%} of sha256sum")
    print(f"         custody (1 thread)     {mb / best_1:8,.0f} MB/s = {sha / best_1:.0%} of sha256sum")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--appends", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
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
            bench_appends(args.appends, args.batch, args.db)
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
