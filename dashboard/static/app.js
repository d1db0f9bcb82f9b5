// The dashboard page: fetches each panel's JSON from /api/ every few seconds and draws it.
// A state clicked on the map filters the anomalies, the sensors and the windows; a sensor chosen
// (or an anomaly clicked) is drawn with the zscore band it was judged by. ?state=XX&sensor=GUID
// in the address preselects both.
"use strict";

const view = {state: null, detector: null, sensor: null, config: null, timer: null, drawn: {},
              generation: 0};
const TILE = 46, GAP = 4;
const PLOT = {displayModeBar: false, responsive: true};
const LAYOUT = {margin: {l: 64, r: 12, t: 30, b: 30}, height: 230, font: {size: 11},
                legend: {orientation: "h", y: -0.18}, paper_bgcolor: "#fff", plot_bgcolor: "#fff"};

const $ = (selector) => document.querySelector(selector);
const fmt = (x, digits = 1) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
const int = (x) => (x === null || x === undefined ? "–" : Number(x).toLocaleString("en-US"));
const shortTime = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "") : "–");

async function get(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v != null));
  const response = await fetch(`${path}?${query}`);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

// --- colour: cold blue → pale → hot red over the values shown --------------------------------
function colour(value, low, high) {
  const t = high > low ? Math.min(1, Math.max(0, (value - low) / (high - low))) : 0.5;
  const stops = [[49, 104, 180], [247, 247, 200], [205, 45, 38]];
  const [a, b, u] = t < 0.5 ? [stops[0], stops[1], t * 2] : [stops[1], stops[2], (t - 0.5) * 2];
  const mix = a.map((v, i) => Math.round(v + (b[i] - v) * u));
  return `rgb(${mix.join(",")})`;
}

function svgElement(tag, attributes, text) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function drawMap(states) {
  const svg = $("#map");
  const byState = Object.fromEntries(states.map((s) => [s.state, s]));
  const values = states.map((s) => s.avg_temperature);
  const low = Math.min(...values), high = Math.max(...values);
  svg.setAttribute("viewBox", `0 0 ${12 * (TILE + GAP)} ${8 * (TILE + GAP)}`);
  svg.replaceChildren();
  for (const [code, col, row] of US_GRID) {
    const s = byState[code];
    const g = svgElement("g", {
      class: "tile" + (view.state === code ? " selected" : "") + (s ? "" : " empty"),
      "data-state": code, transform: `translate(${col * (TILE + GAP)},${row * (TILE + GAP)})`});
    const rect = svgElement("rect", {width: TILE, height: TILE, rx: 4,
                                     fill: s ? colour(s.avg_temperature, low, high) : "#e6e6e6"});
    const label = svgElement("text", {x: TILE / 2, y: 19, class: "code"}, code);
    const value = svgElement("text", {x: TILE / 2, y: 36, class: "value"},
                             s ? fmt(s.avg_temperature) : "");
    if (s) g.setAttribute("data-avg", s.avg_temperature);
    const title = svgElement("title", {}, s
      ? `${code}: ${fmt(s.avg_temperature)} °F in batch ${s.batch_id} (${int(s.messages)} messages, `
        + `${int(s.sensors)} sensors); since the start ${int(s.all_messages)} messages, `
        + `${int(s.all_sensors)} sensors, ${int(s.anomalies)} anomalies`
      : `${code}: no readings yet`);
    g.append(rect, label, value, title);
    g.addEventListener("click", () => selectState(view.state === code ? null : code));
    svg.append(g);
  }
  $("#map-legend").innerHTML = states.length
    ? `<span style="background:${colour(low, low, high)}"></span>${fmt(low)} °F
       <span style="background:${colour((low + high) / 2, low, high)}"></span>
       <span style="background:${colour(high, low, high)}"></span>${fmt(high)} °F`
    : "";
}

