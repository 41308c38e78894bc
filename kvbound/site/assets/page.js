/* page.js: the interactive page's wiring. Every number comes from KVBound (kvbound.js,
 * the closed forms, checked against Python) or KVBOUND_DATA (data.js, written by
 * `kvbound site`); this file only reads sliders, formats and draws. */
(function () {
  "use strict";
  var K = window.KVBound;
  var D = window.KVBOUND_DATA;
  var CAPS = [null, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200];
  /* Okabe & Ito's colour-blind-safe palette, as in the figures. */
  var BLUE = "#0072B2";
  var VERMILLION = "#D55E00";
  var SKY = "#56B4E9";
  var ORANGE = "#E69F00";
  var GREEN = "#009E73";
  var GREY = "#555555";

  function $(id) { return document.getElementById(id); }

  function text(id, value) { $(id).textContent = value; }

  function num(x, digits) {
    if (x === null || x === undefined) return "—";
    return Number(x).toFixed(digits);
  }

  function sig(x, digits) {
    if (x === null || x === undefined) return "—";
    if (x === 0) return "0";
    var a = Math.abs(x);
    if (a >= 1e-3 && a < 1e6) return Number(x.toPrecision(digits)).toString();
    return x.toExponential(digits - 1);
  }

  function bits(x) { return x === null || x === undefined ? "—" : K.groupDigits(x) + " bits"; }

  /* ---------- section 1: the bound ---------- */

  function state() {
    var s = D.schedules[+$("in-schedule").value];
    var eta = D.etas[+$("in-eta").value];
    return {
      schedule: s, eta: eta,
      q: { L: s.L, T: s.T, LK: s.LK, d: +$("in-d").value, eps: +$("in-eps").value,
           eta: eta.value, b: +$("in-b").value, cap: CAPS[+$("in-cap").value] }
    };
  }

  function plainSentence(st, n) {
    var q = st.q;
    if (!n.feasible) {
      return "With b = " + q.b + " bits per value Bob cannot tell the 2^" + q.b +
        " levels apart at η = " + st.eta.text + ": that needs η < 1/" +
        Math.round(1 / K.etaLimit(q.b)) + ". Lower b or η.";
    }
    if (n.carrying === 0) {
      return "Under the cap B = " + q.cap + " not a single token fits: Bob's queries would need " +
        "a larger scale than the cap allows. Raise B or d.";
    }
    var who = n.carrying === q.L
      ? "all " + K.groupDigits(q.L) + " cached tokens carry"
      : "only " + K.groupDigits(n.carrying) + " of the " + K.groupDigits(q.L) +
        " cached tokens carry";
    var why = "";
    if (n.carrying < q.L) {
      why = q.cap === null ? " (d is below d_min = " + n.dMin + ")"
        : " (the cap B = " + q.cap + " leaves room for no more)";
    }
    return "With " + st.schedule.name + " and d = " + q.d + ", " + who + " " +
      (q.b * q.d) + " bits each" + why + ": any cache that answers every query to " +
      "relative error " + st.eta.text + " keeps at least " + K.groupDigits(n.boundBits) +
      " bits per head. A real fp16 cache holds " + K.groupDigits(n.fp16Bits) + ", " +
      num(n.fp16Ratio, 1) + " times that: no compressor can do better than " +
      num(n.fp16Ratio, 1) + "×.";
  }

  function updateBound() {
    var st = state();
    var q = st.q;
    var s = st.schedule;
    text("lab-schedule", s.name + " (sides " + s.sides.join(",") + "; L_K−1 = " +
      K.groupDigits(s.L) + ", T_K = " + K.groupDigits(s.T) + ")");
    text("lab-d", String(q.d));
    text("lab-eps", q.cap === null ? num(q.eps, 2) : num(q.eps, 2) + " (unused: the cap chooses ε)");
    text("lab-eta", st.eta.text);
    text("lab-b", String(q.b));
    text("lab-cap", q.cap === null ? "none (the theorem)" : String(q.cap) +
      (q.cap === 100 ? " (released VAR heads)" : ""));
    var n = K.pageNumbers(q);
    text("out-plain", plainSentence(st, n));
    text("out-dmin", String(n.dMin) + (q.d >= n.dMin ? " ≤ d" : " > d"));
    text("out-carrying", n.carrying === undefined ? "—" : K.groupDigits(n.carrying) + " of " +
      K.groupDigits(q.L));
    text("out-eps", n.eps === null || n.eps === undefined ? "—" : String(n.eps));
    text("out-cmin", num(n.cMin, 4));
    text("out-scale", num(n.scale, 4));
    text("out-gamma", sig(n.gamma, 6));
    if (q.b === 1) {
      text("out-tau", n.tau === undefined ? "—" : num(n.tau, 6) + "  (a 0 bit gives ≤ " +
        num(n.zeroRangeTop, 4) + ", a 1 bit ≥ " + num(n.oneRangeBottom, 4) + ")");
    } else {
      text("out-tau", n.thresholdFirst === undefined ? "—" : (Math.pow(2, q.b) - 1) +
        " thresholds, from " + sig(n.thresholdFirst, 5) + " to " + sig(n.thresholdLast, 5));
    }
    text("out-bound", bits(n.boundBits));
    text("out-fp16", bits(n.fp16Bits));
    text("out-ratio", n.fp16Ratio === null ? "—" : num(n.fp16Ratio, 2) + "×");
    updateModels(st);
    updateConcentration();
    writeHash();
  }

  /* ---------- section 2: the released models ---------- */

  function updateModels(st) {
    var body = $("models-table").tBodies[0];
    body.textContent = "";
    D.models.forEach(function (m) {
      var row = m.by_eta.filter(function (r) { return r.eta === st.eta.text; })[0];
      var tr = document.createElement("tr");
      var cells = [m.model, m.resolution + " px",
        row ? String(row.bits_per_value) : "—",
        row ? K.groupDigits(row.bound_bits_per_head) : "—",
        row ? K.groupDigits(row.fp16_bits_per_head) : "—",
        row && row.ratio !== null ? num(row.ratio, 2) + "×" : "—"];
      cells.forEach(function (c) {
        var td = document.createElement("td");
        td.textContent = c;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  /* ---------- drawing ---------- */

  function axes(ctx, w, h, xmax, ymax, xlabel, ylabel) {
    var box = { left: 56, right: w - 16, top: 14, bottom: h - 40 };
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, w, h);
    ctx.strokeStyle = "#222";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(box.left, box.top);
    ctx.lineTo(box.left, box.bottom);
    ctx.lineTo(box.right, box.bottom);
    ctx.stroke();
    ctx.fillStyle = "#222";
    ctx.font = "12px sans-serif";
    ctx.textAlign = "center";
    ctx.fillText(xlabel, (box.left + box.right) / 2, h - 8);
    ctx.save();
    ctx.translate(14, (box.top + box.bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(ylabel, 0, 0);
    ctx.restore();
    box.x = function (v) { return box.left + (v - box.x0) / (box.x1 - box.x0) * (box.right - box.left); };
    box.y = function (v) { return box.bottom - v / ymax * (box.bottom - box.top); };
    box.x0 = 0;
    box.x1 = xmax;
    return box;
  }

  function ticks(ctx, box, xs, ys) {
    ctx.fillStyle = "#222";
    ctx.font = "11px sans-serif";
    ctx.textAlign = "center";
    xs.forEach(function (v) { ctx.fillText(String(v), box.x(v), box.bottom + 14); });
    ctx.textAlign = "right";
    ys.forEach(function (v) { ctx.fillText(String(v), box.left - 6, box.y(v) + 4); });
  }

  function vline(ctx, box, x, colour, label, dash, row) {
    if (x === null || x === undefined || x < box.x0 || x > box.x1) return;
    ctx.strokeStyle = colour;
    ctx.setLineDash(dash || []);
    ctx.beginPath();
    ctx.moveTo(box.x(x), box.top);
    ctx.lineTo(box.x(x), box.bottom);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = colour;
    ctx.textAlign = "left";
    ctx.fillText(label, box.x(x) + 3, box.top + 12 + 14 * (row || 0));
  }

  function legend(ctx, x, y, entries) {
    ctx.font = "12px sans-serif";
    var width = 0;
    entries.forEach(function (e) { width = Math.max(width, ctx.measureText(e[0]).width); });
    ctx.fillStyle = "rgba(255, 255, 255, 0.9)";
    ctx.fillRect(x - 6, y - 14, width + 12, 18 * entries.length + 6);
    ctx.textAlign = "left";
    entries.forEach(function (e, i) {
      ctx.fillStyle = e[1];
      ctx.fillText(e[0], x, y + 18 * i);
    });
  }

  /* ---------- section 3: the softmax ---------- */

  function updateConcentration() {
    var cdata = D.concentration;
    var ips = cdata.inner_products_times_d.map(function (v) { return v / cdata.d; });
    var st = state();
    var target = K.decodingTarget(st.q.eta, st.q.b);
    var c = +$("in-c").value;
    text("lab-c", num(c, 1));
    var w = K.concentration(c, ips, cdata.T);
    text("out-w-target", num(w.target, 6));
    text("out-w-others", num(w.others, 6) + " (largest single one " + sig(w.largestOther, 4) + ")");
    text("out-w-zero", num(w.zeroKeys, 6));
    var gbound = K.gamma(cdata.L, cdata.T, c, cdata.eps, 0);
    text("out-w-bound", num(1 / (1 + gbound), 6));
    var canvas = $("conc-canvas");
    var ctx = canvas.getContext("2d");
    var box = axes(ctx, canvas.width, canvas.height, 120, 1, "query scale C",
      "weight on token 0");
    ticks(ctx, box, [0, 20, 40, 60, 80, 100, 120], [0, 0.5, 1]);
    var need = 1 / (1 + target);
    if (target > 0) {
      ctx.strokeStyle = GREY;
      ctx.setLineDash([2, 3]);
      ctx.beginPath();
      ctx.moveTo(box.left, box.y(need));
      ctx.lineTo(box.right, box.y(need));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = GREY;
      ctx.textAlign = "right";
      ctx.fillText("weight L3 needs at η = " + st.eta.text, box.right, box.y(need) - 4);
    }
    var curve = function (f, colour, dash) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      ctx.setLineDash(dash || []);
      ctx.beginPath();
      for (var i = 0; i <= 240; i++) {
        var x = 120 * i / 240;
        var y = f(x);
        if (i === 0) ctx.moveTo(box.x(x), box.y(y));
        else ctx.lineTo(box.x(x), box.y(y));
      }
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.lineWidth = 1;
    };
    curve(function (x) { return K.concentration(x, ips, cdata.T).target; }, BLUE);
    curve(function (x) { return 1 / (1 + K.gamma(cdata.L, cdata.T, x, cdata.eps, 0)); },
      VERMILLION, [6, 4]);
    var cmin = target > 0 ? K.scaleForGamma(cdata.L, cdata.T, cdata.eps, target, 0) : null;
    vline(ctx, box, cmin, GREEN, "C_min " + num(cmin, 1), [4, 3]);
    vline(ctx, box, 100, GREY, "B = 100 (VAR heads)", [1, 3]);
    vline(ctx, box, c, ORANGE, "C = " + num(c, 1), null, 1);
    legend(ctx, box.x(62), box.bottom - 50, [
      ["── the real keys: weight on token 0", BLUE],
      ["- - - the guarantee 1/(1 + γ(C)) of L2", VERMILLION]]);
  }

  /* ---------- section 4: Bob's outputs ---------- */

  function updateOutputs() {
    var run = D.outputs[+$("in-run").value];
    text("run-note", run.note + ". C = " + num(run.C, 3) + ", γ = " + sig(run.gamma, 4) +
      ", τ = " + num(run.tau, 4) + "; " + K.groupDigits(run.bit_errors) + " of " +
      K.groupDigits(run.n_bits) + " bits read wrong.");
    var v = $("run-verdict");
    v.textContent = "";
    run.verdict.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      v.appendChild(p);
    });
    var canvas = $("out-canvas");
    var ctx = canvas.getContext("2d");
    var edges = run.edges;
    var top = 1;
    run.counts_0.concat(run.counts_1).forEach(function (c) { if (c > top) top = c; });
    var logTop = Math.log10(top + 1);
    var box = axes(ctx, canvas.width, canvas.height, 1, logTop, "Bob's output",
      "count (log scale)");
    box.x0 = edges[0];
    box.x1 = edges[edges.length - 1];
    ticks(ctx, box, [0, 0.25, 0.5, 0.75, 1], []);
    var shade = function (x0, x1, colour) {
      ctx.fillStyle = colour;
      ctx.globalAlpha = 0.15;
      ctx.fillRect(box.x(x0), box.top, box.x(x1) - box.x(x0), box.bottom - box.top);
      ctx.globalAlpha = 1;
    };
    var zr = K.zeroRange(run.gamma, run.eta);
    var orng = K.oneRange(run.gamma, run.eta);
    shade(box.x0, zr, SKY);
    shade(orng, box.x1, ORANGE);
    var bars = function (counts, colour, fill) {
      for (var i = 0; i < counts.length; i++) {
        if (!counts[i]) continue;
        var x0 = box.x(edges[i]);
        var x1 = box.x(edges[i + 1]);
        var y = box.y(Math.log10(counts[i] + 1));
        if (fill) {
          ctx.fillStyle = colour;
          ctx.fillRect(x0, y, Math.max(1, x1 - x0 - 1), box.bottom - y);
        } else {
          ctx.strokeStyle = colour;
          ctx.lineWidth = 2;
          ctx.strokeRect(x0, y, Math.max(1, x1 - x0 - 1), box.bottom - y);
          ctx.lineWidth = 1;
        }
      }
    };
    bars(run.counts_0, BLUE, true);
    bars(run.counts_1, VERMILLION, false);
    vline(ctx, box, run.tau, "#000000", "τ = " + num(run.tau, 3));
    legend(ctx, box.x(0.47), box.top + 40, [
      ["■ outputs for 0 bits (L3: at most " + num(zr, 3) + ")", BLUE],
      ["□ outputs for 1 bits (L3: at least " + num(orng, 3) + ")", VERMILLION]]);
  }

  /* ---------- section 5: the student's cache ---------- */

  function showStudent(record, source) {
    var v = $("student-verdict");
    var body = $("student-table").tBodies[0];
    v.textContent = "";
    body.textContent = "";
    var lines;
    try {
      lines = K.verdictLines(record);
    } catch (err) {
      var p = document.createElement("p");
      p.className = "problem";
      p.textContent = "Could not read " + source + ": " + err.message + ".";
      v.appendChild(p);
      return;
    }
    lines.forEach(function (line, i) {
      var p = document.createElement("p");
      p.textContent = line;
      if (i === 0) p.className = /^LEAK/.test(line) ? "leak" : "ok";
      v.appendChild(p);
    });
    var rows = [
      ["cache", record.cache], ["schedule", record.schedule], ["d", record.d],
      ["message", bits(record.message_bits)], ["lower bound", bits(record.lower_bound_bits)],
      ["bits read wrong", record.bit_errors === undefined ? "—" : K.groupDigits(record.bit_errors) +
        " of " + K.groupDigits(record.bits_decoded)],
      ["C", num(record.C, 4)], ["τ", num(record.tau, 6)], ["seeds", (record.seeds || []).join(", ")]
    ];
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.textContent = r[0];
      var td = document.createElement("td");
      td.textContent = r[1] === undefined || r[1] === null ? "—" : String(r[1]);
      tr.appendChild(th);
      tr.appendChild(td);
      body.appendChild(tr);
    });
  }

  function readText(textValue, source) {
    var record;
    try {
      record = JSON.parse(textValue);
    } catch (err) {
      showStudent(null, source + " (not JSON: " + err.message + ")");
      return;
    }
    showStudent(record, source);
  }

  /* ---------- state in the address (#d=16&cap=100), so a setting can be shared ---------- */

  var IDS = ["schedule", "d", "eps", "eta", "b", "cap", "c"];

  function writeHash() {
    var parts = IDS.map(function (k) { return k + "=" + $("in-" + k).value; });
    var h = "#" + parts.join("&");
    if (window.location.hash !== h && window.history && window.history.replaceState) {
      try { window.history.replaceState(null, "", h); } catch (e) { /* file: may refuse */ }
    }
  }

  function readHash() {
    var h = window.location.hash.replace(/^#/, "");
    if (!h) return;
    h.split("&").forEach(function (kv) {
      var p = kv.split("=");
      if (IDS.indexOf(p[0]) >= 0 && p[1] !== undefined && p[1] !== "") {
        $("in-" + p[0]).value = decodeURIComponent(p[1]);
      }
    });
  }

  /* ---------- start ---------- */

  function start() {
    text("headline", D.headline.text);
    var sched = $("in-schedule");
    sched.max = String(D.schedules.length - 1);
    var ex = D.example;
    D.schedules.forEach(function (s, i) { if (s.name === ex.schedule) sched.value = String(i); });
    var eta = $("in-eta");
    eta.max = String(D.etas.length - 1);
    D.etas.forEach(function (e, i) { if (e.value === ex.eta) eta.value = String(i); });
    $("in-cap").max = String(CAPS.length - 1);
    $("in-d").value = String(ex.d);
    $("in-eps").value = String(ex.eps);
    text("conc-label", D.concentration.schedule + ", d = " + D.concentration.d + ", ε = " +
      D.concentration.eps + ", key seed " + D.concentration.key_seed);
    var sel = $("in-run");
    D.outputs.forEach(function (r, i) {
      var o = document.createElement("option");
      var opts = Object.keys(r.options).map(function (k) { return k + "=" + r.options[k]; });
      o.value = String(i);
      o.textContent = r.cache + (opts.length ? " (" + opts.join(", ") + ")" : "");
      sel.appendChild(o);
    });
    readHash();
    ["schedule", "d", "eps", "eta", "b", "cap"].forEach(function (k) {
      $("in-" + k).addEventListener("input", updateBound);
    });
    $("in-c").addEventListener("input", function () { updateConcentration(); writeHash(); });
    sel.addEventListener("change", updateOutputs);
    $("in-file").addEventListener("change", function (ev) {
      var f = ev.target.files && ev.target.files[0];
      if (!f) return;
      var reader = new FileReader();
      reader.onload = function () { readText(String(reader.result), f.name); };
      reader.readAsText(f);
    });
    $("btn-paste").addEventListener("click", function () {
      readText($("in-paste").value, "the pasted text");
    });
    if (D.student) showStudent(D.student, "the record built into this page");
    text("build-note", "Data written by kvbound " + D.kvbound_version + " (`kvbound site`).");
    updateBound();
    updateOutputs();
  }

  start();
})();
