"""Where a hard-coded address points: the class of host a package sends data to.

A library talks to its own service; malware talks to places that cost nothing and leave no owner:
bare IP addresses, tunnels, request catchers, mock-API and serverless hosts, dynamic DNS, chat bots,
paste sites and file drops. The class, not the exact host, is what rules weigh, so a new host of a
known kind is recognised without a rule change.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from urllib.parse import urlsplit


class HostClass(str, enum.Enum):
    """What kind of destination a host is (a raw IP, a tunnel, a request catcher, a paste site, a
    dynamic-DNS name, ...): chain rules and verdicts weigh sends by it."""

    RAW_IP = "raw-ip"
    """A literal public IP address."""
    LOCAL = "local"
    """Loopback, private or link-local addresses (not the metadata service)."""
    METADATA = "metadata"
    """The cloud instance metadata service (169.254.169.254 and its names)."""
    TUNNEL = "tunnel"
    """Tunnels to a laptop: ngrok, Cloudflare quick tunnels, serveo, localtunnel, ..."""
    CATCHER = "request-catcher"
    """Request and DNS catchers made for out-of-band testing (webhook.site, interactsh, Burp, ...)."""
    MOCK_API = "mock-api"
    """Free mock-API and form back-ends (mockapi.io, beeceptor, ...)."""
    SERVERLESS = "serverless"
    """Free app and function hosts anyone can deploy to anonymously (workers.dev, vercel.app, ...)."""
    DYNAMIC_DNS = "dynamic-dns"
    CHAT = "chat"
    """Chat webhooks and bot APIs (Discord, Telegram, Slack)."""
    PASTE = "paste"
    """Paste sites and file drops: where payloads are fetched from and loot is left."""
    CODE_HOST = "code-host"
    """Raw files of a code host or a chat CDN: a place to fetch a script from, not to send data to."""
    IP_LOOKUP = "ip-lookup"
    """Services that tell the caller its public address: recon, not a data sink."""
    OTHER = "other"

    @property
    def payload_source(self) -> bool:
        """A host to fetch a payload from without an accountable release: throwaway or raw code."""
        return self in _THROWAWAY or self is HostClass.CODE_HOST

    @property
    def throwaway(self) -> bool:
        """A host nobody accountable owns: data sent there reaches whoever set it up."""
        return self in _THROWAWAY


_THROWAWAY = frozenset(
    {
        HostClass.RAW_IP,
        HostClass.TUNNEL,
        HostClass.CATCHER,
        HostClass.MOCK_API,
        HostClass.SERVERLESS,
        HostClass.DYNAMIC_DNS,
        HostClass.CHAT,
        HostClass.PASTE,
    }
)

# Host suffixes by class. A suffix matches the host itself or any subdomain of it.
_SUFFIXES: dict[HostClass, tuple[str, ...]] = {
    HostClass.TUNNEL: (
        "ngrok.io",
        "ngrok-free.app",
        "ngrok.app",
        "ngrok-free.dev",
        "trycloudflare.com",
        "serveo.net",
        "loca.lt",
        "localtunnel.me",
        "localhost.run",
        "lhr.life",
        "pagekite.me",
        "telebit.cloud",
        "bore.pub",
        "tunnelmole.net",
        "devtunnels.ms",
        "pinggy.link",
        "pinggy.online",
    ),
    HostClass.CATCHER: (
        "webhook.site",
        "requestbin.com",
        "requestbin.net",
        "pipedream.net",
        "requestcatcher.com",
        "hookbin.com",
        "postb.in",
        "beeceptor.com",
        "interact.sh",
        "oast.pro",
        "oast.live",
        "oast.site",
        "oast.online",
        "oast.fun",
        "oast.me",
        "oastify.com",
        "burpcollaborator.net",
        "dnslog.cn",
        "ceye.io",
        "canarytokens.com",
        "requestrepo.com",
        "webhook.cool",
        "ptsv2.com",
        "ptsv3.com",
        "typedwebhook.tools",
    ),
    HostClass.MOCK_API: (
        "mockapi.io",
        "mocky.io",
        "mockbin.org",
        "mockbin.io",
        "free.beeceptor.com",
        "jsonbin.io",
        "getform.io",
        "formspree.io",
        "restdb.io",
        "retool.com",
        "sheetdb.io",
        "pipedream.com",
        "firebaseio.com",
        "supabase.co",
    ),
    HostClass.SERVERLESS: (
        "workers.dev",
        "pages.dev",
        "vercel.app",
        "netlify.app",
        "herokuapp.com",
        "glitch.me",
        "repl.co",
        "replit.dev",
        "onrender.com",
        "fly.dev",
        "deno.dev",
        "railway.app",
        "up.railway.app",
        "pythonanywhere.com",
        "000webhostapp.com",
        "azurewebsites.net",
        "web.app",
        "firebaseapp.com",
        "hf.space",
        "streamlit.app",
        "gradio.live",
        "ngrok.dev",
        "koyeb.app",
        "surge.sh",
        "github.io",
        "workers.cloudflare.com",
        "script.google.com",  # Apps Script web apps: anyone deploys one, anonymously, for free
        "script.googleusercontent.com",
        "lambda-url.us-east-1.on.aws",
        "script.google.com",
    ),
    HostClass.DYNAMIC_DNS: (
        "duckdns.org",
        "no-ip.org",
        "no-ip.biz",
        "ddns.net",
        "hopto.org",
        "zapto.org",
        "sytes.net",
        "serveftp.com",
        "dynu.net",
        "freedns.afraid.org",
        "mooo.com",
        "dyndns.org",
        "linkpc.net",
        "ddnsking.com",
        "publicvm.com",
        "portmap.io",
        "portmap.host",
        "anondns.net",
        "ddns.me",
        "dynv6.net",
        "nsupdate.info",
        "freeddns.org",
        "kozow.com",
        "accesscam.org",
        "servehttp.com",
        "myftp.org",
    ),
    HostClass.CHAT: (
        "discord.com",
        "discordapp.com",
        "api.telegram.org",
        "hooks.slack.com",
        "webhook.office.com",
    ),
    HostClass.PASTE: (
        "pastebin.com",
        "paste.ee",
        "hastebin.com",
        "termbin.com",
        "rentry.co",
        "rentry.org",
        "ghostbin.com",
        "controlc.com",
        "justpaste.it",
        "paste.rs",
        "dpaste.org",
        "dpaste.com",
        "transfer.sh",
        "file.io",
        "0x0.st",
        "anonfiles.com",
        "gofile.io",
        "catbox.moe",
        "filebin.net",
        "bashupload.com",
        "temp.sh",
        "oshi.at",
        "tmpfiles.org",
        "mega.nz",
        "mediafire.com",
        "dl.dropboxusercontent.com",
        "bit.ly",
        "tinyurl.com",
        "is.gd",
        "t.me",
    ),
    HostClass.CODE_HOST: (
        "raw.githubusercontent.com",
        "gist.githubusercontent.com",
        "gist.github.com",
        "cdn.discordapp.com",
        "media.discordapp.net",
    ),
    HostClass.IP_LOOKUP: (
        "api.ipify.org",
        "ipinfo.io",
        "ifconfig.me",
        "icanhazip.com",
        "ip-api.com",
        "checkip.amazonaws.com",
        "myip.opendns.com",
        "ipapi.co",
        "httpbin.org",
    ),
}
_BY_SUFFIX = {suffix: cls for cls, suffixes in _SUFFIXES.items() for suffix in suffixes}
_METADATA_NAMES = frozenset(
    {"169.254.169.254", "metadata.google.internal", "100.100.100.200", "fd00:ec2::254"}
)
_DOCUMENTATION_NETS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
_HOST_IN_TEXT = re.compile(r"^[a-z][a-z0-9+.-]*://([^/\s?#'\"]+)", re.IGNORECASE)
_BARE_HOST = re.compile(r"^([a-z0-9-]+(\.[a-z0-9-]+)+|\d{1,3}(\.\d{1,3}){3})(:\d+)?(/|$)", re.IGNORECASE)


def host_of(address: str) -> str | None:
    """The host named by a URL or `host[:port][/path]` text, lower-cased; None if it names none."""
    host = _host_of(address)
    return host if host is not None and _HOST_NAME.fullmatch(host) else None


_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*|[0-9a-f:]+")


def _host_of(address: str) -> str | None:
    text = address.strip()
    if "://" in text:
        try:
            host = urlsplit(text).hostname
        except ValueError:
            match = _HOST_IN_TEXT.match(text)
            host = match.group(1).rsplit("@", 1)[-1].split(":", 1)[0] if match else None
        return host.lower().strip(".") if host else None
    match = _BARE_HOST.match(text)
    if match is None:
        return None
    return match.group(1).lower()


def classify_host(host: str) -> HostClass:
    """The class of a host name or IP address."""
    host = host.lower().strip(".").strip("[]")
    if host in _METADATA_NAMES:
        return HostClass.METADATA
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        if any(ip in net for net in _DOCUMENTATION_NETS):
            # Documentation ranges never route; they stand in for public addresses in examples.
            return HostClass.RAW_IP
        if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified or ip.is_reserved:
            return HostClass.LOCAL
        return HostClass.RAW_IP
    if "." not in host or host.endswith(
        (".localhost", ".local", ".internal", ".lan", ".svc", ".cluster.local", ".home.arpa", ".corp")
    ):
        return HostClass.LOCAL
    parts = host.split(".")
    if any(_is_callback_token(label) for label in parts[:-2]):
        # interactsh, Burp and DNS-log callbacks put a random per-test token in front of the zone
        return HostClass.CATCHER
    for start in range(len(parts) - 1):
        found = _BY_SUFFIX.get(".".join(parts[start:]))
        if found is not None:
            return found
    return HostClass.OTHER


def registered_domain(host: str) -> str:
    """A rough registrable domain (last two labels, three under two-letter country suffixes)."""
    parts = host.lower().strip(".").split(".")
    keep = 3 if len(parts) >= 3 and len(parts[-1]) == 2 and len(parts[-2]) <= 3 else 2
    return ".".join(parts[-keep:])


def _is_callback_token(label: str) -> bool:
    """A long random label of letters and digits: the unique id an out-of-band catcher hands out."""
    if len(label) < 24 or not label.isalnum():
        return False
    digits = sum(c.isdigit() for c in label)
    return digits >= 4 and len(label) - digits >= 4
