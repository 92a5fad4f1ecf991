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
  day --name … --url … --server-pid PID [--pg-data DIR] [--check-db] --json FILE
                              the charging day (issue 15, section "charging day" below) against one
                              server; --check-db (chargepile, OCPP_BENCH_DATABASE_URL) then checks its
                              transactions and bills against the meters the chargers sent.
  day-drivers --http URL      chargepile: one driver and one RFID card per charger (scripts/ocpp-bench).
  day-table FILE…             the comparison of `day` results (the first is the peer), with issue 15's goals.
  day-scale SMALL LARGE       one side's CPU per 1,000 CALLs at two station sizes.

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
import random
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

def comparison_table(rows, results, ours, peer):
    """Prints one line per (label, show, ratio value) row: each side's figure and ours / the peer's."""
    header = ["measure"] + [r["name"] for r in results] + [f"{ours['name']}/{peer['name']}"]
    lines = []
    for label, show, value in rows:
        ratio = ""
        if value is not None:
            try:
                ratio = f"{value(ours) / value(peer):.2f}"
            except (ZeroDivisionError, KeyError):
                ratio = "—"
        lines.append([label] + [show(r) for r in results] + [ratio])
    widths = [max(len(str(row[i])) for row in [header] + lines) for i in range(len(header))]
    say(" | ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    say(" | ".join("-" * w for w in widths))
    for row in lines:
        say(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    say("")


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
    comparison_table(rows, results, ours, peer)
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


# --- charging day ----------------------------------------------------------------------------------
#
# `day`: every charger connects and boots (at most --concurrency at a time: Boot, StatusNotification
# Available), then all chargers run their sessions at once, each one CALL in flight:
#   walk-up:   Authorize(card) → StatusNotification Preparing → StartTransaction → Charging →
#              --meter-values × MeterValues, each --meter-interval after the previous answer →
#              StopTransaction(reason Local) → Finishing → Available → Heartbeat; --sessions times.
#   requested: the driver submits a request over HTTP (chargepile: POST /user/charge/request, the
#              station picks the pile; the peer: our own POST /bench/remote-start beside ocpp-csms,
#              driver i at charger i); the charger answers the RemoteStartTransaction it gets, then
#              Preparing → StartTransaction(the idTag it was given) → … as above. The driver submits
#              its next request once its session's StopTransaction was answered.
# A refused StartTransaction (idTagInfo not Accepted) is stopped at once, as a charger with
# StopTransactionOnInvalidId does: StopTransaction(meterStop = meterStart, reason DeAuthorized).
# A CALLERROR or timeout is counted and the charger goes on (no retry): a failed StartTransaction
# ends the session (Available, Heartbeat), a failed StopTransaction leaves the transaction as it is.

MEASURAND = "Energy.Active.Import.Register"


def iso_now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CallError(Exception):
    def __init__(self, code, description):
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


class DayStats:
    """What every charger's CALLs did, for one side."""

    def __init__(self):
        self.latencies = []
        self.by_action = {}  # action → latencies
        self.call_errors = Counter()  # (action, code) → n
        self.error_samples = {}  # (action, code) → first description
        self.timeouts = Counter()  # action → n
        self.dropped = Counter()  # action → n (connection closed while waiting)
        self.calls = 0
        self.late_answers = 0
        self.server_calls = Counter()  # action → n
        self.outcomes = Counter()  # session outcome → n
        self.start_status = Counter()  # StartTransaction idTagInfo.status → n
        self.authorize_status = Counter()
        self.sessions = []  # per StartTransaction answered: dict (see DayCharger.session)
        self.http = []  # (what, seconds, ok)
        self.http_failures = Counter()


class DayCharger:
    """A charger with a reader task: answers server CALLs at once, and its own CALLs one at a time."""

    def __init__(self, cp_id, card, register_wh, stats):
        self.cp_id, self.card, self.register_wh, self.stats = cp_id, card, register_wh, stats
        self.ws = None
        self.seq = 0
        self.pending = None  # (message id, future)
        self.reader = None
        self.remote_starts = asyncio.Queue()  # idTags of RemoteStartTransaction
        self.remote_stop = None  # transactionId the server asked to stop
        self.running = None  # the transactionId charging now

    async def connect(self, url, password, timeout):
        from websockets.asyncio.client import connect
        headers = {}
        if password is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{self.cp_id}:{password}".encode()).decode()
        self.ws = await connect(url + self.cp_id, subprotocols=["ocpp1.6"], additional_headers=headers,
                                compression="deflate" if DEFLATE else None, ping_interval=None, open_timeout=timeout,
                                close_timeout=5, max_queue=16, proxy=None, user_agent_header=None)
        self.reader = asyncio.create_task(self.read())

    async def read(self):
        from websockets.exceptions import ConnectionClosed
        try:
            async for text in self.ws:
                frame = json.loads(text)
                if frame[0] in (3, 4):
                    pending = self.pending
                    if pending is None or pending[0] != frame[1] or pending[1].done():
                        self.stats.late_answers += 1
                    elif frame[0] == 3:
                        pending[1].set_result(frame[2])
                    else:
                        pending[1].set_exception(CallError(frame[2], frame[3] if len(frame) > 3 else ""))
                elif frame[0] == 2:
                    action, payload = frame[2], frame[3]
                    self.stats.server_calls[action] += 1
                    if action == "RemoteStartTransaction":
                        await self.ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
                        self.remote_starts.put_nowait(payload.get("idTag"))
                    elif action == "RemoteStopTransaction":
                        running = payload.get("transactionId") == self.running
                        if running:
                            self.remote_stop = self.running
                        else:
                            self.stats.server_calls["RemoteStopTransaction (not running here: Rejected)"] += 1
                        await self.ws.send(json.dumps([3, frame[1], {"status": "Accepted" if running else "Rejected"}]))
                    else:
                        await self.ws.send(answer_server_call(frame))
        except ConnectionClosed:
            pass
        finally:
            if self.pending is not None and not self.pending[1].done():
                self.pending[1].set_exception(ConnectionError("connection closed"))

    async def call(self, action, payload, timeout):
        """The CALLRESULT payload; raises CallError, TimeoutError or ConnectionError (all counted)."""
        self.seq += 1
        mid = str(self.seq)
        future = asyncio.get_running_loop().create_future()
        self.pending = (mid, future)
        started = time.perf_counter()
        try:
            await self.ws.send(f'[2,"{mid}","{action}",{json.dumps(payload, separators=(",", ":"))}]')
            result = await asyncio.wait_for(future, timeout)
        except CallError as error:  # an answer too: counted as a CALL, with its latency
            key = (action, error.code)
            self.stats.call_errors[key] += 1
            self.stats.error_samples.setdefault(key, error.description)
            self.answered(action, time.perf_counter() - started)
            raise
        except (asyncio.TimeoutError, TimeoutError):
            self.stats.timeouts[action] += 1
            raise
        except Exception as error:
            self.stats.dropped[action] += 1
            raise ConnectionError(describe(error)) from error
        finally:
            self.pending = None
        self.answered(action, time.perf_counter() - started)
        return result

    def answered(self, action, elapsed):
        self.stats.latencies.append(elapsed)
        self.stats.by_action.setdefault(action, []).append(elapsed)
        self.stats.calls += 1

    async def status(self, status, timeout):
        await self.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": status}, timeout)

    async def close(self):
        if self.ws is not None:
            try:
                await self.ws.close()
            except Exception:
                pass
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)

    async def session(self, id_tag, args, authorize):
        """One session from Authorize (walk-up) or Preparing (requested) to the Heartbeat after it."""
        t, stats = args.timeout, self.stats
        record = {"pile": self.cp_id, "id_tag": id_tag}
        try:
            if authorize:
                answer = await self.call("Authorize", {"idTag": id_tag}, t)
                status = answer.get("idTagInfo", {}).get("status")
                stats.authorize_status[status] += 1
                if status != "Accepted":
                    stats.outcomes[f"Authorize {status}: not started"] += 1
                    await self.call("Heartbeat", {}, t)
                    return record
            await self.status("Preparing", t)
            meter_start = self.register_wh
            try:
                answer = await self.call("StartTransaction", {"connectorId": 1, "idTag": id_tag, "meterStart": meter_start,
                                                              "timestamp": iso_now()}, t)
            except Exception:
                stats.outcomes["StartTransaction failed (CALLERROR, timeout or closed): not retried"] += 1
                await self.status("Available", t)
                await self.call("Heartbeat", {}, t)
                return record
            tx = answer.get("transactionId")
            status = answer.get("idTagInfo", {}).get("status")
            stats.start_status[status] += 1
            record.update(transaction=tx, status=status, meter_start=meter_start, stop_sent=False, stop_answered=False)
            stats.sessions.append(record)
            self.remote_stop = None
            if status != "Accepted":
                stats.outcomes[f"StartTransaction {status}: stopped at once (DeAuthorized)"] += 1
                record.update(meter_stop=meter_start, stop_sent=True)
                await self.call("StopTransaction", {"transactionId": tx, "meterStop": meter_start, "timestamp": iso_now(),
                                                    "reason": "DeAuthorized"}, t)
                record["stop_answered"] = True
                await self.status("Finishing", t)
                await self.status("Available", t)
                await self.call("Heartbeat", {}, t)
                return record
            await self.status("Charging", t)
            self.running = tx
            reason = "Local"
            for _ in range(args.meter_values):
                await asyncio.sleep(args.meter_interval)  # the car charges; readings are this far apart at the server too
                if self.remote_stop == tx:
                    reason = "Remote"
                    break
                self.register_wh += args.wh_per_reading
                try:
                    await self.call("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [{
                        "timestamp": iso_now(), "sampledValue": [{"value": str(self.register_wh), "measurand": MEASURAND,
                                                                  "unit": "Wh", "context": "Sample.Periodic"}]}]}, t)
                except (CallError, asyncio.TimeoutError, TimeoutError):
                    pass  # counted; the next reading carries the register anyway
            if self.remote_stop == tx:
                reason = "Remote"
            self.running = None
            record.update(meter_stop=self.register_wh, stop_sent=True, reason=reason)
            try:
                await self.call("StopTransaction", {"transactionId": tx, "meterStop": self.register_wh, "timestamp": iso_now(),
                                                    "reason": reason}, t)
                record["stop_answered"] = True
                stats.outcomes["charged and stopped" + (" (RemoteStop from the server)" if reason == "Remote" else "")] += 1
            except (CallError, asyncio.TimeoutError, TimeoutError):
                stats.outcomes["StopTransaction failed (CALLERROR or timeout): not retried"] += 1
            await self.status("Finishing", t)
            await self.status("Available", t)
            await self.call("Heartbeat", {}, t)
        except (CallError, asyncio.TimeoutError, TimeoutError, ConnectionError):
            stats.outcomes["session cut short by a failed CALL or a closed connection"] += 1
        return record


