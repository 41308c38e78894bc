# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Why a VAR KV cache needs Ω(n²d) bits: the unit as a notebook
#
# This notebook follows the nine sections of `docs/course/unit.md` with the library's own
# functions: every number is computed here, every figure is one of the course's eight
# (`kvbound figures` draws the same ones). Run it top to bottom; each section ends with
# the numbers the unit asks the room to predict. `make notebook` turns this file into
# `out/notebook.ipynb`; `tests/kvbound/test_notebook.py` runs it as a script and checks `RESULTS`.

# %%
import math
from fractions import Fraction

import numpy as np

from kvbound.course import data as slide_data
from kvbound.course.show import show
from kvbound.course.slides import slide
from kvbound.reports.asymptotics import asymptotic_table, largest_n_under_cap
from lowerbound.bound import fp16_cache_bits, index_lower_bound_bits, theorem_bound_bits
from lowerbound.decoding import separates
from lowerbound.entropy import information_bits
from lowerbound.jl import d_min, d_min_exact, max_keys
from lowerbound.logit_cap import plan_under_cap
from lowerbound.models import VAR_LOGIT_CAP, model_spec
from lowerbound.precision import bits_per_value_auto, eta_limit, level_gamma_target
from lowerbound.softmax import c_min, gamma_target
from reduction.decode import decode_bits
from reduction.instance import make_instance
from reduction.parties import alice_message, bob_outputs
from reduction.protocol import PublicParams, run_verification
from reduction.schedule import Schedule

PARAMS = slide_data.SlideParams()  # var-256, d = 64, eps = 3/4, eta = 1/4, seed 0
RESULTS: dict[str, object] = {}


def figure(number: int) -> None:
    """Course figure ``number``: its caption, then the figure, shown as an image (the
    figures are drawn without pyplot, so Jupyter would otherwise print only their name)."""
    s = slide(number)
    print(f"Figure {number}: {s.caption}")
    show(s.draw(s.data(PARAMS)))


# %% [markdown]
# ## 1. The VAR cache and why it grows as n²d
# A schedule of K token maps; each scale attends to all earlier ones (block-causal). The
# real cache keeps 2·L_K·d numbers per head at 16 bits.

# %%
var256 = Schedule.preset("var-256")
d16 = model_spec("var-d16")
fp16_mib = fp16_cache_bits(d16.depth, d16.heads, d16.head_dim, d16.total_tokens) / 8 / 2**20
RESULTS.update(tokens=var256.tokens, cached_tokens=var256.cached_tokens,
               total_tokens=var256.total_tokens, var_d16_fp16_mib=fp16_mib)
print(f"T_k = {var256.tokens}, L_(K-1) = {var256.cached_tokens}, L_K = {var256.total_tokens}")
print(f"VAR-d16 fp16 cache per image: {fp16_mib} MiB")
figure(1)

# %% [markdown]
# ## 2. One-way communication: Index and Multi-Index
# Fano per bit: a message from which Bob learns N bits with error δ has ≥ (1 − H₂(δ))·N bits.

# %%
n_bits = var256.cached_tokens * PARAMS.d
at_11 = index_lower_bound_bits(n_bits, 0.11)
RESULTS.update(n_bits=n_bits, bound_at_delta_011=at_11)
print(f"N = {n_bits}; at delta = 0.11 the message still needs {at_11:.0f} bits")

# %% [markdown]
# Read backwards, Fano is the leak check, and it holds for EVERY error rate p: N(1 − H₂(p))
# is symmetric about ½ and equals N at p = 1 (a decoder wrong on every bit knows every bit).
# `examples/hidden_state.py`'s `InvertingStash` is caught this way (exercise 13).

# %%
fano = {p: information_bits(n_bits, p) for p in (0.0, 0.11, 0.5, 0.89, 1.0)}
RESULTS.update(fano_every_p=fano)
print({p: round(bits) for p, bits in fano.items()})

# %% [markdown]
# ## 3. The reduction
# Alice streams her bits into the cache; Bob, holding only its bytes, reads them back in
# ceil(L/T_K) passes. Here with the exact float16 cache, Bob in his own process.

