"""Tests of ndpmon.config.values: the small text-to-value converters of the config."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndpmon.config import values as convert
from ndpmon.config.model import Guard


def error_of(func, text: str) -> str:
    """The message of the ValueError ``func(text)`` raises."""
    with pytest.raises(ValueError) as info:
        func(text)
    return str(info.value)


# -- quote --------------------------------------------------------------------


def test_quote_short_text():
    """Short values are quoted in single quotes, as repr would."""
    assert convert.quote("zz") == "'zz'"


def test_quote_truncates_long_text():
    """Values longer than 40 characters are cut and marked with '...'."""
    assert convert.quote("a" * 100) == "'" + "a" * 40 + "...'"


def test_quote_escapes_control_characters_and_quotes():
    """Control characters and quotes are escaped so the message stays one line."""
    assert convert.quote("a\nb'\x07") == r"'a\nb\'\x07'"


def test_quote_keeps_printable_non_ascii():
    """Latin-1 text from an ISO-8859-1 config is shown as it is."""
    assert convert.quote("caf\xe9") == "'caf\xe9'"


# -- mac ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "0:11:22:33:44:55",
        "00:11:22:33:44:55",
        "00-11-22-33-44-55",
        " 0:11:22:33:44:55\n",
    ],
)
def test_mac_accepted_forms(text):
    """Unpadded (ether_ntoa), padded, '-' separated and blank-padded MACs parse."""
    assert convert.mac(text) == bytes.fromhex("001122334455")


def test_mac_case_insensitive():
    """Upper and lower case hex digits give the same MAC."""
    assert convert.mac("AA:bb:Cc:0:D:e") == bytes.fromhex("aabbcc000d0e")


@pytest.mark.parametrize(
    "text",
    [
        "zz",
        "",
        "0:11:22:33:44",
        "0:11:22:33:44:55:66",
        "0:11-22:33:44:55",
        "001:11:22:33:44:55",
        "001122334455",
    ],
)
def test_mac_rejects(text):
    """Anything but six 1-2 digit hex groups with one separator is refused."""
    assert error_of(convert.mac, text) == f"not a MAC address: {convert.quote(text)}"


def test_mac_error_text():
    """The message quotes the stripped value."""
    assert error_of(convert.mac, " zz ") == "not a MAC address: 'zz'"


@given(st.binary(min_size=6, max_size=6))
def test_mac_roundtrip_unpadded(raw):
    """Every MAC written the way NDPMon writes it (ether_ntoa) reads back."""
    assert convert.mac(":".join(f"{b:x}" for b in raw)) == raw


# -- ipv6 -----------------------------------------------------------------------


def test_ipv6_parses_to_16_bytes():
    """An IPv6 address becomes the 16 bytes the decoder also produces."""
    assert convert.ipv6(" 2001:db8::1\n") == bytes.fromhex("20010db8" + "0" * 22 + "01")


@pytest.mark.parametrize("text", ["x", "2001:db8::1::2", "10.0.0.1", "fe80::1%eth0"])
def test_ipv6_rejects(text):
    """Non-IPv6 text, IPv4 and scoped addresses are refused."""
    assert error_of(convert.ipv6, text) == f"not an IPv6 address: {convert.quote(text)}"


def test_ipv6_rejects_non_ascii():
    """Non-ASCII text is a plain error, not an encoding crash."""
    assert error_of(convert.ipv6, "fe80::\xe9") == "not an IPv6 address: 'fe80::\xe9'"


@given(st.binary(min_size=16, max_size=16))
def test_ipv6_roundtrip(raw):
    """Every address printed by inet_ntop reads back unchanged."""
    assert convert.ipv6(socket.inet_ntop(socket.AF_INET6, raw)) == raw


# -- numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "func, high",
    [(convert.u8, 255), (convert.u16, 65535), (convert.u32, 4294967295)],
)
def test_unsigned_bounds(func, high):
    """0 and the maximum are accepted, one more is refused."""
    assert func("0") == 0
    assert func(f" {high} ") == high
    assert error_of(func, str(high + 1)) == (
        f"not a number from 0 to {high}: '{high + 1}'"
    )


@pytest.mark.parametrize(
    "text", ["x", "-1", "+1", "1.5", "0x10", "", "\u0661", "9" * 50]
)
def test_u8_rejects(text):
    """Signs, hex, decimals, non-ASCII digits and huge numbers are refused."""
    assert (
        error_of(convert.u8, text)
        == f"not a number from 0 to 255: {convert.quote(text)}"
    )


def test_leading_zeros_are_decimal():
    """'010' is ten, as atoi/strtoul read it in NDPMon."""
    assert convert.u8("010") == 10


def test_positive():
    """Limits must be at least 1."""
    assert convert.positive("1") == 1
    assert error_of(convert.positive, "0") == "not a number from 1 to 4294967295: '0'"


def test_prefix_len():
    """Prefix lengths go from 0 to 128."""
    assert convert.prefix_len("128") == 128
    assert convert.prefix_len("0") == 0
    assert error_of(convert.prefix_len, "129") == (
        "not a prefix length from 0 to 128: '129'"
    )


# -- switches and names -------------------------------------------------------------


def test_boolean01():
    """Only '0' and '1' are switches."""
    assert convert.boolean01("1") is True
    assert convert.boolean01(" 0 ") is False
    assert error_of(convert.boolean01, "yes") == "not 0 or 1: 'yes'"
    assert error_of(convert.boolean01, "") == "not 0 or 1: ''"


@pytest.mark.parametrize(
    "name",
    [f"LOG_LOCAL{i}" for i in range(8)]
    + [
        "LOG_USER",
        "LOG_MAIL",
        "LOG_DAEMON",
        "LOG_AUTH",
        "LOG_SYSLOG",
        "LOG_LPR",
        "LOG_NEWS",
        "LOG_UUCP",
        "LOG_CRON",
        "LOG_AUTHPRIV",
        "LOG_FTP",
    ],
)
def test_syslog_facility_accepts_ndpmon_names(name):
    """Every facility name NDPMon 2.1 knows is accepted as it is."""
    assert convert.syslog_facility(f" {name}\n") == name


@pytest.mark.parametrize(
    "text", ["LOG_LOCAL8", "log_local1", "LOCAL1", "LOG_KERN", "x"]
)
def test_syslog_facility_rejects(text):
    """Other names, including lower case, are refused."""
    assert error_of(convert.syslog_facility, text) == (
        f"not a syslog facility: {convert.quote(text)}"
    )


def test_probe_type():
    """A probe is of type interface or remote."""
    assert convert.probe_type("remote") == "remote"
    assert error_of(convert.probe_type, "pcap") == "not 'interface' or 'remote': 'pcap'"


def test_one_line():
    """A value with a newline inside is refused (no mail header injection)."""
    assert convert.one_line(" root@localhost\n") == "root@localhost"
    assert (
        error_of(convert.one_line, "a\nBcc: x")
        == r"not a single line of text: 'a\nBcc: x'"
    )


# -- guards -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SUPPRESS", Guard("SUPPRESS", 0)),
        (" RESPOND\n", Guard("RESPOND", 0)),
        ("CEASE AFTER 10", Guard("CEASE AFTER", 10)),
        ("LAUNCH AFTER 0", Guard("LAUNCH AFTER", 0)),
        ("LAUNCH AFTER 255", Guard("LAUNCH AFTER", 255)),
    ],
)
def test_guard_accepts(text, expected):
    """The four guard forms of NDPMon parse, n from 0 to 255."""
    assert convert.guard(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "respond",
        "LAUNCH AFTER 256",
        "CEASE AFTER",
        "CEASE AFTER x",
        "RESPONDX",
        "SUPPRESS 1",
        "LAUNCH AFTER -1",
        "AFTER 3",
    ],
)
def test_guard_rejects(text):
    """Anything else is an error, where NDPMon silently chose SUPPRESS."""
    assert error_of(convert.guard, text) == (
        f"not a countermeasure guard: {convert.quote(text)}"
    )


# -- domains ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("example.com", "example.com"),
        (" Example.COM.\n", "example.com"),
        ("lan", "lan"),
    ],
)
def test_domain_normalized(text, expected):
    """Domains are stripped, lower-cased and lose one trailing dot."""
    assert convert.domain(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "a..b",
        "a" * 64 + ".com",
        ".".join(["a" * 63] * 4),
        "\x07example\x03com",
        "exa mple.com",
        "exa\x9bmple.com",
        "example.com..",
    ],
)
def test_domain_rejects(text):
    """Empty names or labels, too long labels or names, blanks, controls: refused."""
    assert error_of(convert.domain, text) == (
        f"not a domain name: {convert.quote(text.strip())}"
    )


def test_domain_accepts_maximum_sizes():
    """A 63-character label and a 253-character name are still valid."""
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(name) == 253
    assert convert.domain(name) == name
