"""Lemma CERT (docs/theorem.md#certificate): the leak rule as a compression certificate.

Each code of the family is a real prefix code (exact lengths by hand, Kraft's inequality
by enumeration, the lzma code decoded back); the verdict is exact at its boundary; its
false-alarm rate, measured on honest protocols whose output is a function of the message,
stays below alpha; structured errors that the error-rate rule of docs/theorem.md#fano
misses are certified, and nothing that rule catches from a non-empty message is lost.
"""

from __future__ import annotations

import itertools
import lzma
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowerbound._counting import Count, ceil_log2, log2_enclosure
from lowerbound.certificate import (
    Certificate,
    SeedObservation,
    certify,
    certify_pooled,
    certify_runs,
    exceeds,
    family_size,
    message_allowance_bits,
)
from lowerbound.codes import CODES, SymbolPair, code_lengths, elias_gamma_bits
from lowerbound.fano import fano_information_lower_confidence

ENUMERATIVE = [c for c in CODES if c != "lzma"]


def _len(code: str, x: object, y: object, b: int, groups: object = None) -> int:
    return CODES[code](SymbolPair(np.asarray(x), np.asarray(y), b,
                                  None if groups is None else np.asarray(groups)))


# --- each code's length, by hand ------------------------------------------------------

def test_errors_code_by_hand() -> None:
    # 8 bits, 2 wrong: 9 counts x C(8, 2) = 28 positions -> 252 -> 8 bits
    assert _len("errors", [0] * 8, [1, 1] + [0] * 6, 1) == 8
    # 4 symbols of 2 bits, 1 wrong: 5 x 4 positions x 3 wrong values = 60 -> 6 bits
    assert _len("errors", [0, 1, 2, 3], [0, 1, 2, 0], 2) == 6
    assert _len("bit-planes", [0] * 8, [1, 1] + [0] * 6, 1) == 8  # b = 1: the same code


def test_token_codes_by_hand() -> None:
    x = [[0, 0, 0, 0], [0, 0, 0, 0]]
    y = [[0, 0, 0, 0], [0, 1, 0, 0]]  # token 0 exact, token 1 one error
    # 3 counts x C(2, 1) = 2 sets x e(4, 1) = 5 x 4 = 20 -> 120 -> 7 bits
    assert _len("tokens-exact", x, y, 1) == 7
    # r = 0 or 2: 3 x 1 x e(8, 1) = 3 x 9 x 8 = 216; r = 1: 3 x 2 x 5 x 20 = 600 -> 8 bits
    assert _len("tokens-split", x, y, 1) == 8
    # tokens named by explicit ids: symbols 0, 2 form one token, 1, 3 another
    assert _len("tokens-exact", [0, 0, 0, 0], [0, 0, 0, 1], 1, [5, 9, 5, 9]) == 6  # 3*2*5*1


def test_bit_planes_by_hand() -> None:
    # x ^ y = [1, 0, 0, 1]: plane 0 has 2 errors (5 x 6 = 30), plane 1 none (5) -> 150
    assert _len("bit-planes", [0, 1, 2, 3], [1, 1, 2, 2], 2) == 8


def test_confusion_by_hand() -> None:
    # y = 0 where x = 1 (3 times), y = 1 where x = 0 (twice): each row has 1 value of 2
    # (2 choices of m, C(2, 1) = 2 values, 1 composition, 1 arrangement): 4 x 4 -> 4 bits
    assert _len("confusion", [1, 1, 1, 0, 0], [0, 0, 0, 1, 1], 1) == 4
    # one row of 4 with values {0: 2, 1: 2}: 2 x C(2, 2) x C(3, 1) x 4!/(2! 2!) = 36 -> 6
    assert _len("confusion", [0, 1, 0, 1], [0, 0, 0, 0], 1) == 6


