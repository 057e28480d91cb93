"""Checks for the gateway's tests, on what the sinks hold.

  check.py spool DIR                  "LINES UNIQUE DUPS RECEIPTED PLAIN": entry lines in
                                      DIR/*.ndjson, distinct ids, (author, seq) named by
                                      more than one spool receipt, named by one at
                                      least, and entries that are not receipts
  check.py views PG.json CLI.json KIND  the dossiers (or visits) of PostgreSQL against
                                      `fieldmesh dossier|visit list --json`
"""
import datetime
import glob
import json
import os
import re
import sys


def vn_day(ts):
    """The day in Vietnam (UTC+7) of a PostgreSQL timestamptz as JSON."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?"
                 r"(Z|[+-]\d\d(?::?\d\d)?)$", ts or "")
    if not m:
        return None
    off = m.group(7)
    mins = 0 if off == "Z" else (int(off[1:3]) * 60 + int(off[-2:] if len(off) > 3 else 0)) * \
        (1 if off[0] == "+" else -1)
    t = datetime.datetime(*map(int, m.groups()[:6]),
                          tzinfo=datetime.timezone(datetime.timedelta(minutes=mins)))
    return t.astimezone(datetime.timezone(datetime.timedelta(hours=7))).date().isoformat()


def spool(folder):
    ids, seen_items, dups, headers, plain = [], {}, 0, 0, set()
    for path in sorted(glob.glob(os.path.join(folder, "*.ndjson"))):
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        head = json.loads(lines[0])
        assert head["type"] == "batch", path
        assert os.path.basename(path).endswith(head["batch"] + ".ndjson"), path
        n = 0
        for line in lines[1:]:
            o = json.loads(line)
            if o["type"] != "entry":
                continue
            n += 1
            ids.append(o["id"])
            assert o["idempotency_key"] == o["id"]
            if o["kind"] != "receipt":
                plain.add(o["id"])
            if o["kind"] == "receipt" and o["body"]["sink"] == "spool":
                for author, items in o["body"]["items"]:
                    for seq, _id8, _ref in items:
                        k = (author, seq)
                        seen_items[k] = seen_items.get(k, 0) + 1
                        dups += seen_items[k] == 2
        assert n == head["entries"], "%s: %d entry lines, header says %d" % (path, n, head["entries"])
        headers += 1
    print(len(ids), len(set(ids)), dups, len(seen_items), len(plain))


def views(pg_path, cli_path, kind):
    pg = json.load(open(pg_path, encoding="utf-8")) or []
    cli = json.load(open(cli_path, encoding="utf-8"))
    pg = {r["id"]: r for r in pg}
    bad = []
    if set(pg) != {r["id"] for r in cli}:
        bad.append("ids differ: only in postgres %s, only in the CLI %s" % (
            sorted(set(pg) - {r["id"] for r in cli})[:3], sorted({r["id"] for r in cli} - set(pg))[:3]))
    for r in cli:
        p = pg.get(r["id"])
        if not p:
            continue
        if kind == "dossier":
            pairs = [("procedure", r["procedure"]), ("applicant_name", r["applicant"]["name"]),
                     ("applicant_id", r["applicant"]["id_number"]), ("phone", r["applicant"]["phone"]),
                     ("village", r["village"]), ("team", r["team"]), ("channel", r["channel"]),
                     ("status", r["status"]), ("status_note", r["status_note"]),
                     ("portal_ref", r["portal_ref"]), ("note", r["note"]),
                     ("created_by", r["created_by"]), ("created_at", r["created"])]
        else:
            pairs = [("village", r["village"]), ("team", r["team"]), ("mode", r["mode"]),
                     ("citizens", r["citizens"]), ("voided", r["voided"])]
        for col, want in pairs:
            got = p[col]
            if col == "citizens":
                got = int(got)
            if col == "created_at":  # the day the dossier was made, as the CLI shows it
                got = vn_day(got)
            if got != want:
                bad.append("%s %s: %s is %r in postgres, %r in the CLI" % (kind, r["id"], col, got, want))
    if bad:
        print("\n".join(bad[:10]))
        sys.exit(1)
    print("%d %ss match" % (len(cli), kind))


if __name__ == "__main__":
    if sys.argv[1] == "spool":
        spool(sys.argv[2])
    else:
        views(sys.argv[2], sys.argv[3], sys.argv[4])
