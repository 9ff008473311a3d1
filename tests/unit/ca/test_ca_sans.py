"""SAN strings: prefixes, bare names, normalisation and rejection of what cannot be a SAN."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ca.errors import InvalidSAN
from core.ca.sans import leaf_sans, parse_san, parse_sans, san_string, san_strings
from core.errors import BadInput


@pytest.mark.parametrize(("text", "expected"), [
    ("DNS:localhost", x509.DNSName("localhost")),
    ("dns:Agent.Example.COM", x509.DNSName("agent.example.com")),
    ("localhost", x509.DNSName("localhost")),
    ("*.prism.local", x509.DNSName("*.prism.local")),
    ("cocos_agent", x509.DNSName("cocos_agent")),
    ("IP:127.0.0.1", x509.IPAddress(ipaddress.ip_address("127.0.0.1"))),
    ("10.0.0.7", x509.IPAddress(ipaddress.ip_address("10.0.0.7"))),
    ("::1", x509.IPAddress(ipaddress.ip_address("::1"))),
    ("IP:fe80:0::1", x509.IPAddress(ipaddress.ip_address("fe80::1"))),
    ("URI:spiffe://prism/agent", x509.UniformResourceIdentifier("spiffe://prism/agent")),
    ("  DNS:padded.example  ", x509.DNSName("padded.example")),
])
def test_parse_san_accepts(text, expected):
    assert parse_san(text) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "empty"),
    ("DNS:", "empty value"),
    ("IP:300.1.1.1", "not a valid IPv4 or IPv6"),
    ("IP:localhost", "not a valid IPv4 or IPv6"),
    ("DNS:bad name", "neither an IP address nor a valid DNS name"),
    ("DNS:-leading.example", "neither"),
    ("https://example.com", "prefix URIs with URI:"),
    ("DNS:bücher.example", "punycode"),
    ("URI:not a uri", "absolute ASCII URI"),
    ("URI:relative/path", "absolute ASCII URI"),
    ("DNS:" + "a" * 64 + ".example", "neither"),
    ("localhost:8080", "neither"),
])
def test_parse_san_rejects_with_reason(text, fragment):
    with pytest.raises(InvalidSAN) as caught:
        parse_san(text)
    assert fragment in str(caught.value)
    assert caught.value.code == "bad-san"
    assert isinstance(caught.value, BadInput)


def test_parse_sans_deduplicates_in_order_and_round_trips():
    names = parse_sans(["localhost", "DNS:LOCALHOST", "IP:127.0.0.1", "127.0.0.1", "URI:spiffe://x/y"])
    assert san_strings(names) == ("DNS:localhost", "IP:127.0.0.1", "URI:spiffe://x/y")
    assert parse_sans(["IP:::1"]) == [x509.IPAddress(ipaddress.ip_address("::1"))]
    assert san_string(parse_san("IP:::1")) == "IP:::1"


def test_a_single_string_is_one_san_not_characters():
    assert parse_sans("localhost") == [x509.DNSName("localhost")]


def test_unsupported_general_name_type_is_refused():
    with pytest.raises(InvalidSAN, match="RFC822Name"):
        san_string(x509.RFC822Name("a@example.com"))


def test_server_without_sans_takes_its_common_name_when_it_is_a_host():
    assert leaf_sans("agent.local", [], "server") == [x509.DNSName("agent.local")]
    assert leaf_sans("127.0.0.1", [], "server") == [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    assert leaf_sans("Alice", [], "client") == []
    with pytest.raises(InvalidSAN, match="needs a host name or IP address"):
        leaf_sans("Prism agent", [], "server")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_parse_san_raises_only_typed_errors(text):
    try:
        name = parse_san(text)
    except BadInput:
        return
    assert san_string(name)  # anything accepted must print back
