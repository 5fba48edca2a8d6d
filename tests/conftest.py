"""Test configuration: hypothesis profiles.

``default`` keeps the suite fast on two cores; set
``FUNCGRAD_HYPOTHESIS_PROFILE=nightly`` for a long, thorough run.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    # Under CI the examples are derandomized, so a run is reproducible.
    "default", max_examples=20, deadline=None, print_blob=True,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "nightly", max_examples=400, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("FUNCGRAD_HYPOTHESIS_PROFILE", "default"))


import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _funcgrad_cache_dir(tmp_path_factory):
    """Each test session compiles into its own, initially empty, cache
    directory (so a run never depends on what an earlier run left)."""
    previous = os.environ.get("FUNCGRAD_CACHE_DIR")
    os.environ["FUNCGRAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("funcgrad-cache"))
    yield
    if previous is None:
        os.environ.pop("FUNCGRAD_CACHE_DIR", None)
    else:
        os.environ["FUNCGRAD_CACHE_DIR"] = previous
