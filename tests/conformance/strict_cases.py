#!/usr/bin/env python3
"""The strict decoding rules of docs/protocol.md 3.2 and 3.3, case by case,
read both by reader.py and by `fieldmesh bundle import`.

Each case is one entry, signed (Ed25519, 3.4) by a key of its own that the
commune does not know. By 3.7 such an entry that decodes is *held* (its
signature checked first), and one that does not decode is *invalid*, which
the import counts as refused. Each case goes into a bundle of its own
(7.1: unsigned header, the commune's authority as `from`), imported into
an enrolled laptop; the reader must classify it as the doc says, and so
must fieldmesh.

usage: strict_cases.py FIELDMESH STATE_DIR    (STATE_DIR: an enrolled laptop)
"""
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reader as R  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402

E = R.enc_str


def s(text):
    return E(text.encode() if isinstance(text, str) else text)


def fixmap(pairs):
    return bytes([0x80 | len(pairs)]) + b"".join(pairs)


def map16(pairs):
    return b"\xde" + len(pairs).to_bytes(2, "big") + b"".join(pairs)


def arr16(items):
    return b"\xdc" + len(items).to_bytes(2, "big") + b"".join(items)


NORMAL = fixmap([s("id") + s("X-1"), s("note") + s("ok")])


def build(n, body=NORMAL, kind=b"\xa4test", version=b"\x01", seq=b"\x01",
          prev=b"\xc0", hlc=b"\xcf\x01\x9a\xec\x3c\xec\x58\x00\x00", author=None,
          sig_len=64, after=b"", bad_sig=False, array_head=b"\x97"):
    """Entry number n of the cases: raw field encodings so that a case can
    put a wrong form anywhere."""
    key = SigningKey(hashlib.sha256(b"strict case %d" % n).digest())
    pub = bytes(key.verify_key)
    a = R.enc_bin(pub) if author is None else author
    u = array_head + version + a + seq + prev + hlc + kind + body
    sig = key.sign(R.ENTRY_CONTEXT + u).signature
    if bad_sig:
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    return u + R.enc_bin((sig * 2)[:sig_len]) + after


def nest(depth):
    """A body map holding `depth - 1` nested arrays: containers 1 .. depth."""
    inner = b"\x01"
    for _ in range(depth - 1):
        inner = b"\x91" + inner
    return fixmap([s("id") + s("X-1"), s("a") + inner]) if depth > 1 else NORMAL


HELD, INVALID = "held", "invalid"
# how fieldmesh words a refused file
FILE_ERROR = {"does not decode": R.MALFORMED, "truncated": R.TRUNCATED,
              "damaged": R.CHECKSUM}
# `bundle import --json`'s first_error, as fieldmesh words each code
FIRST_ERROR = {"malformed data": R.MALFORMED, "bad signature": R.BADSIG,
               "over a size, count or depth limit": R.TOOBIG, "unknown version": R.VERSION}
MAL, BIG, VER, SIG = R.MALFORMED, R.TOOBIG, R.VERSION, R.BADSIG


