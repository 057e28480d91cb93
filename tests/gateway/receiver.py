"""An HTTP upstream for the gateway's tests (Python standard library only).

  receiver.py PORT STATE_DIR [CERT KEY]

With CERT and KEY (PEM files) it speaks HTTPS with that certificate.

Answers POST /batches as docs/operations.md says a commune's endpoint
does, in the mode written in STATE_DIR/mode (read at every request):

  ok        accept every entry of the batch
  partial   the first time an entry is seen, accept it only when the first
            byte of its id is even; accept it when it comes again
  503       answer 503 Service Unavailable
  slow      wait 5 s before answering (longer than the gateway's timeout);
            every request while the mode lasts, so that nothing gets
            through before the test moves on
  garbage   answer 200 with a body that is not the documented reply
  stubborn  accept every entry but dossiers, which it never takes

and checks, writing every violation as a line to STATE_DIR/violations:
  - the Idempotency-Key header equals the body's batch and idempotency_key;
  - every entry's idempotency_key equals its id;
  - a batch sent again under the same key carries the same entry ids;
  - no entry is sent again once an answer accepting it was delivered,
    but in a correction ("resent": true on the batch and on each of its
    entries, under an Idempotency-Key of its own), and no entry is
    corrected twice (state.json "corrected": id -> count);
  - the Authorization header carries the configured token;
  - every receipt item of sink "http" names an entry accepted here, once.

Scans: PUT {base}/attachments/HASH with the file's bytes (docs/operations.md)
is answered 201 (204 when that hash is stored already), or 503 in mode
503; each stored file lands in STATE_DIR/attachments/HASH and every PUT is
counted in state.json's "puts".  It checks that the bytes hash to HASH
(BLAKE2b-256), that the Idempotency-Key header is HASH, the token, and that
a batch names a scan ("scan": {"hash": ...} in an attach entry) only once
that scan was stored.

A batch sent again under a key already answered 200 gets that answer again,
as a real endpoint keyed by Idempotency-Key would.  STATE_DIR/state.json
(rewritten after every request) holds the counts the test reads: requests,
per-mode answers, accepted ids, receipt items.  Every batch's body is kept
as STATE_DIR/batches/KEY.json.
Stops by itself after 10 minutes, or when killed.
"""
import hashlib
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
S = {"requests": 0, "answers": {}, "accepted": {}, "receipted": {}, "seen": {}, "keys": {},
     "partial_refused": 0, "violations": 0, "puts": {}, "scans_named": {}, "corrected": {}}
# An endpoint that answers a repeated Idempotency-Key with its first answer
# (as docs/operations.md asks): what the gateway relies on when a reply is
# lost to a timeout.


def violation(text):
    S["violations"] += 1
    with open(os.path.join(DIR, "violations"), "a", encoding="utf-8") as f:
        f.write(text + "\n")


def mode():
    try:
        with open(os.path.join(DIR, "mode"), encoding="utf-8") as f:
            return f.read().strip() or "ok"
    except OSError:
        return "ok"


