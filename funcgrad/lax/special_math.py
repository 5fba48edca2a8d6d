"""Scalar special functions and their vectorised NumPy counterparts.

The scalar functions (``erf``, ``erfc``, ``erf_inv``, ``lgamma``, ``digamma``,
``polygamma``, ``logistic``, ``cbrt``, ``round_half_away``) are written as
plain Python on floats using only :mod:`math` and arithmetic.  That restriction is deliberate:
the *same source* runs as ordinary Python (the eager path) and compiles under
``numba.njit`` in nopython mode (the code generator calls these functions from
generated Numba code).  So inside them:

* no ``try``/``except``, no NumPy, no exceptions raised: domain errors give
  ``nan``/``inf`` the way XLA does instead of raising like :mod:`math` does;
* no ``math.cbrt`` (Python >= 3.11 only, and not guaranteed in Numba);
* ``math.floor`` is only called on finite values below 2**52, because in
  Python it returns an ``int`` (raising on nan/inf) and in Numba an int64;
* no calls between functions of this module: each public scalar function is
  self-contained, so ``numba.njit(fn)`` compiles it on its own.  (Numba
  cannot call plain-Python functions, so generated code must call the
  njit-compiled versions, not these objects directly.)

All scalar functions take and return float64 (``polygamma`` takes its
order ``m`` first, as a float64 holding an integer).  Float32 callers pass
float32-rounded values and round the float64 result back; since the float64
result is accurate to a few ulp, the rounded result is within about 1 float32
ulp.

The ``*_np`` functions apply the same math to whole arrays for the eager
implementation.  They preserve a floating input dtype (computing in float64
and casting back), return float64 for integer/bool input, always return an
``ndarray`` (0-d in, 0-d out) and never emit NumPy floating-point warnings.
``logistic_np``, ``cbrt_np``, ``round_half_away_np`` and (mostly)
``polygamma_np`` are genuinely vectorised because they are hot (polygamma
gives the higher derivatives of lgamma); the rest map the scalar function
over the elements with ``np.frompyfunc``, which is fine for rarely used
functions.
"""

import math

import numpy as np

__all__ = [
    "erf",
    "erfc",
    "erf_inv",
    "lgamma",
    "digamma",
    "polygamma",
    "logistic",
    "cbrt",
    "round_half_away",
    "erf_np",
    "erfc_np",
    "erf_inv_np",
    "lgamma_np",
    "digamma_np",
    "polygamma_np",
    "logistic_np",
    "cbrt_np",
    "round_half_away_np",
]

# Module-level float constants are frozen into Numba code as compile-time
# constants, which avoids relying on Numba resolving ``math.inf``/``math.nan``.
_INF = float("inf")
_NAN = float("nan")
_PI = math.pi
_SQRT_PI = 1.7724538509055159
# 2/sqrt(pi): derivative of erf at 0.
_TWO_OVER_SQRT_PI = 1.1283791670955126
# Every float64 with magnitude >= 2**52 is an integer.
_TWO_POW_52 = 4503599627370496.0
# Largest float64 for which lgamma is finite; beyond it Python's math.lgamma
# raises OverflowError (found by bisection against math.lgamma).
_LGAMMA_OVERFLOW = 2.5599833278516383e305


# ---------------------------------------------------------------------------
# erf / erfc
# ---------------------------------------------------------------------------


def erf(x):
    """Error function.

    A thin wrapper over :func:`math.erf` (which Numba supports and which
    already maps nan -> nan and +-inf -> +-1); it exists so that generated
    code has a single module to call into.

    >>> erf(0.0), erf(float("inf"))
    (0.0, 1.0)
    """
    return math.erf(x)


def erfc(x):
    """Complementary error function ``1 - erf(x)``, accurate for large x.

    >>> erfc(0.0), erfc(float("-inf"))
    (1.0, 2.0)
    """
    return math.erfc(x)


# ---------------------------------------------------------------------------
# erf_inv
# ---------------------------------------------------------------------------