def cases():
    c = []

    def add(name, want, code, **kw):
        n = len(c) + 1
        c.append((name, want, code, build(n, **kw)))

    add("a plain entry", HELD, None)
    add("U+0000 inside a str", HELD, None,
        body=fixmap([s("id") + s("X-1"), s("note") + s(b"a\x00b")]))
    add("nesting depth 8 (body map + 7 arrays)", HELD, None, body=nest(8))
    add("nesting depth 9", INVALID, BIG, body=nest(9))
    add("a body map of 256 pairs", HELD, None,
        body=map16([s("k%03d" % i) + b"\x01" for i in range(256)]))
    add("a body map of 257 pairs", INVALID, BIG,
        body=map16([s("k%03d" % i) + b"\x01" for i in range(257)]))
    add("an array of 256 items", HELD, None,
        body=fixmap([s("a") + arr16([b"\x01"] * 256)]))
    add("an array of 257 items", INVALID, BIG,
        body=fixmap([s("a") + arr16([b"\x01"] * 257)]))
    add("a str of 4096 bytes", HELD, None, body=fixmap([s("a") + s("x" * 4096)]))
    add("a str of 4097 bytes", INVALID, BIG, body=fixmap([s("a") + s("x" * 4097)]))
    add("a bin of 4097 bytes", INVALID, BIG,
        body=fixmap([s("a") + R.enc_bin(b"\x00" * 4097)]))
    add("a map key of 4097 bytes", INVALID, BIG, body=fixmap([s("k" * 4097) + b"\x01"]))
    add("keys in another order", HELD, None,
        body=fixmap([s("note") + s("ok"), s("id") + s("X-1")]))
    add("equal keys in a nested map", HELD, None,
        body=fixmap([s("m") + fixmap([s("a") + b"\x01", s("a") + b"\x02"])]))
    add("equal top-level keys", INVALID, MAL,
        body=fixmap([s("id") + s("X-1"), s("id") + s("X-2")]))
    add("a nested map key that is not a str", INVALID, MAL,
        body=fixmap([s("m") + fixmap([b"\x01" + b"\x01"])]))
    add("a top-level key that is not a str", INVALID, MAL, body=fixmap([b"\x01" + b"\x01"]))
    add("canonical negative ints", HELD, None,
        body=fixmap([s("a") + b"\xff", s("b") + b"\xe0", s("c") + b"\xd0\xdf",
                     s("d") + b"\xd1\xff\x7f", s("e") + b"\xd2\xff\xff\x7f\xff",
                     s("f") + b"\xd3\xff\xff\xff\xff\x7f\xff\xff\xff"]))
    add("uint 5 as cc 05", INVALID, MAL, body=fixmap([s("a") + b"\xcc\x05"]))
    add("uint 200 as cd 00c8", INVALID, MAL, body=fixmap([s("a") + b"\xcd\x00\xc8"]))
    add("uint 2^32-1 as cf", INVALID, MAL,
        body=fixmap([s("a") + b"\xcf\x00\x00\x00\x00\xff\xff\xff\xff"]))
    add("str 'abc' as d9 03", INVALID, MAL, body=fixmap([s("a") + b"\xd9\x03abc"]))
    add("bin of 3 as c5 0003", INVALID, MAL, body=fixmap([s("a") + b"\xc5\x00\x03xyz"]))
    add("array of 2 as dc 0002", INVALID, MAL,
        body=fixmap([s("a") + b"\xdc\x00\x02\x01\x02"]))
    add("map of 1 as de 0001 (the body)", INVALID, MAL, body=b"\xde\x00\x01" + s("a") + b"\x01")
    add("5 as d0 05 (signed form, value >= 0)", INVALID, MAL, body=fixmap([s("a") + b"\xd0\x05"]))
    add("0 as d3 (signed form, value >= 0)", INVALID, MAL,
        body=fixmap([s("a") + b"\xd3" + b"\x00" * 8]))
    add("-5 as d0 fb (not shortest)", INVALID, MAL, body=fixmap([s("a") + b"\xd0\xfb"]))
    add("-100 as d1 ff9c (not shortest)", INVALID, MAL, body=fixmap([s("a") + b"\xd1\xff\x9c"]))
    add("an overlong UTF-8 form", INVALID, MAL, body=fixmap([s("a") + b"\xa2\xc0\xaf"]))
    add("a UTF-8 surrogate", INVALID, MAL, body=fixmap([s("a") + b"\xa3\xed\xa0\x80"]))
    add("a code point above U+10FFFF", INVALID, MAL,
        body=fixmap([s("a") + b"\xa4\xf4\x90\x80\x80"]))
    add("a cut UTF-8 sequence", INVALID, MAL, body=fixmap([s("a") + b"\xa2\xe1\xba"]))
    add("a float 32", INVALID, MAL, body=fixmap([s("a") + b"\xca\x3f\x80\x00\x00"]))
    add("a float 64", INVALID, MAL, body=fixmap([s("a") + b"\xcb" + b"\x00" * 8]))
    add("a fixext 1", INVALID, MAL, body=fixmap([s("a") + b"\xd4\x01\x00"]))
    add("an ext 8", INVALID, MAL, body=fixmap([s("a") + b"\xc7\x01\x01\x00"]))
    add("the reserved byte c1", INVALID, MAL, body=fixmap([s("a") + b"\xc1"]))
    add("a float deep inside", INVALID, MAL,
        body=fixmap([s("a") + b"\x91\x91" + b"\xca\x3f\x80\x00\x00"]))
    # an array of 200 items (within the limit) with only the 66 bytes of
    # sig left after it
    add("a count larger than the bytes left", INVALID, MAL,
        body=fixmap([s("a") + b"\xdc\x00\xc8"]))
    # over the items limit and larger than the bytes left: the limit is
    # checked first
    add("a count of 65280, over the limit and the bytes", INVALID, BIG,
        body=fixmap([s("a") + b"\xdc\xff\x00"]))
    # a map of 60 pairs with 73 bytes left (60 <= 73 < 120), whose first
    # value is an array of 300 items: if the count is compared with the
    # bytes (not twice the count), the array's limit is the first problem
    add("a map's pairs against the bytes left", INVALID, BIG,
        body=fixmap([s("m") + b"\xde\x00\x3c" + s("k") + b"\xdc\x01\x2c"]))
    add("a str of 300 bytes with 66 bytes left", INVALID, MAL,
        body=fixmap([s("a") + b"\xda\x01\x2c"]))
    add("a str of 5000 bytes with 66 bytes left", INVALID, MAL,
        body=fixmap([s("a") + b"\xda\x13\x88"]))
    add("a byte after sig", INVALID, MAL, after=b"\x00")
    add("U an array of 6", INVALID, MAL, array_head=b"\x96")
    add("U an array of 8", INVALID, MAL, array_head=b"\x98")
    add("version 2", INVALID, VER, version=b"\x02")
    add("version 1 as cc 01", INVALID, MAL, version=b"\xcc\x01")
    add("version 0", INVALID, VER, version=b"\x00")
    add("version 1000", INVALID, VER, version=b"\xcd\x03\xe8")
    add("version -1", INVALID, MAL, version=b"\xff")
    add("version as a str", INVALID, MAL, version=b"\xa1\x31")
    add("seq 0", INVALID, MAL, seq=b"\x00")
    add("seq 1 as cc 01", INVALID, MAL, seq=b"\xcc\x01")
    add("prev nil with seq 2", INVALID, MAL, seq=b"\x02")
    add("prev present with seq 1", INVALID, MAL, prev=R.enc_bin(b"\x00" * 32))
    add("prev a bin of 31", INVALID, MAL, seq=b"\x02", prev=R.enc_bin(b"\x00" * 31))
    add("an author of 31 bytes", INVALID, MAL, author=R.enc_bin(b"\x01" * 31))
    add("an author that is a str", INVALID, MAL, author=E(b"a" * 32))
    add("hlc 2^64-1", HELD, None, hlc=b"\xcf" + b"\xff" * 8)
    add("hlc as d3 (signed form)", INVALID, MAL, hlc=b"\xd3" + b"\x00" * 7 + b"\x01")
    add("hlc 0", HELD, None, hlc=b"\x00")
    add("a kind of 32 bytes", HELD, None, kind=E(b"k" * 32))
    add("a kind of 33 bytes", INVALID, MAL, kind=E(b"k" * 33))
    add("an empty kind", INVALID, MAL, kind=E(b""))
    add("a body that is an array", INVALID, MAL, body=b"\x91\x01")
    add("an empty body map", HELD, None, body=b"\x80")
    add("a sig of 63 bytes", INVALID, MAL, sig_len=63)
    add("a bad signature", INVALID, SIG, bad_sig=True)
    # the entry size limit, just inside: 16384 bytes in all
    base = build(0, body=fixmap([s("a") + s("x" * 10)]))
    # fill with strs under distinct keys until exactly 16384 bytes
    pairs = [s("a") + s("x" * 10)]
    total = len(base)
    i = 0
    while total < 16384:
        room = 16384 - total
        k = s("p%02d" % i)
        if room >= len(k) + 3 + 4096:
            v = s("y" * 4096)
        else:
            n = room - len(k)
            # header size of a str of n - h bytes: 1 (<32), 2 (<256), 3
            for h in (1, 2, 3):
                m = n - h
                if m >= 0 and len(s("y" * m)) == n:
                    v = s("y" * m)
                    break
            else:
                raise SystemExit("cannot pad the entry to 16384 bytes")
        pairs.append(k + v)
        total += len(k) + len(v)
        i += 1
    add("an entry of exactly 16384 bytes", HELD, None, body=fixmap(pairs))
    return c


