#!/usr/bin/env python3
"""Counting proxy between a Latchkey server and PostgreSQL, plus a driver that walks the
password-recovery flow over HTTP and tags every statement with the request in flight.

stdlib only. Usage (see README.md beside this file):

    python3 pgcount.py --binary BIN --db DBNAME --label old|new --reps 3 --out FILE.json

What is recorded, per frontend message the server sends to PostgreSQL:
  * 'Q' (simple query): split into its statements (quotes, comments and dollar quotes respected);
    a query that is only a comment / empty counts as 0 statements ("empty").
  * 'E' (Execute): one statement; its SQL text is looked up through Bind (portal -> prepared
    statement) and Parse (prepared statement -> SQL) on the same connection.
  * a 'S' (Sync) with no Parse/Bind/Execute since the previous Sync: sqlx's ping (it is a bare
    Sync round trip in sqlx 0.8, no SQL at all). Counted apart as "pings", never as statements.
Each event carries a timestamp, the proxy connection id and the label that was current when the
proxy *received* the message (the driver sets the label just before sending an HTTP request and
resets it to "idle after <request>" when the response has arrived).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

PG = ("127.0.0.1", 5432)

LOCK = threading.Lock()
EVENTS = []          # dicts: t, conn, label, kind ('stmt'|'ping'|'empty'), sql
CURRENT = {"label": "startup"}
CONN_SEQ = [0]


def split_statements(sql):
    """Statements of a simple query; comments and blanks alone are no statement."""
    out, buf, i, n = [], [], 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "'" or c == '"':
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            buf.append(sql[i:j + 1]); i = j + 1; continue
        if sql.startswith("--", i):
            j = sql.find("\n", i); j = n if j < 0 else j
            i = j; continue
        if sql.startswith("/*", i):
            j = sql.find("*/", i + 2); j = n if j < 0 else j + 2
            i = j; continue
        if c == "$":
            m = re.match(r"\$[A-Za-z_]*\$", sql[i:])
            if m:
                tag = m.group(0)
                j = sql.find(tag, i + len(tag)); j = n if j < 0 else j + len(tag)
                buf.append(sql[i:j]); i = j; continue
        if c == ";":
            s = "".join(buf).strip()
            if s:
                out.append(s)
            buf = []; i += 1; continue
        buf.append(c); i += 1
    s = "".join(buf).strip()
    if s:
        out.append(s)
    return out


def record(conn, kind, sql=""):
    with LOCK:
        EVENTS.append({"t": time.time(), "conn": conn, "label": CURRENT["label"], "kind": kind, "sql": sql})


def cstr(buf, off):
    end = buf.index(b"\0", off)
    return buf[off:end].decode("utf-8", "replace"), end + 1


def pump_backend(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def handle_client(client):
    with LOCK:
        CONN_SEQ[0] += 1
        conn = CONN_SEQ[0]
    server = socket.create_connection(PG)
    for s in (client, server):  # no Nagle/delayed-ACK stalls added by the proxy
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        # Startup phase: untyped messages. SSL / GSS requests are refused by the proxy itself.
        while True:
            head = recv_exact(client, 8)
            length, code = struct.unpack("!ii", head)
            rest = recv_exact(client, length - 8)
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
                client.sendall(b"N")
                continue
            server.sendall(head + rest)
            break
        threading.Thread(target=pump_backend, args=(server, client), daemon=True).start()
        stmts, portals = {}, {}
        extended_since_sync = False
        while True:
            head = recv_exact(client, 5)
            typ = head[:1]
            (length,) = struct.unpack("!i", head[1:])
            body = recv_exact(client, length - 4)
            if typ == b"Q":
                sql, _ = cstr(body, 0)
                parts = split_statements(sql)
                if not parts:
                    record(conn, "empty", sql)
                for p in parts:
                    record(conn, "stmt", p)
            elif typ == b"P":
                name, off = cstr(body, 0)
                sql, _ = cstr(body, off)
                stmts[name] = sql
                extended_since_sync = True
            elif typ == b"B":
                portal, off = cstr(body, 0)
                stmt, _ = cstr(body, off)
                portals[portal] = stmt
                extended_since_sync = True
            elif typ == b"E":
                portal, _ = cstr(body, 0)
                record(conn, "stmt", stmts.get(portals.get(portal, "?"), "<unknown statement>"))
                extended_since_sync = True
            elif typ in (b"D", b"C", b"H"):
                extended_since_sync = True
            elif typ == b"S":
                if not extended_since_sync:
                    record(conn, "ping")
                extended_since_sync = False
            server.sendall(head + body)
            if typ == b"X":
                break
    except (EOFError, OSError):
        pass
    finally:
        for s in (client, server):
            try:
                s.close()
            except OSError:
                pass


def serve_proxy(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)

    def loop():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=handle_client, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return ls


# ---------------------------------------------------------------- driver

ADMIN_TOKEN = "stmts-admin-token-0123456789-abcdefghijkl"
REDIRECT = "http://127.0.0.1:9999/callback"


def http(base, method, path, body=None, form=None, headers=None):
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode(); h["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode(); h["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read(); status = r.status
    except urllib.error.HTTPError as e:
        raw = e.read(); status = e.code
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode("utf-8", "replace")


import urllib.parse  # noqa: E402


class Driver:
    def __init__(self, base, mailbox, quiet):
        self.base, self.mailbox, self.quiet = base, mailbox, quiet
        self.results = []   # (rep, who, request, status, t0, t1)

    def req(self, rep, who, name, method, path, **kw):
        time.sleep(self.quiet)
        with LOCK:
            CURRENT["label"] = f"{rep}|{who}|{name}"
        t0 = time.time()
        status, body = http(self.base, method, path, **kw)
        t1 = time.time()
        with LOCK:
            CURRENT["label"] = f"{rep}|{who}|idle after {name}"
        self.results.append({"rep": rep, "who": who, "request": name, "status": status, "t0": t0, "t1": t1})
        return status, body


def email_id(body):
    try:
        return body["remediation"]["value"][0]["value"][0]["options"][0]["value"]["form"]["value"][0]["value"]
    except (KeyError, IndexError, TypeError):
        return "aut0lkemail000000001"


def wait_code(mailbox, login, before, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.isdir(mailbox):
            for f in sorted(os.listdir(mailbox)):
                p = os.path.join(mailbox, f)
                if p in before or not f.endswith(".eml"):
                    continue
                txt = open(p, encoding="utf-8", errors="replace").read()
                if login.lower() in txt.lower():
                    codes = re.findall(r"\b[0-9]{6}\b", txt)
                    if codes:
                        return codes[-1]
        time.sleep(0.2)
    raise RuntimeError(f"no code mailed to {login}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--proxy-port", type=int, default=55432)
    ap.add_argument("--http-port", type=int, default=18080)
    ap.add_argument("--quiet", type=float, default=1.5, help="pause before each request (s)")
    ap.add_argument("--tail", type=float, default=3.0, help="pause after the last request (s)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--log-statements", action="store_true",
                    help="also ALTER DATABASE .. SET log_statement = 'all' (for crosscheck.py)")
    a = ap.parse_args()

    work = f"/work/stmts/run-{a.label}"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", a.db], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", a.db], check=True)
    if a.log_statements:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"ALTER DATABASE {a.db} SET log_statement = 'all'"], check=True)
    with open(f"{work}/master.key", "wb") as f:
        f.write(os.urandom(32))
    serve_proxy(a.proxy_port)
    env = dict(os.environ)
    env.update({
        "LATCHKEY_DATABASE_URL": f"postgres://postgres@127.0.0.1:{a.proxy_port}/{a.db}?sslmode=disable",
        "LATCHKEY_MASTER_KEY_FILE": f"{work}/master.key",
        "LATCHKEY_DATA_DIR": f"{work}/data",
        "LATCHKEY_LISTEN": f"127.0.0.1:{a.http_port}",
        "LATCHKEY_ADMIN_TOKEN": ADMIN_TOKEN,
        # Fewer background statements to filter: the worker still wakes at once on new mail.
        "LATCHKEY_OUTBOX__POLL_INTERVAL_MS": "600000",
        "RUST_LOG": "warn",
    })
    if a.label != "old":  # the current code (new, head)
        env["LATCHKEY_METRICS__LISTEN"] = "off"
        # The key-ring reload loop (new code only) would otherwise run every 60 s.
        env["LATCHKEY_KEYS__RELOAD_SECS"] = "3600"
        env["LATCHKEY_KEYS__PUBLISH_DELAY_SECS"] = "3900"
    log = open(f"{work}/server.log", "w")
    proc = subprocess.Popen([a.binary, "serve", "--dev"], env=env, stdout=subprocess.PIPE, stderr=log, cwd=work,
                            start_new_session=True)
    base = None
    for line in proc.stdout:
        line = line.decode()
        log.write(line); log.flush()
        if line.startswith("listening on"):
            base = line.split()[-1].strip()
            break
    if not base:
        raise SystemExit("server did not start; see " + f"{work}/server.log")
    threading.Thread(target=lambda: [log.write(l.decode()) for l in proc.stdout], daemon=True).start()
    mailbox = f"{work}/data/mailbox"
    print(f"[{a.label}] server pid {proc.pid} at {base}", flush=True)
    d = Driver(base, mailbox, a.quiet)
    auth = {"Authorization": "SSWS " + ADMIN_TOKEN}
    try:
        time.sleep(2)
        st, c = d.req(0, "setup", "create client", "POST", "/oauth2/v1/clients", headers=auth, body={
            "client_name": "stmts", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"})
        client_id = c["client_id"]
        for rep in range(1, a.reps + 1):
            login = f"jane-{a.label}-{rep}-{int(time.time())}@example.com"
            st, _ = d.req(rep, "setup", "create user", "POST", "/api/v1/users?activate=true", headers=auth, body={
                "profile": {"login": login, "email": login, "firstName": "Jane", "lastName": "Doe"},
                "credentials": {"password": {"value": "correct horse battery staple orbit"}}})
            assert st == 200, st
            for who, ident in (("existing", login), ("unknown", f"nobody-{a.label}-{rep}-{int(time.time())}@example.com")):
                st, b = d.req(rep, who, "interact", "POST", "/oauth2/default/v1/interact", form={
                    "client_id": client_id, "scope": "openid email", "redirect_uri": REDIRECT,
                    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
                    "state": "s"})
                ih = b["interaction_handle"]
                st, b = d.req(rep, who, "introspect", "POST", "/idp/idx/introspect", body={"interactionHandle": ih})
                sh = b["stateHandle"]
                d.req(rep, who, "recover", "POST", "/idp/idx/recover", body={"stateHandle": sh})
                st, b = d.req(rep, who, "identify", "POST", "/idp/idx/identify", body={"stateHandle": sh, "identifier": ident})
                before = set(os.path.join(mailbox, f) for f in os.listdir(mailbox)) if os.path.isdir(mailbox) else set()
                st, b = d.req(rep, who, "challenge", "POST", "/idp/idx/challenge",
                              body={"stateHandle": sh, "authenticator": {"id": email_id(b)}})
                st, b = d.req(rep, who, "wrong answer", "POST", "/idp/idx/challenge/answer",
                              body={"stateHandle": sh, "credentials": {"passcode": "000000"}})
                if who == "existing":
                    code = wait_code(mailbox, login, before)
                    st, b = d.req(rep, who, "right answer", "POST", "/idp/idx/challenge/answer",
                                  body={"stateHandle": sh, "credentials": {"passcode": code}})
                    assert st == 200, (st, b)
                    st, b = d.req(rep, who, "reset", "POST", "/idp/idx/challenge/answer",
                                  body={"stateHandle": sh, "credentials": {"passcode": f"a new passphrase for run {rep} {a.label}"}})
                    assert st == 200, (st, b)
        time.sleep(a.tail)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    with LOCK:
        out = {"label": a.label, "binary": a.binary, "db": a.db, "requests": d.results, "events": list(EVENTS)}
    json.dump(out, open(a.out, "w"), indent=1)
    print(f"[{a.label}] {len(out['events'])} events -> {a.out}")


if __name__ == "__main__":
    main()
