"""Seed frames and structure-aware mutations of them, for fuzzing ndpmon's per-frame path.

Random bytes almost never get past the ICMPv6 checksum, so a blind fuzzer only ever
exercises ``malformed ND message``. Here a seed frame (from the test captures) is split
into Ethernet header, VLAN tags, IPv6 header, extension headers and ICMPv6 message, one
to four mutations change those parts (bit flips, truncation, spliced or broken options,
length fields, extension-header chains, fragment headers, VLAN tags, addresses and MACs
from a small pool), and the frame is put back together with its payload length and
checksum recomputed most of the time, so the mutated frame reaches the checks. Raw byte
mutations of the finished frame (flips, truncation, splicing two frames) run too.

Everything is driven by one ``random.Random``: a seed reproduces a run exactly.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["Frame", "Pool", "read_pcap", "seed_frames", "parse", "build", "mutate",
           "checksum", "write_pcap", "MAX_FRAME"]

ROOT = Path(__file__).resolve().parent.parent
SEED_DIRS = (ROOT / "tests" / "data" / "pcaps",
             ROOT.parent / "shared" / "ndpmon-reference" / "golden")

ETH_IPV6 = 0x86DD
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
EXT_TYPES = (0, 43, 60, 44, 51)  # hop-by-hop, routing, fragment, dest opts, AH
ICMPV6 = 58
ND_TYPES = (133, 134, 135, 136, 137)
ND_BODY = {133: 8, 134: 16, 135: 24, 136: 24, 137: 40}
MTU = 1500  # the IPv6 packet of a frame on an ordinary Ethernet link
#: The largest frame an ordinary Ethernet link delivers: 14 + 2 VLAN tags + 1500.
MAX_FRAME = 14 + 8 + MTU
INTERESTING8 = (0, 1, 2, 3, 4, 0x3F, 0x40, 0x7F, 0x80, 0x81, 0xC0, 0xFE, 0xFF)
INTERESTING32 = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1800, 2592000, 604800)


# -- pcap files ---------------------------------------------------------------


def read_pcap(path: Path) -> Iterator[tuple[float, bytes]]:
    """The (time, frame) records of a classic pcap file (either byte order)."""
    data = path.read_bytes()
    if len(data) < 24:
        return
    magic = data[:4]
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
             b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if order is None:
        return
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    rec = struct.Struct(order + "IIII")
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, _orig = rec.unpack_from(data, pos)
        pos += 16
        yield sec + frac / (1e9 if nano else 1e6), data[pos:pos + incl]
        pos += incl


def write_pcap(path: Path, frames: list[tuple[float, bytes]]) -> None:
    """Write ``frames`` as a little-endian classic pcap, Ethernet link type."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for when, frame in frames:
        sec = int(when)
        out.append(struct.pack("<IIII", sec, int((when - sec) * 1e6), len(frame), len(frame)))
        out.append(frame)
    path.write_bytes(b"".join(out))


def seed_frames() -> list[bytes]:
    """Every distinct frame of the test captures and (when present) the golden captures."""
    seen: dict[bytes, None] = {}
    for folder in SEED_DIRS:
        for pcap in sorted(folder.glob("*.pcap")):
            for _when, frame in read_pcap(pcap):
                seen.setdefault(bytes(frame))
    return list(seen)


# -- frame structure ------------------------------------------------------------


@dataclass
class Frame:
    """A frame split into the parts the mutations work on."""

    dst: bytes
    src: bytes
    tags: list[bytes]          # 4 bytes each: TPID + TCI
    ip: bytearray              # the 40-byte IPv6 header
    exts: list[tuple[int, bytearray]]   # (header type, its bytes)
    icmp: bytearray
    fix_length: bool = True
    fix_checksum: bool = True
    raw: list[Callable[[bytes], bytes]] = field(default_factory=list)


