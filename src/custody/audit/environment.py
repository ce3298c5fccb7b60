"""Integrity and start-up hook findings for one site-packages directory."""

from __future__ import annotations

from collections.abc import Callable

from custody.audit.model import Finding, FindingKind
from custody.inventory import IntegrityIssue, IssueType, StartupHook

_INTEGRITY_SEVERITY = {
    IssueType.MODIFIED: "high",
    IssueType.MISSING: "medium",
    IssueType.UNLISTED: "low",
    IssueType.NO_RECORD: "high",  # a deleted RECORD hides a tampered file: not a low note
    IssueType.LEGACY: "low",
    IssueType.BYTECODE: "high",
}

HookScan = Callable[[str], tuple[str, str]]
"""Path of a start-up file -> (severity, one-line verdict) from the scan engine."""


_OS_MANAGED = (
    "; installed by the OS package manager, which may change files after writing RECORD:"
    " check them with its own tool (dpkg --verify, rpm -V)"
)


def integrity_findings(issues: list[IntegrityIssue]) -> list[Finding]:
    """One finding per RECORD problem. Files of OS-managed distributions are reported low: their
    package manager strips binaries and patches metadata after RECORD was made."""
    return [
        Finding(
            kind=FindingKind.INTEGRITY,
            id=f"record-{issue.kind.value}",
            aliases=(),
            package=issue.package,
            version=issue.version,
            severity="low" if issue.os_managed else _INTEGRITY_SEVERITY[issue.kind],
            path=issue.path,
            fix="reinstall the distribution from a trusted source"
            if issue.kind is IssueType.MODIFIED
            else None,
            detail=issue.detail + (_OS_MANAGED if issue.os_managed else ""),
        )
        for issue in issues
    ]


def _lines(hook: StartupHook) -> str:
    shown = "; ".join(f"{n}: {text[:120]}" if n else text[:120] for n, text in hook.lines[:3])
    return shown + (f" (+{len(hook.lines) - 3} more)" if len(hook.lines) > 3 else "")


def _unread_hook(hook: StartupHook) -> Finding:
    """A start-up file `site` would open but audit could not read whole: what it runs is unknown,
    so it is high whoever owns it (fail closed)."""
    shown = f"; runs at least: {_lines(hook)}" if hook.lines else ""
    return Finding(
        kind=FindingKind.STARTUP_HOOK,
        id="startup-hook-unread",
        aliases=(),
        package=hook.owner_name,
        version=hook.owner_version,
        severity="high",
        path=hook.path,
        fix="inspect the file (and what it links to); remove it unless you put it there",
        detail=f"{hook.kind} start-up file that Python reads at every start, {hook.unread}{shown}",
    )


def hook_findings(hooks: list[StartupHook], scan_hook: HookScan | None) -> list[Finding]:
    """Unowned hooks are high severity; owned ones carry their owner and the scan engine's verdict."""
    found: list[Finding] = []
    for hook in hooks:
        if hook.unread is not None:
            found.append(_unread_hook(hook))
            continue
        if hook.owner is None:
            found.append(
                Finding(
                    kind=FindingKind.STARTUP_HOOK,
                    id="startup-hook-unowned",
                    aliases=(),
                    package=None,
                    version=None,
                    severity="high",
                    path=hook.path,
                    fix="remove the file unless you put it there; then check what it ran",
                    detail=f"{hook.kind} start-up hook no RECORD owns, runs at every start: {_lines(hook)}"
                    + (f" ({hook.note})" if hook.note else ""),
                )
            )
            continue
        severity, verdict = scan_hook(hook.path) if scan_hook else ("info", "not scanned")
        found.append(
            Finding(
                kind=FindingKind.STARTUP_HOOK,
                id="startup-hook-owned",
                aliases=(),
                package=hook.owner_name,
                version=hook.owner_version,
                severity=severity,
                path=hook.path,
                fix=None,
                detail=f"{hook.kind} hook owned by {hook.owner}; scan: {verdict}; runs: {_lines(hook)}",
            )
        )
    return found