def erf_inv(y):
    """Inverse error function: the x with ``erf(x) == y``.

    Defined on (-1, 1); ``erf_inv(+-1) = +-inf`` and ``|y| > 1`` or nan give
    nan (as XLA's ErfInv does).  Accurate to a few float64 ulp.

    >>> erf_inv(0.0)
    0.0
    >>> abs(erf(erf_inv(0.5)) - 0.5) < 1e-16
    True
    """
    if math.isnan(y):
        return _NAN
    a = abs(y)
    if a > 1.0:
        return _NAN
    if a == 1.0:
        return math.copysign(_INF, y)
    if a == 0.0:
        return y  # keeps the sign of -0.0
    if a < 1e-8:
        # Taylor series erf_inv(a) = sqrt(pi)/2 (a + pi/12 a^3 + ...); the
        # next term is below 1e-31 relative.  Besides being cheaper, this
        # avoids the iteration below, whose relative stopping test cannot be
        # met for subnormal a (their spacing is coarser than 1e-8 relative).
        return math.copysign(a * (0.5 * _SQRT_PI) * (1.0 + (_PI / 12.0) * (a * a)), y)
    # Initial estimate, good to ~1e-7 relative (~6e-5 in the far tail); the
    # Halley iteration below takes it to full float64 accuracy.
    # (1 - a) * (1 + a) rather than 1 - a*a: it keeps precision near a = 1.
    w = -math.log((1.0 - a) * (1.0 + a))
    if w >= 16.0:
        # Far float64 tail, 1 - a < ~1e-7 (beyond anything float32 can
        # represent, and where Giles' single-precision fit below is up to
        # 12% off).  Invert the asymptotic expansion
        #   erfc(x) ~ exp(-x^2) / (x sqrt(pi)) * (1 - 1/(2x^2) + 3/(4x^4))
        # i.e. x^2 = -log(q) - log(x sqrt(pi)) + log(series), by two
        # fixed-point steps from x = sqrt(-log q).  q = 1 - a is exact here.
        lq = -math.log(1.0 - a)
        x = math.sqrt(lq)
        for _ in range(2):
            z = 1.0 / (x * x)
            x = math.sqrt(lq - math.log(x * _SQRT_PI) + math.log(1.0 - 0.5 * z + 0.75 * z * z))
    else:
        # The single-precision polynomial approximation of M. Giles,
        # "Approximating the erfinv function" (GPU Computing Gems, 2010),
        # in w = -log(1 - a^2): ~1e-7 relative error.
        if w < 5.0:
            w = w - 2.5
            p = 2.81022636e-08
            p = 3.43273939e-07 + p * w
            p = -3.5233877e-06 + p * w
            p = -4.39150654e-06 + p * w
            p = 0.00021858087 + p * w
            p = -0.00125372503 + p * w
            p = -0.00417768164 + p * w
            p = 0.246640727 + p * w
            p = 1.50140941 + p * w
        else:
            w = math.sqrt(w) - 3.0
            p = -0.000200214257
            p = 0.000100950558 + p * w
            p = 0.00134934322 + p * w
            p = -0.00367342844 + p * w
            p = 0.00573950773 + p * w
            p = -0.0076224613 + p * w
            p = 0.00943887047 + p * w
            p = 1.00167406 + p * w
            p = 2.83297682 + p * w
        x = p * a
    # For a >= 0.5, q = 1 - a is exact (Sterbenz) and the residual is formed
    # as q - erfc(x).  Near a = 1, erf(x) is only known to ~1e-16 absolute,
    # so erf(x) - a would cap the accuracy of x at ~1e-16 / (1 - a) relative;
    # erfc(x) is accurate relative to its own (tiny) size.
    use_erfc = a >= 0.5
    q = 1.0 - a
    # Halley's method (cubic convergence): from the guess one step already
    # reaches float64 precision and a second confirms it, so the loop bound
    # is only a safety net.
    for _ in range(6):
        if use_erfc:
            f = q - math.erfc(x)
        else:
            f = math.erf(x) - a
        # f' = 2/sqrt(pi) exp(-x^2), f'' = -2 x f'.  Halley's update
        # x -= 2 f f' / (2 f'^2 - f f'') simplifies to x -= u / (1 + x u).
        u = f / (_TWO_OVER_SQRT_PI * math.exp(-x * x))
        dx = u / (1.0 + x * u)
        x = x - dx
        # Cubic convergence: after a step of relative size <= 1e-8 the
        # remaining error is ~1e-24 relative, far below one ulp.  (Testing
        # against ~1 ulp instead can oscillate at the rounding level.)
        if abs(dx) <= 1e-8 * x:
            break
    return math.copysign(x, y)