function drawCards(o) {
  const trigger = view.config.trigger_seconds;
  const slow = o.seconds != null && o.seconds > trigger;
  const cards = [
    ["Messages", int(o.running_messages),
     `${int(o.messages)} in batch ${o.batch_id} · ${int(o.all_consumed)} records read`],
    ["Sensors", int(o.total_sensors), `${int(o.states)} states in the batch`],
    ["Anomalies", int(o.all_anomalies), "since the start"],
    ["Quarantined", int(o.all_quarantined), `${int(o.all_duplicates)} duplicates · ${int(o.all_late)} late`],
    ["Batch compute", o.seconds == null ? "–" : `${fmt(o.seconds, 2)} s`,
     `trigger ${fmt(trigger, 0)} s` + (slow ? " · falling behind" : ""), slow ? "warn" : ""],
    ["Watermark", shortTime(o.watermark).slice(11) || "–", `batch at ${shortTime(o.batch_time).slice(11)}`],
  ];
  $("#cards").innerHTML = "";
  for (const [name, value, note, cls] of cards) {
    const div = document.createElement("div");
    div.className = "card " + (cls || "");
    div.dataset.card = name;
    div.innerHTML = `<div class="name"></div><div class="value"></div><div class="note"></div>`;
    div.querySelector(".name").textContent = name;
    div.querySelector(".value").textContent = value;
    div.querySelector(".note").textContent = note;
    $("#cards").append(div);
  }
}

function drawTimeline(rows) {
  const x = rows.map((r) => r.batch_id);
  const bar = (name, key, color) => ({type: "bar", name, x, y: rows.map((r) => r[key]),
                                      marker: {color}});
  Plotly.react("timeline-ledger", [
    bar("accepted", "accepted", "#4c78a8"), bar("quarantined", "quarantined", "#e45756"),
    bar("duplicates", "duplicates", "#b279a2"),
    {type: "scatter", mode: "lines", name: "late (of accepted)", x,
     y: rows.map((r) => r.late), line: {color: "#f58518"}},
  ], {...LAYOUT, barmode: "stack", title: {text: "Records per batch (the ledger), by batch id"}},
  PLOT);
  const trigger = view.config.trigger_seconds;
  Plotly.react("timeline-duration", [
    {type: "scatter", mode: "lines+markers", name: "batch compute time", x,
     y: rows.map((r) => r.seconds), marker: {size: 4}, line: {color: "#54a24b"}},
    {type: "scatter", mode: "lines", name: `trigger (${trigger} s)`, x: [x[0], x[x.length - 1]],
     y: [trigger, trigger], line: {color: "#e45756", dash: "dash"}},
  ], {...LAYOUT, title: {text: "Batch compute time (before its writes) against the trigger (s), by batch id"},
      yaxis: {rangemode: "tozero"}}, PLOT);
  Plotly.react("timeline-watermark", [
    {type: "scatter", mode: "lines+markers", name: "watermark delay", x,
     y: rows.map((r) => r.watermark_delay), marker: {size: 4}, line: {color: "#72b7b2"},
     text: rows.map((r) => `watermark ${shortTime(r.watermark)}`)},
  ], {...LAYOUT, title: {text: "Event-time watermark: seconds behind the batch, by batch id"},
      showlegend: false, yaxis: {rangemode: "tozero"}}, PLOT);
}

function drawAnomalies(data) {
  const chips = $("#detector-counts");
  chips.replaceChildren();
  const all = data.by_detector.reduce((n, d) => n + d.anomalies, 0);
  for (const d of [{detector: null, anomalies: all}, ...data.by_detector]) {
    const chip = document.createElement("button");
    chip.className = "chip" + (view.detector === d.detector ? " on" : "");
    chip.dataset.detector = d.detector || "";
    chip.textContent = `${d.detector || "all"} ${int(d.anomalies)}`;
    chip.addEventListener("click", () => { view.detector = d.detector; refresh(); });
    chips.append(chip);
  }
  const body = $("#anomaly-feed tbody");
  body.replaceChildren();
  for (const a of data.feed) {
    const row = body.insertRow();
    row.dataset.guid = a.guid;
    for (const text of [a.batch_id, shortTime(a.event_time), a.state, a.guid.slice(0, 13),
                        fmt(a.temperature), a.detector, a.reason, fmt(a.score, 2)]) cell(row, text);
    row.title = `${a.guid}: click to draw its readings`;
    row.addEventListener("click", () => selectSensor(a.guid));
  }
  if (!data.feed.length) cell(body.insertRow(), "no anomaly yet", "muted").colSpan = 8;
}

