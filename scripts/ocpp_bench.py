#!/usr/bin/env python3
"""OCPP 1.6J load generator for scripts/ocpp-bench: the same chargers against any central system.

Run through scripts/ocpp-bench, which installs the tools, starts each server and passes its pids here.
Subcommands:

  peer-server --port P        PyPI's ocpp-csms (CentralSystem with its defaults, no hooks: every
                              charger is let in) on 127.0.0.1:P, no event listener, until SIGTERM.
  load --name NAME --url ws://127.0.0.1:P/ocpp/ --server-pid PID [--pg-data DIR] --json FILE
                              the phases below against one server; prints them and writes FILE.
  route --a URL --b URL --pile ID     (the database: OCPP_BENCH_DATABASE_URL)
                              chargepile only: admin status/set on B → ChangeAvailability at the
                              charger on A, beside a raw LISTEN/NOTIFY round trip on the same database.
  table FILE…                 the comparison table of several `load` results (the first is the peer).

The chargers are raw OCPP-J over `websockets` (no permessage-deflate, no client pings, frames
formatted by hand), so the client's own cost stays small against the server's. Passwords come from
the environment (OCPP_BENCH_PILE_PASSWORD, CHARGEPILE_ADMIN_PASSWORD), never from the command line.

`load` phases, each charger one CALL in flight, at most --concurrency chargers busy at a time:
  1  every charger connects (HTTP Basic, subprotocol ocpp1.6) and sends BootNotification, the first
     time since the server started (chargers per second, latency per charger);
  2  idle --idle seconds; resident memory per idle connection = (VmRSS of the server now − VmRSS
     before phase 1) / N, from /proc/PID/status;
  3  --rounds rounds of Heartbeat + StatusNotification(connector 1, Available) per charger; CPU
     per 1,000 CALLs = Δ(utime + stime) / CALLs × 1000 of the server process, plus, with --pg-data,
     every process of that PostgreSQL (the postmaster's own and reaped children's time, and each
     live backend's), read from /proc/PID/stat;
  4  all disconnect; once the server is quiet, all connect and boot again (a reconnect storm of
     chargers the server has seen: chargepile then checks the password from its cache, no bcrypt).
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import statistics
import sys
import time
from collections import Counter

CLK_TCK = os.sysconf("SC_CLK_TCK")
DEFLATE = False  # --deflate: offer permessage-deflate, as websockets' client (and some chargers) do by default
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


# --- /proc ------------------------------------------------------------------------------------------

def proc_stat(pid):
    """(ppid, utime, stime, cutime, cstime) in clock ticks, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    return int(fields[1]), int(fields[11]), int(fields[12]), int(fields[13]), int(fields[14])