class HttpPool:
    """A few keep-alive HTTP connections shared by the simulated drivers."""

    def __init__(self, base, size):
        self.base, self.free = base, asyncio.Queue()
        for _ in range(size):
            self.free.put_nowait(None)

    async def post(self, path, form):
        """(answer, seconds of the exchange itself: the wait for a free connection is not in it)"""
        client = await self.free.get()
        reused = client is not None
        if client is None:
            client = Http(self.base)
        started = time.perf_counter()
        try:
            try:
                answer = await client.post(path, form)
            except (RuntimeError, ConnectionError, asyncio.IncompleteReadError) as error:
                # A kept-alive connection the server closed meanwhile (its idle timeout) answers nothing:
                # the request never reached it, so it goes again on a new connection.
                closed = isinstance(error, (ConnectionError, asyncio.IncompleteReadError)) or "b'' b''" in str(error)
                if not (reused and closed):
                    raise
                client.writer.close()
                client = Http(self.base)
                started = time.perf_counter()
                answer = await client.post(path, form)
            return answer, time.perf_counter() - started
        except Exception:
            if client.writer is not None:
                client.writer.close()
            client = None
            raise
        finally:
            self.free.put_nowait(client)

    async def close(self):
        while not self.free.empty():
            client = self.free.get_nowait()
            if client is not None and client.writer is not None:
                client.writer.close()


