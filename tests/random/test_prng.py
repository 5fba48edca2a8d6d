"""funcgrad.random keys and bits: Threefry-2x32 against the published
known-answer vectors and an independent pure-Python implementation; key
construction from seeds; split/fold_in/bits determinism and independence;
argument errors."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, random
from funcgrad.random import prng
from tests.random.stats import assert_moments

U32 = np.uint32

# Known-answer vectors of threefry2x32 from the Random123 library
# (D. E. Shaw Research, file tests/kat_vectors; Salmon et al., "Parallel
# random numbers: as easy as 1, 2, 3", SC11): rounds, counter words, key
# words, expected output words.
KAT = [
    (13, (0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x9d1c5ec6, 0x8bd50731)),
    (13, (0xffffffff, 0xffffffff), (0xffffffff, 0xffffffff), (0xfd36d048, 0x2d17272c)),
    (13, (0x243f6a88, 0x85a308d3), (0x13198a2e, 0x03707344), (0xba3e4725, 0xf27d669e)),
    (20, (0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6b200159, 0x99ba4efe)),
    (20, (0xffffffff, 0xffffffff), (0xffffffff, 0xffffffff), (0x1cb996fc, 0xbb002be7)),
    (20, (0x243f6a88, 0x85a308d3), (0x13198a2e, 0x03707344), (0xc4923a9c, 0x483df7a0)),
    (32, (0x00000000, 0x00000000), (0x00000000, 0x00000000), (0xcee3d47e, 0xa23dfd5c)),
    (32, (0xffffffff, 0xffffffff), (0xffffffff, 0xffffffff), (0x6e2fe0d0, 0xb1b76f82)),
    (32, (0x243f6a88, 0x85a308d3), (0x13198a2e, 0x03707344), (0xe2827716, 0xc3c05cdf)),
]


def threefry_reference(key, counter, rounds=20):
    """Threefry-2x32 on Python ints, written from the specification (Skein's
    key schedule with 2 words, the 8 rotation constants)."""
    mask = 0xFFFFFFFF
    rot = (13, 15, 26, 6, 17, 29, 16, 24)
    ks = [key[0], key[1], key[0] ^ key[1] ^ 0x1BD11BDA]
    x = [(counter[0] + ks[0]) & mask, (counter[1] + ks[1]) & mask]
    for r in range(rounds):
        x[0] = (x[0] + x[1]) & mask
        x[1] = ((x[1] << rot[r % 8]) | (x[1] >> (32 - rot[r % 8]))) & mask
        x[1] ^= x[0]
        if r % 4 == 3:
            s = (r + 1) // 4
            x[0] = (x[0] + ks[s % 3]) & mask
            x[1] = (x[1] + ks[(s + 1) % 3] + s) & mask
    return tuple(x)


@pytest.mark.parametrize("rounds,counter,key,expected", KAT)
def test_threefry_known_answers(rounds, counter, key, expected):
    assert threefry_reference(key, counter, rounds) == expected
    k = np.array(key, U32)
    y0, y1 = prng._threefry(k[0], k[1], U32(counter[0]), U32(counter[1]), rounds)
    assert (int(y0), int(y1)) == expected


def test_threefry_2x32_api_kat_eager_staged_jit():
    # JAX's calling convention: the count array is cut in halves.
    keypair = np.array([0x13198a2e, 0x03707344], U32)
    count = np.array([0x243f6a88, 0x85a308d3], U32)
    expected = np.array([0xc4923a9c, 0x483df7a0], U32)
    np.testing.assert_array_equal(random.threefry_2x32(keypair, count), expected)
    closed = funcgrad.make_jaxpr(random.threefry_2x32)(keypair, count)
    np.testing.assert_array_equal(funcgrad.eval_jaxpr(closed.jaxpr, closed.consts,
                                                      keypair, count)[0], expected)
    np.testing.assert_array_equal(funcgrad.jit(random.threefry_2x32)(keypair, count), expected)


def test_threefry_matches_reference_on_random_inputs():
    rng = np.random.default_rng(0)
    for _ in range(4):
        key = rng.integers(0, 2 ** 32, 2, dtype=np.uint64).astype(U32)
        count = rng.integers(0, 2 ** 32, 7, dtype=np.uint64).astype(U32)   # odd: padded
        out = np.asarray(random.threefry_2x32(key, count))
        padded = np.concatenate([count, [0]]).astype(np.int64)
        half = padded.size // 2
        ref = [threefry_reference(tuple(int(k) for k in key), (int(a), int(b)))
               for a, b in zip(padded[:half], padded[half:], strict=True)]
        ref = np.array([r[0] for r in ref] + [r[1] for r in ref])[:count.size]
        np.testing.assert_array_equal(out, ref.astype(U32))


# ------------------------------------------------------------ keys from seeds
@pytest.mark.parametrize("seed,expected", [
    (0, (0, 0)), (42, (0, 42)), (-1, (0xFFFFFFFF, 0xFFFFFFFF)), (-2 ** 63, (0x80000000, 0)),
    (2 ** 64 - 1, (0xFFFFFFFF, 0xFFFFFFFF)), (2 ** 32 + 5, (1, 5)), (2 ** 63, (0x80000000, 0)),
    (np.int32(-2), (0xFFFFFFFF, 0xFFFFFFFE)), (np.uint64(2 ** 64 - 2), (0xFFFFFFFF, 0xFFFFFFFE)),
])
def test_key_from_int_seed(seed, expected):
    for make in (random.key, random.PRNGKey):
        k = make(seed)
        assert isinstance(k, funcgrad.Array)
        assert k.dtype == np.uint32 and k.shape == (2,)
        np.testing.assert_array_equal(k, np.array(expected, U32))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64])
def test_key_from_traced_seed_matches_python_int(dtype):
    seeds = [0, 7, 2 ** 31 - 1] + ([-1, -(2 ** 31)] if np.dtype(dtype).kind == "i" else [])
    if np.dtype(dtype).itemsize == 8:
        seeds += [2 ** 40 + 3] + ([-(2 ** 63)] if np.dtype(dtype).kind == "i" else [2 ** 64 - 1])
    arr = np.array(seeds, dtype)
    batched = funcgrad.vmap(random.key)(arr)
    jitted = funcgrad.jit(funcgrad.vmap(random.key))(arr)
    for i, s in enumerate(seeds):
        expected = np.asarray(random.key(s))
        np.testing.assert_array_equal(random.key(jnp.asarray(arr[i])), expected)
        np.testing.assert_array_equal(batched[i], expected)
        np.testing.assert_array_equal(jitted[i], expected)


def test_traced_seed_under_jit_gives_the_eager_numbers():
    f = funcgrad.jit(lambda s: random.bits(random.key(s), (3,), np.uint32))
    np.testing.assert_array_equal(f(123), random.bits(random.key(123), (3,), np.uint32))


@pytest.mark.parametrize("seed,exc", [(2 ** 64, OverflowError), (-(2 ** 63) - 1, OverflowError),
                                      (1.5, TypeError), (True, TypeError),
                                      (np.zeros(2, np.int64), TypeError),
                                      (np.float64(1.0), TypeError)])
def test_bad_seeds(seed, exc):
    with pytest.raises(exc, match="random.key"):
        random.key(seed)


def test_unknown_impl():
    with pytest.raises(ValueError, match="impl"):
        random.key(0, impl="rbg")


# ------------------------------------------------------------ split / fold_in / bits
def test_split_and_fold_in_are_deterministic_and_distinct():
    k = random.key(1701)
    children = np.asarray(random.split(k, 4))
    assert children.shape == (4, 2) and children.dtype == np.uint32
    np.testing.assert_array_equal(children, random.split(k, 4))
    # split(key, n) is a prefix of split(key, n + 1): child j depends only on j.
    np.testing.assert_array_equal(children[:3], random.split(k, 3))
    folded = np.stack([np.asarray(random.fold_in(k, d)) for d in (0, 1, 2 ** 32 + 1, -1)])
    np.testing.assert_array_equal(folded[1], folded[2])        # data is taken mod 2**32
    np.testing.assert_array_equal(folded[3], random.fold_in(k, 2 ** 32 - 1))
    # Every derived key (and the parent) differs from every other one.
    everything = np.concatenate([children, folded[[0, 1, 3]], np.asarray(k)[None]])
    assert len({tuple(row) for row in everything}) == len(everything)
    # The domains differ: the key's own bit stream is neither its children nor its folds.
    stream = np.asarray(random.bits(k, (8,), np.uint32)).reshape(4, 2)
    assert not {tuple(r) for r in stream} & {tuple(r) for r in everything}
    assert random.split(k, (2, 3)).shape == (2, 3, 2)
    np.testing.assert_array_equal(np.asarray(random.split(k, (2, 2))).reshape(4, 2), children)
    assert random.split(k, 0).shape == (0, 2)


def test_fold_in_traced_data_and_in_loops():
    k = random.key(3)
    expected = np.stack([np.asarray(random.normal(random.fold_in(k, i), (2,))) for i in range(5)])
    np.testing.assert_array_equal(
        funcgrad.vmap(lambda i: random.normal(random.fold_in(k, i), (2,)))(np.arange(5)), expected)

    def body(i, acc):
        return acc.at[i].set(random.normal(random.fold_in(k, i), (2,)))
    np.testing.assert_array_equal(lax.fori_loop(0, 5, body, jnp.zeros((5, 2))), expected)
    # A key carried through a scan, split at every step (the usual pattern).

    def step(key, _):
        key, sub = random.split(key)
        return key, random.uniform(sub, (3,))
    _, draws = lax.scan(step, k, None, length=4)
    key, reference = k, []
    for _ in range(4):
        key, sub = random.split(key)
        reference.append(np.asarray(random.uniform(sub, (3,))))
    np.testing.assert_array_equal(draws, np.stack(reference))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_bits_dtypes_and_bit_balance(dtype):
    x = np.asarray(random.bits(random.key(5), (4000,), dtype))
    assert x.dtype == dtype and x.shape == (4000,)
    width = np.dtype(dtype).itemsize * 8
    ones = ((x[:, None].astype(np.uint64) >> np.arange(width, dtype=np.uint64)) & 1).mean(0)
    # Each bit is 1 with probability 1/2: standard error 1/(2 sqrt(n)).
    assert np.all(np.abs(ones - 0.5) < 5 * 0.5 / np.sqrt(x.size)), ones


def test_bits_default_dtype_and_stream_layout():
    k = random.key(11)
    assert random.bits(k).dtype == np.uint64 and random.bits(k).shape == ()
    w32 = np.asarray(random.bits(k, (6,), np.uint32)).astype(np.uint64)
    w64 = np.asarray(random.bits(k, (3,)))
    # 64-bit draws are the 32-bit stream's words in pairs, high word first,
    # and a draw of n values is a prefix of a draw of n + 1.
    np.testing.assert_array_equal(w64, (w32[0::2] << np.uint64(32)) | w32[1::2])
    np.testing.assert_array_equal(random.bits(k, (5,), np.uint32), w32[:5].astype(np.uint32))
    np.testing.assert_array_equal(np.asarray(random.bits(k, (2, 3), np.uint32)).ravel(), w32)
    assert random.bits(k, (0, 3)).shape == (0, 3)


def test_children_are_uncorrelated():
    k1, k2 = random.split(random.key(0))
    a, b = np.asarray(random.normal(k1, (20000,))), np.asarray(random.normal(k2, (20000,)))
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(a.size)
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 5 / np.sqrt(a.size)
    # Keys from consecutive seeds: first draws, as a sample, standard normal.
    firsts = funcgrad.vmap(lambda s: random.normal(random.key(s)))(np.arange(4000))
    assert_moments(firsts, 0.0, 1.0, 3.0, "first draws of keys 0..3999")


# ------------------------------------------------------------ errors
@pytest.mark.parametrize("name,call", [
    ("normal", lambda k: random.normal(k, (3,))),
    ("uniform", lambda k: random.uniform(k)),
    ("split", lambda k: random.split(k)),
    ("fold_in", lambda k: random.fold_in(k, 1)),
    ("bits", lambda k: random.bits(k, (2,))),
    ("randint", lambda k: random.randint(k, (2,), 0, 3)),
    ("gamma", lambda k: random.gamma(k, 2.0)),
    ("choice", lambda k: random.choice(k, 4)),
])
@pytest.mark.parametrize("bad", [np.zeros((5, 2), np.uint32), np.zeros(3, np.uint32),
                                 np.zeros(2, np.int32), np.zeros((), np.uint32)])
def test_bad_key_is_a_type_error_naming_function_and_shape(name, call, bad):
    with pytest.raises(TypeError, match=rf"random\.{name}.*shape {bad.shape!s}".replace(
            "(", r"\(").replace(")", r"\)")):
        call(bad)


def test_batch_of_keys_points_to_vmap_and_non_arrays_are_refused():
    with pytest.raises(TypeError, match="vmap"):
        random.normal(random.split(random.key(0), 3), (2,))
    with pytest.raises(TypeError, match="random.normal"):
        random.normal([0, 1], (2,))
    with pytest.raises(TypeError, match="random.split"):
        random.split(7)


@pytest.mark.parametrize("call,exc,match", [
    (lambda k: random.normal(k, (-1,)), ValueError, "negative"),
    (lambda k: random.normal(k, "abc"), TypeError, "shape"),
    (lambda k: random.bits(k, (2,), np.int32), ValueError, "unsigned"),
    (lambda k: random.fold_in(k, 1.5), TypeError, "fold_in"),
    (lambda k: random.key_data(np.zeros(3, np.uint32)), TypeError, "key_data"),
])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call(random.key(0))


def test_traced_shape_is_refused():
    with pytest.raises(TypeError, match="static"):
        funcgrad.jit(lambda k, n: random.normal(k, n))(random.key(0), 3)


def test_key_data_round_trip():
    keys = random.split(random.key(0), 3)
    np.testing.assert_array_equal(random.wrap_key_data(random.key_data(keys)), keys)
    assert isinstance(random.wrap_key_data(np.array([1, 2], np.uint32)), funcgrad.Array)


def test_docstring_examples():
    import doctest

    from funcgrad.random import distributions, rejection
    for module in (random, prng, distributions, rejection):
        result = doctest.testmod(module, extraglobs={"jnp": jnp, "np": np},
                                 optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, f"{result.failed} docstring examples of {module.__name__} failed"
        assert result.attempted > 0
