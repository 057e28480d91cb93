#!/usr/bin/env python3
"""A second reader of fieldmesh bundle files, written from the documentation
alone (docs/protocol.md sections 3 and 7, docs/architecture.md "View
records"), so that a test fails when the documents and the C code disagree.

usage: reader.py FILE      (a bundle; vector and join files read too)

Reads the container (magic, trailer, checksum), the header and its
signature, decodes every entry strictly, checks every signature, chain link
and id, builds the dossier and visit records by the merge rules and hashes
them into the view digest. Prints one JSON object on stdout. Exit 0 when
everything verified, 1 when the file reads but something did not verify,
2 when the file cannot be read at all.
"""
import hashlib
import json
import subprocess
import sys

import msgpack  # python3-msgpack: only to cross-check the strict decoder
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

MALFORMED, BADSIG, TOOBIG, VERSION = -20001, -20002, -20003, -20004
CHECKSUM, TRUNCATED = -20034, -20035

# FMBNDL4 (entries in zstd sections) written today, FMBNDL3 since protocol
# version 5 (entries may carry sealed fields), FMBNDL2 since version 3
# (`after`); FMBNDL3, FMBNDL2 and FMBNDL1 bundles are read as bundles
# (protocol.md 7.1).
MAGICS = {b"FMBNDL4\n": "bundle", b"FMBNDL3\n": "bundle", b"FMBNDL2\n": "bundle",
          b"FMBNDL1\n": "bundle", b"FMVECT1\n": "vector", b"FMJOIN1\n": "join"}
BOMB = -20041
# protocol.md 7.3: an FMBNDL4 section
SECTION_MAX = 1 << 20
SECTION_RATIO = 256
FILE_MAX = 2 << 30
ENTRY_CONTEXT = b"fieldmesh entry v1\x00"
HEADER_CONTEXT = b"fieldmesh bundle header v1\x00"

# protocol.md 3.3
ENTRY_MAX = 16384
DEPTH_MAX = 8
ITEMS_MAX = 256
STRBIN_MAX = 4096
# protocol.md 7.1 / 7.2
ITEM_MIN = 108
HEADER_KEYS_MAX = 64
HEADER_DEPTH_MAX = 8
HEADER_ITEMS_MAX = 65536


class Fail(Exception):
    def __init__(self, code, why):
        super().__init__(why)
        self.code = code
        self.why = why


def H(data):
    """BLAKE2b with a 32-byte digest parameter, no key (protocol.md 3.5)."""
    return hashlib.blake2b(data, digest_size=32).digest()


class Str(bytes):
    """A MessagePack str, kept as its signed bytes (never re-normalized)."""


class Map(list):
    """A MessagePack map as a list of (key, value) pairs in file order."""

    def first(self, key):
        for k, v in self:
            if isinstance(k, Str) and bytes(k) == key:
                return v
        return None


class Raw:
    """A top-level body value together with its exact bytes."""

    def __init__(self, value, raw):
        self.value = value
        self.raw = raw


# ---------------------------------------------------------------------------
# The strict decoder (protocol.md 3.2 and 3.3), on the raw bytes.