def memory_kib(pid):
    """VmRSS and RssAnon of a process, KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def postmaster_pid(data_dir):
    with open(os.path.join(data_dir, "postmaster.pid")) as f:
        return int(f.readline())


class CpuMeter:
    """CPU seconds of a server: its process (all threads) and optionally a PostgreSQL cluster."""

    def __init__(self, server_pid, pg_data=None):
        self.server_pid = server_pid
        self.postmaster = postmaster_pid(pg_data) if pg_data else None

    def sample(self):
        """{'server': s, 'postgres': s, 'postgres_processes': n}"""
        server = proc_stat(self.server_pid)
        if server is None:
            raise RuntimeError(f"server pid {self.server_pid} is gone")
        result = {"server": (server[1] + server[2]) / CLK_TCK, "postgres": 0.0, "postgres_processes": 0}
        if self.postmaster:
            own = proc_stat(self.postmaster)
            if own is None:
                raise RuntimeError(f"postmaster pid {self.postmaster} is gone")
            ticks = own[1] + own[2] + own[3] + own[4]  # with its reaped children (backends that exited)
            count = 1
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                stat = proc_stat(int(entry))
                if stat and stat[0] == self.postmaster:
                    ticks += stat[1] + stat[2]
                    count += 1
            result["postgres"] = ticks / CLK_TCK
            result["postgres_processes"] = count
        return result


def self_cpu():
    t = os.times()
    return t.user + t.system


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def say(*args):
    print(*args, flush=True)


# --- a charger -------------------------------------------------------------------------------------

class CallFailed(Exception):
    pass


class Charger:
    """One OCPP 1.6J charge point on a raw websockets connection."""

    __slots__ = ("cp_id", "ws", "seq", "server_calls")

    def __init__(self, cp_id):
        self.cp_id = cp_id
        self.ws = None
        self.seq = 0
        self.server_calls = 0

    async def connect(self, url, password, timeout):
        from websockets.asyncio.client import connect
        headers = {}
        if password is not None:
            token = base64.b64encode(f"{self.cp_id}:{password}".encode()).decode()
            headers["Authorization"] = "Basic " + token
        self.ws = await connect(
            url + self.cp_id, subprotocols=["ocpp1.6"], additional_headers=headers,
            compression="deflate" if DEFLATE else None, ping_interval=None, open_timeout=timeout, close_timeout=5,
            max_queue=4, proxy=None, user_agent_header=None)

    async def call(self, action, payload_json, timeout):
        """Sends a CALL (payload already JSON text) and returns the CALLRESULT's payload."""
        self.seq += 1
        mid = f"{self.seq}"
        await self.ws.send(f'[2,"{mid}","{action}",{payload_json}]')
        deadline = time.monotonic() + timeout
        while True:
            text = await asyncio.wait_for(self.ws.recv(), max(0.001, deadline - time.monotonic()))
            frame = json.loads(text)
            if frame[0] == 3 and frame[1] == mid:
                return frame[2]
            if frame[0] == 4 and frame[1] == mid:
                raise CallFailed(f"CALLERROR {frame[2]}")
            if frame[0] == 2:  # a server CALL in the middle: answer it and keep waiting
                self.server_calls += 1
                await self.ws.send(answer_server_call(frame))

    async def close(self):
        if self.ws is not None:
            try:
                await self.ws.close()
            except Exception:
                pass
            self.ws = None

    @property
    def open(self):
        from websockets.protocol import State
        return self.ws is not None and self.ws.state is State.OPEN


def answer_server_call(frame):
    mid, action = frame[1], frame[2]
    if action in ("ChangeAvailability", "TriggerMessage", "ChangeConfiguration", "Reset", "ClearCache"):
        return json.dumps([3, mid, {"status": "Accepted"}])
    if action == "GetConfiguration":
        return json.dumps([3, mid, {"configurationKey": []}])
    return json.dumps([4, mid, "NotSupported", "the bench charger does not do this", {}])


BOOT = '{"chargePointVendor":"ocpp-bench","chargePointModel":"load"}'
STATUS_AVAILABLE = '{"connectorId":1,"errorCode":"NoError","status":"Available"}'


def describe(error):
    from websockets.exceptions import InvalidStatus
    if isinstance(error, InvalidStatus):
        body = bytes(error.response.body or b"")[:120].decode("utf-8", "replace").strip()
        return f"HTTP {error.response.status_code} instead of 101" + (f" ({body})" if body else "")
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    return f"{type(error).__name__}: {str(error)[:80]}"


async def bounded(items, concurrency, work):
    """Runs work(item) for every item, at most `concurrency` at a time."""
    queue = list(reversed(items))

    async def worker():
        while queue:
            await work(queue.pop())

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(items)))))


async def connect_and_boot(chargers, url, password, concurrency, timeout):
    """(seconds, latencies, failures Counter)"""
    latencies, failures = [], Counter()

    async def one(charger):
        started = time.perf_counter()
        try:
            await charger.connect(url, password, timeout)
            result = await charger.call("BootNotification", BOOT, timeout)
            if result.get("status") != "Accepted":
                failures[f"Boot {result.get('status')}"] += 1
            latencies.append(time.perf_counter() - started)
        except Exception as error:
            failures[describe(error)] += 1
            await charger.close()

    started = time.perf_counter()
    await bounded(chargers, concurrency, one)
    return time.perf_counter() - started, latencies, failures


async def wait_quiet(cpu, what, limit=120.0, threshold=0.03):
    """Waits until the server (and its PostgreSQL) uses under `threshold` CPU-seconds per second."""
    started = time.monotonic()
    previous = cpu.sample()
    while time.monotonic() - started < limit:
        await asyncio.sleep(1.0)
        now = cpu.sample()
        used = (now["server"] - previous["server"]) + (now["postgres"] - previous["postgres"])
        previous = now
        if used < threshold:
            return time.monotonic() - started
    say(f"  (still busy {limit:.0f} s after {what}: measuring anyway)")
    return time.monotonic() - started