def _lzma_codeword(x: np.ndarray, y: np.ndarray, b: int) -> str:
    """The lzma code's codeword as a bit string: Elias gamma of len(z) + 1, then z."""
    diff = (x ^ y).astype(np.uint8)
    pattern = np.packbits(diff).tobytes() if b == 1 else diff.tobytes()
    dictionary = 1 << min(24, max(12, (len(pattern) - 1).bit_length()))
    z = lzma.compress(pattern, format=lzma.FORMAT_RAW,
                      filters=[{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": dictionary}])
    head = bin(len(z) + 1)[2:]
    return "0" * (len(head) - 1) + head + "".join(f"{byte:08b}" for byte in z)


def _lzma_decode(word: str, y: np.ndarray, b: int) -> np.ndarray:
    zeros = word.index("1")
    size = int(word[zeros:2 * zeros + 1], 2) - 1
    body = word[2 * zeros + 1:]
    assert len(body) == 8 * size  # the header says where the word ends: prefix-free
    z = bytes(int(body[i:i + 8], 2) for i in range(0, len(body), 8))
    raw = lzma.decompress(z, format=lzma.FORMAT_RAW,
                          filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1 << 24}])
    diff = np.frombuffer(raw, dtype=np.uint8)
    if b == 1:
        diff = np.unpackbits(diff)[:y.size]
    return y ^ diff.astype(y.dtype)


@pytest.mark.parametrize("b", [1, 4])
def test_lzma_code_is_a_prefix_code_that_decodes(b: int) -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2**b, size=64)
    words = []
    for p in (0.0, 0.05, 0.5, 1.0):
        x = np.where(rng.random(64) < p, rng.integers(0, 2**b, size=64), y)
        word = _lzma_codeword(x, y, b)
        assert len(word) == _len("lzma", x, y, b)
        assert np.array_equal(_lzma_decode(word, y, b), x)
        words.append(word)
    for u, v in itertools.permutations(set(words), 2):
        assert not v.startswith(u)


# --- Kraft's inequality, by enumeration -----------------------------------------------

@pytest.mark.parametrize("b, shape", [(1, (2, 4)), (1, (8, 1)), (2, (4, 1)), (3, (1, 3))])
def test_every_enumerative_code_satisfies_kraft(b: int, shape: tuple[int, int]) -> None:
    """sum over every x of 2^-len(x | y) <= 1 for fixed y: what makes a length a code."""
    q, n = 2**b, shape[0] * shape[1]
    rng = np.random.default_rng(b)
    xs = [np.array(t).reshape(shape) for t in itertools.product(range(q), repeat=n)]
    for y in (np.zeros(shape, dtype=int), rng.integers(0, q, size=shape)):
        total = {c: Fraction(0) for c in ENUMERATIVE}
        for x in xs:
            pair = SymbolPair(x, y, b)
            for c in ENUMERATIVE:
                total[c] += Fraction(1, 2 ** CODES[c](pair))
        assert all(t <= 1 for t in total.values()), total
        assert all(t > Fraction(1, 16) for t in total.values()), total  # not vacuous


def test_message_allowance_satisfies_kraft() -> None:
    """sum over byte counts m of 2^-gamma(m + 1) <= 1 (equality in the limit)."""
    total = sum(Fraction(1, 2 ** message_allowance_bits(8 * m)) for m in range(4095))
    assert Fraction(4094, 4096) < total <= 1
    assert [elias_gamma_bits(v) for v in (1, 2, 4, 8)] == [1, 3, 5, 7]


# --- exact arithmetic ------------------------------------------------------------------