class Cursor:
    def __init__(self, buf, pos=0, end=None, entry=False):
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end
        self.entry = entry  # inside an entry: the extra rules of 3.2 apply

    def left(self):
        return self.end - self.pos

    def take(self, n):
        if n > self.left():
            raise Fail(MALFORMED, "value runs past the end (%d bytes wanted, %d left)"
                       % (n, self.left()))
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def be(self, n):
        return int.from_bytes(self.take(n), "big")

    def sbe(self, n):
        return int.from_bytes(self.take(n), "big", signed=True)

    # -- headers: type byte and length/count in its shortest form ----------
    def head(self):
        """Returns (kind, n): kind is one of uint, int, str, bin, array, map,
        nil, bool, float, ext; n the value, length or count."""
        if self.left() < 1:
            raise Fail(MALFORMED, "value runs past the end")
        t = self.buf[self.pos]
        self.pos += 1
        if t <= 0x7f:
            return "uint", t
        if 0x80 <= t <= 0x8f:
            return "map", t & 0x0f
        if 0x90 <= t <= 0x9f:
            return "array", t & 0x0f
        if 0xa0 <= t <= 0xbf:
            return "str", t & 0x1f
        if t >= 0xe0:
            return "int", t - 0x100
        if t == 0xc0:
            return "nil", None
        if t == 0xc2:
            return "bool", False
        if t == 0xc3:
            return "bool", True
        if t == 0xc1:
            raise Fail(MALFORMED, "reserved byte c1")
        if t in (0xca, 0xcb):
            if self.entry:
                raise Fail(MALFORMED, "float inside an entry")
            self.take(4 if t == 0xca else 8)
            return "float", None
        if t in (0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8):
            if self.entry:
                raise Fail(MALFORMED, "extension type inside an entry")
            if t in (0xd4, 0xd5, 0xd6, 0xd7, 0xd8):
                self.take(1 + (1 << (t - 0xd4)))
            else:
                n = self.be({0xc7: 1, 0xc8: 2, 0xc9: 4}[t])
                self.take(1 + n)
            return "ext", None
        if t in (0xcc, 0xcd, 0xce, 0xcf):
            w = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}[t]
            v = self.be(w)
            lo = {1: 128, 2: 256, 4: 65536, 8: 1 << 32}[w]
            if v < lo:
                raise Fail(MALFORMED, "uint %d not in its shortest form" % v)
            return "uint", v
        if t in (0xd0, 0xd1, 0xd2, 0xd3):
            w = {0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8}[t]
            v = self.sbe(w)
            if v >= 0:
                raise Fail(MALFORMED, "signed form holding %d >= 0" % v)
            lo = {1: -32, 2: -128, 4: -32768, 8: -(1 << 31)}[w]
            if v >= lo:
                raise Fail(MALFORMED, "int %d not in its shortest form" % v)
            return "int", v
        if t in (0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6, 0xdc, 0xdd, 0xde, 0xdf):
            kind, w = {0xd9: ("str", 1), 0xda: ("str", 2), 0xdb: ("str", 4),
                       0xc4: ("bin", 1), 0xc5: ("bin", 2), 0xc6: ("bin", 4),
                       0xdc: ("array", 2), 0xdd: ("array", 4),
                       0xde: ("map", 2), 0xdf: ("map", 4)}[t]
            n = self.be(w)
            if kind == "str":
                lo = {1: 32, 2: 256, 4: 65536}[w]
            elif kind == "bin":
                lo = {1: 0, 2: 256, 4: 65536}[w]
            else:
                lo = {2: 16, 4: 65536}[w]
            if n < lo:
                raise Fail(MALFORMED, "%s length %d not in its shortest form" % (kind, n))
            return kind, n
        raise Fail(MALFORMED, "unknown type byte %02x" % t)

    def strbytes(self, n):
        b = self.take(n)
        try:
            b.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise Fail(MALFORMED, "str is not well-formed UTF-8")
        return Str(b)

    def value(self, depth=0, limits=None, top_map_raw=False):
        """Decodes one value. `limits` (dict) applies entry body limits or
        header limits; `depth` is the depth of the enclosing container."""
        kind, n = self.head()
        if kind in ("uint", "int", "nil", "bool"):
            return n
        if kind in ("float", "ext"):
            return None
        if kind in ("str", "bin"):
            # the bytes left first, then the limit (unlike a container's
            # count: protocol.md 3.3)
            if n > self.left():
                raise Fail(MALFORMED, "%s of %d bytes runs past the end" % (kind, n))
            if limits and limits.get("strbin") is not None and n > limits["strbin"]:
                raise Fail(TOOBIG, "%s of %d bytes" % (kind, n))
            return self.strbytes(n) if kind == "str" else bytes(self.take(n))
        # containers
        d = depth + 1
        if limits:
            code = limits.get("code", TOOBIG)
            if d > limits["depth"]:
                raise Fail(code, "container at depth %d" % d)
            if n > limits["items"]:
                raise Fail(code, "container of %d items" % n)
        if n > self.left():  # 3.2: the count, items or pairs, against the bytes
            raise Fail(MALFORMED, "count %d larger than the bytes left" % n)
        if kind == "array":
            return [self.value(d, limits) for _ in range(n)]
        m = Map()
        for _ in range(n):
            if limits and limits.get("strkeys"):
                if self.left() < 1:
                    raise Fail(MALFORMED, "value runs past the end")
                t = self.buf[self.pos]
                if not (0xa0 <= t <= 0xbf or t in (0xd9, 0xda, 0xdb)):
                    raise Fail(MALFORMED, "map key is not a str")
            k = self.value(d, limits)
            if top_map_raw:
                start = self.pos
                v = self.value(d, limits)
                m.append((k, Raw(v, bytes(self.buf[start:self.pos]))))
            else:
                m.append((k, self.value(d, limits)))
        return m


def enc_uint(v):
    if v <= 0x7f:
        return bytes([v])
    if v <= 0xff:
        return b"\xcc" + v.to_bytes(1, "big")
    if v <= 0xffff:
        return b"\xcd" + v.to_bytes(2, "big")
    if v <= 0xffffffff:
        return b"\xce" + v.to_bytes(4, "big")
    return b"\xcf" + v.to_bytes(8, "big")


def enc_str(b):
    n = len(b)
    if n <= 31:
        h = bytes([0xa0 | n])
    elif n <= 0xff:
        h = b"\xd9" + bytes([n])
    elif n <= 0xffff:
        h = b"\xda" + n.to_bytes(2, "big")
    else:
        h = b"\xdb" + n.to_bytes(4, "big")
    return h + bytes(b)


def enc_bin(b):
    n = len(b)
    if n <= 0xff:
        h = b"\xc4" + bytes([n])
    elif n <= 0xffff:
        h = b"\xc5" + n.to_bytes(2, "big")
    else:
        h = b"\xc6" + n.to_bytes(4, "big")
    return h + bytes(b)


def enc_array_head(n):
    if n <= 15:
        return bytes([0x90 | n])
    if n <= 0xffff:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


# ---------------------------------------------------------------------------
# Entries (protocol.md 3.1 - 3.5)

class Entry:
    pass


