#!/usr/bin/env python3
"""The admin console in a real browser (headless Chromium through Selenium).

Run it through scripts/console-test, which prepares the venv. It starts an embedded
PostgreSQL (`chargepile migrate`, then pg_ctl), two `chargepile serve` instances A and B on
that one database (manual station clock), five simulated piles on A, and then drives the
console served by A:

  1. wrong password, then the right one;  2. the five piles;  3. switch pile 1 on;
  4. a driver's request submitted through instance B appears in pile 1's queue, no reload;
  5. the manual clock advanced through B ends the session: a report row and its chart bar;
  6. the bill in the detail records;  7. pile 2 switched on through B shows on A's console;
  7a. a power limit set through B: the station's power line (limit, allocated, per pile share and meter);
  7b. a second station (`chargepile station add`, `pile add --station`): the all-stations overview, live,
      and the station picker;
  7c. OCPP pile 6 provisioned and simulated; `chargepile firmware update` shows in the firmware tab through Installed,
      and its local list (instance B keeps them) as not supported by the simulator;
  8. instance A stops and starts again: the console reconnects by itself and stays live;
  9. the token is revoked behind its back: the expiry message;  10. a phone-sized screen, log out.

Each step saves a screenshot (.build/console-screenshots/NN-step.png); every wait polls
with a deadline (WebDriverWait). The browser log must hold no errors (except, in step 8,
the failed connections to the stopped instance).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CHARGEPILE_BIN") or os.path.join(ROOT, ".build", "debug", "chargepile")
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS") or os.path.join(ROOT, ".build", "console-screenshots")
KEEP = os.environ.get("CONSOLE_TEST_KEEP") == "1"
ADMIN_PASSWORD = "console-admin-secret"
PILE_PASSWORD = "console-pile-secret"
START = "2025-01-01T08:00:00+08:00"
WAIT = 20  # seconds any one thing may take to show up
DOWNLOADS = tempfile.mkdtemp(prefix="chargepile-console-downloads-")

os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def say(text):
    print(f"==> {text}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, params=None, token=None):
    """One API call; returns the JSON envelope."""
    data = urllib.parse.urlencode(params or {}).encode() if method == "POST" else None
    url = base + path + ("?" + urllib.parse.urlencode(params) if method == "GET" and params else "")
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with opener.open(request, timeout=30) as response:
        return json.loads(response.read().decode())


def must(envelope, what):
    if envelope.get("code") != 200:
        raise AssertionError(f"{what}: {envelope}")
    return envelope


def poll(what, condition, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except Exception:  # not up yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what}")
        time.sleep(0.1)


def as_postgres(command):
    return (["runuser", "-u", "postgres", "--"] + command) if os.geteuid() == 0 else command


def find_pg(program):
    found = shutil.which(program)
    if found:
        return found
    for version in sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: int(v) if v.isdigit() else 0, reverse=True):
        candidate = f"/usr/lib/postgresql/{version}/bin/{program}"
        if os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit(f"{program} not found: apt-get install -y postgresql")


class Cluster:
    """An embedded PostgreSQL and chargepile processes, all stopped at the end."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="chargepile-console-")
        os.chmod(self.work, 0o755)  # the embedded PostgreSQL runs as `postgres` when we are root
        self.data = os.path.join(self.work, "data")
        self.processes = {}
        self.pg_data = None
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PORT")}
        self.env.update(CHARGEPILE_DATA_DIR=self.data, CHARGEPILE_ADMIN_USER="admin",
                        CHARGEPILE_ADMIN_PASSWORD=ADMIN_PASSWORD, CHARGEPILE_PILE_PASSWORD=PILE_PASSWORD, LOG_LEVEL="info")

    def start_database(self):
        migrate = subprocess.run([BIN, "migrate"], env=self.env, check=True, stdout=subprocess.PIPE, text=True)
        # Where chargepile keeps it (under CHARGEPILE_DATA_DIR, or elsewhere as root when that is out of postgres's reach).
        said = [line.split("data in ", 1)[1].split()[0] for line in migrate.stdout.splitlines()
                if line.startswith("embedded PostgreSQL: data in ")]
        self.pg_data = said[0] if said else os.path.join(self.data, "postgres")
        port = free_port()
        pg_ctl = find_pg("pg_ctl")
        subprocess.run(as_postgres([pg_ctl, "start", "-w", "-t", "60", "-D", self.pg_data, "-l",
                                    os.path.join(self.pg_data, "postgres.log"), "-o", f"-p {port}"]),
                       check=True, stdout=subprocess.DEVNULL)
        self.env["DATABASE_URL"] = f"host=127.0.0.1 port={port} user=postgres dbname=chargepile"

    def start(self, name, args):
        log = open(os.path.join(self.work, f"{name}.log"), "ab")
        self.processes[name] = subprocess.Popen([BIN] + args, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)
        return self.processes[name]

    def run(self, args, **env):
        """A chargepile command on the cluster's database (a password only through the environment)."""
        done = subprocess.run([BIN] + args, env={**self.env, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            raise AssertionError(f"chargepile {' '.join(args)} failed:\n{done.stdout}")
        say(done.stdout.strip())

    def serve(self, name, port, extra=()):
        process = self.start(name, ["serve", "--host", "127.0.0.1", "--port", str(port), *extra])
        base = f"http://127.0.0.1:{port}"

        def ready():
            if process.poll() is not None:
                raise SystemExit(f"{name} exited at start:\n{self.tail(name)}")
            with opener.open(base + "/readyz", timeout=2) as response:
                return response.status == 200
        poll(f"{name} ready", ready, timeout=120)
        return base

    def stop(self, name, sig=signal.SIGTERM, timeout=30):
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"{name} did not stop within {timeout} s of {sig.name}")

    def tail(self, name, lines=40):
        try:
            with open(os.path.join(self.work, f"{name}.log"), encoding="utf-8", errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except OSError:
            return ""

    def close(self, failed):
        for name in list(self.processes):
            try:
                self.stop(name, timeout=20)
            except AssertionError as error:
                print(error, file=sys.stderr)
        if self.pg_data and os.path.exists(os.path.join(self.pg_data, "postmaster.pid")):
            subprocess.run(as_postgres([find_pg("pg_ctl"), "stop", "-D", self.pg_data, "-m", "fast", "-w", "-t", "60"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if failed or KEEP:
            print(f"logs kept in {self.work}", file=sys.stderr)
            for name in ("A", "A2", "B", "sim", "sim-ocpp"):
                if os.path.exists(os.path.join(self.work, f"{name}.log")):
                    print(f"--- {name}.log (tail)\n{self.tail(name, 12 if name == 'sim' else 40)}", file=sys.stderr)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def make_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1366,900",
                     "--lang=zh-CN", "--no-proxy-server", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": DOWNLOADS, "download.prompt_for_download": False})
    driver_path = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(driver_path), options=options)


class Console:
    def __init__(self, browser):
        self.browser = browser
        # The page re-renders tables as changes arrive: an element read a moment ago may be gone.
        self.wait = WebDriverWait(browser, WAIT, poll_frequency=0.1,
                                  ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))
        self.step = 0
        self.errors = []

    def shot(self, name):
        self.step += 1
        os.makedirs(SHOTS, exist_ok=True)
        path = os.path.join(SHOTS, f"{self.step:02d}-{name}.png")
        self.browser.save_screenshot(path)
        say(f"screenshot {path}")
        return path

    def until(self, what, condition):
        try:
            return self.wait.until(lambda _: condition())
        except TimeoutException:
            self.shot("timeout")
            raise AssertionError(f"timed out waiting for: {what}")

    def text(self, css):
        return self.browser.find_element(By.CSS_SELECTOR, css).text

    def present(self, css):
        return self.browser.find_elements(By.CSS_SELECTOR, css)

    def click(self, css):
        element = self.wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, css)))
        element.click()
        return element

    def tab(self, name):
        self.click(f"#tab-button-{name}")
        self.until(f"tab {name} shown", lambda: self.browser.find_element(By.ID, f"tab-{name}").is_displayed())

    def pile_row(self, pile):
        return self.browser.find_element(By.CSS_SELECTOR, f"#piles-table tbody tr[data-pile='{pile}']")

    def pile_status(self, pile):
        rows = self.present(f"#piles-table tbody tr[data-pile='{pile}']")
        return rows[0].get_attribute("data-status") if rows else None

    def browser_errors(self):
        """SEVERE entries of the browser log since the last call."""
        return [entry for entry in self.browser.get_log("browser") if entry.get("level") == "SEVERE"]


