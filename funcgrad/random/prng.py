"""Keys and raw bits: the Threefry-2x32 generator, ``key``/``PRNGKey``,
``split``, ``fold_in`` and ``bits``.

Everything here is written with ``funcgrad.lax`` operations on uint32 (and
uint64) arrays and the ``threefry2x32`` primitive (the block function as one
equation, :mod:`funcgrad.random.threefry`).  So the generator is an
ordinary traced computation: it runs eagerly, under ``make_jaxpr`` and
``jit``, under ``vmap`` over keys and inside loops, and it gives the same
numbers in every one of these.

The scheme (see the package docstring for the summary):

* A key is a uint32[2] array ``(k0, k1)``; ``key(seed)`` stores the 64-bit
  two's complement pattern of the seed, high word first.
* ``threefry(key, (x0, x1))`` is the Threefry-2x32 block function with 20
  rounds (Salmon et al., SC11) applied to a 64-bit counter.
* The counter's second word is a domain tag, so that the three uses of a
  key never share a block: ``x1 = 0`` for the key's bit stream, ``1`` for
  ``split``, ``2`` for ``fold_in``.
* Bit stream: block ``i`` is ``threefry(key, (i, 0))``.  A 32-bit draw of
  ``n`` values reads the words of blocks ``0 .. ceil(n/2) - 1`` in order;
  a 64-bit draw takes one block per value, high word first.  Either way a
  draw of ``n`` values is a prefix of a draw of ``n + 1``.
* ``split(key, n)[j] = threefry(key, (j, 1))`` and
  ``fold_in(key, d) = threefry(key, (d mod 2**32, 2))``.
"""
from __future__ import annotations

import math

import numpy as np

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.array import Array
from funcgrad.core.trace import Tracer, get_aval
from funcgrad.lax.base import asoperand
from funcgrad.random.threefry import PARITY, ROTATIONS, ROUNDS, threefry2x32

__all__ = ["PRNGKey", "bits", "fold_in", "key", "key_data", "split", "threefry_2x32",
           "wrap_key_data"]

_U32 = np.dtype(np.uint32)
_U64 = np.dtype(np.uint64)
_BITS_TAG, _SPLIT_TAG, _FOLD_TAG = 0, 1, 2


# ------------------------------------------------------------ the block function
def _rotl(x, r: int):
    return lax.bitwise_or(lax.shift_left(x, r), lax.shift_right_logical(x, 32 - r))


def _threefry(k0, k1, x0, x1, rounds: int = 20):
    """Threefry-2x32 on uint32 operands: ``k0``, ``k1`` and the counter words
    ``x0``, ``x1`` are 0-d or of one common shape; returns the two output
    words.

    20 rounds (the generator's) bind the ``threefry2x32`` primitive: one
    equation rather than ~130.  Other round counts are the ``lax``
    composition below, which the tests also use as the primitive's
    independent reference and check against the published 13- and 32-round
    answers."""
    if rounds == ROUNDS:
        return tuple(threefry2x32(k0, k1, x0, x1))
    return _threefry_lax(k0, k1, x0, x1, rounds)


def _threefry_lax(k0, k1, x0, x1, rounds: int = 20):
    """The block function written with ``lax`` uint32 operations."""
    ks = (k0, k1, lax.bitwise_xor(lax.bitwise_xor(k0, k1), PARITY))
    x0, x1 = lax.add(x0, ks[0]), lax.add(x1, ks[1])
    for r in range(rounds):
        x0 = lax.add(x0, x1)
        x1 = lax.bitwise_xor(_rotl(x1, ROTATIONS[r % 8]), x0)
        if r % 4 == 3:
            # Key injection s after every fourth round; the injection number
            # is added too, so that the rounds are not all alike.
            s = (r + 1) // 4
            x0 = lax.add(x0, ks[s % 3])
            x1 = lax.add(x1, lax.add(ks[(s + 1) % 3], s))
    return x0, x1


def key_words(name: str, key):
    """The two words of a checked key, as 0-d uint32 values."""
    key = check_key(name, key)
    k0 = lax.reshape(lax.slice(key, (0,), (1,)), ())
    k1 = lax.reshape(lax.slice(key, (1,), (2,)), ())
    return k0, k1


