"""Tests for funcgrad.tree_util: pytrees with JAX's names and semantics."""
import collections
import dataclasses
import operator
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funcgrad import tree_util
from funcgrad.tree_util import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    PyTreeDef,
    SequenceKey,
    keystr,
    register_dataclass,
    register_pytree_node,
    register_pytree_node_class,
    tree_all,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_map,
    tree_map_with_path,
    tree_reduce,
    tree_structure,
    tree_transpose,
    tree_unflatten,
    treedef_children,
    treedef_is_leaf,
    treedef_tuple,
)


class Point(NamedTuple):
    x: Any
    y: Any


@register_dataclass
@dataclasses.dataclass
class Layer:
    w: Any
    b: Any
    act: str = dataclasses.field(default="relu", metadata={"static": True})


@register_pytree_node_class
class Pair:
    def __init__(self, first, second):
        self.first, self.second = first, second

    def tree_flatten(self):
        return (self.first, self.second), "pair"

    @classmethod
    def tree_unflatten(cls, aux, children):
        assert aux == "pair"
        return cls(*children)

    def __eq__(self, other):
        return type(other) is Pair and (self.first, self.second) == (other.first, other.second)


# --------------------------------------------------------------- reference
def ref_leaves(t):
    """A plain, obviously-correct flatten used as the oracle."""
    if t is None:
        return []
    if type(t) in (tuple, list) or isinstance(t, Point):
        return [x for c in t for x in ref_leaves(c)]
    if type(t) is dict:
        return [x for k in sorted(t) for x in ref_leaves(t[k])]
    if type(t) is collections.OrderedDict:
        return [x for c in t.values() for x in ref_leaves(c)]
    if type(t) is Layer:
        return ref_leaves(t.w) + ref_leaves(t.b)
    if type(t) is Pair:
        return ref_leaves(t.first) + ref_leaves(t.second)
    return [t]


def get_path(t, path):
    for k in path:
        if isinstance(k, SequenceKey):
            t = t[k.idx]
        elif isinstance(k, DictKey):
            t = t[k.key]
        elif isinstance(k, GetAttrKey):
            t = getattr(t, k.name)
        else:
            t = t.tree_flatten()[0][k.key]
    return t