# --- load ------------------------------------------------------------------------------------------

async def load(args):
    password = os.environ.get("OCPP_BENCH_PILE_PASSWORD") if args.auth else None
    if args.auth and not password:
        sys.exit("OCPP_BENCH_PILE_PASSWORD is not set")
    cpu = CpuMeter(args.server_pid, args.pg_data)
    ids = [str(args.first_id + i) for i in range(args.chargers)]
    out = {"name": args.name, "chargers": args.chargers, "concurrency": args.concurrency, "rounds": args.rounds,
           "idle": args.idle}
    say(f"== {args.name}: {args.chargers} chargers on {args.url}…, {args.concurrency} in flight")

    def connect_result(seconds, latencies, failures, cpu_before, cpu_after, client_cpu):
        return {"seconds": seconds, "ok": len(latencies), "failures": dict(failures), "rate": len(latencies) / seconds,
                "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
                "cpu_ms_per_charger": 1000 * ((cpu_after["server"] - cpu_before["server"])
                                              + (cpu_after["postgres"] - cpu_before["postgres"])) / max(1, len(latencies)),
                "client_cpu_ms_per_charger": 1000 * client_cpu / max(1, len(latencies))}

    def connect_line(phase, what, r):
        say(f"  phase {phase}, {what}: {r['ok']} in {r['seconds']:.1f} s = {r['rate']:.0f}/s"
            f" (p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms; server CPU {r['cpu_ms_per_charger']:.2f} ms each)"
            + (f", failures {r['failures']}" if r["failures"] else ""))

    # Phase 1: every charger connects and boots for the first time since the server started.
    mem_before = memory_kib(args.server_pid)
    cpu_before = cpu.sample()
    out["postgres_processes"] = cpu_before["postgres_processes"]
    client_before = self_cpu()
    chargers = [Charger(i) for i in ids]
    result = await connect_and_boot(chargers, args.url, password, args.concurrency, args.timeout)
    out["connect"] = connect_result(*result, cpu_before, cpu.sample(), self_cpu() - client_before)
    connect_line(1, "connect + boot", out["connect"])
    connected = [c for c in chargers if c.open]

    # Phase 2: idle.
    idle_start = cpu.sample()
    await asyncio.sleep(args.idle)
    idle_end = cpu.sample()
    mem_idle = memory_kib(args.server_pid)
    still = [c for c in connected if c.open]
    n = len(still)
    out["idle"] = {
        "connected": n, "closed_while_idle": len(connected) - n,
        "rss_before_kib": mem_before["VmRSS"], "rss_after_kib": mem_idle["VmRSS"],
        "anon_before_kib": mem_before.get("RssAnon"), "anon_after_kib": mem_idle.get("RssAnon"),
        "kib_per_connection": (mem_idle["VmRSS"] - mem_before["VmRSS"]) / max(1, n),
        "anon_kib_per_connection": (mem_idle.get("RssAnon", 0) - mem_before.get("RssAnon", 0)) / max(1, n),
        "cpu_ms_per_s": 1000 * ((idle_end["server"] - idle_start["server"]) + (idle_end["postgres"] - idle_start["postgres"])) / args.idle,
    }
    say(f"  phase 2, idle {args.idle:.0f} s: {n} connected ({len(connected) - n} closed meanwhile);"
        f" VmRSS {mem_before['VmRSS']} → {mem_idle['VmRSS']} KiB = {out['idle']['kib_per_connection']:.1f} KiB per connection"
        f" (RssAnon {out['idle']['anon_kib_per_connection']:.1f}); idle CPU {out['idle']['cpu_ms_per_s']:.1f} ms/s")

    # Phase 3: Heartbeat + StatusNotification rounds.
    latencies, failures = [], Counter()
    calls = 0

    async def rounds_of(charger):
        nonlocal calls
        for action, payload in (("Heartbeat", "{}"), ("StatusNotification", STATUS_AVAILABLE)):
            started = time.perf_counter()
            try:
                await charger.call(action, payload, args.timeout)
                latencies.append(time.perf_counter() - started)
                calls += 1
            except Exception as error:
                failures[f"{action}: {describe(error)}"] += 1
                return

    cpu_before = cpu.sample()
    client_before = self_cpu()
    started = time.perf_counter()
    per_round = []
    for number in range(args.rounds):
        round_cpu, round_calls, round_started = cpu.sample(), calls, time.perf_counter()
        await bounded([c for c in still if c.open], args.concurrency, rounds_of)
        round_end = cpu.sample()
        used = (round_end["server"] - round_cpu["server"]) + (round_end["postgres"] - round_cpu["postgres"])
        per_round.append({"calls": calls - round_calls, "seconds": time.perf_counter() - round_started,
                          "cpu_ms_per_1000": 1e6 * used / max(1, calls - round_calls)})
        say(f"    round {number + 1}: {calls - round_calls} CALLs in {per_round[-1]['seconds']:.1f} s,"
            f" {per_round[-1]['cpu_ms_per_1000']:.0f} ms CPU per 1,000 CALLs")
    seconds = time.perf_counter() - started
    cpu_after = cpu.sample()
    client_cpu = self_cpu() - client_before
    server_s = cpu_after["server"] - cpu_before["server"]
    pg_s = cpu_after["postgres"] - cpu_before["postgres"]
    out["calls"] = {"calls": calls, "seconds": seconds, "rate": calls / seconds, "failures": dict(failures),
                    "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
                    "server_cpu_s": server_s, "postgres_cpu_s": pg_s,
                    "cpu_ms_per_1000": 1000 * (server_s + pg_s) / max(1, calls) * 1000,
                    "server_cpu_ms_per_1000": 1000 * server_s / max(1, calls) * 1000,
                    "postgres_cpu_ms_per_1000": 1000 * pg_s / max(1, calls) * 1000,
                    "client_cpu_ms_per_1000": 1000 * client_cpu / max(1, calls) * 1000,
                    "still_connected": sum(1 for c in still if c.open), "rounds": per_round}
    say(f"  phase 3, {args.rounds} × (Heartbeat + StatusNotification): {calls} CALLs in {seconds:.1f} s = {calls / seconds:.0f}/s"
        f" (p50 {out['calls']['p50_ms']:.2f} ms, p99 {out['calls']['p99_ms']:.2f} ms);"
        f" CPU {1000 * server_s:.0f} ms server + {1000 * pg_s:.0f} ms PostgreSQL = {out['calls']['cpu_ms_per_1000']:.0f} ms per 1,000 CALLs"
        f" (load generator {out['calls']['client_cpu_ms_per_1000']:.0f})"
        + (f", failures {dict(failures)}" if failures else ""))
    out["server_calls_received"] = sum(c.server_calls for c in chargers)

    # Phase 4: everyone disconnects, then a reconnect storm (connect + boot of known chargers).
    await bounded(chargers, args.concurrency, Charger.close)
    quiet = await wait_quiet(cpu, "the disconnects")
    say(f"  all disconnected; server quiet after {quiet:.0f} s")
    cpu_before = cpu.sample()
    client_before = self_cpu()
    chargers = [Charger(i) for i in ids]
    result = await connect_and_boot(chargers, args.url, password, args.concurrency, args.timeout)
    out["reconnect"] = connect_result(*result, cpu_before, cpu.sample(), self_cpu() - client_before)
    connect_line(4, "reconnect + boot", out["reconnect"])
    out["server_calls_received"] += sum(c.server_calls for c in chargers)
    out["peak_rss_kib"] = memory_kib(args.server_pid).get("VmHWM")
    await bounded(chargers, args.concurrency, Charger.close)
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)