def _stack_words(y0, y1, shape):
    """Interleave two uint32 arrays of shape (n,) into ``shape + (2,)``."""
    n = get_aval(y0).shape[0]
    pair = lax.concatenate([lax.reshape(y0, (n, 1)), lax.reshape(y1, (n, 1))], 1)
    return lax.reshape(pair, tuple(shape) + (2,))


def threefry_2x32(keypair, count):
    """Apply the Threefry-2x32 block function (20 rounds) to a uint32 array
    of counters, as ``jax.random.threefry_2x32`` does: the flattened
    ``count`` (padded with one zero if its size is odd) is cut in halves,
    which are the two counter words; the outputs are joined the same way.

    >>> threefry_2x32(np.uint32([0x13198a2e, 0x03707344]),
    ...               np.uint32([0x243f6a88, 0x85a308d3]))   # Random123's pi vector
    Array([3297917596, 1212020640], dtype=uint32)
    """
    k0, k1 = key_words("threefry_2x32", keypair)
    count = asoperand(count, "threefry_2x32")
    aval = get_aval(count)
    if aval.dtype != _U32:
        raise TypeError(f"random.threefry_2x32: count must be a uint32 array, got {aval.str_short()}")
    flat = lax.reshape(count, (aval.size,))
    odd = aval.size % 2
    if odd:
        flat = lax.concatenate([flat, lax.full((1,), 0, _U32)], 0)
    half = (aval.size + odd) // 2
    y0, y1 = _threefry(k0, k1, lax.slice(flat, (0,), (half,)),
                       lax.slice(flat, (half,), (2 * half,)))
    out = lax.concatenate([y0, y1], 0)
    if odd:
        out = lax.slice(out, (0,), (aval.size,))
    return lax.reshape(out, aval.shape)


# ------------------------------------------------------------ argument checks
def check_key(name: str, key):
    """Return ``key`` as an operand after checking that it is one PRNG key
    (a uint32[2] array); a batch of keys is refused with a pointer to vmap."""
    if isinstance(key, (list, tuple)) or dtypes.is_python_scalar(key):
        raise TypeError(f"random.{name}: expected a PRNG key (a uint32[2] array from "
                        f"random.key, PRNGKey or split), got {type(key).__name__}: {key!r}")
    if not isinstance(key, (Tracer, Array, np.ndarray)):
        raise TypeError(f"random.{name}: expected a PRNG key (a uint32[2] array from "
                        f"random.key, PRNGKey or split), got {type(key).__name__}")
    aval = get_aval(key)
    if aval.shape != (2,) or aval.dtype != _U32:
        hint = ""
        if aval.dtype == _U32 and aval.ndim > 1 and aval.shape[-1] == 2:
            hint = ("; this is a batch of keys: draw with each one under funcgrad.vmap, "
                    "e.g. vmap(lambda k: random.normal(k, shape))(keys)")
        raise TypeError(f"random.{name}: expected a single PRNG key of shape (2,) and dtype "
                        f"uint32, got a key of shape {aval.shape} and dtype {aval.dtype.name}"
                        f"{hint}")
    return key


def canonical_shape(name: str, shape) -> tuple[int, ...]:
    """A static shape from an int or a sequence of ints."""
    from funcgrad.numpy.creation import _shape
    return _shape(shape, f"random.{name}")


# ------------------------------------------------------------ keys
def _seed_from_int(seed: int) -> Array:
    if not -(2 ** 63) <= seed < 2 ** 64:
        raise OverflowError(f"random.key: seed {seed} does not fit in 64 bits (accepted: "
                            f"-2**63 <= seed < 2**64)")
    pattern = seed % 2 ** 64
    words = np.array([pattern >> 32, pattern & 0xFFFFFFFF], _U32)
    words.flags.writeable = False
    return Array._from_buffer(words)