@given(st.integers(0, 60000), st.data())
def test_ceil_log2_of_binomials_is_exact(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    q = data.draw(st.sampled_from([2, 3, 16, 256]))
    count = Count([n], [k, n - k], [(n + 1, 1), (q - 1, k)])
    exact = ((n + 1) * math.comb(n, k) * (q - 1) ** k - 1).bit_length()
    assert ceil_log2(count, exact_below=0) == exact == ceil_log2(count)


@given(st.lists(st.integers(0, 20000), min_size=1, max_size=6), st.integers(1, 300))
def test_the_float_enclosure_contains_log2_of_the_count(parts: list[int], base: int) -> None:
    count = Count([sum(parts) + 7], parts + [7], [(base, 3)])
    exact = math.factorial(sum(parts) + 7) * base**3 // math.factorial(7)
    for p in parts:
        exact //= math.factorial(p)
    with mpmath.workdps(60):
        truth = mpmath.log(exact, 2)
    lo, hi = log2_enclosure(count)
    assert lo <= truth <= hi and hi - lo < 1e-6


@given(st.lists(st.integers(0, 5000), min_size=1, max_size=12))
def test_ceil_log2_of_multinomials_is_exact(parts: list[int]) -> None:
    count = Count([sum(parts)], parts)
    exact = math.factorial(sum(parts))
    for p in parts:
        exact //= math.factorial(p)
    assert ceil_log2(count, exact_below=0) == (exact - 1).bit_length()


def test_the_verdict_is_exact_at_its_boundary() -> None:
    assert exceeds(2, 3, 0.75) is False  # 2^2 * 3/4 = 3: not above
    assert exceeds(3, 3, 0.75) is True
    assert exceeds(-1, 1, 0.999) is False
    # one byte more of message moves a certified run across the threshold
    x = np.random.default_rng(3).integers(0, 2, size=(4, 16))
    pair = SymbolPair(x, x, 1)
    lengths = code_lengths(pair)
    best = min(lengths.values())
    family = family_size(1)
    for s in range(0, 64, 8):
        slack = 64 - s - message_allowance_bits(s) - best
        cert = certify(pair, s, family=family, alpha=0.01)
        assert cert.leak == (2**slack * Fraction(0.01) > family)
        assert cert.leak == (cert.margin_bits > 0)
    assert certify(pair, 0, family=family, alpha=0.01).leak
    assert not certify(pair, 56, family=family, alpha=0.01).leak


# --- properties ------------------------------------------------------------------------

@st.composite
def _pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    b = draw(st.integers(1, 8))
    tokens, d = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    p = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2**b, size=(tokens, d))
    y = np.where(rng.random(x.shape) < p, rng.integers(0, 2**b, size=x.shape), x)
    return x, y, b


@given(_pairs(), st.integers(0, 2**16 - 1))
def test_confusion_is_blind_to_relabelling(xyb: tuple[np.ndarray, np.ndarray, int],
                                           seed: int) -> None:
    x, y, b = xyb
    rng = np.random.default_rng(seed)
    pi, sigma = rng.permutation(2**b), rng.permutation(2**b)
    base = _len("confusion", x, y, b)
    assert _len("confusion", sigma[x], pi[y], b) == base
    assert _len("confusion", sigma[y], y, b) == _len("confusion", y, y, b)


@given(_pairs())
def test_lengths_are_whole_bits_and_the_split_refines_exactness(
        xyb: tuple[np.ndarray, np.ndarray, int]) -> None:
    x, y, b = xyb
    lengths = code_lengths(SymbolPair(x, y, b))
    assert all(type(v) is int and v >= 0 for v in lengths.values())
    assert lengths["tokens-split"] <= lengths["tokens-exact"] + math.ceil(
        math.log2(x.size + 1)) + 1
    if b == 1:
        assert lengths["bit-planes"] == lengths["errors"]


@given(_pairs(), st.integers(0, 64), st.integers(0, 64))
def test_a_longer_message_never_creates_a_leak(xyb: tuple[np.ndarray, np.ndarray, int],
                                               a: int, extra: int) -> None:
    x, y, b = xyb
    pair = SymbolPair(x, y, b)
    shorter = certify(pair, 8 * a, family=6, alpha=0.01)
    longer = certify(pair, 8 * (a + extra), family=6, alpha=0.01)
    assert longer.leak <= shorter.leak
    assert longer.margin_bits <= shorter.margin_bits


def test_pooling_sums_messages_and_allowances() -> None:
    rng = np.random.default_rng(4)
    pairs = [SymbolPair(x, x, 1) for x in rng.integers(0, 2, size=(3, 4, 8))]
    cert = certify_pooled(pairs, [0, 8, 16], family=24, alpha=0.5)
    assert (cert.instance_bits, cert.message_bits) == (96, 24)
    assert cert.allowance_bits == 1 + 3 + 3
    assert cert.lengths["tokens-exact"] == math.ceil(math.log2(13))  # 12 tokens, all exact
    verdict = certify_runs([SeedObservation(p, 32) for p in pairs], alpha=0.5)
    assert [c.scope for c in verdict.certificates][-1] == "pooled over 3 seeds"
    assert verdict.family == family_size(3) == 24


# --- false alarms, measured on honest protocols ----------------------------------------

Honest = tuple[np.ndarray, np.ndarray, int]


def _codebook(rng: np.random.Generator, shape: tuple[int, int], b: int, s: int) -> Honest:
    """A random code of 2^s codewords (public coins); Alice sends the nearest one."""
    book = rng.integers(0, 2**b, size=(2**s, *shape))
    x = rng.integers(0, 2**b, size=shape)
    return x, book[np.argmin((book != x).sum(axis=(1, 2)))], s