def decode_entry(data):
    """Strict decoding of one entry; raises Fail with the doc's code."""
    if len(data) > ENTRY_MAX:
        raise Fail(TOOBIG, "entry of %d bytes" % len(data))
    c = Cursor(data, entry=True)
    kind, n = c.head()
    if kind != "array" or n != 7:
        raise Fail(MALFORMED, "U is not an array of 7")
    e = Entry()
    e.bytes = bytes(data)
    # version
    k, v = c.head()
    if k != "uint":  # a negative int is not a version: malformed
        raise Fail(MALFORMED, "version is not a uint")
    if v != 1:
        raise Fail(VERSION, "version %r" % v)
    e.author = c.value()
    if type(e.author) is not bytes or len(e.author) != 32:
        raise Fail(MALFORMED, "author is not a bin 32")
    k, v = c.head()
    if k != "uint":
        raise Fail(MALFORMED, "seq is not a uint")
    if v == 0:
        raise Fail(MALFORMED, "seq 0")
    e.seq = v
    e.prev = c.value()
    if e.prev is None:
        if e.seq != 1:
            raise Fail(MALFORMED, "prev nil with seq %d" % e.seq)
    elif type(e.prev) is not bytes or len(e.prev) != 32:
        raise Fail(MALFORMED, "prev is not a bin 32 or nil")
    elif e.seq == 1:
        raise Fail(MALFORMED, "prev present with seq 1")
    k, v = c.head()
    if k != "uint":
        raise Fail(MALFORMED, "hlc is not a uint")
    e.hlc = v
    k, n = c.head()
    if k != "str":
        raise Fail(MALFORMED, "kind is not a str")
    if n < 1 or n > 32:
        raise Fail(MALFORMED, "kind of %d bytes" % n)
    e.kind = bytes(c.strbytes(n)) if n <= c.left() else c.take(n)
    # body: a map, depth 1, str keys at any depth, unique top-level keys
    if c.left() < 1:
        raise Fail(MALFORMED, "no body")
    t = data[c.pos]
    if not (0x80 <= t <= 0x8f or t in (0xde, 0xdf)):
        raise Fail(MALFORMED, "body is not a map")
    limits = {"depth": DEPTH_MAX, "items": ITEMS_MAX, "strbin": STRBIN_MAX,
              "strkeys": True}
    body = c.value(0, limits, top_map_raw=True)
    seen = set()
    for key, _ in body:
        if bytes(key) in seen:
            raise Fail(MALFORMED, "top-level body key %r twice" % bytes(key))
        seen.add(bytes(key))
    e.body = body
    e.u = bytes(data[:c.pos])
    sig = c.value()
    if type(sig) is not bytes or len(sig) != 64:
        raise Fail(MALFORMED, "sig is not a bin 64")
    e.sig = sig
    if c.left() != 0:
        raise Fail(MALFORMED, "%d bytes after sig" % c.left())
    e.id = H(e.bytes)
    # Cross-check: a lenient decoder must see the same U (not a strictness
    # check, only that both decoders read the same values).
    up = msgpack.Unpacker(raw=True, strict_map_key=False)
    up.feed(e.bytes)
    lax = next(up)
    if lax[1] != e.author or lax[2] != e.seq or lax[4] != e.hlc or lax[5] != e.kind:
        raise Fail(MALFORMED, "msgpack reads U differently")
    return e


def sig_ok(public, context, message, sig):
    try:
        VerifyKey(public).verify(context + message, sig)
        return True
    except (BadSignatureError, ValueError, TypeError):
        return False
    except Exception:  # a key that is not a point, for instance
        return False


def bval(body, key):
    """A top-level body field's value, or None when absent."""
    r = body.first(key)
    return r.value if isinstance(r, Raw) else r


def sfield(body, key):
    v = bval(body, key)
    return bytes(v) if isinstance(v, Str) else b""


# ---------------------------------------------------------------------------
# The container (protocol.md 7.1, 7.4) and its header (7.2)

def read_container(data):
    if len(data) > (2 << 30):
        raise Fail(TOOBIG, "file over 2 GiB")
    head = data[:8]
    kind = None
    for m, name in MAGICS.items():
        if m.startswith(head):
            kind = name
            break
    if kind is None and len(data) >= 8 and head[7:8] == b"\n" and head[6:7].isdigit() and \
            head[:6] in (b"FMBNDL", b"FMVECT", b"FMJOIN"):
        raise Fail(VERSION, "a container of another format version")
    if kind is None:
        raise Fail(MALFORMED, "not a container")
    if len(data) < 8:
        raise Fail(TRUNCATED, "shorter than its magic")
    if len(data) < 44 or data[-34:-32] != b"\xc4\x20":
        raise Fail(TRUNCATED, "no trailer")
    checksum = data[-32:]
    candidates = 0
    trailer = None
    for w in (1, 2, 3, 5, 9):
        t = len(data) - 34 - w - 1
        if t < 0 or data[t] != 0x92:
            continue
        try:
            c = Cursor(data, t + 1, t + 1 + w)
            k, n = c.head()
        except Fail:
            continue
        if k != "uint" or c.pos != t + 1 + w:
            continue
        candidates += 1
        if H(data[:t]) == checksum:
            trailer = (t, n)
            break
    if trailer is None:
        if candidates == 0:
            raise Fail(TRUNCATED, "no trailer candidate")
        raise Fail(CHECKSUM, "checksum does not match")
    t, count = trailer
    c = Cursor(data, 8, t)
    header, sig_start = read_header(c, kind)
    header_end = c.pos
    if head == b"FMBNDL4\n":
        items = read_sections(c, t, count, header)
        return {"kind": kind, "header": header, "sig_start": sig_start,
                "header_end": header_end, "items": items, "trailer": t,
                "count": count, "format": 4}
    items = []
    for _ in range(count):
        off = c.pos
        k, n = c.head()
        if k != "bin":
            raise Fail(MALFORMED, "item at %d is not a bin" % off)
        if n < ITEM_MIN or n > ENTRY_MAX:
            raise Fail(MALFORMED, "item at %d of %d bytes" % (off, n))
        start = c.pos
        items.append((start, bytes(c.take(n))))
    if c.pos != t:
        raise Fail(MALFORMED, "items do not end where the trailer starts")
    return {"kind": kind, "header": header, "sig_start": sig_start,
            "header_end": header_end, "items": items, "trailer": t,
            "count": count}


