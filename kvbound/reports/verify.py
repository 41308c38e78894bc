"""Plain-text tables and markdown reports of verification runs.

Every number printed comes from a measured run or from lowerbound/, never a literal here.
"""

from __future__ import annotations

from typing import Any

from caches.exact import exact_cache_bits
from kvbound.reports.plain import plain_report, row_anchor, verdict_lines
from lowerbound.jl import d_min, d_min_exact
from lowerbound.models import VAR_LOGIT_CAP
from reduction.protocol import SIMULATION_GAMMA_FRACTION, VerifyResult

__all__ = ["verify_rows", "head_rows", "variant_rows", "verify_table", "verify_markdown",
           "certificate_line"]

REAL_VAR_LOGIT_CAP = float(VAR_LOGIT_CAP)  # released VAR heads cap the logit scale


def _c_used(j: dict, at_c_min: bool) -> str:
    """Which C Bob's queries used, and why it differs from `constants`' C_min."""
    if at_c_min:
        why = "C_min itself (--at-c-min: the theorem's worst case)"
    else:
        bound = "(1-eta)/(1+eta) (L3)" if j["tau"] is not None else "Lemma PREC's bound"
        why = (f"the least C with gamma < {SIMULATION_GAMMA_FRACTION} x {bound}, so floats "
               "stay off the thresholds")
    side = "within" if j["C"] <= REAL_VAR_LOGIT_CAP else "above"
    return f"{j['C']:.4f}: {why} ({side} a real VAR head's cap {REAL_VAR_LOGIT_CAP:g})"


def verify_rows(result: VerifyResult) -> list[tuple[str, str]]:
    """(label, value) pairs summarising a verification."""
    j = result.to_json()
    pub = result.public
    s = pub.schedule
    n = j["instance_bits"]
    ratio = j["message_bits"] / n
    return [
        ("schedule", f"{s}"),
        ("head dimension d", f"{pub.d}"),
        *head_rows(result),
        ("cache", f"{pub.cache} {j['cache_options']}"),
        ("cached tokens L = L_(K-1)", f"{s.cached_tokens}"),
        ("last-scale tokens T_K", f"{s.last_scale_tokens} ({j['passes']} passes of Bob)"),
        (("instance bits N = L'*d (L' carrying tokens)" if pub.bits_per_value is None else
          f"instance bits N = L'*d*b (b = {pub.bits_per_value})")
         if not pub.multi_head else "instance bits N = (D*H - U)*L'*d", f"{n}"),
        ("eps; d_min Hoeffding / exact", f"{pub.eps:g}; {d_min(s.cached_tokens, pub.eps)} / "
         f"{d_min_exact(s.cached_tokens, pub.eps)}"),
        ("max <k_i,k_j> measured", f"{j['max_inner_product']:.4f}"),
        *variant_rows(j),
        ("C_min (Lemma L3, as `constants`)", f"{j['C_min']:.4f}"),
        ("C used by Bob", _c_used(j, pub.at_c_min)),
        ("gamma at C used; tau used", f"{j['gamma']:.4g}; {j['tau']:.6f} (Lemma L3 at that gamma)")
        if j["tau"] is not None else
        ("gamma at C used; thresholds", f"{j['gamma']:.4g}; {len(j['thresholds'])} "
         f"thresholds between the 2^{j['bits_per_value']} levels (Lemma PREC)"),
        ("seeds", ", ".join(str(x) for x in j["seeds"])),
        ("parties ran in", isolation_text(j.get("isolation"))),
        ("bits checked", f"{j['bits_decoded']}" + (
            f" (Multi-Index: {len(result.runs)} x {result.runs[0].n_bits})"
            if result.runs[0].n_bits != n else "")),
        ("bit errors; error rate p", f"{j['bit_errors']}; p = {j['error_rate']:.6g}")
        if j["tau"] is not None else
        ("symbol errors; symbol error rate p",
         f"{j['symbol_errors']} ({j['bit_errors']} bits); p = {j['error_rate']:.6g}"),
        ("information (Fano at p, any p; least seed)",
         f"{j['information_bits']:.1f} bits about the values checked"),
        ("memory: largest state, all boundaries",
         f"{j['message_bits']} bits ({ratio:.3f} x N)"),
        ("exact fp16 cache bits",
         f"{exact_cache_bits(s.cached_tokens, pub.d, 'float16', heads=pub.n_heads)}"),
        (f"lower bound (1 - H2({pub.delta:g})) N" if j["tau"] is not None else
         f"lower bound L d (b - H2({pub.delta:g}) - ...) (Lemma PREC)",
         f"{j['lower_bound_bits']:.0f} (for a cache that answers every query right)"),
        ("leak certificate (shortest code of X given Y)", certificate_line(result)),
        ("leak (information decoded > message)", "none: the message holds at least the "
         "information Bob decoded" if j["bound_respected"] else
         "YES: the message Bob received is shorter than the information he decoded"),
    ]


def certificate_line(result: VerifyResult) -> str:
    """Which code decided the verdict, on which test, and by how many bits."""
    c = result.certificate
    tests = f"{c.family} codes x tests, alpha {c.alpha:g}"
    if c.leak:
        line = (f"LEAK certified by code {c.code} ({c.scope}): X given Y in {c.code_bits} "
                f"bits, {c.margin_bits:.1f} bits under the threshold {c.threshold_bits:.1f} "
                f"({tests})")
        return line + (f"; then {result.failure}" if result.failure else "")
    return (f"no leak: closest code {c.code} ({c.scope}) needs {c.code_bits} bits, "
            f"{-c.margin_bits:.1f} bits over the threshold {c.threshold_bits:.1f} ({tests})")


