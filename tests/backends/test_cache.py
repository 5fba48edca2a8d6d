"""The on-disk cache: reuse by a new process, detection of corrupt entries,
concurrent writers, and the fallback when the directory is unusable."""
import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.backends import compile_jaxpr
from funcgrad.backends.numba_cpu import cache, compile_stats, compiler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(funcgrad.__file__)))

SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import funcgrad, funcgrad.numpy as jnp
    from funcgrad.backends import compile_jaxpr
    from funcgrad.backends.numba_cpu import compile_stats

    def f(x):
        return jnp.sum(jnp.tanh(x) * 3.0 + jnp.cos(x) ** 2) * {marker}

    closed = funcgrad.make_jaxpr(f)(np.ones(5))
    start = time.perf_counter()
    exe = compile_jaxpr(closed)
    out = exe(np.arange(5.0))
    seconds = time.perf_counter() - start
    print(json.dumps({{"stats": compile_stats(), "seconds": seconds, "out": float(out[0]),
                      "path": exe.path}}))
""")


def _run(cache_dir, marker=1.0, background=False):
    env = dict(os.environ, FUNCGRAD_CACHE_DIR=str(cache_dir),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    args = [sys.executable, "-c", SCRIPT.format(marker=marker)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    if background:
        return proc
    return _result(proc)


def _result(proc):
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _expected(marker=1.0):
    x = np.arange(5.0)
    return float(np.sum(np.tanh(x) * 3.0 + np.cos(x) ** 2) * marker)


def test_a_second_process_loads_the_compiled_code(tmp_path):
    first = _run(tmp_path)
    assert first["stats"]["writes"] == 1 and first["stats"]["numba_compiles"] == 1
    second = _run(tmp_path)
    assert second["stats"]["disk_hits"] == 1 and second["stats"]["writes"] == 0
    assert second["stats"]["numba_compiles"] == 0 and second["stats"]["numba_cache_hits"] == 1
    assert first["out"] == second["out"] == pytest.approx(_expected())
    assert os.path.dirname(second["path"]) == str(tmp_path)
    # No timing is asserted; loading is normally far below the compile time.
    print(f"compile {first['seconds']:.3f}s, load from cache {second['seconds']:.3f}s")


def _fresh_jaxpr(scale):
    return funcgrad.make_jaxpr(lambda x: jnp.sin(x) * scale + jnp.exp(-x))(np.ones(4))


def _forget():
    cache.clear_memory()
    compiler._by_jaxpr.clear()   # (the jaxprs are new objects anyway)


def test_a_corrupt_entry_is_detected_and_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(tmp_path))
    x = np.linspace(0, 1, 4)
    expected = np.sin(x) * 2.5 + np.exp(-x)
    exe = compile_jaxpr(_fresh_jaxpr(2.5))
    np.testing.assert_allclose(exe(x)[0], expected)
    path = exe.path
    good = open(path).read()
    damaged = [good[: len(good) // 2],                     # half-written
               good.replace("np.sin", "np.cos"),           # edited body, stale header
               "garbage\n"]
    for text in damaged:
        with open(path, "w") as f:
            f.write(text)
        _forget()
        rewrites = cache.stats["rewrites"]
        exe = compile_jaxpr(_fresh_jaxpr(2.5))
        assert cache.stats["rewrites"] == rewrites + 1
        assert open(path).read() == good
        np.testing.assert_allclose(exe(x)[0], expected)


def test_a_valid_entry_with_other_code_under_the_key_is_replaced(tmp_path, monkeypatch):
    # A (theoretical) key collision or a stale file: the header is valid but
    # the code is not the code wanted; it is never imported.
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(tmp_path))
    exe = compile_jaxpr(_fresh_jaxpr(3.5))
    other = exe.source.replace("np.sin", "np.cos")
    cache._write_atomic(exe.path, other)
    _forget()
    exe = compile_jaxpr(_fresh_jaxpr(3.5))
    x = np.linspace(0, 1, 4)
    np.testing.assert_allclose(exe(x)[0], np.sin(x) * 3.5 + np.exp(-x))


def test_threads_racing_on_one_new_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(tmp_path))
    x = np.linspace(0, 1, 4)
    results, errors = [], []

    def work():
        try:
            results.append(compile_jaxpr(_fresh_jaxpr(4.5))(x)[0])
        except Exception as err:  # noqa: BLE001 (reported below)
            errors.append(err)
    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        np.testing.assert_allclose(r, np.sin(x) * 4.5 + np.exp(-x))
    entries = [p for p in os.listdir(tmp_path) if p.endswith(".py")]
    assert len(entries) == 1 and cache._read_valid(os.path.join(tmp_path, entries[0]))


def test_processes_racing_on_one_new_entry(tmp_path):
    procs = [_run(tmp_path, marker=2.0, background=True) for _ in range(3)]
    results = [_result(p) for p in procs]
    for r in results:
        assert r["out"] == pytest.approx(_expected(2.0))
    entries = [p for p in os.listdir(tmp_path) if p.endswith(".py") and not p.startswith(".")]
    assert len(entries) == 1 and cache._read_valid(os.path.join(tmp_path, entries[0]))
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    # And the next process finds a complete, valid entry.
    assert _run(tmp_path, marker=2.0)["stats"]["numba_compiles"] == 0


def test_an_unusable_directory_compiles_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(blocker / "cache"))
    before = cache.stats["in_memory"]
    exe = compile_jaxpr(_fresh_jaxpr(5.5))
    x = np.linspace(0, 1, 4)
    np.testing.assert_allclose(exe(x)[0], np.sin(x) * 5.5 + np.exp(-x))
    assert cache.stats["in_memory"] == before + 1


def test_default_directory(monkeypatch):
    monkeypatch.delenv("FUNCGRAD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    if sys.platform.startswith("linux"):
        assert cache.cache_dir() == "/somewhere/cache/funcgrad"
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", "/elsewhere")
    assert cache.cache_dir() == "/elsewhere"


def test_key_covers_code_types_and_versions():
    src = "def f(a):\n    return a\n"
    key = cache.cache_key(src, [("<f8", 1)])
    assert key == cache.cache_key("# a comment\n" + src, [("<f8", 1)])
    assert key != cache.cache_key(src, [("<f4", 1)])
    assert key != cache.cache_key(src.replace("a\n", "a + 1\n"), [("<f8", 1)])
    assert len(key) == 64
    assert compile_stats()["programs"] >= 0