def card_of(cp_id):
    """The walk-up RFID card of the driver at charger cp_id (both sides)."""
    return f"C{cp_id}"


async def day_drivers(args):
    """chargepile: one driver and one RFID card per charger (see scripts/ocpp-bench's header)."""
    import psycopg
    password = os.environ["OCPP_BENCH_DRIVER_PASSWORD"]
    ids = [args.first_id + i for i in range(args.chargers)]
    names = [f"bench{i}" for i in ids]
    http = Http(args.http)
    started = time.perf_counter()
    # One registration through the API: the app's own bcrypt hash and defaults for the driver row.
    answer = await http.post("/u/register", {"username": names[0], "password": password,
                                             "battery_capacity": str(args.battery_kwh)})
    if answer.get("code") != 200:
        sys.exit(f"/u/register {names[0]}: {answer}")
    # The others: the columns AccountStore.createDriver writes (username, password_hash,
    # battery_capacity_kwh), in one statement; the triggers give each its own idTag as for a registration.
    async with await psycopg.AsyncConnection.connect(os.environ["OCPP_BENCH_DATABASE_URL"], autocommit=True) as db:
        await db.execute("""
            INSERT INTO drivers (username, password_hash, battery_capacity_kwh)
            SELECT u, (SELECT password_hash FROM drivers WHERE username = %s), %s FROM unnest(%s::text[]) AS u
            """, (names[0], args.battery_kwh, names[1:]))
        rows = await (await db.execute("SELECT username, id_tag FROM drivers WHERE username = ANY(%s)", (names,))).fetchall()
    own_tags = dict(rows)
    registered = time.perf_counter()
    # The cards through the admin API, as an operator provisions them.
    answer = await http.post("/a/login", {"username": os.environ.get("CHARGEPILE_ADMIN_USER", "admin"),
                                          "password": os.environ["CHARGEPILE_ADMIN_PASSWORD"]})
    token = answer.get("token")
    if not token:
        sys.exit(f"admin login failed: {answer}")
    pool = HttpPool(args.http, 8)
    failures = Counter()

    async def card(i):
        reply, _ = await pool.post("/admin/idtags", {"token": token, "id_tag": card_of(ids[i]), "username": names[i]})
        if reply.get("code") != 200:
            failures[reply.get("msg")] += 1

    await bounded(list(range(len(ids))), 8, card)
    await pool.close()
    http.writer.close()
    if failures:
        sys.exit(f"/admin/idtags failed: {dict(failures)}")
    drivers = [{"pile": str(i), "username": n, "own_id_tag": own_tags[n], "card": card_of(i)} for i, n in zip(ids, names)]
    fd = os.open(args.json, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(drivers, f)
    say(f"  {len(drivers)} drivers ({registered - started:.1f} s: one /u/register, {len(drivers) - 1} rows copied with its"
        f" password hash) and {len(drivers)} cards (POST /admin/idtags, {time.perf_counter() - registered:.1f} s)")


async def day(args):
    password = os.environ.get("OCPP_BENCH_PILE_PASSWORD") if args.auth else None
    if args.auth and not password:
        sys.exit("OCPP_BENCH_PILE_PASSWORD is not set")
    cpu = CpuMeter(args.server_pid, args.pg_data)
    stats = DayStats()
    ids = [str(args.first_id + i) for i in range(args.chargers)]
    chargers = [DayCharger(i, card_of(i), args.register_start, stats) for i in ids]
    out = {"name": args.name, "chargers": args.chargers, "mode": args.mode, "sessions_per_charger": args.sessions,
           "meter_values": args.meter_values, "meter_interval": args.meter_interval, "wh_per_reading": args.wh_per_reading,
           "station_size": args.station_size}
    say(f"== {args.name}: charging day, {args.chargers} chargers on {args.url}…, {args.mode},"
        f" {args.sessions} session(s) each of {args.meter_values} MeterValues {args.meter_interval:g} s apart")

    # Connect + boot (+ Available), at most --concurrency at a time.
    boot_failures = Counter()
    cpu_before, client_before, started = cpu.sample(), self_cpu(), time.perf_counter()

    async def boot(charger):
        try:
            await charger.connect(args.url, password, args.timeout)
            answer = await charger.call("BootNotification", json.loads(BOOT), args.timeout)
            if answer.get("status") != "Accepted":
                boot_failures[f"Boot {answer.get('status')}"] += 1
            await charger.status("Available", args.timeout)
        except Exception as error:
            boot_failures[describe(error)] += 1

    await bounded(chargers, args.concurrency, boot)
    seconds, cpu_after = time.perf_counter() - started, cpu.sample()
    boot_stats, stats = stats, DayStats()  # the sessions' own counts from here on
    for charger in chargers:
        charger.stats = stats
    booted = [c for c in chargers if c.ws is not None and c.reader is not None and not c.reader.done()]
    out["boot"] = {"seconds": seconds, "booted": len(booted), "failures": dict(boot_failures), "calls": boot_stats.calls,
                   "call_errors": {f"{a} {c}": n for (a, c), n in boot_stats.call_errors.items()},
                   "p99_ms": percentile(boot_stats.latencies, 99) * 1000,
                   "server_cpu_ms_per_charger": 1000 * (cpu_after["server"] - cpu_before["server"]) / max(1, len(booted)),
                   "postgres_cpu_ms_per_charger": 1000 * (cpu_after["postgres"] - cpu_before["postgres"]) / max(1, len(booted))}
    say(f"  connect + Boot + Available: {len(booted)} of {len(chargers)} in {seconds:.1f} s"
        + (f", failures {dict(boot_failures)}" if boot_failures else ""))

    # Requested mode: the drivers' side.
    drivers, http, driver_done = [], None, {}
    if args.mode == "requested":
        if args.peer_api:
            http = HttpPool(args.peer_api, args.http_connections)
            drivers = [{"pile": c.cp_id, "id_tag": c.card} for c in booted]

            async def submit(driver):
                reply, seconds = await http.post("/bench/remote-start", {"cp": driver["pile"], "id_tag": driver["id_tag"]})
                return reply.get("status") == "Accepted", reply.get("status"), seconds
        else:
            with open(args.drivers) as f:
                listed = [d for d in json.load(f) if d["pile"] in {c.cp_id for c in booted}]
            http = HttpPool(args.http, args.http_connections)
            driver_password = os.environ["OCPP_BENCH_DRIVER_PASSWORD"]
            login_started = time.perf_counter()

            async def login(driver):
                try:
                    reply, _ = await http.post("/u/login", {"username": driver["username"], "password": driver_password})
                except Exception as error:
                    reply = {"msg": describe(error)}
                if reply.get("token"):
                    drivers.append({**driver, "token": reply["token"], "id_tag": driver["own_id_tag"]})
                else:
                    stats.http_failures[f"/u/login: {reply.get('msg')}"] += 1

            await bounded(listed, min(8, args.http_connections), login)  # the server's bcrypt queue takes 16
            say(f"  {len(drivers)} drivers logged in ({time.perf_counter() - login_started:.1f} s, before the measurement)")

            async def submit(driver):
                reply, seconds = await http.post("/user/charge/request", {"token": driver["token"], "mode": args.request_mode,
                                                                          "request_quantity": str(args.request_kwh)})
                return reply.get("code") == 200, reply.get("msg"), seconds
        driver_done = {d["id_tag"]: asyncio.Event() for d in drivers}
        quiet = await wait_quiet(cpu, "the logins")
        say(f"  server quiet after {quiet:.0f} s")

    everyone_done = asyncio.Event()

    async def walk_up(charger):
        await asyncio.sleep(random.uniform(0, args.ramp))  # spread the chargers' starts over --ramp
        for _ in range(args.sessions):
            if charger.reader.done():
                stats.outcomes["connection closed: sessions not run"] += 1
                return
            await charger.session(charger.card, args, authorize=True)

    async def remote_started(charger):
        while True:
            waiter = asyncio.ensure_future(charger.remote_starts.get())
            done_waiter = asyncio.ensure_future(everyone_done.wait())
            await asyncio.wait({waiter, done_waiter}, return_when=asyncio.FIRST_COMPLETED)
            done_waiter.cancel()
            if not waiter.done():
                waiter.cancel()
                return
            id_tag = waiter.result()
            if charger.reader.done():
                return
            await charger.session(id_tag, args, authorize=False)
            if id_tag in driver_done:
                driver_done[id_tag].set()
            else:
                stats.outcomes["RemoteStart for an idTag no bench driver has"] += 1

    async def driver_day(driver):
        await asyncio.sleep(random.uniform(0, args.ramp))
        done = driver_done[driver["id_tag"]]
        for _ in range(args.sessions):
            done.clear()
            try:
                ok, why, seconds = await submit(driver)
                stats.http.append(("request", seconds, ok))
            except Exception as error:
                ok, why = False, describe(error)
            if not ok:
                stats.http_failures[f"request refused: {why}"] += 1
                stats.outcomes["driver's request refused: no session"] += 1
                continue
            try:
                await asyncio.wait_for(done.wait(), args.session_timeout)
            except (asyncio.TimeoutError, TimeoutError):
                stats.outcomes[f"requested, no session within {args.session_timeout:g} s"] += 1

    cpu_before, client_before, started = cpu.sample(), self_cpu(), time.perf_counter()
    if args.mode == "walkup":
        await asyncio.gather(*(walk_up(c) for c in booted))
    else:
        charger_tasks = [asyncio.ensure_future(remote_started(c)) for c in booted]
        await asyncio.gather(*(driver_day(d) for d in drivers))
        everyone_done.set()
        await asyncio.gather(*charger_tasks)
    seconds, cpu_after, client_cpu = time.perf_counter() - started, cpu.sample(), self_cpu() - client_before
    server_s = cpu_after["server"] - cpu_before["server"]
    pg_s = cpu_after["postgres"] - cpu_before["postgres"]
    calls = stats.calls
    quiet = await wait_quiet(cpu, "the sessions")
    cpu_quiet = cpu.sample()

    def per_1000(value):
        return 1e6 * value / max(1, calls)

    ms = lambda values, p: percentile(values, p) * 1000  # noqa: E731
    sessions_planned = len(booted) * args.sessions if args.mode == "walkup" else len(drivers) * args.sessions
    out["day"] = {
        "seconds": seconds, "ideal_seconds": args.sessions * args.meter_values * args.meter_interval,
        "calls": calls, "rate": calls / seconds,
        "p50_ms": ms(stats.latencies, 50), "p99_ms": ms(stats.latencies, 99),
        "max_ms": max(stats.latencies) * 1000 if stats.latencies else float("nan"),
        "by_action": {a: {"n": len(v), "p50_ms": ms(v, 50), "p99_ms": ms(v, 99), "max_ms": max(v) * 1000}
                      for a, v in sorted(stats.by_action.items())},
        "server_cpu_s": server_s, "postgres_cpu_s": pg_s,
        "cpu_ms_per_1000": per_1000(server_s + pg_s), "server_cpu_ms_per_1000": per_1000(server_s),
        "postgres_cpu_ms_per_1000": per_1000(pg_s), "client_cpu_ms_per_1000": per_1000(client_cpu),
        "tail_quiet_s": quiet, "tail_cpu_ms": 1000 * ((cpu_quiet["server"] - cpu_after["server"])
                                                      + (cpu_quiet["postgres"] - cpu_after["postgres"])),
        "call_errors": {f"{a} {c}": n for (a, c), n in sorted(stats.call_errors.items())},
        "error_samples": {f"{a} {c}": d for (a, c), d in sorted(stats.error_samples.items())},
        "timeouts": dict(stats.timeouts), "dropped": dict(stats.dropped), "late_answers": stats.late_answers,
        "server_calls": dict(stats.server_calls),
        "sessions_planned": sessions_planned, "authorize_status": dict(stats.authorize_status),
        "start_status": dict(stats.start_status), "accepted": stats.start_status.get("Accepted", 0),
        "outcomes": dict(stats.outcomes),
        "still_connected": sum(1 for c in booted if not c.reader.done()),
    }
    if stats.http:
        times = [s for _, s, _ in stats.http]
        out["day"]["driver_requests"] = {"n": len(times), "ok": sum(1 for *_, ok in stats.http if ok),
                                         "p50_ms": ms(times, 50), "p99_ms": ms(times, 99), "failures": dict(stats.http_failures)}
    d = out["day"]
    say(f"  sessions: {calls} CALLs answered (CALLRESULT or CALLERROR) in {seconds:.1f} s (ideal {d['ideal_seconds']:.0f} s) = {d['rate']:.0f}/s;"
        f" p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms, max {d['max_ms']:.0f} ms")
    say(f"  CPU {1000 * server_s:.0f} ms server + {1000 * pg_s:.0f} ms PostgreSQL = {d['cpu_ms_per_1000']:.0f} ms per 1,000 CALLs"
        f" (server alone {d['server_cpu_ms_per_1000']:.0f}; load generator {d['client_cpu_ms_per_1000']:.0f});"
        f" then {d['tail_cpu_ms']:.0f} ms more until quiet ({quiet:.0f} s)")
    say(f"  StartTransaction: {dict(stats.start_status)} of {sessions_planned} planned; outcomes {dict(stats.outcomes)}")
    if stats.call_errors or stats.timeouts or stats.dropped:
        say(f"  CALLERRORs {d['call_errors']}; timeouts {dict(stats.timeouts)}; closed while waiting {dict(stats.dropped)}")
        for key, text in d["error_samples"].items():
            say(f"    {key}: {text[:160]}")
    if stats.server_calls:
        say(f"  CALLs from the server: {dict(stats.server_calls)}")
    if http is not None:
        await http.close()

    if args.check_db:
        out["db"] = await check_bills(args, stats.sessions, [c.cp_id for c in chargers])
    out["sessions"] = stats.sessions
    await asyncio.gather(*(c.close() for c in chargers))
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)


