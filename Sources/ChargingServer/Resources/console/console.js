// chargepile admin console. Plain JavaScript, no dependencies.
// Every value from the server is inserted as text (textContent / createTextNode), never as HTML.
// The token lives only in this page's memory and in sessionStorage (gone when the tab closes).
"use strict";

(() => {
  const TOKEN_KEY = "chargepile.adminToken";
  const STATION_KEY = "chargepile.station";
  const INVALID_TOKEN = "token无效或已过期";
  const STATUS_NAMES = { on: "开启", off: "关闭", repair: "维修", offline: "离线" };
  const STATUS_VERBS = { on: "开启", off: "关闭", repair: "设为维修", offline: "设为离线" };
  const CAR_STATES = { charging: "充电中", queued: "排队中", waiting: "等候中", displaced: "故障调度中" };
  const MODE_NAMES = { F: "快充", T: "慢充" };
  const ENDED_BY = { completed: "充满", cancelled: "取消", fault: "故障", off: "关闭" };
  const COMMAND_STATES = { pending: "执行中", written: "已写入", rejected: "被拒绝", failed: "失败", expired: "超时" };
  const COMMAND_KINDS = { startCharging: "开始充电", stopCharging: "停止充电", setPower: "功率上限", ocppCall: "OCPP调用" };
  const OPERATION_STATES = { waiting: "等待下发", sending: "下发中", running: "进行中", done: "完成", failed: "失败" };
  const OPERATION_KINDS = { firmware: "固件升级", diagnostics: "诊断上传" };
  const PILE_COLORS = ["#0b63c5", "#e8710a", "#1a7f37", "#a142f4", "#b42318", "#12b5cb", "#795548", "#607d8b"];

  const state = {
    token: null,
    events: null,          // the EventSource
    reconnectTimer: null,
    piles: [],
    queues: new Map(),     // pile id → entries
    waiting: [],
    fetchedAt: 0,          // performance.now() when queues/clock were read
    clock: null,           // {now (ms), mode, speed}
    reportRows: [],
    billRows: [],
    pendingTopics: new Set(),
    refreshTimer: null,
    busyPiles: new Set(),  // piles with a command on its way
    station: Number(sessionStorage.getItem(STATION_KEY)) || 1,  // the station the station-scoped tabs show
    stations: [],          // /admin/stations rows
  };

  /// The parameters of an endpoint about piles or queues, for the station picked.
  const atStation = (params = {}) => ({ ...params, station: state.station });

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- DOM helpers (text only)

  function el(tag, options = {}, children = []) {
    const node = document.createElement(tag);
    if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
    if (options.className) node.className = options.className;
    if (options.attrs) for (const [name, value] of Object.entries(options.attrs)) node.setAttribute(name, String(value));
    for (const child of children) node.append(child);
    return node;
  }

  /// A table row; each cell is [text, className?] or a Node; cells get their column's name for phones.
  function row(table, cells) {
    const headers = [...table.tHead.rows[0].cells];
    const tr = document.createElement("tr");
    cells.forEach((cell, index) => {
      const td = document.createElement("td");
      td.setAttribute("data-label", headers[index] ? headers[index].textContent : "");
      if (cell instanceof Node) td.append(cell);
      else if (Array.isArray(cell)) { td.textContent = cell[0] === null || cell[0] === undefined ? "—" : String(cell[0]); if (cell[1]) td.className = cell[1]; }
      else td.textContent = cell === null || cell === undefined ? "—" : String(cell);
      // A column of figures is right-aligned, its header too.
      if (td.classList.contains("num") && headers[index]) headers[index].classList.add("num");
      tr.append(td);
    });
    return tr;
  }

  function fill(tbody, rows) { tbody.replaceChildren(...rows); }

  function badge(text, kind) { return el("span", { text, className: `badge status-${kind}` }); }

  const fixed = (value, digits) => (typeof value === "number" ? value.toFixed(digits) : "—");

  function duration(seconds) {
    if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
    const total = Math.max(0, Math.floor(seconds));
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return `${h}:${pad(m)}:${pad(s)}`;
  }

  const stationTime = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  function formatTime(value) {
    if (value === null || value === undefined) return "—";
    const date = typeof value === "number" ? new Date(value) : new Date(String(value));
    return isNaN(date.getTime()) ? String(value) : stationTime.format(date);
  }

  let toastTimer = null;
  function toast(text, kind = "") {
    const node = $("toast");
    node.textContent = text;
    node.className = `toast ${kind}`;
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { node.hidden = true; }, 6000);
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {}

  /// Calls an endpoint with the token as Bearer; resolves to the envelope of a code-200 answer.
  async function api(method, path, params = {}) {
    const headers = { Authorization: `Bearer ${state.token}` };
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value !== "" && value !== null && value !== undefined) query.append(name, value);
    let url = path;
    const init = { method, headers, cache: "no-store" };
    if (method === "GET") { const text = query.toString(); if (text) url += `?${text}`; }
    else init.body = query;
    let response;
    try { response = await fetch(url, init); } catch (error) { throw new ApiError("无法连接服务器"); }
    let envelope;
    try { envelope = await response.json(); } catch (error) { throw new ApiError(`服务器应答无效 (HTTP ${response.status})`); }
    if (envelope.code !== 200) {
      if (envelope.msg === INVALID_TOKEN && state.token) expire();
      throw new ApiError(envelope.msg || "请求失败");
    }
    return envelope;
  }

  // ---------------------------------------------------------------- login, logout, expiry

  async function logIn(event) {
    event.preventDefault();
    const message = $("login-message");
    message.textContent = "";
    const button = $("login-submit");
    button.disabled = true;
    try {
      const form = new FormData();  // multipart/form-data, as the seed's front-end sends it
      form.append("username", $("login-username").value);
      form.append("password", $("login-password").value);
      const response = await fetch("/a/login", { method: "POST", body: form, cache: "no-store" });
      const envelope = await response.json();
      if (envelope.code !== 200 || !envelope.token) {
        message.textContent = envelope.msg || "登录失败";
        $("login-password").focus();
        return;
      }
      $("login-password").value = "";
      start(envelope.token);
    } catch (error) {
      message.textContent = "无法连接服务器";
    } finally {
      button.disabled = false;
    }
  }

  function start(token) {
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("login-view").hidden = true;
    $("app-view").hidden = false;
    selectTab("piles", false);
    connectEvents();
    refreshAll();
  }

  function stop(message) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    if (state.events) { state.events.close(); state.events = null; }
    clearTimeout(state.reconnectTimer);
    $("app-view").hidden = true;
    $("login-view").hidden = false;
    $("login-message").textContent = message || "";
    $("login-password").focus();
  }

  function expire() { stop("登录已过期，请重新登录。"); }

  async function logOut() {
    try { await api("POST", "/a/logout"); } catch (error) { /* the token is dropped either way */ }
    stop("");
    toast("已退出登录");
  }

  // ---------------------------------------------------------------- live events (SSE)

  function setLive(text, kind) {
    const node = $("live-status");
    node.textContent = text;
    node.className = `live ${kind}`;
  }

  function connectEvents() {
    if (!state.token) return;
    if (state.events) state.events.close();
    clearTimeout(state.reconnectTimer);
    // EventSource can't send headers: the token goes in the query string, as the seed allows.
    const source = new EventSource(`/admin/events?token=${encodeURIComponent(state.token)}`);
    state.events = source;
    source.addEventListener("hello", (event) => {
      let instance = "";
      try { instance = JSON.parse(event.data).instance || ""; } catch (error) { /* keep empty */ }
      setLive(instance ? `实时：已连接 (${instance})` : "实时：已连接", "connected");
      refreshAll();  // whatever changed before this stream began (or while we were away)
    });
    source.addEventListener("change", (event) => scheduleRefresh([event.data]));
    source.addEventListener("resync", () => scheduleRefresh(["piles", "commands", "station", "bills", "ocpp"]));
    source.onerror = () => {
      if (state.events !== source) return;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an error answer, e.g. a dead instance behind a proxy, or a refused token).
        setLive("实时：连接中断，重连中…", "broken");
        state.reconnectTimer = setTimeout(checkAndReconnect, 1000);
      } else {
        setLive("实时：重连中…", "broken");
      }
    };
  }

  async function checkAndReconnect() {
    if (!state.token) return;
    try {
      await api("GET", "/admin/clock", atStation());  // an expired token ends the session here
    } catch (error) {
      if (!state.token) return;
    }
    connectEvents();
  }

  const TOPIC_LOADERS = {
    piles: ["piles", "stations", "power"],
    commands: ["piles", "commands", "power"],
    station: ["piles", "queues", "clock", "stations", "power"],
    bills: ["piles", "reports", "bills", "stations"],
    ocpp: ["ocpp"],
  };

  function scheduleRefresh(topics) {
    for (const topic of topics) for (const loader of TOPIC_LOADERS[topic] || []) state.pendingTopics.add(loader);
    if (state.refreshTimer) return;
    state.refreshTimer = setTimeout(() => {
      state.refreshTimer = null;
      const loaders = [...state.pendingTopics];
      state.pendingTopics.clear();
      for (const name of loaders) load(name);
    }, 60);
  }

  function refreshAll() { for (const name of ["stations", "clock", "piles", "power", "queues", "commands", "reports", "bills", "ocpp"]) load(name); }

  const LOADERS = {
    clock: loadClock, piles: loadPiles, queues: loadQueues, commands: loadCommands, reports: loadReports, bills: loadBills,
    stations: loadStations, ocpp: loadOCPP, power: loadPower,
  };
  const running = new Map();  // a loader runs once at a time; a call meanwhile runs it again after

  function load(name) {
    if (!state.token) return;
    if (running.has(name)) { running.set(name, true); return; }
    running.set(name, false);
    LOADERS[name]().catch((error) => {
      if (state.token && !(error instanceof ApiError && error.message === INVALID_TOKEN)) toast(`读取失败：${error.message}`, "error");
    }).finally(() => {
      const again = running.get(name);
      running.delete(name);
      if (again) load(name);
    });
  }

  // ---------------------------------------------------------------- clock

  async function loadClock() {
    const { data } = await api("GET", "/admin/clock", atStation());
    state.clock = { now: Date.parse(data.now), mode: data.mode, speed: data.speed, readAt: performance.now() };
    $("clock-mode").textContent = data.mode === "manual" ? "(手动时钟)" : data.mode === "scaled" ? `(${data.speed}× 加速)` : "";
    tick();
  }

  /// Station seconds elapsed since `readAt` (performance.now()): none on a manual clock.
  function stationElapsed(readAt) {
    if (!state.clock || state.clock.mode === "manual") return 0;
    return ((performance.now() - readAt) / 1000) * (state.clock.mode === "scaled" ? state.clock.speed : 1);
  }

  function tick() {
    if (state.clock) $("station-clock").textContent = formatTime(state.clock.now + stationElapsed(state.clock.readAt) * 1000);
    for (const node of document.querySelectorAll("[data-waiting]")) {
      const base = Number(node.getAttribute("data-waiting"));
      const readAt = Number(node.getAttribute("data-read-at"));
      node.textContent = duration(base + stationElapsed(readAt));
    }
  }

  // ---------------------------------------------------------------- piles

  async function loadPiles() {
    const { data } = await api("GET", "/admin/piles", atStation());
    state.piles = data;
    renderPiles();
    renderPileSelects();
  }

  function renderPiles() {
    const table = $("piles-table");
    fill(table.tBodies[0], state.piles.map((pile) => {
      const id = pile.charging_station_id;
      const actions = el("div", { className: "actions", attrs: { role: "group", "aria-label": `${id}号桩操作` } });
      for (const status of ["on", "off", "repair", "offline"]) {
        const button = el("button", { text: STATUS_NAMES[status], attrs: { type: "button", "aria-label": `${STATUS_VERBS[status]} ${id}号桩`, "data-pile": id, "data-status": status } });
        button.disabled = pile.status === status || state.busyPiles.has(id) || (!pile.connected && status !== "offline");
        button.addEventListener("click", () => confirmCommand(id, status));
        actions.append(button);
      }
      const connection = pile.connected ? `已连接 · ${pile.instance || "?"}` : "未连接";
      let command = "—";
      if (state.busyPiles.has(id)) command = "指令执行中…";
      else if (pile.last_command_status) command = `${STATUS_NAMES[pile.last_command_status] || pile.last_command_status}：${outcomeText(pile.last_command_outcome)}`;
      const tr = row(table, [
        String(id),
        `${MODE_NAMES[pile.kind] || pile.kind} · ${fixed(pile.power_kw, 0)} kW`,
        badge(STATUS_NAMES[pile.status] || pile.status, pile.status),
        connection,
        [pile.cars_at_pile, "num"],
        [pile.total_charging_times, "num"],
        [fixed(pile.total_charging_power, 3), "num"],
        [duration(pile.total_charging_duration), "num"],
        [command, state.busyPiles.has(id) ? "pending" : ""],
        actions,
      ]);
      tr.setAttribute("data-pile", id);
      tr.setAttribute("data-status", pile.status);
      return tr;
    }));
  }

  /// The station's power limit, what is allocated now, and each charging car's share against its meter.
  async function loadPower() {
    const { data } = await api("GET", "/admin/station/get", { id: state.station });
    const charging = data.piles.filter((pile) => typeof pile.allocated_kw === "number");
    const parts = [
      data.power_limit_kw === null ? "站点功率上限：无" : `站点功率上限 ${fixed(data.power_limit_kw, 1)} kW`,
      `已分配 ${fixed(data.allocated_kw, 1)} kW`,
      ...charging.map((pile) => `${pile.pile_id}号桩 分配 ${fixed(pile.allocated_kw, 1)} / 实测 ${fixed(pile.measured_kw, 1)} kW`),
    ];
    const line = $("station-power");
    line.textContent = parts.join(" · ");
    line.setAttribute("data-limit", data.power_limit_kw === null ? "" : String(data.power_limit_kw));
    line.setAttribute("data-allocated", String(data.allocated_kw));
  }

  function outcomeText(outcome) {
    if (!outcome) return "—";
    if (outcome.startsWith("failed")) return `失败 (${outcome.slice(7).trim() || "未知错误"})`;
    return { pending: "执行中", written: "已写入", "written, acked": "已写入，已确认", rejected: "被拒绝", expired: "超时" }[outcome] || outcome;
  }

  function renderPileSelects() {
    for (const select of document.querySelectorAll(".pile-select")) {
      const current = select.value;
      const options = [el("option", { text: "全部", attrs: { value: "" } })];
      for (const pile of state.piles) options.push(el("option", { text: `${pile.charging_station_id}号桩`, attrs: { value: pile.charging_station_id } }));
      select.replaceChildren(...options);
      select.value = current;
    }
  }

  function confirmCommand(pileID, status) {
    const dialog = $("confirm-dialog");
    $("confirm-text").textContent = `确定要${STATUS_VERBS[status]} ${pileID} 号充电桩吗？` + (status === "offline" ? "离线后充电桩需重新登录才能控制。" : "");
    dialog.returnValue = "";
    dialog.onclose = () => { if (dialog.returnValue === "ok") sendCommand(pileID, status); };
    dialog.showModal();
    $("confirm-cancel").focus();
  }

  async function sendCommand(pileID, status) {
    state.busyPiles.add(pileID);
    renderPiles();
    try {
      const envelope = await api("POST", "/admin/charge/status/set", atStation({ id: pileID, status }));
      toast(`${pileID}号桩${STATUS_VERBS[status]}：${envelope.msg}`, "success");
    } catch (error) {
      toast(`${pileID}号桩${STATUS_VERBS[status]}失败：${error.message}`, "error");
    } finally {
      state.busyPiles.delete(pileID);
      renderPiles();
      load("piles");
    }
  }

  // ---------------------------------------------------------------- queues and the waiting area

  async function loadQueues() {
    if (!state.piles.length) await loadPiles();
    const ids = state.piles.map((pile) => pile.charging_station_id);
    const [queues, waiting] = await Promise.all([
      Promise.all(ids.map((id) => api("GET", "/admin/charge/queue", atStation({ id })).then((envelope) => [id, envelope.data]))),
      api("GET", "/admin/charge/waiting", atStation()),
    ]);
    state.queues = new Map(queues);
    state.waiting = waiting.data;
    state.fetchedAt = performance.now();
    renderQueues();
  }

  /// A waiting time that ticks while the car waits (not once it charges).
  function waitingCell(seconds, ticking) {
    const node = el("span", { text: duration(seconds), className: "num" });
    if (ticking) { node.setAttribute("data-waiting", seconds); node.setAttribute("data-read-at", state.fetchedAt); }
    return node;
  }

  function renderQueues() {
    const cards = [];
    for (const pile of state.piles) {
      const id = pile.charging_station_id;
      const entries = state.queues.get(id) || [];
      const card = el("section", { className: "card queue-card", attrs: { "aria-label": `${id}号桩队列`, "data-pile": id } });
      card.append(el("h3", { text: `${id}号桩 · ${MODE_NAMES[pile.kind] || pile.kind} · ${STATUS_NAMES[pile.status] || pile.status}` }));
      if (!entries.length) {
        card.append(el("p", { text: "队列为空", className: "empty" }));
      } else {
        const table = el("table", {}, [el("caption", { text: `${id}号桩队列`, className: "sr-only" })]);
        const head = el("thead", {}, [el("tr", {}, ["排队号", "用户", "状态", "请求/已充 (kWh)", "费用 (元)", "等待时长"].map((text) => el("th", { text, attrs: { scope: "col" } })))]);
        table.append(head, el("tbody"));
        fill(table.tBodies[0], entries.map((entry) => row(table, [
          entry.queue_number,
          entry.user_id,
          badge(CAR_STATES[entry.state] || entry.state, entry.state),
          `${fixed(entry.request_quantity, 2)} / ${entry.charged_kwh === undefined || entry.charged_kwh === null ? "—" : fixed(entry.charged_kwh, 2)}`,
          [entry.fee === undefined || entry.fee === null ? "—" : fixed(entry.fee, 2), "num"],
          waitingCell(entry.waiting_time, entry.state !== "charging"),
        ])));
        card.append(table);
      }
      cards.push(card);
    }
    $("queues").replaceChildren(...cards);
    const waitingTable = $("waiting-table");
    fill(waitingTable.tBodies[0], state.waiting.length ? state.waiting.map((entry) => row(waitingTable, [
      entry.queue_number, entry.user_id, MODE_NAMES[entry.mode] || entry.mode, [fixed(entry.request_quantity, 2), "num"],
      badge(CAR_STATES[entry.state] || entry.state, entry.state), waitingCell(entry.waiting_time, true),
    ])) : [row(waitingTable, ["等候区无车辆", "", "", "", "", ""])]);
  }

  // ---------------------------------------------------------------- reports

  function reportParams() {
    return atStation({
      granularity: $("report-granularity").value, pile_id: $("report-pile").value,
      from: $("report-from").value, to: $("report-to").value,
    });
  }

  async function loadReports() {
    const { data } = await api("GET", "/admin/reports", reportParams());
    state.reportRows = data;
    const table = $("report-table");
    fill(table.tBodies[0], data.map((r) => row(table, [
      r.period, `${r.pile_id}号桩`, [r.charging_count, "num"], [duration(r.charging_seconds), "num"],
      [fixed(r.energy_kwh, 3), "num"], [fixed(r.charging_fee, 2), "num"], [fixed(r.service_fee, 2), "num"], [fixed(r.total_fee, 2), "num"],
    ])));
    $("report-empty").hidden = data.length > 0;
    drawChart();
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  /// Grouped bars: one group per period, one bar per pile, drawn as SVG from the rows.
  function drawChart() {
    const chart = $("report-chart");
    const metricSelect = $("report-metric");
    const metric = metricSelect.value;
    const metricName = metricSelect.options[metricSelect.selectedIndex].textContent;
    const valueOf = (r) => (metric === "charging_seconds" ? r.charging_seconds / 3600 : Number(r[metric]) || 0);
    const title = svg("title", { id: "report-chart-title" }, `报表图表：${metricName}`);
    chart.replaceChildren(title);
    const rows = state.reportRows;
    const legend = $("report-legend");
    legend.replaceChildren();
    if (!rows.length) {
      chart.append(svg("text", { x: 400, y: 160, "text-anchor": "middle", class: "chart-label" }, "暂无数据"));
      return;
    }
    const periods = [...new Set(rows.map((r) => r.period))].sort();
    const piles = [...new Set(rows.map((r) => r.pile_id))].sort((a, b) => a - b);
    const colorOf = (pile) => PILE_COLORS[piles.indexOf(pile) % PILE_COLORS.length];
    const max = Math.max(...rows.map(valueOf), 0) || 1;
    const left = 56, right = 12, top = 16, bottom = 40, width = 800, height = 320;
    const plotWidth = width - left - right, plotHeight = height - top - bottom;
    for (let i = 0; i <= 4; i++) {
      const y = top + plotHeight - (plotHeight * i) / 4;
      chart.append(svg("line", { x1: left, x2: width - right, y1: y, y2: y, class: "chart-grid" }));
      const value = (max * i) / 4;
      chart.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "chart-label" }, value >= 100 ? value.toFixed(0) : value.toFixed(2)));
    }
    chart.append(svg("line", { x1: left, x2: width - right, y1: top + plotHeight, y2: top + plotHeight, class: "chart-axis" }));
    const groupWidth = plotWidth / periods.length;
    const barWidth = Math.max(2, Math.min(40, (groupWidth * 0.8) / piles.length));
    const labelEvery = Math.ceil(periods.length / 12);
    periods.forEach((period, periodIndex) => {
      const groupStart = left + groupWidth * periodIndex + (groupWidth - barWidth * piles.length) / 2;
      piles.forEach((pile, pileIndex) => {
        const r = rows.find((candidate) => candidate.period === period && candidate.pile_id === pile);
        if (!r) return;
        const value = valueOf(r);
        const h = (plotHeight * value) / max;
        const bar = svg("rect", {
          x: groupStart + barWidth * pileIndex, y: top + plotHeight - h, width: barWidth - 1, height: Math.max(h, 0.5),
          fill: colorOf(pile), "data-period": period, "data-pile": pile,
        });
        bar.append(svg("title", {}, `${period} · ${pile}号桩 · ${metricName}：${value.toFixed(metric === "charging_count" ? 0 : 2)}`));
        chart.append(bar);
      });
      if (periodIndex % labelEvery === 0) {
        chart.append(svg("text", { x: left + groupWidth * (periodIndex + 0.5), y: height - bottom + 18, "text-anchor": "middle", class: "chart-label" }, period));
      }
    });
    for (const pile of piles) {
      const swatch = el("span", { className: "swatch", attrs: { "aria-hidden": "true" } });
      swatch.style.background = colorOf(pile);
      legend.append(el("span", {}, [swatch, document.createTextNode(`${pile}号桩`)]));
    }
  }

  // ---------------------------------------------------------------- detail records

  function billParams() {
    return atStation({ pile_id: $("bill-pile").value, driver: $("bill-driver").value.trim(), from: $("bill-from").value, to: $("bill-to").value });
  }

  async function loadBills() {
    const { data } = await api("GET", "/admin/bills", billParams());
    state.billRows = data;
    const table = $("bill-table");
    fill(table.tBodies[0], data.map((b) => row(table, [
      [b.bill_id, "num"], b.user_id, `${b.pile_id}号桩`, [fixed(b.energy_kwh, 3), "num"], [duration(b.duration), "num"],
      formatTime(b.started_at), formatTime(b.finished_at), [fixed(b.charging_fee, 2), "num"], [fixed(b.service_fee, 2), "num"],
      [fixed(b.total_fee, 2), "num"], ENDED_BY[b.ended_by] || b.ended_by,
    ])));
    $("bill-empty").hidden = data.length > 0;
  }

  // ---------------------------------------------------------------- command log

  async function loadCommands() {
    const { data } = await api("GET", "/admin/commands", atStation({ limit: 50 }));
    const table = $("command-table");
    fill(table.tBodies[0], data.map((c) => row(table, [
      [c.command_id, "num"], `${c.pile_id}号桩`,
      c.kind === "status" ? `设为${STATUS_NAMES[c.status] || c.status}` : COMMAND_KINDS[c.kind] || c.kind,
      [`${COMMAND_STATES[c.state] || c.state}${c.acked_at ? "，已确认" : ""}${c.error ? ` (${c.error})` : ""}`, `outcome-${c.state}`],
      formatTime(c.requested_at), [c.latency_ms === null ? "—" : fixed(c.latency_ms, 1), "num"], c.owner_instance, c.requester_instance,
    ])));
  }

  // ---------------------------------------------------------------- firmware, diagnostics, security events

  async function loadOCPP() {
    const [operations, events, lists] = await Promise.all([
      api("GET", "/admin/ocpp/operations"), api("GET", "/admin/ocpp/security-events", { limit: 20 }),
      api("GET", "/admin/ocpp/local-lists"),
    ]);
    const rows = operations.data;
    $("operation-title").textContent = rows.length
      ? `第 ${rows[0].operation_id} 次${OPERATION_KINDS[rows[0].kind] || rows[0].kind}：${rows[0].location}` : "";
    $("operation-empty").hidden = rows.length > 0;
    const table = $("operation-table");
    fill(table.tBodies[0], rows.map((o) => {
      const note = o.error || (o.triggered_at ? `已于 ${formatTime(o.triggered_at)} 询问状态` : null);
      const tr = row(table, [
        `${o.pile_id}号桩`, [OPERATION_STATES[o.state] || o.state, `outcome-${o.state}`], o.status,
        formatTime(o.state_since), o.sent_at ? formatTime(o.sent_at) : null, note,
      ]);
      tr.setAttribute("data-pile", o.pile_id);
      tr.setAttribute("data-state", o.state);
      return tr;
    }));
    const localLists = $("local-list-table");
    $("local-list-empty").hidden = lists.data.length > 0;
    fill(localLists.tBodies[0], lists.data.map((l) => {
      const state = !l.supported ? "不支持" : !l.enabled ? "未启用" : l.current ? "已同步" : "待同步";
      const tr = row(localLists, [
        `${l.pile_id}号桩`, [state, l.supported && l.enabled ? (l.current ? "outcome-done" : "outcome-running") : ""],
        [l.list_version, "num"], [l.tag_count, "num"], l.synced_at ? formatTime(l.synced_at) : null, l.failure,
      ]);
      tr.setAttribute("data-pile", l.pile_id);
      return tr;
    }));
    const security = $("security-table");
    $("security-empty").hidden = events.data.length > 0;
    fill(security.tBodies[0], events.data.map((e) => row(security, [
      formatTime(e.received_at), `${e.pile_id}号桩`, e.type, formatTime(e.charger_timestamp), e.tech_info,
    ])));
  }

  // ---------------------------------------------------------------- stations: the picker and the overview of all

  async function loadStations() {
    const { data } = await api("GET", "/admin/stations");
    state.stations = data;
    if (data.length && !data.some((station) => station.station_id === state.station)) pickStation(data[0].station_id);
    renderStationPicker();
    renderStations();
  }

  function renderStationPicker() {
    const select = $("station-select");
    select.replaceChildren(...state.stations.map((station) =>
      el("option", { text: `${station.station_id} · ${station.name}`, attrs: { value: station.station_id } })));
    select.value = String(state.station);
  }

  function renderStations() {
    const table = $("stations-table");
    fill(table.tBodies[0], state.stations.map((station) => {
      const id = station.station_id;
      const show = el("button", { text: id === state.station ? "当前站点" : "查看", attrs: { type: "button", "aria-label": `查看${id}号站点 ${station.name}`, "data-station": id } });
      show.disabled = id === state.station;
      show.addEventListener("click", () => { pickStation(id); selectTab("piles", true); });
      const tr = row(table, [
        String(id), station.name, [station.piles, "num"], [station.piles_on, "num"], [station.piles_off, "num"],
        [station.piles_repair, "num"], [station.piles_offline, "num"], [station.piles_connected, "num"], [station.cars_waiting, "num"],
        [station.cars_queued, "num"], [station.cars_charging, "num"], [station.sessions_today, "num"],
        [fixed(station.energy_kwh_today, 3), "num"], [fixed(station.revenue_today, 2), "num"], show,
      ]);
      tr.setAttribute("data-station", id);
      if (id === state.station) tr.classList.add("current");
      return tr;
    }));
  }

  /// Every station-scoped tab follows the station picked; the pile filters of another station no longer apply.
  function pickStation(id) {
    if (id === state.station) return;
    state.station = id;
    sessionStorage.setItem(STATION_KEY, String(id));
    state.piles = [];
    state.queues = new Map();
    for (const select of document.querySelectorAll(".pile-select")) select.value = "";
    renderStationPicker();
    renderStations();
    for (const name of ["clock", "piles", "power", "queues", "commands", "reports", "bills"]) load(name);
  }

  // ---------------------------------------------------------------- CSV

  function csvCell(value) {
    let text = value === null || value === undefined ? "" : String(value);
    // A spreadsheet must not run a cell as a formula.
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  function download(filename, header, rows) {
    const lines = [header, ...rows].map((cells) => cells.map(csvCell).join(","));
    const blob = new Blob(["\uFEFF" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const link = el("a", { attrs: { href: url, download: filename } });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function reportCSV() {
    const p = reportParams();
    download(`chargepile-report-${p.granularity}.csv`,
      ["周期", "充电桩", "充电次数", "充电时长(秒)", "充电电量(kWh)", "充电费用(元)", "服务费用(元)", "总费用(元)"],
      state.reportRows.map((r) => [r.period, r.pile_id, r.charging_count, r.charging_seconds, r.energy_kwh, r.charging_fee, r.service_fee, r.total_fee]));
  }

  function billCSV() {
    download("chargepile-bills.csv",
      ["详单号", "用户", "充电桩", "电量(kWh)", "时长(秒)", "开始时间", "结束时间", "充电费(元)", "服务费(元)", "总费用(元)", "结束原因"],
      state.billRows.map((b) => [b.bill_id, b.user_id, b.pile_id, b.energy_kwh, b.duration, b.started_at, b.finished_at, b.charging_fee, b.service_fee, b.total_fee, b.ended_by]));
  }

  // ---------------------------------------------------------------- tabs

  const TABS = ["piles", "queues", "reports", "bills", "commands", "ocpp", "stations"];

  function selectTab(name, focus) {
    for (const tab of TABS) {
      const button = $(`tab-button-${tab}`);
      const selected = tab === name;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      $(`tab-${tab}`).hidden = !selected;
      if (selected && focus) button.focus();
    }
  }

  function onTabKey(event) {
    const index = TABS.indexOf(event.currentTarget.getAttribute("data-tab"));
    let next = null;
    if (event.key === "ArrowRight") next = (index + 1) % TABS.length;
    else if (event.key === "ArrowLeft") next = (index + TABS.length - 1) % TABS.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = TABS.length - 1;
    if (next === null) return;
    event.preventDefault();
    selectTab(TABS[next], true);
  }

  // ---------------------------------------------------------------- start

  function init() {
    $("login-form").addEventListener("submit", logIn);
    $("logout").addEventListener("click", logOut);
    for (const button of document.querySelectorAll(".tabs [role=tab]")) {
      button.addEventListener("click", () => selectTab(button.getAttribute("data-tab"), false));
      button.addEventListener("keydown", onTabKey);
    }
    $("report-filter").addEventListener("submit", (event) => { event.preventDefault(); load("reports"); });
    $("report-granularity").addEventListener("change", () => load("reports"));
    $("report-metric").addEventListener("change", drawChart);
    $("report-csv").addEventListener("click", reportCSV);
    $("bill-filter").addEventListener("submit", (event) => { event.preventDefault(); load("bills"); });
    $("bill-csv").addEventListener("click", billCSV);
    $("station-select").addEventListener("change", (event) => pickStation(Number(event.target.value)));
    setInterval(tick, 1000);
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) start(saved);
    else $("login-password").focus();
  }

  document.addEventListener("DOMContentLoaded", init);
})();
