"""Rules over value flows: which source reaching which sink, sent where, is an attack.

Each rule is data: the sources it covers, the sink, which destinations count, and a severity per
context. A complete chain is decisive wherever it runs, including code that only runs when called:
a helper that posts the private key it is given to a mock-API host is the attack, whoever calls it.
Add a rule here (one entry) with a positive and a benign sample in tests/scan/test_flow_rules.py.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from custody.artifacts import Artifact
from custody.scan.facts import FlowFact
from custody.scan.flow import Sink, Source
from custody.scan.hosts import HostClass, host_of, registered_domain
from custody.scan.model import Context, Severity


class Reach(str, enum.Enum):
    """Which destinations a rule covers."""

    PAYLOAD_SOURCE = "payload-source"
    """A hard-coded throwaway host or raw code host: where unreleased payloads are fetched from."""
    THROWAWAY = "throwaway"
    """A hard-coded host nobody accountable owns (bare IP, tunnel, catcher, mock API, chat, paste)."""
    FOREIGN = "foreign"
    """A hard-coded host that is not the package's own (its name or home page)."""
    CATCHER = "catcher"
    """A hard-coded request catcher or out-of-band callback host."""
    COMPUTED = "computed"
    """An address the code computes or is given."""
    HIDDEN = "hidden"
    """An address the code decodes at run time from text it keeps encoded."""
    ANY = "any"


@dataclass(frozen=True, slots=True)
class ChainRule:
    """A value-flow rule: which sources reaching which sink, toward which kind of destination
    (`reach`), is a finding, and how severe in each context (a context left out: no finding);
    `except_hosts` are host classes it leaves out."""

    id: str
    sources: frozenset[Source]
    sink: Sink
    reach: Reach
    severity: dict[Context, Severity]
    description: str
    except_hosts: frozenset[HostClass] = frozenset()
    """Host classes the rule leaves out (a bot token sent to the chat service it belongs to)."""

    def severity_in(self, context: Context) -> Severity | None:
        """The rule's severity for code running in `context`, or None when it reports nothing there."""
        return self.severity.get(context)


_EVERYWHERE = {
    Context.STARTUP: Severity.CRITICAL,
    Context.INSTALL: Severity.CRITICAL,
    Context.IMPORT: Severity.CRITICAL,
    Context.CALL: Severity.CRITICAL,
    Context.DEV: Severity.LOW,
}
_UNASKED_CRITICAL = {
    Context.STARTUP: Severity.CRITICAL,
    Context.INSTALL: Severity.CRITICAL,
    Context.IMPORT: Severity.CRITICAL,
    Context.CALL: Severity.HIGH,
    Context.DEV: Severity.LOW,
}
_UNASKED_ELSE_MEDIUM = {
    Context.STARTUP: Severity.CRITICAL,
    Context.INSTALL: Severity.CRITICAL,
    Context.IMPORT: Severity.CRITICAL,
    Context.CALL: Severity.MEDIUM,
    Context.DEV: Severity.LOW,
}
_UNASKED_ONLY = {
    Context.STARTUP: Severity.HIGH,
    Context.INSTALL: Severity.HIGH,
    Context.IMPORT: Severity.MEDIUM,
}
_STOLEN = frozenset(s for s in Source if s.stolen)