async def check_bills(args, sessions, piles):
    """chargepile's tables after the day: every transaction of the bench's piles and every bill, against the meters."""
    import psycopg
    pile_ids = [int(p) for p in piles]
    async with await psycopg.AsyncConnection.connect(os.environ["OCPP_BENCH_DATABASE_URL"], autocommit=True) as db:
        transactions = await (await db.execute("""
            SELECT id, pile_id, station_id, request_id, meter_start_wh, meter_stop_wh, stopped_at IS NOT NULL AS stopped,
                   stop_reason, remote_stop_at IS NOT NULL AS remote_stop
            FROM ocpp_transactions WHERE pile_id = ANY(%s) ORDER BY id""", (pile_ids,))).fetchall()
        bills = await (await db.execute("""
            SELECT id, station_id, request_id, pile_id, energy_kwh, ended_by FROM bills WHERE pile_id = ANY(%s) ORDER BY id""",
                                        (pile_ids,))).fetchall()
        refusals = await (await db.execute("""
            SELECT reason, source, count(*) FROM meter_refusals WHERE pile_id = ANY(%s) GROUP BY 1, 2 ORDER BY 3 DESC""",
                                           (pile_ids,))).fetchall()
    keys = ("id", "pile", "station", "request", "meter_start", "meter_stop", "stopped", "stop_reason", "remote_stop")
    transactions = [dict(zip(keys, t)) for t in transactions]
    by_id = {t["id"]: t for t in transactions}
    by_request = {}
    for t in transactions:
        if t["request"] is not None:
            by_request.setdefault((t["station"], t["request"], t["pile"]), []).append(t)
    sent = {s["transaction"]: s for s in sessions if s.get("transaction") is not None}
    accepted = [s for s in sessions if s.get("status") == "Accepted"]
    off_wh, examples, per_kind = Counter(), [], Counter()

    def example(kind, text):  # two of each kind
        per_kind[kind] += 1
        if per_kind[kind] <= 2:
            examples.append(text)
    open_rows = [t for t in transactions if not t["stopped"]]
    result = {"transactions": len(transactions), "open": len(open_rows),
              # the charger sent StopTransaction and got its CALLRESULT, yet the row is open
              "open_after_stop_answered": sum(1 for t in open_rows if sent.get(t["id"], {}).get("stop_answered")),
              # its StopTransaction got a CALLERROR or no answer (the bench's chargers do not retry)
              "open_after_stop_failed": sum(1 for t in open_rows if sent.get(t["id"], {}).get("stop_sent")
                                            and not sent[t["id"]].get("stop_answered")),
              # a row whose StartTransaction was answered with a CALLERROR: the charger never learnt its id
              "open_unknown_to_charger": sum(1 for t in open_rows if t["id"] not in sent),
              "refused": sum(1 for t in transactions if t["stop_reason"] == "Refused"),
              "remote_stopped": sum(1 for t in transactions if t["remote_stop"]),
              "requests_with_several_transactions": sum(1 for ts in by_request.values() if len(ts) > 1),
              "bills": len(bills), "bills_exact": 0, "bills_exact_one_session": 0, "bills_off": 0, "bills_without_transaction": 0,
              "bills_of_open_transaction": 0, "bills_of_several_transactions": 0, "bills_vs_charger_off": 0,
              "meter_refusals": {f"{reason} ({source})": n for reason, source, n in refusals}}
    billed = Counter()
    for bill_id, station_id, request_id, pile_id, energy_kwh, ended_by in bills:
        key = (station_id, request_id, pile_id)
        billed[key] += 1
        linked = by_request.get(key, [])
        if not linked:
            result["bills_without_transaction"] += 1
            continue
        if len(linked) > 1:
            result["bills_of_several_transactions"] += 1
        if any(not t["stopped"] or t["meter_stop"] is None for t in linked):
            result["bills_of_open_transaction"] += 1
            example("open", f"bill {bill_id} {energy_kwh * 1000:g} Wh ({ended_by}) of request {request_id} at pile {pile_id},"
                            " transactions " + ", ".join(f"{t['id']} {t['meter_start']}→{t['meter_stop']} {t['stop_reason'] or 'open'}"
                                                         for t in linked))
            continue
        metered = sum(t["meter_stop"] - t["meter_start"] for t in linked)  # each transaction's meterStop − meterStart
        billed_wh = energy_kwh * 1000
        if abs(billed_wh - metered) >= 1:
            result["bills_off"] += 1
            bucket = f"{int(round(billed_wh - metered)):+d} Wh" + (f" ({len(linked)} transactions)" if len(linked) > 1 else "")
            off_wh[bucket] += 1
            example(bucket, f"bill {bill_id} {billed_wh:g} Wh ({ended_by}) of request {request_id} at pile {pile_id} against"
                            f" {metered} Wh metered: transactions "
                            + ", ".join(f"{t['id']} {t['meter_start']}→{t['meter_stop']} {t['stop_reason']}" for t in linked))
        else:
            result["bills_exact"] += 1
            if len(linked) == 1:
                result["bills_exact_one_session"] += 1
        # and against what the chargers sent (a transaction row that lost or changed a meter value shows here)
        charged = [sent.get(t["id"]) for t in linked]
        if all(c and c.get("meter_stop") is not None for c in charged) and \
                abs(billed_wh - sum(c["meter_stop"] - c["meter_start"] for c in charged)) >= 1:
            result["bills_vs_charger_off"] += 1
    result["bills_off_wh"] = dict(off_wh)
    result["transaction_meters_differ"] = sum(
        1 for t in transactions if t["id"] in sent and t["stopped"] and t["stop_reason"] != "Refused"
        and (t["meter_start"] != sent[t["id"]]["meter_start"] or t["meter_stop"] != sent[t["id"]].get("meter_stop")))

    def bill_of(s):
        t = by_id.get(s["transaction"])
        return t is not None and billed.get((t["station"], t["request"], t["pile"]), 0) > 0

    result["accepted_billed"] = sum(1 for s in accepted if bill_of(s))
    result["accepted_without_bill"] = sum(1 for s in accepted if s["transaction"] in by_id and not bill_of(s))
    result["accepted_unknown_transaction"] = sum(1 for s in accepted if s["transaction"] not in by_id)
    result["requests_billed_twice"] = sum(1 for n in billed.values() if n > 1)
    result["examples"] = examples
    r = result
    say(f"  database: {r['transactions']} transactions; left open {r['open']}: {r['open_after_stop_answered']} after a"
        f" StopTransaction answered CALLRESULT, {r['open_after_stop_failed']} after one answered CALLERROR or not at all,"
        f" {r['open_unknown_to_charger']} whose StartTransaction got a CALLERROR (the charger never learnt the id);"
        f" {r['refused']} refused; {r['remote_stopped']} asked to stop by the station;"
        f" {r['requests_with_several_transactions']} requests with several transactions")
    say(f"  bills: {r['bills']}: {r['bills_exact']} exact to the Wh ({r['bills_exact_one_session']} of one session), {r['bills_off']} off {r['bills_off_wh']},"
        f" {r['bills_of_open_transaction']} of a transaction still open, {r['bills_of_several_transactions']} of several"
        f" transactions, {r['bills_without_transaction']} without one; accepted sessions billed {r['accepted_billed']},"
        f" without a bill {r['accepted_without_bill']}; requests billed twice {r['requests_billed_twice']};"
        f" meter readings refused {r['meter_refusals'] or 'none'}")
    for line in examples:
        say(f"    {line}")
    return result