# ---------------------------------------------------------------------------
# lgamma / digamma
# ---------------------------------------------------------------------------


def lgamma(x):
    """``log(|Gamma(x)|)``, with ``+inf`` at the poles instead of raising.

    :func:`math.lgamma` raises ``ValueError`` at 0 and the negative integers
    and ``OverflowError`` for huge x in Python (Numba's version returns inf);
    this wrapper returns ``+inf`` in all of those cases, like XLA.

    Note: as plain Python this calls CPython's own lgamma, under Numba the
    C library's.  They agree to ~2e-15 * max(1, |lgamma(x)|), but CPython's
    is accurate in absolute rather than relative terms, so near the zeros
    of lgamma (x = 1, 2, -2.457, ...) the plain-Python result can be
    relatively poor: lgamma(1 - 2**-53) gives 2.2e-16 (true 6.4e-17) and
    lgamma(-2.457) has a relative error of ~3e-11.

    >>> lgamma(1.0), lgamma(0.0), lgamma(-3.0)
    (0.0, inf, inf)
    """
    if math.isnan(x):
        return x
    if math.isinf(x):
        return _INF  # lgamma(+-inf) = +inf
    # Poles at 0 and the negative integers.  Every float with |x| >= 2**52
    # is an integer; checking that first keeps math.floor (int-valued in
    # Python, int64 in Numba) away from huge arguments.
    if x <= 0.0 and (x <= -_TWO_POW_52 or x == math.floor(x)):
        return _INF
    if x > _LGAMMA_OVERFLOW:
        return _INF
    return math.lgamma(x)


def digamma(x):
    """Digamma function ``psi(x) = d/dx log|Gamma(x)|`` for all real x.

    Poles (0 and the negative integers) and ``-inf`` give nan, as in JAX;
    ``digamma(inf) = inf``.  Relative error is below ~1e-14 except close to
    the zeros of psi, where the absolute error is ~1e-15.

    >>> abs(digamma(1.0) + 0.5772156649015329) < 1e-15
    True
    >>> digamma(0.0), digamma(-2.0)
    (nan, nan)
    """
    if math.isnan(x):
        return x
    if math.isinf(x):
        return x if x > 0.0 else _NAN
    reflection = 0.0
    if x <= 0.0:
        # Poles; see lgamma for why |x| >= 2**52 is tested first.
        if x <= -_TWO_POW_52 or x == math.floor(x):
            return _NAN
        # Reflection: psi(x) = psi(1 - x) - pi cot(pi x).  cot(pi x) has
        # period 1, so first reduce x to r = x - nearest_integer(x) in
        # [-0.5, 0.5]: r is exact (x + 0.5 is exact for |x| < 2**52), so
        # pi*r carries a single rounding, whereas pi*x for large |x| would
        # have lost the fractional part.
        r = x - math.floor(x + 0.5)
        reflection = _PI / math.tan(_PI * r)
        x = 1.0 - x
    # Now x > 0.  The recurrence psi(x) = psi(x + 1) - 1/x shifts x to >= 10,
    # where the asymptotic (Stirling) series truncated after the x**-14 term
    # has a remainder below 1e-17 relative.  (Shifting only to 6 would leave
    # a ~1e-13 truncation error with the same terms.)
    # For small x the result is a difference of ~2-3 sized terms (e.g.
    # psi(1) = ln 10 - ... - (1 + 1/2 + ... + 1/9) = -0.577), so the sum is
    # accumulated with compensation (Fast2Sum, valid because the terms
    # decrease and acc >= t) to keep the result within a few ulp.
    acc = 0.0
    comp = 0.0
    if x < 10.0:
        acc = 1.0 / x
        x += 1.0
        while x < 10.0:
            t = 1.0 / x
            s = acc + t
            comp += t - (s - acc)  # exact rounding error of acc + t
            acc = s
            x += 1.0
    # psi(x) ~ ln x - 1/(2x) - sum_{k=1..7} B_2k / (2k x^2k), Horner in 1/x^2:
    # B_2k/(2k) = 1/12, -1/120, 1/252, -1/240, 1/132, -691/32760, 1/12.
    z = 1.0 / (x * x)
    series = z * (
        1.0 / 12.0
        - z
        * (
            1.0 / 120.0
            - z
            * (
                1.0 / 252.0
                - z * (1.0 / 240.0 - z * (1.0 / 132.0 - z * (691.0 / 32760.0 - z / 12.0)))
            )
        )
    )
    # Subtract acc from ln x first: when they nearly cancel (x near the
    # zero of psi at 1.46) that subtraction is exact, so only the final,
    # small-magnitude operations round.
    return (((math.log(x) - acc) - comp) - (0.5 / x + series)) - reflection