# %%
run = run_verification(var256, PARAMS.d, PARAMS.eps, PARAMS.eta, [PARAMS.seed])
record = run.to_json()
RESULTS.update(passes=record["passes"], bit_errors=record["bit_errors"],
               message_bits=record["message_bits"])
print(f"{record['passes']} passes, {record['bit_errors']} bit errors, "
      f"{record['message_bits']} message bits for N = {record['instance_bits']}")
figure(0)

# %% [markdown]
# ## 4. JL sign keys (L1)
# d_min(L, ε) = ⌊2 ln(L(L − 1)/2)/ε²⌋ + 1, and the run's family checked directly.

# %%
by_hand = math.floor(2 * math.log(var256.cached_tokens * (var256.cached_tokens - 1) / 2)
                     / PARAMS.eps**2) + 1
RESULTS.update(d_min=d_min(var256.cached_tokens, PARAMS.eps), d_min_by_hand=by_hand,
               d_min_exact=d_min_exact(var256.cached_tokens, PARAMS.eps),
               max_inner_product=record["max_inner_product"])
print(f"d_min = {RESULTS['d_min']} (by hand {by_hand}), exact {RESULTS['d_min_exact']}; "
      f"measured max <k_i, k_j> = {record['max_inner_product']}")
figure(2)

# %% [markdown]
# ## 5. Softmax concentration (L2)
# γ = (L − 1)e^{−C(1−ε)} + T_K e^{−C}; C_min is the least C with γ < (1 − η)/(1 + η).

# %%
cm = c_min(var256.cached_tokens, var256.last_scale_tokens, PARAMS.eps, PARAMS.eta)
estimate = 4 * math.log((var256.cached_tokens - 1) / float(gamma_target(PARAMS.eta)))
RESULTS.update(c_min=cm, c_min_estimate=estimate, fits_cap=cm <= VAR_LOGIT_CAP)
print(f"C_min = {cm:.4f} (estimate 4 ln(423/0.6) = {estimate:.4f}); cap {VAR_LOGIT_CAP}")
figure(3)

# %% [markdown]
# ## 6. Decoding under approximation (L3)
# τ separates iff γ < (1 − η)/(1 + η); the `noisy` cache has relative error η.

# %%
noisy = {eta: run_verification(var256, PARAMS.d, PARAMS.eps, PARAMS.eta, [PARAMS.seed],
                               cache="noisy", options={"noise": eta}).bit_errors
         for eta in (0.25, 0.9)}
RESULTS.update(noisy_errors=noisy,
               separates_at_boundary=separates(Fraction(1, 2), Fraction(1, 3)),
               separates_inside=separates(Fraction(49, 100), Fraction(1, 3)))
print(f"noisy cache, bit errors by eta: {noisy}")
figure(4)

# %% [markdown]
# The worst cache the definition allows: `adversarial-eta` moves every entry by exactly η
# towards τ, and Bob queries at C = C_min itself. Decoded at τ: no error. Decoded at ½:
# every 1 bit is lost, because (1 − η)·Z < ½ for every 1-bit output Z < 1.

# %%
adversary = PublicParams(var256, PARAMS.d, PARAMS.eps, 0.5, key_seed=0,
                         cache="adversarial-eta", at_c_min=True)
instance = make_instance(var256.cached_tokens, PARAMS.d, np.random.default_rng(PARAMS.seed))
z_adv = bob_outputs(alice_message(instance.bits, adversary, 0), adversary)
one_bits = instance.bits == 1


def wrong_bits(threshold: float) -> int:
    return int((decode_bits(z_adv, threshold) != instance.bits).sum())


RESULTS.update(adversary_tau=adversary.tau, adversary_at_c_min=adversary.scale == adversary.c_min,
               adversary_errors_at_tau=wrong_bits(adversary.tau),
               adversary_errors_at_half=wrong_bits(0.5),
               adversary_one_bits=int(one_bits.sum()),
               adversary_lowest_one=float(z_adv[one_bits].min()),
               adversary_highest_zero=float(z_adv[~one_bits].max()))