def zstd_frame(frame):
    """The content size that one zstd frame (RFC 8878) declares, after
    checking that |frame| is exactly one frame: None when undeclared."""
    if len(frame) < 6 or frame[:4] != b"\x28\xb5\x2f\xfd":
        raise Fail(MALFORMED, "a section is not a zstd frame")
    fhd = frame[4]
    fcs_flag, single, checksum, dict_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
    if fhd & 0x08:
        raise Fail(MALFORMED, "a section's frame sets a reserved bit")
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[dict_flag]
    fcs_len = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if pos + fcs_len > len(frame):
        raise Fail(MALFORMED, "a section's frame header is cut")
    size = int.from_bytes(frame[pos:pos + fcs_len], "little") if fcs_len else None
    if fcs_len == 2:
        size += 256
    pos += fcs_len
    while True:
        if pos + 3 > len(frame):
            raise Fail(MALFORMED, "a section's block is cut")
        bh = int.from_bytes(frame[pos:pos + 3], "little")
        last, btype, bsize = bh & 1, (bh >> 1) & 3, bh >> 3
        if btype == 3:
            raise Fail(MALFORMED, "a section's block of the reserved type")
        pos += 3 + (1 if btype == 1 else bsize)
        if last:
            break
    pos += 4 if checksum else 0
    if pos != len(frame):
        raise Fail(MALFORMED, "a section is not exactly one frame")
    return size


def read_sections(c, t, count, header):
    """FMBNDL4 (7.3): the bins before the header's `chunks` are sections,
    each one zstd frame of whole entries; every bound is checked from the
    frames' headers before anything is unpacked."""
    bins = []
    while c.pos < t:
        k, n = c.head()
        if k != "bin":
            raise Fail(MALFORMED, "item at %d is not a bin" % c.pos)
        bins.append(bytes(c.take(n)))
    nchunks = header.get("chunks", 0)
    if type(nchunks) is not int or nchunks > len(bins) or nchunks > count:
        raise Fail(MALFORMED, "chunks")
    sections = bins[:len(bins) - nchunks]
    sizes = []
    for f in sections:
        size = zstd_frame(f)
        if size is None or size > SECTION_MAX or size > SECTION_RATIO * len(f):
            raise Fail(BOMB, "a section would unpack past its bound")
        if size < ITEM_MIN + 2:
            raise Fail(MALFORMED, "a section smaller than an entry")
        sizes.append(size)
    if sum(sizes) > FILE_MAX:
        raise Fail(BOMB, "the sections would unpack past 2 GiB")
    items, base = [], 0
    for f, size in zip(sections, sizes):
        r = subprocess.run(["zstd", "-d", "-q", "-c"], input=f, capture_output=True)
        if r.returncode != 0 or len(r.stdout) != size:
            raise Fail(MALFORMED, "a section does not unpack to its declared size")
        s = Cursor(r.stdout)
        while s.left():
            k, n = s.head()
            if k != "bin" or n < ITEM_MIN or n > ENTRY_MAX:
                raise Fail(MALFORMED, "an entry of a section is not a bin of an entry's size")
            # offsets count in the unpacked sections, back to back
            items.append((base + s.pos, bytes(s.take(n))))
        base += size
    if len(items) != count - nchunks:
        raise Fail(MALFORMED, "the sections hold %d entries, the trailer says %d"
                   % (len(items), count - nchunks))
    return items


def read_header(c, kind):
    k, n = c.head()
    if k != "map":
        raise Fail(MALFORMED, "header is not a map")
    if n > HEADER_KEYS_MAX:
        raise Fail(MALFORMED, "header of %d keys" % n)
    if n > c.left():
        raise Fail(MALFORMED, "header count larger than the bytes left")
    known = ("from", "authority", "commune", "created", "vector", "certs")
    h = {}
    sig_start = None
    # a header over these limits is malformed (7.2), not TOOBIG
    limits = {"depth": HEADER_DEPTH_MAX, "items": HEADER_ITEMS_MAX,
              "strbin": None, "strkeys": False, "code": MALFORMED}
    for i in range(n):
        kpos = c.pos
        key = c.value()
        if not isinstance(key, Str):
            raise Fail(MALFORMED, "header key is not a str")
        name = bytes(key).decode()
        if name in h or (name == "sig" and sig_start is not None):
            raise Fail(MALFORMED, "header key %s twice" % name)
        if name == "sig":
            if i != n - 1:
                raise Fail(MALFORMED, "sig is not the last header key")
            sig_start = kpos
            v = c.value()
            if type(v) is not bytes or len(v) != 64:
                raise Fail(MALFORMED, "header sig is not a bin 64")
            h["sig"] = v
        elif name in known:
            h[name] = c.value()
        elif name == "chunks":
            # FMBNDL3 and FMBNDL4 (7.2): how many items, at the end, are chunks
            h[name] = c.value()
        else:
            # skipped: a later version may add keys. The header map is not
            # counted: the value's own container is depth 1 (up to 8).
            c.value(0, limits)
    for name in known:
        if name not in h:
            raise Fail(MALFORMED, "header lacks %s" % name)
    for name in ("from", "authority"):
        if type(h[name]) is not bytes or len(h[name]) != 32:
            raise Fail(MALFORMED, "header %s is not a bin 32" % name)
    if not isinstance(h["commune"], Str) or len(h["commune"]) > 127 \
            or b"\x00" in h["commune"]:
        raise Fail(MALFORMED, "header commune")
    if type(h["created"]) is not int or isinstance(h["created"], bool) \
            or not 0 <= h["created"] <= (1 << 63) - 1:
        raise Fail(MALFORMED, "header created")
    if not isinstance(h["vector"], list):
        raise Fail(MALFORMED, "header vector is not an array")
    for it in h["vector"]:
        if not (isinstance(it, list) and len(it) == 3 and type(it[0]) is bytes
                and len(it[0]) == 32 and type(it[1]) is int and it[1] >= 0
                and type(it[2]) is bytes and len(it[2]) == 32):
            raise Fail(MALFORMED, "header vector item")
    if not isinstance(h["certs"], list) or any(type(x) is not bytes for x in h["certs"]):
        raise Fail(MALFORMED, "header certs")
    return h, sig_start


