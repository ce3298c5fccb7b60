"""The pre-commit hooks (.pre-commit-hooks.yaml) run by pre-commit itself, as a user's commit would:
the `.pre-commit-config.yaml` shown in README.md, pointed at a snapshot of this checkout, installed
by pre-commit into its own environment and run on a temporary git repository."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from tests.packaging.conftest import GIT_IDENTITY, ROOT, checked, run
from tests.packaging.records import ADVISORY_ID, VULNERABLE_PIN, write_advisories, write_project

PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def _readme_config() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", readme, re.DOTALL)
    assert block, "README.md has no .pre-commit-config.yaml example"
    return block.group(1)


def _git_repo(path: Path, env: dict[str, str]) -> Path:
    write_project(path)
    checked(["git", "init", "-q", path], env=env)
    checked(["git", "-C", path, "add", "."], env=env)
    return path


def _configure(repo: Path, snapshot: tuple[Path, str]) -> None:
    """The README's config, with its placeholder repository and tag replaced by the snapshot."""
    source, rev = snapshot
    config = re.sub(r"repo: \S+", f"repo: {source}", _readme_config(), count=1)
    config = re.sub(r"rev: \S+", f"rev: {rev}", config, count=1)
    (repo / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")


def _env(tmp_path: Path, shared: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CUSTODY_"))}
    env.update(
        HOME=str(tmp_path / "home"),
        PRE_COMMIT_HOME=str(shared / "pre-commit-home"),
        CUSTODY_ADVISORY_DB=str(tmp_path / "advisories.sqlite"),
        CUSTODY_DIGEST_CACHE=str(tmp_path / "digests.sqlite"),
        **GIT_IDENTITY,
    )
    return env


def _status(output: str, hook: str) -> str:
    match = re.search(rf"^{re.escape(hook)}\.+(\w+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_hooks_pass_a_clean_repository_and_fail_a_vulnerable_pin(
    tmp_path: Path, shared_dir: Path, core_venv: Path, snapshot: tuple[Path, str]
) -> None:
    env = _env(tmp_path, shared_dir)
    # the advisory store the audit hook reads, built once by the user (custody from the fresh venv)
    records = write_advisories(tmp_path / "records")
    checked([core_venv / "custody", "db", "update", "--from", records], env=env)
    repo = _git_repo(tmp_path / "repo", env)
    (repo / "requirements.txt").write_text("packaging==24.1\n", encoding="utf-8")
    _configure(repo, snapshot)
    checked(["git", "-C", repo, "add", "."], env=env)

    clean = run([*PRE_COMMIT, "run", "--all-files"], cwd=repo, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert _status(clean.stdout, "custody scan") == "Passed"
    assert _status(clean.stdout, "custody audit") == "Passed"

    (repo / "requirements.txt").write_text(f"{VULNERABLE_PIN}\n", encoding="utf-8")
    checked(["git", "-C", repo, "add", "."], env=env)
    dirty = run([*PRE_COMMIT, "run", "--all-files"], cwd=repo, env=env)
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert _status(dirty.stdout, "custody audit") == "Failed"
    assert ADVISORY_ID in dirty.stdout


def test_the_audit_hook_fails_closed_without_an_advisory_store(
    tmp_path: Path, shared_dir: Path, snapshot: tuple[Path, str]
) -> None:
    env = _env(tmp_path, shared_dir)
    repo = _git_repo(tmp_path / "repo", env)
    (repo / "requirements.txt").write_text("packaging==24.1\n", encoding="utf-8")
    _configure(repo, snapshot)
    checked(["git", "-C", repo, "add", "."], env=env)
    done = run([*PRE_COMMIT, "run", "custody-audit", "--all-files"], cwd=repo, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert _status(done.stdout, "custody audit") == "Failed"
    assert "custody db update" in done.stdout


def test_the_readme_example_is_a_valid_config(tmp_path: Path) -> None:
    """The README's `.pre-commit-config.yaml` is one pre-commit accepts, naming these hooks."""
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(_readme_config(), encoding="utf-8")
    checked([*PRE_COMMIT, "validate-config", config])
    hooks = set(re.findall(r"- id: (\S+)", (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")))
    named = set(re.findall(r"- id: (\S+)", _readme_config()))
    assert named and named <= hooks