def _reveal_tokens(rng: np.random.Generator, shape: tuple[int, int], b: int, s: int
                   ) -> Honest:
    """Alice sends the first tokens whole; Bob guesses the rest with his own coins."""
    x = rng.integers(0, 2**b, size=shape)
    y = rng.integers(0, 2**b, size=shape)
    y[: s // (shape[1] * b)] = x[: s // (shape[1] * b)]
    return x, y, s


def _reveal_planes(rng: np.random.Generator, shape: tuple[int, int], b: int, s: int
                   ) -> Honest:
    """Alice sends the top bit planes; Bob guesses the low ones."""
    x = rng.integers(0, 2**b, size=shape)
    planes = s // (shape[0] * shape[1])
    mask = ((1 << planes) - 1) << (b - planes)
    return x, (x & mask) | (rng.integers(0, 2**b, size=shape) & ~mask & (2**b - 1)), s


def _simple_or_all(rng: np.random.Generator, shape: tuple[int, int], b: int, s: int
                   ) -> Honest:
    """Variable length, chosen from x: Alice sends nothing when x is mostly zeros (Bob
    outputs zeros), else x whole (Bob outputs x)."""
    x = rng.integers(0, 2**b, size=shape)
    if (x == 0).mean() > 0.7:
        return x, np.zeros_like(x), 0
    return x, x, x.size * b


HONEST = [  # (protocol, shape, b, message bits), message bits a whole number of bytes
    (_codebook, (4, 6), 1, 8), (_codebook, (4, 4), 2, 8), (_codebook, (2, 5), 2, 16),
    (_reveal_tokens, (8, 4), 1, 16), (_reveal_tokens, (8, 2), 2, 16),
    (_reveal_planes, (4, 4), 2, 16), (_reveal_planes, (2, 4), 4, 24),
    (_simple_or_all, (4, 4), 1, 0),
]


def _slack(cert: Certificate, length: int) -> int:
    return cert.instance_bits - cert.message_bits - cert.allowance_bits - length


def test_false_alarm_rate_on_honest_protocols_stays_below_alpha() -> None:
    """Y is a function of the message (plus public and Bob's coins): the lemma applies.
    At alpha = 0.5 and 0.05, over three seeds (three tests and the pooled one), the
    measured rate of certified leaks stays below alpha; per code and per test,
    P(slack >= t) <= 2^-t (Kraft)."""
    rng = np.random.default_rng(2025)
    trials = 100
    for protocol, shape, b, s in HONEST:
        alarms = {0.5: 0, 0.05: 0}
        tails = np.zeros(4)
        for _ in range(trials):
            runs = [SeedObservation(SymbolPair(x, y, b), bits)
                    for x, y, bits in (protocol(rng, shape, b, s) for _seed in range(3))]
            verdict = certify_runs(runs, 0.5)
            for alpha in alarms:
                alarms[alpha] += any(exceeds(_slack(c, c.code_bits), verdict.family, alpha)
                                     for c in verdict.certificates)
            first = verdict.certificates[0]
            for length in first.lengths.values():
                tails += [_slack(first, length) >= t for t in range(1, 5)]
        for alpha, count in alarms.items():
            assert count / trials <= alpha, (protocol.__name__, alpha, count)
        bound = [len(CODES) * trials * 2.0**-t for t in range(1, 5)]
        assert all(tails <= bound), (protocol.__name__, tails, bound)


# --- structured errors: certified where the error-rate rule is not -----------------------

TOKENS, D = 424, 64  # the var-256 instance: L = 424 tokens of d = 64 values


def _old_rule_flags(x: np.ndarray, y: np.ndarray, b: int, message_bits: int) -> bool:
    """The rule this certificate replaces: Fano at the Clopper-Pearson end (#fano)."""
    wrong = int((x != y).sum())
    return message_bits < fano_information_lower_confidence(wrong, x.size, b, 1e-6)


def _structured(kind: str, b: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    q = 2**b
    x = rng.integers(0, q, size=(TOKENS, D))
    if kind == "half tokens exact":
        y = x.copy()
        guessed = rng.permutation(TOKENS)[: TOKENS // 2]
        y[guessed] = rng.integers(0, q, size=(guessed.size, D))
    elif kind == "relabelled":
        perm = rng.permutation(q)
        while (perm == np.arange(q)).any():  # every symbol wrong
            perm = rng.permutation(q)
        y = perm[x]
    else:  # "lowest plane guessed"
        y = x ^ rng.integers(0, 2, size=x.shape)
    return x, y


@pytest.mark.parametrize("kind, b, code", [
    ("half tokens exact", 1, "tokens-exact"), ("half tokens exact", 4, "tokens-exact"),
    ("half tokens exact", 8, "tokens-exact"), ("relabelled", 4, "confusion"),
    ("relabelled", 8, "confusion"), ("lowest plane guessed", 4, "bit-planes"),
    ("lowest plane guessed", 8, "bit-planes"),
])
def test_structured_errors_are_certified_where_the_error_rate_rule_passes(
        kind: str, b: int, code: str) -> None:
    rng = np.random.default_rng(17)
    x, y = _structured(kind, b, rng)
    wrong = int((x != y).sum())
    old = fano_information_lower_confidence(wrong, x.size, b, 1e-6)
    message = 8 * (math.floor(old / 8) + 1)  # the shortest message the old rule accepts
    if kind == "relabelled":
        message = max(message, 480)  # the 480-bit message at b = 8
    assert not _old_rule_flags(x, y, b, message)
    cert = certify_runs([SeedObservation(SymbolPair(x, y, b), message)]).certificates[0]
    assert cert.leak and cert.code == code, cert.describe()
    assert cert.margin_bits > 0.1 * x.size * b  # by a wide margin, not by luck


def test_half_exact_tokens_reveal_half_the_instance() -> None:
    """The issue's numbers: p ~ 0.25, the old rule asks 0.19 N; the outputs reveal ~0.5 N,
    and a 0.21 N message is certified."""
    x, y = _structured("half tokens exact", 1, np.random.default_rng(5))
    n = x.size
    cert = certify_runs([SeedObservation(SymbolPair(x, y, 1), 8 * math.ceil(0.21 * n / 8))]
                        ).certificates[0]
    assert 0.24 < (x != y).mean() < 0.26
    assert fano_information_lower_confidence(int((x != y).sum()), n) < 0.2 * n
    assert cert.leak and cert.revealed_bits > 0.48 * n


# --- nothing the error-rate rule caught from a non-empty message is lost -----------------

@pytest.mark.parametrize("n, b, stride", [(27136, 1, 7), (6784, 4, 3), (3392, 8, 1), (200, 1, 1)])
def test_every_non_empty_message_the_old_rule_flags_is_certified(n: int, b: int,
                                                                 stride: int) -> None:
    """For every error count k (every stride-th at var-256), the longest whole-byte
    message the old rule flags is certified by the errors code alone (the certificate is
    monotone in the message, so every shorter one is too). The old rule's only extra
    catches are empty messages a hair off chance level, whose threshold is below 3 bits
    (less information than any certificate at alpha = 1e-6 can vouch for)."""
    q, family = 2**b, family_size(1)
    empty_only = 0.0
    for k in range(0, n + 1, stride):
        threshold = fano_information_lower_confidence(k, n, b, 1e-6)
        if threshold <= 0:
            continue
        longest = 8 * math.ceil(threshold / 8) - 8  # the longest S < threshold
        length = ceil_log2(Count([n], [k, n - k], [(n + 1, 1), (q - 1, k)]))
        slack = n * b - longest - message_allowance_bits(longest) - length
        if not exceeds(slack, family, 1e-6):
            assert longest == 0, (k, threshold)
            empty_only = max(empty_only, threshold)
    assert empty_only < 3.0


def test_pooling_certifies_what_no_single_seed_can() -> None:
    """Twenty seeds, each revealing ~20 bits more than its 16-bit message (5 of 16 tokens
    exact): no seed crosses its threshold, the pooled test does."""
    rng = np.random.default_rng(11)
    runs = []
    for _ in range(20):
        x = rng.integers(0, 2, size=(16, 8))
        y = rng.integers(0, 2, size=(16, 8))
        y[:5] = x[:5]
        runs.append(SeedObservation(SymbolPair(x, y, 1), 16))
    verdict = certify_runs(runs)
    *seeds, pooled = verdict.certificates
    assert not any(c.leak for c in seeds) and pooled.leak and verdict.leak
    assert pooled.scope == "pooled over 20 seeds" and pooled.code == "tokens-exact"
