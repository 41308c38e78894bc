"""lowerbound: the pure mathematics of kvbound (constants, entropy, bounds).

Imports nothing else of kvbound. Every function names its lemma of docs/theorem.md.
"""

from lowerbound.bound import (
    fp16_cache_bits,
    index_lower_bound_bits,
    low_dimension_bound_bits,
    model_bound_bits,
    theorem_bound_bits,
)
from lowerbound.decoding import one_range, separates, tau, zero_range
from lowerbound.entropy import (
    binary_entropy,
    binary_entropy_inverse,
    error_rate_lower_confidence,
    error_rate_upper_confidence,
    information_bits,
)
from lowerbound.fano import (
    fano_information_bits,
    fano_information_lower_confidence,
    information_bits_lower_confidence,
)
from lowerbound.jl import (
    binomial_tail,
    d_min,
    d_min_exact,
    exact_failure_bound,
    jl_failure_bound,
    max_keys,
    pair_count,
)
from lowerbound.logit_cap import CapPlan, capped_bound_bits, plan_under_cap
from lowerbound.precision import bits_per_value_auto, level_gamma_target, multilevel_bound_bits
from lowerbound.softmax import c_min, concentration_weight, gamma, gamma_target

__all__ = [
    "CapPlan",
    "binary_entropy",
    "binary_entropy_inverse",
    "binomial_tail",
    "bits_per_value_auto",
    "c_min",
    "capped_bound_bits",
    "concentration_weight",
    "d_min",
    "d_min_exact",
    "error_rate_lower_confidence",
    "error_rate_upper_confidence",
    "exact_failure_bound",
    "fano_information_bits",
    "fano_information_lower_confidence",
    "fp16_cache_bits",
    "gamma",
    "gamma_target",
    "index_lower_bound_bits",
    "information_bits",
    "information_bits_lower_confidence",
    "jl_failure_bound",
    "level_gamma_target",
    "low_dimension_bound_bits",
    "max_keys",
    "model_bound_bits",
    "multilevel_bound_bits",
    "one_range",
    "pair_count",
    "plan_under_cap",
    "separates",
    "tau",
    "theorem_bound_bits",
    "zero_range",
]
