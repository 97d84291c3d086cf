// The workbench page. Every name that comes from the data (file names, ids, class tags,
// feature names) is put on the page as text (textContent), never parsed as HTML; plots
// carry only fixed labels.
"use strict";

const state = { run: null, items: [], selected: null, busy: false };
const $ = (id) => document.getElementById(id);

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : response.statusText;
    throw new Error(detail);
  }
  return data;
}

function query(params) {
  return Object.entries(params)
    .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v)).join("&");
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  row.appendChild(td);
}

function fmt(x) { return x === null || x === undefined ? "–" : Number(x).toFixed(3); }

async function loadFiles() {
  const data = await api("GET", "/api/files");
  const select = $("file");
  select.replaceChildren();
  for (const f of data.files) {
    const option = document.createElement("option");
    option.value = f.path;
    option.textContent = f.path + (f.has_labels ? " (labelled)" : "");
    select.appendChild(option);
  }
}

function setExports() {
  for (const what of ["labels", "scores"]) {
    for (const format of ["csv", "parquet", "fits"]) {
      $(`export-${what}-${format}`).href =
        "/api/export?" + query({ run: state.run, what, format });
    }
  }
}

// ---------------------------------------------------------------- the data and run page
const AUTOMATIC = { reducers: ["none", "pca"], levels: 3, metrics: "all", spaces: ["input"], seed: 0 };
const CURVE_ROLES = ["id", "time", "mag", "err", "band"];
const names = (text) => text.split(",").map((r) => r.trim()).filter((r) => r);

function formOptions() {
  const options = {};
  if ($("choice-chosen").checked) {
    const metrics = $("opt-metrics").value.trim();
    Object.assign(options, {
      reducers: names($("opt-reducers").value),
      levels: Number($("opt-levels").value),
      metrics: metrics === "all" ? "all" : names(metrics),
      spaces: names($("opt-spaces").value),
      seed: Number($("opt-seed").value),
    });
  }
  if ($("as-curves").checked) {
    const curves = { representation: $("curve-representation").value };
    for (const role of CURVE_ROLES) {
      const column = $("curve-" + role).value;
      if (column) curves[role] = column;
    }
    options.curves = curves;
  }
  return options;
}

function showOptions(options) {
  const automatic = ["reducers", "levels", "metrics", "spaces", "seed"].every(
    (k) => JSON.stringify(options[k]) === JSON.stringify(AUTOMATIC[k]));
  $("choice-auto").checked = automatic;
  $("choice-chosen").checked = !automatic;
  $("chosen-options").disabled = automatic;
  $("opt-reducers").value = options.reducers.join(", ");
  $("opt-levels").value = options.levels;
  $("opt-metrics").value = options.metrics === "all" ? "all" : options.metrics.join(", ");
  $("opt-spaces").value = options.spaces.join(", ");
  $("opt-seed").value = options.seed;
  $("as-curves").checked = Boolean(options.curves);
}

function showProgress(status) {
  $("open-progress").value = status.fraction;
  $("open-phase").textContent = status.state === "opening"
    ? status.phase + " (step " + (status.steps_done + 1) + " of " + status.phases.length +
      "), " + Math.round(status.seconds) + " s"
    : status.state + (status.fit === "saved" ? ": reopened from the saved fit" :
      status.fit === "fit" ? ": fitted" : "");
}

// Open a run in the background and poll its progress until it is open (or failed).
async function openInBackground(path, options) {
  const body = options ? { path, options, wait: false } : { path, wait: false };
  let status = await api("POST", "/api/runs", body);
  while (status.state === "opening") {
    showProgress(status);
    setStatus("Opening " + path + ": " + status.phase + "…");
    await new Promise((resolve) => window.setTimeout(resolve, 300));
    status = await api("GET", "/api/runs/status?" + query({ run: status.run }));
  }
  showProgress(status);
  if (status.state === "failed") throw new Error(status.error);
  return api("GET", "/api/run?" + query({ run: status.run }));
}

async function openRun(path, options) {
  state.busy = true;
  try {
    const run = await openInBackground(path, options);
    showOptions(run.options);
    state.run = run.run;
    $("run-name").textContent = run.run;
    $("file").value = run.run;
    $("objects").textContent = run.objects;
    $("labelled").textContent = run.labelled;
    const url = new URL(window.location);
    url.searchParams.set("run", run.run);
    window.history.replaceState(null, "", url);
    setExports();
    setStatus(run.adoption || "Run open: " + run.objects + " objects, " + run.labelled +
              " labelled" + (run.fit === "saved" ? " (reopened without fitting)." : "."));
    $("data-pane").hidden = true;
    await loadList(null);
  } finally {
    state.busy = false;
  }
}

