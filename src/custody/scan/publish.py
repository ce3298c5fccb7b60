"""Commands of tools whose job is to send: `git push` and the GitHub CLI.

A package can move data off the machine without any network library: `git push` of a folder it
filled to a remote it names, `gh repo create --push`, `gh gist create FILE`, `gh api -f body=...`.
The value flow (`custody.scan.flow`) treats such a command as a send to the host it names, carrying
what its arguments carry and, for a push, what was written into the folder it publishes. This
module only reads the command: which tool, where it sends, which argument names the folder.

Words are the command's arguments as far as the code spells them, with `UNKNOWN` standing for each
part computed at run time (`f"https://{token}@host/r.git"` is `https://\\0@host/r.git`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

UNKNOWN = "\0"
"""Stands for a part of a word computed at run time."""
GITHUB = "github.com"
"""Where the GitHub CLI sends (unless `--hostname` names a GitHub Enterprise host)."""

_GIT = re.compile(r"(^|[/\\])git(\.exe)?$", re.IGNORECASE)
_GH = re.compile(r"(^|[/\\])gh(\.exe)?$", re.IGNORECASE)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://([^/?#]*)", re.IGNORECASE)
_SCP = re.compile(r"^[^\s/@:]+@([^\s/:]+):")  # git@host:owner/repo.git
_GIT_VALUE_OPTIONS = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace"})
# gh subcommands that send content the command names: files, fields, a folder to push
_GH_SENDS = frozenset({"api", "gist", "repo", "release", "issue", "pr", "secret", "variable"})
_SHELL_SEPARATORS = re.compile(r"&&|\|\||[;|\n]")


@dataclass(frozen=True, slots=True, kw_only=True)
class Publish:
    """A command that sends: the tool, where to, and what it publishes beyond its own arguments."""

    tool: str
    """`git push`, `gh api`, `gh repo`..."""
    url: str | None = None
    """The address written in the command (may hold `UNKNOWN` parts)."""
    remote: str | None = None
    """A git remote named instead of an address (`git push origin`)."""
    host: str | None = None
    """The host the tool itself sends to (the GitHub CLI's)."""
    folder: int | None = None
    """Index of the word naming the folder it publishes (`git -C DIR push`, `gh repo create
    --source DIR`); the working directory otherwise."""


_SENDING = re.compile(
    r"(^|[\s/\\;&|])(git(\.exe)?\s[^;&|\n]*\bpush\b|gh(\.exe)?\s+(api|gist|repo|release|issue|pr|secret|variable)\b)"
)


def sending_program(text: str) -> bool:
    """A cheap first look: the command line (words joined by spaces) may run a sending tool."""
    return _SENDING.search(text) is not None


def url_host(text: str) -> str | None:
    """The host of an address (`https://user:tok@host/x`, `git@host:o/r.git`); None when the host
    is computed at run time or there is none (a local path)."""
    match = _URL.match(text) or _SCP.match(text)
    if match is None:
        return None
    authority = match.group(1).rsplit("@", 1)[-1]
    host = authority[1:].split("]", 1)[0] if authority.startswith("[") else authority.split(":", 1)[0]
    if not host or UNKNOWN in host:
        return None
    return host.lower()


def parse_publish(words: Sequence[str | None]) -> Publish | None:
    """What an argument-list command (`["git", "push", URL]`) sends, if it is a sending tool.
    `words[i]` is None when nothing of argument i is known."""
    if not words or words[0] is None:
        return None
    program = words[0]
    if _GIT.search(program):
        return _git(words)
    if _GH.search(program):
        return _gh(words)
    return None


def parse_shell_publishes(text: str) -> list[Publish]:
    """The sending commands of a shell command line (`git add -A && git push origin HEAD`)."""
    found: list[Publish] = []
    for segment in _SHELL_SEPARATORS.split(text):
        try:
            words: list[str | None] = list(shlex.split(segment))
        except ValueError:
            continue
        publish = parse_publish(words)
        if publish is not None:
            found.append(publish)
    return found


def git_remotes(words: Sequence[str | None]) -> tuple[str, str] | None:
    """(name, address) of `git remote add NAME URL` or `git remote set-url NAME URL`."""
    if not words or words[0] is None or not _GIT.search(words[0]):
        return None
    verb, at = _git_verb(words)
    rest = list(words[at + 1 :])
    if verb != "remote" or len(rest) < 3 or rest[0] not in ("add", "set-url"):
        return None
    arguments = [w for w in rest[1:] if w is None or not w.startswith("-")]
    if len(arguments) >= 2 and arguments[0] is not None and arguments[1] is not None:
        return arguments[0], arguments[1]
    return None


def _git_verb(words: Sequence[str | None]) -> tuple[str | None, int]:
    """git's subcommand and its index, past the global options (`git -C DIR -c k=v push`)."""
    index = 1
    while index < len(words):
        word = words[index]
        if word in _GIT_VALUE_OPTIONS:
            index += 2
            continue
        if word is not None and word.startswith("-"):
            index += 1
            continue
        return word, index
    return None, index


def _git(words: Sequence[str | None]) -> Publish | None:
    verb, at = _git_verb(words)
    if verb != "push":
        return None
    folder = next((i + 1 for i in range(1, at) if words[i] == "-C" and i + 1 < len(words)), None)
    arguments = [w for w in words[at + 1 :] if w is None or not w.startswith("-")]
    if not arguments:
        return None  # the branch's upstream: wherever the repository already pushes
    target = arguments[0]
    if target is None:
        return Publish(tool="git push", url=UNKNOWN, folder=folder)
    if _URL.match(target) or _SCP.match(target):
        return Publish(tool="git push", url=target, folder=folder)
    return Publish(tool="git push", remote=target, folder=folder)


def _gh(words: Sequence[str | None]) -> Publish | None:
    verb = words[1] if len(words) > 1 else None
    if verb not in _GH_SENDS:
        return None
    host = GITHUB
    folder: int | None = None
    for index, word in enumerate(words):
        if word is None:
            continue
        if word == "--hostname" and index + 1 < len(words) and words[index + 1]:
            host = str(words[index + 1]).lower()
        elif word in ("--source", "-s") and index + 1 < len(words):
            folder = index + 1
        elif word.startswith("--source="):
            folder = index
    return Publish(tool=f"gh {verb}", host=host, folder=folder)
