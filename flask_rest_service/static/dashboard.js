// The dashboard: reads the API with the user's key and draws what it finds.
// Plain JavaScript and SVG: no library, no build step, nothing from a CDN.
"use strict";

const REFRESH_SECONDS = Number(document.body.dataset.refreshSeconds) || 10;
const QUIET_MINUTES = Number(document.body.dataset.quietMinutes) || 15;
const KEY_STORAGE = "readings-api-key";
// Each range asks /readings/stats for a bucket width giving 60 to 96 points.
const RANGES = {
  "1h": { ms: 3600e3, interval: "1m" },
  "24h": { ms: 86400e3, interval: "15m" },
  "7d": { ms: 7 * 86400e3, interval: "2h" },
  "30d": { ms: 30 * 86400e3, interval: "12h" },
};

// The y axis never has more ticks than this, whatever the values (1e-300, 1e17 + 16, 1.7e308).
const MAX_TICKS = 12;

// current: the refresh in flight (its AbortController); timer: the next one, once it is done.
const state = { sensor: null, range: "24h", timer: null, current: null, locked: false };
const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

function date(value) {
  // Extended JSON: {"$date": "2026-03-01T10:00:00Z"} or {"$date": {"$numberLong": "..."}}.
  // Anything else (null: a sensor with no dated reading; a legacy "yesterday") is no date.
  if (value === null || typeof value !== "object" || value.$date === undefined) return null;
  const inner = value.$date;
  const when = new Date(inner !== null && typeof inner === "object" ? Number(inner.$numberLong) : inner);
  return Number.isNaN(when.getTime()) ? null : when;
}