# ---------------------------------------------------------------------------
# polygamma
# ---------------------------------------------------------------------------

# B_2j / (2j)! for j = 1..12 (B_2 = 1/6, B_4 = -1/30, ..., B_24 =
# -236364091/2730), the coefficients of the Euler-Maclaurin tail of the
# Hurwitz zeta function.
_EM_COEFFS = (
    0.08333333333333333, -0.001388888888888889, 3.306878306878307e-05,
    -8.267195767195768e-07, 2.08767569878681e-08, -5.284190138687493e-10,
    1.3382536530684679e-11, -3.3896802963225827e-13, 8.586062056277845e-15,
    -2.174868698558062e-16, 5.5090028283602295e-18, -1.3954464685812522e-19,
)
_MIN_NORMAL = 2.2250738585072014e-308
# Largest t with exp(t) finite.
_LOG_MAX = 709.782712893384
# Orders from 2**53 on cannot be told from their successor in float64.
_TWO_POW_53 = 9007199254740992.0


def polygamma(m, x):
    """Polygamma function ``psi^(m)(x)``, the (m+1)-th derivative of lgamma.

    ``m`` must be a non-negative integer (given as a float or an int; other
    orders, and orders from 2**53 on, give nan).  ``m = 0`` is
    :func:`digamma`, including its nan at the poles.  For ``m >= 1``:

    * the value is ``(-1)**(m+1) m! zeta(m+1, x)`` with the Hurwitz zeta
      function, summed directly until the argument reaches ``m + 11`` and
      then by Euler-Maclaurin with 12 Bernoulli terms (truncation below
      1e-19 relative).  Relative error is below ~2e-15 up to m = 170 at
      positive x, growing like m * 1e-17 (each term is a power of a rounded
      argument); at negative x add the function's condition number
      ``|x psi^(m+1)(x) / psi^(m)(x)|`` times 1e-16 (near its zeros);
    * negative non-integer x are supported (no reflection is needed:
      ``zeta(m+1, x)`` is split into three zetas of positive arguments);
    * at the poles (0 and the negative integers, and every x <= -2**52)
      the result is ``+inf`` for odd m and ``-inf`` for even m, as SciPy
      returns; ``x = +inf`` gives ``+-0`` and ``-inf`` or nan give nan;
    * ``m!`` and ``x**-(m+1)`` are kept apart until the end, so results
      that are representable do not overflow on the way (SciPy returns
      nan for ``polygamma(200, 1000)``, this ~1.5e-228).  Where they would
      (and for m > 170, where m! overflows) the result is formed from
      logarithms, accurate to ~3e-13 relative.  For negative x such
      results may be nan (two overflowing terms of opposite sign).

    >>> abs(polygamma(1, 1.0) - math.pi ** 2 / 6) < 1e-15
    True
    >>> polygamma(0, 1.0) == digamma(1.0), polygamma(2, 0.0), polygamma(1.5, 2.0)
    (True, -inf, nan)
    """
    if math.isnan(m) or math.isnan(x) or m < 0.0 or m >= _TWO_POW_53 or m != math.floor(m):
        return _NAN
    if m == 0.0:
        # digamma, repeated rather than called so that this function
        # compiles under numba.njit on its own (see the module docstring);
        # a test checks that both agree exactly.
        if math.isinf(x):
            return x if x > 0.0 else _NAN
        reflection = 0.0
        if x <= 0.0:
            if x <= -_TWO_POW_52 or x == math.floor(x):
                return _NAN
            r = x - math.floor(x + 0.5)
            reflection = _PI / math.tan(_PI * r)
            x = 1.0 - x
        acc = 0.0
        comp = 0.0
        if x < 10.0:
            acc = 1.0 / x
            x += 1.0
            while x < 10.0:
                t = 1.0 / x
                s = acc + t
                comp += t - (s - acc)
                acc = s
                x += 1.0
        z = 1.0 / (x * x)
        series = z * (
            1.0 / 12.0
            - z
            * (
                1.0 / 120.0
                - z
                * (
                    1.0 / 252.0
                    - z * (1.0 / 240.0 - z * (1.0 / 132.0 - z * (691.0 / 32760.0 - z / 12.0)))
                )
            )
        )
        return (((math.log(x) - acc) - comp) - (0.5 / x + series)) - reflection

    # m >= 1: psi^(m)(x) = (-1)^(m+1) m! sum_{k>=0} (x+k)^-s, s = m + 1.
    s = m + 1.0
    sign = 1.0 if m - 2.0 * math.floor(0.5 * m) == 1.0 else -1.0
    if math.isinf(x):
        return sign * 0.0 if x > 0.0 else _NAN
    if x <= 0.0 and (x <= -_TWO_POW_52 or x == math.floor(x)):
        return sign * _INF
    fact = 1.0  # m!, exact up to 22!; inf from 171 on (handled below)
    i = 2.0
    while i <= m and fact < _INF:
        fact *= i
        i += 1.0
    # For x > 0 the sum is sign * m! zeta(s, x).  For x < 0 (not an
    # integer) write x = r - n with r in (0, 1): the n terms with x + k < 0
    # are (-1)^s (j - r)^-s for j = 1..n, so
    #   sum = zeta(s, r) + (-1)^s (zeta(s, 1 - r) - zeta(s, 1 - x)),
    # and (-1)^s = sign.  1 - r is formed as ceil(x) - x, exact (Sterbenz),
    # unlike 1 - r when x is tiny.
    total = -0.0  # -0.0 + v is v even for v = -0.0 (an underflow)
    nterms = 1 if x > 0.0 else 3
    for which in range(nterms):
        if x > 0.0:
            q, coef = x, sign
        elif which == 0:
            q, coef = (math.floor(x) + 1.0) - x, 1.0
        elif which == 1:
            q, coef = 1.0 - x, -1.0
        else:
            q, coef = x - math.floor(x), sign
        # zsum = q^s zeta(s, q), a sum of terms (q / (q + k))^s <= 1, the
        # first exactly 1: scaling by q^s keeps it in range whatever q, s.
        zsum = 0.0
        a_min = s + 10.0  # where Euler-Maclaurin takes over (see below)
        k = 0.0
        tail_needed = True
        while q + k < a_min:
            a = q + k  # one rounding (accumulating a += 1 would drift)
            t = (q / a) ** s
            zsum += t
            # The terms left sum to at most the integral of (q/v)^s from a
            # on, t * a / (s - 1): stop once that cannot show (large s).
            if t * a <= 1e-18 * (s - 1.0) * zsum:
                tail_needed = False
                break
            k += 1.0
        if tail_needed:
            # Euler-Maclaurin from a = q + k >= s + 10:
            #   zeta(s, a) = a^(1-s)/(s-1) + a^-s/2
            #                + sum_j B_2j/(2j)! s(s+1)...(s+2j-2) a^(1-s-2j).
            # Its remainder relative to the first term is about
            # 2 (s-1) s (s+1)...(s+24) / (2 pi a)^26 < 1e-19 for a >= s + 10.
            a = q + k
            w = 1.0 / (a * a)
            poch = s / a  # s (s+1) ... (s+2j-2) / a^(2j-1)
            em = 0.0
            for j in range(12):
                em += _EM_COEFFS[j] * poch
                poch *= (s + (2 * j + 1)) * (s + (2 * j + 2)) * w
            zsum += (q / a) ** s * ((a / (s - 1.0) + 0.5) + em)
        # m! q^-s zsum, as (m! p) zsum p with p = q^(-s/2), which neither
        # overflows nor underflows unless the result does.  Otherwise (or
        # from 171!) fall back to logarithms: ~|log result| ulp of accuracy.
        # (Python's ** raises OverflowError where Numba's gives inf: test
        # the exponent first.)
        log_q = math.log(q)
        p = 0.0
        v = _INF
        if -0.5 * s * log_q < _LOG_MAX:
            p = q ** (-0.5 * s)
            v = ((fact * p) * zsum) * p
        if not (v >= _MIN_NORMAL and v < _INF and p >= _MIN_NORMAL):
            lv = math.lgamma(s) - s * log_q + math.log(zsum)
            v = _INF if lv > _LOG_MAX else math.exp(lv)
        total += coef * v
    return total


