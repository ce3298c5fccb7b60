"""Hidden code: obfuscators, dynamic builtins, invisible and look-alike characters, blobs."""

from __future__ import annotations

from custody.scan.facts import Cap, Trait
from custody.scan.judging.base import LIVE, UNASKED, Judgement
from custody.scan.model import Context, Severity


def judge_obfuscation(j: Judgement) -> None:
    """`obfuscated-exec`: obfuscator output, blobs or very long lines in files whose unasked code also
    executes code."""
    f = j.facts
    runs = f.files((Cap.EXEC, Cap.DECODE_EXEC), UNASKED)
    for fact in f.get((Cap.OBFUSCATOR, Cap.BLOB, Cap.HUGE_LINE), UNASKED):
        if fact.file in runs:
            j.add(
                "obfuscated-exec",
                Severity.CRITICAL,
                fact,
                f"{fact.detail}, executed by code that runs at {fact.context.value} time",
            )
    active = f.files(
        (Cap.EXEC, Cap.DECODE_EXEC, Cap.PIP_INSTALL, Cap.PROCESS, Cap.NETWORK, Cap.WRITE_EXEC), UNASKED
    )
    for fact in f.get(Cap.DYNAMIC_BUILTIN, UNASKED):
        if fact.file in active:
            j.add(
                "obfuscated-exec",
                Severity.CRITICAL,
                fact,
                f"{fact.detail}, in a module that executes code, processes or requests at "
                f"{fact.context.value} time",
            )
        else:
            j.add("obfuscation", Severity.HIGH, fact, fact.detail)
    for fact in f.get(Cap.DYNAMIC_BUILTIN, frozenset({Context.CALL})):
        j.add("obfuscation", Severity.LOW, fact, fact.detail)
    tricks = f.files(
        (Cap.EXEC, Cap.DECODE, Cap.DECODE_EXEC, Cap.DYNAMIC_BUILTIN, Cap.BLOB, Cap.HUGE_LINE), LIVE
    )
    for fact in f.get(Cap.OBFUSCATOR):
        # Obfuscators sold for hiding stealers (BlankOBF, Hyperion...) plus the dynamic code they
        # generate, in code that runs: that is the payload's wrapper, not a licence check.
        marker = fact.trait is Trait.OBFUSCATOR_MARKER
        if marker and fact.context in UNASKED and fact.file in tricks:
            j.add("obfuscated-exec", Severity.CRITICAL, fact, f"{fact.detail} wrapping dynamic code")
        elif fact.prose and fact.file not in tricks:
            # A comment naming an obfuscator over plain code (a scanner's notes, docs): the
            # file is not obfuscated, so the words alone decide nothing.
            j.add("obfuscation", Severity.LOW, fact, f"{fact.detail}, in a comment over plain code")
        else:
            j.add("obfuscation", Severity.HIGH, fact, fact.detail)
    for fact in f.get(Cap.INVISIBLE_CHAR):
        severity = Severity.MEDIUM if fact.trait is Trait.BIDI else Severity.LOW
        j.add("obfuscation", severity, fact, fact.detail)
    for fact in f.get((Cap.BLOB, Cap.HUGE_LINE, Cap.ODD_IDENTIFIER, Cap.OPAQUE_LOOP)):
        # Look-alike letters that Python folds back to ASCII serve only to defeat search and review.
        folded = fact.trait is Trait.LOOK_ALIKE
        j.add("obfuscation", Severity.HIGH if folded else Severity.LOW, fact, fact.detail)