def same(a, b):
    """Structural equality that also checks container types and dataclasses."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, Layer):
        return a.act == b.act and same(a.w, b.w) and same(a.b, b.b)
    if isinstance(a, Pair):
        return same(a.first, b.first) and same(a.second, b.second)
    return a == b


leaf_st = st.one_of(st.integers(), st.text(max_size=3), st.booleans())
keys_st = st.text(alphabet="abcxyz", min_size=1, max_size=3)


def nodes(children):
    return st.one_of(
        st.none(),
        st.tuples(children, children),
        st.lists(children, max_size=4).map(tuple),
        st.lists(children, max_size=4),
        st.dictionaries(keys_st, children, max_size=4),
        st.builds(Point, children, children),
        st.dictionaries(keys_st, children, max_size=3).map(collections.OrderedDict),
        st.builds(Layer, children, children, st.sampled_from(["relu", "tanh"])),
        st.builds(Pair, children, children),
    )


trees = st.recursive(leaf_st, nodes, max_leaves=20)


def sort_dicts(t):
    """What a round trip returns: plain dicts come back with sorted keys."""
    if type(t) is dict:
        return {k: sort_dicts(t[k]) for k in sorted(t)}
    if type(t) in (tuple, list):
        return type(t)(sort_dicts(c) for c in t)
    if type(t) is Point:
        return Point(*map(sort_dicts, t))
    if type(t) is collections.OrderedDict:
        return collections.OrderedDict((k, sort_dicts(v)) for k, v in t.items())
    if type(t) is Layer:
        return Layer(sort_dicts(t.w), sort_dicts(t.b), t.act)
    if type(t) is Pair:
        return Pair(sort_dicts(t.first), sort_dicts(t.second))
    return t


# --------------------------------------------------------------- properties
@given(trees)
def test_round_trip(tree):
    leaves, treedef = tree_flatten(tree)
    assert leaves == ref_leaves(tree)
    assert treedef.num_leaves == len(leaves)
    back = tree_unflatten(treedef, leaves)
    assert same(back, sort_dicts(tree))
    assert tree_structure(back) == treedef
    assert hash(tree_structure(back)) == hash(treedef)
    assert same(treedef.unflatten(iter(leaves)), back)


@given(trees)
def test_structure_ignores_leaf_values(tree):
    treedef = tree_structure(tree)
    replaced = tree_map(lambda x: object(), tree)
    assert tree_structure(replaced) == treedef
    assert hash(tree_structure(replaced)) == hash(treedef)
    assert {treedef: 1}[tree_structure(replaced)] == 1


@given(trees)
def test_paths_locate_leaves(tree):
    pairs, treedef = tree_flatten_with_path(tree)
    assert treedef == tree_structure(tree)
    assert [leaf for _, leaf in pairs] == tree_leaves(tree)
    for path, leaf in pairs:
        assert get_path(tree, path) is leaf


@given(trees)
def test_flatten_up_to_self_and_children(tree):
    leaves, treedef = tree_flatten(tree)
    assert treedef.flatten_up_to(tree) == leaves
    kids = treedef.children()
    assert sum(k.num_leaves for k in kids) == treedef.num_leaves or treedef_is_leaf(treedef)


@given(trees)
def test_tree_map_is_leafwise(tree):
    class Box:  # not registered, so a leaf
        def __init__(self, v):
            self.v = v
    out = tree_map(Box, tree)
    assert tree_structure(out) == tree_structure(tree)
    assert [b.v for b in tree_leaves(out)] == tree_leaves(tree)
    assert same(tree_map(lambda a, b: a, tree, tree), sort_dicts(tree))


# --------------------------------------------------------------- examples
def test_flat_tuple_fast_path_agrees_with_general_path():
    a, b = np.ones(3), np.zeros(2)
    leaves, td = tree_flatten((a, b, 1.0))
    assert leaves[0] is a and leaves[1] is b and len(leaves) == 3
    assert td == treedef_tuple([tree_structure(a)] * 3)
    assert hash(td) == hash(treedef_tuple([tree_structure(a)] * 3))
    assert tree_unflatten(td, [1, 2, 3]) == (1, 2, 3)
    assert tree_flatten(()) == ([], tree_structure(()))
    assert tree_unflatten(tree_structure(((a,), {})), [5]) == ((5,), {})


def test_repr():
    assert (repr(tree_structure((1, {"a": 1, "b": [1, 2]})))
            == "PyTreeDef((*, {'a': *, 'b': [*, *]}))")
    assert repr(tree_structure((1,))) == "PyTreeDef((*,))"
    assert repr(tree_structure(None)) == "PyTreeDef(None)"
    assert repr(tree_structure(np.ones(2))) == "PyTreeDef(*)"
    assert repr(tree_structure(Point(1, 2))) == "PyTreeDef(CustomNode(namedtuple[Point], [*, *]))"
    assert repr(tree_structure(Layer(1, 2))) == "PyTreeDef(CustomNode(Layer[('relu',)], [*, *]))"


def test_structure_equality_distinguishes_node_types():
    s = tree_structure
    assert s((1, 2)) == s(("a", np.ones(3)))
    assert s((1, 2)) != s([1, 2])
    assert s((1, 2)) != s(Point(1, 2))
    assert s({"a": 1}) != s({"b": 1})
    assert s({"a": 1}) != s(collections.OrderedDict(a=1))
    assert s((None,)) != s((1,))
    assert s(Layer(1, 2, "relu")) != s(Layer(1, 2, "tanh"))
    assert s((1, 2)) != (1, 2) and s((1, 2)) != "x"
    assert len({s((1, [2])), s((3, [4])), s((1, (2,)))}) == 2


def test_dict_sorted_keys():
    leaves, td = tree_flatten({"b": 1, "a": 2, "c": {"z": 3, "y": 4}})
    assert leaves == [2, 1, 4, 3]
    assert td == tree_structure({"a": 0, "c": {"y": 0, "z": 0}, "b": 0})
    back = tree_unflatten(td, leaves)
    assert list(back) == ["a", "b", "c"] and list(back["c"]) == ["y", "z"]
    # unsortable keys keep insertion order
    leaves, td = tree_flatten({1: "one", "a": "A"})
    assert leaves == ["one", "A"] and tree_unflatten(td, [1, 2]) == {1: 1, "a": 2}


def test_ordered_and_default_dict():
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    leaves, td = tree_flatten(od)
    assert leaves == [1, 2]
    back = tree_unflatten(td, [3, 4])
    assert type(back) is collections.OrderedDict and list(back.items()) == [("b", 3), ("a", 4)]
    dd = collections.defaultdict(list, {"b": 1, "a": 2})
    leaves, td = tree_flatten(dd)
    assert leaves == [2, 1]
    back = tree_unflatten(td, [5, 6])
    assert type(back) is collections.defaultdict and back.default_factory is list
    assert dict(back) == {"a": 5, "b": 6}
    assert td != tree_structure(collections.defaultdict(dict, {"b": 1, "a": 2}))


def test_none_is_a_node_without_children():
    assert tree_leaves([None, 1, (None, 2)]) == [1, 2]
    leaves, td = tree_flatten(None)
    assert leaves == [] and td.num_leaves == 0 and tree_unflatten(td, []) is None
    assert tree_map(lambda x: x + 1, {"a": None, "b": 1}) == {"a": None, "b": 2}
    assert tree_leaves([None, 1], is_leaf=lambda x: x is None) == [None, 1]
    assert tree_map(lambda x: 0 if x is None else x, [None, 1],
                    is_leaf=lambda x: x is None) == [0, 1]


def test_what_is_a_leaf():
    class MyList(list):
        pass

    class MyDict(dict):
        pass

    arr, s = np.arange(3), np.float32(2.0)
    assert tree_leaves([arr, s, "str", b"b", 3j, MyList([1, 2]), MyDict(a=1)]) == [
        arr, s, "str", b"b", 3j, MyList([1, 2]), MyDict(a=1)]

    class P3(Point):  # namedtuple subclasses are still namedtuples
        pass
    assert tree_leaves(P3(1, (2, 3))) == [1, 2, 3]


def test_registration_after_type_was_seen_as_leaf():
    class Late:
        def __init__(self, v):
            self.v = v
    assert len(tree_leaves([Late(1)])) == 1 and type(tree_leaves([Late(1)])[0]) is Late
    register_pytree_node(Late, lambda x: ((x.v,), None), lambda aux, ch: Late(*ch))
    assert tree_leaves([Late(1), (Late(2),)]) == [1, 2]
    with pytest.raises(ValueError, match="Duplicate"):
        register_pytree_node(Late, lambda x: ((), None), lambda aux, ch: Late(0))


def test_namedtuple():
    leaves, td = tree_flatten(Point(1, Point(2, 3)))
    assert leaves == [1, 2, 3]
    back = tree_unflatten(td, [4, 5, 6])
    assert back == Point(4, Point(5, 6)) and type(back.y) is Point
    assert keystr(tree_flatten_with_path(Point(1, 2))[0][1][0]) == ".y"


def test_dataclass_registration():
    layer = Layer(np.ones(2), 3.0, "tanh")
    leaves, td = tree_flatten(layer)
    assert leaves[1] == 3.0 and td.node_data() == (Layer, ("tanh",))
    back = tree_unflatten(td, [1, 2])
    assert type(back) is Layer and (back.w, back.b, back.act) == (1, 2, "tanh")
    assert [keystr(p) for p, _ in tree_flatten_with_path(layer)[0]] == [".w", ".b"]

    @register_dataclass
    @dataclasses.dataclass(frozen=True)
    class Frozen:
        a: Any
        n: int = dataclasses.field(default=0, metadata={"static": True})

        def __post_init__(self):
            assert not isinstance(self.a, str), "unflatten must bypass __post_init__"
    out = tree_map(str, Frozen(1, 5))
    assert out.a == "1" and out.n == 5

    class Plain:
        pass
    register_dataclass(Plain, data_fields=["x"], meta_fields=["tag"])
    p = Plain()
    p.x, p.tag = [1, 2], "t"
    q = tree_map(lambda v: v * 10, p)
    assert q.x == [10, 20] and q.tag == "t"

    with pytest.raises(TypeError, match="not a dataclass"):
        register_dataclass(type("NotDC", (), {}))

    @dataclasses.dataclass
    class Explicit:
        a: Any
        b: Any
    register_dataclass(Explicit, data_fields=["a"])  # the rest are meta
    assert tree_flatten(Explicit(1, "m"))[0] == [1]
    assert tree_unflatten(tree_structure(Explicit(1, "m")), [7]).b == "m"


def test_register_pytree_node_class_and_keys():
    leaves, td = tree_flatten(Pair(1, [2, 3]))
    assert leaves == [1, 2, 3] and tree_unflatten(td, [4, 5, 6]) == Pair(4, [5, 6])
    paths = [keystr(p) for p, _ in tree_flatten_with_path(Pair(1, [2, 3]))[0]]
    assert paths == ["[0]", "[1][0]", "[1][1]"]
    assert isinstance(tree_flatten_with_path(Pair(1, 2))[0][0][0][0], FlattenedIndexKey)


def test_register_with_keys():
    class Named:
        def __init__(self, **kw):
            self.kw = kw
    tree_util.register_pytree_with_keys(
        Named, lambda n: ([(GetAttrKey(k), v) for k, v in sorted(n.kw.items())],
                          tuple(sorted(n.kw))),
        lambda keys, vals: Named(**dict(zip(keys, vals))))
    pairs, td = tree_flatten_with_path({"m": Named(b=1, a=2)})
    assert [(keystr(p), v) for p, v in pairs] == [("['m'].a", 2), ("['m'].b", 1)]
    assert tree_unflatten(td, [5, 6])["m"].kw == {"a": 5, "b": 6}


def test_unhashable_aux_data():
    class Bad:
        def __init__(self, v, meta):
            self.v, self.meta = v, meta
    register_pytree_node(Bad, lambda b: ((b.v,), b.meta), lambda meta, ch: Bad(ch[0], meta))
    td = tree_structure((1, Bad(1, [1, 2])))
    assert td == tree_structure((2, Bad(2, [1, 2])))
    with pytest.raises(TypeError, match=r"aux_data \[1, 2\] of node type Bad is not hashable"):
        hash(td)


def test_is_leaf():
    tree = {"a": (1, 2), "b": [3, (4, 5)]}
    leaves, td = tree_flatten(tree, is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [(1, 2), 3, (4, 5)]
    assert tree_unflatten(td, leaves) == tree
    assert tree_leaves(tree, is_leaf=lambda x: x is tree) == [tree]
    pairs, _ = tree_flatten_with_path(tree, is_leaf=lambda x: isinstance(x, tuple))
    assert [keystr(p) for p, _ in pairs] == ["['a']", "['b'][0]", "['b'][1]"]


def test_tree_map_several_trees_and_prefixes():
    assert tree_map(operator.add, (1, [2]), (10, [20])) == (11, [22])
    assert tree_map(lambda x, y, z: x + y + z, {"a": 1}, {"a": 2}, {"a": 3}) == {"a": 6}
    # rest may have deeper subtrees where the first tree has leaves
    out = tree_map(lambda x, sub: (x, sub), (1, 2), ([3, 4], {"a": 5}))
    assert out == ((1, [3, 4]), (2, {"a": 5}))
    with_path = tree_map_with_path(lambda p, x, y: keystr(p) + str(x + y), [1, {"w": 2}],
                                   [10, {"w": 20}])
    assert with_path == ["[0]11", {"w": "[1]['w']22"}]


def test_tree_map_mismatch_error():
    with pytest.raises(ValueError) as e:
        tree_map(operator.add, (1, {"w": 2, "b": 3}), (1, {"w": 2}))
    msg = str(e.value)
    assert "[1]" in msg and "dict with keys ['b', 'w']" in msg and "['w']" in msg
    assert "PyTreeDef((*, {'b': *, 'w': *}))" in msg and "PyTreeDef((*, {'w': *}))" in msg
    with pytest.raises(ValueError, match=r"at \[0\]: expected a tuple of length 2, got a list"):
        tree_map(lambda *a: a, [(1, 2)], [[1, 2]])
    with pytest.raises(ValueError, match="got a leaf of type int"):
        tree_map(lambda *a: a, (1, [2]), (1, 2))
    with pytest.raises(ValueError, match="expected None"):
        tree_map(lambda *a: a, [None], [1])


def test_flatten_up_to():
    td = tree_structure((0, {"w": 0, "b": 0}))
    assert td.flatten_up_to((1, {"w": [2, 3], "b": (4,)})) == [1, (4,), [2, 3]]
    assert tree_structure(0).flatten_up_to({"any": [1]}) == [{"any": [1]}]
    assert tree_structure((0, 0)).flatten_up_to(([1], None)) == [[1], None]
    with pytest.raises(ValueError, match=r"at \[1\]: expected a dict with keys \['b', 'w'\], "
                                         r"got a dict with keys \['w'\]"):
        td.flatten_up_to((1, {"w": 2}))
    with pytest.raises(ValueError, match="at the root: expected a tuple of length 2"):
        td.flatten_up_to((1, 2, 3))
    nested = tree_structure({"p": [Layer(0, 0)]})
    with pytest.raises(ValueError, match=r"at \['p'\]\[0\]\.b: expected a tuple"):
        tree_structure({"p": [Layer(0, (0, 0))]}).flatten_up_to({"p": [Layer(1, 2)]})
    with pytest.raises(ValueError, match="aux_data"):
        nested.flatten_up_to({"p": [Layer(1, 2, "tanh")]})


def test_keystr():
    path = (SequenceKey(1), DictKey("w"), GetAttrKey("attr"), FlattenedIndexKey(2))
    assert keystr(path) == "[1]['w'].attr[2]"
    assert keystr(path, simple=True, separator="/") == "1/w/attr/2"
    assert keystr(()) == ""
    pairs, _ = tree_flatten_with_path(((1, 2), {"x": 3, "w": [4]}))
    assert [keystr(p) for p, _ in pairs] == ["[0][0]", "[0][1]", "[1]['w'][0]", "[1]['x']"]
    assert SequenceKey(1) == SequenceKey(1) and hash(DictKey("a")) == hash(DictKey("a"))


def test_unflatten_wrong_number_of_leaves():
    td = tree_structure((1, [2, 3]))
    with pytest.raises(ValueError, match="expected 3, got 2"):
        tree_unflatten(td, [1, 2])
    with pytest.raises(ValueError, match="expected 3, got 4"):
        td.unflatten([1, 2, 3, 4])
    with pytest.raises(ValueError, match="expected 1, got 0"):
        tree_unflatten(tree_structure(1), [])


def test_reduce_all_transpose_children():
    assert tree_reduce(operator.add, [1, (2, 3)]) == 6
    assert tree_reduce(operator.add, [], 10) == 10
    with pytest.raises(TypeError):
        tree_reduce(operator.add, [])
    assert tree_all((True, [1, None])) and not tree_all((True, [0]))
    out = tree_transpose(tree_structure([0, 0]), tree_structure((0, 0)), [(1, 2), (3, 4)])
    assert out == ([1, 3], [2, 4])
    td = tree_structure((1, [2, 3], None))
    assert treedef_children(td) == [tree_structure(1), tree_structure([2, 3]), tree_structure(None)]
    assert [c.num_leaves for c in td.children()] == [1, 2, 0]
    assert td.num_nodes == 6 and treedef_is_leaf(tree_structure(1))
    assert isinstance(td, PyTreeDef)


def test_custom_node_with_generator_children():
    class Gen:
        def __init__(self, *vals):
            self.vals = vals
    register_pytree_node(Gen, lambda g: ((v for v in g.vals), len(g.vals)),
                         lambda n, ch: Gen(*ch))
    tree = {"g": Gen(1, (2, 3))}
    leaves, td = tree_flatten(tree)
    assert leaves == [1, 2, 3] and tree_unflatten(td, [4, 5, 6])["g"].vals == (4, (5, 6))
    assert [keystr(p) for p, _ in tree_flatten_with_path(tree)[0]] == [
        "['g'][0]", "['g'][1][0]", "['g'][1][1]"]
    assert tree_structure({"g": Gen(0, 0)}).flatten_up_to(tree) == [1, (2, 3)]
    assert tree_leaves(tree, is_leaf=lambda x: isinstance(x, tuple)) == [1, (2, 3)]
    with pytest.raises(ValueError, match=r"at \['g'\]: expected a Gen node with 3 children"):
        tree_structure({"g": Gen(0, 0, 0)}).flatten_up_to(tree)
    assert tree_transpose(tree_structure([0, 0]), None, [(1, 2), (3, 4)]) == ([1, 3], [2, 4])
