"""Machine-readable renderings of scan results: JSON (documented, stable) and SARIF 2.1.0."""

from custody.report.json_format import SCHEMA_VERSION, result_to_dict, results_to_json
from custody.report.sarif_format import results_to_sarif

__all__ = ["SCHEMA_VERSION", "result_to_dict", "results_to_json", "results_to_sarif"]