def parse(frame: bytes) -> Frame | None:
    """Split an Ethernet/IPv6/ICMPv6 frame; None if it is not one."""
    if len(frame) < 14:
        return None
    pos, tags = 12, []
    while frame[pos:pos + 2] in [t.to_bytes(2, "big") for t in VLAN_TPIDS]:
        tags.append(frame[pos:pos + 4])
        pos += 4
    if frame[pos:pos + 2] != b"\x86\xdd" or len(frame) < pos + 42:
        return None
    pos += 2
    ip = bytearray(frame[pos:pos + 40])
    wanted = pos + 40 + (ip[4] << 8 | ip[5])
    end = min(len(frame), wanted)
    pos += 40
    nh, exts = ip[6], []
    while nh != ICMPV6:
        if nh not in EXT_TYPES or pos + 8 > end:
            return None
        size = 8 if nh == 44 else (frame[pos + 1] + 2) * 4 if nh == 51 else (frame[pos + 1] + 1) * 8
        exts.append((nh, bytearray(frame[pos:pos + size])))
        nh = frame[pos]
        pos += size
    if pos > end:
        return None
    fr = Frame(frame[:6], frame[6:12], tags, ip, exts, bytearray(frame[pos:end]))
    # A seed with a wrong checksum or length keeps it: build(parse(seed)) == seed.
    fr.fix_length = wanted <= len(frame)
    fr.fix_checksum = len(fr.icmp) < 4 or fr.icmp[2:4] == checksum(
        bytes(ip[8:24]), bytes(ip[24:40]), bytes(fr.icmp)).to_bytes(2, "big")
    if wanted < len(frame):  # trailing bytes (Ethernet padding) stay
        fr.raw.append(lambda data, tail=frame[wanted:]: data + tail)
    return fr


def checksum(src: bytes, dst: bytes, icmp: bytes) -> int:
    """The ICMPv6 checksum (RFC 4443 §2.3) of ``icmp`` with its checksum field zeroed."""
    data = src + dst + struct.pack("!II", len(icmp), ICMPV6) + icmp[:2] + b"\0\0" + icmp[4:]
    if len(data) & 1:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build(fr: Frame) -> bytes:
    """The frame's bytes: extension chain linked, length and checksum fixed if asked."""
    ip = bytearray(fr.ip)
    types = [t for t, _ in fr.exts] + [ICMPV6]
    ip[6] = types[0]
    exts = b""
    for (_, body), nxt in zip(fr.exts, types[1:], strict=True):
        body = bytearray(body)
        if body:
            body[0] = nxt
        exts += body
    icmp = bytearray(fr.icmp)
    if fr.fix_checksum and len(icmp) >= 4:
        icmp[2:4] = checksum(bytes(ip[8:24]), bytes(ip[24:40]), bytes(icmp)).to_bytes(2, "big")
    payload = exts + icmp
    if fr.fix_length:
        ip[4:6] = min(len(payload), 0xFFFF).to_bytes(2, "big")
    out = fr.dst + fr.src + b"".join(fr.tags) + b"\x86\xdd" + bytes(ip) + payload
    for edit in fr.raw:
        out = edit(out)
    return out


# -- the pool of addresses, MACs and options seen in the seeds ----------------------


@dataclass
class Pool:
    """What the mutations draw from: the seeds' addresses, MACs, options and frames."""

    frames: list[bytes]
    macs: list[bytes]
    addrs: list[bytes]
    options: list[bytes]

    @classmethod
    def from_seeds(cls, frames: list[bytes]) -> Pool:
        macs: dict[bytes, None] = {b"\xff" * 6: None, bytes(6): None,
                                   b"\x33\x33\x00\x00\x00\x01": None}
        addrs: dict[bytes, None] = {bytes(16): None, bytes.fromhex("ff02" + "00" * 13 + "01"): None,
                                    bytes.fromhex("fe80" + "00" * 13 + "01"): None,
                                    bytes.fromhex("ff02" + "00" * 9 + "01ff000001"): None}
        options: dict[bytes, None] = {}
        for frame in frames:
            fr = parse(frame)
            if fr is None:
                continue
            macs.setdefault(fr.src)
            addrs.setdefault(bytes(fr.ip[8:24]))
            addrs.setdefault(bytes(fr.ip[24:40]))
            if len(fr.icmp) >= 24 and fr.icmp[0] in (135, 136, 137):
                addrs.setdefault(bytes(fr.icmp[8:24]))
            for opt in _options(fr.icmp):
                options.setdefault(bytes(opt))
        return cls(frames, list(macs), list(addrs), list(options))


