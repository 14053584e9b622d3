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
// The list is a page of sensors whose name starts with prefix: cursors[page] is where it
// starts (null: the first), next the cursor of the page after it (null: none).
const state = {
  sensor: null, range: "24h", timer: null, current: null, locked: false,
  prefix: "", cursors: [null], page: 0, next: null,
};
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

// --- alerts ------------------------------------------------------------------

// /alerts/ lists each rule and sensor not ok: "firing" or "pending". A sensor's
// state is its worst; a sensor with none is "ok".
const STATES = { firing: { rank: 0, word: "Firing" }, pending: { rank: 1, word: "Pending" }, ok: { rank: 2, word: "OK" } };

function alertsBySensor(alerts) {
  const found = new Map();
  for (const alert of alerts) {
    if (!found.has(alert.sensor)) found.set(alert.sensor, []);
    found.get(alert.sensor).push(alert);
  }
  return found;
}

function worst(alerts) {
  if (alerts.some((alert) => alert.state === "firing")) return "firing";
  return alerts.length ? "pending" : "ok";
}

// The limit a chart of `field` can draw: a threshold rule's on that field, else null.
function limitOf(alert, field) {
  const rule = alert.rule;
  if (rule.kind !== "threshold" || rule.field !== field) return null;
  const limit = isNumber(rule.above) ? rule.above : rule.below;
  return isNumber(limit) ? limit : null;
}

// When an alert's marked span starts: a quiet sensor's from its last reading,
// a threshold's from when it entered its state.
function spanStart(alert, last) {
  return alert.rule.kind === "quiet" ? last : date(alert.since);
}

// "Firing" and the rule names; a rule in a milder state than the sensor's says which.
function stateText(sensorState, alerts) {
  const badge = element("span", { class: `badge ${sensorState}` }, STATES[sensorState].word);
  const names = alerts.map((alert) => alert.rule.name + (alert.state === sensorState ? "" : ` (${alert.state})`));
  const text = element("span", { class: "state" }, "");
  text.append(badge);
  if (names.length) text.append(" ", element("span", { class: "rules" }, names.join(", ")));
  return text;
}

// --- sensors -----------------------------------------------------------------

// Firing sensors first, then pending, then the rest, each group by name. A
// sensor with an alert that is not on this page is listed too (a firing
// sensor is never out of sight), if its name fits the search: when this page
// is the whole list, it has no stored reading (deleted since); otherwise it
// may be on another page.
function sensorRows(sensors, alerts, whole) {
  const bySensor = alertsBySensor(alerts);
  const entries = sensors.slice();
  const shown = new Set(sensors.map((entry) => entry.sensor));
  for (const name of bySensor.keys()) {
    if (!shown.has(name) && name.startsWith(state.prefix)) {
      entries.push({ sensor: name, count: whole ? 0 : null, last: null, latest: null });
    }
  }
  const rows = entries.map((entry) => {
    const own = bySensor.get(entry.sensor) || [];
    return { entry, alerts: own, state: worst(own) };
  });
  const byName = (a, b) => (a.entry.sensor < b.entry.sensor ? -1 : a.entry.sensor > b.entry.sensor ? 1 : 0);
  return rows.sort((a, b) => STATES[a.state].rank - STATES[b.state].rank || byName(a, b));
}

function unitOf(latest) {
  const unit = typeof latest.unit === "string" ? latest.unit : "";
  return [unit, typeof latest.type === "string" ? latest.type : ""].filter(Boolean).join(" ");
}

// day: the overview's window (/sensors/overview), whose sensors carry their averages; null
// when a sensor is shown.
function renderSensors(rows, day) {
  const items = rows.map(({ entry, alerts, state: sensorState }) => {
    const last = date(entry.last); // null: none of its readings has a date, so no age either
    const quiet = last !== null && Date.now() - last.getTime() > QUIET_MINUTES * 60e3;
    const latest = entry.latest || {};
    const li = element("li", { "data-sensor": entry.sensor, "data-state": sensorState, class: sensorState });
    if (quiet) li.classList.add("quiet");
    if (entry.sensor === state.sensor) li.classList.add("selected");
    const button = element("button", { type: "button" });
    const unit = unitOf(latest);
    button.append(element("span", { class: "name" }, entry.sensor), stateText(sensorState, alerts));
    if (day && entry.averages) button.append(sparkline(day, entry.averages, alerts, last));
    const age = last ? `last ${ago(last)}` : entry.count ? "no dated readings" : "no readings stored";
    const count = `${(entry.count || 0).toLocaleString()} reading${entry.count === 1 ? "" : "s"}`;
    button.append(
      element("span", { class: "value" }, formatNumber(latest.value) + (unit ? ` ${unit}` : "")),
      element("span", { class: "meta" },
        entry.count === null ? "alert · not on this page" : `${quiet ? "quiet · " : ""}${age} · ${count}`),
    );
    button.addEventListener("click", () => select(entry.sensor));
    li.append(button);
    return li;
  });
  $("sensors").replaceChildren(...items);
  $("no-sensors").hidden = rows.length > 0;
  const counts = { firing: 0, pending: 0, ok: 0 };
  for (const row of rows) counts[row.state] += 1;
  $("summary").textContent = rows.length
    ? `${counts.firing} firing · ${counts.pending} pending · ${counts.ok} OK`
    : "";
}