def day_table(args):
    results = []
    for path in args.files:
        with open(path) as f:
            results.append(json.load(f))
    peer, ours = results[0], results[-1]
    nan = float("nan")

    def db(r, key, fmt="{}"):
        return fmt.format(r["db"][key]) if "db" in r else "—"

    rows = [
        ("chargers booted", lambda r: f"{r['boot']['booted']} of {r['chargers']}", None),
        ("sessions planned", lambda r: f"{r['day']['sessions_planned']}", None),
        ("StartTransaction Accepted", lambda r: f"{r['day']['accepted']}", None),
        ("  other answers", lambda r: ", ".join(f"{k} {v}" for k, v in r["day"]["start_status"].items() if k != "Accepted") or "none", None),
        ("CALLs answered (CALLRESULT or CALLERROR)", lambda r: f"{r['day']['calls']}", None),
        ("duration s (ideal, no latency)", lambda r: f"{r['day']['seconds']:.1f} ({r['day']['ideal_seconds']:.0f})", None),
        ("CALLs/s", lambda r: f"{r['day']['rate']:.0f}", lambda r: r["day"]["rate"]),
        ("CALL p50 (ms)", lambda r: f"{r['day']['p50_ms']:.1f}", lambda r: r["day"]["p50_ms"]),
        ("CALL p99 (ms)", lambda r: f"{r['day']['p99_ms']:.1f}", lambda r: r["day"]["p99_ms"]),
        ("CALL max (ms)", lambda r: f"{r['day']['max_ms']:.0f}", lambda r: r["day"]["max_ms"]),
    ]
    for action in ("StartTransaction", "MeterValues", "StopTransaction"):
        rows.append((f"  {action} p99 (ms)", lambda r, a=action: f"{r['day']['by_action'].get(a, {}).get('p99_ms', nan):.1f}",
                     lambda r, a=action: r["day"]["by_action"].get(a, {}).get("p99_ms", nan)))
    rows += [
        ("CPU ms per 1,000 CALLs, server + PostgreSQL", lambda r: f"{r['day']['cpu_ms_per_1000']:.0f}",
         lambda r: r["day"]["cpu_ms_per_1000"]),
        ("CPU ms per 1,000 CALLs, server process alone", lambda r: f"{r['day']['server_cpu_ms_per_1000']:.0f}",
         lambda r: r["day"]["server_cpu_ms_per_1000"]),
        ("  of which PostgreSQL", lambda r: f"{r['day']['postgres_cpu_ms_per_1000']:.0f}", None),
        ("CPU after the last answer until quiet (ms)", lambda r: f"{r['day']['tail_cpu_ms']:.0f}", None),
        ("load generator CPU ms per 1,000 CALLs", lambda r: f"{r['day']['client_cpu_ms_per_1000']:.0f}", None),
        ("CALLERRORs", lambda r: f"{sum(r['day']['call_errors'].values())}", None),
        ("CALL timeouts / closed while waiting", lambda r: f"{sum(r['day']['timeouts'].values())} / {sum(r['day']['dropped'].values())}", None),
        ("transactions left open", lambda r: db(r, "open"), None),
        ("  after StopTransaction answered / failed", lambda r: f"{db(r, 'open_after_stop_answered')} / {db(r, 'open_after_stop_failed')}", None),
        ("  StartTransaction CALLERROR, row written", lambda r: db(r, "open_unknown_to_charger"), None),
        ("bills", lambda r: db(r, "bills"), None),
        ("bills exact to the Wh (meterStop − meterStart)", lambda r: db(r, "bills_exact"), None),
        ("  of them bills of one session", lambda r: db(r, "bills_exact_one_session"), None),
        ("bills ≥ 1 Wh off (by how much: below)", lambda r: db(r, "bills_off"), None),
        ("  of a transaction still open / of several", lambda r: f"{db(r, 'bills_of_open_transaction')} / {db(r, 'bills_of_several_transactions')}", None),
        ("accepted sessions without a bill", lambda r: db(r, "accepted_without_bill"), None),
        ("requests with several transactions", lambda r: db(r, "requests_with_several_transactions"), None),
        ("meter readings refused", lambda r: (", ".join(f"{k} {v}" for k, v in r["db"]["meter_refusals"].items()) or "0") if "db" in r else "—", None),
    ]
    if any("driver_requests" in r["day"] for r in results):
        rows.insert(4, ("driver requests ok / p99 ms", lambda r: (f"{r['day']['driver_requests']['ok']} of {r['day']['driver_requests']['n']}"
                                                                  f" / {r['day']['driver_requests']['p99_ms']:.0f}")
                        if "driver_requests" in r["day"] else "—", None))
    comparison_table(rows, results, ours, peer)
    o, p = ours["day"], peer["day"]

    def goal(text, met, detail):
        say(f"goal: {text}: {'met' if met else 'NOT met'} ({detail})")

    ratio = o["cpu_ms_per_1000"] / p["cpu_ms_per_1000"]
    goal("CPU per 1,000 CALLs incl. PostgreSQL ≤ the peer's", ratio <= 1, f"ratio {ratio:.2f}")
    ratio = o["server_cpu_ms_per_1000"] / p["server_cpu_ms_per_1000"]
    goal("the server process alone ≤ 0.5 × the peer's", ratio <= 0.5, f"ratio {ratio:.2f}")
    ratio = o["p99_ms"] / p["p99_ms"]
    goal("CALL p99 ≤ 2 × the peer's", ratio <= 2, f"ratio {ratio:.2f}: {o['p99_ms']:.0f} against {p['p99_ms']:.0f} ms")
    d = ours.get("db", {})
    exact = d.get("bills_exact_one_session", 0)
    goal("every session accepted and billed exactly", o["accepted"] == o["sessions_planned"] and exact == o["sessions_planned"]
         and d.get("bills") == exact,
         f"{o['accepted']} accepted, {d.get('bills', 0)} bills, {exact} of one session each exact to the Wh,"
         f" of {o['sessions_planned']} sessions")
    errors = sum(o["call_errors"].values()) + sum(o["timeouts"].values())
    goal("zero CALLERRORs (and no timeout)", errors == 0, ", ".join(f"{k} × {v}" for k, v in o["call_errors"].items())
         + (f"; timeouts {o['timeouts']}" if o["timeouts"] else "") or "none")
    goal("no transaction left open", ours.get("db", {}).get("open", 1) == 0, f"{ours.get('db', {}).get('open', '?')} open")
    for r in results:
        problems = []
        d = r["day"]
        if r["boot"]["failures"]:
            problems.append(f"boot: {r['boot']['failures']}")
        if d["still_connected"] != r["boot"]["booted"]:
            problems.append(f"{r['boot']['booted'] - d['still_connected']} connections closed")
        if d["late_answers"]:
            problems.append(f"{d['late_answers']} late answers")
        if d["server_calls"]:
            problems.append(f"CALLs from the server {d['server_calls']}")
        say(f"{r['name']}: outcomes {d['outcomes']}" + ("; " + "; ".join(problems) if problems else ""))
        if r.get("db", {}).get("bills_off"):
            say(f"{r['name']}: bills off, bill − meters: " + ", ".join(f"{k} × {v}" for k, v in r["db"]["bills_off_wh"].items()))


