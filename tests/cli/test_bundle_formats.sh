#!/usr/bin/env bash
# Bundle formats through `fieldmesh`, on real stores:
#   - `bundle export` writes FMBNDL4 (records compressed), `--format 3`
#     FMBNDL3 for an older release; the first is smaller, and each makes
#     the same store where it is imported (same view digest, same count);
#   - another --format is refused in one line;
#   - a decompression bomb (a section that declares a whole section of
#     zeros from a few dozen bytes) is refused in one line, and nothing of
#     it is imported;
#   - a section altered under a good trailer is refused in one line,
#     nothing imported;
#   - a bundle of another release's format (FMBNDL5) is refused by name,
#     with the way out (`--format`).
#
# usage: test_bundle_formats.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_bundle_formats.sh BIN_DIR}
FM="$BIN/fieldmesh"
NAME=test_bundle_formats
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
[ -x "$FM" ] || fail "$FM is not built"
command -v zstd >/dev/null || fail "the zstd program is needed to make a bomb"
# Debian's python3 holds python3-msgpack; another python3 first on PATH
# may not.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

step "a commune of four laptops; a records 40 visits"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop a "Lò Thị Lan"
laptop b "Hoàng Văn Minh"
laptop c "Sùng Thị Mai"
laptop d "Giàng A Páo"
fm auth bundle export -o "$W/auth.bundle" >/dev/null
for n in a b c d; do fm "$n" bundle import "$W/auth.bundle" >/dev/null; done
for i in $(seq 1 40); do visit a "Nghĩa Tân" $((i % 9 + 1)); done

step "FMBNDL4 by default, FMBNDL3 with --format 3: the same store either way"
fm a bundle export -o "$W/a4.bundle" | grep -q "wrote 4[0-9] entries" || fail "export did not count"
fm a bundle export --format 3 -o "$W/a3.bundle" >/dev/null
[ "$(head -c 8 "$W/a4.bundle")" = FMBNDL4 ] || fail "a bundle does not start FMBNDL4"
[ "$(head -c 8 "$W/a3.bundle")" = FMBNDL3 ] || fail "--format 3 does not start FMBNDL3"
s4=$(stat -c %s "$W/a4.bundle")
s3=$(stat -c %s "$W/a3.bundle")
[ "$s4" -lt "$s3" ] || fail "FMBNDL4 ($s4 bytes) is not smaller than FMBNDL3 ($s3)"
echo "FMBNDL4 $s4 bytes, FMBNDL3 $s3 bytes"
fm b bundle import "$W/a4.bundle" | grep -q "refused 0" || fail "b refused some of FMBNDL4"
fm c bundle import "$W/a3.bundle" | grep -q "refused 0" || fail "c refused some of FMBNDL3"
for n in b c; do
  [ "$(status_field "$n" view_digest)" = "$(status_field a view_digest)" ] ||
    fail "$n does not hold a's views after its bundle"
  [ "$(status_field "$n" entries)" = "$(status_field a entries)" ] ||
    fail "$n does not hold a's entries after its bundle"
done
refused 2 "--format" fm a bundle export --format 2 -o "$W/x.bundle"
refused 2 "--format" fm a bundle export --format 5 -o "$W/x.bundle"
[ ! -e "$W/x.bundle" ] || fail "a refused export wrote a file"

# remake FILE OUT PYTHON: OUT is FILE's magic and header, then the bins
# the PYTHON expression makes of |secs| (FILE's sections) and |z| (a zstd
# helper), then a trailer whose checksum matches.
remake() {
  "$PY" - "$1" "$2" "$W" "$3" <<'EOF'
import hashlib, subprocess, sys
import msgpack
src, dst, w, expr = sys.argv[1:5]
data = open(src, "rb").read()
u = msgpack.Unpacker(raw=True, strict_map_key=False)
u.feed(data[8:])
u.unpack()                               # the header
at = 8 + u.tell()
secs, count = [], None
while True:
    v = u.unpack()
    if isinstance(v, list):              # the trailer [n, hash]
        count = v[0]
        break
    secs.append(v)
def z(path):
    return subprocess.run(["zstd", "-q", "-19", "-c", path], check=True,
                          capture_output=True).stdout
bins, count = eval(expr)
body = data[:at] + b"".join(msgpack.packb(b, use_bin_type=True) for b in bins)
h = hashlib.blake2b(body, digest_size=32).digest()
open(dst, "wb").write(body + msgpack.packb([count, h], use_bin_type=True))
EOF
}

step "a decompression bomb is refused in one line, nothing imported"
head -c 1048576 /dev/zero >"$W/zeros"
remake "$W/a4.bundle" "$W/bomb.bundle" '([z(w + "/zeros")], 1)'
[ "$(stat -c %s "$W/bomb.bundle")" -lt 4096 ] || fail "the bomb is not small"
n=$(status_field d entries)
refused 1 "would unpack to more than a bundle may hold" fm d bundle import "$W/bomb.bundle"
[ "$(status_field d entries)" = "$n" ] || fail "a refused bomb changed d's store"

step "a section altered under a good trailer is refused, nothing imported"
remake "$W/a4.bundle" "$W/altered.bundle" \
  '([s[:len(s) // 2] + bytes([s[len(s) // 2] ^ 0x10]) + s[len(s) // 2 + 1:] for s in secs], count)'
cmp -s "$W/a4.bundle" "$W/altered.bundle" && fail "remake did not alter the section"
remake "$W/a4.bundle" "$W/same.bundle" '(secs, count)'
cmp -s "$W/a4.bundle" "$W/same.bundle" || fail "remake does not rebuild a bundle as written"
refused 1 "does not decode" fm d bundle import "$W/altered.bundle"
[ "$(status_field d entries)" = "$n" ] || fail "a refused altered bundle changed d's store"

step "a bundle of another release's format is refused by name"
{ printf 'FMBNDL5\n'; tail -c +9 "$W/a4.bundle"; } >"$W/five.bundle"
refused 1 "another fieldmesh release" fm d bundle import "$W/five.bundle"
out=$(fm d bundle import "$W/five.bundle" 2>&1) || true
case "$out" in *"--format"*) ;; *) fail "no way out named: $out" ;; esac
[ "$(status_field d entries)" = "$n" ] || fail "a refused bundle changed d's store"
fm d bundle import "$W/a4.bundle" >/dev/null
[ "$(status_field d view_digest)" = "$(status_field a view_digest)" ] ||
  fail "d does not hold a's views after the real bundle"
echo "$NAME: PASS"
