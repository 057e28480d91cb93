#!/usr/bin/env python3
"""Checks the worked examples of docs/protocol.md and docs/architecture.md
against reader.py: every byte string, length, hash and signature the
documents print is recomputed here. A failure means the reader or the
document is wrong (the C code is checked against the same documents by
test_conformance.sh).

usage: doc_examples.py        (exit 0 when every example holds)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reader as R  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402

failures = []


def check(what, got, want):
    if got != want:
        failures.append("%s: got %r, the doc says %r" % (what, got, want))
    else:
        print("ok   %s" % what)


def hx(s):
    return bytes.fromhex("".join(s.split()))


KEY22 = hx("a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0")
KEY11 = hx("d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# -- protocol.md 3.6: the worked entry ------------------------------------
ENTRY = hx("""
97 01 c4 20 a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0
04 c4 20 4ebda16d588dca334c277e781f26e779ed94b2b2c53ae6fb706bf7de965ab001
cf 019aec3cec580000 aa 76697369742e766f6964
82 a2 6964 b2 562d3036444552463657513247394d43534b
   a6 726561736f6e aa 676869206e68e1baa76d
c4 40 d405d6e020fac15a273bc69a32cd3f130262ccdf6d21f86b6ab31209db231359
      74887e9cdb38b1abaf6f58acd4996ca7b229dae7dc709c6e636f262142c19305
""")
check("3.6 seed 22.. gives the public key",
      bytes(SigningKey(b"\x22" * 32).verify_key), KEY22)
check("3.6 the entry is 198 bytes", len(ENTRY), 198)
e = R.decode_entry(ENTRY)
check("3.6 U is the first 132 bytes", len(e.u), 132)
check("3.6 seq, kind", (e.seq, e.kind), (4, b"visit.void"))
check("3.6 hlc is 1764900007000 << 16", e.hlc, 1764900007000 << 16)
check("3.6 reason is 'ghi nhầm'", R.sfield(e.body, b"reason"), "ghi nhầm".encode())
check("3.6 the signature verifies", R.sig_ok(e.author, R.ENTRY_CONTEXT, e.u, e.sig), True)
check("3.6 the signed message is 151 bytes", len(R.ENTRY_CONTEXT + e.u), 151)
check("3.6 signing again gives the same signature",
      SigningKey(b"\x22" * 32).sign(R.ENTRY_CONTEXT + e.u).signature, e.sig)
check("3.6 the id", e.id.hex(),
      "d213d8598a19a06eb9e1d226b984a244470223fbf33e8e8ca2df3cd1182394be")


# -- architecture.md "Record ids" -------------------------------------------
def record_id(prefix, ms, author, rnd):
    v = int.from_bytes((ms & ((1 << 48) - 1)).to_bytes(6, "big") + author[:2] + rnd, "big")
    return prefix + "".join(CROCKFORD[(v >> (5 * (15 - i))) & 31] for i in range(16))


check("architecture record id example",
      record_id("V-", 1764900003000, KEY22, b"\x33\x33"), "V-06DERF6WQ2G9MCSK")

# -- protocol.md 3.8: the enroll body and its expiry --------------------------
ENROLL_BODY = hx("""
87 a6 646576696365 c4 20 a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0
   a4 6e616d65     ad 4cc3b2205468e1bb8b204c616e
   a4 7465616d     a6 5465616d2031
   a4 726f6c65     a6 6d656d626572
   a8 76696c6c61676573 92 ab 4e6768c4a9612054c3a26e aa 56696e68205175616e67
   a7 636f6d6d756e65 aa 54c3a26e205175616e67
   a7 65787069726573 cf 000001aa24bc7a7f
""")
body = R.Cursor(ENROLL_BODY, entry=True).value(0, {"depth": 8, "items": 256,
                                                    "strbin": 4096, "strkeys": True})
check("3.8 enroll name", bytes(body.first(b"name")), "Lò Thị Lan".encode())
check("3.8 enroll villages", [bytes(v) for v in body.first(b"villages")],
      ["Nghĩa Tân".encode(), "Vinh Quang".encode()])
check("3.8 enroll expires", body.first(b"expires"), 1830272399999)
import datetime  # noqa: E402
check("3.8 1830272399999 is 2027-12-31T16:59:59.999Z",
      datetime.datetime.fromtimestamp(1830272399999 / 1000, datetime.timezone.utc)
      .strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "2027-12-31T16:59:59.999Z")
# An enroll entry with this body: 208 bytes of U when hlc takes 9 bytes,
# 274 with the signature, as 7.6 says.
check("3.8/7.6 the enroll entry is 274 bytes",
      1 + 1 + 34 + 1 + 1 + 9 + 7 + len(ENROLL_BODY) + 66, 274)

# -- protocol.md 3.8: a vocab body (version 5) -------------------------------
VOCAB_BODY = hx("""
84 a4 6c697374 a7 76696c6c616765
   a2 6f70     a6 72656e616d65
   a4 6e616d65 ab 4e6768c4a9612054c3a26e
   a2 746f     b1 4e6768c4a9612054c3a26e204de1bb9b69
