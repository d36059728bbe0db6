#!/usr/bin/env python3
"""Cross-checks the proxy's raw counts against PostgreSQL's own log (log_statement = 'all').

    python3 crosscheck.py raw-new.json [/var/log/postgresql/postgresql-15-main.log]

For every request window [t0, t1] of the driver, counts the statements PostgreSQL logged for the
run's database ("statement: ..." split on ';', "execute <name>: ...") and the statement events
the proxy recorded in the same window (before any background filtering), and prints both.
"""
import datetime
import json
import re
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from pgcount import split_statements  # noqa: E402

d = json.load(open(sys.argv[1]))
logf = sys.argv[2] if len(sys.argv) > 2 else "/var/log/postgresql/postgresql-15-main.log"
db = d["db"]
line_re = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[\d+\] \S+@(\S+) LOG:  (statement|execute [^:]*): (.*)$")
logged = []
cur = None
for line in open(logf, errors="replace"):
    m = line_re.match(line)
    if m:
        if cur:
            logged.append(cur)
        cur = None
        if m.group(2) != db:
            continue
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
        cur = [t, m.group(3), m.group(4)]
    elif cur and not re.match(r"^\d{4}-\d\d-\d\d ", line):
        cur[2] += "\n" + line.rstrip("\n")
    else:
        if cur:
            logged.append(cur)
        cur = None
if cur:
    logged.append(cur)
# Only this run (an earlier run may have used the same database name).
start = min(e["t"] for e in d["events"]) - 1.0
end = max(e["t"] for e in d["events"]) + 1.0
log_counts = []
for t, kind, sql in logged:
    if not start <= t <= end:
        continue
    n = 1 if kind.startswith("execute") else len(split_statements(sql))
    log_counts.append((t, n))

agree = differ = 0
rows = []
for r in d["requests"]:
    # PostgreSQL's %m truncates to the millisecond: a logged time is up to 1 ms early.
    t0, t1 = r["t0"] - 0.001, r["t1"]
    lc = sum(n for t, n in log_counts if t0 <= t <= t1)
    label = f'{r["rep"]}|{r["who"]}|{r["request"]}'
    pc = sum(1 for e in d["events"] if e["kind"] == "stmt" and e["label"] == label)
    rows.append((label, pc, lc))
    if pc == lc:
        agree += 1
    else:
        differ += 1
total_log = sum(n for _, n in log_counts)
total_proxy = sum(1 for e in d["events"] if e["kind"] == "stmt")
print(f"{d['label']}: database {db}: PostgreSQL logged {total_log} statements, the proxy saw {total_proxy}")
print(f"request windows where raw counts agree: {agree}, differ: {differ}")
for label, pc, lc in rows:
    if pc != lc:
        print(f"  {label}: proxy {pc}, log {lc}")