# ---------------------------------------------------------------------------
# logistic, cbrt, round
# ---------------------------------------------------------------------------


def logistic(x):
    """Numerically stable logistic sigmoid ``1 / (1 + exp(-x))``.

    Only ever calls ``exp`` on a non-positive argument, so it cannot overflow
    (``math.exp`` raises OverflowError in Python for x > ~709).

    >>> logistic(0.0), logistic(1000.0), logistic(-1000.0)
    (0.5, 1.0, 0.0)
    """
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    # x < 0 or nan (comparisons with nan are false; exp(nan) = nan).
    e = math.exp(x)
    return e / (1.0 + e)


def cbrt(x):
    """Real cube root, defined for negative x too: ``cbrt(-8) == -2``.

    ``abs(x) ** (1/3)`` is off by up to ~1e-14 relative because 1/3 is not
    representable; one Newton step on ``y**3 = a`` brings it to <= 1 ulp.

    >>> cbrt(27.0), cbrt(-8.0)
    (3.0, -2.0)
    """
    if x == 0.0 or math.isnan(x) or math.isinf(x):
        return x  # +-0, +-inf and nan are their own cube roots
    a = abs(x)
    y = a ** (1.0 / 3.0)
    # Newton: y -= (y**3 - a) / (3 y**2), written as (y - a / y**2) / 3 so
    # that neither y**3 overflows for a near the float64 maximum nor
    # underflows for subnormal a.
    y = y - (y - a / (y * y)) / 3.0
    return math.copysign(y, x)


