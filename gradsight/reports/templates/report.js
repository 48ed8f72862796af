/* gradsight report: draws the embedded run data with ECharts.
 * Names come from the user's model and may contain anything: they reach the DOM only through
 * textContent, chart text is drawn on a canvas, and tooltips are built with esc(). */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("gs-data").textContent);
  var Q = D.quant;
  var charts = {};
  var drawn = 0;

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    if (v === 0) return "0";
    var a = Math.abs(v);
    return (a >= 1e4 || a < 1e-3) ? v.toExponential(2).replace(/\.?0+e/, "e")
                                  : String(+v.toPrecision(3));
  }
  function unlog(q) {  // an exact zero is stored at the floor: 0 again (off a log axis)
    return q === null ? null : q <= D.log_floor * Q ? 0 : Math.pow(10, q / Q);
  }
  function frac(q) { return q === null ? null : q / 1000; }
  var flagged = {};
  D.flagged.forEach(function (n) { flagged[n] = true; });

  function init(id) {
    var el = document.getElementById(id);
    var chart = echarts.init(el, null, { renderer: "canvas" });
    charts[id] = chart;
    return chart;
  }
  function empty(id, text) {
    var el = document.getElementById(id);
    el.textContent = "";
    var p = document.createElement("p");
    p.className = "empty";
    p.textContent = text;
    el.appendChild(p);
  }
  var pending = 0, started = false;
  function markReady() {  // every chart has finished its first full render (progressive too)
    if (started && pending === 0 && document.body.dataset.gsReady !== "1") {
      document.body.dataset.gsCharts = String(drawn);
      document.body.dataset.gsReady = "1";
    }
  }
  function done(chart, option) {
    if (!chart.__gsWaiting && !chart.__gsFinished) {
      chart.__gsWaiting = true;
      pending += 1;
      chart.on("finished", function () {
        if (chart.__gsWaiting) { chart.__gsWaiting = false; chart.__gsFinished = true; pending -= 1; markReady(); }
      });
    }
    chart.setOption(option, true);
    drawn += 1;
  }
  var base = { animation: false, textStyle: { fontFamily: "system-ui, sans-serif" } };
  function opt(o) { return Object.assign({}, base, o); }

  // -- gradient flow heat map ------------------------------------------------------------
  var flowMetric = "grad";
  function drawFlow() {
    if (!charts["chart-flow"]) {  // a row per parameter, up to a screenful
      document.getElementById("chart-flow").style.height =
        Math.min(1100, Math.max(360, 90 + 26 * D.params.length)) + "px";
    }
    var chart = charts["chart-flow"] || init("chart-flow");
    var names = D.params.map(function (p) { return p.name; });
    var m = D[flowMetric];
    var cells = [], vals = [];
    for (var i = 0; i < m.length; i++) {
      for (var j = 0; j < m[i].length; j++) {
        var v = m[i][j];
        if (v !== null) { cells.push([j, i, v]); vals.push(v); }
      }
    }
    if (!cells.length) { empty("chart-flow", "No gradients were recorded."); return; }
    vals.sort(function (a, b) { return a - b; });
    var lo = vals[Math.floor(0.02 * (vals.length - 1))], hi = vals[Math.ceil(0.98 * (vals.length - 1))];
    if (hi - lo < Q) { lo -= Q / 2; hi += Q / 2; }  // at least one decade of color range
    var label = flowMetric === "grad" ? "‖g‖" : "‖g‖/‖w‖";
    done(chart, opt({
      tooltip: {
        formatter: function (p) {
          return esc(names[p.value[1]]) + "<br>step " + esc(D.steps[p.value[0]]) + ": " +
            label + " = " + esc(fmt(unlog(p.value[2])));
        }
      },
      grid: { left: 12, right: 110, top: 16, bottom: 48, containLabel: true },
      xAxis: { type: "category", data: D.steps, name: "step", nameLocation: "middle", nameGap: 28,
               splitArea: { show: false } },
      yAxis: { type: "category", data: names, inverse: true,
               axisLabel: { fontSize: 11, interval: Math.max(0, Math.ceil(names.length * 14 /
                              (chart.getHeight() - 64)) - 1),
                            formatter: function (n) { return (flagged[n] ? "▶ " : "") + n; } } },
      visualMap: { min: lo, max: hi, calculable: true, orient: "vertical", right: 8, top: "middle",
                   itemHeight: 260, text: [label + " high", "low"],
                   formatter: function (v) { return fmt(unlog(v)); },
                   inRange: { color: ["#000004", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60",
                                      "#cf4446", "#ed6925", "#fb9b06", "#f7d13d", "#fcffa4"] } },
      series: [{ type: "heatmap", data: cells, progressive: 0, name: label }]
    }));
  }
  document.querySelectorAll("#flow-toggle button").forEach(function (b) {
    b.addEventListener("click", function () {
      flowMetric = b.dataset.metric;
      document.querySelectorAll("#flow-toggle button").forEach(function (o) {
        o.classList.toggle("on", o === b);
      });
      drawn -= 1;
      drawFlow();
    });
  });

  // -- per-layer lines over the step columns ---------------------------------------------
  function lines(id, names, matrix, decode, yAxis, extra, emptyText) {
    if (!matrix || !names.length) { empty(id, emptyText); return null; }
    var series = [], any = false;
    for (var i = 0; i < names.length; i++) {
      var pts = [];
      for (var j = 0; j < matrix[i].length; j++) {
        var v = decode(matrix[i][j]);
        if (v !== null && !(yAxis.type === "log" && v <= 0)) { pts.push([D.steps[j], v]); any = true; }
      }
      if (pts.length) {
        series.push({ type: "line", name: names[i], data: pts, showSymbol: pts.length < 30,
                      symbolSize: 4, lineStyle: { width: flagged[names[i]] ? 2.5 : 1.2 },
                      emphasis: { focus: "series", lineStyle: { width: 3 } } });
      }
    }
    if (!any) { empty(id, emptyText); return null; }
    if (extra) Object.assign(series[0], extra);
    if (yAxis.type === "log") yAxis = Object.assign({ axisLabel: { formatter: fmt } }, yAxis);
    var chart = init(id);
    done(chart, opt({
      tooltip: { trigger: "item", formatter: function (p) {
        return esc(p.seriesName) + "<br>step " + esc(p.value[0]) + ": " + esc(fmt(p.value[1]));
      } },
      legend: names.length <= 12 ? { type: "scroll", top: 0, formatter: function (n) { return n; } } : undefined,
      grid: { left: 12, right: 24, top: names.length <= 12 ? 30 : 14, bottom: 40, containLabel: true },
      xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 26, min: "dataMin", max: "dataMax" },
      yAxis: yAxis,
      series: series
    }));
    return chart;
  }

  function drawUpdates() {
    var names = D.params.map(function (p) { return p.name; });
    var band = D.bands.healthy_update;
    lines("chart-updates", names, D.update_ratio, unlog, { type: "log", name: "‖Δw‖/‖w‖" }, {
      markArea: { silent: true, itemStyle: { color: "rgba(46,125,50,0.12)" },
                  data: [[{ yAxis: band[0], name: "healthy" }, { yAxis: band[1] }]],
                  label: { color: "#2e7d32", position: "insideTopLeft" } },
      markLine: { silent: true, symbol: "none", lineStyle: { color: "#c62828", type: "dashed" },
                  label: { formatter: "stalled", position: "insideEndTop" },
                  data: [{ yAxis: D.bands.stalled_update }] }
    }, "No updates were recorded (no optimizer step, or nothing recorded after one).");
  }

  function drawActivations() {
    var relu = [], reluIdx = [], sat = [], satIdx = [], all = [];
    D.modules.forEach(function (m, i) {
      all.push(m.name);
      if (m.activation === "relu") { relu.push(m.name); reluIdx.push(i); }
      if (m.activation === "tanh" || m.activation === "sigmoid") { sat.push(m.name); satIdx.push(i); }
    });
    function rows(mat, idx) { return mat ? idx.map(function (i) { return mat[i]; }) : null; }
    var pct = { type: "value", min: 0, max: 1, name: "fraction" };
    lines("chart-dead", relu, rows(D.dead, reluIdx), frac, pct, null,
          "No ReLU-family activation in this model.");
    lines("chart-saturated", sat, rows(D.saturated, satIdx), frac, pct, null,
          "No tanh/sigmoid-family activation in this model.");
    lines("chart-std", all, D.act_std, unlog, { type: "log", name: "std" }, null,
          "No activations were recorded.");
  }

  // -- loss ------------------------------------------------------------------------------
  function drawLoss() {
    var L = D.loss, mean = [], band = [], positive = true;
    for (var i = 0; i < L.steps.length; i++) {
      if (L.mean[i] !== null) { mean.push([L.steps[i], L.mean[i]]); if (L.mean[i] <= 0) positive = false; }
      if (L.min && L.min[i] !== null) band.push([L.steps[i], L.min[i], L.max[i]]);
    }
    if (!mean.length) { empty("chart-loss", "No finite loss was recorded."); return; }
    var starts = {};
    D.findings.forEach(function (f) {
      if (f.severity !== "info") (starts[f.step] = starts[f.step] || []).push(f.kind);
    });
    var mid = (mean[0][0] + mean[mean.length - 1][0]) / 2;
    var marks = Object.keys(starts).map(function (s) {  // text runs away from the edges
      return { xAxis: +s, label: { formatter: starts[s].join(", "), align: +s <= mid ? "left" : "right" } };
    });
    var windows = (D.detail_windows || []).map(function (w) {  // detail the always-on tier forced
      return [{ xAxis: w.start, name: w.why }, { xAxis: w.end }];
    });
    var series = [{ type: "line", name: "loss", data: mean, showSymbol: false, sampling: "lttb",
                    lineStyle: { width: 1.5 },
                    markLine: { symbol: "none", data: marks, lineStyle: { color: "#c62828" },
                                label: { position: "end", color: "#c62828" } },
                    markArea: { silent: true, itemStyle: { color: "rgba(239,108,0,0.14)" },
                                label: { show: false }, data: windows } }];
    (D.rank_losses || []).forEach(function (R) {  // a job: every rank's own loss
      var pts = [];
      for (var j = 0; j < R.steps.length; j++) if (R.mean[j] !== null) pts.push([R.steps[j], R.mean[j]]);
      if (R.rank === D.run.numbers.rank) { series[0].name = "loss (rank " + R.rank + ")"; return; }
      series.push({ type: "line", name: "loss (rank " + R.rank + ")", data: pts, showSymbol: false,
                    sampling: "lttb", lineStyle: { width: 1 } });
    });
    if (band.length) {
      series.push({ type: "line", name: "max per bucket", data: band.map(function (b) { return [b[0], b[2]]; }),
                    showSymbol: false, lineStyle: { width: 0.6, opacity: 0.5 } });
    }
    var chart = init("chart-loss");
    done(chart, opt({
      tooltip: { trigger: "axis", formatter: function (ps) {
        return ps.map(function (p) { return esc(p.seriesName) + " @ " + esc(p.value[0]) + ": " + esc(fmt(p.value[1])); }).join("<br>");
      } },
      grid: { left: 12, right: 24, top: 44, bottom: 40, containLabel: true },
      xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 26, min: "dataMin", max: "dataMax" },
      yAxis: { type: positive ? "log" : "value", name: "loss", scale: true,
               axisLabel: { formatter: fmt } },
      dataZoom: [{ type: "inside" }],
      series: series
    }));
  }

  // -- per-layer distributions -----------------------------------------------------------
  var PCTS = [0, 0.07, 0.16, 0.31, 0.5, 0.69, 0.84, 0.93, 1];
  function quantiles(lo, hi, counts) {
    var n = counts.length, total = 0, out = [], cum = 0, k = 0;
    for (var i = 0; i < n; i++) total += counts[i];
    if (!total || lo === null || hi === null) return null;
    var w = (hi - lo) / n;
    for (var b = 0; b < n && k < PCTS.length; b++) {
      var next = cum + counts[b];
      while (k < PCTS.length && (next >= PCTS[k] * total || b === n - 1)) {
        var within = counts[b] ? (PCTS[k] * total - cum) / counts[b] : 0;
        out.push(lo + w * (b + Math.min(1, Math.max(0, within))));
        k++;
      }
      cum = next;
    }
    return out;
  }
  function drawDistribution(id, h, label) {
    var chart = charts[id] || init(id);
    if (!h || !h.steps.length) { chart.clear(); chart.setOption(opt({ title: { text: "no histogram recorded", left: "center", top: "middle", textStyle: { color: "#69727d", fontSize: 13 } } })); return; }
    var qs = h.steps.map(function (s, i) { return quantiles(h.lo[i], h.hi[i], h.counts[i]); });
    var series = [], shades = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd"];
    for (var b = 0; b < 4; b++) {
      var lower = [], diff = [];
      h.steps.forEach(function (s, i) {
        var q = qs[i];
        lower.push([s, q ? q[b] : null]);
        diff.push([s, q ? q[8 - b] - q[b] : null]);
      });
      series.push({ type: "line", data: lower, stack: "band" + b, stackStrategy: "all", symbol: "none",
                    lineStyle: { opacity: 0 }, silent: true, name: "p" + PCTS[b] });
      series.push({ type: "line", data: diff, stack: "band" + b, stackStrategy: "all", symbol: "none",
                    lineStyle: { opacity: 0 }, areaStyle: { color: shades[b], opacity: 0.9 },
                    silent: true, name: "band" + b });
    }
    series.push({ type: "line", name: "median", data: h.steps.map(function (s, i) { return [s, qs[i] ? qs[i][4] : null]; }),
                  showSymbol: h.steps.length < 30, symbolSize: 3, lineStyle: { color: "#08306b", width: 1.5 }, itemStyle: { color: "#08306b" } });
    chart.setOption(opt({
      tooltip: { trigger: "axis", formatter: function (ps) {
        var i = ps[0].dataIndex, q = qs[i];
        if (!q) return "step " + esc(h.steps[i]);
        return "step " + esc(h.steps[i]) + "<br>min " + esc(fmt(q[0])) + " · median " + esc(fmt(q[4])) + " · max " + esc(fmt(q[8]));
      } },
      grid: { left: 12, right: 24, top: 20, bottom: 40, containLabel: true },
      xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 26, min: "dataMin", max: "dataMax" },
      yAxis: { type: "value", name: label, scale: true },
      series: series
    }), true);
  }
  function drawHistograms(id, h, label) {
    var chart = charts[id] || init(id);
    if (!h || !h.steps.length) { chart.clear(); chart.setOption(opt({ title: { text: "no histogram recorded", left: "center", top: "middle", textStyle: { color: "#69727d", fontSize: 13 } } })); return; }
    var n = h.steps.length, series = [];
    h.steps.forEach(function (s, i) {
      if (h.lo[i] === null || h.hi[i] === null) return;
      var bins = h.counts[i].length, w = (h.hi[i] - h.lo[i]) / bins, pts = [];
      for (var b = 0; b < bins; b++) pts.push([h.lo[i] + w * (b + 0.5), h.counts[i][b] / 1000]);
      var t = n > 1 ? i / (n - 1) : 1;
      var c = "rgb(" + Math.round(255 - 200 * t) + "," + Math.round(180 - 120 * t) + "," + Math.round(110 - 60 * t) + ")";
      series.push({ type: "line", name: "step " + s, data: pts, symbol: "none", smooth: false,
                    lineStyle: { color: c, width: i === n - 1 ? 2 : 1 }, itemStyle: { color: c } });
    });
    chart.setOption(opt({
      tooltip: { trigger: "item", formatter: function (p) {
        return esc(p.seriesName) + "<br>" + esc(label) + " ≈ " + esc(fmt(p.value[0])) + ": " + esc(fmt(p.value[1] * 100)) + "%";
      } },
      grid: { left: 12, right: 24, top: 20, bottom: 40, containLabel: true },
      xAxis: { type: "value", name: label, nameLocation: "middle", nameGap: 26, scale: true },
      yAxis: { type: "value", name: "fraction" },
      series: series
    }), true);
  }

  var layerOptions = [];
  function buildLayerSelect() {
    var sel = document.getElementById("layer-select");
    D.params.forEach(function (p) { layerOptions.push({ kind: "param", name: p.name }); });
    D.modules.forEach(function (m) {
      if (D.hist.act[m.name]) layerOptions.push({ kind: "module", name: m.name, type: m.type });
    });
    layerOptions.forEach(function (o, i) {
      var el = document.createElement("option");
      el.value = String(i);
      el.textContent = o.kind === "param" ? o.name + " (weights, gradients)"
                                          : o.name + " (" + (o.type || "module") + " output)";
      sel.appendChild(el);
    });
    sel.addEventListener("change", function () { showLayer(+sel.value, true); });
  }
  function setText(id, text) { document.getElementById(id).textContent = text; }
  function showLayer(i, highlight) {
    var o = layerOptions[i];
    if (!o) return;
    document.getElementById("layer-select").value = String(i);
    if (o.kind === "param") {
      setText("dist-a-title", o.name + " · weights over time");
      setText("hist-a-title", o.name + " · weight histograms");
      setText("dist-b-title", o.name + " · gradients over time");
      setText("hist-b-title", o.name + " · gradient histograms");
      drawDistribution("chart-dist-a", D.hist.weight[o.name], "weight");
      drawHistograms("chart-hist-a", D.hist.weight[o.name], "weight");
      drawDistribution("chart-dist-b", D.hist.grad[o.name], "gradient");
      drawHistograms("chart-hist-b", D.hist.grad[o.name], "gradient");
    } else {
      setText("dist-a-title", o.name + " · output over time");
      setText("hist-a-title", o.name + " · output histograms");
      setText("dist-b-title", "");
      setText("hist-b-title", "");
      drawDistribution("chart-dist-a", D.hist.act[o.name], "output");
      drawHistograms("chart-hist-a", D.hist.act[o.name], "output");
      ["chart-dist-b", "chart-hist-b"].forEach(function (id) { if (charts[id]) charts[id].clear(); });
    }
    ["chart-updates", "chart-dead", "chart-saturated", "chart-std"].forEach(function (id) {
      var c = charts[id];
      if (!c || !highlight) return;
      c.dispatchAction({ type: "downplay" });
      c.dispatchAction({ type: "highlight", seriesName: o.name });
    });
  }
  function layerIndex(name) {
    for (var i = 0; i < layerOptions.length; i++) if (layerOptions[i].name === name) return i;
    return -1;
  }

  function run(step) {
    try { step(); } catch (e) {
      window.gsErrors.push(String(e && e.message || e));
      document.body.dataset.gsErrors = String(window.gsErrors.length);
      if (window.console) console.error(e);
    }
  }
  run(drawFlow);
  run(drawUpdates);
  run(drawActivations);
  run(drawLoss);
  run(function () {
    buildLayerSelect();
    var first = 0;  // the first layer, in forward order, that a finding names
    for (var k = layerOptions.length - 1; k >= 0; k--) if (flagged[layerOptions[k].name]) first = k;
    showLayer(first);
  });
  document.querySelectorAll("a.layer-link").forEach(function (a) {
    a.addEventListener("click", function () {
      var i = layerIndex(a.dataset.layer);
      if (i >= 0) showLayer(i, true);
    });
  });
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });
  started = true;
  markReady();
})();