def _options(icmp: bytearray) -> list[bytearray]:
    """The well-formed options of an ND message (stops at the first broken one)."""
    pos = ND_BODY.get(icmp[0] if icmp else 0, len(icmp))
    out = []
    while pos + 2 <= len(icmp) and icmp[pos + 1] and pos + icmp[pos + 1] * 8 <= len(icmp):
        size = icmp[pos + 1] * 8
        out.append(bytearray(icmp[pos:pos + size]))
        pos += size
    return out


def _set_options(icmp: bytearray, options: list[bytearray]) -> bytearray:
    body = ND_BODY.get(icmp[0] if icmp else 0, len(icmp))
    return bytearray(icmp[:body]) + b"".join(options)


# -- mutations ---------------------------------------------------------------------


def _flip_bits(rng: random.Random, fr: Frame, pool: Pool) -> None:
    if len(fr.icmp) > 4:
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(4, len(fr.icmp))
            fr.icmp[i] ^= 1 << rng.randrange(8)


def _interesting_byte(rng: random.Random, fr: Frame, pool: Pool) -> None:
    if fr.icmp:
        fr.icmp[rng.randrange(len(fr.icmp))] = rng.choice(INTERESTING8)


def _interesting_word(rng: random.Random, fr: Frame, pool: Pool) -> None:
    if len(fr.icmp) >= 8:
        i = rng.randrange(4, len(fr.icmp) - 3)
        fr.icmp[i:i + 4] = rng.choice(INTERESTING32).to_bytes(4, "big")


def _truncate(rng: random.Random, fr: Frame, pool: Pool) -> None:
    del fr.icmp[rng.randrange(len(fr.icmp) + 1):]


def _append(rng: random.Random, fr: Frame, pool: Pool) -> None:
    fr.icmp += rng.randbytes(rng.choice((1, 2, 7, 8, 16, rng.randint(1, 64))))


def _option_edit(rng: random.Random, fr: Frame, pool: Pool) -> None:
    """Drop, duplicate, splice in, reorder or repeat options."""
    opts = _options(fr.icmp)
    what = rng.randrange(6)
    if what == 0 and opts:
        del opts[rng.randrange(len(opts))]
    elif what == 1 and opts:
        opts.insert(rng.randrange(len(opts) + 1), bytearray(rng.choice(opts)))
    elif what == 2 and pool.options:
        opts.insert(rng.randrange(len(opts) + 1), bytearray(rng.choice(pool.options)))
    elif what == 3:
        rng.shuffle(opts)
    elif what == 4 and pool.options:  # many options: as large a message as the MTU allows
        room = MTU - 40 - ND_BODY.get(fr.icmp[0] if fr.icmp else 0, 0)
        room -= sum(len(o) for o in opts) + sum(len(b) for _, b in fr.exts)
        for _ in range(rng.randint(20, 180)):
            opt = rng.choice(pool.options)
            if len(opt) > room and rng.random() < 0.95:  # now and then: a jumbo frame
                break
            opts.append(bytearray(opt))
            room -= len(opt)
    else:
        opts.append(_random_option(rng))
    fr.icmp = _set_options(fr.icmp, opts)


def _random_option(rng: random.Random) -> bytearray:
    otype = rng.choice((1, 2, 3, 4, 5, 24, 25, 31, 14, 0, 255))
    units = rng.choice((1, 2, 3, 4, rng.randint(1, 40)))
    body = bytearray(rng.randbytes(units * 8 - 2))
    if otype == 31 and rng.random() < 0.7:  # DNSSL: labels, some of them odd
        labels = b"".join(bytes([n]) + rng.randbytes(n)
                          for n in rng.choices((0, 1, 3, 63, 64, 200), k=4))
        body = bytearray((b"\0" * 6 + labels).ljust(units * 8 - 2, b"\0")[:units * 8 - 2])
    return bytearray([otype, units]) + body