def key(seed, *, impl=None):
    """A PRNG key from an integer seed: a uint32[2] array (as JAX's
    ``PRNGKey``; funcgrad has no typed key arrays).

    The key holds the 64-bit two's complement pattern of ``seed``, high
    word first, so every Python int in ``[-2**63, 2**64)`` gives its own key,
    and a signed seed means its value whatever its width (``int32(-1)``
    and ``-1`` give the same key).  ``seed`` may be traced (any integer
    dtype), e.g. ``vmap(key)(seeds)``.

    >>> key(0)
    Array([0, 0], dtype=uint32)
    >>> key(-1)
    Array([4294967295, 4294967295], dtype=uint32)
    >>> key(2**32 + 5)
    Array([1, 5], dtype=uint32)
    """
    if impl not in (None, "threefry2x32", "threefry"):
        raise ValueError(f"random.key: only the threefry2x32 implementation exists, got "
                         f"impl={impl!r}")
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"random.key: seed must be an integer, got {seed!r}")
    if isinstance(seed, (int, np.integer)):
        return _seed_from_int(int(seed))
    if not isinstance(seed, (Tracer, Array, np.ndarray)):
        raise TypeError(f"random.key: seed must be an integer, got {type(seed).__name__}")
    aval = get_aval(seed)
    if aval.dtype.kind not in "iu":
        raise TypeError(f"random.key: seed must be an integer, got {aval.str_short()}")
    if aval.ndim:
        raise TypeError(f"random.key: seed must be a scalar, got {aval.str_short()} "
                        f"(use funcgrad.vmap(random.key) for many seeds)")
    # Widen to 64 bits keeping the value (sign extension for signed seeds),
    # then store the bit pattern: the traced path agrees with the Python one.
    wide = lax.convert_element_type(seed, np.int64 if aval.dtype.kind == "i" else _U64)
    hi = lax.convert_element_type(lax.shift_right_logical(wide, 32), _U32)
    lo = lax.convert_element_type(wide, _U32)
    return lax.concatenate([lax.reshape(hi, (1,)), lax.reshape(lo, (1,))], 0)


def PRNGKey(seed, *, impl=None):
    """The same as :func:`key`: a uint32[2] key array from an integer seed.

    >>> PRNGKey(42)
    Array([ 0, 42], dtype=uint32)
    """
    return key(seed, impl=impl)


def key_data(keys):
    """The raw uint32 data of keys: keys already are raw data, so this only
    checks the trailing dimension (a batch of keys is accepted).

    >>> key_data(key(3))
    Array([0, 3], dtype=uint32)
    """
    aval = get_aval(asoperand(keys, "key_data"))
    if aval.dtype != _U32 or aval.ndim < 1 or aval.shape[-1] != 2:
        raise TypeError(f"random.key_data: expected keys of shape (..., 2) and dtype uint32, "
                        f"got {aval.str_short()}")
    return keys


def wrap_key_data(key_bits_array, *, impl=None):
    """Keys from raw uint32 data of shape ``(..., 2)`` (the identity).

    >>> wrap_key_data(np.array([0, 7], np.uint32))
    Array([0, 7], dtype=uint32)
    """
    if impl not in (None, "threefry2x32", "threefry"):
        raise ValueError(f"random.wrap_key_data: unknown impl {impl!r}")
    keys = key_data(key_bits_array)
    if isinstance(keys, np.ndarray):
        keys = np.array(keys)
        keys.flags.writeable = False
        keys = Array._from_buffer(keys)
    return keys


def split(key, num=2):
    """``num`` new, independent keys from ``key``: a uint32[num, 2] array
    (``num`` may also be a shape, giving ``shape + (2,)``).

    Key ``j`` is ``threefry(key, (j, 1))``: a different domain than the
    key's own bit stream, so a key's draws never coincide with its
    children.  Use ``split`` and then forget the parent key.

    >>> k1, k2 = split(key(0))
    >>> split(key(0), 3).shape
    (3, 2)
    """
    shape = canonical_shape("split", num)
    n = math.prod(shape)
    if n >= 2 ** 32:
        raise ValueError(f"random.split: at most 2**32 - 1 keys at a time, asked for {n}")
    k0, k1 = key_words("split", key)
    y0, y1 = _threefry(k0, k1, lax.iota(_U32, n), lax.full((), _SPLIT_TAG, _U32))
    return _stack_words(y0, y1, shape)


def fold_in(key, data):
    """A new key from ``key`` and an integer ``data`` (taken modulo 2**32,
    as JAX's 32-bit data), e.g. a step counter inside a loop.

    >>> fold_in(key(0), 1).shape
    (2,)
    """
    k0, k1 = key_words("fold_in", key)
    if isinstance(data, (bool, np.bool_)):
        raise TypeError(f"random.fold_in: data must be an integer, got {data!r}")
    if isinstance(data, (int, np.integer)):
        d = lax.full((), int(data) % 2 ** 32, _U32)
    else:
        aval = get_aval(data)
        if aval.dtype.kind not in "iu" or aval.ndim:
            raise TypeError(f"random.fold_in: data must be an integer scalar, got "
                            f"{aval.str_short()}")
        d = lax.convert_element_type(data, _U32)
    y0, y1 = _threefry(k0, k1, d, lax.full((), _FOLD_TAG, _U32))
    return lax.concatenate([lax.reshape(y0, (1,)), lax.reshape(y1, (1,))], 0)


