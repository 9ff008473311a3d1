"""Subject alternative names: the "DNS:x" / "IP:y" / "URI:z" strings users type and the CLI prints.

A bare name is an IP address when it parses as one and a DNS name otherwise, so
``localhost`` and ``127.0.0.1`` both do the obvious thing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from cryptography import x509

from core.ca.errors import InvalidSAN

__all__ = ["InvalidSAN", "leaf_sans", "parse_san", "parse_sans", "san_string", "san_strings", "is_valid_dns_name"]

# Labels may carry underscores: container and service names often do and TLS stacks accept them.
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_MAX_DNS = 253
_MAX_URI = 2048


def is_valid_dns_name(name: str) -> bool:
    """True for an ASCII host name (an optional leading "*." wildcard label is allowed)."""
    if not name or len(name) > _MAX_DNS or not name.isascii():
        return False
    labels = name.lower().rstrip(".").split(".")
    if labels[0] == "*" and len(labels) > 1:
        labels = labels[1:]
    return all(_LABEL.match(label) for label in labels)


def _dns(value: str, original: str) -> x509.DNSName:
    if not value.isascii():
        raise InvalidSAN(
            f"the DNS name {original!r} is not ASCII; write internationalised names in their "
            "punycode form (xn--...)"
        )
    if not is_valid_dns_name(value):
        hint = " (prefix URIs with URI:)" if "://" in value else ""
        raise InvalidSAN(f"{original!r} is neither an IP address nor a valid DNS name{hint}")
    return x509.DNSName(value.lower().rstrip("."))


def _ip(value: str, original: str) -> x509.IPAddress:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidSAN(f"{original!r} is not a valid IPv4 or IPv6 address") from None


def _uri(value: str, original: str) -> x509.UniformResourceIdentifier:
    parts = urlsplit(value) if value.isascii() and len(value) <= _MAX_URI else None
    if parts is None or not parts.scheme or any(c.isspace() for c in value):
        raise InvalidSAN(f"{original!r} is not an absolute ASCII URI such as spiffe://prism/agent")
    return x509.UniformResourceIdentifier(value)


_PARSERS = {"DNS": _dns, "IP": _ip, "URI": _uri}


def parse_san(text: str) -> x509.GeneralName:
    """One SAN string to a general name; raises InvalidSAN (a BadInput) when it cannot be one."""
    if not isinstance(text, str):
        raise InvalidSAN(f"a subject alternative name must be text, not {type(text).__name__}")
    value = text.strip()
    prefix, sep, rest = value.partition(":")
    parser = _PARSERS.get(prefix.upper()) if sep else None
    if parser is not None:
        if not rest.strip():
            raise InvalidSAN(f"{text!r} has an empty value after {prefix.upper()}:")
        return parser(rest.strip(), text)
    if not value:
        raise InvalidSAN("an empty subject alternative name was given")
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return _dns(value, text)


def parse_sans(texts: Iterable[str]) -> list[x509.GeneralName]:
    """Parse and de-duplicate, keeping the first occurrence's position."""
    if isinstance(texts, str):
        texts = [texts]
    names: list[x509.GeneralName] = []
    for text in texts:
        name = parse_san(text)
        if name not in names:
            names.append(name)
    return names


def san_string(name: x509.GeneralName) -> str:
    """The display/storage form of one general name ("DNS:x", "IP:y", "URI:z")."""
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    raise InvalidSAN(
        f"subject alternative names of type {type(name).__name__} are not supported; "
        "use DNS, IP or URI names"
    )


def san_strings(names: Iterable[x509.GeneralName]) -> tuple[str, ...]:
    return tuple(san_string(name) for name in names)


def leaf_sans(common_name: str, requested: Iterable[str], usage: str) -> list[x509.GeneralName]:
    """The SANs of a leaf; a server with none given gets its common name when that is a host or IP."""
    names = parse_sans(requested)
    if names or usage != "server":
        return names
    # TLS clients match host names against SANs only (RFC 6125), so a server certificate needs one.
    candidate = (common_name or "").strip()
    try:
        return [x509.IPAddress(ipaddress.ip_address(candidate))]
    except ValueError:
        pass
    if is_valid_dns_name(candidate):
        return [x509.DNSName(candidate.lower().rstrip("."))]
    raise InvalidSAN(f"a server certificate needs a host name or IP address; {common_name!r} is neither, "
                     "so pass one as a SAN (e.g. DNS:agent.local or IP:127.0.0.1)")