print(f"C = C_min = {adversary.scale:.4f}, tau = {adversary.tau:.4f}: "
      f"{RESULTS['adversary_errors_at_tau']} errors at tau, "
      f"{RESULTS['adversary_errors_at_half']} at 1/2 ({RESULTS['adversary_one_bits']} one bits); "
      f"1-bit outputs >= {RESULTS['adversary_lowest_one']:.6f}, "
      f"0-bit outputs <= {RESULTS['adversary_highest_zero']:.2e}")

# %% [markdown]
# ## 7. The theorem with explicit constants
# bound = (1 − H₂(δ))·d·L_{K−1}; c = L_{K−1}/n² for the schedule, 1/ρ² from its ratio.

# %%
n = var256.sides[-1]
rho = Fraction(n, var256.sides[-2])
RESULTS.update(bound_bits=theorem_bound_bits(PARAMS.d, var256.cached_tokens, PARAMS.eps),
               c_schedule=Fraction(var256.cached_tokens, n * n), c_rho=1 / rho**2)
print(f"bound = {RESULTS['bound_bits']:.0f} bits; L/n^2 = {RESULTS['c_schedule']}, "
      f"1/rho^2 = {RESULTS['c_rho']}")
figure(7)

# %% [markdown]
# As n grows (geometric schedules, ρ = 2): bound/(n²d) → 1/3, d_min/ln n → 8/ε² = 128/9.

# %%
table = asymptotic_table()
last_row = table["geometric"][-1]
RESULTS.update(asymptotics_limits=table["limits"], asymptotics_last=last_row)
print(f"n = {last_row['n']}: L = {last_row['cached_tokens']}, d_min = {last_row['d_min']}, "
      f"d_min/ln n = {last_row['d_min_over_ln_n']:.2f} (limit "
      f"{table['limits']['d_min_over_ln_n_float']:.2f}), bound/(n^2 d) = "
      f"{last_row['bound_over_n2d_float']:.5f} (limit {table['limits']['bound_over_n2d']})")

# %%
figure(8)

# %% [markdown]
# ## 8. What it means for real models
# Heads and layers add (C2); the real cache holds L_K tokens at 32 bits per coordinate pair.

# %%
ratios = {row["model"]: round(row["ratio"], 2)
          for row in slide_data.models_data(PARAMS)["models"]}
RESULTS.update(model_ratios=ratios)
print(f"fp16 cache / bound per model: {ratios}")
figure(6)

# %% [markdown]
# The logit cap B = 100 of released heads: ε must lie above the floor
# ε₀(L) = √(2 ln(L(L − 1)/2)/d) (L1) while C_min ≈ ln((L − 1)/t)/(1 − ε) ≤ B (L2, L3).
# At d = 64 all 424 tokens fit; at d = 16 only L* = 54 do (exercise 11, by hand).

# %%
def eps_floor_by_hand(carriers: int, d: int) -> float:
    return math.sqrt(2 * math.log(carriers * (carriers - 1) / 2) / d)


def scale_by_hand(carriers: int, eps: float) -> float:
    return math.log((carriers - 1) / float(gamma_target(PARAMS.eta))) / (1 - eps)


cap = {d: plan_under_cap(var256.cached_tokens, var256.last_scale_tokens, d, PARAMS.eta,
                         VAR_LOGIT_CAP) for d in (64, 16)}
cap_by_hand = {n: scale_by_hand(n, eps_floor_by_hand(n, 16)) for n in (54, 55)}
RESULTS.update(cap_carriers={d: plan.carrying_tokens for d, plan in cap.items()},
               cap_eps={d: plan.eps for d, plan in cap.items()},
               cap_scale_d64=cap[64].scale, cap_scale_by_hand_d16=cap_by_hand,
               cap_largest_n_d64=largest_n_under_cap(Fraction(2), Fraction(1, 4),
                                                     Fraction(100), d=64))
for d, plan in cap.items():
    print(f"d = {d}: L* = {plan.carrying_tokens} at eps = {plan.eps}, C = {plan.scale:.2f}, "
          f"bound {plan.bound_bits():.0f} bits")
