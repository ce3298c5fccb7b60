#!/usr/bin/env python3
"""A local stand-in for the OSV query API (`POST /v1/query`), for offline agreement runs.

pip-audit can audit against any OSV API (`pip-audit -s osv --osv-url URL`). osv.dev is not
reachable from the benchmark machines, so this serves the same offline records custody's store is
fed from (OSV JSON or YAML files, e.g. ../shared/advisories/pypa-osv), with its own matcher: the
OSV schema's evaluation written out here from the specification, sharing no code with custody, so
an agreement run compares two independent readings of the same data.

Matching, as osv.dev does for PyPI: a record applies to (name, version) when one of its `affected`
entries names the PyPI package (PEP 503 names) and either lists the version in `versions` or has
an ECOSYSTEM range whose sorted events put the version inside (introduced <= v < fixed, or
v <= last_affected; PEP 440 order). Withdrawn records are served as they are: pip-audit drops them
itself. Stdlib + PyYAML + packaging only.

    python bench/osv_standin.py --port 8790 ../shared/advisories/pypa-osv ../shared/advisories/mal-osv
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_records(paths: list[Path]) -> Iterator[dict[str, Any]]:
    """Every OSV record (JSON or YAML file) under `paths`. YAML is read with all scalars as text,
    so versions such as 1.10 stay strings."""
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if path.suffix == ".json":
                doc = json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix in (".yaml", ".yml"):
                doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
            else:
                continue
            if isinstance(doc, dict) and "id" in doc:
                yield doc


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def in_range(version: Version, events: list[dict[str, str]]) -> bool:
    """The OSV specification's evaluation of one ECOSYSTEM range, events sorted by version."""
    keyed: list[tuple[Version, int, str]] = []
    for event in events:
        for kind in ("introduced", "fixed", "last_affected"):
            if kind in event:
                text = event[kind]
                at = Version("0") if (kind == "introduced" and text == "0") else _version(text)
                if at is not None:
                    keyed.append((at, ("introduced", "fixed", "last_affected").index(kind), kind))
    affected = False
    for at, _, kind in sorted(keyed):
        if kind == "introduced" and version >= at:
            affected = True
        elif (kind == "fixed" and version >= at) or (kind == "last_affected" and version > at):
            affected = False
    return affected


def applies(record: dict[str, Any], name: str, version_text: str) -> bool:
    version = _version(version_text)
    for affected in record.get("affected") or []:
        package = affected.get("package") or {}
        if package.get("ecosystem") != "PyPI" or canonical(package.get("name", "")) != name:
            continue
        listed = affected.get("versions") or []
        if version_text in listed or (version is not None and any(_version(v) == version for v in listed)):
            return True
        if version is None:
            continue
        for spans in affected.get("ranges") or []:
            if spans.get("type") == "ECOSYSTEM" and in_range(version, spans.get("events") or []):
                return True
    return False


class Index:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.by_name: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            names = {
                canonical((a.get("package") or {}).get("name", ""))
                for a in record.get("affected") or []
                if (a.get("package") or {}).get("ecosystem") == "PyPI"
            }
            for name in names:
                self.by_name.setdefault(name, []).append(record)

    def query(self, name: str, version: str) -> list[dict[str, Any]]:
        wanted = canonical(name)
        return [r for r in self.by_name.get(wanted, []) if applies(r, wanted, version)]


def make_server(index: Index, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                package = body["package"]
                if package.get("ecosystem", "PyPI") != "PyPI":
                    raise ValueError("only PyPI")
                vulns = index.query(package["name"], body["version"])
            except (KeyError, TypeError, ValueError) as exc:
                self.send_error(400, str(exc))
                return
            payload = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def start(paths: list[Path]) -> tuple[str, ThreadingHTTPServer, int]:
    """Serve the records under `paths` in a background thread: (query URL, server, record count)."""
    records = list(read_records(paths))
    server = make_server(Index(records))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/v1/query", server, len(records)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", type=Path, nargs="+")
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    index = Index(list(read_records(args.paths)))
    server = make_server(index, args.port)
    print(f"OSV stand-in on http://127.0.0.1:{args.port}/v1/query (pid {os.getpid()})", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