# ---------------------------------------------------------------------------
# Views (architecture.md "View records")

DOSSIER_STATUS = [b"draft", b"submitted", b"processing", b"result_ready",
                  b"delivered", b"rejected", b"withdrawn"]
SERVICES = [b"account_created", b"eid_activated", b"dossier_submitted",
            b"payment_guided", b"feedback_guided", b"result_received",
            b"app_installed"]


def rank(status):
    return 5 if status >= 5 else status


def stamp_of(e):
    """(order, author, seq, hlc): order is one past the body's `after` when
    that uint is at least the hlc (and below 2**64 - 1), else the hlc."""
    order = e.hlc
    after = bval(e.body, b"after")
    if type(after) is int and e.hlc <= after < 2**64 - 1:
        order = after + 1
    return (order, e.author, e.seq, e.hlc)


def enc_stamp(s):
    if s is None:
        return b"\xc0"
    order, author, seq, hlc = s
    if order == hlc:
        return b"\x93" + enc_uint(hlc) + enc_bin(author) + enc_uint(seq)
    return b"\x94" + enc_uint(hlc) + enc_bin(author) + enc_uint(seq) + enc_uint(order)


def later(a, b):
    """a later than b; None is older than any stamp."""
    if a is None:
        return False
    if b is None:
        return True
    return a[:3] > b[:3]  # order, then author bytes unsigned, then seq


def new_dossier():
    return {"base": None, "created": None, "procedure": b"", "name": b"",
            "idn": b"", "phone": b"", "village": b"", "team": b"",
            "channel": b"", "note": b"", "attachments": [],
            "ref_stamp": None, "ref": b"", "status": 0, "status_stamp": None,
            "status_note": b"", "date": b"", "level": 0}


def new_visit():
    return {"base": None, "team": b"", "village": b"", "place": b"",
            "date": b"", "mode": b"", "services": 0, "citizens": 0,
            "note": b"", "void_stamp": None, "void_reason": b""}


def offer(r, status, s, note, level=0):
    """Status order: the level (the correction a status stands on), then
    the rank on the ladder, then the stamp (protocol.md 3.8)."""
    if (r["status_stamp"] is None or level > r["level"]
            or (level == r["level"] and (rank(status) > rank(r["status"])
                or (rank(status) == rank(r["status"]) and later(s, r["status_stamp"]))))):
        r["status"], r["status_stamp"], r["status_note"] = status, s, note
        r["level"] = level


# Roles whose devices may write a dossier.correct (others are quarantined,
# so never materialized).
CORRECTORS = (b"leader", b"officer", b"admin")


ATTACH_KINDS = (b"id_card", b"household_book", b"application_form", b"photo", b"other")
ATTACH_CHUNK = 61440
ATTACH_FILE_MAX = 128 * ATTACH_CHUNK
ATTACH_MAX = 64
# A sealed value (3.9): format byte, grant seq, nonce, then the ciphertext
# and its tag.  An attachment's key is sealed as 64 hex digits.
SEAL_OVERHEAD = 1 + 8 + 24 + 16


def attach_ok(b):
    """A `dossier.attach` body as protocol.md 3.10 defines it."""
    d, kind, name = bval(b, b"dossier"), bval(b, b"kind"), bval(b, b"name")
    size, chunk = bval(b, b"size"), bval(b, b"chunk")
    chunks, key = bval(b, b"chunks"), bval(b, b"key")
    sealed_name = type(name) is bytes and len(name) > SEAL_OVERHEAD
    if not (isinstance(d, Str) and 1 <= len(d) <= 64 and isinstance(kind, Str)
            and bytes(kind) in ATTACH_KINDS
            and (sealed_name or (isinstance(name, Str) and 1 <= len(name) <= 255
                                 and b"/" not in bytes(name) and b"\x00" not in bytes(name)))):
        return False
    if type(size) is not int or not 1 <= size <= ATTACH_FILE_MAX or chunk != ATTACH_CHUNK \
            or type(chunk) is not int:
        return False
    n = (size + ATTACH_CHUNK - 1) // ATTACH_CHUNK
    return type(chunks) is bytes and len(chunks) == 32 * n and type(key) is bytes \
        and len(key) in (32, 64 + SEAL_OVERHEAD)


def add_attachment(r, s):
    """The dossier's list of attachment stamps: oldest first, once each,
    the ATTACH_MAX oldest."""
    if s in r["attachments"]:
        return
    r["attachments"] = sorted(r["attachments"] + [s], key=lambda x: x[:3])[:ATTACH_MAX]