# --- table -----------------------------------------------------------------------------------------

def later_rounds(r):
    rounds = r["calls"]["rounds"][1:]
    calls = sum(x["calls"] for x in rounds)
    return sum(x["cpu_ms_per_1000"] * x["calls"] for x in rounds) / calls if calls else float("nan")


def table(args):
    results = []
    for path in args.files:
        with open(path) as f:
            results.append(json.load(f))
    peer, ours = results[0], results[-1]
    rows = [
        ("chargers connected and booted (phase 1)", lambda r: f"{r['connect']['ok']} of {r['chargers']}", None),
        ("connect + boot (phase 1), chargers/s", lambda r: f"{r['connect']['rate']:.0f}", lambda r: r["connect"]["rate"]),
        ("connect + boot p99 (ms)", lambda r: f"{r['connect']['p99_ms']:.0f}", lambda r: r["connect"]["p99_ms"]),
        ("server CPU per connect + boot (ms, incl. PostgreSQL)", lambda r: f"{r['connect']['cpu_ms_per_charger']:.2f}",
         lambda r: r["connect"]["cpu_ms_per_charger"]),
        ("RSS per idle connection (KiB)", lambda r: f"{r['idle']['kib_per_connection']:.1f}",
         lambda r: r["idle"]["kib_per_connection"]),
        ("  RssAnon per idle connection (KiB)", lambda r: f"{r['idle']['anon_kib_per_connection']:.1f}",
         lambda r: r["idle"]["anon_kib_per_connection"]),
        ("server VmRSS before → idle (KiB)", lambda r: f"{r['idle']['rss_before_kib']} → {r['idle']['rss_after_kib']}", None),
        ("idle CPU, N connected (ms per s)", lambda r: f"{r['idle']['cpu_ms_per_s']:.1f}", lambda r: r["idle"]["cpu_ms_per_s"]),
        ("CALLs (Heartbeat + StatusNotification)", lambda r: f"{r['calls']['calls']}", None),
        ("CALLs/s", lambda r: f"{r['calls']['rate']:.0f}", lambda r: r["calls"]["rate"]),
        ("CALL p99 (ms)", lambda r: f"{r['calls']['p99_ms']:.1f}", lambda r: r["calls"]["p99_ms"]),
        ("CPU ms per 1,000 CALLs (server + PostgreSQL)", lambda r: f"{r['calls']['cpu_ms_per_1000']:.0f}",
         lambda r: r["calls"]["cpu_ms_per_1000"]),
        ("  first round (the status becomes Available)", lambda r: f"{r['calls']['rounds'][0]['cpu_ms_per_1000']:.0f}",
         lambda r: r["calls"]["rounds"][0]["cpu_ms_per_1000"]),
        ("  later rounds (nothing changes)", lambda r: f"{later_rounds(r):.0f}", later_rounds),
        ("  of which server process", lambda r: f"{r['calls']['server_cpu_ms_per_1000']:.0f}", None),
        ("  of which PostgreSQL", lambda r: f"{r['calls']['postgres_cpu_ms_per_1000']:.0f}", None),
        ("load generator CPU ms per 1,000 CALLs", lambda r: f"{r['calls']['client_cpu_ms_per_1000']:.0f}", None),
        ("reconnect + boot (phase 4), chargers/s", lambda r: f"{r['reconnect']['rate']:.0f}", lambda r: r["reconnect"]["rate"]),
        ("server CPU per reconnect + boot (ms)", lambda r: f"{r['reconnect']['cpu_ms_per_charger']:.2f}",
         lambda r: r["reconnect"]["cpu_ms_per_charger"]),
        ("server peak VmHWM (KiB)", lambda r: f"{r['peak_rss_kib']}", None),
    ]
    names = [r["name"] for r in results]
    header = ["measure"] + names + [f"{ours['name']}/{peer['name']}"]
    lines = []
    for label, show, value in rows:
        ratio = ""
        if value is not None:
            try:
                ratio = f"{value(ours) / value(peer):.2f}"
            except ZeroDivisionError:
                ratio = "—"
        lines.append([label] + [show(r) for r in results] + [ratio])
    widths = [max(len(str(row[i])) for row in [header] + lines) for i in range(len(header))]
    say(" | ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    say(" | ".join("-" * w for w in widths))
    for row in lines:
        say(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    say("")
    mem = ours["idle"]["kib_per_connection"]
    cpu_ratio = ours["calls"]["cpu_ms_per_1000"] / peer["calls"]["cpu_ms_per_1000"]
    rate_ratio = ours["connect"]["rate"] / peer["connect"]["rate"]
    again_ratio = ours["reconnect"]["rate"] / peer["reconnect"]["rate"]
    say(f"goal: memory per idle OCPP connection ≤ 16 KiB: {'met' if mem <= 16 else 'NOT met'} ({mem:.1f} KiB;"
        f" {peer['name']} {peer['idle']['kib_per_connection']:.1f} KiB)")
    say(f"goal: CPU per CALL ≤ half the peer's: {'met' if cpu_ratio <= 0.5 else 'NOT met'} (ratio {cpu_ratio:.2f})")
    say(f"goal: connect + boot rate ≥ the peer's: {'met' if rate_ratio >= 1 else 'NOT met'} (ratio {rate_ratio:.2f} for the"
        f" first connect since the server started; {again_ratio:.2f} for the reconnect storm)")
    for r in results:
        problems = []
        for phase in ("connect", "calls", "reconnect"):
            if r[phase]["failures"]:
                problems.append(f"{phase}: {r[phase]['failures']}")
        if r["idle"]["closed_while_idle"]:
            problems.append(f"{r['idle']['closed_while_idle']} closed while idle")
        if r["calls"]["still_connected"] != r["idle"]["connected"]:
            problems.append(f"{r['idle']['connected'] - r['calls']['still_connected']} closed during the CALLs")
        if r.get("server_calls_received"):
            problems.append(f"{r['server_calls_received']} CALLs from the server")
        say(f"{r['name']}: " + ("; ".join(problems) if problems else "no failed connect, CALL or dropped connection"))


# --- route -----------------------------------------------------------------------------------------

class Http:
    """A keep-alive HTTP/1.1 client on asyncio streams (form posts, JSON answers)."""

    def __init__(self, base):
        from urllib.parse import urlsplit
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.reader = self.writer = None

    async def post(self, path, form):
        from urllib.parse import urlencode
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = urlencode(form).encode()
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nAccept: application/json\r\n\r\n".encode() + body)
        await self.writer.drain()
        status = await self.reader.readline()
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            key, _, value = line.decode().partition(":")
            if key.lower() == "content-length":
                length = int(value)
            if key.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
        else:
            data = await self.reader.readexactly(length)
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"POST {path}: {status!r} {data[:200]!r}")
        return json.loads(data)


async def route(args):
    import psycopg
    admin_password = os.environ["CHARGEPILE_ADMIN_PASSWORD"]
    pile_password = os.environ["OCPP_BENCH_PILE_PASSWORD"]
    a_ws = args.a.replace("http://", "ws://").rstrip("/") + "/ocpp/"

    if args.a_pid:
        quiet = await wait_quiet(CpuMeter(args.a_pid, args.pg_data), "the load", limit=180)
        say(f"  instance A quiet after {quiet:.0f} s")
    charger = Charger(str(args.pile))
    for attempt in range(1, 11):
        try:
            await charger.connect(a_ws, pile_password, 30)
            break
        except Exception as error:
            say(f"  charger {args.pile}: connect attempt {attempt} to A failed: {describe(error)}")
            if attempt == 10:
                raise
            await asyncio.sleep(3)
    boot = await charger.call("BootNotification", BOOT, 30)
    await charger.call("StatusNotification", STATUS_AVAILABLE, 30)
    say(f"== routing: charger {args.pile} on A ({args.a}), Boot {boot.get('status')}; admin on B ({args.b})")

    arrived = asyncio.Queue()

    async def answer_calls():
        while True:
            text = await charger.ws.recv()
            stamp = time.perf_counter()
            frame = json.loads(text)
            if frame[0] == 2:
                await charger.ws.send(answer_server_call(frame))  # Accepted at once
                arrived.put_nowait((stamp, frame[2], frame[3]))

    reader = asyncio.create_task(answer_calls())
    http = Http(args.b)
    answer = await http.post("/a/login", {"username": os.environ.get("CHARGEPILE_ADMIN_USER", "admin"), "password": admin_password})
    token = answer.get("token") or (answer.get("data") or {}).get("token")
    if not token:
        sys.exit(f"admin login on B failed: {answer}")

    database_url = os.environ["OCPP_BENCH_DATABASE_URL"]
    listen = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    notify = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    await listen.execute("LISTEN ocpp_bench")
    notifications = listen.notifies()

    command_frame, command_reply, raw, problems = [], [], [], Counter()
    status_flip = ["off", "on"]
    sequence = 0

    async def one_command(measure):
        nonlocal sequence
        status = status_flip[sequence % 2]
        sequence += 1
        started = time.perf_counter()
        reply = await http.post("/admin/charge/status/set", {"token": token, "id": str(args.pile), "status": status})
        replied = time.perf_counter()
        if reply.get("code") != 200:
            problems[f"reply {reply.get('code')} {reply.get('msg')}"] += 1
        try:
            stamp, action, payload = await asyncio.wait_for(arrived.get(), 5)
        except asyncio.TimeoutError:
            problems["no ChangeAvailability within 5 s"] += 1
            return
        expected = "Inoperative" if status == "off" else "Operative"
        if action != "ChangeAvailability" or payload.get("type") != expected:
            problems[f"unexpected {action} {payload}"] += 1
        if measure:
            command_frame.append(stamp - started)
            command_reply.append(replied - started)

    async def one_notify(measure):
        started = time.perf_counter()
        await notify.execute("SELECT pg_notify('ocpp_bench', 'x')")
        await notifications.__anext__()
        if measure:
            raw.append(time.perf_counter() - started)

    for _ in range(args.warmup):
        await one_command(False)
        await one_notify(False)
    per_round = args.commands // args.rounds
    for r in range(args.rounds):
        for _ in range(per_round):
            await one_command(True)
        for _ in range(per_round):
            await one_notify(True)
        say(f"  round {r + 1}/{args.rounds}: command p50 {percentile(command_frame[-per_round:], 50) * 1000:.2f} ms"
            f" p99 {percentile(command_frame[-per_round:], 99) * 1000:.2f} ms,"
            f" raw NOTIFY p50 {percentile(raw[-per_round:], 50) * 1000:.3f} ms p99 {percentile(raw[-per_round:], 99) * 1000:.3f} ms")
    reader.cancel()
    await charger.close()
    await listen.close()
    await notify.close()

    def row(label, values):
        ms = [v * 1000 for v in values]
        return [label, str(len(ms)), f"{percentile(ms, 50):.3f}", f"{percentile(ms, 90):.3f}", f"{percentile(ms, 99):.3f}",
                f"{max(ms):.3f}" if ms else "nan"]

    rows = [row("status/set on B → ChangeAvailability at the charger on A", command_frame),
            row("status/set on B → HTTP reply (charger answered Accepted at once)", command_reply),
            row("raw NOTIFY → LISTEN (psycopg, same database)", raw)]
    header = ["path", "n", "p50 (ms)", "p90 (ms)", "p99 (ms)", "max (ms)"]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    say("")
    say(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    say(" | ".join("-" * w for w in widths))
    for r in rows:
        say(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
    say(f"command (ChangeAvailability at the charger) / raw NOTIFY: p50 {percentile(command_frame, 50) / percentile(raw, 50):.1f},"
        f" p99 {percentile(command_frame, 99) / percentile(raw, 99):.1f}")
    say("problems: " + (", ".join(f"{k} × {v}" for k, v in problems.items()) if problems else "none"))


# --- peer server -----------------------------------------------------------------------------------

async def peer_server(args):
    from ocpp_csms import CentralSystem
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with CentralSystem(host="127.0.0.1", port=args.port) as central_system:
        print(f"ocpp-csms listening on 127.0.0.1:{central_system.port}", flush=True)
        await stop.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("peer-server")
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("load")
    p.add_argument("--name", required=True)
    p.add_argument("--url", required=True, help="ws://host:port/path/ (the charger id is appended)")
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--pg-data", help="data directory of the server's PostgreSQL (its processes count as the server's)")
    p.add_argument("--chargers", type=int, default=5000)
    p.add_argument("--first-id", type=int, default=100001)
    p.add_argument("--concurrency", type=int, default=200)
    p.add_argument("--idle", type=float, default=65.0, help="seconds idle before memory is read (over both servers' ping intervals)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--auth", action="store_true", help="HTTP Basic with OCPP_BENCH_PILE_PASSWORD")
    p.add_argument("--deflate", action="store_true", help="offer permessage-deflate (default: no compression, as most chargers)")
    p.add_argument("--json", required=True)
    p = sub.add_parser("table")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("route")
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--pile", type=int, default=1)
    p.add_argument("--a-pid", type=int, help="wait until instance A (and --pg-data's PostgreSQL) is quiet first")
    p.add_argument("--pg-data")
    p.add_argument("--commands", type=int, default=500)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    if args.command == "table":
        table(args)
    elif args.command == "peer-server":
        asyncio.run(peer_server(args))
    elif args.command == "load":
        global DEFLATE
        DEFLATE = args.deflate
        asyncio.run(load(args))
    else:
        asyncio.run(route(args))


if __name__ == "__main__":
    main()