""")
body = R.Cursor(VOCAB_BODY, entry=True).value(0, {"depth": 8, "items": 256,
                                                   "strbin": 4096, "strkeys": True})
check("3.8 vocab keys", [bytes(body.first(k)) for k in (b"list", b"op", b"name", b"to")],
      [b"village", b"rename", "Nghĩa Tân".encode(), "Nghĩa Tân Mới".encode()])

# -- protocol.md 4: messages and the vector digest --------------------------
for name, msg, want in (
        ("ACK", "93 04 cd 04d2 02", [4, 1234, 2]),
        ("PING", "92 05 01", [5, 1]),
        ("ERROR", "93 08 d1 afeb a1 78", [8, -20501, b"x"]),
        ("CAUGHTUP", "92 09 05", [9, 5])):
    c = R.Cursor(hx(msg))
    v = c.value()
    check("4 example %s" % name, ([bytes(x) if isinstance(x, bytes) else x for x in v],
                                  c.left()), (want, 0))
c = R.Cursor(hx("""93 02 91 93 c4 20 a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0
         05 c4 08 82d8ba65c12389b6 c2"""))
check("4 example VECTOR", c.value(), [2, [[KEY22, 5, hx("82d8ba65c12389b6")]], False])
check("4 empty vector digest", R.vector_digest([]).hex(),
      "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
HEAD5 = hx("82d8ba65c12389b6c66258c584985f897fa40491290007692b68b34a39c16897")
check("4 example vector digest", R.vector_digest([(KEY22, 5, HEAD5)]).hex(),
      "695997bf6714f7416f6b73bde8ba0090f3306a3f6a2355f646a6dae82dd56360")

# -- protocol.md 7.6: the tiny vector file ----------------------------------
VFILE = hx("""
46 4d 56 45 43 54 31 0a
86
  a4 66726f6d
  c4 20 d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737
  a9 617574686f72697479
  c4 20 d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737
  a7 636f6d6d756e65
  aa 54c3a26e205175616e67
  a7 63726561746564
  cf 0000019aec3cd2f4
  a6 766563746f72  90
  a5 6365727473    90
92 00
   c4 20 c81afbddd4ab2c7430ac4a440aaab38f56cce6d076d6e0988076e19b7a0c2e4c