def save():
    tmp = os.path.join(DIR, "state.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(S, f)
    os.replace(tmp, os.path.join(DIR, "state.json"))


def check_receipts(entry):
    if entry["kind"] != "receipt" or entry["body"].get("sink") != "http":
        return
    by_author_seq = S["seen"]
    for author, items in entry["body"]["items"]:
        for seq, id8, _ref in items:
            eid = by_author_seq.get("%s/%d" % (author, seq))
            if eid is None or eid not in S["accepted"]:
                violation("receipt names %s/%d, which was not accepted here" % (author, seq))
                continue
            if not eid.startswith(id8):
                violation("receipt for %s/%d has id8 %s, not %s" % (author, seq, id8, eid[:16]))
            S["receipted"][eid] = S["receipted"].get(eid, 0) + 1
            if S["receipted"][eid] > 1:
                violation("entry %s receipted %d times" % (eid, S["receipted"][eid]))


def decide(batch, key):
    """(code, reply, accepted entries, delay) for a batch; under the lock."""
    m = mode()
    S["answers"][m] = S["answers"].get(m, 0) + 1
    if key in REPLIES:
        # The same batch again (our answer was lost): the same answer.
        code, reply, accepted = REPLIES[key]
        return code, reply, accepted, 0
    if m == "503":
        return 503, b"upstream busy", [], 0
    if m == "garbage":
        return 200, b"<html>ok</html>", [], 0
    if m == "slow":
        return 200, json.dumps({"accepted": []}).encode(), [], 5
    accepted = []
    for e in batch["entries"]:
        first = e["id"] not in OFFERED
        OFFERED.add(e["id"])
        if m == "partial" and first and int(e["id"][:2], 16) % 2 == 1:
            S["partial_refused"] += 1
            continue
        if m == "stubborn" and e["kind"] == "dossier":
            continue
        accepted.append(e)
    items = [e["id"] if i % 2 else {"id": e["id"], "ref": "HCC-%s" % e["id"][:8]}
             for i, e in enumerate(accepted)]
    reply = json.dumps({"accepted": items, "ref": "batch-%d" % S["requests"]}).encode()
    REPLIES[key] = (200, reply, accepted)
    return 200, reply, accepted, 0


def delivered(accepted):
    """The gateway has our answer: these entries are acknowledged."""
    for e in accepted:
        if e.get("resent") is True:
            S["corrected"][e["id"]] = S["corrected"].get(e["id"], 0) + 1
            continue
        S["accepted"][e["id"]] = 1
        S["seen"]["%s/%d" % (e["author"], e["seq"])] = e["id"]
    for e in accepted:
        check_receipts(e)


OFFERED = set()
REPLIES = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def check(self, batch):
        key = self.headers.get("Idempotency-Key", "")
        if key != batch.get("batch") or key != batch.get("idempotency_key"):
            violation("Idempotency-Key %r, body batch %r" % (key, batch.get("batch")))
        if self.headers.get("Authorization") != "Bearer s3cret-token":
            violation("Authorization header %r" % self.headers.get("Authorization"))
        ids = [e["id"] for e in batch["entries"]]
        resent = batch.get("resent") is True
        os.makedirs(os.path.join(DIR, "batches"), exist_ok=True)
        with open(os.path.join(DIR, "batches", key + ".json"), "w", encoding="utf-8") as f:
            json.dump(batch, f, ensure_ascii=False)
        for e in batch["entries"]:
            if e.get("idempotency_key") != e["id"]:
                violation("entry %s: idempotency_key %r" % (e["id"], e.get("idempotency_key")))
            if (e.get("resent") is True) != resent:
                violation("entry %s: resent %r in a batch resent %r" % (e["id"], e.get("resent"), resent))
            if resent and e["id"] not in S["accepted"] and key not in REPLIES:
                violation("entry %s corrected before it was accepted" % e["id"])
            if e["id"] in S["accepted"] and not resent:
                violation("entry %s sent again after it was accepted" % e["id"])
            if resent and S["corrected"].get(e["id"]) and key not in REPLIES:
                violation("entry %s corrected again under a new key" % e["id"])
        for e in batch["entries"]:
            scan = e.get("scan")
            if e["kind"] == "dossier.attach" and scan is None:
                violation("attach entry %s names no scan" % e["id"])
            if scan and scan.get("hash"):
                if not os.path.exists(os.path.join(DIR, "attachments", scan["hash"])):
                    violation("entry %s names scan %s before it was stored" % (e["id"], scan["hash"]))
                S["scans_named"][e["id"]] = scan
        old = S["keys"].get(key)
        if old is not None and old != ids:
            violation("batch %s sent again with other entries" % key)
        S["keys"][key] = ids
        return key

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        # PUT {base}/attachments/HASH, base: the batches' URL without its
        # last segment.
        with lock:
            S["requests"] += 1
            name = self.path.rsplit("/attachments/", 1)[1] if "/attachments/" in self.path else ""
            path = os.path.join(DIR, "attachments", name)
            if not name or "/" in name:
                violation("PUT to %s" % self.path)
                code = 404
            elif hashlib.blake2b(body, digest_size=32).hexdigest() != name:
                violation("PUT %s: the bytes do not hash to their name" % name)
                code = 400
            else:
                if self.headers.get("Idempotency-Key") != name:
                    violation("PUT %s: Idempotency-Key %r" % (name, self.headers.get("Idempotency-Key")))
                if self.headers.get("Authorization") != "Bearer s3cret-token":
                    violation("PUT %s: Authorization header %r" % (name, self.headers.get("Authorization")))
                if mode() == "503":
                    code = 503
                else:
                    S["puts"][name] = S["puts"].get(name, 0) + 1
                    code = 204 if os.path.exists(path) else 201
                    if code == 201:
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        with open(path + ".tmp", "wb") as f:
                            f.write(body)
                        os.replace(path + ".tmp", path)
            save()
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        accepted, delay = [], 0
        with lock:
            S["requests"] += 1
            try:
                batch = json.loads(body)
            except ValueError:
                violation("a body that is not JSON")
                code, reply = 400, b"bad json"
            else:
                code, reply, accepted, delay = decide(batch, self.check(batch))
            save()
        time.sleep(delay)
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
            self.wfile.flush()
        except OSError:
            return   # the gateway gave up (its timeout): it will send the batch again
        with lock:
            delivered(accepted)
            save()


def main():
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    if len(sys.argv) > 4:
        # A failed TLS handshake (the gateway refusing our certificate)
        # raises an OSError in accept, which the server shrugs off.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Timer(600, server.shutdown).start()
    with open(os.path.join(DIR, "ready"), "w", encoding="utf-8") as f:
        f.write(str(os.getpid()))
    server.serve_forever()


if __name__ == "__main__":
    main()
