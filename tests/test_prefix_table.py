"""PrefixTable (ndpmon.codec.addr) answers as ``in_prefix`` over its prefixes does.

The bogon check asks it for every frame's source; it keeps whole-byte lengths (a /64)
as bytes and the others as integers. Whatever the lengths, a table built at once or
prefix by prefix (learning) must say what a scan of its prefixes says.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from ndpmon.codec.addr import PrefixTable, in_prefix

addresses = st.binary(min_size=16, max_size=16)
prefixes = st.lists(st.tuples(addresses, st.integers(0, 128)), max_size=6)


@settings(max_examples=400, deadline=None)
@given(prefixes, st.lists(addresses, max_size=8), st.data())
def test_the_table_answers_as_a_scan_of_its_prefixes(known, asked, data):
    """Random prefixes of any length; addresses at random and inside each prefix."""
    inside = [p[:n // 8] + data.draw(addresses)[n // 8:] if n % 8 == 0 else p
              for p, n in known]
    built = PrefixTable(known)
    grown = PrefixTable(())
    for address, length in known:
        grown.add(address, length)
    for addr in asked + inside:
        expected = any(in_prefix(addr, p, n) for p, n in known)
        assert (addr in built) == expected
        assert (addr in grown) == expected


def test_a_64_and_a_41_in_one_table():
    """Two lengths, one whole-byte and one not: each answers for its own prefix."""
    table = PrefixTable([(bytes.fromhex("20010db8000100000000000000000000"), 64),
                         (bytes.fromhex("20010db8008000000000000000000000"), 41)])
    assert bytes.fromhex("20010db8000100000000000000000005") in table
    assert bytes.fromhex("20010db800ff00000000000000000001") in table
    assert bytes.fromhex("20010db8010000000000000000000001") not in table
    assert bytes.fromhex("20010db8000200000000000000000001") not in table