def _option_length(rng: random.Random, fr: Frame, pool: Pool) -> None:
    """Break an option's length field: 0, 1, too long, or random."""
    body = ND_BODY.get(fr.icmp[0] if fr.icmp else 0, 0)
    starts, pos = [], body
    while pos + 2 <= len(fr.icmp) and fr.icmp[pos + 1]:
        starts.append(pos)
        pos += fr.icmp[pos + 1] * 8
    if starts:
        fr.icmp[rng.choice(starts) + 1] = rng.choice((0, 1, 2, 4, 5, 0xFF, rng.randrange(256)))


def _retype(rng: random.Random, fr: Frame, pool: Pool) -> None:
    if fr.icmp:
        fr.icmp[0] = rng.choice(ND_TYPES + (rng.randrange(256),))
        if len(fr.icmp) > 1 and rng.random() < 0.2:
            fr.icmp[1] = rng.randrange(256)


def _address(rng: random.Random, fr: Frame, pool: Pool) -> None:
    """Source, destination or target from the pool (or random)."""
    addr = rng.choice(pool.addrs) if rng.random() < 0.9 else rng.randbytes(16)
    where = rng.choice((8, 24, -1))
    if where > 0:
        fr.ip[where:where + 16] = addr
    elif len(fr.icmp) >= 24:
        fr.icmp[8:24] = addr


def _mac(rng: random.Random, fr: Frame, pool: Pool) -> None:
    """Ethernet source/destination or a link-layer option's MAC from the pool."""
    mac = rng.choice(pool.macs) if rng.random() < 0.9 else rng.randbytes(6)
    where = rng.randrange(3)
    if where == 0:
        fr.src = mac
    elif where == 1:
        fr.dst = mac
    else:
        opts = _options(fr.icmp)
        lla = [o for o in opts if o[0] in (1, 2)]
        if lla:
            rng.choice(lla)[2:8] = mac
            fr.icmp = _set_options(fr.icmp, opts)


def _ip_fields(rng: random.Random, fr: Frame, pool: Pool) -> None:
    """Hop limit, version, traffic class; or a wrong payload length."""
    what = rng.randrange(4)
    if what == 0:
        fr.ip[7] = rng.choice((255, 254, 1, 0, 64))
    elif what == 1:
        fr.ip[0] = (rng.randrange(16) << 4) | (fr.ip[0] & 0xF)
    elif what == 2:
        fr.ip[1:4] = rng.randbytes(3)
    else:
        fr.fix_length = False
        size = len(fr.icmp) + sum(len(b) for _, b in fr.exts)
        fr.ip[4:6] = max(0, min(0xFFFF, size + rng.choice((-9, -1, 1, 8, 1000)))).to_bytes(2, "big")


def _extension(rng: random.Random, fr: Frame, pool: Pool) -> None:
    """Insert one extension header (hop-by-hop, routing, fragment, dest opts, AH) or drop one."""
    if fr.exts and rng.random() < 0.25:
        del fr.exts[rng.randrange(len(fr.exts))]
        return
    kind = rng.choice(EXT_TYPES)
    if kind == 44:
        offmf = rng.choice((0, 1, 8, 9, rng.randrange(65536)))
        body = bytearray([0, 0]) + offmf.to_bytes(2, "big") + rng.randbytes(4)
    elif kind == 51:
        units = rng.choice((0, 1, 4, rng.randrange(256)))
        body = bytearray([0, units]) + bytearray((units + 2) * 4 - 2)
    else:
        units = rng.choice((0, 0, 1, rng.randrange(256)))
        body = bytearray([0, units]) + bytearray(b"\x01\x04" + bytes(4)) + bytearray(units * 8)
    if rng.random() < 0.1:  # a length byte that lies
        body[1] = rng.randrange(256)
    fr.exts.insert(rng.randrange(len(fr.exts) + 1), (kind, body))


def _long_chain(rng: random.Random, fr: Frame, pool: Pool) -> None:
    """Many small extension headers in a row."""
    for _ in range(rng.randint(10, 150)):
        kind = rng.choice((0, 60, 43))
        fr.exts.append((kind, bytearray([0, 0, 1, 4, 0, 0, 0, 0])))


