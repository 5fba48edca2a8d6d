"""funcgrad.debug.print and disable_jit: prints runtime values eagerly,
under grad and vmap, and from staged programs; is never removed as dead
code."""
import numpy as np

import funcgrad
import funcgrad.numpy as jnp


def f(x):
    funcgrad.debug.print("x = {} and y = {y}", x, y=x * 2)
    return jnp.sum(x * x)


def test_prints_eagerly_and_under_grad(capsys):
    f(np.array([1.0, 2.0]))
    assert capsys.readouterr().out == "x = [1. 2.] and y = [2. 4.]\n"
    g = funcgrad.grad(f)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(np.asarray(g), [2.0, 4.0])
    assert capsys.readouterr().out == "x = [1. 2.] and y = [2. 4.]\n"


def test_prints_each_batch_member_under_vmap(capsys):
    funcgrad.vmap(f)(np.arange(4.0).reshape(2, 2))
    assert capsys.readouterr().out == ("x = [0. 1.] and y = [0. 2.]\n"
                                       "x = [2. 3.] and y = [4. 6.]\n")


def test_staged_print_is_kept_and_runs_with_each_runs_values(capsys):
    closed = funcgrad.make_jaxpr(lambda x: (funcgrad.debug.print("v={}", x), x * 0.0)[1])(1.0)
    assert "debug_print" in [e.primitive.name for e in closed.eqns]
    assert capsys.readouterr().out == ""          # staging prints nothing
    funcgrad.eval_jaxpr(closed.jaxpr, closed.consts, 3.5)
    assert capsys.readouterr().out == "v=3.5\n"


def test_disable_jit_runs_python(capsys):
    calls = []

    def h(x):
        calls.append(x)
        return x + 1

    with funcgrad.disable_jit():
        out = funcgrad.jit(h)(np.ones(2))
        out = funcgrad.jit(h)(np.ones(2))
    np.testing.assert_array_equal(np.asarray(out), [2.0, 2.0])
    assert len(calls) == 2 and isinstance(calls[0], np.ndarray)   # concrete, every call