def round_half_away(x):
    """Round to the nearest integer, halfway cases away from zero.

    This is ``lax.round`` with its default ``RoundingMethod.AWAY_FROM_ZERO``
    (``np.round`` rounds half to even instead).  The sign of zero is kept
    (``round_half_away(-0.4) == -0.0``).  Tests the exact fraction
    ``|x| - floor(|x|)`` rather than computing ``floor(x + 0.5)``, which is
    wrong for 0.49999999999999994 (the addition rounds up to 1.0).

    >>> round_half_away(2.5), round_half_away(-2.5), round_half_away(2.4)
    (3.0, -3.0, 2.0)
    """
    if math.isnan(x) or math.isinf(x) or abs(x) >= _TWO_POW_52:
        return x  # already integral (or nan)
    a = abs(x)
    t = float(math.floor(a))
    if a - t >= 0.5:
        t += 1.0
    return math.copysign(t, x)


# ---------------------------------------------------------------------------
# Vectorised NumPy versions
# ---------------------------------------------------------------------------


def _as_float64(x):
    """Return (float64 array, dtype to cast the result back to)."""
    a = np.asarray(x)
    if np.issubdtype(a.dtype, np.floating):
        out_dtype = a.dtype
    elif a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
        out_dtype = np.dtype(np.float64)
    else:
        raise TypeError(f"expected a real floating array, got dtype {a.dtype}")
    return a.astype(np.float64, copy=False), out_dtype


def _finish(r, out_dtype):
    # np.asarray: a 0-d input makes ufuncs/frompyfunc return a scalar, but
    # callers always get an ndarray back.  Casting float64 -> float32 can
    # overflow to inf (e.g. lgamma); that is the intended result, so silence
    # the warning.
    with np.errstate(all="ignore"):
        return np.asarray(r, dtype=np.float64).astype(out_dtype, copy=False)


