/* kvbound.js: the closed forms of the KV-cache lower bound, for the interactive page.
 *
 * Each function mirrors one function of the Python package (named in its comment) in
 * double precision; tests/kvbound/site/test_site_numbers.py runs this file with Node on a
 * grid of parameters and compares every number with the Python one (relative 1e-9,
 * integers exactly). Lemma labels are the section anchors of docs/theorem.md.
 *
 * Plain JavaScript, no dependency: in a browser it defines window.KVBound, under Node
 * module.exports.
 */
(function (root, factory) {
  "use strict";
  var api = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.KVBound = api;
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  /* Reduction constants (reduction/public.py): the verifier's Bob runs at the least C
   * with gamma(C) < 1/2 * target, and under a cap B at most B * 511/512. */
  var SIMULATION_GAMMA_FRACTION = 0.5;
  var SIMULATION_CAP_FRACTION = 511 / 512;

  /* lowerbound.jl.pair_count: L(L-1)/2 (exact below 2^53). */
  function pairCount(n) {
    return (n * (n - 1)) / 2;
  }

  /* lowerbound.jl.d_min (#l1): least d with L(L-1)/2 exp(-eps^2 d/2) < 1,
   * floor(2 ln(L(L-1)/2) / eps^2) + 1, and 1 for L <= 2. */
  function dMin(L, eps) {
    var m = pairCount(L);
    if (m <= 1) return 1;
    return Math.floor((2 * Math.log(m)) / (eps * eps)) + 1;
  }

  /* lowerbound.jl.max_keys (#c1): largest L' <= cap with L'(L'-1)/2 < exp(eps^2 d/2),
   * compared in logarithms so nothing overflows. */
  function maxKeys(d, eps, cap) {
    var x = (eps * eps * d) / 2;
    if (cap !== null && cap !== undefined && 2 * Math.log(cap) < x - 1) return cap;
    var below = function (n) { return n <= 1 || Math.log(pairCount(n)) < x; };
    var n = Math.max(1, Math.floor(Math.SQRT2 * Math.exp(x / 2)) + 2);
    if (cap !== null && cap !== undefined) n = Math.min(n, cap);
    while (n > 1 && !below(n)) n -= 1;
    while ((cap === null || cap === undefined || n < cap) && below(n + 1)) n += 1;
    return n;
  }

  /* lowerbound.softmax.gamma (#l2, #unused): the mass outside Bob's target token,
   * (L-1) e^{-C(1-eps)} + (T_K + Z) e^{-C}. */
  function gamma(nKeys, lastTokens, scale, eps, zeroKeys) {
    var z = zeroKeys || 0;
    return (nKeys - 1) * Math.exp(-scale * (1 - eps)) + (lastTokens + z) * Math.exp(-scale);
  }

  /* reduction.public.decoding_gamma_target (#l3, #prec): the gamma decoding needs to stay
   * below, for 2^b levels with every value at most (2^b - 1)/2^b:
   * (1 - eta (2^{b+1} - 3)) / ((1 + eta)(2^b - 1)); b = 1 is L3's (1 - eta)/(1 + eta). */
  function decodingTarget(eta, b) {
    var p = Math.pow(2, b);
    return (1 - eta * (2 * p - 3)) / ((1 + eta) * (p - 1));
  }

  /* lowerbound.precision.eta_limit (#prec): the eta below which 2^b levels can separate. */
  function etaLimit(b) {
    return 1 / (Math.pow(2, b + 1) - 3);
  }

  /* lowerbound.softmax.scale_for_gamma (#l2 solved for C): the least double C with
   * gamma(C) < target, by bisection down to adjacent doubles; null when no C > 0 is
   * needed (every C already has gamma < target) or none can work (target <= 0). */
  function scaleForGamma(nKeys, lastTokens, eps, target, zeroKeys) {
    var t = lastTokens + (zeroKeys || 0);
    if (target <= 0) return null;
    if (nKeys - 1 + t <= target) return null;
    var tooBig = function (c) { return gamma(nKeys, t, c, eps, 0) >= target; };
    var lo = 0;
    var hi = 1;
    while (tooBig(hi)) {
      lo = hi;
      hi *= 2;
    }
    for (;;) {
      var mid = lo + (hi - lo) / 2;
      if (mid <= lo || mid >= hi) break;
      if (tooBig(mid)) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /* lowerbound.decoding.tau, one_range, zero_range (#l3), relative error. */
  function tau(g, eta) {
    return ((1 - eta) + (1 + eta) * g) / (2 * (1 + g));
  }
  function oneRange(g, eta) {
    return (1 - eta) / (1 + g);
  }
  function zeroRange(g, eta) {
    return ((1 + eta) * g) / (1 + g);
  }

  /* lowerbound.precision.level_thresholds (#prec) with V = (2^b - 1)/2^b: the midpoints
   * of the gaps between the observed ranges of adjacent levels. */
  function levelThresholds(b, g, eta) {
    var p = Math.pow(2, b);
    var v = (p - 1) / p;
    var out = [];
    for (var m = 0; m + 1 < p; m++) {
      var hi = ((1 + eta) * (m / p + g * v)) / (1 + g);
      var lo = ((1 - eta) * ((m + 1) / p)) / (1 + g);
      out.push((hi + lo) / 2);
    }
    return out;
  }

  /* lowerbound.families (hoeffding) (#cap): L' keys with pairwise <= eps exist when
   * ln(L'(L'-1)/2) < eps^2 d/2; the floor sqrt(2 ln M / d) itself is not admissible. */
  function epsFloor(k, d) {
    var m = pairCount(k);
    return m <= 1 ? 0 : Math.sqrt((2 * Math.log(m)) / d);
  }
  function floorBelowOne(k, d) {
    var m = pairCount(k);
    return m <= 1 || Math.log(m) < d / 2;
  }
  function admits(k, d, e) {
    if (!(e >= 0 && e < 1)) return false;
    var m = pairCount(k);
    if (m === 0) return e > 0;
    return Math.log(m) < (e * e * d) / 2;
  }

  /* lowerbound.logit_cap._fits (#cap): k carrying tokens fit under the cap B when the
   * family has a floor below 1 and gamma(B) at the floor, with the other L - k cached
   * tokens as zero keys, is below the target. */
  function fits(L, T, k, d, target, cap) {
    if (k === 0) return true;
    if (target <= 0) return false;
    if (!floorBelowOne(k, d)) return false;
    if (cap === null) return true;
    return gamma(k, T, cap, epsFloor(k, d), L - k) < target;
  }

  /* lowerbound.logit_cap._largest: the largest k in [0, n] with fits(k) (monotone). */
  function largest(n, ok) {
    if (ok(n)) return n;
    var lo = 0;
    var hi = n;
    while (hi - lo > 1) {
      var mid = Math.floor((lo + hi) / 2);
      if (ok(mid)) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /* lowerbound.logit_cap._reported_eps (#cap): the first decimal k/10^p above the open
   * floor (p = 3, 4, ...) that is admissible and, under a cap, keeps C_min <= B. */
  function reportedEps(L, T, k, d, target, cap) {
    var floor = epsFloor(k, d);
    for (var p = 3; p < 23; p++) {
      var scale = Math.pow(10, p);
      var e = (Math.floor(floor * scale) + 1) / scale;
      if (e >= 1 || !admits(k, d, e)) continue;
      if (cap === null) return e;
      var c = scaleForGamma(k, T, e, target, L - k);
      var ok = gamma(k, T, cap, e, L - k) < target;
      if (ok && (c === null || c <= cap)) return e;
    }
    return null;
  }

  /* lowerbound.logit_cap.plan_under_cap (#cap, #unused), key family "hoeffding", eps
   * chosen: L* carrying tokens, the eps used and the least C at that eps. */
  function capPlan(L, T, d, target, cap) {
    var k = largest(L, function (j) { return fits(L, T, j, d, target, cap); });
    if (k === 0) return { carrying: 0, eps: null, cMin: null, dMin: null };
    var e = reportedEps(L, T, k, d, target, cap);
    var c = e === null ? null : scaleForGamma(k, T, e, target, L - k);
    return { carrying: k, eps: e, cMin: c, dMin: e === null || e <= 0 ? null : dMin(k, e) };
  }

  /* reduction.public.PublicParams.scale: the C the verifier's Bob uses. */
  function simulationScale(cMin, cSim, cap) {
    if (cap === null) return cSim;
    var room = cap * SIMULATION_CAP_FRACTION;
    return cMin <= room ? Math.min(cSim, room) : (cMin + cap) / 2;
  }

  /* Every number of the page's sliders, as kvbound.site.reference.page_numbers computes
   * them in Python. Inputs: L = L_{K-1}, T = T_K, LK = L_K, d, eps (used without a cap;
   * under a cap eps is chosen), eta (relative error), b (bits per value), cap (B or null).
   * Without a cap the carrying tokens are min(L, max_keys(d, eps)): all L when
   * d >= d_min (the theorem), else Corollary C1's L'. */
  function pageNumbers(q) {
    var L = q.L;
    var T = q.T;
    var cap = q.cap === undefined ? null : q.cap;
    var target = decodingTarget(q.eta, q.b);
    var out = {
      target: target,
      dMin: dMin(L, q.eps),
      fp16Bits: 2 * 16 * q.d * q.LK,
      feasible: target > 0
    };
    var k;
    var e;
    var cMin;
    if (!(target > 0)) {
      out.carrying = 0;
      return finish(out, q, 0);
    }
    if (cap === null) {
      e = q.eps;
      k = Math.min(L, maxKeys(q.d, e, L));
      cMin = scaleForGamma(k, T, e, target, L - k);
    } else {
      var plan = capPlan(L, T, q.d, target, cap);
      k = plan.carrying;
      e = plan.eps;
      cMin = plan.cMin;
      out.dMinAtEps = plan.dMin;
    }
    out.carrying = k;
    out.eps = e;
    if (k === 0 || e === null) return finish(out, q, 0);
    out.cMin = cMin;
    var cSim = scaleForGamma(k, T, e, target * SIMULATION_GAMMA_FRACTION, L - k);
    var c = cMin === null || cSim === null ? null : simulationScale(cMin, cSim, cap);
    out.scale = c;
    if (c !== null) {
      var g = gamma(k, T, c, e, L - k);
      out.gamma = g;
      if (q.b === 1) {
        out.tau = tau(g, q.eta);
        out.zeroRangeTop = zeroRange(g, q.eta);
        out.oneRangeBottom = oneRange(g, q.eta);
      } else {
        var th = levelThresholds(q.b, g, q.eta);
        out.thresholdFirst = th[0];
        out.thresholdLast = th[th.length - 1];
      }
    }
    return finish(out, q, k);
  }

  function finish(out, q, k) {
    out.boundBits = q.b * q.d * k; /* (1 - H2(0)) * b * d * k, delta = 0 (#l4, #prec) */
    out.fp16Ratio = out.boundBits > 0 ? out.fp16Bits / out.boundBits : null;
    return out;
  }

  /* reduction.attention.softmax_rows (#l2) on one row of scores, log-sum-exp form. */
  function softmax(scores) {
    var m = -Infinity;
    var i;
    for (i = 0; i < scores.length; i++) if (scores[i] > m) m = scores[i];
    var total = 0;
    var w = new Array(scores.length);
    for (i = 0; i < scores.length; i++) {
      w[i] = Math.exp(scores[i] - m);
      total += w[i];
    }
    for (i = 0; i < scores.length; i++) w[i] /= total;
    return w;
  }

  /* Bob's query C k_i against one real key family (#l2): the scores are C on the target,
   * C <k_i, k_j> on the other cached keys and 0 on the T_K zero keys. Returns the target's
   * weight, the largest other weight and the mass on the zero keys. */
  function concentration(c, innerProducts, zeroKeys) {
    var scores = [c];
    for (var j = 0; j < innerProducts.length; j++) scores.push(c * innerProducts[j]);
    for (var z = 0; z < zeroKeys; z++) scores.push(0);
    var w = softmax(scores);
    var other = 0;
    var top = 0;
    var zero = 0;
    for (var i = 1; i < w.length; i++) {
      if (i <= innerProducts.length) {
        other += w[i];
        if (w[i] > top) top = w[i];
      } else {
        zero += w[i];
      }
    }
    return { target: w[0], others: other, largestOther: top, zeroKeys: zero };
  }

  /* kvbound.reports.plain (the plain verdict of a `verify --json` record): numbers are
   * rounded half up on integers in both languages, so the two texts agree exactly. */
  function groupDigits(n) {
    var s = String(Math.floor(n + 0.5));
    var neg = s.charAt(0) === "-";
    if (neg) s = s.slice(1);
    var out = "";
    while (s.length > 3) {
      out = "," + s.slice(-3) + out;
      s = s.slice(0, -3);
    }
    return (neg ? "-" : "") + s + out;
  }

  function fixed(x, digits) {
    var scale = Math.pow(10, digits);
    var n = Math.floor(x * scale + 0.5);
    var whole = Math.floor(n / scale);
    if (digits === 0) return String(whole);
    var frac = String(n - whole * scale);
    while (frac.length < digits) frac = "0" + frac;
    return whole + "." + frac;
  }

  function percent(x) {
    var p = 100 * x;
    if (p === 0) return "0 %";
    if (p < 0.05) return "under 0.1 %";
    return fixed(p, p < 9.95 ? 1 : 0) + " %";
  }

  function verdictLines(record) {
    if (record === null || typeof record !== "object" || !Array.isArray(record.runs)) {
      throw new Error("not a `kvbound verify --json` record (no \"runs\" list)");
    }
    var runs = record.runs;
    if (runs.length === 0) throw new Error("the record has no runs");
    var need = ["message_bits", "information_bits", "information_bits_lcb", "error_rate"];
    var worst = null;
    for (var i = 0; i < runs.length; i++) {
      var r = runs[i];
      for (var j = 0; j < need.length; j++) {
        if (typeof r[need[j]] !== "number") {
          throw new Error("run " + i + " has no number \"" + need[j] + "\"");
        }
      }
      var margin = r.information_bits_lcb - r.message_bits;
      if (worst === null || margin > worst.margin) worst = { run: r, margin: margin };
    }
    var w = worst.run;
    var leak = runs.some(function (x) { return x.leak === true; });
    var cache = typeof record.cache === "string" ? "cache \"" + record.cache + "\"" : "the cache";
    var msg = groupDigits(w.message_bits);
    var lines = [];
    if (leak) {
      lines.push("LEAK: Bob decoded at least " + groupDigits(w.information_bits_lcb) +
                 " bits of information from a " + msg + "-bit message: more than the " +
                 "message holds, so " + cache + " passed Bob information outside its bytes.");
    } else {
      lines.push("No leak: Bob decoded " + groupDigits(w.information_bits) +
                 " bits of information from a " + msg + "-bit message; " + cache +
                 (w.error_rate === 0 ? " gets every bit right."
                   : " gets " + percent(w.error_rate) + " of the bits wrong."));
    }
    if (typeof record.lower_bound_bits === "number" && record.lower_bound_bits > 0) {
      var bound = groupDigits(record.lower_bound_bits);
      if (w.error_rate === 0) {
        lines.push("It answers every query right, so it must keep at least " + bound +
                   " bits (the lower bound): its message is " +
                   fixed(w.message_bits / record.lower_bound_bits, 2) + " times that.");
      } else if (!leak) {
        lines.push("A cache that answers every query right needs at least " + bound +
                   " bits (the lower bound); one that answers wrong may keep less, and " +
                   "the bits it loses pay for it.");
      }
    }
    return lines;
  }

  return {
    SIMULATION_GAMMA_FRACTION: SIMULATION_GAMMA_FRACTION,
    SIMULATION_CAP_FRACTION: SIMULATION_CAP_FRACTION,
    pairCount: pairCount,
    dMin: dMin,
    maxKeys: maxKeys,
    gamma: gamma,
    decodingTarget: decodingTarget,
    etaLimit: etaLimit,
    scaleForGamma: scaleForGamma,
    tau: tau,
    oneRange: oneRange,
    zeroRange: zeroRange,
    levelThresholds: levelThresholds,
    capPlan: capPlan,
    simulationScale: simulationScale,
    pageNumbers: pageNumbers,
    softmax: softmax,
    concentration: concentration,
    groupDigits: groupDigits,
    verdictLines: verdictLines
  };
});