function drawSensors(list) {
  const select = $("#sensor-select");
  const known = new Set(list.map((s) => s.guid));
  if (view.sensor === null && list.length) view.sensor = list[0].guid;
  if (view.sensor !== null && !known.has(view.sensor)) list = [{guid: view.sensor}, ...list];
  select.replaceChildren(...list.map((s) => {
    const option = new Option(
      s.state ? `${s.guid.slice(0, 13)} · ${s.state} · ${s.anomalies} anomalies` : s.guid, s.guid);
    option.selected = s.guid === view.sensor;
    return option;
  }));
}

// The sensor chart's y range: its band and its unflagged readings, padded. A finding far off
// (a spike of -500 °F) is drawn at the edge, as a triangle, with its value in the hover text,
// rather than squashing the readings and the band to a line.
function sensorRange(readings, flagged) {
  const at = new Set(flagged.map((a) => a.event_time));
  const values = readings.flatMap((p) => (at.has(p.event_time) ? [] : [p.temperature]))
    .concat(readings.flatMap((p) => (p.zscore_low === null ? [] : [p.zscore_low, p.zscore_high])));
  if (!values.length) return null;
  const low = Math.min(...values), high = Math.max(...values), pad = Math.max(1, (high - low) * 0.1);
  return [low - pad, high + pad];
}

function drawSensor(data) {
  const r = data.readings;
  const x = r.map((p) => p.event_time);
  const banded = r.filter((p) => p.zscore_low !== null);
  const range = sensorRange(r, data.anomalies);
  const clamp = (t) => (range === null ? t : Math.min(range[1], Math.max(range[0], t)));
  const shape = (t) => (clamp(t) === t ? "x" : t > range[1] ? "triangle-up" : "triangle-down");
  const traces = [
    {type: "scatter", mode: "lines", x: banded.map((p) => p.event_time),
     y: banded.map((p) => p.zscore_low), line: {width: 0}, hoverinfo: "skip", showlegend: false},
    {type: "scatter", mode: "lines", name: "zscore band", x: banded.map((p) => p.event_time),
     y: banded.map((p) => p.zscore_high), fill: "tonexty", fillcolor: "rgba(76,120,168,0.18)",
     line: {width: 0}},
    {type: "scatter", mode: "lines+markers", name: "readings", x, y: r.map((p) => p.temperature),
     marker: {size: 3}, line: {color: "#333", width: 1}},
    {type: "scatter", mode: "markers", name: "flagged", x: data.anomalies.map((a) => a.event_time),
     y: data.anomalies.map((a) => clamp(a.temperature)),
     customdata: data.anomalies.map((a) => a.temperature),
     text: data.anomalies.map((a) => `${fmt(a.temperature)} °F · ${a.detector}: ${a.reason} `
                                     + `(${fmt(a.score, 2)})`),
     hoverinfo: "x+text",
     marker: {color: "#e45756", size: 10, symbol: data.anomalies.map((a) => shape(a.temperature))}},
  ];
  Plotly.react("sensor-chart", traces, {...LAYOUT, height: 320,
    yaxis: range === null ? {} : {range},
    title: {text: `${data.guid}: readings (°F), the zscore band they were judged by, findings`},
    legend: {orientation: "h", y: -0.12}}, PLOT);
  const state = r.length ? r[r.length - 1].state : "";
  $("#sensor-note").textContent =
    `${state} · ${r.length} readings · ${data.anomalies.length} flagged`;
}