# From this many elements the eager versions run the functions compiled by
# Numba (the first use imports Numba and loads the cached machine code, a
# one-off ~0.5 s; per element it is ~50x faster than the Python loop).
_COMPILED_MIN_SIZE = 512


def _map_scalar(fn):
    ufunc = np.frompyfunc(fn, 1, 1)

    def apply(x):
        a, out_dtype = _as_float64(x)
        if a.size == 0:
            return np.empty(a.shape, out_dtype)
        if a.size >= _COMPILED_MIN_SIZE:
            from funcgrad.backends.numba_cpu import special_jit
            flat = np.ascontiguousarray(a).reshape(-1)
            out = np.empty(flat.shape, np.float64)
            with np.errstate(all="ignore"):
                getattr(special_jit, fn.__name__ + "_array")(flat, out)
            return _finish(out.reshape(a.shape), out_dtype)
        # frompyfunc hands each element to fn as a Python float.  Python
        # float arithmetic overflows to inf silently, but it still raises
        # the CPU's floating-point flags, which NumPy inspects after any
        # ufunc loop (this one included) and would turn into warnings.
        with np.errstate(all="ignore"):
            r = ufunc(a)
        return _finish(r, out_dtype)

    return apply


_erf_np = _map_scalar(erf)
_erfc_np = _map_scalar(erfc)
_erf_inv_np = _map_scalar(erf_inv)
_lgamma_np = _map_scalar(lgamma)
_digamma_np = _map_scalar(digamma)


def erf_np(x):
    """Elementwise :func:`erf`, preserving a floating dtype.

    >>> erf_np(np.array([0.0, np.inf], np.float32))
    array([0., 1.], dtype=float32)
    """
    return _erf_np(x)


def erfc_np(x):
    """Elementwise :func:`erfc`, preserving a floating dtype.

    >>> erfc_np(np.array([0.0, -np.inf]))
    array([1., 2.])
    """
    return _erfc_np(x)


def erf_inv_np(x):
    """Elementwise :func:`erf_inv`, preserving a floating dtype.

    >>> erf_inv_np(np.array([0.0, 1.0, -1.0, 2.0]))
    array([  0.,  inf, -inf,  nan])
    """
    return _erf_inv_np(x)


def lgamma_np(x):
    """Elementwise :func:`lgamma` (``+inf`` at the poles), preserving dtype.

    >>> lgamma_np(np.array([1.0, 3.0, 0.0, -2.0]))
    array([0.        , 0.69314718,        inf,        inf])
    """
    return _lgamma_np(x)


def digamma_np(x):
    """Elementwise :func:`digamma` (nan at the poles), preserving dtype.

    >>> digamma_np(np.array([1.0, 0.0]))
    array([-0.57721566,         nan])
    """
    return _digamma_np(x)