function option(select, value, text) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = text;
  select.appendChild(element);
}

async function loadColumns() {
  const path = $("file").value;
  if ($("data-pane").hidden || !path) return;
  $("columns-of").textContent = path;
  const body = $("columns").tBodies[0];
  body.replaceChildren();
  $("columns-note").textContent = "reading…";
  const data = await api("GET", "/api/columns?" + query({ path }));
  if ($("file").value !== path) return;
  for (const c of data.columns) {
    const row = document.createElement("tr");
    cell(row, c.name);
    cell(row, c.role || "–");
    body.appendChild(row);
  }
  $("columns-note").textContent = data.table
    ? [data.error, ...data.notes].filter((t) => t).join(" ")
    : data.kind + " data, shape " + data.shape.join(" × ") + " (no columns)";
  $("curve-options").disabled = !data.table;
  for (const role of CURVE_ROLES) {
    const select = $("curve-" + role);
    select.replaceChildren();
    if (role === "err" || role === "band") option(select, "", "(none)");
    for (const c of data.columns) option(select, c.name, c.name);
  }
}

async function loadEarlierRuns() {
  const data = await api("GET", "/api/runs");
  const body = $("earlier-runs").tBodies[0];
  body.replaceChildren();
  for (const r of data.runs) {
    const row = document.createElement("tr");
    cell(row, r.path);
    cell(row, r.objects);
    cell(row, r.labelled);
    const o = r.options;
    cell(row, o.reducers.join("+") + ", levels 1–" + o.levels + ", metrics " +
      (o.metrics === "all" ? "all" : o.metrics.join("+")) + ", " + o.spaces.join("+") +
      ", seed " + o.seed + (o.curves ? ", light curves" : ""));
    cell(row, new Date(r.saved_at * 1000).toLocaleString());
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = r.open ? "Show" : "Reopen";
    button.addEventListener("click", () => openRun(r.path, r.open ? undefined : r.options)
      .catch((error) => setStatus(error.message, true)));
    td.appendChild(button);
    row.appendChild(td);
    body.appendChild(row);
  }
}

async function uploadFile() {
  const file = $("upload-file").files[0];
  if (!file) { setStatus("Choose a file to upload first.", true); return; }
  const form = new FormData();
  form.append("file", file);
  setStatus("Uploading " + file.name + "…");
  const response = await fetch("/api/upload", { method: "POST", body: form });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(typeof data.detail === "string" ? data.detail : response.statusText);
  }
  await loadFiles();
  $("file").value = data.path;
  setStatus("Uploaded as " + data.path + " (" + data.size + " bytes).");
  await loadColumns();
}

function toggleData() {
  $("data-pane").hidden = !$("data-pane").hidden;
  return Promise.all([loadColumns(), loadEarlierRuns()]);
}

function firstUnlabelled() {
  const open = state.items.find((it) => !it.label && !it.skipped);
  return open ? open.id : (state.items.length ? state.items[0].id : null);
}

async function loadList(selectId) {
  const data = await api("GET", "/api/candidates?" + query({
    run: state.run, sort: $("sort").value, unlabelled_first: $("unlabelled-first").checked,
    q: $("search").value, limit: 50,
  }));
  state.items = data.items;
  $("labelled").textContent = data.labelled;
  $("list-total").textContent = data.total + " of " + data.objects + " objects shown by this filter";
  const body = $("candidates").tBodies[0];
  body.replaceChildren();
  for (const it of data.items) {
    const row = document.createElement("tr");
    row.dataset.id = it.id;
    if (it.label) row.classList.add(it.label);
    cell(row, it.rank);
    cell(row, it.id);
    cell(row, fmt(it.score));
    cell(row, it.label || (it.skipped ? "skipped" : ""));
    cell(row, it.cls);
    cell(row, it.rating);
    row.addEventListener("click", () => select(it.id));
    body.appendChild(row);
  }
  const wanted = selectId && state.items.some((it) => it.id === selectId) ? selectId
    : firstUnlabelled();
  if (wanted !== null) await select(wanted);
  await loadResults();
  await loadMap();
}

function fact(list, name, value) {
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = value === null || value === undefined ? "–" : String(value);
  list.append(dt, dd);
}

// Image display: values between the percentile limits mapped to 0-1, then stretched.
const STRETCHES = {
  linear: (t) => t,
  log: (t) => Math.log10(1 + 1000 * t) / 3.000434,  // log10(1001)
  asinh: (t) => Math.asinh(10 * t) / Math.asinh(10),
};
const clip = (t) => (Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0);

