"""``funcgrad.random``: explicit, splittable, counter-based random numbers
with JAX's API (``jax.random``).

There is no hidden state.  A *key* is a uint32[2] array; every sampler is
a pure function of its key, so the same key always gives the same numbers:
eagerly, staged by ``make_jaxpr``, compiled by ``jit``, under ``vmap``
over a batch of keys, and inside ``lax`` loops.  Reusing a key reuses its
numbers: ``split`` a key into new ones (or ``fold_in`` an integer) before
drawing again.

>>> import funcgrad
>>> from funcgrad import random
>>> key = random.key(0)
>>> k1, k2 = random.split(key)
>>> x = random.normal(k1, (3,))
>>> bool((x == random.normal(k1, (3,))).all())          # same key, same numbers
True
>>> xs = funcgrad.vmap(lambda k: random.normal(k, (3,)))(random.split(k2, 5))
>>> xs.shape
(5, 3)

The generator is Threefry-2x32 with 20 rounds (Salmon, Moraes, Dror and
Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC11): one primitive,
``threefry2x32`` (vectorised NumPy eagerly, a compiled helper under
``jit``), checked against the same function written with ``funcgrad.lax``
uint32 operations and against the published Random123 known-answer
vectors.  How keys and numbers are derived:

* ``key(seed)``: the 64-bit two's complement pattern of the seed, high word
  first (``key(0)`` is ``[0, 0]``, as JAX's ``PRNGKey``).
* ``threefry(key, (x0, x1))`` encrypts a 64-bit counter; the second
  counter word is a domain tag (0: the key's bit stream, 1: ``split``,
  2: ``fold_in``), so the three never share a block.
* ``split(key, n)[j] = threefry(key, (j, 1))``;
  ``fold_in(key, d) = threefry(key, (d mod 2**32, 2))``.
* The key's bit stream is the blocks ``threefry(key, (i, 0))``,
  ``i = 0, 1, ...``: 32-bit draws read its words in order, 64-bit draws
  one block per value (high word first).
* Floats on [0, 1) are ``k / 2**53`` from 53 random bits (float64) or
  ``k / 2**24`` from 24 bits (float32); the other distributions transform
  them (inverse CDFs, Gumbel-max, sorting random keys for permutations).
* The gamma family's rejection loop splits the key into a loop key and a
  boost key; iteration ``t`` reads the loop key's blocks
  ``threefry(loop_key, (i, t))`` (see ``funcgrad.random.rejection``).

The numbers are not those of JAX (only the API and the semantics are).
"""
from funcgrad.random.distributions import (bernoulli, categorical, cauchy, choice, exponential,
                                           gumbel, laplace, logistic, multivariate_normal, normal,
                                           permutation, rademacher, randint, truncated_normal,
                                           uniform)
from funcgrad.random.prng import (PRNGKey, bits, fold_in, key, key_data, split, threefry_2x32,
                                  wrap_key_data)
from funcgrad.random.rejection import beta, dirichlet, gamma, loggamma

__all__ = ["PRNGKey", "bernoulli", "beta", "bits", "categorical", "cauchy", "choice",
           "dirichlet", "exponential", "fold_in", "gamma", "gumbel", "key", "key_data",
           "laplace", "loggamma", "logistic", "multivariate_normal", "normal", "permutation",
           "rademacher", "randint", "split", "threefry_2x32", "truncated_normal", "uniform",
           "wrap_key_data"]
