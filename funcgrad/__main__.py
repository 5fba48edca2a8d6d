"""``python -m funcgrad``: a short tour of what funcgrad can do today."""
from __future__ import annotations

import numpy as np

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax, tree_util


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


def main() -> None:
    print(f"funcgrad {funcgrad.__version__}: composable transforms for NumPy code")

    _section("funcgrad.numpy is NumPy's API on immutable arrays")
    x = jnp.linspace(0.0, 1.0, 5)
    print("x              =", x)
    print("jnp.sin(x) * 2 =", jnp.sin(x) * 2)
    print("x.at[0].set(9) =", x.at[0].set(9.0), " (x is unchanged:", x, ")")
    a = jnp.arange(6.0).reshape(2, 3)
    print("a @ a.T        =\n", a @ a.T)
    print("float32 stays float32 with Python scalars:",
          (jnp.ones(2, dtype=jnp.float32) * 2.5).dtype)

    _section("make_jaxpr: see what a function does, without running it")

    def predict(params, inputs):
        return jnp.tanh(inputs @ params["w"] + params["b"])

    params = {"w": np.ones((3, 2)), "b": np.zeros(2)}
    print(funcgrad.make_jaxpr(predict)(params, np.ones((4, 3))))

    _section("pytrees: functions take and return nested containers")
    leaves, treedef = tree_util.tree_flatten(params)
    print("treedef:", treedef, " leaves:", [leaf.shape for leaf in leaves])
    print("tree_map:", tree_util.tree_map(jnp.sum, params))

    _section("jvp: forward-mode derivatives, through Python control flow")

    def f(x):
        if x > 0:  # fine: x carries its concrete value outside jit
            return jnp.sin(x) * x
        return jnp.cos(x)

    value, derivative = funcgrad.jvp(f, (1.0,), (1.0,))
    print(f"f(1.0) = {float(value):.6f}, f'(1.0) = {float(derivative):.6f} "
          f"(exact: {np.cos(1.0) + np.sin(1.0):.6f})")

    _section("grad and Hessians: nest transforms freely")

    def rosenbrock(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    x0 = jnp.array([0.5, 1.5, -0.5])
    print("grad(rosenbrock)(x0)    =", funcgrad.grad(rosenbrock)(x0))
    print("hessian(rosenbrock)(x0) =\n", funcgrad.hessian(rosenbrock)(x0))
    print("d3/dx3 sin(x) at 0      =", funcgrad.grad(funcgrad.grad(funcgrad.grad(jnp.sin)))(0.0))
    print("make_jaxpr(grad(lambda x: sin(x) * 2.0)):")
    print(funcgrad.make_jaxpr(funcgrad.grad(lambda x: jnp.sin(x) * 2.0))(1.0))

    _section("vmap and jit: batch it, compile it")

    def loss(w, x, y):
        return (jnp.tanh(jnp.dot(x, w)) - y) ** 2

    xs, ys = np.linspace(-1, 1, 12).reshape(4, 3), np.zeros(4)
    per_example = funcgrad.jit(funcgrad.vmap(funcgrad.grad(loss), in_axes=(None, 0, 0)))
    print("per-example gradients (4 examples, 3 weights):\n", per_example(np.ones(3), xs, ys))
    print("first lines of the generated Numba source:")
    print("\n".join(per_example.lower(np.ones(3), xs, ys).as_text().splitlines()[:4]), "...")

    _section("control flow: lax.scan, fori_loop, while_loop, cond")

    def decay(rate):
        def step(amount, _):
            amount = amount * jnp.exp(-rate)
            return amount, amount
        return lax.scan(step, 1.0, None, length=5)[1]

    print("scan:       decay(0.5)          =", decay(0.5))
    print("grad through the loop: d/drate sum(decay) at 0.5 =",
          funcgrad.grad(lambda r: jnp.sum(decay(r)))(0.5))
    collatz = funcgrad.jit(funcgrad.vmap(lambda n: lax.while_loop(
        lambda c: c[0] != 1,
        lambda c: (lax.select(c[0] % 2 == 0, c[0] // 2, 3 * c[0] + 1), c[1] + 1), (n, 0))[1]))
    print("while_loop: Collatz steps of 6, 7, 27 (vmap: each member runs its own loop) =",
          collatz(np.array([6, 7, 27])))

    _section("errors name the operation and the shapes")
    try:
        lax.add(np.ones(3), np.ones(4))
    except TypeError as err:
        print("TypeError:", err)

    def needs_value(x):
        return x if x > 0 else -x

    try:
        funcgrad.make_jaxpr(needs_value)(1.0)
    except funcgrad.ConcretizationTypeError as err:
        print("ConcretizationTypeError:", str(err)[:150], "...")

    try:
        funcgrad.grad(jnp.sin)(jnp.ones(3))
    except TypeError as err:
        print("TypeError:", err)

    _section("MCMC: NUTS on a small posterior (funcgrad.mcmc)")
    _sample_posterior()


def _sample_posterior():
    """Bayesian inference for a normal's mean and log-scale from 20 data
    points: 4 NUTS chains, Stan-style warmup, one compiled program."""
    from funcgrad import mcmc, random

    data = np.array([4.1, 5.3, 3.8, 4.9, 6.2, 5.1, 4.4, 5.8, 4.7, 5.5,
                     3.9, 5.0, 4.6, 6.0, 5.2, 4.3, 4.8, 5.6, 4.5, 5.4])

    def log_posterior(params):
        mu, log_sigma = params["mu"], params["log_sigma"]
        log_prior = -0.5 * (mu / 10.0) ** 2 - 0.5 * log_sigma ** 2
        resid = (data - mu) / jnp.exp(log_sigma)
        return log_prior - jnp.sum(0.5 * resid ** 2) - data.size * log_sigma

    init = {"mu": np.zeros(4), "log_sigma": np.zeros(4)}
    result = mcmc.sample(log_posterior, init, random.key(0), num_warmup=500, num_samples=500)
    print("4 chains x 500 draws after 500 warmup; mean tree depth "
          f"{result.stats['tree_depth'].mean():.2f}, divergences "
          f"{int(result.stats['diverging'].sum())}")
    print(result.summary())
    print(f"(the sample mean of the data is {data.mean():.3f}, its sd {data.std(ddof=1):.3f})")


if __name__ == "__main__":
    main()
