"""funcgrad: composable function transforms for NumPy code.

>>> import funcgrad
>>> import funcgrad.numpy as jnp
>>> print(funcgrad.make_jaxpr(lambda x: jnp.sin(x) * 2.0)(jnp.ones(3)))
{ lambda ; a:f64[3]. let
    b:f64[3] = sin a
    c:f64[3] = mul b 2.0
  in (c,) }
"""
__version__ = "0.1.0"

from funcgrad import tree_util  # noqa: E402
from funcgrad.core import (Array, ClosedJaxpr, ConcretizationTypeError, Jaxpr,  # noqa: E402
                           ShapedArray, TracerArrayConversionError, UnexpectedTracerError,
                           check_jaxpr, eval_jaxpr, make_jaxpr)
from funcgrad import lax  # noqa: E402
from funcgrad import numpy  # noqa: E402
from funcgrad import nn, scipy  # noqa: E402
from funcgrad.transforms.jvp import jvp  # noqa: E402
from funcgrad.transforms.autodiff import (grad, hessian, jacfwd, jacrev, linearize,  # noqa: E402
                                          value_and_grad, vjp)
from funcgrad.transforms.transpose import linear_transpose  # noqa: E402
from funcgrad.transforms.custom_derivatives import custom_jvp, custom_vjp  # noqa: E402
from funcgrad.transforms.vmap import vmap  # noqa: E402
from funcgrad.transforms.jit import disable_jit, jit  # noqa: E402
from funcgrad import debug  # noqa: E402
from funcgrad import random  # noqa: E402
from funcgrad import mcmc  # noqa: E402

__all__ = ["Array", "ClosedJaxpr", "ConcretizationTypeError", "custom_jvp", "custom_vjp", "debug", "disable_jit", "Jaxpr", "ShapedArray",
           "TracerArrayConversionError", "UnexpectedTracerError", "check_jaxpr",
           "eval_jaxpr", "grad", "hessian", "jacfwd", "jacrev", "jit", "jvp", "lax", "linear_transpose",
           "linearize", "make_jaxpr", "mcmc", "nn", "numpy", "random", "scipy", "tree_util", "value_and_grad", "vjp", "vmap"]
