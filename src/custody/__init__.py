"""custody: supply-chain defence for AI pipelines.

Public capabilities live in one package each: `custody.artifacts` (safe archive reader),
`custody.scan` (static malicious-behaviour engine), `custody.report` (machine-readable output).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
