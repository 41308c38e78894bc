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
# `out/notebook.ipynb`; `tests/test_notebook.py` runs it as a script and checks `RESULTS`.

# %%
import math
from fractions import Fraction

from kvbound.course import data as slide_data
from kvbound.course.slides import slide
from lowerbound.bound import fp16_cache_bits, index_lower_bound_bits, theorem_bound_bits
from lowerbound.decoding import separates
from lowerbound.jl import d_min, d_min_exact
from lowerbound.models import VAR_LOGIT_CAP, model_spec
from lowerbound.softmax import c_min, gamma_target
from reduction.protocol import run_verification
from reduction.schedule import Schedule

PARAMS = slide_data.SlideParams()  # var-256, d = 64, eps = 3/4, eta = 1/4, seed 0
RESULTS: dict[str, object] = {}


def figure(number: int):  # returns a matplotlib Figure, shown inline by Jupyter
    """Course figure ``number``: its caption, then the figure itself."""
    s = slide(number)
    print(f"Figure {number}: {s.caption}")
    return s.draw(s.data(PARAMS))


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
                               cache="noisy", options={"eta": eta}).bit_errors
         for eta in (0.25, 0.9)}
RESULTS.update(noisy_errors=noisy,
               separates_at_boundary=separates(Fraction(1, 2), Fraction(1, 3)),
               separates_inside=separates(Fraction(49, 100), Fraction(1, 3)))
print(f"noisy cache, bit errors by eta: {noisy}")
figure(4)

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
RESULTS.update(bends=bends)
print({k: f"{e} errors, {x:.3f} x N" for k, (e, x) in bends.items()})