def day_scale(args):
    """The same side at two station sizes: CPU per 1,000 CALLs, the second against the first."""
    with open(args.small) as f:
        small = json.load(f)
    with open(args.large) as f:
        large = json.load(f)
    for key, label in (("cpu_ms_per_1000", "server + PostgreSQL"), ("server_cpu_ms_per_1000", "server alone")):
        a, b = small["day"][key], large["day"][key]
        say(f"CPU per 1,000 CALLs, {label}: stations of {small.get('station_size')} {a:.0f} ms, of {large.get('station_size')}"
            f" {b:.0f} ms: ratio {b / a:.2f}")
    ratio = large["day"]["cpu_ms_per_1000"] / small["day"]["cpu_ms_per_1000"]
    say(f"goal: stations of {large.get('station_size')} within 1.25 × stations of {small.get('station_size')}:"
        f" {'met' if ratio <= 1.25 else 'NOT met'} (ratio {ratio:.2f})")


# --- peer server -----------------------------------------------------------------------------------

async def peer_server(args):
    from ocpp_csms import CentralSystem
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if not args.bench_api:
        async with CentralSystem(host="127.0.0.1", port=args.port) as central_system:
            print(f"ocpp-csms listening on 127.0.0.1:{central_system.port}", flush=True)
            await stop.wait()
        return
    # --bench-api (the charging day's requested mode): ocpp-csms has no driver API, so the driver's
    # request is ours: POST /bench/remote-start (cp, id_tag) sends RemoteStartTransaction to that charge
    # point through ocpp-csms and answers its status. The charge points are served as ocpp-csms serves
    # them itself (async_handle_request on GET /{path}, no access log), in the same aiohttp application.
    from aiohttp import web
    central_system = CentralSystem(host="127.0.0.1", port=args.port)

    async def remote_start(request):
        form = await request.post()
        charge_point = central_system.charge_points.get(form.get("cp", ""))
        if charge_point is None:
            return web.json_response({"status": "UnknownChargePoint"})
        try:
            status = await charge_point.async_remote_start_transaction(form["id_tag"], 1)
        except Exception as error:
            status = f"{type(error).__name__}: {error}"
        return web.json_response({"status": status})

    app = web.Application()
    app.router.add_post("/bench/remote-start", remote_start)
    app.router.add_get("/{path:.*}", central_system.async_handle_request)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    print(f"ocpp-csms listening on 127.0.0.1:{args.port} (with /bench/remote-start)", flush=True)
    await stop.wait()
    await central_system.async_stop()
    await runner.cleanup()


