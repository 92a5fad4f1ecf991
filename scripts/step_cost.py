"""PostgreSQL's CPU per statement of an engine step, replayed (scripts/step-cost runs it).

    step_cost.py LOG PORT DATADIR [ITERATIONS]

LOG is the statement log of a charging day (log_min_duration_statement = 0, parameters in full);
the database on PORT is that day's, stopped and started again without logging. From the log it
takes one StartTransaction step and one StopTransaction step from the middle of the day (the
transactions that take a station's advisory lock and write an ocpp_transactions row), prepares their
statements in one psql session and runs each step ITERATIONS times as BEGIN … ROLLBACK, first with
none of its statements, then with one more at a time. The backends' CPU comes from the postmaster's
reaped-children time in /proc, so it is the database's own work: parse, bind, plan, execute,
protocol; not the commit's WAL flush (rolled back) nor a deferred constraint.
"""
import collections
import os
import re
import subprocess
import sys
import time

ENTRY = re.compile(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC \[\d+\] )")
EXECUTE = re.compile(r"\S+ \S+ UTC \[(\d+)\] LOG:  duration: [\d.]+ ms  execute \S+: (.*)", re.S)
STATEMENT = re.compile(r"\S+ \S+ UTC \[(\d+)\] LOG:  duration: [\d.]+ ms  statement: (.*)", re.S)
DETAIL = re.compile(r"\S+ \S+ UTC \[(\d+)\] DETAIL:  parameters: (.*)", re.S)
KIND = re.compile(r"\S+ \S+ UTC \[(\d+)\] LOG:  duration: [\d.]+ ms  (\w+)")
PARAMETER = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


def statements(log):
    """Executed statements in log order: (backend pid, sql, parameter literals)."""
    found, last_kind = [], {}
    for entry in ENTRY.split(open(log, errors="replace").read()):
        detail = DETAIL.match(entry)
        if detail:
            # A bind's parameters are logged too; only an execute's belong to the statement found.
            if last_kind.get(detail.group(1)) == "execute":
                for statement in reversed(found):
                    if statement[0] == detail.group(1):
                        statement[2] = [m.group(2) for m in PARAMETER.finditer(detail.group(2))]
                        break
            continue
        kind = KIND.match(entry)
        if kind:
            last_kind[kind.group(1)] = kind.group(2)
        match = EXECUTE.match(entry) or STATEMENT.match(entry)
        if match:
            found.append([match.group(1), match.group(2).strip(), []])
    return found


def transactions(found):
    """Each backend's transactions, as lists of statements between BEGIN and COMMIT/ROLLBACK."""
    by_backend, open_ = collections.defaultdict(list), {}
    for pid, sql, parameters in found:
        if sql.startswith("BEGIN"):
            open_[pid] = []
        elif sql.startswith(("COMMIT", "ROLLBACK")):
            if open_.get(pid) is not None:
                by_backend[pid].append(open_[pid])
            open_[pid] = None
        elif open_.get(pid) is not None:
            open_[pid].append((sql, parameters))
    return [t for ts in by_backend.values() for t in ts]


def name(sql):
    if "pg_advisory_xact_lock" in sql:
        return "the station's lock"
    if sql.startswith("SELECT s.state_version"):
        return "the station's load"
    if sql.startswith("SELECT g.driver_id"):
        return "the card"
    if sql.startswith("INSERT INTO ocpp_transactions"):
        return "the transaction row (insert)"
    if sql.startswith("UPDATE ocpp_transactions"):
        return "the transaction row (close)"
    if "header AS (" in sql:
        return "the engine's write"
    return sql.split("\n")[0][:50]


def backend_cpu_ms(data_directory):
    postmaster = open(os.path.join(data_directory, "postmaster.pid")).readline().strip()
    fields = open(f"/proc/{postmaster}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) * 1000 / os.sysconf("SC_CLK_TCK")


def run(port, data_directory, step, count, iterations):
    """CPU ms of `iterations` runs of the step's first `count` statements, each run rolled back."""
    script = [f"PREPARE s{i} AS {sql};" for i, (sql, _) in enumerate(step)]
    body = ["BEGIN;"] + [f"EXECUTE s{i}" + (f"({', '.join(p)})" if p else "") + ";"
                         for i, (_, p) in enumerate(step[:count])] + ["ROLLBACK;"]
    script += body * iterations
    before = backend_cpu_ms(data_directory)
    subprocess.run(["psql", "-q", "-X", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "chargepile",
                    "-v", "ON_ERROR_STOP=1", "-o", "/dev/null"],
                   input="\n".join(script), text=True, check=True)
    # The backend's time reaches the postmaster once it has exited and been reaped.
    deadline, after = time.time() + 5, backend_cpu_ms(data_directory)
    while time.time() < deadline:
        time.sleep(0.2)
        now = backend_cpu_ms(data_directory)
        if now == after:
            break
        after = now
    return after - before


def main():
    log, port, data_directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    iterations = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    steps = [t for t in transactions(statements(log)) if any("pg_advisory_xact_lock" in sql for sql, _ in t)]
    for label, marker in (("StartTransaction", "INSERT INTO ocpp_transactions"), ("StopTransaction", "UPDATE ocpp_transactions")):
        candidates = [t for t in steps if any(sql.startswith(marker) for sql, _ in t)]
        if not candidates:
            sys.exit(f"step-cost: no {label} step in {log}")
        step = candidates[len(candidates) // 2]
        print(f"{label} step ({len(candidates)} in the day), backend CPU per step over {iterations} replays, best of two:")
        previous = min(run(port, data_directory, step, 0, iterations) for _ in range(2))
        print(f"  {'BEGIN … ROLLBACK':34s} {previous / iterations:6.3f} ms")
        for count in range(1, len(step) + 1):
            cumulative = min(run(port, data_directory, step, count, iterations) for _ in range(2))
            print(f"  {'+ ' + name(step[count - 1][0]):34s} {(cumulative - previous) / iterations:6.3f} ms")
            previous = cumulative
        print(f"  {'= the step':34s} {previous / iterations:6.3f} ms")


if __name__ == "__main__":
    main()