""")
check("7.6 seed 11.. gives the authority key", bytes(SigningKey(b"\x11" * 32).verify_key), KEY11)
check("7.6 the vector file is 179 bytes", len(VFILE), 179)
box = R.read_container(VFILE)
check("7.6 the checksum covers the first 143 bytes", box["trailer"], 143)
check("7.6 header", (box["kind"], bytes(box["header"]["commune"]).decode(),
                     box["header"]["created"], box["count"], "sig" in box["header"]),
      ("vector", "Tân Quang", 1764900000500, 0, False))

# 7.6, the example bundle of the 3.6 device: the sizes it gives must add up.
# The header: from, authority, commune "Tân Quang", created, a vector of one
# author and one 274-byte certificate.
hdr6 = (1 + (5 + 34) + (10 + 34) + (8 + 11) + (8 + 9)
        + (7 + 1 + 1 + 34 + 1 + 34) + (6 + 1 + 3 + 274))
hdr7 = hdr6 + 4 + 66  # with the seventh key, "sig": bin 64 (7.2)
check("7.6 the unsigned header's size", hdr6, 482)
check("7.6 the signed header's size (the 3.6 device has a device key)", hdr7, 552)
items = [(3, 263), (3, 326), (2, 234), (2, 198), (3, 312)]
for hdr, offsets, trailer, total in ((hdr7, [560, 826, 1155, 1391, 1591], 1906, 1942),
                                     (hdr6, [490, 756, 1085, 1321, 1521], 1836, 1872)):
    off, got = 8 + hdr, []
    for h, n in items:
        got.append(off)
        off += h + n
    check("7.6 the example bundle's item offsets (header of %d)" % hdr, got, offsets)
    check("7.6 the example bundle's trailer and size (header of %d)" % hdr,
          (off, off + 2 + 34), (trailer, total))

# -- architecture.md: view records and the view digest ----------------------
check("architecture empty view digest", R.H(b"\x00\x01").hex(),
      "01cf79da4945c370c68b265ef70641aaa65eaa8f5953e3900d97724c2c5aa095")
check("architecture empty dossier record", R.enc_dossier(R.new_dossier()),
      hx("dc0010 c0 c0 a0 a0 a0 a0 a0 a0 a0 a0 90 c0 a0 00 c0 a0"))
check("architecture empty visit record", R.enc_visit(R.new_visit()),
      hx("9b c0 a0 a0 a0 a0 a0 00 00 a0 c0 a0"))

sk = SigningKey(b"\x22" * 32)


def entry(seq, hlc, kind, body_pairs):
    """Builds and signs an entry of the 3.6 device (prev: any 32 bytes)."""
    b = bytes([0x80 | len(body_pairs)])
    for k, v in body_pairs:
        b += R.enc_str(k.encode())
        if isinstance(v, str):
            b += R.enc_str(v.encode())
        elif isinstance(v, int):
            b += R.enc_uint(v)
        else:
            b += v  # already encoded
    u = (b"\x97\x01" + R.enc_bin(KEY22) + R.enc_uint(seq)
         + (b"\xc0" if seq == 1 else R.enc_bin(b"\x00" * 32))
         + R.enc_uint(hlc) + R.enc_str(kind.encode()) + b)
    return R.decode_entry(u + R.enc_bin(sk.sign(R.ENTRY_CONTEXT + u).signature))


st = entry(6, 1764900010000 << 16, "dossier.status",
           [("id", "D-06DERF8000000000"), ("status", "processing"), ("ref", ""),
            ("note", "chờ")])
views = {"dossiers": {}, "visits": {}}
R.merge(views, st)
check("architecture placeholder dossier record of a dossier.status",
      R.enc_dossier(views["dossiers"][b"D-06DERF8000000000"]),
      hx("dc0010 c0 c0 a0 a0 a0 a0 a0 a0 a0 a0 90 c0 a0 02")
      + hx("93 cf 019aec3cf8100000 c4 20") + KEY22 + hx("06 a5 6368e1bb9d"))

st_after = entry(6, 1764900010000 << 16, "dossier.status",
                 [("id", "D-06DERF8000000000"), ("status", "processing"), ("ref", ""),
                  ("note", "chờ"), ("after", 1764900020000 << 16)])
views = {"dossiers": {}, "visits": {}}
R.merge(views, st_after)
check("architecture a status stamp that carries its order",
      R.enc_stamp(views["dossiers"][b"D-06DERF8000000000"]["status_stamp"]),
      hx("94 cf 019aec3cf8100000 c4 20") + KEY22 + hx("06 cf 019aec3d1f200001"))

services = R.enc_array_head(2) + R.enc_str(b"payment_guided") + R.enc_str(b"app_installed")
v5 = entry(5, 0x019aec3cf0400000, "visit",
           [("id", "V-06DERF7G82G9MCSK"), ("team", "Team 1"), ("village", "Vinh Quang"),
            ("place", "Nhà văn hóa"), ("date", "2025-12-05"), ("mode", "one_stop"),
            ("services", services), ("citizens", 1), ("note", "")])
views = {"dossiers": {}, "visits": {}}
R.merge(views, v5)
rec = R.enc_visit(views["visits"][b"V-06DERF7G82G9MCSK"])
check("architecture the second visit's record, whole", rec,
      hx("9b 93 cf 019aec3cf0400000 c4 20") + KEY22 + hx("05")
      + hx("a6 5465616d2031 aa 56696e68205175616e67 ae 4e68c3a02076c4836e2068c3b361")
      + hx("aa 323032352d31322d3035 a8 6f6e655f73746f70 48 01 a0 c0 a0"))
check("architecture the second visit's record is 104 bytes", len(rec), 0x68)

if failures:
    print("\n".join("FAIL " + f for f in failures))
    sys.exit(1)
print("doc_examples: every example holds")