def merge(views, e, roles=None):
    """|roles|: device -> role (bytes) from the authority's enrollments, the
    authority itself as b"authority"."""
    kind = e.kind
    if kind not in (b"dossier", b"dossier.status", b"dossier.correct", b"visit",
                    b"visit.void", b"dossier.attach"):
        return
    if kind == b"dossier.correct" and (roles or {}).get(e.author) not in \
            CORRECTORS + (b"authority",):
        return
    rid = bval(e.body, b"dossier" if kind == b"dossier.attach" else b"id")
    if not isinstance(rid, Str) or not 1 <= len(rid) <= 40:
        return
    rid = bytes(rid)
    s = stamp_of(e)
    b = e.body
    if kind == b"dossier.attach":
        r = views["dossiers"].setdefault(rid, new_dossier())
        if attach_ok(b):
            add_attachment(r, s)
    elif kind in (b"dossier", b"dossier.status", b"dossier.correct"):
        r = views["dossiers"].setdefault(rid, new_dossier())
        if kind == b"dossier":
            if later(s, r["base"]):
                r["base"] = s
                r["procedure"] = sfield(b, b"procedure")
                app = bval(b, b"applicant")
                for f, k in (("name", b"name"), ("idn", b"id_number"), ("phone", b"phone")):
                    v = app.first(k) if isinstance(app, Map) else None
                    r[f] = bytes(v) if isinstance(v, Str) else b""
                r["village"] = sfield(b, b"village")
                r["team"] = sfield(b, b"team")
                r["channel"] = sfield(b, b"channel")
                r["note"] = sfield(b, b"note")
            if r["created"] is None or later(r["created"], s):
                r["created"] = s
                r["date"] = sfield(b, b"date")
            pref = sfield(b, b"portal_ref")
            if pref and later(s, r["ref_stamp"]):
                r["ref"], r["ref_stamp"] = pref, s
            offer(r, 0, s, b"")
        else:
            st = sfield(b, b"status")
            if st not in DOSSIER_STATUS:
                return
            if kind == b"dossier.correct":
                offer(r, DOSSIER_STATUS.index(st), s, sfield(b, b"reason"), s[0])
                return
            level = bval(b, b"correction")
            if type(level) is not int or level >= s[0]:
                level = 0
            offer(r, DOSSIER_STATUS.index(st), s, sfield(b, b"note"), level)
            ref = sfield(b, b"ref")
            if ref and later(s, r["ref_stamp"]):
                r["ref"], r["ref_stamp"] = ref, s
    else:
        r = views["visits"].setdefault(rid, new_visit())
        if kind == b"visit":
            if later(s, r["base"]):
                r["base"] = s
                for f in ("team", "village", "place", "date", "mode", "note"):
                    r[f] = sfield(b, f.encode())
                mask = 0
                sv = bval(b, b"services")
                if isinstance(sv, list):
                    for item in sv:
                        if not isinstance(item, Str):
                            break
                        if bytes(item) in SERVICES:
                            mask |= 1 << SERVICES.index(bytes(item))
                r["services"] = mask
                c = bval(b, b"citizens")
                r["citizens"] = c if (type(c) is int and c >= 0) else 0
        else:
            if later(s, r["void_stamp"]):
                r["void_stamp"] = s
                r["void_reason"] = sfield(b, b"reason")


def enc_dossier(r):
    # 18 fields when a correction set the status level (the date then
    # always there, maybe empty), 17 when the date is not empty, else 16
    n = 18 if r["level"] else 17 if r["date"] else 16
    return (b"\xdc\x00" + bytes([n]) + enc_stamp(r["base"]) + enc_stamp(r["created"])
            + b"".join(enc_str(r[f]) for f in ("procedure", "name", "idn", "phone",
                                                "village", "team", "channel", "note"))
            + enc_array_head(len(r["attachments"]))
            + b"".join(enc_stamp(a) for a in r["attachments"])
            + enc_stamp(r["ref_stamp"]) + enc_str(r["ref"])
            + enc_uint(r["status"]) + enc_stamp(r["status_stamp"])
            + enc_str(r["status_note"]) + (enc_str(r["date"]) if n >= 17 else b"")
            + (enc_uint(r["level"]) if n == 18 else b""))


def enc_visit(r):
    return (b"\x9b" + enc_stamp(r["base"])
            + b"".join(enc_str(r[f]) for f in ("team", "village", "place", "date", "mode"))
            + enc_uint(r["services"]) + enc_uint(r["citizens"]) + enc_str(r["note"])
            + enc_stamp(r["void_stamp"]) + enc_str(r["void_reason"]))


def view_digest(views):
    out = [b"\x00"]
    for key in sorted(views["dossiers"]):
        rec = enc_dossier(views["dossiers"][key])
        out += [len(key).to_bytes(4, "big"), key, len(rec).to_bytes(4, "big"), rec]
    out.append(b"\x01")
    for key in sorted(views["visits"]):
        rec = enc_visit(views["visits"][key])
        out += [len(key).to_bytes(4, "big"), key, len(rec).to_bytes(4, "big"), rec]
    return H(b"".join(out))


def vector_digest(vector):
    return H(b"".join(a + s.to_bytes(8, "big") + h for a, s, h in vector))


# ---------------------------------------------------------------------------
# What this implementation's writers do (protocol.md 3.1, 3.8;
# architecture.md "Record ids"): not rules for a reader, but the docs say
# them, so a bundle written by the CLI must show them.