def bundle(authority, commune, items):
    hdr = (b"\x86" + s("from") + R.enc_bin(authority) + s("authority") + R.enc_bin(authority)
           + s("commune") + s(commune) + s("created") + R.enc_uint(1764900000000)
           + s("vector") + b"\x90" + s("certs") + b"\x90")
    body = b"FMBNDL1\n" + hdr + b"".join(R.enc_bin(x) for x in items)
    return body + b"\x92" + R.enc_uint(len(items)) + R.enc_bin(R.H(body))


def header(authority, commune, pairs=None, drop=(), extra=(), count=None):
    """A header map: the six keys (minus `drop`), then `extra` raw pairs."""
    six = [("from", R.enc_bin(authority)), ("authority", R.enc_bin(authority)),
           ("commune", s(commune)), ("created", R.enc_uint(1764900000000)),
           ("vector", b"\x90"), ("certs", b"\x90")]
    body = [s(k) + v for k, v in six if k not in drop] + list(extra)
    n = len(body) if count is None else count
    head = bytes([0x80 | n]) if n <= 15 else b"\xde" + n.to_bytes(2, "big")
    return head + b"".join(body)


def seal(data, n, width=None):
    """Appends the trailer: [n, BLAKE2b-256 of everything before it]."""
    nn = R.enc_uint(n) if width is None else width
    return data + b"\x92" + nn + R.enc_bin(R.H(data))