def logistic_np(x):
    """Vectorised stable logistic sigmoid, preserving a floating dtype.

    Uses ``e = exp(-|x|) <= 1`` (no overflow) and picks ``1/(1+e)`` or
    ``e/(1+e)`` by sign.

    >>> logistic_np(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    a, out_dtype = _as_float64(x)
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(a))
        pos = 1.0 / (1.0 + e)
        # e/(1+e) = e * pos for x < 0.  nan: the condition is false and
        # e * pos = nan * nan, so nan propagates.
        r = np.where(a >= 0.0, pos, e * pos)
    return _finish(r, out_dtype)


def cbrt_np(x):
    """Vectorised real cube root (``np.cbrt``), preserving a floating dtype.

    >>> cbrt_np(np.array([-8.0, 27.0], np.float32))
    array([-2.,  3.], dtype=float32)
    """
    a, out_dtype = _as_float64(x)
    with np.errstate(all="ignore"):
        r = np.cbrt(a)
    return _finish(r, out_dtype)


def round_half_away_np(x):
    """Vectorised :func:`round_half_away`, preserving a floating dtype.

    >>> round_half_away_np(np.array([0.5, 1.5, -2.5, 2.4]))
    array([ 1.,  2., -3.,  2.])
    """
    a, out_dtype = _as_float64(x)
    with np.errstate(all="ignore"):
        t = np.trunc(a)
        # a - t is exact; inf - inf = nan compares false, so inf stays inf.
        r = np.where(np.abs(a - t) >= 0.5, t + np.sign(a), t)
        r = np.copysign(r, a)  # keep -0.0 for e.g. -0.4
    return _finish(r, out_dtype)


# Orders up to this go through the array code of polygamma_np; the rest (and
# m = 0, x <= 0, non-finite values, results near overflow) element by
# element through the scalar function.
_NP_MAX_ORDER = 100
# m! built by the same float products as in polygamma, so both agree.
_FACTORIALS = [1.0, 1.0]
for _i in range(2, _NP_MAX_ORDER + 1):
    _FACTORIALS.append(_FACTORIALS[-1] * float(_i))
_FACTORIALS = np.array(_FACTORIALS)
del _i
_polygamma_ufunc = np.frompyfunc(polygamma, 2, 1)


def _polygamma_positive_np(n, q):
    """``polygamma(n, q)`` for 1 <= n <= _NP_MAX_ORDER and finite q > 0:
    the steps of the scalar function (same operations, same order) applied
    to whole arrays.  Returns the values and a mask of the elements whose
    result needs the scalar function's over/underflow handling instead."""
    s = n + 1.0
    a_min = s + 10.0
    zsum = np.zeros_like(q)
    k_end = np.zeros_like(q)  # the k at which the direct sum stopped
    tail_needed = np.ones(q.shape, bool)
    live = np.arange(q.size)  # elements still in the direct sum
    k = 0.0
    while live.size:
        ql, sl = q[live], s[live]
        inside = ql + k < a_min[live]
        k_end[live[~inside]] = k
        live, ql, sl = live[inside], ql[inside], sl[inside]
        a = ql + k
        t = (ql / a) ** sl
        z = zsum[live] + t
        zsum[live] = z
        stop = t * a <= 1e-18 * (sl - 1.0) * z
        tail_needed[live[stop]] = False
        live = live[~stop]
        k += 1.0
    idx = np.nonzero(tail_needed)[0]
    qt, st = q[idx], s[idx]
    a = qt + k_end[idx]
    w = 1.0 / (a * a)
    poch = st / a
    em = np.zeros_like(qt)
    for j in range(len(_EM_COEFFS)):
        em += _EM_COEFFS[j] * poch
        poch *= (st + (2 * j + 1)) * (st + (2 * j + 2)) * w
    zsum[idx] += (qt / a) ** st * ((a / (st - 1.0) + 0.5) + em)
    p = q ** (-0.5 * s)
    v = ((_FACTORIALS[n.astype(np.intp)] * p) * zsum) * p
    bad = ~((v >= _MIN_NORMAL) & (v < _INF) & (p >= _MIN_NORMAL))
    sign = np.where(n % 2.0 == 1.0, 1.0, -1.0)
    return sign * v, bad


def polygamma_np(m, x):
    """Elementwise :func:`polygamma`, broadcasting ``m`` against ``x``.

    The result has ``x``'s floating dtype (float64 for integer ``x``);
    ``m`` may be any real array holding integers.  Orders 1 to 100 at
    positive x are computed with whole-array operations, the rest element
    by element.

    >>> polygamma_np(1, np.array([1.0, 0.5]))
    array([1.64493407, 4.9348022 ])
    >>> polygamma_np(np.array([0, 1, 2]), np.float32(1.0))
    array([-0.5772157,  1.644934 , -2.4041138], dtype=float32)
    """
    a, out_dtype = _as_float64(x)
    n, _ = _as_float64(m)
    n, a = np.broadcast_arrays(n, a)
    shape = a.shape
    n, a = n.ravel(), a.ravel()
    out = np.empty(a.shape)
    with np.errstate(all="ignore"):
        fast = ((a > 0.0) & (a < _INF) & (n >= 1.0) & (n <= _NP_MAX_ORDER)
                & (n == np.floor(n)))
        rest = np.nonzero(~fast)[0]
        fast = np.nonzero(fast)[0]
        if fast.size:
            values, bad = _polygamma_positive_np(n[fast], a[fast])
            out[fast] = values
            rest = np.concatenate([rest, fast[bad]])
        if rest.size:
            out[rest] = _polygamma_ufunc(n[rest], a[rest])
    return _finish(out.reshape(shape), out_dtype)