WRITER_KEYS = {
    b"enroll": [b"device", b"name", b"team", b"role", b"villages", b"commune", b"expires"],
    b"revoke": [b"device", b"after_seq"],
    b"visit": [b"id", b"team", b"village", b"place", b"date", b"mode", b"services",
               b"citizens", b"note"],
    b"visit.void": [b"id", b"reason"],
    b"dossier": [b"id", b"procedure", b"applicant", b"village", b"team", b"channel",
                 b"portal_ref", b"attachments", b"note"],
    b"dossier.status": [b"id", b"status", b"ref", b"note"],
    b"dossier.correct": [b"id", b"status", b"reason"],
    b"receipt": [b"sink", b"batch", b"ref", b"items"],
}
# Keys a writer adds last, when it has them (protocol.md 3.8): a dossier's
# `date`; a change's `after`, when its writer had seen the record.
WRITER_LAST = {b"dossier": [b"date"], b"dossier.status": [b"after", b"correction"],
               b"dossier.correct": [b"after"],
               b"visit.void": [b"after"]}
DAY_HLC = (24 * 3600 * 1000) << 16
CROCKFORD = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def writer_checks(entries):
    off = []
    notes = []
    last_hlc = {}
    ids = 0
    for e in entries:
        where = {"author": e.author.hex(), "seq": e.seq, "kind": e.kind.decode()}
        # It may go back only from a stamp more than a day ahead of the new
        # one: a clock that was wrong and is fixed (protocol.md 3.1).
        if e.author in last_hlc and last_hlc[e.author] - DAY_HLC <= e.hlc <= last_hlc[e.author]:
            off.append(dict(where, why="hlc does not increase along the author's log"))
        last_hlc[e.author] = e.hlc
        keys = [bytes(k) for k, _ in e.body]
        want = WRITER_KEYS.get(e.kind)
        tail, last = keys[len(want or []):], WRITER_LAST.get(e.kind) or []
        if want is not None and tail and \
                [k for k in last if k in tail] == tail:
            keys = keys[:len(want)]
        if want is not None and keys != want:
            off.append(dict(where, why="body keys %s, the doc lists %s"
                            % ([k.decode() for k in keys], [k.decode() for k in want])))
        if e.kind == b"dossier":
            app = bval(e.body, b"applicant")
            ak = [bytes(k) for k, _ in app] if isinstance(app, Map) else None
            if ak != [b"name", b"id_number", b"phone"]:
                off.append(dict(where, why="applicant keys %r" % ak))
        if e.kind == b"visit":
            sv = bval(e.body, b"services")
            names = [bytes(x) for x in sv] if isinstance(sv, list) else []
            if any(n not in SERVICES for n in names) or \
                    names != sorted(names, key=lambda n: SERVICES.index(n)):
                off.append(dict(where, why="services %r not in the list's order" % names))
        if e.kind in (b"visit", b"dossier"):
            rid = bytes(bval(e.body, b"id") or b"")
            prefix = b"V-" if e.kind == b"visit" else b"D-"
            digits = rid[2:]
            ids += 1
            if rid[:2] != prefix or len(digits) != 16 or any(c not in CROCKFORD for c in digits):
                off.append(dict(where, why="record id %r is not %s + 16 Crockford digits"
                                % (rid, prefix.decode())))
                continue
            v = 0
            for c in digits:
                v = v * 32 + CROCKFORD.index(c)
            raw = v.to_bytes(10, "big")
            if raw[6:8] != e.author[:2]:
                off.append(dict(where, why="record id %s does not hold the author's first "
                                "2 bytes" % rid.decode()))
            if int.from_bytes(raw[:6], "big") != (e.hlc >> 16) & ((1 << 48) - 1):
                # the id's clock is the writer's, the hlc may have been
                # pushed past it: a note, not a fault
                notes.append(dict(where, why="record id %s: its clock %d is not the entry's "
                                "hlc >> 16 = %d" % (rid.decode(), int.from_bytes(raw[:6], "big"),
                                                    e.hlc >> 16)))
    return {"record_ids": ids, "off": off, "notes": notes}


def enrollments(certs, entries, authority):
    out = []
    for e in entries:
        if e.author != authority or e.kind != b"enroll":
            continue
        b = e.body

        def g(k):
            v = bval(b, k)
            if isinstance(v, Str):
                return bytes(v).decode()
            if type(v) is bytes:
                return v.hex()
            if isinstance(v, list):
                return [bytes(x).decode() if isinstance(x, Str) else x for x in v]
            return v
        out.append({"seq": e.seq, "device": g(b"device"), "name": g(b"name"),
                    "team": g(b"team"), "role": g(b"role"), "villages": g(b"villages"),
                    "commune": g(b"commune"), "expires": g(b"expires")})
    return out


# ---------------------------------------------------------------------------