def _vlan(rng: random.Random, fr: Frame, pool: Pool) -> None:
    """Add up to three VLAN tags (the decoder takes two), or remove them."""
    if fr.tags and rng.random() < 0.3:
        fr.tags.clear()
        return
    for _ in range(rng.randint(1, 3)):
        tpid = rng.choice(VLAN_TPIDS)
        fr.tags.append(tpid.to_bytes(2, "big") + rng.randrange(65536).to_bytes(2, "big"))


def _no_checksum(rng: random.Random, fr: Frame, pool: Pool) -> None:
    fr.fix_checksum = False


def _raw(rng: random.Random, fr: Frame, pool: Pool) -> None:
    """A byte-level edit of the finished frame: flips, truncation, splicing another frame."""
    what = rng.randrange(3)
    if what == 0:
        def edit(data: bytes) -> bytes:
            buf = bytearray(data)
            for _ in range(rng.randint(1, 8) if buf else 0):
                buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
            return bytes(buf)
    elif what == 1:
        def edit(data: bytes) -> bytes:
            return data[:rng.randrange(len(data) + 1)]
    else:
        other = rng.choice(pool.frames)

        def edit(data: bytes) -> bytes:
            return data[:rng.randrange(len(data) + 1)] + other[rng.randrange(len(other) + 1):]
    fr.raw.append(edit)


#: The mutations with their weights.
MUTATIONS: tuple[tuple[Callable[[random.Random, Frame, Pool], None], int], ...] = (
    (_flip_bits, 6), (_interesting_byte, 6), (_interesting_word, 4), (_truncate, 3),
    (_append, 2), (_option_edit, 8), (_option_length, 4), (_retype, 2), (_address, 8),
    (_mac, 6), (_ip_fields, 3), (_extension, 4), (_long_chain, 1), (_vlan, 3),
    (_no_checksum, 1), (_raw, 2),
)
_FUNCS = [f for f, _ in MUTATIONS]
_WEIGHTS = [w for _, w in MUTATIONS]


def mutate(rng: random.Random, seed: bytes, pool: Pool, count: int | None = None) -> bytes:
    """``seed`` after ``count`` (default 1-4) structure-aware mutations."""
    fr = parse(seed)
    if fr is None:  # not an ND frame: only byte-level edits
        fr = Frame(b"", b"", [], bytearray(), [], bytearray())
        data = seed
        for _ in range(count or rng.randint(1, 4)):
            _raw(rng, fr, pool)
            data = fr.raw.pop()(data) or data
        return data
    for func in rng.choices(_FUNCS, _WEIGHTS, k=count or rng.randint(1, 4)):
        func(rng, fr, pool)
    return build(fr)


def small_pool(pool: Pool, rng: random.Random, macs: int = 5, addrs: int = 8) -> Pool:
    """A pool with few MACs and addresses, so that frames of a sequence meet again:
    the same MAC with new addresses, an address with a new MAC, DAD probes answered."""
    routers = [m for m in pool.macs if m.startswith(b"\x00\x00\x5e\x00\x53\x01")]
    chosen = routers + rng.sample(pool.macs, min(macs, len(pool.macs)))
    return Pool(pool.frames, chosen, rng.sample(pool.addrs, min(addrs, len(pool.addrs))),
                pool.options)


def sequence(rng: random.Random, pool: Pool, length: int) -> Iterator[tuple[float, bytes]]:
    """(time step, frame) pairs: seeds re-addressed from ``pool`` and lightly mutated.

    Steps are mostly under a second, sometimes 0, sometimes past the DAD window or an
    hour (cache-limit reports), and now and then negative (a pcap out of order).
    """
    for _ in range(length):
        fr = parse(rng.choice(pool.frames))
        if fr is None:
            continue
        for func in (_mac, _address, _mac, _address):
            if rng.random() < 0.7:
                func(rng, fr, pool)
        for func in rng.choices(_FUNCS, _WEIGHTS, k=rng.choice((0, 0, 1, 2))):
            func(rng, fr, pool)
        step = rng.choice((0.0, 0.01, 0.3, 1.0, 2.5, 11.0, 3601.0, -5.0))
        yield step, build(fr)
