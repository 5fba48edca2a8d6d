"""Walk the registry of primitives: every one declares the rules that exist
at this stage (eager impl and shape rule), and the required set is there."""
import pytest

import funcgrad  # noqa: F401  (registers every primitive)
from funcgrad.core.primitive import registry

REQUIRED = """
neg sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh exp exp2 log log1p expm1
sqrt rsqrt cbrt abs sign floor ceil round is_finite logistic erf erfc erf_inv lgamma digamma
add sub mul div rem pow integer_pow max min atan2 nextafter eq ne lt le gt ge and or xor not
shift_left shift_right_logical select_n convert_element_type broadcast_in_dim reshape
transpose squeeze expand_dims rev concatenate pad slice dynamic_slice dynamic_update_slice
gather scatter scatter_add scatter_mul scatter_min scatter_max reduce_sum reduce_max
reduce_min reduce_prod argmax argmin cumsum cumprod cummax sort dot_general iota clamp
""".split()


def test_every_required_primitive_exists():
    missing = [name for name in REQUIRED if name not in registry]
    assert not missing, f"primitives missing from the registry: {missing}"


@pytest.mark.parametrize("name", sorted(registry))
def test_primitive_has_impl_and_shape_rule(name):
    p = registry[name]
    assert callable(p.impl), f"{name} has no impl"
    assert callable(p.abstract_eval), f"{name} has no abstract_eval"
    assert repr(p) == f"Primitive({name})"


@pytest.mark.parametrize("name", sorted(registry))
def test_primitive_declares_its_differentiation_rules(name):
    """Every primitive has a jvp rule or says why it has none, and a
    transpose rule or says it is not linear (so reverse mode can tell a
    missing rule from one that cannot exist)."""
    p = registry[name]
    assert callable(p.jvp) or "jvp" in p.not_applicable, f"{name} has no jvp rule"
    assert callable(p.transpose) or "transpose" in p.not_applicable, (
        f"{name} has no transpose rule and does not declare itself non-linear")


@pytest.mark.parametrize("name", sorted(registry))
def test_primitive_declares_its_batching_rule(name):
    """Every primitive can be vmapped (one batched call, never a loop), or
    says why batching can never reach it."""
    p = registry[name]
    assert callable(p.batch) or "batch" in p.not_applicable, f"{name} has no batching rule"