def head_rows(result: VerifyResult) -> list[tuple[str, str]]:
    """Rows for a run on D * H heads (docs/theorem.md#c2-run): the grid, the unused heads
    of the allocation variant, and the spread of the heads' error rates."""
    pub = result.public
    if not pub.multi_head:
        return []
    rows = [("heads: D layers x H heads", f"{pub.layers} x {pub.heads} = {pub.n_heads}, each "
             "with its own instance and keys" + (f"; {pub.unused_heads} unused (zero keys and "
                                                 "values, #alloc)" if pub.unused_heads else ""))]
    per_run = [r.head_symbol_errors for r in result.runs if r.head_symbol_errors is not None]
    if per_run:
        size = pub.n_carriers * pub.d
        rates = [e / size for run in per_run for e in run if e is not None]
        rows.append(("error rate per head: least / largest",
                     f"{min(rates):.4g} / {max(rates):.4g}"))
    return rows
def isolation_text(record: dict[str, Any] | None) -> str:
    """How Alice and Bob ran: the sandbox, or in plain terms why not."""
    if record is None:
        return "unknown (no isolation record)"
    if record.get("isolation") == "inline":
        return "this process (inline; registered caches only): NOT sandboxed"
    limit = record.get("max_message_bytes")
    cap = f"; states up to {limit} bytes" if limit else ""
    if record.get("sandbox"):
        extra = ", no new processes" if record.get("sandbox_filter") else ""
        return (f"sandboxed worker processes ({record.get('sandbox_tool')}: own namespaces, "
                f"read-only files{extra}, resource limits){cap}")
    return (f"worker processes, NOT sandboxed ({record.get('unsandboxed_because')})"
            f"{cap}")


def variant_rows(j: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows for the C1 variant and the logit cap, from ``VerifyResult.to_json()``."""
    rows: list[tuple[str, str]] = []
    low = j.get("low_dimension")
    if low is not None and low["regime"] == "low-dimension":
        rows += [
            ("regime", f"low dimension (C1): {low['carriers_witnessed']} carrying tokens "
             f"({low['carrier_positions']}), {low['zero_key_tokens']} with zero keys/values"),
            ("eps run (source); eps of L'_guaranteed",
             f"{low['eps']:g} ({low['eps_source']}); {low['eps_guaranteed']:g}"),
            ("L'_guaranteed; its bound d L'",
             f"{low['carriers_guaranteed']}; {low['bound_guaranteed_bits']:.0f} bits"),
            ("L'_witnessed; its bound d L'",
             f"{low['carriers_witnessed']} (search found {low['witnessed_found']}, max "
             f"<k_i,k_j> {low['witnessed_max_inner_product']:.4f}); "
             f"{low['bound_witnessed_bits']:.0f} bits"),
        ]
    logits = j.get("logits")
    if logits is not None and logits["logit_cap"] is not None:
        claimed = logits["max_abs_logit_claimed"]
        rows.append((
            "largest |logit|: Bob's claim / recomputed; cap B",
            f"{'none' if claimed is None else format(claimed, '.6g')} / "
            f"{logits['max_abs_logit_recomputed']:.6g}; {logits['logit_cap']:g}"
            f"{' (VAR head)' if logits['var_head'] else ''}: "
            f"{'within' if logits['logit_cap_respected'] else 'OUTSIDE'}"))
    return rows


def verify_table(result: VerifyResult, *, explain: bool = False) -> str:
    """What happened in plain words, then the rows (with ``explain``, where each is
    proved); :mod:`kvbound.reports.plain`."""
    return plain_report(verdict_lines(result.to_json()), verify_rows(result),
                        explain=explain)


def verify_markdown(result: VerifyResult) -> str:
    """A markdown report: the summary table, then one row per seed."""
    lines = [
        "# kvbound verify report",
        "",
        *(f"**{line}**" if i == 0 else line
          for i, line in enumerate(verdict_lines(result.to_json()))),
        "",
        "Alice streamed the hard instance of arXiv 2503.14881 into the cache; Bob rebuilt",
        "the cache from its bytes alone (in a separate process unless run inline) and read",
        "every bit back with queries C*k_i. The lower bound is Lemma L4 at the run's delta.",
        "",
        "| quantity | value | where it is proved |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | " + (f"[#{row_anchor(a)}](docs/theorem.md#{row_anchor(a)})"
                                   if row_anchor(a) else "") + " |"
              for a, b in verify_rows(result)]
    lines += [
        "",
        "| seed | message bits | largest state | bit errors | error rate p | N(1-H2(p)) "
        "| shortest code | its bits | under threshold by | leak | decoding margin |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result.runs:
        c = r.certificate
        lines.append(
            f"| {r.seed} | {r.message_bits} | {r.memory_bits} | {r.bit_errors} | "
            f"{r.error_rate:.4g} | {r.information_bits:.1f} | {c.code} | {c.code_bits} | "
            f"{c.margin_bits:.1f} | {'LEAK' if c.leak else 'no'} | {r.decoding_margin:.4f} |"
        )
    if result.pooled is not None:
        c = result.pooled
        lines += ["", f"Pooled over the seeds: code {c.code}, {c.code_bits} bits, "
                  f"{c.margin_bits:.1f} bits under the threshold: "
                  f"{'LEAK' if c.leak else 'no leak'}."]
    return "\n".join(lines) + "\n"