async function api(path, signal) {
  const headers = {};
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers["X-API-Key"] = key;
  let response;
  try {
    response = await fetch(path, { headers, signal });
  } catch (error) {
    if (signal && signal.aborted) throw error;
    throw new ApiError(0, "the service cannot be reached");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail || detail;
    } catch (error) { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response;
}

function ago(when) {
  const seconds = Math.max(0, (Date.now() - when.getTime()) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

// 1.700e+308 -> "1.7e308": at most `digits` significant digits, trailing zeros dropped.
function exponent(value, digits) {
  if (value === 0) return "0";
  const [mantissa, power] = value.toExponential(Math.min(Math.max(digits, 1), 17) - 1).split("e");
  return `${mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa}e${Number(power)}`;
}

// Any double in a few characters: exponent notation past a billion and below a hundredth.
function formatNumber(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  const size = Math.abs(value);
  if (size >= 1e9 || (size > 0 && size < 0.01)) return exponent(value, 4);
  return size >= 1000 || Number.isInteger(value) ? value.toLocaleString() : value.toFixed(2);
}

function say(text, isError) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

function element(tag, attributes, text) {
  const node = document.createElementNS(
    ["svg", "path", "line", "text", "circle", "g", "rect"].includes(tag) ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml",
    tag,
  );
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// --- sensors -----------------------------------------------------------------

function renderSensors(sensors) {
  const list = $("sensors");
  const items = sensors.map((entry) => {
    const last = date(entry.last); // null: none of its readings has a date, so no age either
    const quiet = last !== null && Date.now() - last.getTime() > QUIET_MINUTES * 60e3;
    const latest = entry.latest || {};
    const li = element("li", { "data-sensor": entry.sensor });
    if (quiet) li.classList.add("quiet");
    if (entry.sensor === state.sensor) li.classList.add("selected");
    const button = element("button", { type: "button" });
    button.append(
      element("span", { class: "name" }, entry.sensor),
      element("span", { class: "value" }, formatNumber(latest.value) + (latest.type ? ` ${latest.type}` : "")),
      element("span", { class: "meta" },
        `${quiet ? "quiet · " : ""}${last ? `last ${ago(last)}` : "no dated readings"} · ${entry.count.toLocaleString()} reading${entry.count === 1 ? "" : "s"}`),
    );
    button.addEventListener("click", () => select(entry.sensor));
    li.append(button);
    return li;
  });
  list.replaceChildren(...items);
  $("no-sensors").hidden = sensors.length > 0;
}

// --- chart -------------------------------------------------------------------

// Round axis values for any finite low <= high: steps of 1, 2 or 5 times a power
// of ten, about five of them, at most MAX_TICKS. The step is never below a few
// units in the last place of the values (else v + step === v: values near 1e17
// hung the tab), a flat series gets a span around it, and spans are computed
// from halves (1.7e308 - -1.7e308 overflows). Returns the ticks, the step, and
// the axis's range: the ticks' and the values' together (a tick past
// Number.MAX_VALUE is left out).
function niceTicks(low, high) {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return { ticks: [0, 1], step: 1, low: 0, high: 1 };
  if (low > high) [low, high] = [high, low];
  if (low === high) {
    const pad = Math.abs(low) / 10 || 1;
    low = Math.max(low - pad, -Number.MAX_VALUE);
    high = Math.min(high + pad, Number.MAX_VALUE);
  }
  const size = Math.max(Math.abs(low), Math.abs(high));
  const raw = Math.max((high / 2 - low / 2) / 2, size * (4 * Number.EPSILON), Number.MIN_VALUE);
  // The double nearest 10^n, as parsed ("1e-5"); 10 ** -5 is 0.000009999999999999999.
  const power = Number(`1e${Math.floor(Math.log10(raw))}`);
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  if (!(step >= raw && Number.isFinite(step))) step = raw; // "1e-324" is 0
  const first = Math.floor(low / step);
  const count = Math.min(MAX_TICKS - 1, Math.ceil(high / step - first));
  const ticks = [];
  for (let i = 0; i <= count; i++) {
    const v = (first + i) * step;
    if (Number.isFinite(v)) ticks.push(v === 0 ? 0 : v); // no "-0"
  }
  if (ticks.length < 2) return { ticks: [low, high], step: high / 2 - low / 2, low, high };
  return { ticks, step, low: Math.min(ticks[0], low), high: Math.max(ticks[ticks.length - 1], high) };
}

// Labels with the digits the step needs. Values that differ far below their own
// size (1e17 and 1e17 + 64) are labelled from an offset, stated once in the
// axis title, so every label stays a few characters long.
function axisLabels(ticks, step) {
  const size = Math.max(...ticks.map(Math.abs));
  if (size / step >= 1e6) return { offset: ticks[0], labels: ticks.map((_, i) => tickLabel(i * step, step)) };
  return { offset: null, labels: ticks.map((v) => tickLabel(v, step, size)) };
}

// Plain with the decimals the step needs (0.25, 1,500) while that is short;
// otherwise exponent notation with the digits the step needs (2.5e-7, 1.5e308).
function tickLabel(value, step, size = Math.abs(value)) {
  const decimals = -Math.floor(Math.log10(step));
  if (size < 1e6 && size >= 1e-3 && decimals <= 6) {
    const fixed = Math.max(0, decimals);
    return value.toLocaleString([], { minimumFractionDigits: fixed, maximumFractionDigits: fixed });
  }
  return exponent(value, Math.floor(Math.log10(size)) + decimals + 1);
}

// The width of the widest label as drawn (an estimate while the chart is not laid out).
function widest(svg, labels) {
  const probe = element("text", {});
  svg.append(probe);
  let most = 0;
  for (const label of labels) {
    probe.textContent = label;
    most = Math.max(most, probe.getComputedTextLength() || label.length * 7);
  }
  probe.remove();
  return most;
}

function timeLabel(when, rangeMs) {
  if (rangeMs <= 86400e3) return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return when.toLocaleDateString([], { month: "short", day: "numeric" })
    + (rangeMs <= 7 * 86400e3 ? ` ${when.toLocaleTimeString([], { hour: "2-digit" })}` : "");
}

const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

function renderChart(stats) {
  const svg = $("chart");
  const width = svg.clientWidth || 600;
  const height = svg.clientHeight || 280;
  const since = date(stats.since).getTime();
  const until = date(stats.until).getTime();
  const buckets = stats.buckets.map((b) => ({ ...b, t: date(b.start).getTime() }));
  const full = buckets.filter((b) => b.count > 0);
  // A bucket's avg is null when its sum overflowed (two readings of 1.7e308): its band is still drawn.
  const withBand = (b) => b.count > 0 && isNumber(b.min) && isNumber(b.max);
  const withAvg = (b) => b.count > 0 && isNumber(b.avg);
  const banded = buckets.filter(withBand);
  const axis = banded.length
    ? niceTicks(Math.min(...banded.map((b) => b.min)), Math.max(...banded.map((b) => b.max)))
    : niceTicks(0, 1);
  const { labels, offset } = axisLabels(axis.ticks, axis.step);
  // The left margin fits the widest label (within 40 px and 40% of the chart).
  const pad = { left: Math.min(Math.max(40, Math.ceil(widest(svg, labels)) + 12), width * 0.4), right: 12, top: 22, bottom: 36 };
  const x = (t) => pad.left + ((t - since) / (until - since)) * (width - pad.left - pad.right);
  // Halves again: high - low overflows for a range across ±1.7e308.
  const y = (v) => pad.top + (1 - (v / 2 - axis.low / 2) / (axis.high / 2 - axis.low / 2)) * (height - pad.top - pad.bottom);
  const step = RANGES[state.range].ms / buckets.length || 1;
  const centre = (b) => x(b.t + step / 2);

  const nodes = [];
  // Grid and axis labels, with units: time of day or dates, and the field's values.
  axis.ticks.forEach((v, i) => {
    nodes.push(element("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
    nodes.push(element("text", { class: "tick", x: pad.left - 6, y: y(v) + 4, "text-anchor": "end" }, labels[i]));
  });
  const parts = width < 500 ? 2 : 4; // fewer time labels on a phone
  for (let i = 0; i <= parts; i++) {
    const t = since + ((until - since) * i) / parts;
    nodes.push(element("text", { x: x(t), y: height - pad.bottom + 16, "text-anchor": i === 0 ? "start" : i === parts ? "end" : "middle" },
      timeLabel(new Date(t), until - since)));
  }
  nodes.push(element("text", { x: width - pad.right, y: height - 4, "text-anchor": "end" },
    `time (${Intl.DateTimeFormat().resolvedOptions().timeZone || "local"}), ${stats.interval} buckets`));
  const title = offset === null ? stats.field : `${stats.field} ${offset < 0 ? "+" : "−"} ${exponent(Math.abs(offset), 17)}`;
  nodes.push(element("text", { x: pad.left, y: 12 }, title));
  nodes.push(element("line", { class: "axis", x1: pad.left, x2: pad.left, y1: pad.top, y2: height - pad.bottom }));
  nodes.push(element("line", { class: "axis", x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom }));

  // Runs of buckets with figures: an empty bucket (fill=null) breaks band and line, so a gap shows.
  const runs = (has) => {
    const found = [];
    let run = [];
    for (const b of buckets) {
      if (has(b)) run.push(b);
      else if (run.length) { found.push(run); run = []; }
    }
    if (run.length) found.push(run);
    return found;
  };
  for (const r of runs(withBand)) {
    const top = r.map((b) => `${centre(b)},${y(b.max)}`);
    const bottom = r.slice().reverse().map((b) => `${centre(b)},${y(b.min)}`);
    const halfWidth = r.length === 1 ? 2 : 0;
    nodes.push(element("path", { class: "band", d: `M${top.join("L")}L${bottom.join("L")}Z`, "stroke-width": halfWidth }));
  }
  for (const r of runs(withAvg)) {
    nodes.push(element("path", { class: "avg", d: `M${r.map((b) => `${centre(b)},${y(b.avg)}`).join("L")}` }));
  }
  for (const b of full.filter(withAvg)) nodes.push(element("circle", { class: "point", cx: centre(b), cy: y(b.avg), r: 2.5 }));
  const cursor = element("line", { class: "cursor", y1: pad.top, y2: height - pad.bottom, visibility: "hidden" });
  nodes.push(cursor);

  svg.replaceChildren(...nodes);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.dataset.points = String(full.length);
  svg.dataset.buckets = String(buckets.length);
  $("chart-caption").textContent = full.length
    ? `Average per ${stats.interval} with the min–max band; ${full.length} of ${buckets.length} buckets hold readings.`
    : "No numeric readings in this range.";

  // Hover: the nearest bucket's figures.
  svg.onmousemove = (event) => {
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * width;
    let best = null;
    for (const b of buckets) if (!best || Math.abs(centre(b) - px) < Math.abs(centre(best) - px)) best = b;
    if (!best) return;
    cursor.setAttribute("x1", centre(best));
    cursor.setAttribute("x2", centre(best));
    cursor.setAttribute("visibility", "visible");
    const tip = $("tooltip");
    tip.hidden = false;
    tip.textContent = best.count
      ? `${new Date(best.t).toLocaleString()} · avg ${formatNumber(best.avg)} · min ${formatNumber(best.min)} · max ${formatNumber(best.max)} · ${best.count} readings`
      : `${new Date(best.t).toLocaleString()} · no readings`;
    tip.style.left = `${Math.min(box.width - tip.offsetWidth - 4, Math.max(0, (centre(best) / width) * box.width + 8))}px`;
    tip.style.top = "8px";
  };
  svg.onmouseleave = () => {
    cursor.setAttribute("visibility", "hidden");
    $("tooltip").hidden = true;
  };
}

// --- latest readings -----------------------------------------------------------

function renderLatest(readings) {
  const rows = readings.map((reading) => {
    const { _id, sensor, type, value, timestamp, ...other } = reading;
    const when = date(timestamp);
    // A legacy timestamp that is not a date ("yesterday") is shown with the other fields.
    if (when === null && timestamp !== undefined) other.timestamp = timestamp;
    const tr = element("tr");
    tr.append(
      element("td", when ? {} : { class: "none" }, when ? when.toLocaleString() : "no date"),
      element("td", { class: "num" }, formatNumber(value)),
      element("td", {}, type || ""),
      element("td", { class: "other" }, Object.keys(other).length ? JSON.stringify(other) : ""),
    );
    return tr;
  });
  $("latest").tBodies[0].replaceChildren(...rows);
}

// --- flow ----------------------------------------------------------------------

function intervalMs(interval) {
  const units = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };
  return Number(interval.slice(0, -1)) * units[interval.slice(-1)];
}

function query(params) {
  return new URLSearchParams(params).toString();
}

// One refresh at a time. The next is scheduled when the last has finished,
// well or not (setInterval would start another while a slow one still loads,
// and pile them up on a slow service). A choice of the user's (a sensor, a
// range, a key) cancels the refresh in flight and starts one at once, so an
// older answer is never drawn over a newer one.
function refreshNow() {
  clearTimeout(state.timer);
  state.timer = null;
  if (state.current) state.current.abort();
  state.current = null;
  if (state.locked) return; // until a key is given
  const run = new AbortController();
  state.current = run;
  refresh(run.signal).finally(() => {
    if (state.current !== run) return; // cancelled: its successor schedules the next
    state.current = null;
    if (!state.locked) state.timer = setTimeout(refreshNow, REFRESH_SECONDS * 1000);
  });
}

async function refresh(signal) {
  const call = (path) => api(path, signal).then((response) => response.json());
  try {
    // The three requests at once: a refresh takes as long as the slowest, not the sum.
    let detail = null;
    const requests = [call("/sensors/")];
    if (state.sensor) {
      const range = RANGES[state.range];
      // End at the next bucket boundary: exactly range / interval buckets, the last one "now".
      const width = intervalMs(range.interval);
      const until = new Date(Math.ceil(Date.now() / width) * width);
      const since = new Date(until.getTime() - range.ms);
      const sensor = state.sensor;
      requests.push(
        call(`/readings/stats?${query({ sensor, interval: range.interval, since: since.toISOString(), until: until.toISOString(), fill: "null" })}`),
        call(`/readings/?${query({ sensor, limit: 20 })}`),
      );
    }
    const [sensors, stats, latest] = await Promise.all(requests);
    if (signal.aborted) return;
    if (state.sensor) detail = { stats, latest, known: sensors.some((entry) => entry.sensor === state.sensor) };
    // Draw only once everything has arrived: no half-updated page, no flicker.
    renderSensors(sensors);
    if (detail) {
      showKnown(detail.known);
      if (detail.known) {
        renderChart(detail.stats);
        renderLatest(detail.latest);
      }
    }
    say("", false);
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (signal.aborted) return;
    if (!(error instanceof ApiError)) {
      say(`Cannot show the data: ${error.message}`, true);
      throw error; // to the console; the next refresh is scheduled all the same
    }
    if (error.status === 401) {
      state.locked = true;
      sessionStorage.removeItem(KEY_STORAGE);
      $("key-form").hidden = false;
      $("key-input").focus();
      say(error.detail === "unknown API key" ? "That key was not accepted." : "An API key is needed.", true);
    } else if (error.status === 403) {
      say(`This key may not read: ${error.detail}`, true);
    } else if (error.status === 503) {
      say("The database cannot be reached; retrying.", true);
    } else if (error.status === 429) {
      say("Too many requests for this key; retrying.", true);
    } else {
      say(`Cannot load: ${error.detail}`, true);
    }
  }
}

// A sensor named in the address that has no readings is said so, not drawn empty.
function showKnown(known) {
  $("missing").hidden = known;
  $("missing").textContent = known ? "" : `There is no sensor named “${state.sensor}”: no reading of that name is stored.`;
  for (const part of [$("detail-body"), $("download"), document.querySelector(".ranges")]) part.hidden = !known;
}

// The address follows the selection (?sensor=NAME), so a reload or a shared link
// opens the same sensor. replaceState, not pushState: choosing a sensor is not a
// new page, and Back should leave the dashboard rather than step through sensors.
function showInAddress(sensor) {
  const url = new URL(location.href);
  url.searchParams.set("sensor", sensor);
  history.replaceState(history.state, "", url);
}

function select(sensor) {
  state.sensor = sensor;
  $("detail").hidden = false;
  $("detail-title").textContent = sensor;
  document.title = `${sensor} · Sensor readings`;
  for (const li of $("sensors").children) li.classList.toggle("selected", li.dataset.sensor === sensor);
  showInAddress(sensor);
  refreshNow();
}

async function download() {
  try {
    const response = await api(`/readings/export?${query({ sensor: state.sensor, format: "csv" })}`);
    const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
    const link = element("a", { href: URL.createObjectURL(await response.blob()), download: name ? name[1] : "readings.csv" });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    say(`Download failed: ${error.message}`, true);
  }
}

function start() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $("key-input").value.trim());
    $("key-input").value = "";
    $("key-form").hidden = true;
    state.locked = false;
    refreshNow();
  });
  for (const button of document.querySelectorAll(".ranges button")) {
    button.addEventListener("click", () => {
      state.range = button.dataset.range;
      for (const other of document.querySelectorAll(".ranges button")) other.classList.toggle("active", other === button);
      refreshNow();
    });
  }
  $("download").addEventListener("click", download);
  const named = new URLSearchParams(location.search).get("sensor");
  if (named) select(named); // at once, before the sensor list has arrived
  else refreshNow();
}

start();
