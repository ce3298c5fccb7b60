"""The artifact itself: shipped executables, payload carriers, archive tricks and limits, and
user YARA rules."""

from __future__ import annotations

from custody.artifacts import ArtifactKind, IssueKind
from custody.scan.facts import Cap, Trait
from custody.scan.judging.base import LIVE, RUN_EARLY, UNASKED, Judgement
from custody.scan.model import Context, Severity
from custody.scan.roles import ExecutableFormat


def judge_binaries(j: Judgement) -> None:
    """`embedded-executable`: compiled modules or executables shipped in an sdist, source tree, egg or
    pure wheel where they do not belong, weighed by whether code that runs unasked imports or starts
    them."""
    kind = j.artifact.kind
    pure_wheel = kind is ArtifactKind.WHEEL and j.artifact.source.endswith("-none-any.whl")
    if kind not in (ArtifactKind.SDIST, ArtifactKind.SOURCE, ArtifactKind.EGG) and not pure_wheel:
        return
    launched = " ".join(
        j.collected.files[p.file].line_text(p.line)
        for p in j.facts.get(Cap.PROCESS, RUN_EARLY)
        if p.file in j.collected.files
    )
    # A compiled module imported unasked, from a wheel that declares code for every platform:
    # native code nobody can review runs at import, against the wheel's own tag (high). An sdist
    # that ships one prebuilt promises less (some vendor their engine that way): medium. Checkouts
    # hold in-place builds next to their sources, and installers never unpack nested archives.
    imported = {
        fact.file: fact
        for fact in j.facts.get(Cap.NATIVE_LOAD, UNASKED)
        if fact.trait is Trait.COMPILED_MODULE
        and "!/" not in fact.file
        and (kind is ArtifactKind.SDIST or pure_wheel)
    }
    for path, binary in j.collected.executables:
        label = binary.value
        name = path.rsplit("/", 1)[-1]
        compiled = imported.get(path)
        if compiled is not None:
            j.add(
                "embedded-executable",
                Severity.HIGH if pure_wheel else Severity.MEDIUM,
                compiled,
                f"{label} compiled module inside a {kind.value}, which promises "
                f"{'source' if kind is ArtifactKind.SDIST else 'no platform code'}: {compiled.detail}",
            )
        elif name and name in launched:
            j.add(
                "embedded-executable",
                Severity.HIGH,
                None,
                f"{label} inside a {kind.value}, launched at install time",
                file=path,
            )
        elif "!/" in path:
            j.add("embedded-executable", Severity.LOW, None, f"{label} inside a nested archive", file=path)
        else:
            severity = Severity.MEDIUM if binary is ExecutableFormat.PE else Severity.LOW
            j.add("embedded-executable", severity, None, f"{label} inside a {kind.value}", file=path)


def judge_carriers(j: Judgement) -> None:
    """Payloads in files that code loads (custody.scan.carriers). A booby-trapped pickle or
    YAML file attacks whoever loads it, so it counts wherever it sits, tests and docs aside."""
    f = j.facts
    dev = frozenset({Context.DEV})
    for fact in f.get(Cap.SERIALIZED_EXEC, LIVE):
        j.add("serialized-exec", Severity.CRITICAL, fact, f"{fact.detail} ({fact.context.value})")
    for fact in f.get(Cap.SERIALIZED_CALL, LIVE):
        j.add("serialized-exec", Severity.HIGH, fact, f"{fact.detail} ({fact.context.value})")
    for fact in f.get((Cap.SERIALIZED_EXEC, Cap.SERIALIZED_CALL), dev):
        severity = Severity.MEDIUM if fact.cap is Cap.SERIALIZED_EXEC else Severity.LOW
        j.add("serialized-exec", severity, fact, f"{fact.detail} (test or docs data)")
    kind = j.artifact.kind
    # Sdists and pure wheels are source by definition: bytecode in place of a module is hiding it.
    source_only = kind is ArtifactKind.SDIST or (
        kind is ArtifactKind.WHEEL and j.artifact.source.endswith("-none-any.whl")
    )
    for fact in f.get(Cap.SOURCELESS_BYTECODE, frozenset(Context)):
        if fact.context is Context.DEV:
            severity = Severity.LOW
        elif fact.context in UNASKED and source_only:
            severity = Severity.HIGH
        else:
            severity = Severity.MEDIUM
        j.add("sourceless-bytecode", severity, fact, f"{fact.detail} ({fact.context.value})")
    for fact in f.get((Cap.DISGUISED_BINARY, Cap.FAKE_BYTECODE), LIVE):
        j.add("disguised-file", Severity.MEDIUM, fact, fact.detail)
    for fact in f.get((Cap.DISGUISED_BINARY, Cap.FAKE_BYTECODE), frozenset({Context.DEV})):
        j.add("disguised-file", Severity.LOW, fact, fact.detail)
    for fact in f.get(Cap.DISGUISED_ARCHIVE, frozenset(Context)):
        # Compressed data under a data name is common enough; it only matters once loaded.
        j.add("disguised-file", Severity.INFO, fact, fact.detail)
    for fact in f.get(Cap.DISGUISED_LOAD, LIVE):
        severity = Severity.CRITICAL if fact.context in UNASKED else Severity.HIGH
        j.add("disguised-file", severity, fact, f"{fact.detail} ({fact.context.value})")