READ, REFUSED = "read", "refused"


def file_cases(authority, commune):
    item = build(1000)
    c = []

    def add(name, want, hdr=None, items=(item,), n=None, raw=None, width=None):
        if raw is None:
            h = header(authority, commune) if hdr is None else hdr
            d = b"FMBNDL1\n" + h + b"".join(R.enc_bin(x) for x in items)
            raw = seal(d, len(items) if n is None else n, width)
        c.append((name, want, raw))

    H6 = lambda **kw: header(authority, commune, **kw)  # noqa: E731
    add("a plain bundle", READ)
    add("an unknown key with a nested value", READ,
        H6(extra=[s("zzz") + b"\x92\x81\xa1a\x91\x01\xc4\x01\x00"]))
    add("an unknown key, value 7 arrays deep", READ,
        H6(extra=[s("zzz") + b"\x91" * 7 + b"\x01"]))
    add("an unknown key, value 8 arrays deep", READ,
        H6(extra=[s("zzz") + b"\x91" * 8 + b"\x01"]))
    add("an unknown key, value 9 arrays deep", REFUSED,
        H6(extra=[s("zzz") + b"\x91" * 9 + b"\x01"]))
    add("an unknown key holding a float", READ,
        H6(extra=[s("zzz") + b"\xcb" + b"\x00" * 8]))
    add("an unknown key holding an ext", READ,
        H6(extra=[s("zzz") + b"\xd4\x01\x00"]))
    add("a key that is not a str", REFUSED, H6(extra=[b"\x07\x01"]))
    add("an unknown key holding a map with a uint key", READ,
        H6(extra=[s("zzz") + b"\x81\x01\x02"]))
    add("an unknown key holding cc 05", REFUSED, H6(extra=[s("zzz") + b"\xcc\x05"]))
    add("an unknown key holding bad UTF-8", REFUSED,
        H6(extra=[s("zzz") + b"\xa2\xc0\xaf"]))
    add("an unknown key holding c1", REFUSED, H6(extra=[s("zzz") + b"\xc1"]))
    add("an unknown key holding 65536 items", READ,
        H6(extra=[s("zzz") + b"\xdd\x00\x01\x00\x00" + b"\x01" * 65536]))
    add("an unknown key holding 65537 items", REFUSED,
        H6(extra=[s("zzz") + b"\xdd\x00\x01\x00\x01" + b"\x01" * 65537]))
    add("64 keys", READ, H6(extra=[s("k%02d" % i) + b"\x01" for i in range(58)]))
    add("65 keys", REFUSED, H6(extra=[s("k%02d" % i) + b"\x01" for i in range(59)]))
    add("no certs", REFUSED, H6(drop=("certs",)))
    add("commune twice", REFUSED, H6(extra=[s("commune") + s("again")]))
    add("sig not the last key", REFUSED,
        H6(extra=[s("sig") + R.enc_bin(b"\x00" * 64), s("zzz") + b"\x01"]))
    add("a sig that does not verify (ignored)", READ,
        H6(extra=[s("sig") + R.enc_bin(b"\x00" * 64)]))
    add("a sig of 63 bytes", REFUSED, H6(extra=[s("sig") + R.enc_bin(b"\x00" * 63)]))
    add("a commune of 128 bytes", REFUSED,
        header(authority, "x" * 128))
    add("a vector item with an 8-byte head", REFUSED,
        H6(drop=("vector",), extra=[s("vector") + b"\x91\x93" + R.enc_bin(authority)
                                    + b"\x01" + R.enc_bin(b"\x00" * 8)]))
    add("created as a float", REFUSED,
        H6(drop=("created",), extra=[s("created") + b"\xcb" + b"\x00" * 8]))
    add("an item of 107 bytes", REFUSED, items=(b"\x00" * 107,))
    add("an item of 16385 bytes", REFUSED, items=(b"\x00" * 16385,))
    add("an item that is a str", REFUSED,
        raw=seal(b"FMBNDL1\n" + H6() + R.enc_str(item), 1))
    add("one item more than the trailer says", REFUSED, n=0)
    add("one item fewer than the trailer says", REFUSED, n=2)
    add("the trailer's n as cc 01", REFUSED, width=b"\xcc\x01")
    add("a file of 43 bytes", REFUSED, raw=b"FMBNDL1\n" + b"\x00" * 35)
    good = seal(b"FMBNDL1\n" + H6() + R.enc_bin(item), 1)
    add("a flipped byte (checksum)", REFUSED,
        raw=good[:20] + bytes([good[20] ^ 0x40]) + good[21:])
    add("the magic cut to 5 bytes", REFUSED, raw=b"FMBND")
    add("another magic (a vector file)", REFUSED,
        raw=seal(b"FMVECT1\n" + H6(), 0))
    add("a bundle of another format version (FMBNDL9)", REFUSED,
        raw=seal(b"FMBNDL9\n" + H6() + R.enc_bin(item), 1))
    add("a bundle of protocol versions 3 and 4 (FMBNDL2)", READ,
        raw=seal(b"FMBNDL2\n" + H6() + R.enc_bin(item), 1))
    add("a bundle as written today (FMBNDL3)", READ,
        raw=seal(b"FMBNDL3\n" + H6() + R.enc_bin(item), 1))
    return c


