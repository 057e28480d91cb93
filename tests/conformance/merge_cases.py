#!/usr/bin/env python3
"""The merge rules of docs/architecture.md ("View records"), on the edges
the `fieldmesh` command never writes: two `dossier` entries for one id,
statuses out of order, final states that tie, an unknown status, bodies
with fields of the wrong type, attachments, repeated visits and voids,
ids on the limits, unknown kinds.

The commune is made here from the documents alone: an authority key of our
own signs the enrollments (protocol.md 3.8) and the join file (7.5) of a
laptop made by `fieldmesh init`, and two devices of ours write the entries.
The laptop imports the bundle; its `view_digest` must equal the one
reader.py computes from the same bundle, and from the laptop's own export.

usage: merge_cases.py FIELDMESH WORK_DIR
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reader as R  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402

NOW = 1764900000000  # 2025-12-05 02:00 UTC


def s(v):
    return R.enc_str(v.encode() if isinstance(v, str) else v)


def enc(v):
    """Canonical encoding of a Python value: str, bytes (bin), int, list
    (array), dict or tuple of pairs (map; a tuple may repeat a key), None,
    bool."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if v >= 0:
            return R.enc_uint(v)
        if v >= -32:
            return bytes([v & 0xff])
        for t, w in ((0xd0, 1), (0xd1, 2), (0xd2, 4), (0xd3, 8)):
            if v >= -(1 << (8 * w - 1)):
                return bytes([t]) + v.to_bytes(w, "big", signed=True)
    if isinstance(v, str):
        return s(v)
    if isinstance(v, bytes):
        return R.enc_bin(v)
    if isinstance(v, (dict, tuple)):
        pairs = list(v.items()) if isinstance(v, dict) else list(v)
        return bytes([0x80 | len(pairs)]) + b"".join(enc(k) + enc(x) for k, x in pairs)
    if isinstance(v, list):
        return R.enc_array_head(len(v)) + b"".join(enc(x) for x in v)
    raise TypeError(v)


def body(**kw):
    """A body map in keyword order (Python keeps it)."""
    return bytes([0x80 | len(kw)]) + b"".join(s(k) + enc(v) for k, v in kw.items())


class Author:
    def __init__(self, seed):
        self.key = SigningKey(seed)
        self.pub = bytes(self.key.verify_key)
        self.seq = 0
        self.head = None
        self.entries = []

    def write(self, kind, b, hlc_ms, counter=0):
        self.seq += 1
        u = (b"\x97\x01" + R.enc_bin(self.pub) + R.enc_uint(self.seq)
             + (b"\xc0" if self.head is None else R.enc_bin(self.head))
             + R.enc_uint((hlc_ms << 16) | counter) + s(kind) + b)
        e = u + R.enc_bin(self.key.sign(R.ENTRY_CONTEXT + u).signature)
        R.decode_entry(e)  # our own entries must be strict
        self.head = R.H(e)
        self.entries.append(e)
        return e


def container(magic, authority, commune, vector, certs, items):
    hdr = (b"\x86" + s("from") + R.enc_bin(authority) + s("authority") + R.enc_bin(authority)
           + s("commune") + s(commune) + s("created") + R.enc_uint(NOW)
           + s("vector") + R.enc_array_head(len(vector))
           + b"".join(b"\x93" + R.enc_bin(a) + R.enc_uint(q) + R.enc_bin(h) for a, q, h in vector)
           + s("certs") + R.enc_array_head(len(certs)) + b"".join(R.enc_bin(c) for c in certs))
    data = magic + hdr + b"".join(R.enc_bin(x) for x in items)
    return data + b"\x92" + R.enc_uint(len(items)) + R.enc_bin(R.H(data))


def enroll_body(device, name, team, role="member"):
    return body(device=device, name=name, team=team, role=role,
                villages=["Nghĩa Tân", "Vinh Quang"], commune="Xã Thử", expires=0)