print(f"by hand at d = 16: C needed for 54 tokens {cap_by_hand[54]:.2f}, "
      f"for 55 {cap_by_hand[55]:.2f}; "
      f"at d = 64 the cap holds up to n = {RESULTS['cap_largest_n_d64']}")

# %% [markdown]
# A released VAR head (q, k L2-normalised, scale ≤ 100) decodes every bit of var-512.

# %%
var512 = Schedule.preset("var-512")
head = run_verification(var512, PARAMS.d, PARAMS.eps, PARAMS.eta, [PARAMS.seed], var_head=True)
RESULTS.update(var_head_errors=head.bit_errors, var_head_max_logit=head.runs[0].max_abs_logit)
print(f"var-512 on a VAR head: {head.bit_errors} bit errors, largest |logit| "
      f"{head.runs[0].max_abs_logit:.2f} <= {VAR_LOGIT_CAP}")

# %%
figure(5)

# %% [markdown]
# ## 9. Where the bound bends
# One bit per value: a 1-bit min–max quantiser is lossless here; the packer is within
# 1 + 12/d of N.

# %%
bends = {}
for cache in ("uniform-q1", "packer"):
    r = run_verification(var256, PARAMS.d, PARAMS.eps, PARAMS.eta, [PARAMS.seed], cache=cache)
    bends[cache] = (r.bit_errors, r.message_bits / r.n_bits)
    if cache == "packer":
        boundaries = r.runs[0].boundary_bits
RESULTS.update(bends=bends, packer_boundaries=boundaries)
print({k: f"{e} errors, {x:.3f} x N" for k, (e, x) in bends.items()})
cached_by_boundary = [stop for _, stop in var256.block_bounds[:-1]]  # L_k
print("packer state / (L_k d) per boundary:",
      [round(b / (lk * PARAMS.d), 3) for b, lk in zip(boundaries, cached_by_boundary)])

# %% [markdown]
# Low dimension (C1): at d = 16 the union bound guarantees L' = 13 keys; the run witnesses
# a checked family of all 424 and decodes every bit.

# %%
low = run_verification(var256, 16, PARAMS.eps, PARAMS.eta, [PARAMS.seed])
assert low.regime is not None
RESULTS.update(c1_max_keys=max_keys(16, PARAMS.eps, cap=var256.cached_tokens),
               c1_guaranteed=low.regime.carriers_guaranteed,
               c1_witnessed=low.regime.carriers_witnessed, c1_errors=low.bit_errors)
print(f"d = 16: guaranteed L' = {low.regime.carriers_guaranteed}, witnessed "
      f"{low.regime.carriers_witnessed}, {low.bit_errors} bit errors")

# %% [markdown]
# Precision: 2^b levels separate under relative error η iff (1 + η)γ < 2^−b(1 − η(2^{b+1} − 3)).
# At η = 0.01 that allows b = 5 and no more; with exact attention fp16 carries b = 11, and
# the 1-bit quantiser, lossless on one bit, loses symbols at b = 2.

# %%
precision = {
    "auto_b": bits_per_value_auto(0.01),
    "target_b5": level_gamma_target(5, Fraction(1, 100)),
    "target_b6": level_gamma_target(6, Fraction(1, 100)),
    "eta_limit_b6": eta_limit(6),
}
b11 = run_verification(var256, PARAMS.d, PARAMS.eps, 0.0, [PARAMS.seed], cache="exact-fp16",
                       bits_per_value=11)
q1_b2 = run_verification(var256, PARAMS.d, PARAMS.eps, 0.0, [PARAMS.seed], cache="uniform-q1",
                         bits_per_value=2)
precision.update(b11_errors=b11.bit_errors, b11_bound=b11.lower_bound_bits,
                 b11_ratio=b11.message_bits / b11.lower_bound_bits,
                 q1_b2_symbol_errors=sum(r.symbol_errors for r in q1_b2.runs))
RESULTS.update(precision=precision)
print(precision)