def judge_archive(j: Judgement) -> None:
    """`archive-*` findings from the reader's issues: unsafe paths, links, special files, bombs,
    header confusion, unreadable members and limits reached."""
    mapping = {
        IssueKind.PATH_TRAVERSAL: ("archive-unsafe-path", Severity.HIGH),
        IssueKind.ABSOLUTE_PATH: ("archive-unsafe-path", Severity.HIGH),
        IssueKind.SYMLINK: ("archive-link", Severity.MEDIUM),
        IssueKind.HARDLINK: ("archive-link", Severity.MEDIUM),
        IssueKind.SPECIAL_FILE: ("archive-special-file", Severity.HIGH),
        # Installing unpacks every member of the artifact: a bomb there is a denial of service
        # against the installing host, which no benign package of the benchmark comes near.
        IssueKind.COMPRESSION_BOMB: ("archive-bomb", Severity.CRITICAL),
        IssueKind.TOO_MANY_MEMBERS: ("archive-limit", Severity.MEDIUM),
        IssueKind.TOO_LARGE: ("archive-limit", Severity.MEDIUM),
        IssueKind.NESTING_TOO_DEEP: ("archive-limit", Severity.LOW),
        IssueKind.MEMBER_TRUNCATED: ("archive-unreadable", Severity.INFO),
        IssueKind.UNDECODABLE_NAME: ("archive-unreadable", Severity.LOW),
        IssueKind.OUTSIDE_ROOT: ("archive-unsafe-path", Severity.MEDIUM),
        IssueKind.NESTED_ARCHIVE_ERROR: ("archive-unreadable", Severity.LOW),
        IssueKind.AMBIGUOUS_MEMBER: ("archive-confusion", Severity.HIGH),
    }
    for issue in j.artifact.issues:
        rule, severity = mapping[issue.kind]
        if "!/" in issue.path and severity.rank > Severity.LOW.rank:
            # Inside a nested archive (test fixtures, vendored wheels): installers never unpack it.
            severity = Severity.LOW
        reason = f"{issue.kind.value}: {issue.detail}"
        if issue.kind is IssueKind.COMPRESSION_BOMB and severity is Severity.CRITICAL:
            reason += " (installing unpacks it: denial of service)"
        j.add(rule, severity, None, reason, file=issue.path, limit=issue.limit)


def judge_user_rules(j: Judgement) -> None:
    """Findings from user-supplied YARA rules (`--rules`), at the severity their meta gives."""
    for path, hit, line in j.collected.user_hits:
        try:
            severity = Severity(hit.severity.lower())
        except ValueError:
            severity = Severity.HIGH
        info = j.collected.files.get(path)
        j.add(
            "user-rule",
            severity,
            None,
            f"{hit.rule}: {hit.detail}",
            file=path,
            line=line,
            snippet=info.line_text(line) if info else "",
        )
    for fact in j.facts.get(Cap.CMDCLASS, frozenset({Context.INSTALL})):
        j.add("setup-cmdclass", Severity.INFO, fact, fact.detail)
