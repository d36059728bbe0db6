#!/usr/bin/env python3
"""Attributes the statements recorded by pgcount.py to requests, removing background work.

    python3 analyze.py old.json new.json [--sql]

Background work (outbox worker, outbox heartbeat, purge loop, key loop) runs on the same pool
as the requests, so it is removed by what it executes, not by when:
  1. statements matching BACKGROUND patterns (tables / statements only background tasks use);
  2. a whole transaction (BEGIN..COMMIT/ROLLBACK on one connection) that contains one of them;
  3. for each CHAIN_HEAD (a background statement the code precedes with `store.now()`), the
     latest not-yet-claimed `SELECT ... clock_timestamp() ... AS now` sent up to 0.3 s before it,
     preferring one sent while no request was in flight (that one cannot be a request's).
Everything else sent while a request was in flight is that request's. Statements that are not
background but arrive after the response (label "idle after X") are reported as "after".
"""
import json
import re
import sys
from collections import defaultdict

NOW = re.compile(r"^SELECT CAST\(EXTRACT\(EPOCH FROM clock_timestamp\(\)\)")
BACKGROUND = [re.compile(p) for p in [
    r"outbox_owners",                              # heartbeat, ownership checks (new)
    r"^SELECT version FROM config_versions",       # worker: email customizations cache
    r"^UPDATE outbox SET",                         # worker: expire, claim, sent, deferred, release
    r"^SELECT id FROM outbox WHERE owner_id",      # worker: release_forgotten (new)
    r"^SELECT .* FROM outbox ",                    # worker reads
    r"^DELETE FROM ",                              # purge loop
    r"signing_keys|FROM keys\b",                   # key loop (new)
]]
CHAIN_HEAD = [re.compile(p) for p in [
    r"^INSERT INTO outbox_owners",                 # heartbeat: now(); upsert
    r"^SELECT id FROM outbox WHERE owner_id",      # new worker cycle: now(); release_forgotten
    r"^UPDATE outbox SET status = 'expired'",      # old worker cycle: now(); claim_outbox (new: shares the now above)
    r"^DELETE FROM interactions WHERE expires_at",  # purge loop: now(); purge_expired
]]
RELEASE_FORGOTTEN, OLD_CLAIM = CHAIN_HEAD[1], CHAIN_HEAD[2]
TX = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|SAVEPOINT|RELEASE|END)\b", re.I)


def classify(events):
    for i, e in enumerate(events):
        e["i"] = i
        e["bg"] = e["kind"] == "stmt" and any(p.search(e["sql"]) for p in BACKGROUND)
    # transactions
    open_tx = {}
    groups = []
    for e in events:
        if e["kind"] != "stmt":
            continue
        c = e["conn"]
        head = e["sql"].split(None, 1)[0].upper() if e["sql"] else ""
        if head in ("BEGIN", "START"):
            open_tx[c] = [e]
        elif c in open_tx:
            open_tx[c].append(e)
            if head in ("COMMIT", "ROLLBACK", "END"):
                groups.append(open_tx.pop(c))
    groups.extend(open_tx.values())
    for g in groups:
        if any(x["bg"] for x in g):
            for x in g:
                x["bg"] = True
        for x in g:
            x["tx"] = g[0]["i"]
    # chain heads claim their now()
    nows = [e for e in events if e["kind"] == "stmt" and NOW.search(e["sql"])]
    heads = list(CHAIN_HEAD)
    if any(e["kind"] == "stmt" and RELEASE_FORGOTTEN.search(e["sql"]) for e in events):
        # New worker: one now() serves release_forgotten and claim_outbox (expire + claim).
        heads = [p for p in heads if p is not OLD_CLAIM]
    claimed = set()
    for e in events:
        if e["kind"] == "stmt" and any(p.search(e["sql"]) for p in heads):
            cands = [n for n in nows if n["i"] < e["i"] and n["i"] not in claimed and e["t"] - n["t"] < 0.3]
            # A now() sent while no request was in flight cannot be a request's: prefer it.
            idle = [n for n in cands if "|" not in n["label"] or "|idle after " in n["label"] or n["label"].split("|")[1] == "setup"]
            if cands:
                n = (idle or cands)[-1]
                claimed.add(n["i"])
                n["bg"] = True
                n["chain_of"] = e["sql"][:40]
    # pings: to the nearer statement (in time) on the same connection
    by_conn = defaultdict(list)
    for e in events:
        by_conn[e["conn"]].append(e)
    for lst in by_conn.values():
        stm = [x for x in lst if x["kind"] == "stmt"]
        for p in (x for x in lst if x["kind"] == "ping"):
            prev = [s for s in stm if s["i"] < p["i"]]
            nxt = [s for s in stm if s["i"] > p["i"]]
            best = None
            if prev:
                best = prev[-1]
            if nxt and (best is None or nxt[0]["t"] - p["t"] < p["t"] - best["t"]):
                best = nxt[0]
            p["owner"] = best
    return events