function drawWindows(rows) {
  const body = $("#windows tbody");
  body.replaceChildren();
  for (const w of rows) {
    const row = body.insertRow();
    row.dataset.state = w.state;
    for (const text of [`${shortTime(w.window_start)} – ${shortTime(w.window_end).slice(11)}`,
                        w.state, fmt(w.avg_temperature), fmt(w.min_temperature),
                        fmt(w.max_temperature), fmt(w.stddev_temperature, 2), int(w.messages),
                        int(w.sensors)]) cell(row, text);
  }
  if (!rows.length) cell(body.insertRow(), "no window closed yet", "muted").colSpan = 8;
  $("#windows-note").textContent = view.state ? `(${view.state}, last 10)` : "(each state's latest)";
}

function showState(state) {
  view.state = state;
  $("#state-filter").textContent = state || "all states";
  $("#clear-state").hidden = !state;
}

function selectState(state) {
  showState(state);
  view.sensor = null;
  refresh();
}

function selectSensor(guid) {
  view.sensor = guid;
  refresh();
}

// Draws a panel only when its data (or the selection it depends on) changed since it was last
// drawn: no flicker, and hovers and scroll positions survive a refresh that brought nothing new.
function draw(panel, fn, data, ...depends) {
  const key = JSON.stringify([data, ...depends]);
  if (view.drawn[panel] === key) return;
  view.drawn[panel] = key;
  fn(data);
}

async function refresh() {
  clearTimeout(view.timer);
  // A click starts a new refresh while an older one may still wait for its data: the older one
  // then draws nothing (it would draw the lists of the state or sensor chosen before).
  const generation = ++view.generation;
  const current = () => generation === view.generation;
  const status = $("#status");
  try {
    const overview = await get("/api/overview");
    if (!current()) return;
    if (!overview) {
      status.textContent = `waiting for the job's first batch in ${view.config.output_dir}`;
      status.className = "status waiting";
      return;
    }
    const batch = overview.batch_id; // every panel of this refresh shows batches up to it
    const [states, timeline, anomalies, sensors, windows] = await Promise.all([
      get("/api/states", {batch}), get("/api/timeline", {batch}),
      get("/api/anomalies", {state: view.state, detector: view.detector, batch}),
      get("/api/sensors", {state: view.state, batch}),
      get("/api/windows", {state: view.state, batch})]);
    if (!current()) return;
    draw("cards", drawCards, overview);
    draw("map", drawMap, states, view.state);
    draw("timeline", drawTimeline, timeline);
    draw("anomalies", drawAnomalies, anomalies, view.detector);
    draw("sensors", drawSensors, sensors, view.sensor);
    draw("windows", drawWindows, windows, view.state);
    if (view.sensor) {
      const sensor = await get("/api/sensor", {guid: view.sensor, batch});
      if (!current()) return;
      draw("sensor", drawSensor, sensor);
    }
    status.textContent = `batch ${overview.batch_id} at ${shortTime(overview.batch_time)} UTC · `
      + `refreshed ${new Date().toLocaleTimeString()}`;
    status.className = "status ok";
    document.body.dataset.batch = overview.batch_id;
  } catch (e) {
    if (!current()) return;
    status.textContent = `cannot read the tables: ${e.message} (retrying)`;
    status.className = "status error";
  } finally {
    if (current()) view.timer = setTimeout(refresh, view.config.refresh_seconds * 1000);
  }
}

async function start() {
  view.config = await get("/api/config");
  const params = new URLSearchParams(location.search);
  $("#sensor-select").addEventListener("change", (e) => selectSensor(e.target.value));
  $("#clear-state").addEventListener("click", () => selectState(null));
  view.sensor = params.get("sensor");
  if (params.get("state")) showState(params.get("state").toUpperCase());
  refresh();
}

start();