def main():
    for path, hint in ((BIN, "swift build --product chargepile"),):
        if not os.access(path, os.X_OK):
            raise SystemExit(f"no chargepile binary at {path} ({hint})")
    cluster = Cluster()
    browser = None
    failed = True
    try:
        say(f"embedded PostgreSQL in {cluster.data}")
        cluster.start_database()
        port_a, port_b = free_port(), free_port()
        # Only A sets the manual clock; B (no --clock) leaves it as A put it.
        a = cluster.serve("A", port_a, ["--clock", "manual", "--clock-start", START])
        b = cluster.serve("B", port_b, ["--ocpp-local-list-sync"])
        say(f"instance A {a}, instance B {b}")
        cluster.start("sim", ["sim", "--url", a, "--piles", "1-5", "--reconnect"])  # password: CHARGEPILE_PILE_PASSWORD
        admin_b = must(call(b, "POST", "/a/login", {"username": "admin", "password": ADMIN_PASSWORD}), "login on B")["token"]
        poll("five piles connected", lambda: all(p["connected"] for p in call(b, "GET", "/admin/piles", token=admin_b)["data"]))

        browser = make_browser()
        console = Console(browser)

        # 1. Wrong password, then the right one.
        say("1. log in: wrong password, then the right one")
        browser.get(a + "/")
        console.until("login form", lambda: browser.find_element(By.ID, "login-password").is_displayed())
        browser.find_element(By.ID, "login-password").send_keys("wrong-password")
        browser.find_element(By.ID, "login-password").send_keys(Keys.ENTER)  # the keyboard submits the form
        console.until("wrong-password message", lambda: console.text("#login-message") == "用户名或密码错误")
        console.shot("login-wrong-password")
        password = browser.find_element(By.ID, "login-password")
        password.clear()
        password.send_keys(ADMIN_PASSWORD)
        console.click("#login-submit")
        console.until("the console", lambda: browser.find_element(By.ID, "app-view").is_displayed())
        assert browser.execute_script("return localStorage.length") == 0, "something was put in localStorage"
        assert browser.execute_script("return sessionStorage.getItem('chargepile.adminToken')"), "no token in sessionStorage"

        # 2. The five piles, all connected to instance A, and the live stream from A.
        say("2. the five piles")
        console.until("five pile rows", lambda: len(console.present("#piles-table tbody tr")) == 5)
        console.until("piles connected to A", lambda: all(
            f"127.0.0.1:{port_a}" in row.text for row in console.present("#piles-table tbody tr")))
        console.until("live from A", lambda: f"127.0.0.1:{port_a}" in console.text("#live-status"))
        # Read inside the wait: a live update may redraw the rows while they are read (a stale element).
        console.until("piles 1-5 in order, fast and slow, all off", lambda: (
            [(row.get_attribute("data-pile"), row.get_attribute("data-status")) for row in console.present("#piles-table tbody tr")]
            == [(str(pile), "off") for pile in range(1, 6)]
            and "快充 · 30 kW" in console.present("#piles-table tbody tr")[0].text
            and "慢充 · 10 kW" in console.present("#piles-table tbody tr")[4].text))
        console.until("station clock shown", lambda: console.text("#station-clock").startswith("2025/01/01 08:00"))
        browser.execute_script("window.__noReload = 'still the same page'")
        console.shot("piles")

        # 3. Switch pile 1 on, with the confirmation, and see the status and the outcome.
        say("3. switch pile 1 on")
        console.click("#piles-table tr[data-pile='1'] button[data-status='on']")
        console.until("confirmation dialog", lambda: browser.find_element(By.ID, "confirm-dialog").is_displayed())
        assert "1 号充电桩" in console.text("#confirm-text")
        console.shot("confirm-switch-on")
        console.click("#confirm-ok")
        console.until("pile 1 on", lambda: console.pile_status(1) == "on")
        console.until("outcome toast", lambda: "设置成功" in console.text("#toast"))
        console.until("last command written", lambda: "已写入" in console.pile_row(1).text)
        console.shot("pile-1-on")

        # 4. A driver's request through instance B appears in pile 1's queue without a reload.
        say("4. a request through instance B appears in pile 1's queue")
        console.tab("queues")
        must(call(b, "POST", "/u/register", {"username": "console-driver", "password": "driver-secret", "battery_capacity": "60"}), "register")
        driver = must(call(b, "POST", "/u/login", {"username": "console-driver", "password": "driver-secret"}), "driver login")["token"]
        must(call(b, "POST", "/user/charge/request", {"mode": "F", "request_quantity": "10"}, token=driver), "request")
        console.until("the car in pile 1's queue", lambda: "console-driver" in console.text(".queue-card[data-pile='1']"))
        assert "充电中" in console.text(".queue-card[data-pile='1']")
        # Two more: one queued behind it on pile 1, one in the waiting area (every slow pile is off).
        for name, mode, kwh in (("driver-2", "F", "30"), ("driver-3", "T", "5")):
            must(call(b, "POST", "/u/register", {"username": name, "password": "driver-secret", "battery_capacity": "60"}), "register")
            other = must(call(b, "POST", "/u/login", {"username": name, "password": "driver-secret"}), "login")["token"]
            must(call(b, "POST", "/user/charge/request", {"mode": mode, "request_quantity": kwh}, token=other), "request")
        console.until("the second car queued on pile 1", lambda: "排队中" in console.text(".queue-card[data-pile='1']")
                      and "driver-2" in console.text(".queue-card[data-pile='1']"))
        console.until("the third car in the waiting area", lambda: "driver-3" in console.text("#waiting-table tbody"))
        assert browser.execute_script("return window.__noReload") == "still the same page", "the page was reloaded"
        console.shot("queue")

        # 5. The session ends (manual clock advanced through B): a report row and its chart.
        say("5. the session ends: a report row and its chart")
        console.tab("reports")
        console.until("no report rows yet", lambda: len(console.present("#report-table tbody tr")) == 0)
        must(call(b, "POST", "/admin/clock/advance", {"to": "2025-01-01T09:00:00+08:00"}, token=admin_b), "advance")
        console.until("a report row", lambda: len(console.present("#report-table tbody tr")) == 1)
        def report_row_is(expected):
            cells = [cell.text for cell in console.present("#report-table tbody tr td")]
            return cells[0:3] == expected[0:3] and cells[4:5] == expected[3:4]
        console.until("the report row: day, pile 1, one session, 10 kWh", lambda: report_row_is(["2025-01-01", "1号桩", "1", "10.000"]))
        console.until("a chart bar over 100 px", lambda: any(
            float(bar.get_attribute("height")) > 100 for bar in console.present("#report-chart rect[data-pile='1']")))
        console.until("clock advanced", lambda: console.text("#station-clock").startswith("2025/01/01 09:00"))
        console.shot("report")
        browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOADS})
        console.click("#report-csv")
        csv_path = os.path.join(DOWNLOADS, "chargepile-report-day.csv")
        console.until("the report CSV downloaded", lambda: os.path.exists(csv_path) and os.path.getsize(csv_path) > 0)
        with open(csv_path, encoding="utf-8-sig") as csv_file:
            lines = csv_file.read().splitlines()
        assert lines[0].startswith("周期,充电桩,充电次数") and lines[1].startswith("2025-01-01,1,1,1200,10,"), lines

        # 6. The detail record.
        say("6. the detail record")
        console.tab("bills")
        console.until("one bill", lambda: len(console.present("#bill-table tbody tr")) == 1)
        assert "console-driver" in console.text("#bill-table tbody tr") and "充满" in console.text("#bill-table tbody tr")
        console.shot("bills")

        # 7. A change made on B shows on the console connected to A.
        say("7. pile 2 switched on through instance B")
        console.tab("piles")
        must(call(b, "POST", "/admin/charge/status/set", {"id": "2", "status": "on"}, token=admin_b), "status/set on B")
        console.until("pile 2 on, seen on A's console", lambda: console.pile_status(2) == "on")
        console.tab("commands")
        console.until("both status commands in the log", lambda: console.text("#command-table tbody").count("设为开启") == 2)
        console.shot("command-log")

        # 7a. The station's power limit line: the limit, what is allocated now, and each charging car's share
        #     against its meter. driver-2 charges at pile 1 (30 kW); a limit of 20 kW set through B is acknowledged
        #     by the simulated pile and shows on A's console; lifted again at the same station instant.
        say("7a. the station's power limit line")
        console.tab("piles")
        power_line = lambda: console.text("#station-power")
        console.until("no limit, 30 kW allocated to pile 1", lambda: power_line().startswith("站点功率上限：无 · 已分配 30.0 kW")
                      and "1号桩 分配 30.0 / 实测" in power_line())
        must(call(b, "POST", "/admin/station/set", {"id": "1", "power_limit_kw": "20"}, token=admin_b), "station/set on B")
        console.until("a 20 kW limit, pile 1 given 20 kW", lambda: power_line().startswith("站点功率上限 20.0 kW · 已分配 20.0 kW")
                      and "1号桩 分配 20.0 / 实测" in power_line())
        console.shot("power-limit")
        must(call(b, "POST", "/admin/station/set", {"id": "1", "power_limit_kw": "none"}, token=admin_b), "station/set none on B")
        console.until("the limit lifted", lambda: power_line().startswith("站点功率上限：无 · 已分配 30.0 kW"))

        # 7b. A second station, added with the command line while everything runs: the overview of all
        #     stations follows changes live, and the picker switches every station-scoped tab.
        say("7b. a second station: the all-stations overview and the station picker")
        cluster.run(["station", "add", "2", "--name", "东区", "--queue-length", "2", "--waiting-area", "4"])
        cluster.run(["pile", "add", "21", "--kind", "F", "--station", "2"], CHARGEPILE_PASSWORD=PILE_PASSWORD)
        console.tab("stations")
        def station_cells(station):
            return [cell.text for cell in console.present(f"#stations-table tbody tr[data-station='{station}'] td")]
        console.until("both stations in the overview", lambda: len(console.present("#stations-table tbody tr")) == 2
                      and station_cells(2)[1:3] == ["东区", "1"] and station_cells(2)[6] == "1")
        console.until("station 2 in the picker", lambda: "2 · 东区" in console.text("#station-select"))
        console.until("station 1: five piles, two on", lambda: station_cells(1)[2:4] == ["5", "2"])
        must(call(b, "POST", "/u/register", {"username": "east-driver", "password": "driver-secret", "battery_capacity": "60"}), "register")
        east = must(call(b, "POST", "/u/login", {"username": "east-driver", "password": "driver-secret"}), "login")["token"]
        submitted = must(call(b, "POST", "/user/charge/request", {"mode": "F", "request_quantity": "8", "station": "2"}, token=east),
                         "request at station 2")
        assert submitted["data"]["station_id"] == 2, submitted
        console.until("station 2's waiting car, live", lambda: station_cells(2)[8] == "1")
        console.shot("stations-overview")
        console.click("#stations-table tr[data-station='2'] button[data-station='2']")
        console.until("station 2's one pile", lambda: [row.get_attribute("data-pile") for row in console.present("#piles-table tbody tr")] == ["21"])
        assert browser.find_element(By.ID, "station-select").get_attribute("value") == "2"
        console.tab("queues")
        console.until("station 2's waiting area", lambda: "east-driver" in console.text("#waiting-table tbody")
                      and "driver-3" not in console.text("#waiting-table tbody"))
        console.shot("station-2-queues")
        Select(browser.find_element(By.ID, "station-select")).select_by_value("1")
        console.until("station 1's waiting area again", lambda: "driver-3" in console.text("#waiting-table tbody"))
        console.tab("piles")
        console.until("station 1's five piles again", lambda: len(console.present("#piles-table tbody tr")) == 5)

        # 7c. A firmware rollout to an OCPP charger (pile 6, provisioned and simulated here) started from
        #     the command line shows in the firmware tab through its statuses, without a reload.
        say("7c. a firmware rollout to OCPP pile 6 from the command line")
        subprocess.run([BIN, "pile", "add", "6", "--kind", "T", "--ocpp-id", "CP-6"], env={**cluster.env, "CHARGEPILE_PASSWORD": PILE_PASSWORD},
                       check=True, stdout=subprocess.DEVNULL)
        cluster.start("sim-ocpp", ["sim", "--protocol", "ocpp1.6", "--url", b, "--piles", "6-6", "--ocpp-ids", "CP-6", "--reconnect"])
        poll("OCPP pile 6 connected", lambda: any(p["charging_station_id"] == 6 and p["connected"]
                                                  for p in call(b, "GET", "/admin/piles", token=admin_b)["data"]))
        console.tab("ocpp")
        console.until("no operation yet, no security event", lambda: console.text("#operation-empty") == "暂无固件升级或诊断任务。"
                      and console.text("#security-empty") == "暂无安全事件。")
        subprocess.run([BIN, "firmware", "update", "--piles", "6", "--location", "https://fw.example.com/cp-2.0.bin"],
                       env=cluster.env, check=True, stdout=subprocess.DEVNULL)
        console.until("pile 6 installed the firmware", lambda: [
            (row.get_attribute("data-pile"), row.get_attribute("data-state")) for row in console.present("#operation-table tbody tr")]
            == [("6", "done")] and "Installed" in console.text("#operation-table tbody"))
        assert "固件升级：https://fw.example.com/cp-2.0.bin" in console.text("#operation-title"), console.text("#operation-title")
        # B keeps local lists: pile 6's configuration was read; the simulator has no local list.
        console.until("pile 6's local list: not supported", lambda: [
            (row.get_attribute("data-pile"), row.find_element(By.CSS_SELECTOR, "td:nth-child(2)").text)
            for row in console.present("#local-list-table tbody tr")] == [("6", "不支持")])
        assert browser.execute_script("return window.__noReload") == "still the same page", "the page was reloaded"
        console.shot("firmware")

        errors = console.browser_errors()
        assert not errors, f"browser log errors: {errors}"

        # 8. Instance A stops; its consoles' stream ends. A starts again on the same port: the
        #    console reconnects by itself and changes show again.
        say("8. instance A stops and starts again: the console reconnects")
        console.tab("piles")
        began = time.monotonic()
        cluster.stop("A", timeout=20)  # a graceful stop must not wait for open event streams
        say(f"A stopped in {time.monotonic() - began:.1f} s")
        console.until("the console notices", lambda: "重连" in console.text("#live-status"))
        console.shot("reconnecting")
        cluster.serve("A2", port_a)
        console.until("live again from A", lambda: "已连接" in console.text("#live-status"))
        poll("the simulated piles reconnected to A", lambda: all(
            p["connected"] for p in call(b, "GET", "/admin/piles", {"station": "1"}, token=admin_b)["data"]))
        console.until("the console shows them connected", lambda: "未连接" not in console.text("#piles-table tbody"))
        must(call(b, "POST", "/admin/charge/status/set", {"id": "3", "status": "on"}, token=admin_b), "status/set pile 3 on B")
        console.until("pile 3 on after the reconnect", lambda: console.pile_status(3) == "on")
        console.shot("reconnected")
        # Only the stopped instance's connections may have failed meanwhile.
        unexpected = [e for e in console.browser_errors()
                      if not any(s in e.get("message", "") for s in ("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET",
                                                                      "ERR_EMPTY_RESPONSE", "ERR_INCOMPLETE_CHUNKED_ENCODING",
                                                                      "/admin/events"))]
        assert not unexpected, f"browser log errors: {unexpected}"

        # 9. The token expires (revoked behind the console's back): a clear message, back to the login form.
        say("9. an expired token")
        token = browser.execute_script("return sessionStorage.getItem('chargepile.adminToken')")
        must(call(b, "POST", "/a/logout", token=token), "revoke the console's token")
        must(call(b, "POST", "/admin/charge/status/set", {"id": "4", "status": "on"}, token=admin_b), "status/set pile 4 on B")
        console.until("the expiry message", lambda: browser.find_element(By.ID, "login-view").is_displayed()
                      and "登录已过期" in console.text("#login-message"))
        assert not browser.execute_script("return sessionStorage.getItem('chargepile.adminToken')"), "expired token kept"
        console.shot("token-expired")

        # 10. On a phone-sized screen: log in again, every pile as a card; then log out.
        say("10. a phone-sized screen; log out")
        browser.set_window_size(390, 844)
        password = browser.find_element(By.ID, "login-password")
        password.clear()
        password.send_keys(ADMIN_PASSWORD)
        console.click("#login-submit")
        console.until("six pile cards", lambda: len(console.present("#piles-table tbody tr")) == 6
                      and console.pile_status(4) == "on")
        console.until("live again", lambda: "已连接" in console.text("#live-status"))
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 400, f"the page scrolls sideways on a phone ({width}px)"
        console.shot("phone")
        console.click("#logout")
        console.until("the login form again", lambda: browser.find_element(By.ID, "login-view").is_displayed())
        assert not browser.execute_script("return sessionStorage.getItem('chargepile.adminToken')"), "token kept after logout"
        assert call(b, "GET", "/admin/piles", token=token)["code"] == -1
        console.shot("logged-out")
        errors = console.browser_errors()
        assert not errors, f"browser log errors: {errors}"

        # The README's picture: the queue step.
        docs = os.path.join(ROOT, "docs")
        if os.environ.get("CONSOLE_UPDATE_DOCS") == "1":
            os.makedirs(docs, exist_ok=True)
            shutil.copy(os.path.join(SHOTS, "05-queue.png"), os.path.join(docs, "console.png"))
        failed = False
        say("console test passed")
    except Exception:
        traceback.print_exc()
        if browser is not None:
            try:
                for entry in browser.get_log("browser"):
                    print(f"browser log: {entry}", file=sys.stderr)
            except Exception:
                pass
    finally:
        if browser is not None:
            browser.quit()
        cluster.close(failed)
        shutil.rmtree(DOWNLOADS, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