def add_server_arguments(p):
    """The server a load runs against: its name in the results, its chargers' URL, its processes."""
    p.add_argument("--name", required=True)
    p.add_argument("--url", required=True, help="ws://host:port/path/ (the charger id is appended)")
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--pg-data", help="data directory of the server's PostgreSQL (its processes count as the server's)")


def main():
    global DEFLATE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("peer-server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bench-api", action="store_true", help="also POST /bench/remote-start (the charging day's requested mode)")
    p = sub.add_parser("day")
    add_server_arguments(p)
    p.add_argument("--chargers", type=int, default=1000)
    p.add_argument("--first-id", type=int, default=100001)
    p.add_argument("--concurrency", type=int, default=200, help="chargers connecting and booting at a time")
    p.add_argument("--sessions", type=int, default=2, help="sessions per charger (walk-up) or per driver (requested)")
    p.add_argument("--meter-values", type=int, default=10)
    p.add_argument("--meter-interval", type=float, default=1.0, help="seconds from one MeterValues' answer to the next")
    p.add_argument("--wh-per-reading", type=int, default=3, help="the register's step per MeterValues (3 Wh a second = 10.8 kW)")
    p.add_argument("--register-start", type=int, default=1_000_000, help="every charger's register (Wh) at the start")
    p.add_argument("--mode", choices=("walkup", "requested"), default="walkup")
    p.add_argument("--ramp", type=float, default=1.0, help="chargers (drivers) start at random within this many seconds")
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds a CALL waits for its answer")
    p.add_argument("--session-timeout", type=float, default=300.0, help="requested: seconds a driver waits for its session")
    p.add_argument("--station-size", type=int, help="recorded in the JSON (provisioning is the shell script's)")
    p.add_argument("--http", help="requested, chargepile: the API's base URL")
    p.add_argument("--drivers", help="requested, chargepile: the JSON of `day-drivers`")
    p.add_argument("--peer-api", help="requested, the peer: base URL of peer-server --bench-api")
    p.add_argument("--http-connections", type=int, default=16, help="requested: the drivers' keep-alive HTTP connections")
    p.add_argument("--request-mode", default="T", help="requested, chargepile: the request's mode (the piles' kind)")
    p.add_argument("--request-kwh", default="5", help="requested, chargepile: request_quantity (more than a session meters)")
    p.add_argument("--check-db", action="store_true", help="chargepile: check transactions and bills (OCPP_BENCH_DATABASE_URL)")
    p.add_argument("--auth", action="store_true", help="HTTP Basic with OCPP_BENCH_PILE_PASSWORD")
    p.add_argument("--deflate", action="store_true")
    p.add_argument("--json", required=True)
    p = sub.add_parser("day-drivers")
    p.add_argument("--http", required=True, help="chargepile's base URL")
    p.add_argument("--chargers", type=int, default=1000)
    p.add_argument("--first-id", type=int, default=100001)
    p.add_argument("--battery-kwh", default="100")
    p.add_argument("--json", required=True)
    p = sub.add_parser("day-table")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("day-scale")
    p.add_argument("small")
    p.add_argument("large")
    p = sub.add_parser("load")
    add_server_arguments(p)
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
    elif args.command == "day-table":
        day_table(args)
    elif args.command == "day-scale":
        day_scale(args)
    elif args.command == "day-drivers":
        asyncio.run(day_drivers(args))
    elif args.command == "day":
        DEFLATE = args.deflate
        random.seed(args.seed)
        asyncio.run(day(args))
    elif args.command == "peer-server":
        asyncio.run(peer_server(args))
    elif args.command == "load":
        DEFLATE = args.deflate
        asyncio.run(load(args))
    else:
        asyncio.run(route(args))


if __name__ == "__main__":
    main()