def summarise(path):
    d = json.load(open(path))
    ev = classify(d["events"])
    rows = {}
    for r in d["requests"]:
        key = (r["rep"], r["who"], r["request"])
        rows[key] = {"status": r["status"], "ms": round((r["t1"] - r["t0"]) * 1000), "all": 0, "notx": 0, "pings": 0,
                     "bg": 0, "after": 0, "sql": [], "after_sql": []}
    for e in ev:
        rep, who, lab = e["label"].split("|", 2) if e["label"].count("|") == 2 else (None, None, e["label"])
        if rep is None:
            continue
        after = lab.startswith("idle after ")
        req = lab[len("idle after "):] if after else lab
        key = (int(rep), who, req)
        if key not in rows:
            continue
        row = rows[key]
        if e["kind"] == "ping":
            owner = e.get("owner")
            if not after and owner is not None and not owner["bg"] and owner["label"] == e["label"]:
                row["pings"] += 1
            continue
        if e["kind"] == "empty":
            continue
        if e["bg"]:
            if not after:
                row["bg"] += 1
            continue
        if after:
            row["after"] += 1
            row["after_sql"].append(e["sql"])
            continue
        row["all"] += 1
        row["sql"].append(e["sql"])
        if not TX.search(e["sql"]):
            row["notx"] += 1
    return d["label"], rows


ORDER = ["interact", "introspect", "recover", "identify", "challenge", "wrong answer", "right answer", "reset"]


def fmt(vals):
    vals = list(vals)
    if not vals:
        return "–"
    return str(vals[0]) if len(set(vals)) == 1 else "/".join(map(str, vals))


def main():
    paths = [p for p in sys.argv[1:] if not p.startswith("--")]
    show_sql = "--sql" in sys.argv
    data = dict(summarise(p) for p in paths)
    labels = list(data)
    print("| request | who | " + " | ".join(f"{l} all | {l} w/o BEGIN/COMMIT | {l} pings" for l in labels) + " |")
    print("|---|---|" + "---|---|---|" * len(labels))
    for who in ("existing", "unknown"):
        for req in ORDER:
            cells = []
            present = False
            for l in labels:
                rs = [v for (rep, w, q), v in sorted(data[l].items()) if w == who and q == req]
                present |= bool(rs)
                cells += [fmt(r["all"] for r in rs), fmt(r["notx"] for r in rs), fmt(r["pings"] for r in rs)]
            if present:
                print(f"| {req} | {who} | " + " | ".join(cells) + " |")
    print()
    print("background statements removed from request windows / non-background statements after the response, per rep:")
    for l in labels:
        for (rep, who, req), v in sorted(data[l].items()):
            if v["bg"] or v["after"]:
                print(f"  {l} rep{rep} {who:8} {req:13} bg-removed={v['bg']} after={v['after']} {v['after_sql'][:3]}")
    print("\nsame statements (text and order) for existing and unknown / in every rep:")
    for l in labels:
        rows = data[l]
        reps = sorted({k[0] for k in rows if k[0] > 0})
        for req in ORDER[:6]:
            same = all(rows[(r, "existing", req)]["sql"] == rows[(r, "unknown", req)]["sql"] for r in reps)
            stable = all(rows[(r, w, req)]["sql"] == rows[(reps[0], w, req)]["sql"] for r in reps for w in ("existing", "unknown"))
            print(f"  {l:5} {req:13} existing==unknown: {same}  stable over reps: {stable}")
    print("\nstatus codes / durations (ms):")
    for l in labels:
        print(" ", l, [(rep, who[:3], req, v["status"], v["ms"]) for (rep, who, req), v in sorted(data[l].items())])
    if show_sql:
        for l in labels:
            print(f"\n===== {l}: SQL of rep 1")
            for (rep, who, req), v in sorted(data[l].items(), key=lambda kv: (kv[0][0], kv[0][1], ORDER.index(kv[0][2]) if kv[0][2] in ORDER else -1)):
                if rep != 1:
                    continue
                print(f"--- {who} {req} ({v['all']})")
                for s in v["sql"]:
                    print("    " + re.sub(r"\s+", " ", s)[:160])


if __name__ == "__main__":
    main()