def main():
    fm, state = sys.argv[1:3]
    st = json.loads(subprocess.run([fm, "--state", state, "--json", "status"],
                                   capture_output=True, check=True).stdout)
    authority = bytes.fromhex(st["authority_id"])
    commune = st["commune"].encode()
    failures = []
    for i, (name, want, code, raw) in enumerate(cases(), 1):
        # the reader
        try:
            e = R.decode_entry(raw)
            ok = R.sig_ok(e.author, R.ENTRY_CONTEXT, e.u, e.sig)
            r_got, r_code = (HELD, None) if ok else (INVALID, SIG)
        except R.Fail as x:
            r_got, r_code = INVALID, x.code
        # fieldmesh
        path = os.path.join(state, "case-%02d.bundle" % i)
        with open(path, "wb") as f:
            f.write(bundle(authority, commune, [raw]))
        p = subprocess.run([fm, "--state", state, "--json", "bundle", "import", path],
                           capture_output=True, text=True)
        if p.returncode != 0:
            c_got, c_why = "file refused", p.stderr.strip()
        else:
            j = json.loads(p.stdout)
            c_why = j.get("first_error", "")
            if j["held"] == 1:
                c_got = HELD
            elif j["refused"] == 1:
                c_got = INVALID
            else:
                c_got = json.dumps(j)
        os.unlink(path)
        line = "%-45s %5d bytes  doc: %-7s %-6s reader: %-7s %-6s fieldmesh: %s %s" % (
            name, len(raw), want, code or "", r_got, r_code or "", c_got,
            ("(" + c_why + ")") if c_why else "")
        c_code = next((v for k, v in FIRST_ERROR.items() if k in c_why), None)
        bad = (r_got, r_code) != (want, code) or (c_got, c_code) != (want, code)
        print(("FAIL " if bad else "ok   ") + line)
        if bad:
            failures.append(name)
    for name, want, raw in file_cases(authority, commune):
        try:
            box = R.read_container(raw)
            r_got, r_why = (READ, "") if box["kind"] == "bundle" else (REFUSED, box["kind"])
        except R.Fail as x:
            r_got, r_why = REFUSED, "%d %s" % (x.code, x.why)
        path = os.path.join(state, "file.bundle")
        with open(path, "wb") as f:
            f.write(raw)
        p = subprocess.run([fm, "--state", state, "--json", "bundle", "import", path],
                           capture_output=True, text=True)
        os.unlink(path)
        c_got = READ if p.returncode == 0 else REFUSED
        c_why = "" if p.returncode == 0 else p.stderr.strip()
        bad = r_got != want or c_got != want
        if c_got == REFUSED and r_got == REFUSED:
            # the same reason: fieldmesh's words for -20001, -20034, -20035
            c_code = next((v for k, v in FILE_ERROR.items() if k in c_why), None)
            r_code = int(r_why.split()[0]) if r_why[:1] == "-" else None
            if c_code is not None and r_code is not None and c_code != r_code:
                bad = True
                c_why += " [reader: %s]" % r_why
        print(("FAIL " if bad else "ok   ") + "file: %-40s doc: %-8s reader: %-8s fieldmesh: %-8s %s"
              % (name, want, r_got, c_got, ("(" + c_why + ")") if c_why else ""))
        if bad:
            failures.append("file: " + name)
    if failures:
        print("strict_cases: %d cases disagree: %s" % (len(failures), "; ".join(failures)))
        return 1
    print("strict_cases: the reader and fieldmesh read all %d entries and %d files as the doc says"
          % (len(cases()), len(file_cases(authority, commune))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
