"""A strict reader of Prometheus' text exposition format (0.0.4) for the
dashboard's /metrics: every line is a HELP, a TYPE or a sample of the
family declared just before it; names and labels are well formed; label
values use only the escapes the format allows; values are numbers;
counters end in _total.  Prints "name{labels} value" per sample, sorted,
so the test can check figures.

  metrics.py FILE
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$"
                    % (NAME, LABEL, LABEL))


def read(text):
    if not text.endswith("\n"):
        raise ValueError("the last line does not end with a newline")
    types, helps, current, out = {}, set(), None, []
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            if not re.fullmatch(NAME, name) or name in helps:
                raise ValueError("line %d: bad or repeated HELP" % n)
            helps.add(name)
            current = name
        elif line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in ("counter", "gauge") or parts[2] in types:
                raise ValueError("line %d: bad or repeated TYPE" % n)
            types[parts[2]] = parts[3]
            if parts[3] == "counter" and not parts[2].endswith("_total"):
                raise ValueError("line %d: a counter not named *_total" % n)
        else:
            m = SAMPLE.match(line)
            if not m:
                raise ValueError("line %d: not a sample: %r" % (n, line))
            if m.group(1) not in types or m.group(1) not in helps:
                raise ValueError("line %d: %s has no TYPE or HELP" % (n, m.group(1)))
            out.append("%s%s %s" % (m.group(1), m.group(2) or "", m.group(3)))
    return sorted(out)


if __name__ == "__main__":
    try:
        for s in read(open(sys.argv[1], encoding="utf-8").read()):
            print(s)
    except ValueError as e:
        print("metrics.py: %s" % e, file=sys.stderr)
        sys.exit(1)
