// The workbench page. Every name that comes from the data (file names, ids, class tags,
// feature names) is put on the page as text (textContent), never parsed as HTML; in plots
// (whose labels plotly reads as pseudo-HTML) it goes through plotlyText first.
"use strict";

const state = { run: null, items: [], selected: null, busy: false, lasso: null,
  lassoDrawn: null };
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

// plotly reads trace names, titles, annotations and hover text as pseudo-HTML (<a href>,
// <b>, <br>) and turns entities back into characters: a name from the data is escaped so
// that it is drawn as the very text it is.
const PLOTLY_ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" };
const plotlyText = (text) => String(text).replace(/[&<>"']/g, (c) => PLOTLY_ENTITIES[c]);

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
      (status.phase === "fitting" && status.fit_steps.total
        ? "; the fit's step " + status.fit_steps.done + " of " + status.fit_steps.total : "") +
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
    state.mapWindow = null;
    state.prototypeConfig = null;
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

async function postForm(path, form) {
  const response = await fetch(path, { method: "POST", body: form });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(typeof data.detail === "string" ? data.detail : response.statusText);
  }
  return data;
}

async function uploadFile() {
  const file = $("upload-file").files[0];
  if (!file) { setStatus("Choose a file to upload first.", true); return; }
  const form = new FormData();
  form.append("file", file);
  setStatus("Uploading " + file.name + "…");
  const data = await postForm("/api/upload", form);
  await loadFiles();
  $("file").value = data.path;
  setStatus("Uploaded as " + data.path + " (" + data.size + " bytes).");
  await loadColumns();
}

// Several pictures (or one .zip of them) become a new image folder in uploads/.
async function uploadImages() {
  const files = [...$("upload-images-files").files];
  if (!files.length) { setStatus("Choose the pictures (or a .zip) to upload first.", true); return; }
  const form = new FormData();
  for (const file of files) form.append("files", file);
  const folder = $("upload-images-folder").value.trim();
  if (folder) form.append("folder", folder);
  setStatus("Uploading " + files.length + " file(s)…");
  const data = await postForm("/api/upload/images", form);
  await loadFiles();
  $("file").value = data.path;
  setStatus("Uploaded " + data.pictures + " pictures as the image folder " + data.path + ".");
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
    q: $("search").value, limit: 50, ...(state.lasso ? { lasso: state.lasso } : {}),
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

// The image panels: the cutout, the prototype it was compared with (the median object
// when there is none) and, when the data come with it, the cutout's context with the
// cutout's box; one stretch, from the cutout's limits, for all.
function imagePanels(image, show, traces, layout) {
  const panels = [["object", image.object],
    [image.prototype ? "prototype" : "median object", image.prototype || image.median]];
  if (image.context) panels.push(["context", image.context.image]);
  layout.grid = { rows: 1, columns: panels.length, pattern: "independent" };
  layout.annotations = [];
  layout.shapes = [];
  panels.forEach(([title, values], k) => {
    const axis = k ? String(k + 1) : "";
    traces.push({ z: show(values), type: "heatmap", colorscale: "Greys", zmin: 0, zmax: 1,
      xaxis: "x" + axis, yaxis: "y" + axis, showscale: false, name: title });
    layout.annotations.push({ text: title, showarrow: false, xref: "x" + axis + " domain",
      yref: "y" + axis + " domain", x: 0.5, y: 1.08 });
    layout["yaxis" + axis] = { autorange: "reversed", scaleanchor: "x" + axis };
  });
  if (image.context) {
    const [x0, y0, x1, y1] = image.context.box;
    const axis = String(panels.length);
    layout.shapes.push({ type: "rect", xref: "x" + axis, yref: "y" + axis, x0, y0, x1, y1,
      line: { color: "#d62728", width: 1 } });
  }
}

// A light curve as observed: points with error bars per band on the real time axis (no
// line joins them, so none crosses a gap), the prototype (or the object standing for it)
// on the same axis, broken where the server left it empty; magnitudes grow downwards.
const BAND_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

function lightCurvePlot(curve, traces, layout) {
  const colour = (band) => BAND_COLOURS[curve.bands.findIndex((b) => b.band === band) %
    BAND_COLOURS.length];
  const named = (band) => (band ? "band " + plotlyText(band) : "observed");
  for (const b of curve.bands) {
    traces.push({ x: b.time, y: b.mag, mode: "markers", type: "scatter", name: named(b.band),
      marker: { size: 5, color: colour(b.band) },
      error_y: b.err ? { type: "data", array: b.err, visible: true, thickness: 1 } : undefined });
  }
  const grid = !curve.representative;
  for (const p of curve.prototype) {
    traces.push({ x: p.time, y: p.mag, type: "scatter", connectgaps: false,
      mode: grid ? "lines" : "markers", name: (grid ? "prototype, " : "representative, ") +
        named(p.band), line: { color: colour(p.band), dash: "dot" },
      marker: { size: 4, symbol: "circle-open", color: colour(p.band) } });
  }
  layout.xaxis = { title: { text: "time" } };
  layout.yaxis = { title: { text: "magnitude" }, autorange: "reversed" };
}

function plot(detail) {
  const target = $("plot");
  if (!window.Plotly) { target.textContent = "plotly is not available"; return; }
  const layout = { margin: { t: 30, r: 10, b: 40, l: 50 }, height: 340, showlegend: true };
  let traces = [];
  if (detail.light_curve) {
    lightCurvePlot(detail.light_curve, traces, layout);
  } else if (detail.curve) {
    const reference = detail.prototype ? "prototype" : "median object";
    traces = detail.curve.flatMap((ch) => [
      { y: ch.prototype || ch.median, mode: "lines", name: reference + ", channel " + ch.channel,
        line: { color: "#999" } },
      { y: ch.object, mode: "lines+markers", name: "object, channel " + ch.channel,
        marker: { size: 3 } },
    ]);
    layout.xaxis = { title: { text: "channel index" } };
  } else if (detail.image) {
    const [lo, hi] = limits(detail.image.object, Number($("limits").value));
    const stretch = STRETCHES[$("stretch").value];
    const show = (image) => image.map((row) => row.map((v) => stretch(clip((v - lo) / (hi - lo)))));
    imagePanels(detail.image, show, traces, layout);
  }
  window.Plotly.react(target, traces, layout, { displaylogo: false, responsive: true });
}

// One object, shown with the prototype of the configuration chosen in the blend's table
// (state.prototypeConfig), else the leading one's; a choice a refit has dropped from the
// ranking is forgotten.
async function objectDetail(id) {
  const asked = { run: state.run, id };
  if (state.prototypeConfig) {
    try {
      return await api("GET", "/api/object?" + query({ ...asked,
        configuration: state.prototypeConfig }));
    } catch (error) {
      state.prototypeConfig = null;
    }
  }
  return api("GET", "/api/object?" + query(asked));
}

async function select(id) {
  state.selected = id;
  for (const row of $("candidates").tBodies[0].rows) {
    row.classList.toggle("selected", row.dataset.id === id);
  }
  const detail = await objectDetail(id);
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
  for (const column of detail.carried || []) fact(facts, column.name, column.value);
  state.detail = detail;
  const why = $("why");
  $("why-box").hidden = false;
  why.replaceChildren();
  for (const sentence of detail.why) {
    const item = document.createElement("li");
    item.textContent = sentence;
    why.appendChild(item);
  }
  showPrototype(detail);
  showBlend(detail);
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
    if (detail.light_curve) plot(detail);  // a light curve's features: its curve too
    else $("plot").replaceChildren();
  } else {
    plot(detail);
  }
}

// Which prototype the object is shown with, and (tables) how it deviates from it.
function showPrototype(detail) {
  const notes = [];
  if (detail.prototype) notes.push("Compared with " + detail.prototype.note + ".");
  else notes.push("No tree configuration weighs in this ranking: shown with the median object.");
  if (detail.light_curve && detail.light_curve.prototype_note) {
    notes.push("On the time axis: " + detail.light_curve.prototype_note + ".");
  }
  if (detail.image && detail.image.context_problem) notes.push(detail.image.context_problem);
  $("prototype-note").textContent = notes.join(" ");
  const table = $("prototype-deviations");
  table.hidden = !detail.prototype_deviations;
  table.tBodies[0].replaceChildren();
  for (const d of detail.prototype_deviations || []) {
    const row = document.createElement("tr");
    cell(row, d.feature);
    cell(row, fmt(d.value));
    cell(row, fmt(d.prototype));
    cell(row, d.robust_z === null ? "–" : d.robust_z.toFixed(1));
    table.tBodies[0].appendChild(row);
  }
}

// Every tree configuration of the ranking with the object's prototype under it; a click
// on one draws the object with that prototype (and keeps the choice for other objects).
function showBlend(detail) {
  const table = $("blend-prototypes");
  table.hidden = detail.prototypes.length < 2;
  table.tBodies[0].replaceChildren();
  for (const p of detail.prototypes) {
    const row = document.createElement("tr");
    row.dataset.configuration = p.configuration;
    if (p.shown) row.classList.add("selected");
    cell(row, p.configuration);
    cell(row, fmt(p.weight));
    cell(row, p.leaf === "" ? "root" : p.leaf);
    const d = p.largest_deviation;
    cell(row, d ? d.feature + " (" + (d.robust_z === null ? "–" : d.robust_z.toFixed(1)) + ")"
      : "");
    row.addEventListener("click", () => act(() => {
      state.prototypeConfig = p.configuration;
      return select(detail.id);
    }));
    table.tBodies[0].appendChild(row);
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

// Colours of the predicted classes, in the order the map meets them ("" : no class).
const CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const classColour = (classes) => {
  const seen = [...new Set(classes.filter((c) => c))].sort();
  return classes.map((c) => (c ? CLASS_COLOURS[seen.indexOf(c) % CLASS_COLOURS.length]
    : "#cccccc"));
};
// Above this many points the map draws with WebGL (scattergl) where the browser has it;
// below, or without WebGL, as SVG.
const WEBGL_POINTS = 2000;
const WEBGL = (() => {
  try { return !!document.createElement("canvas").getContext("webgl"); } catch { return false; }
})();

function mapTraces(data, colour) {
  if (data.mode === "points") {
    const marker = colour === "label"
      ? { color: data.label.map((l) => LABEL_COLOURS[l] || LABEL_COLOURS[""]), size: 6 }
      : colour === "class" ? { color: classColour(data.class), size: 6 }
        : { color: data.score, colorscale: "Viridis", showscale: true, size: 6,
            colorbar: { title: { text: "score" } } };
    return [{ type: WEBGL && data.ids.length > WEBGL_POINTS ? "scattergl" : "scatter",
              mode: "markers",
              x: data.x, y: data.y, customdata: data.ids, marker, hoverinfo: "none" }];
  }
  // cells: the heatmap, and under it a transparent point per non-empty cell, which the
  // lasso and the box select pick (a heatmap cannot be selected)
  const centres = { x: [], y: [], id: [], colour: [] };
  const classes = colour === "class" ? classColour(data.class.flat()) : null;
  data.count.forEach((row, j) => row.forEach((n, i) => {
    if (!n) return;
    centres.x.push(data.x[i]);
    centres.y.push(data.y[j]);
    centres.id.push(data.best_id[j][i]);
    if (classes) centres.colour.push(classes[j * row.length + i]);
  }));
  const traces = [{ type: "heatmap", x: data.x, y: data.y, customdata: data.best_id,
    z: colour === "score" ? data.mean_score : data.count, colorscale: "Viridis",
    showscale: colour !== "class", opacity: colour === "class" ? 0.25 : 1,
    colorbar: { title: { text: colour === "score" ? "mean score" : "objects" } },
    hoverinfo: "none" }];
  traces.push({ type: WEBGL ? "scattergl" : "scatter", mode: "markers", x: centres.x, y: centres.y,
    customdata: centres.id, hoverinfo: "none", showlegend: false,
    marker: classes ? { color: centres.colour, size: 4, symbol: "square" }
      : { color: "rgba(0,0,0,0)", size: 4 } });
  return traces;
}

// A lasso (or box) drawn on the map: the server lists the objects inside it; "filter
// the list" keeps only them in the candidate list until cleared.
function polygonOf(event) {
  if (event.lassoPoints) {
    const { x, y } = event.lassoPoints;
    const every = Math.max(1, Math.ceil(x.length / 200));  // a short address
    return x.filter((_, k) => k % every === 0).map((v, k) => v + "," + y[k * every]).join(";");
  }
  if (event.range) {
    const [x0, x1] = event.range.x, [y0, y1] = event.range.y;
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map((p) => p.join(",")).join(";");
  }
  return null;
}

async function showLasso(polygon) {
  state.lassoDrawn = polygon;
  const box = $("lasso");
  box.hidden = !polygon;
  const list = $("lasso-list");
  list.replaceChildren();
  if (!polygon) return;
  const chosen = await api("GET", "/api/map/lasso?" + query({ run: state.run, polygon }));
  $("lasso-count").textContent = chosen.count + " objects in the lasso" +
    (chosen.count > chosen.ids.length ? ", the " + chosen.ids.length + " best listed" : "");
  chosen.ids.forEach((id, k) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = "#";
    link.textContent = id;
    link.addEventListener("click", (e) => { e.preventDefault(); act(() => select(id)); });
    item.append(link, " " + fmt(chosen.score[k]));
    list.appendChild(item);
  });
}

// The map's window: null for every object, else [x0, x1, y0, y1] as the user zoomed; the
// server bins only that window again, or sends its objects once few enough are in it.
state.mapWindow = null;

async function loadMap() {
  if ($("map-pane").hidden || !state.run || !window.Plotly) return;
  const view = state.mapWindow;
  const [x0, x1, y0, y1] = view || [];
  const data = await api("GET", "/api/map?" + query({ run: state.run,
    ...(view ? { x0, x1, y0, y1 } : {}) }));
  $("map-space").textContent = data.space + ". " + (data.mode === "points"
    ? data.shown + " objects drawn" : data.shown + " objects in " + data.bins + " × " +
      data.bins + " cells (zoom in for detail)") + (view ? " in the zoomed window." : ".");
  const layout = { height: 480, margin: { t: 10, r: 10, b: 40, l: 50 }, hovermode: "closest",
    showlegend: false,
    xaxis: { title: { text: plotlyText(data.axes[0]) }, ...(view ? { range: [x0, x1] } : {}) },
    yaxis: { title: { text: plotlyText(data.axes[1]) }, ...(view ? { range: [y0, y1] } : {}) } };
  const target = $("map-plot");
  state.mapDrawing = true;
  try {
    await window.Plotly.react(target, mapTraces(data, $("map-colour").value), layout,
      { displaylogo: false, responsive: true });
  } finally {
    state.mapDrawing = false;
  }
  target.dataset.objects = String(data.objects);
  target.dataset.mode = data.mode;
  target.dataset.shown = String(data.shown);
  if (!target.dataset.clickable) {
    target.on("plotly_selected", (event) => {
      const polygon = event ? polygonOf(event) : null;
      act(() => showLasso(polygon));
    });
    target.on("plotly_deselect", () => act(() => showLasso(null)));
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
    // a zoom (or pan) asks for the window again; a double click (autorange) for everything
    target.on("plotly_relayout", (event) => {
      if (state.mapDrawing) return;
      const zoomed = ["xaxis.range[0]", "xaxis.range[1]", "yaxis.range[0]", "yaxis.range[1]"]
        .map((k) => event[k]);
      if (zoomed.every((v) => v !== undefined)) state.mapWindow = zoomed.map(Number);
      else if (event["xaxis.autorange"] || event["yaxis.autorange"]) state.mapWindow = null;
      else return;
      act(loadMap);
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
  $("lasso-filter").addEventListener("click", () => act(() => {
    state.lasso = state.lassoDrawn;
    $("lasso-filter-on").hidden = false;
    return loadList(state.selected);
  }));
  $("lasso-clear").addEventListener("click", () => act(() => {
    state.lasso = null;
    $("lasso-filter-on").hidden = true;
    return showLasso(null).then(() => loadList(state.selected));
  }));
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
  $("upload-images").addEventListener("click", () => uploadImages().catch(
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