function limits(image, percent) {
  const values = image.flat().filter(Number.isFinite).sort((a, b) => a - b);
  if (!values.length) return [0, 1];
  const at = (p) => values[Math.min(values.length - 1, Math.max(0,
    Math.round((p / 100) * (values.length - 1))))];
  const lo = at(100 - percent), hi = at(percent);
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

// Public viewers of a sky position, opened by the user's browser (the server fetches
// nothing); only the two numbers go into the addresses.
const SKY_VIEWERS = [
  ["Aladin Lite", (ra, dec) => "https://aladin.cds.unistra.fr/AladinLite/?" +
    query({ target: ra + " " + dec, fov: "0.05" })],
  ["SIMBAD", (ra, dec) => "https://simbad.cds.unistra.fr/simbad/sim-coo?" +
    query({ Coord: ra + " " + dec, Radius: "10", "Radius.unit": "arcsec" })],
  ["Legacy Surveys", (ra, dec) => "https://www.legacysurvey.org/viewer?" +
    query({ ra, dec, zoom: "14" })],
];

function skyLinks(sky) {
  const box = $("sky-links");
  box.hidden = !sky;
  for (const old of box.querySelectorAll("a")) old.remove();
  if (!sky) return;
  const ra = Number(sky.ra).toFixed(6), dec = Number(sky.dec).toFixed(6);
  $("sky-position").textContent = "RA " + ra + "°, Dec " + dec + "°";
  for (const [name, url] of SKY_VIEWERS) {
    const link = document.createElement("a");
    link.textContent = name;
    link.href = url(ra, dec);
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    box.append(" ", link);
  }
}

function plot(detail) {
  const target = $("plot");
  if (!window.Plotly) { target.textContent = "plotly is not available"; return; }
  const layout = { margin: { t: 30, r: 10, b: 40, l: 50 }, height: 340, showlegend: true };
  let traces = [];
  if (detail.curve) {
    traces = detail.curve.flatMap((ch) => [
      { y: ch.median, mode: "lines", name: "median object, channel " + ch.channel,
        line: { color: "#999" } },
      { y: ch.object, mode: "lines+markers", name: "object, channel " + ch.channel,
        marker: { size: 3 } },
    ]);
    layout.xaxis = { title: { text: "channel index" } };
  } else if (detail.image) {
    const [lo, hi] = limits(detail.image.object, Number($("limits").value));
    const stretch = STRETCHES[$("stretch").value];
    const show = (image) => image.map((row) => row.map((v) => stretch(clip((v - lo) / (hi - lo)))));
    traces = [
      { z: show(detail.image.object), type: "heatmap", colorscale: "Greys",
        zmin: 0, zmax: 1, xaxis: "x", yaxis: "y", showscale: false, name: "object" },
      { z: show(detail.image.median), type: "heatmap", colorscale: "Greys",
        zmin: 0, zmax: 1, xaxis: "x2", yaxis: "y2", showscale: false, name: "median object" },
    ];
    layout.grid = { rows: 1, columns: 2, pattern: "independent" };
    layout.annotations = [
      { text: "object", showarrow: false, xref: "x domain", yref: "y domain", x: 0.5, y: 1.08 },
      { text: "median object", showarrow: false, xref: "x2 domain", yref: "y2 domain",
        x: 0.5, y: 1.08 },
    ];
    layout.yaxis = { autorange: "reversed", scaleanchor: "x" };
    layout.yaxis2 = { autorange: "reversed", scaleanchor: "x2" };
  }
  window.Plotly.react(target, traces, layout, { displaylogo: false, responsive: true });
}

async function select(id) {
  state.selected = id;
  for (const row of $("candidates").tBodies[0].rows) {
    row.classList.toggle("selected", row.dataset.id === id);
  }
  const detail = await api("GET", "/api/object?" + query({ run: state.run, id }));
  if (state.selected !== id) return;
  $("object-id").textContent = detail.id;
  const facts = $("object-facts");
  facts.replaceChildren();
  fact(facts, "rank", detail.rank);
  fact(facts, "score", fmt(detail.score));
  fact(facts, "anomaly percentile", fmt(detail.anomaly));
  fact(facts, "P(interesting)", fmt(detail.p_interesting));
  fact(facts, "proposed class", detail.predicted_class === null ? null :
    detail.predicted_class + " (" + fmt(detail.class_confidence) + ")");
  fact(facts, "label", detail.label || (detail.skipped ? "skipped" : "none"));
  fact(facts, "class tag", detail.cls);
  fact(facts, "rating", detail.rating);
  state.detail = detail;
  skyLinks(detail.sky);
  $("stretch-controls").hidden = !detail.image;
  const table = $("deviations");
  table.hidden = !detail.deviations;
  table.tBodies[0].replaceChildren();
  if (detail.deviations) {
    for (const d of detail.deviations) {
      const row = document.createElement("tr");
      cell(row, d.feature);
      cell(row, fmt(d.value));
      cell(row, fmt(d.median));
      cell(row, d.robust_z === null ? "–" : d.robust_z.toFixed(1));
      table.tBodies[0].appendChild(row);
    }
    $("plot").replaceChildren();
  } else {
    plot(detail);
  }
}

async function act(work) {
  if (state.busy || !state.run) return;
  state.busy = true;
  document.body.dataset.busy = "1";
  try {
    await work();
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    state.busy = false;
    delete document.body.dataset.busy;
  }
}

function answer(body) {
  return act(async () => {
    if (state.selected === null) return;
    const cls = $("cls").value.trim();
    const sent = { run: state.run, id: state.selected, ...body };
    if (cls && body.answer !== "skip") sent.cls = cls;
    const saved = await api("POST", "/api/label", sent);
    $("cls").value = "";
    setStatus("Saved: " + saved.id + " → " + saved.answer +
              (saved.rating !== undefined && saved.rating !== null ? " (rating " + saved.rating + ")" : "") +
              (saved.refit ? "; re-ranking" : ""));
    await loadList(null);
  });
}

function undo() {
  return act(async () => {
    const result = await api("POST", "/api/undo", { run: state.run });
    if (!result.undone) { setStatus("There is no label to undo."); return; }
    setStatus("Undid the label of " + result.undone.id + " (" + result.undone.label + ").");
    await loadList(result.undone.id);
  });
}

function refit() {
  return act(async () => {
    await api("POST", "/api/refit", { run: state.run });
    setStatus("Re-ranked with all labels.");
    await loadList(state.selected);
  });
}

function toggleResults() {
  $("results-pane").hidden = !$("results-pane").hidden;
  return loadResults();
}

async function loadResults() {
  if ($("results-pane").hidden || !state.run) return;
  const data = await api("GET", "/api/results?" + query({ run: state.run }));
  $("selection").textContent = data.selection;
  const body = $("configurations").tBodies[0];
  body.replaceChildren();
  for (const c of data.configurations) {
    const row = document.createElement("tr");
    cell(row, c.configuration);
    cell(row, fmt(c.weight));
    body.appendChild(row);
  }
  if (!window.Plotly) return;
  const steps = data.discovery.map((_, k) => k + 1);
  window.Plotly.react($("discovery-plot"), [{ x: [0, ...steps], y: [0, ...data.discovery],
    mode: "lines", line: { shape: "hv" }, name: "interesting found" }], {
    height: 300, margin: { t: 30, r: 10, b: 40, l: 50 },
    title: { text: "discovery curve" },
    xaxis: { title: { text: "labels given" } }, yaxis: { title: { text: "interesting found" } },
  }, { displaylogo: false, responsive: true });
  const edges = data.histogram.edges;
  window.Plotly.react($("histogram-plot"), [{ type: "bar",
    x: data.histogram.counts.map((_, i) => (edges[i] + edges[i + 1]) / 2),
    y: data.histogram.counts, width: edges[1] - edges[0], name: "objects" }], {
    height: 300, margin: { t: 30, r: 10, b: 40, l: 50 }, title: { text: "DRAMA scores" },
    xaxis: { title: { text: "score" } }, yaxis: { title: { text: "objects" } },
  }, { displaylogo: false, responsive: true });
}

const LABEL_COLOURS = { interesting: "#0a7a2f", boring: "#999999", "": "#1f77b4" };

function toggleMap() {
  $("map-pane").hidden = !$("map-pane").hidden;
  return loadMap();
}

async function loadMap() {
  if ($("map-pane").hidden || !state.run || !window.Plotly) return;
  const data = await api("GET", "/api/map?" + query({ run: state.run }));
  const byLabel = $("map-colour").value === "label";
  const layout = { height: 480, margin: { t: 10, r: 10, b: 40, l: 50 }, hovermode: "closest",
    xaxis: { title: { text: "main axis 1" } }, yaxis: { title: { text: "main axis 2" } } };
  let traces;
  if (data.mode === "points") {
    const marker = byLabel
      ? { color: data.label.map((l) => LABEL_COLOURS[l] || LABEL_COLOURS[""]), size: 6 }
      : { color: data.score, colorscale: "Viridis", showscale: true, size: 6,
          colorbar: { title: { text: "score" } } };
    traces = [{ type: "scatter", mode: "markers", x: data.x, y: data.y, customdata: data.ids,
                marker, hoverinfo: "none" }];
  } else {
    traces = [{ type: "heatmap", x: data.x, y: data.y, customdata: data.best_id,
                z: byLabel ? data.count : data.mean_score, colorscale: "Viridis",
                colorbar: { title: { text: byLabel ? "objects" : "mean score" } },
                hoverinfo: "none" }];
  }
  const target = $("map-plot");
  await window.Plotly.react(target, traces, layout, { displaylogo: false, responsive: true });
  if (!target.dataset.clickable) {
    target.dataset.clickable = "1";
    // ids are data: shown with textContent, not in plotly's hover labels (which read markup)
    target.on("plotly_hover", (event) => {
      const id = event.points.length ? event.points[0].customdata : null;
      $("map-hover").textContent = id === null || id === undefined ? "" : String(id);
    });
    target.on("plotly_click", (event) => {
      const id = event.points.length ? event.points[0].customdata : null;
      if (id !== null && id !== undefined) act(() => select(String(id)));
    });
  }
}

function move(step) {
  const i = state.items.findIndex((it) => it.id === state.selected);
  const next = state.items[Math.min(Math.max(i + step, 0), state.items.length - 1)];
  if (next) act(() => select(next.id));
}

document.addEventListener("keydown", (event) => {
  const tag = event.target.tagName;
  if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const keys = { i: "interesting", b: "boring", s: "skip" };
  if (keys[event.key]) answer({ answer: keys[event.key] });
  else if (/^[0-5]$/.test(event.key)) answer({ rating: Number(event.key) });
  else if (event.key === "u") undo();
  else if (event.key === "r") refit();
  else if (event.key === "j" || event.key === "ArrowDown") move(1);
  else if (event.key === "k" || event.key === "ArrowUp") move(-1);
  else return;
  event.preventDefault();
});

window.addEventListener("DOMContentLoaded", async () => {
  for (const button of document.querySelectorAll("[data-answer]")) {
    button.addEventListener("click", () => answer({ answer: button.dataset.answer }));
  }
  for (const button of document.querySelectorAll("[data-rating]")) {
    button.addEventListener("click", () => answer({ rating: Number(button.dataset.rating) }));
  }
  $("undo").addEventListener("click", undo);
  $("refit").addEventListener("click", refit);
  $("results-toggle").addEventListener("click", () => act(toggleResults));
  $("map-toggle").addEventListener("click", () => act(toggleMap));
  $("map-colour").addEventListener("change", () => act(loadMap));
  for (const id of ["stretch", "limits"]) {
    $(id).addEventListener("change", () => { if (state.detail) plot(state.detail); });
  }
  const startRun = () => openRun($("file").value, formOptions()).catch(
    (error) => setStatus(error.message, true));
  $("open").addEventListener("click", startRun);
  $("start-run").addEventListener("click", startRun);
  $("data-toggle").addEventListener("click", () => toggleData().catch(
    (error) => setStatus(error.message, true)));
  $("file").addEventListener("change", () => loadColumns().catch(
    (error) => setStatus(error.message, true)));
  $("upload").addEventListener("click", () => uploadFile().catch(
    (error) => setStatus(error.message, true)));
  for (const id of ["choice-auto", "choice-chosen"]) {
    $(id).addEventListener("change", () => {
      $("chosen-options").disabled = $("choice-auto").checked;
    });
  }
  $("close-run").addEventListener("click", () => act(async () => {
    await api("POST", "/api/close", { run: state.run });
    setStatus("Closed " + state.run + ": its store is free (drama active can open it).");
    state.run = null;
    state.selected = null;
    $("candidates").tBodies[0].replaceChildren();
    $("run-name").textContent = "";
    await loadFiles();
    $("data-pane").hidden = false;
    await Promise.all([loadColumns(), loadEarlierRuns()]);
  }));
  for (const id of ["sort", "unlabelled-first"]) {
    $(id).addEventListener("change", () => act(() => loadList(state.selected)));
  }
  $("search").addEventListener("input", () => act(() => loadList(state.selected)));
  try {
    await loadFiles();
    const run = new URL(window.location).searchParams.get("run");
    if (run) await openRun(run);
    else {
      setStatus("Choose a data file and open it.");
      await Promise.all([loadColumns(), loadEarlierRuns()]);
    }
  } catch (error) {
    setStatus(error.message, true);
  }
  document.body.dataset.ready = "1";
});