# ------------------------------------------------------------ the bit stream
def _check_count(name: str, blocks: int) -> None:
    if blocks >= 2 ** 32:
        raise ValueError(f"random.{name}: a draw needs {blocks} blocks of 64 bits, more than "
                         f"the 2**32 - 1 a key provides at once; split the key")


def words32(name: str, key, shape) -> object:
    """uint32 values of ``shape``: the key's stream read word by word."""
    n = math.prod(shape)
    blocks = (n + 1) // 2
    _check_count(name, blocks)
    k0, k1 = key_words(name, key)
    y0, y1 = _threefry(k0, k1, lax.iota(_U32, blocks), lax.full((), _BITS_TAG, _U32))
    flat = lax.reshape(_stack_words(y0, y1, (blocks,)), (2 * blocks,))
    if 2 * blocks != n:
        flat = lax.slice(flat, (0,), (n,))
    return lax.reshape(flat, tuple(shape))


def blocks64(k0, k1, n: int, x1):
    """The blocks ``threefry(key, (i, x1))``, ``i < n``, as uint64 values
    (high word first); ``k0``, ``k1`` are the key's words."""
    y0, y1 = _threefry(k0, k1, lax.iota(_U32, n), x1)
    hi = lax.shift_left(lax.convert_element_type(y0, _U64), 32)
    return lax.bitwise_or(hi, lax.convert_element_type(y1, _U64))


def words64(name: str, key, shape) -> object:
    """uint64 values of ``shape``: one block of the key's stream per value."""
    n = math.prod(shape)
    _check_count(name, n)
    k0, k1 = key_words(name, key)
    return lax.reshape(blocks64(k0, k1, n, lax.full((), _BITS_TAG, _U32)), tuple(shape))


def bits(key, shape=(), dtype=None):
    """Uniformly random unsigned integers of ``shape``: all their bits are
    random.  ``dtype`` is uint8, uint16, uint32 or uint64 (the default, as
    in JAX with 64-bit types enabled).

    >>> bits(key(0), (3,), np.uint32).dtype
    dtype('uint32')
    """
    shape = canonical_shape("bits", shape)
    dt = _U64 if dtype is None else dtypes.canonicalize(dtype)
    if dt.kind != "u":
        raise ValueError(f"random.bits: dtype must be an unsigned integer dtype, got {dt.name}")
    if dt == _U64:
        return words64("bits", key, shape)
    words = words32("bits", key, shape)
    return words if dt == _U32 else lax.convert_element_type(words, dt)


# ------------------------------------------------------------ floats from bits
def unit_floats(name: str, key, shape, dtype, *, open_interval: bool = False):
    """Floats of ``dtype`` uniform on [0, 1) (or (0, 1)) from the key's
    stream; see :func:`floats_from_bits`."""
    p = np.finfo(dtype).nmant + (0 if open_interval else 1)
    raw = words64(name, key, shape) if p > 32 else words32(name, key, shape)
    return floats_from_bits(raw, dtype, open_interval=open_interval)


def floats_from_bits(raw, dtype, *, open_interval: bool = False):
    """Floats of ``dtype`` uniform on [0, 1) from random unsigned integers:
    the top bits, as many as the significand holds (53 for float64, 24 for
    float32), scaled by a power of two, so every value is exact and equally
    likely.

    With ``open_interval`` the values are the midpoints ``(k + 1/2) / 2**p``
    of one bit fewer, uniform on (0, 1) and symmetric about 1/2 (for
    transforms that are infinite at 0 or 1: logs, quantiles)."""
    dt = np.dtype(dtype)
    width = get_aval(raw).dtype.itemsize * 8
    p = np.finfo(dt).nmant + (0 if open_interval else 1)
    if p > width:
        raise ValueError(f"floats_from_bits: {width} random bits cannot make a {dt.name}")
    u = lax.convert_element_type(lax.shift_right_logical(raw, width - p), dt)
    if open_interval:
        u = lax.add(u, 0.5)
    return lax.mul(u, float(2.0 ** -p))