// --- sparkline ------------------------------------------------------------------

const SPARK = { width: 160, height: 36, pad: 3 };

// The last 24 h of a sensor in a few pixels: one point per hour (its average,
// from /sensors/overview), a gap for an empty hour, its firing or pending
// alerts shaded from when they started and their limits dashed (the scale
// takes them in, so they always show).
function sparkline(day, averages, alerts, last) {
  const { width, height, pad } = SPARK;
  const since = date(day.since).getTime();
  const until = date(day.until).getTime();
  const hour = (until - since) / (averages.length || 1);
  const buckets = averages.map((v, i) => ({ t: since + i * hour, v: isNumber(v) ? v : null }));
  const limits = alerts.map((alert) => ({ alert, limit: limitOf(alert, day.field) })).filter((l) => l.limit !== null);
  const shown = buckets.filter((b) => b.v !== null);
  const all = shown.map((b) => b.v).concat(limits.map((l) => l.limit));
  // Stretched to the row's width (preserveAspectRatio none); the CSS keeps strokes even.
  const svg = element("svg", { class: "spark", viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img" });
  svg.dataset.points = String(shown.length);
  svg.dataset.buckets = String(buckets.length);
  const step = (until - since) / (buckets.length || 1);
  const at = (t) => pad + ((Math.min(Math.max(t, since), until) - since) / (until - since)) * (width - 2 * pad);
  const low = Math.min(...all);
  const high = Math.max(...all);
  // Halves: high - low overflows for values across ±1.7e308.
  const y = (v) => (high === low ? height / 2 : pad + (1 - (v / 2 - low / 2) / (high / 2 - low / 2)) * (height - 2 * pad));

  const nodes = [];
  for (const alert of alerts) {
    const start = spanStart(alert, last);
    if (start === null) continue;
    const left = at(start.getTime());
    const right = at(Date.now());
    if (right > left) nodes.push(element("rect", { class: `span ${alert.state}`, x: left, y: 0, width: right - left, height }));
  }
  for (const { alert, limit } of limits) {
    nodes.push(element("line", { class: `limit ${alert.state}`, x1: pad, x2: width - pad, y1: y(limit), y2: y(limit) }));
  }
  let run = [];
  const runs = [];
  for (const b of buckets) {
    if (b.v !== null) run.push(b);
    else if (run.length) { runs.push(run); run = []; }
  }
  if (run.length) runs.push(run);
  // A lone hour is a dot: a zero-length line with round caps.
  for (const r of runs) {
    const d = r.map((b, i) => `${i ? "L" : "M"}${at(b.t + step / 2).toFixed(1)},${y(b.v).toFixed(1)}`).join("") + (r.length === 1 ? "h0" : "");
    nodes.push(element("path", { class: r.length === 1 ? "run lone" : "run", d }));
  }
  svg.replaceChildren(...nodes);
  svg.dataset.runs = String(runs.length);
  svg.setAttribute("aria-label", shown.length
    ? `last 24 h: ${shown.length} of ${buckets.length} hours with readings, from ${formatNumber(Math.min(...shown.map((b) => b.v)))} to ${formatNumber(Math.max(...shown.map((b) => b.v)))}`
    : "no readings in the last 24 h");
  return svg;
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

// alerts: this sensor's from /alerts/; last: its newest reading's time (where a quiet span starts).
function renderChart(stats, alerts, last) {
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
  // A threshold's limit is always on the axis, however far the values are from it.
  const limits = alerts.map((alert) => ({ alert, limit: limitOf(alert, stats.field) })).filter((l) => l.limit !== null);
  const lows = banded.map((b) => b.min).concat(limits.map((l) => l.limit));
  const highs = banded.map((b) => b.max).concat(limits.map((l) => l.limit));
  const axis = lows.length ? niceTicks(Math.min(...lows), Math.max(...highs)) : niceTicks(0, 1);
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

  // Each alert's time so far, shaded from when it started (a quiet sensor's:
  // from its last reading) to now, under the data.
  const within = (t) => x(Math.min(Math.max(t, since), until));
  for (const alert of alerts) {
    const start = spanStart(alert, last);
    if (start === null) continue;
    const left = within(start.getTime());
    const right = within(Date.now());
    if (right <= left) continue;
    const kind = alert.rule.kind === "quiet" ? "quiet" : alert.state;
    nodes.push(element("rect", {
      class: `span ${alert.state} ${alert.rule.kind}`, x: left, y: pad.top, width: right - left, height: height - pad.top - pad.bottom,
      "data-rule": alert.rule.name, "data-state": alert.state,
    }));
    nodes.push(element("line", { class: `span-edge ${kind}`, x1: left, x2: left, y1: pad.top, y2: height - pad.bottom }));
  }

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
  // Limits over the data, each named where it starts: "greenhouse too cold: value below 5".
  for (const { alert, limit } of limits) {
    const at = y(limit);
    nodes.push(element("line", {
      class: `limit ${alert.state}`, x1: pad.left, x2: width - pad.right, y1: at, y2: at,
      "data-rule": alert.rule.name, "data-limit": String(limit), "data-state": alert.state,
    }));
    nodes.push(element("text", { class: `limit-label ${alert.state}`, x: pad.left + 4, y: at - 4 < pad.top + 10 ? at + 13 : at - 4 },
      `${alert.rule.name}: ${alert.rule.condition}`));
  }
  const cursor = element("line", { class: "cursor", y1: pad.top, y2: height - pad.bottom, visibility: "hidden" });
  nodes.push(cursor);

  svg.replaceChildren(...nodes);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.dataset.points = String(full.length);
  svg.dataset.buckets = String(buckets.length);
  svg.dataset.limits = String(limits.length);
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

// The chart's legend for alerts, in words: state, since when, rule, condition.
function renderAlerts(alerts, field, last) {
  const items = alerts.map((alert) => {
    const start = date(alert.since);
    const li = element("li", { class: alert.state, "data-rule": alert.rule.name });
    li.append(element("span", { class: `badge ${alert.state}` }, STATES[alert.state].word));
    const parts = [start ? ` since ${start.toLocaleString()} (${ago(start)}): ` : ": ", alert.rule.name, ` (${alert.rule.condition})`];
    if (alert.rule.kind === "quiet") parts.push(last ? `, last reading ${ago(last)}` : "");
    else if (isNumber(alert.value)) parts.push(`, value ${formatNumber(alert.value)}`);
    if (alert.rule.kind === "threshold" && limitOf(alert, field) === null) {
      parts.push(` — its limit is on ${alert.rule.field}, not on this chart of ${field}`);
    }
    li.append(parts.join(""));
    return li;
  });
  if (!items.length) items.push(element("li", { class: "none" }, "No rule is firing or pending for this sensor."));
  $("chart-alerts").replaceChildren(...items);
  const own = worst(alerts);
  $("detail-state").hidden = false;
  $("detail-state").className = `badge ${own}`;
  $("detail-state").textContent = STATES[own].word;
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
// range, a key, a search, a page) cancels the refresh in flight and starts one
// at once, so an older answer is never drawn over a newer one.
function refreshNow() {
  clearTimeout(state.timer);
  state.timer = null;
  if (state.current) state.current.abort();
  state.current = null;
  if (state.locked) return; // until a key is given
  const run = new AbortController();
  state.current = run;
  refresh(run).finally(() => {
    if (state.current !== run) return; // cancelled: its successor schedules the next
    state.current = null;
    if (!state.locked) state.timer = setTimeout(refreshNow, REFRESH_SECONDS * 1000);
  });
}

// The hour-aligned window of `count` buckets of `interval` ending at the next edge after now.
function bucketWindow(interval, count) {
  const width = intervalMs(interval);
  const until = new Date(Math.ceil(Date.now() / width) * width);
  return { since: new Date(until.getTime() - count * width), until };
}

function statsPath(sensor, interval, count) {
  const { since, until } = bucketWindow(interval, count);
  return `/readings/stats?${query({ sensor, interval, since: since.toISOString(), until: until.toISOString(), fill: "null" })}`;
}

// The page of the list: its search and where it starts.
function pageParams() {
  const params = {};
  if (state.prefix) params.prefix = state.prefix;
  if (state.cursors[state.page]) params.cursor = state.cursors[state.page];
  return params;
}

// The cursor of the next page, from a Link header (RFC 8288), or null.
function nextCursor(response) {
  const link = /<([^>]*)>;\s*rel="next"/.exec(response.headers.get("Link") || "");
  return link ? new URL(link[1], location.href).searchParams.get("cursor") : null;
}

async function refresh(run) {
  const signal = run.signal;
  let failure = null;
  // The first request to fail cancels the others: their answers would not be drawn.
  const send = (path) => api(path, signal).catch((error) => {
    if (!signal.aborted) {
      failure = error;
      run.abort();
    }
    throw error;
  });
  const call = (path) => send(path).then((response) => response.json());
  try {
    // The requests at once: a refresh takes as long as the slowest, not the sum.
    // The overview is one request for its page of sensors with their day, and
    // /alerts/; a sensor adds its chart, its latest readings and its summary.
    const sensor = state.sensor;
    const list = sensor
      ? send(`/sensors/?${query(pageParams())}`)
      : send(`/sensors/overview?${query({ ...pageParams(), until: bucketWindow("1h", 24).until.toISOString() })}`);
    const requests = [list.then(async (response) => ({ body: await response.json(), next: nextCursor(response) })), call("/alerts/")];
    if (sensor) {
      const range = RANGES[state.range];
      // Exactly range / interval buckets, the last one "now".
      requests.push(
        call(statsPath(sensor, range.interval, range.ms / intervalMs(range.interval))),
        call(`/readings/?${query({ sensor, limit: 20 })}`),
        call(`/sensors/?${query({ prefix: sensor, limit: 1 })}`), // the first name starting with it: itself, if it has readings
      );
    }
    const [page, alerts, stats, latest, own] = await Promise.all(requests);
    if (signal.aborted) return;
    const day = sensor ? null : page.body;
    const sensors = sensor ? page.body : day.sensors;
    state.next = page.next;
    // Draw only once everything has arrived: no half-updated page, no flicker.
    const whole = state.page === 0 && state.next === null;
    const rows = sensorRows(sensors, alerts, whole);
    renderSensors(rows, day);
    renderPager(sensors.length);
    if (sensor) {
      const known = own.find((entry) => entry.sensor === sensor);
      showKnown(Boolean(known));
      if (known) {
        const mine = alerts.filter((alert) => alert.sensor === sensor);
        const last = date(known.last);
        renderChart(stats, mine, last);
        renderAlerts(mine, stats.field, last);
        renderLatest(latest);
      }
    }
    say("", false);
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (caught) {
    if (failure === null && signal.aborted) return; // cancelled by a newer refresh
    const error = failure || caught;
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

// Which page of the list this is, and whether there is one before or after it.
function renderPager(count) {
  $("previous").disabled = state.page === 0;
  $("next").disabled = state.next === null;
  const search = state.prefix ? ` starting with “${state.prefix}”` : "";
  $("page-info").textContent = count || state.page ? `page ${state.page + 1}: ${count} sensor${count === 1 ? "" : "s"}${search}` : "";
}

// Another page, or another search (from its first page).
function turn(step) {
  if (step > 0 && state.next === null) return;
  if (step > 0) state.cursors[state.page + 1] = state.next;
  state.page = Math.max(0, state.page + step);
  refreshNow();
}

function search(prefix) {
  if (prefix === state.prefix) return;
  state.prefix = prefix;
  state.cursors = [null];
  state.page = 0;
  state.next = null;
  refreshNow();
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
  if (sensor === null) url.searchParams.delete("sensor");
  else url.searchParams.set("sensor", sensor);
  history.replaceState(history.state, "", url);
}

// A sensor, or null: the overview (every sensor with its day and its alerts).
function select(sensor) {
  state.sensor = sensor;
  document.body.classList.toggle("overview", sensor === null);
  $("detail").hidden = sensor === null;
  $("detail-title").textContent = sensor || "";
  $("detail-state").hidden = true;
  document.title = sensor === null ? "Sensor readings" : `${sensor} · Sensor readings`;
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
  $("previous").addEventListener("click", () => turn(-1));
  $("next").addEventListener("click", () => turn(1));
  let typing = null; // a search starts once the typing pauses, not at every key
  $("search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => search($("search").value), 300);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typing);
    search($("search").value);
  });
  $("overview").addEventListener("click", () => select(null));
  const named = new URLSearchParams(location.search).get("sensor");
  if (named) select(named); // at once, before the sensor list has arrived
  else {
    document.body.classList.add("overview");
    refreshNow();
  }
}

start();