# First match wins: most specific first.
CHAIN_RULES: tuple[ChainRule, ...] = (
    ChainRule(
        "exfil-flow",
        _STOLEN | {Source.IDENTITY, Source.CREDENTIAL},
        Sink.NETWORK,
        Reach.HIDDEN,
        _EVERYWHERE,
        "a secret, token, the environment or the host identity is sent to an address the code keeps "
        "encoded and decodes only at run time: a destination hidden from review",
    ),
    ChainRule(
        "exfil-flow",
        _STOLEN | {Source.IDENTITY},
        Sink.NETWORK,
        Reach.THROWAWAY,
        _EVERYWHERE,
        "a secret, the environment, the caller's source or the host identity is sent to a throwaway "
        "host (bare IP, tunnel, request catcher, mock API, chat bot, paste site)",
    ),
    ChainRule(
        "exfil-flow",
        frozenset({Source.LOCAL_FILE}),
        Sink.NETWORK,
        Reach.THROWAWAY,
        _EVERYWHERE,
        "the content of files on the machine is sent to a hard-coded throwaway host (bare IP, tunnel, "
        "request catcher, mock API, chat webhook)",
        except_hosts=frozenset({HostClass.PASTE}),
    ),
    ChainRule(
        "exfil-flow",
        frozenset({Source.LOCAL_FILE}),
        Sink.NETWORK,
        Reach.THROWAWAY,
        _UNASKED_CRITICAL,
        "the content of files on the machine is sent to a paste site (an editor's share command does "
        "this when asked)",
    ),
    ChainRule(
        "exfil-flow",
        frozenset({Source.CREDENTIAL}),
        Sink.NETWORK,
        Reach.THROWAWAY,
        _EVERYWHERE,
        "a password, token or API key is sent to a throwaway host (bare IP, tunnel, request catcher, "
        "mock API, paste site)",
        except_hosts=frozenset({HostClass.CHAT}),
    ),
    ChainRule(
        "exfil-flow",
        frozenset({Source.CREDENTIAL}),
        Sink.NETWORK,
        Reach.FOREIGN,
        {
            Context.STARTUP: Severity.CRITICAL,
            Context.INSTALL: Severity.CRITICAL,
            Context.IMPORT: Severity.CRITICAL,
        },
        "a password, token or API key is sent to a hard-coded host that is not the package's own by code "
        "that runs unasked (start-up, install, import); API clients send credentials only when called",
    ),
    ChainRule(
        "exfil-flow",
        frozenset({Source.CALLER_SOURCE, Source.SECRET_FILE, Source.ENV_FILE}),
        Sink.NETWORK,
        Reach.FOREIGN,
        _EVERYWHERE,
        "the source code of the calling program or a credential file is sent to a hard-coded host",
    ),
    ChainRule(
        "exfil-flow",
        frozenset({Source.WALLET_SECRET, Source.ENVIRONMENT}),
        Sink.NETWORK,
        Reach.FOREIGN,
        _UNASKED_CRITICAL,
        "a wallet key or the whole environment is sent to a hard-coded host that is not the package's own",
    ),
    ChainRule(
        "exfil-flow",
        _STOLEN,
        Sink.NETWORK,
        Reach.COMPUTED,
        _UNASKED_ONLY,
        "a secret or the whole environment is sent out by code that runs unasked",
    ),
    ChainRule(
        "exfil-flow",
        frozenset({Source.SECRET_FILE}),
        Sink.NETWORK,
        Reach.ANY,
        {
            Context.STARTUP: Severity.CRITICAL,
            Context.INSTALL: Severity.CRITICAL,
            Context.IMPORT: Severity.CRITICAL,
        },
        "a credential file of the user (SSH or cloud keys, a wallet, saved logins; not a project's .env) is "
        "sent to a hard-coded host by code that runs unasked: no library ships those at start-up, install "
        "or import, not even to its own service (a host named after the package is what its author chose "
        "to call it)",
        except_hosts=frozenset({HostClass.LOCAL, HostClass.IP_LOOKUP}),
    ),
    ChainRule(
        "install-beacon",
        frozenset({Source.REQUEST}),
        Sink.NETWORK,
        Reach.CATCHER,
        {
            Context.STARTUP: Severity.CRITICAL,
            Context.INSTALL: Severity.CRITICAL,
            Context.IMPORT: Severity.CRITICAL,
            Context.CALL: Severity.LOW,
        },
        "code that runs unasked contacts a request catcher or out-of-band callback host: the request "
        "itself reports that the package was installed or imported, and where",
    ),
    ChainRule(
        "remote-control",
        frozenset({Source.REMOTE_COMMAND}),
        Sink.PROCESS,
        Reach.ANY,
        _EVERYWHERE,
        "a chat bot runs the commands its chat sends it: a remote shell for whoever holds the bot",
    ),
    ChainRule(
        "remote-control",
        frozenset({Source.REMOTE_COMMAND}),
        Sink.EXEC,
        Reach.ANY,
        _EVERYWHERE,
        "a chat bot executes the code its chat sends it: a remote shell for whoever holds the bot",
    ),
    ChainRule(
        "download-exec",
        frozenset({Source.DOWNLOAD}),
        Sink.EXEC,
        Reach.FOREIGN,
        _EVERYWHERE,
        "code fetched from a hard-coded host is executed: a remote loader",
    ),
    ChainRule(
        "download-exec",
        frozenset({Source.DOWNLOAD}),
        Sink.EXEC,
        Reach.ANY,
        {
            Context.STARTUP: Severity.CRITICAL,
            Context.INSTALL: Severity.CRITICAL,
            Context.IMPORT: Severity.HIGH,
            Context.CALL: Severity.MEDIUM,
            Context.DEV: Severity.LOW,
        },
        "code received from the network is executed (a debugger or REPL server does this on purpose)",
    ),
    ChainRule(
        "download-exec",
        frozenset({Source.DOWNLOAD}),
        Sink.PROCESS,
        Reach.PAYLOAD_SOURCE,
        _EVERYWHERE,
        "a command or program fetched from a paste site, code host or throwaway host is run",
    ),
    ChainRule(
        "download-exec",
        frozenset({Source.DOWNLOAD}),
        Sink.PROCESS,
        Reach.FOREIGN,
        {
            Context.STARTUP: Severity.CRITICAL,
            Context.INSTALL: Severity.CRITICAL,
            Context.IMPORT: Severity.CRITICAL,
            Context.CALL: Severity.MEDIUM,
            Context.DEV: Severity.LOW,
        },
        "a command or program fetched from a hard-coded host is run (installers of tools do this when asked)",
    ),
    ChainRule(
        "download-exec",
        frozenset({Source.DOWNLOAD}),
        Sink.PROCESS,
        Reach.ANY,
        {Context.STARTUP: Severity.HIGH, Context.INSTALL: Severity.MEDIUM, Context.IMPORT: Severity.MEDIUM},
        "a command or program received from the network is run",
    ),
)


