"""custody.scan: static malicious-behaviour detection over package artifacts.

from custody.scan import Scanner
result = Scanner().scan_task(ScanTask("pkg-1.0.tar.gz"))[0]
result.verdict  # Verdict.MALICIOUS / SUSPICIOUS / CLEAN / ERROR
"""

from custody.scan.catalog import RULES, RuleInfo
from custody.scan.engine import Scanner, ScanTask, error_result, expand_target, scan_tasks
from custody.scan.model import Context, Finding, ScanResult, Severity, Verdict
from custody.scan.yara_rules import RuleLoadError

__all__ = [
    "RULES",
    "Context",
    "Finding",
    "RuleInfo",
    "RuleLoadError",
    "ScanResult",
    "ScanTask",
    "Scanner",
    "Severity",
    "Verdict",
    "error_result",
    "expand_target",
    "scan_tasks",
]