def main(argv):
    args = argv[1:]
    if len(args) != 1:
        print(next(l for l in __doc__.splitlines() if l.startswith("usage:")), file=sys.stderr)
        return 2
    path = args[0]
    with open(path, "rb") as f:
        data = f.read()
    try:
        box = read_container(data)
    except Fail as x:
        print(json.dumps({"ok": False, "container": {"error": x.code, "why": x.why}}))
        return 2
    h = box["header"]
    authority = h["authority"]
    out = {"file": box["kind"], "format": box.get("format", 0), "header": {
        "from": h["from"].hex(), "authority": authority.hex(),
        "commune": bytes(h["commune"]).decode(), "created": h["created"],
        "certs": len(h["certs"]), "vector_authors": len(h["vector"]),
        "vector": [[a.hex(), q, hd.hex()] for a, q, hd in h["vector"]],
        "signed": "sig" in h}}
    problems = []

    # header signature (7.2)
    if "sig" in h:
        signed = H(data[:box["sig_start"]])
        good = sig_ok(h["from"], HEADER_CONTEXT, signed, h["sig"])
        out["header"]["sig_ok"] = good
        if not good:
            problems.append("header signature does not verify")
    # header vector order: the authority first, then by author key
    vauthors = [it[0] for it in h["vector"]]
    rest = [a for a in vauthors if a != authority]
    expect = ([authority] if authority in vauthors else []) + sorted(rest)
    out["header"]["vector_order_ok"] = vauthors == expect and len(set(vauthors)) == len(vauthors)
    if not out["header"]["vector_order_ok"]:
        problems.append("header vector is not in the documented order")

    # certificates: enroll entries of the authority, ordered by device key
    cert_devices = []
    bad_certs = []
    for i, cb in enumerate(h["certs"]):
        try:
            ce = decode_entry(cb)
            if ce.author != authority or ce.kind != b"enroll" \
                    or not sig_ok(ce.author, ENTRY_CONTEXT, ce.u, ce.sig):
                raise Fail(BADSIG, "not a good enroll of the authority")
            dev = bval(ce.body, b"device")
            cert_devices.append(dev if type(dev) is bytes else b"")
        except Fail as x:
            bad_certs.append({"index": i, "error": x.code, "why": x.why})
    out["header"]["certs_ok"] = not bad_certs and cert_devices == sorted(cert_devices)
    if bad_certs:
        out["bad_certs"] = bad_certs
        problems.append("%d certificates do not verify" % len(bad_certs))
    elif cert_devices != sorted(cert_devices):
        problems.append("certificates are not ordered by device key")

    # entries
    entries = []
    invalid = []
    bad_sigs = []
    bad_links = []
    heads = {}  # author -> (seq, id)
    order = []  # authors in file order
    items_out = []
    for idx, (off, raw) in enumerate(box["items"]):
        try:
            e = decode_entry(raw)
        except Fail as x:
            invalid.append({"index": idx, "offset": off, "error": x.code, "why": x.why})
            continue
        e.index, e.offset = idx, off
        items_out.append({"index": idx, "offset": off, "length": len(raw),
                          "author": e.author.hex(), "seq": e.seq,
                          "kind": e.kind.decode(), "id": e.id.hex()})
        e.sig_ok = sig_ok(e.author, ENTRY_CONTEXT, e.u, e.sig)
        if not e.sig_ok:
            bad_sigs.append({"index": idx, "offset": off, "author": e.author.hex(),
                             "seq": e.seq, "error": BADSIG})
        prev = heads.get(e.author)
        if prev is None:
            if e.author in heads or e.seq != 1 or e.prev is not None:
                bad_links.append({"index": idx, "author": e.author.hex(), "seq": e.seq,
                                  "why": "an author's first entry in the bundle is not seq 1"})
            order.append(e.author)
        else:
            if e.seq != prev[0] + 1:
                bad_links.append({"index": idx, "author": e.author.hex(), "seq": e.seq,
                                  "why": "seq %d after %d" % (e.seq, prev[0])})
            elif e.prev != prev[1]:
                bad_links.append({"index": idx, "author": e.author.hex(), "seq": e.seq,
                                  "why": "prev is not the id of seq %d" % prev[0]})
        heads[e.author] = (e.seq, e.id)
        entries.append(e)
    if invalid:
        problems.append("%d entries do not decode" % len(invalid))
    if bad_sigs:
        problems.append("%d entries are badly signed" % len(bad_sigs))
    if bad_links:
        problems.append("%d chain links are wrong" % len(bad_links))

    # the items come author by author, in the header vector's order (7.3),
    # and the header's vector names exactly the heads of the items
    # (a bundle without --for holds every entry)
    mine = [(a, heads[a][0], heads[a][1]) for a in order]
    hv = [(it[0], it[1], it[2]) for it in h["vector"]]
    out["items_match_header_vector"] = mine == hv
    if box["kind"] == "bundle" and mine != hv:
        problems.append("the items' authors and heads are not the header's vector")

    # views
    views = {"dossiers": {}, "visits": {}}
    roles = {authority: b"authority"}
    for e in entries:
        if e.author == authority and e.kind == b"enroll":
            dev, role = bval(e.body, b"device"), bval(e.body, b"role")
            if type(dev) is bytes and isinstance(role, Str):
                roles[dev] = bytes(role)
    for e in entries:
        merge(views, e, roles)
    kinds = {}
    for e in entries:
        k = e.kind.decode()
        kinds[k] = kinds.get(k, 0) + 1

    out.update({
        "entries": len(box["items"]),
        "decoded": len(entries),
        "kinds": kinds,
        "authors": len(heads),
        "heads": [{"author": a.hex(), "seq": heads[a][0], "id": heads[a][1].hex()}
                  for a in order],
        "signatures_ok": sum(1 for e in entries if e.sig_ok),
        "bad_signatures": bad_sigs,
        "invalid": invalid,
        "chain_ok": not bad_links and not invalid,
        "bad_links": bad_links,
        "dossiers": len(views["dossiers"]),
        "visits": len(views["visits"]),
        "view_digest": view_digest(views).hex(),
        "vector_digest": vector_digest(mine).hex(),
        "enrollments": enrollments(h["certs"], entries, authority),
        "writer": writer_checks(entries),
        "trailer_offset": box["trailer"],
        "items": items_out,
        "problems": problems,
        "ok": not problems,
    })
    print(json.dumps(out, ensure_ascii=False))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