def main():
    fm, work = sys.argv[1:3]
    state = os.path.join(work, "mlap")
    env = dict(os.environ, FIELDMESH_NOW=str(NOW + 3600_000))

    def run(*args, check=True):
        p = subprocess.run([fm, "--state", state] + list(args), capture_output=True,
                           text=True, env=env)
        if check and p.returncode != 0:
            raise SystemExit("merge_cases: fieldmesh %s: %s" % (" ".join(args), p.stderr))
        return p.stdout

    lap = bytes.fromhex(run("init").strip().splitlines()[-1])
    auth = Author(b"\x31" * 32)
    k1 = Author(b"\x32" * 32)
    k2 = Author(b"\x33" * 32)
    cert_lap = auth.write("enroll", enroll_body(lap, "Máy thử", "Tổ 9"), NOW - 100000)
    # Officers of the commune hall: the team rule (architecture.md, "Trust")
    # lets them change any team's record, and a change of a record not seen
    # yet goes straight to the merge (a member's would wait for its record).
    cert_k1 = auth.write("enroll", enroll_body(k1.pub, "Người một", "Tổ 1", "officer"),
                         NOW - 99000)
    cert_k2 = auth.write("enroll", enroll_body(k2.pub, "Người hai", "Tổ 2", "officer"),
                         NOW - 98000)
    join = container(b"FMJOIN1\n", auth.pub, "Xã Thử", [], [cert_lap], [])
    with open(os.path.join(work, "m.join"), "wb") as f:
        f.write(join)
    run("join", os.path.join(work, "m.join"))

    T = NOW - 50000  # ms; each entry below names its own stamp

    def dossier(a, t, id_, counter=0, **over):
        f = dict(id=id_, procedure="chung_thuc",
                 applicant={"name": "Lý Thị Hoa", "id_number": "0123", "phone": "09"},
                 village="Nghĩa Tân", team="Tổ 1", channel="portal", portal_ref="",
                 attachments=[], note="")
        f.update(over)
        f = {k: v for k, v in f.items() if v is not DROP}
        return a.write("dossier", body(**f), t, counter)

    def status(a, t, id_, st, ref="", note="", counter=0, **extra):
        return a.write("dossier.status", body(id=id_, status=st, ref=ref, note=note, **extra),
                       t, counter)

    def visit(a, t, id_, counter=0, **over):
        f = dict(id=id_, team="Tổ 1", village="Vinh Quang", place="nhà văn hóa",
                 date="2025-12-05", mode="home", services=["account_created"],
                 citizens=1, note="")
        f.update(over)
        f = {k: v for k, v in f.items() if v is not DROP}
        return a.write("visit", body(**f), t, counter)

    def void(a, t, id_, reason, counter=0, **extra):
        return a.write("visit.void", body(id=id_, reason=reason, **extra), t, counter)

    def attach(a, t, dossier_id, size=100, counter=0, **over):
        n = (size + 61439) // 61440
        f = dict(dossier=dossier_id, kind="photo", name="giấy tờ.jpg", size=size, chunk=61440,
                 chunks=bytes(range(32)) * n, key=b"\x07" * 32)
        f.update(over)
        return a.write("dossier.attach", body(**f), t, counter)

    # D-A: rewritten by a later dossier; refs from a dossier and a status;
    # the two final states tie on rank and the later stamp wins; a lower
    # status comes later and changes nothing.
    dossier(k1, T + 100, "D-A", note="lần đầu")
    dossier(k2, T + 200, "D-A", procedure="khai_sinh", portal_ref="P-2",
            applicant={"name": "Lý Văn Nam", "id_number": "", "phone": ""}, note="sửa lại")
    status(k1, T + 150, "D-A", "submitted", ref="R-1", note="nộp")
    status(k2, T + 300, "D-A", "rejected", note="thiếu giấy")
    status(k1, T + 250, "D-A", "withdrawn", note="rút")
    status(k1, T + 400, "D-A", "processing", ref="R-late", note="xử lý")
    # D-B: only a status, with a name that is not one of the seven.
    status(k1, T + 10, "D-B", "finished", ref="R-X", note="?")
    # D-C: a status before its dossier, wrong types in the dossier.
    status(k2, T + 5, "D-C", "submitted", ref="", note="trước")
    dossier(k1, T + 20, "D-C", applicant="không phải map", channel=7,
            attachments=[b"\x01" * 32, b"\x02" * 32], note=DROP, extra={"x": [1, 2]})
    # D-D: equal hlc, two authors: the greater author key is the later
    # stamp (base), the smaller the earlier (created); repeated nested keys.
    lo, hi = sorted([k1, k2], key=lambda a: a.pub)
    dossier(hi, T + 500, "D-D", counter=3,
            applicant=(("name", "đầu tiên"), ("name", "thứ hai"), ("phone", 5)),
            attachments=[b"\x03" * 32, [1]])
    dossier(lo, T + 500, "D-D", counter=3, village="Vinh Quang")
    # D-E: two statuses of equal rank and equal hlc: the author decides.
    status(lo, T + 600, "D-E", "delivered", note="thấp")
    status(hi, T + 600, "D-E", "delivered", note="cao")
    status(hi, T + 601, "D-E", "result_ready", note="muộn hơn nhưng thấp hơn")
    # D-F: the first `name` of the applicant is not a str (a later one is);
    # attachments of scalars of every type are copied as they are.
    dossier(k1, T + 650, "D-F", applicant=(("name", 5), ("name", "hai"), ("id_number", "x")),
            attachments=["x", 1, None, b"\x00", -3, True])
    # D-G: scans attached, by two authors, one before the dossier, one at
    # an equal hlc (the author decides), one of two chunks; bodies that
    # break a rule attach nothing (an unknown kind, a name with '/', a
    # chunk list of the wrong length, another chunk size, a key of 31
    # bytes, a size of 0); an attachment to a dossier never seen.
    attach(k2, T + 660, "D-G")
    dossier(k1, T + 661, "D-G")
    attach(hi, T + 670, "D-G", counter=1, size=70000)
    attach(lo, T + 670, "D-G", counter=1, kind="id_card")
    attach(k1, T + 671, "D-G", kind="selfie")
    attach(k1, T + 672, "D-G", name="a/b.jpg")
    attach(k1, T + 673, "D-G", chunks=b"\x01" * 64)
    attach(k1, T + 674, "D-G", chunk=1024)
    attach(k1, T + 675, "D-G", key=b"\x07" * 31)
    attach(k1, T + 676, "D-G", size=0, chunks=b"")
    attach(k2, T + 677, "D-H")
    # V-E: a void whose reason is not a str, for a visit never seen.
    void(k2, T + 660, "V-E", 7)
    # ids on the limits: 40 bytes, 41 bytes (not materialized), empty, not
    # a str, a prefix of another, non-ASCII.
    dossier(k1, T + 700, "D-" + "x" * 38)
    dossier(k1, T + 701, "D-" + "y" * 39)
    dossier(k1, T + 702, "")
    k1.write("dossier", body(id=12345, procedure="chung_thuc"), T + 703)
    visit(k2, T + 800, "V-1")
    visit(k2, T + 801, "V-10")
    visit(k2, T + 802, "V-Đ")
    visit(k2, T + 803, "V-Z")
    # V-A: a visit twice (the later, whole); services with an unknown name,
    # then a non-str item that stops the reading; a negative citizens.
    visit(k1, T + 900, "V-A", services=["app_installed", "eid_activated"], citizens=4)
    visit(k2, T + 950, "V-A", services=["eid_activated", "teleport", 7, "app_installed"],
          citizens=-5, mode="boat", note="lần hai")
    # V-B: voided twice before it is seen; the later void's reason stays.
    void(k1, T + 1000, "V-B", "lý do một")
    void(k2, T + 1100, "V-B", "lý do hai")
    visit(k1, T + 990, "V-B", citizens=1 << 40, services="account_created", mode=3)
    # V-C: a visit whose fields are all missing.
    k2.write("visit", body(id="V-C"), T + 1200)
    # D-G: causality before clocks. k1's clock is 10 years ahead; k2 saw
    # k1's status (`after` names its order) and its own change wins, earlier
    # by the clocks. The dossier's date is its own, not the stamp's.
    fut = T + 10 * 365 * 86400_000
    dossier(k1, fut, "D-G", date="2025-12-05")
    status(k1, fut + 10, "D-G", "submitted", ref="R-FUT", note="máy sai giờ")
    status(k2, T + 1400, "D-G", "submitted", ref="R-SEEN", note="đã xem", after=(fut + 10) << 16)
    # D-H: an `after` below the entry's own hlc changes nothing.
    status(k1, T + 1500, "D-H", "submitted", ref="H1", after=5)
    status(k2, T + 1450, "D-H", "submitted", ref="H2")
    # D-I: an `after` that is not a uint, or is 2**64 - 1, changes nothing.
    status(k1, T + 1470, "D-I", "submitted", ref="I1")
    status(k2, T + 1460, "D-I", "submitted", ref="I2", after="muộn")
    status(k2, T + 1465, "D-I", "submitted", ref="I3", after=2**64 - 1)
    # D-J: the ladder goes first: a lower status after seeing a higher one
    # does not replace it; the created stamp's date stays.
    dossier(k2, T + 1500, "D-J", date="2025-12-04")
    dossier(k1, T + 1600, "D-J", date="2025-12-06", note="sửa")
    status(k1, T + 1610, "D-J", "processing")
    status(k2, T + 1605, "D-J", "submitted", after=(T + 1610) << 16)
    # D-K: a `delivered` by mistake, corrected by the officer k2 who saw it;
    # a higher status written without seeing the correction loses to it.
    # D-L: the same, and a status written after seeing the correction
    # (naming it in `correction`) climbs the ladder again from it.
    for rid in ("D-K", "D-L"):
        dossier(k1, T + 1800, rid)
        status(k1, T + 1810, rid, "delivered")
        k2.write("dossier.correct", body(id=rid, status="processing", reason="giao nhầm",
                                         after=(T + 1810) << 16), T + 1805)
        status(k1, T + 1820, rid, "result_ready")
    status(k1, T + 1830, "D-L", "result_ready", note="sau sửa",
           after=((T + 1810) << 16) + 1, correction=((T + 1810) << 16) + 1)
    # V-D: a void after seeing another void, by a clock 10 years behind it.
    visit(k1, fut + 20, "V-D")
    void(k1, fut + 30, "V-D", "một")
    void(k2, T + 1700, "V-D", "hai", after=(fut + 30) << 16)
    # Unknown kinds and a receipt-looking body: not in the views.
    k1.write("visit.note", body(id="V-A", note="không biết"), T + 1300)
    k2.write("x" * 32, body(id="D-A"), T + 1301)

    vector = [(a.pub, a.seq, a.head) for a in [auth] + sorted([k1, k2], key=lambda a: a.pub)]
    items = auth.entries + [e for a in sorted([k1, k2], key=lambda a: a.pub) for e in a.entries]
    certs = [c for _, c in sorted([(k1.pub, cert_k1), (k2.pub, cert_k2), (lap, cert_lap)])]
    bpath = os.path.join(work, "merge.bundle")
    with open(bpath, "wb") as f:
        f.write(container(b"FMBNDL1\n", auth.pub, "Xã Thử", vector, certs, items))
    imp = json.loads(run("--json", "bundle", "import", bpath))
    st = json.loads(run("--json", "status"))
    out = os.path.join(work, "merge-export.bundle")
    run("bundle", "export", "-o", out)

    def read(path):
        p = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "reader.py"),
                            path], capture_output=True, text=True)
        return json.loads(p.stdout)

    mine = read(bpath)
    theirs = read(out)
    fails = []
    if imp["accepted"] != len(items):
        fails.append("fieldmesh accepted %d of %d entries: %s" % (imp["accepted"], len(items), imp))
    if not mine["ok"]:
        fails.append("the reader finds problems in our own bundle: %s" % mine["problems"])
    if not theirs["ok"]:
        fails.append("the reader finds problems in fieldmesh's export: %s" % theirs["problems"])
    for name, r in (("our bundle", mine), ("fieldmesh's export", theirs)):
        if r["view_digest"] != st["view_digest"]:
            fails.append("view digest of %s by the reader %s, fieldmesh %s"
                         % (name, r["view_digest"], st["view_digest"]))
    if (mine["dossiers"], mine["visits"]) != (st["dossiers"], st["visits"]):
        fails.append("records: reader %d dossiers %d visits, fieldmesh %d, %d"
                     % (mine["dossiers"], mine["visits"], st["dossiers"], st["visits"]))
    # What the causal cases must show (besides equal digests).
    want = {"D-G": ("portal_ref", "R-SEEN"), "D-H": ("portal_ref", "H1"),
            "D-I": ("portal_ref", "I1"), "D-J": ("status", "processing"),
            "D-K": ("status", "processing"), "D-L": ("status", "result_ready")}
    for rid, (field, value) in want.items():
        got = json.loads(run("--json", "dossier", "show", rid)).get(field)
        if got != value:
            fails.append("%s: %s is %r, the merge rules say %r" % (rid, field, got, value))
    for rid, day in (("D-G", "2025-12-05"), ("D-J", "2025-12-04")):
        got = json.loads(run("--json", "dossier", "show", rid)).get("created")
        if got != day:
            fails.append("%s: shown as created %r, its own date is %r" % (rid, got, day))
    vd = [v for v in json.loads(run("--json", "visit", "list")) if v["id"] == "V-D"]
    vd = vd[0] if vd else {}
    if vd.get("void_reason") != "hai":
        fails.append("V-D: void reason %r, the merge rules say 'hai'" % vd.get("void_reason"))
    print("merge_cases: %d entries, %d dossiers, %d visits; reader %s, fieldmesh %s"
          % (len(items), mine["dossiers"], mine["visits"], mine["view_digest"],
             st["view_digest"]))
    # -- phase 2: trust (protocol.md 3.7 steps 5 and 8, 3.8 revoke; the
    # architecture's "Which entries"): what is quarantined leaves the views.
    k3 = Author(b"\x34" * 32)
    p2_from = {a.pub: a.seq for a in (auth, k1, k2)}
    eb = body(device=k3.pub, name="Người ba", team="Tổ 3", role="member",
              villages=[], commune="Xã Thử", expires=T + 500)
    cert_k3 = auth.write("enroll", eb, T + 50)
    k2_cut = 5
    auth.write("revoke", body(device=k2.pub, after_seq=k2_cut), T + 60)
    auth.write("revoke", body(device=k2.pub, after_seq=k2_cut + 4), T + 61)  # the smaller holds
    auth.write("revoke", body(device=k1.pub, after_seq="không"), T + 62)    # does not read
    # a receipt by the authority (allowed, 3.7 step 8): not in the views
    auth.write("receipt", body(sink="spool", batch=b"\x07" * 16, ref="lô-1",
                               items=[[k1.pub, [[1, R.H(k1.entries[0])[:8], ""]]]]), T + 63)
    visit(k3, T + 400, "V-K3a")                  # before its enrollment expires
    visit(k3, T + 600, "V-K3b")                  # after: quarantined (-20102)
    k1.write("enroll", enroll_body(k1.pub, "tự cấp", "Tổ 1", "admin"), T + 1400)  # role: -20103
    authors2 = [auth] + sorted([k1, k2, k3], key=lambda a: a.pub)
    vector2 = [(a.pub, a.seq, a.head) for a in authors2]
    items2 = [e for a in authors2 for e in a.entries[p2_from.get(a.pub, 0):]]
    certs2 = [c for _, c in sorted([(k1.pub, cert_k1), (k2.pub, cert_k2), (lap, cert_lap),
                                    (k3.pub, cert_k3)])]
    b2 = os.path.join(work, "merge2.bundle")
    with open(b2, "wb") as f:
        f.write(container(b"FMBNDL1\n", auth.pub, "Xã Thử", vector2, certs2, items2))
    imp2 = json.loads(run("--json", "bundle", "import", b2))
    st2 = json.loads(run("--json", "status"))
    out2 = os.path.join(work, "merge-export2.bundle")
    run("bundle", "export", "-o", out2)
    # What the docs say stays in the log: k2 up to its cut-off, k3's entry
    # stamped before its expiry, not k1's enroll.
    kept = []
    for a in authors2:
        for e in a.entries:
            d = R.decode_entry(e)
            if a is k2 and d.seq > k2_cut:
                continue
            if a is k3 and (d.hlc >> 16) > T + 500:
                continue
            if a is k1 and d.kind == b"enroll":
                continue
            kept.append(d)
    views = {"dossiers": {}, "visits": {}}
    for d in kept:
        R.merge(views, d)
    want = R.view_digest(views).hex()
    quarantined = sum(len(a.entries) for a in authors2) - len(kept)
    theirs2 = read(out2)
    if st2["view_digest"] != want:
        fails.append("after the revocation: fieldmesh's view digest %s, the docs' %s"
                     % (st2["view_digest"], want))
    if theirs2["view_digest"] != want or not theirs2["ok"]:
        fails.append("after the revocation: the reader on fieldmesh's export %s %s"
                     % (theirs2["view_digest"], theirs2["problems"]))
    if (theirs2["entries"], theirs2["header"]["certs"]) != (len(kept), 4):
        fails.append("after the revocation: fieldmesh's export holds %d entries and %d "
                     "certificates, the docs say %d (only the log, 7.3) and 4 (every "
                     "enrollment held, 7.2)" % (theirs2["entries"], theirs2["header"]["certs"],
                                                len(kept)))
    if (st2["entries"], st2["quarantined"]) != (len(kept), quarantined):
        fails.append("after the revocation: fieldmesh holds %d entries and %d quarantined, "
                     "the docs say %d and %d (import: %s)"
                     % (st2["entries"], st2["quarantined"], len(kept), quarantined, imp2))
    print("merge_cases: after a revocation, an expiry and a role breach: %d entries kept, "
          "%d quarantined; view digest %s" % (len(kept), quarantined, want))
    if fails:
        print("\n".join("FAIL " + f for f in fails))
        return 1
    print("merge_cases: the reader and fieldmesh build the same views")
    return 0


DROP = object()

if __name__ == "__main__":
    sys.exit(main())
