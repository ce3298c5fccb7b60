"""CycloneDX 1.6 JSON (cyclonedx-python-lib): audited packages as components, advisories as vulnerabilities.

Malware findings are vulnerabilities with the property `custody:kind = malware`; integrity and
start-up hook findings have no CycloneDX counterpart and stay in the JSON/SARIF reports.
"""

from __future__ import annotations

import base64
import binascii

from cyclonedx.model import HashAlgorithm, HashType, Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.vulnerability import (
    BomTarget,
    Vulnerability,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from custody.audit.model import AuditReport, FindingKind
from custody.inventory import Ecosystem, Package, canonical_name

_ALGORITHMS = {
    "sha256": HashAlgorithm.SHA_256,
    "sha384": HashAlgorithm.SHA_384,
    "sha512": HashAlgorithm.SHA_512,
    "sha1": HashAlgorithm.SHA_1,
    "md5": HashAlgorithm.MD5,
}
_OSV = VulnerabilitySource(name="OSV", url=XsUri("https://osv.dev/"))


def _purl(package: Package) -> PackageURL:
    if package.ecosystem is Ecosystem.NPM and package.name.startswith("@") and "/" in package.name:
        scope, name = package.name.split("/", 1)
        return PackageURL(type="npm", namespace=scope, name=name, version=package.version)
    kind = "pypi" if package.ecosystem is Ecosystem.PYPI else "npm"
    return PackageURL(type=kind, name=package.key, version=package.version)


def _hashes(package: Package) -> list[HashType]:
    found: list[HashType] = []
    for item in package.hashes:
        if ":" in item:  # pip/uv/poetry/pylock: algorithm:hex
            algorithm, digest = item.split(":", 1)
        elif "-" in item:  # npm integrity: algorithm-base64
            algorithm, encoded = item.split("-", 1)
            try:
                digest = base64.b64decode(encoded, validate=True).hex()
            except (binascii.Error, ValueError):
                continue
        else:
            continue
        alg = _ALGORITHMS.get(algorithm.lower())
        if alg is not None and digest and all(c in "0123456789abcdefABCDEF" for c in digest):
            found.append(HashType(alg=alg, content=digest.lower()))
    return found


def _ref(ecosystem: str | None, name: str, version: str) -> tuple[str, str, str]:
    eco = Ecosystem.NPM if ecosystem == Ecosystem.NPM.value else Ecosystem.PYPI
    return eco.value, canonical_name(name, eco), version


def report_to_cyclonedx(report: AuditReport) -> str:
    """The report as a CycloneDX 1.6 JSON SBOM: every audited package with an exact version as a
    component (purl, hashes where known), and the vulnerability and malware findings as
    vulnerabilities affecting them (malware marked by the property `custody:kind`)."""
    components: dict[tuple[str, str, str], Component] = {}
    for package in report.inventory:
        if package.version is None:
            continue
        purl = _purl(package)
        components[(package.ecosystem.value, package.key, package.version)] = Component(
            name=package.name,
            version=package.version,
            type=ComponentType.LIBRARY,
            purl=purl,
            bom_ref=purl.to_string(),
            hashes=_hashes(package),
            properties=[Property(name="custody:source", value=package.source)],
        )
    vulnerabilities = []
    for finding in report.findings:
        if finding.kind not in (FindingKind.VULNERABILITY, FindingKind.MALWARE) or not finding.package:
            continue
        component = components.get(_ref(finding.ecosystem, finding.package, finding.version or ""))
        vulnerabilities.append(
            Vulnerability(
                id=finding.id,
                source=_OSV,
                references=[VulnerabilityReference(id=a, source=_OSV) for a in finding.aliases],
                ratings=[VulnerabilityRating(severity=VulnerabilitySeverity(finding.severity), source=_OSV)],
                description=finding.detail,
                recommendation=(
                    f"upgrade to {finding.fix}" if finding.kind is FindingKind.VULNERABILITY else finding.fix
                )
                if finding.fix
                else None,
                affects=[BomTarget(ref=str(component.bom_ref))] if component is not None else None,
                properties=[Property(name="custody:kind", value=finding.kind.value)],
            )
        )
    bom = Bom(components=components.values(), vulnerabilities=vulnerabilities)
    return str(JsonV1Dot6(bom).output_as_string(indent=2))