@dataclass(frozen=True, slots=True)
class ChainFinding:
    """A value flow that matched a chain rule, with the severity for the context it runs in."""

    rule: ChainRule
    fact: FlowFact
    severity: Severity


_URL_HEADER = re.compile(rb"^(?:Home-page|Project-URL|Download-URL):\s*(?:[^,\n]*,\s*)?(\S+)", re.MULTILINE)


def project_urls(artifact: Artifact) -> list[str]:
    """Home page and project URLs from the artifact's core metadata (METADATA or PKG-INFO)."""
    for member in artifact.members:
        tail = member.path.rsplit("/", 2)
        if tail[-1] in ("METADATA", "PKG-INFO") and member.data and len(tail) <= 3:
            head = member.data[:65536].split(b"\n\n", 1)[0]
            return [m.decode("utf-8", "replace") for m in _URL_HEADER.findall(head)]
    return []


def own_domains(name: str | None, urls: Iterable[str]) -> set[str]:
    """Registered domains the package may call its own: those of its project URLs."""
    domains = set()
    for url in urls:
        host = host_of(url)
        if host and host not in ("github.com", "gitlab.com", "pypi.org", "bitbucket.org"):
            domains.add(registered_domain(host))
    return domains


def _reach_matches(rule: ChainRule, fact: FlowFact, name: str | None, own: set[str]) -> bool:
    destination = fact.flow.destination
    if rule.reach is Reach.ANY:
        return True
    if rule.reach is Reach.COMPUTED:
        return not destination.hard_coded
    if rule.reach is Reach.HIDDEN:
        return destination.hidden
    if not destination.hard_coded or destination.host is None:
        return False
    host_class = destination.host_class
    if rule.reach is Reach.CATCHER:
        return host_class is HostClass.CATCHER
    if rule.reach is Reach.PAYLOAD_SOURCE:
        return host_class is not None and host_class.payload_source
    if rule.reach is Reach.THROWAWAY:
        # An app host named after the project (`myproj.vercel.app`) is the project's own service.
        if host_class is HostClass.SERVERLESS and named_after(destination.host, name, own):
            return False
        return host_class is not None and host_class.throwaway
    if host_class in (HostClass.LOCAL, HostClass.METADATA, HostClass.IP_LOOKUP):
        return False
    return not named_after(destination.host, name, own)


def named_after(host: str, name: str | None, own: set[str]) -> bool:
    """The host belongs to the project: its domain is a project URL's, or its first label names it."""
    domain = registered_domain(host)
    if domain in own:
        return True
    project = (name or "").lower().replace("-", "").replace("_", "").replace(".", "")
    labels = {domain.split(".", 1)[0].replace("-", ""), host.split(".", 1)[0].replace("-", "")}
    # A service word (`smtp.gmail.com`, `script.google.com`, `api.x`) names a kind of server, not
    # a project: a package called `smtp-tools` does not own every mail server.
    labels = {label for label in labels if len(label) >= 3 and label not in _SERVICE_WORDS}
    return bool(project) and any(label == project or project in label or label in project for label in labels)


_SERVICE_WORDS = frozenset(
    {
        "www",
        "api",
        "apis",
        "app",
        "apps",
        "mail",
        "smtp",
        "imap",
        "pop",
        "pop3",
        "ftp",
        "sftp",
        "cdn",
        "static",
        "script",
        "scripts",
        "files",
        "file",
        "upload",
        "uploads",
        "download",
        "downloads",
        "data",
        "dev",
        "docs",
        "web",
        "hook",
        "hooks",
        "webhook",
        "webhooks",
        "storage",
        "cloud",
        "service",
        "services",
        "gateway",
        "auth",
        "login",
        "accounts",
        "raw",
        "media",
        "assets",
        "ws",
        "wss",
        "ssh",
        "git",
        "repo",
        "host",
        "server",
        "node",
        "edge",
        "proxy",
    }
)


def match_flows(facts: Iterable[FlowFact], name: str | None, urls: Iterable[str] = ()) -> list[ChainFinding]:
    """The strongest rule each flow satisfies."""
    own = own_domains(name, urls)
    found: list[ChainFinding] = []
    for fact in facts:
        for rule in CHAIN_RULES:
            if fact.flow.source not in rule.sources or fact.flow.sink is not rule.sink:
                continue
            if not _reach_matches(rule, fact, name, own):
                continue
            if fact.flow.destination.host_class in rule.except_hosts:
                continue
            severity = rule.severity_in(fact.context)
            if severity is not None:
                found.append(ChainFinding(rule, fact, severity))
            break
    return found
