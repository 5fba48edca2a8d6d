"""Pytrees: nested containers of leaves, with JAX's names and semantics.

Nodes are tuple, list, dict (flattened in sorted-key order, rebuilt with
sorted keys), None (no children), namedtuples (tuple subclasses with
``_fields``), OrderedDict, defaultdict and registered classes, matched by
exact type; anything else is a leaf. Flatten is on the hot path of every
jitted call: builtin nodes are handled inline, leaf children are appended
without a call per leaf, and a flat tuple of leaves gets a cached treedef.

>>> leaves, treedef = tree_flatten((1, {'b': [2, 3], 'a': None}))
>>> leaves, treedef
([1, 2, 3], PyTreeDef((*, {'a': None, 'b': [*, *]})))
>>> tree_unflatten(treedef, [4, 5, 6])
(4, {'a': None, 'b': [5, 6]})
"""
import collections
import dataclasses
import functools
from collections.abc import Hashable
from itertools import islice

__all__ = [
    "DictKey", "FlattenedIndexKey", "GetAttrKey", "PyTreeDef", "SequenceKey", "keystr",
    "register_dataclass", "register_pytree_node", "register_pytree_node_class",
    "register_pytree_with_keys", "tree_all", "tree_flatten", "tree_flatten_with_path",
    "tree_leaves", "tree_leaves_with_path", "tree_map", "tree_map_with_path", "tree_reduce",
    "tree_structure", "tree_transpose", "tree_unflatten", "treedef_children",
    "treedef_is_leaf", "treedef_tuple",
]

_TUPLE, _LIST, _DICT, _NONE, _NAMEDTUPLE, _CUSTOM = range(6)
_MISSING = object()
_NO_INIT = object()


# ------------------------------------------------------------------ keys
@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """Path entry for a tuple/list child: ``str(SequenceKey(1)) == '[1]'``."""
    idx: int
    def __str__(self):
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True)
class DictKey:
    """Path entry for a dict child: ``str(DictKey('w')) == "['w']"``."""
    key: Hashable
    def __str__(self):
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """Path entry for an attribute (namedtuple/dataclass field): ``'.name'``."""
    name: str
    def __str__(self):
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """Path entry for the i-th child of a registered node without keys: ``'[i]'``."""
    key: int
    def __str__(self):
        return f"[{self.key!r}]"


def keystr(keys, *, simple=False, separator=""):
    """Format a key path.

    >>> keystr((SequenceKey(1), DictKey('w'), GetAttrKey('b')))
    "[1]['w'].b"
    >>> keystr((SequenceKey(1), DictKey('w')), simple=True, separator='/')
    '1/w'
    """
    if simple:
        return separator.join(str(getattr(k, "idx", getattr(k, "key", getattr(k, "name", k))))
                              for k in keys)
    return separator.join(str(k) for k in keys)


# ------------------------------------------------------------------ registry
class _NodeType:
    __slots__ = ("flatten", "flatten_with_keys", "kind", "name", "type", "unflatten")

    def __init__(self, type_, kind, flatten, unflatten=None, flatten_with_keys=None):
        self.type, self.kind, self.name = type_, kind, type_.__name__
        self.flatten, self.unflatten = flatten, unflatten
        self.flatten_with_keys = flatten_with_keys

    def __repr__(self):
        return f"<pytree node type {self.name}>"


def _sorted_keys(d):
    try:
        return tuple(sorted(d))
    except TypeError:  # unorderable keys: keep insertion order
        return tuple(d)


def _flatten_dict(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], keys


def _as_is(x):
    return x, None


_registry = {}        # exact type -> _NodeType (builtins + registered)
_kinds = {}           # cache: exact type -> _NodeType, or None for a leaf type
_kinds_get = _kinds.get
_leaf_types = set()   # cache: types seen to be leaves (a set test is the cheapest check)


def _classify(t):
    h = _registry.get(t)
    if h is None and issubclass(t, tuple) and hasattr(t, "_fields"):
        h = _NodeType(t, _NAMEDTUPLE, _as_is)
    _kinds[t] = h
    if h is None:
        _leaf_types.add(t)
    return h


def _lookup(x):
    h = _kinds_get(type(x), _MISSING)
    return _classify(type(x)) if h is _MISSING else h


def register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys_func=None):
    """Register ``nodetype`` (exact type) as a pytree node: ``flatten_func(x)
    -> (children, aux_data)``, ``unflatten_func(aux_data, children) -> x``,
    optional ``flatten_with_keys_func(x) -> (((key, child), ...), aux_data)``.
    ``aux_data`` is part of the treedef (so of jit cache keys): it must be
    hashable and comparable with ==.

    >>> class Box:
    ...     def __init__(self, v): self.v = v
    >>> register_pytree_node(Box, lambda b: ((b.v,), None), lambda _, c: Box(*c))
    >>> tree_leaves([Box(1), Box(2)])
    [1, 2]
    """
    if nodetype in _registry:
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype}.")
    _registry[nodetype] = _NodeType(nodetype, _CUSTOM, flatten_func, unflatten_func,
                                    flatten_with_keys_func)
    _kinds.pop(nodetype, None)
    _leaf_types.discard(nodetype)


def register_pytree_with_keys(nodetype, flatten_with_keys, unflatten_func, flatten_func=None):
    """Like register_pytree_node, but ``flatten_with_keys(x)`` returns
    ``(((key, child), ...), aux_data)`` so that paths name the children."""
    if flatten_func is None:
        def flatten_func(x):
            kc, aux = flatten_with_keys(x)
            return [c for _, c in kc], aux
    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_node_class(cls):
    """Class decorator: register ``cls`` with its ``tree_flatten`` method and
    ``tree_unflatten(aux_data, children)`` classmethod.

    >>> @register_pytree_node_class
    ... class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    ...     def tree_flatten(self): return (self.a, self.b), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux, children): return cls(*children)
    >>> tree_leaves(Pair(1, (2, 3)))
    [1, 2, 3]
    """
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_dataclass(nodetype=None, data_fields=None, meta_fields=None, drop_fields=()):
    """Register a class with ``data_fields`` as children and ``meta_fields``
    as static aux data; usable as a decorator. If both are omitted, dataclass
    fields with ``metadata={'static': True}`` are meta, the rest data; if one
    is omitted, it is every remaining field. Unflatten sets the fields
    directly, bypassing ``__init__``/``__post_init__`` (frozen classes work).

    >>> @register_dataclass
    ... @dataclasses.dataclass
    ... class Layer:
    ...     w: object
    ...     act: str = dataclasses.field(default="relu", metadata=dict(static=True))
    >>> tree_flatten(Layer(1.0))
    ([1.0], PyTreeDef(CustomNode(Layer[('relu',)], [*])))
    """
    if nodetype is None:
        return functools.partial(register_dataclass, data_fields=data_fields,
                                 meta_fields=meta_fields, drop_fields=drop_fields)
    if data_fields is None or meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"register_dataclass: {nodetype.__name__} is not a dataclass; "
                            "pass both data_fields and meta_fields.")
        given = set(data_fields or ()) | set(meta_fields or ()) | set(drop_fields)
        rest = [f for f in dataclasses.fields(nodetype) if f.name not in given]
        if data_fields is None and meta_fields is None:
            data_fields = [f.name for f in rest if not f.metadata.get("static", False)]
            meta_fields = [f.name for f in rest if f.metadata.get("static", False)]
        elif data_fields is None:
            data_fields = [f.name for f in rest]
        else:
            meta_fields = [f.name for f in rest]
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)
    keys = tuple(GetAttrKey(n) for n in data_fields)
    new, setattr_ = object.__new__, object.__setattr__

    def flatten(x):
        return [getattr(x, n) for n in data_fields], tuple([getattr(x, n) for n in meta_fields])

    def flatten_with_keys(x):
        children, aux = flatten(x)
        return list(zip(keys, children)), aux

    def unflatten(aux, children):
        obj = new(nodetype)
        for n, v in zip(data_fields, children):
            setattr_(obj, n, v)
        for n, v in zip(meta_fields, aux):
            setattr_(obj, n, v)
        return obj

    register_pytree_node(nodetype, flatten, unflatten, flatten_with_keys)
    return nodetype


for _t, _k, _f in ((tuple, _TUPLE, _as_is), (list, _LIST, _as_is),
                   (dict, _DICT, _flatten_dict), (type(None), _NONE, lambda x: ((), None))):
    _registry[_t] = _NodeType(_t, _k, _f)
del _t, _k, _f
_TUPLE_H, _LIST_H, _DICT_H, _NONE_H = (_registry[t] for t in (tuple, list, dict, type(None)))
_NONE_ENC, _EMPTY_DICT_ENC = (_NONE_H, None, ()), (_DICT_H, (), ())
register_pytree_with_keys(
    collections.OrderedDict,
    lambda d: ([(DictKey(k), v) for k, v in d.items()], tuple(d)),
    lambda keys, vals: collections.OrderedDict(zip(keys, vals)),
    lambda d: (list(d.values()), tuple(d)))
register_pytree_with_keys(
    collections.defaultdict,
    lambda d: ([(DictKey(k), d[k]) for k in _sorted_keys(d)], (d.default_factory, _sorted_keys(d))),
    lambda aux, vals: collections.defaultdict(aux[0], zip(aux[1], vals)),
    lambda d: ([d[k] for k in _sorted_keys(d)], (d.default_factory, _sorted_keys(d))))


def _node_keys(h, x):
    """One level of flattening with keys: ``(keys, children, aux)``."""
    if h.flatten_with_keys is not None:
        kc, aux = h.flatten_with_keys(x)
        return [k for k, _ in kc], [c for _, c in kc], aux
    children, aux = h.flatten(x)
    children = list(children)
    n, k = len(children), h.kind
    if k == _DICT:
        keys = [DictKey(a) for a in aux]
    elif k == _NAMEDTUPLE:
        keys = [GetAttrKey(f) for f in h.type._fields]
    else:
        keys = [(SequenceKey if k <= _LIST else FlattenedIndexKey)(i) for i in range(n)]
    return keys, children, aux


# ------------------------------------------------------------------ treedef
# A structure is encoded as nested plain tuples: a leaf is ``None`` and a node
# is ``(node_type, aux_data, child_encodings)``, so hash and == run in C.
class PyTreeDef:
    """The structure of a pytree: hashable (cheaply), comparable with ==.

    >>> tree_structure((1, [2, 3])) == tree_structure(('a', ['b', 'c']))
    True
    >>> tree_structure((1, [2, 3])).num_leaves
    3
    """
    __slots__ = ("_enc", "num_leaves")

    def __init__(self, enc, num_leaves):
        self._enc, self.num_leaves = enc, num_leaves

    def __eq__(self, other):
        if self is other:
            return True
        if type(other) is not PyTreeDef:
            return NotImplemented
        return self._enc == other._enc

    def __hash__(self):
        try:
            return hash(self._enc)
        except TypeError as e:
            h, aux = _find_unhashable(self._enc)
            raise TypeError(f"PyTreeDef is unhashable: aux_data {aux!r} of node type "
                            f"{h.name} is not hashable ({e}).") from None

    def __repr__(self):
        return f"PyTreeDef({_repr(self._enc)})"

    @property
    def num_nodes(self):
        """Number of nodes, leaves included (as in JAX)."""
        return _count(self._enc, 1)

    def unflatten(self, leaves):
        """Build a tree of this structure from ``leaves`` (see tree_unflatten)."""
        if type(leaves) is not list and type(leaves) is not tuple:
            leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"Too {'few' if len(leaves) < self.num_leaves else 'many'} leaves "
                             f"for {self}: expected {self.num_leaves}, got {len(leaves)}.")
        enc = self._enc
        if enc is None:
            return leaves[0]
        if enc[0] is _TUPLE_H and not any(enc[2]):
            return tuple(leaves)
        return _build(enc, iter(leaves))

    def flatten_up_to(self, tree):
        """Flatten ``tree`` only down to this treedef's leaves, each of which
        yields a whole subtree of ``tree`` (e.g. vmap's in_axes prefixes).
        Raises ValueError naming the path where ``tree`` differs.

        >>> tree_structure((0, 0)).flatten_up_to(([1, 2], {'a': 3}))
        [[1, 2], {'a': 3}]
        """
        enc = self._enc
        if enc is None:
            return [tree]
        out = []
        _up_to(enc, tree, out, [])
        return out

    def children(self):
        """The treedefs of the root node's children."""
        return [] if self._enc is None else [PyTreeDef(c, _count(c, 0)) for c in self._enc[2]]

    def node_data(self):
        """``(node_type, aux_data)`` of the root node, or None for a leaf."""
        return None if self._enc is None else (self._enc[0].type, self._enc[1])


def _count(enc, per_node):
    return 1 if enc is None else per_node + sum(_count(c, per_node) for c in enc[2])


def _find_unhashable(enc):
    try:
        hash(enc[1])
    except TypeError:
        return enc[0], enc[1]
    for c in enc[2]:
        try:
            hash(c)
        except TypeError:
            return _find_unhashable(c)
    return enc[0], enc[1]


def _repr(enc):
    if enc is None:
        return "*"
    h, aux, chs = enc
    parts = ", ".join(_repr(c) for c in chs)
    k = h.kind
    if k == _TUPLE:
        return f"({parts},)" if len(chs) == 1 else f"({parts})"
    if k == _LIST:
        return f"[{parts}]"
    if k == _DICT:
        return "{" + ", ".join(f"{key!r}: {_repr(c)}" for key, c in zip(aux, chs)) + "}"
    if k == _NONE:
        return "None"
    node = f"namedtuple[{h.name}]" if k == _NAMEDTUPLE else f"{h.name}[{aux!r}]"
    return f"CustomNode({node}, [{parts}])"


def _build(enc, it):
    h, aux, chs = enc
    if any(chs):  # some children are nodes (a node's encoding is a non-empty tuple)
        children = []
        for c in chs:
            children.append(next(it) if c is None else _build(c, it))
    elif h is _TUPLE_H:
        return tuple(islice(it, len(chs)))
    elif h is _DICT_H:
        return dict(zip(aux, islice(it, len(chs)))) if chs else {}
    elif h is _NONE_H:
        return None
    else:
        children = list(islice(it, len(chs)))
    if h is _TUPLE_H:
        return tuple(children)
    if h is _LIST_H:
        return children
    if h is _DICT_H:
        return dict(zip(aux, children))
    if h.kind == _NAMEDTUPLE:
        return h.type(*children)
    return h.unflatten(aux, children)


def _describe(h, aux, n):
    k = h.kind
    if k <= _LIST:
        return f"a {h.name} of length {n}"
    if k == _DICT:
        return f"a dict with keys {list(aux)}"
    if k == _NONE:
        return "None"
    if k == _NAMEDTUPLE:
        return f"a namedtuple {h.name}"
    return f"a {h.name} node with {n} children and aux_data {aux!r}"


def _up_to(enc, x, out, path):
    h, aux, chs = enc
    if h is _TUPLE_H and type(x) is tuple and len(x) == len(chs) and not any(chs):
        out.extend(x)
        return
    hx = _lookup(x)
    if hx is not h:
        _mismatch(path, enc, x, f"a leaf of type {type(x).__name__}" if hx is None else None)
    if h is _NONE_H:
        return
    children, xaux = h.flatten(x)
    if type(children) is not list and type(children) is not tuple:
        children = list(children)
    if len(children) != len(chs) or (xaux is not aux and xaux != aux):
        _mismatch(path, enc, x, None)
    for i, (c, ce) in enumerate(zip(children, chs)):
        if ce is None:
            out.append(c)
        else:
            path.append((h, x, i))
            _up_to(ce, c, out, path)
            path.pop()


def _mismatch(path, enc, x, got):
    if got is None:
        hx = _lookup(x)
        children, xaux = hx.flatten(x)
        got = _describe(hx, xaux, len(list(children)))
    where = keystr([_node_keys(h, node)[0][i] for h, node, i in path]) or "the root"
    raise ValueError(f"pytree structure mismatch at {where}: expected "
                     f"{_describe(enc[0], enc[1], len(enc[2]))}, got {got}.")


# ------------------------------------------------------------------ flatten
def _walk(x, leaves):
    """Append the leaves of ``x`` to ``leaves``; return the encoding of ``x``."""
    t = type(x)
    if t is tuple:
        h, aux, children = _TUPLE_H, None, x
    elif t is dict:
        if not x:
            return _EMPTY_DICT_ENC
        aux = _sorted_keys(x)
        h, children = _DICT_H, [x[k] for k in aux]
    elif t is list:
        h, aux, children = _LIST_H, None, x
    elif x is None:
        return _NONE_ENC
    else:
        h = _kinds_get(t, _MISSING)
        if h is _MISSING:
            h = _classify(t)
        if h is None:
            leaves.append(x)
            return None
        children, aux = (x, None) if h.kind == _NAMEDTUPLE else h.flatten(x)
    sub = []
    for c in children:  # leaf children are handled inline: no call per leaf
        if type(c) in _leaf_types:
            leaves.append(c)
            sub.append(None)
        else:
            sub.append(_walk(c, leaves))
    return (h, aux, tuple(sub))


def _walk_slow(x, leaves, is_leaf, path, paths):
    """Flatten with an ``is_leaf`` predicate and/or collecting key paths."""
    h = None if is_leaf is not None and is_leaf(x) else _lookup(x)
    if h is None:
        leaves.append(x)
        if paths is not None:
            paths.append(path)
        return None
    if h is _NONE_H:
        return _NONE_ENC
    if paths is None:
        children, aux = h.flatten(x)
        return (h, aux, tuple([_walk_slow(c, leaves, is_leaf, None, None) for c in children]))
    keys, children, aux = _node_keys(h, x)
    return (h, aux, tuple([_walk_slow(c, leaves, is_leaf, path + (key,), paths)
                           for key, c in zip(keys, children)]))


_LEAF_DEF = PyTreeDef(None, 1)
_flat_defs = {}  # n -> treedef of a tuple of n leaves


def _flat_tuple_def(n):
    td = _flat_defs.get(n)
    if td is None:
        td = _flat_defs[n] = PyTreeDef((_TUPLE_H, None, (None,) * n), n)
    return td


def tree_flatten(tree, is_leaf=None):
    """Flatten ``tree`` into ``(leaves, treedef)``. ``is_leaf(x) -> bool``
    (optional) is called on every subtree; if True, that subtree is a leaf.

    >>> tree_flatten([1, (2, None), {'x': 3}])
    ([1, 2, 3], PyTreeDef([*, (*, None), {'x': *}]))
    >>> tree_flatten([1, (2, None)], is_leaf=lambda x: isinstance(x, tuple))
    ([1, (2, None)], PyTreeDef([*, *]))
    """
    if is_leaf is None:
        if type(tree) is tuple:  # fast path: a tuple of leaves (jit's args)
            for x in tree:
                if type(x) not in _leaf_types:
                    break
            else:
                return list(tree), _flat_tuple_def(len(tree))
        leaves = []
        enc = _walk(tree, leaves)
    else:
        leaves = []
        enc = _walk_slow(tree, leaves, is_leaf, None, None)
    return leaves, (_LEAF_DEF if enc is None else PyTreeDef(enc, len(leaves)))


def tree_unflatten(treedef, leaves):
    """Build a tree from a treedef and its leaves; inverse of tree_flatten.

    >>> tree_unflatten(tree_structure((0, [0])), ['a', 'b'])
    ('a', ['b'])
    """
    return treedef.unflatten(leaves)


def tree_leaves(tree, is_leaf=None):
    """The leaves of ``tree``: ``tree_leaves((1, [2, None])) == [1, 2]``."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    """The treedef of ``tree``: ``tree_structure((1, 2))`` is ``PyTreeDef((*, *))``."""
    return tree_flatten(tree, is_leaf)[1]


def tree_flatten_with_path(tree, is_leaf=None):
    """Flatten to ``([(path, leaf), ...], treedef)``; a path is a tuple of keys.

    >>> pairs, _ = tree_flatten_with_path((1, {'w': 2}))
    >>> [(keystr(p), v) for p, v in pairs]
    [('[0]', 1), ("[1]['w']", 2)]
    """
    leaves, paths = [], []
    enc = _walk_slow(tree, leaves, is_leaf, (), paths)
    return list(zip(paths, leaves)), _LEAF_DEF if enc is None else PyTreeDef(enc, len(leaves))


def tree_leaves_with_path(tree, is_leaf=None):
    """``[(path, leaf), ...]`` of ``tree`` (see tree_flatten_with_path)."""
    return tree_flatten_with_path(tree, is_leaf)[0]


def _up_to_rest(treedef, rest, fname):
    out = []
    for i, r in enumerate(rest):
        try:
            out.append(treedef.flatten_up_to(r))
        except ValueError as e:
            raise ValueError(f"{fname}: rest[{i}] does not have the structure of the first "
                             f"tree: {e}\n  first tree: {treedef}\n  rest[{i}]:    "
                             f"{tree_structure(r)}") from None
    return out


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f(leaf, *others)`` at each leaf of ``tree``. Each tree in
    ``rest`` must have ``tree``'s structure, possibly with deeper subtrees
    where ``tree`` has leaves (those subtrees are passed to ``f`` whole).

    >>> tree_map(lambda x, y: x + y, (1, [2]), (10, [20]))
    (11, [22])
    >>> tree_map(lambda x, y: (x, y), (1, 2), ([3, 4], None))
    ((1, [3, 4]), (2, None))
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    others = _up_to_rest(treedef, rest, "tree_map")
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])


def tree_map_with_path(f, tree, *rest, is_leaf=None):
    """Like tree_map, but calls ``f(path, leaf, *others)``.

    >>> tree_map_with_path(lambda p, x: keystr(p), {'a': [0]})
    {'a': ["['a'][0]"]}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = _up_to_rest(treedef, rest, "tree_map_with_path")
    return treedef.unflatten([f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)])


def tree_all(tree, *, is_leaf=None):
    """True if every leaf is truthy: ``tree_all((True, [1]))`` is True."""
    return all(tree_leaves(tree, is_leaf))


def tree_reduce(function, tree, initializer=_NO_INIT, is_leaf=None):
    """``functools.reduce`` over the leaves.

    >>> import operator
    >>> tree_reduce(operator.add, [1, (2, 3)]), tree_reduce(operator.add, [], 0)
    (6, 0)
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INIT:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose):
    """Turn an outer-of-inner tree into an inner-of-outer tree (``inner_treedef``
    None: taken from the first inner tree).

    >>> tree_transpose(tree_structure([0, 0]), tree_structure((0, 0)), [(1, 2), (3, 4)])
    ([1, 3], [2, 4])
    """
    outer = outer_treedef.flatten_up_to(pytree_to_transpose)
    if inner_treedef is None:
        inner_treedef = tree_structure(outer[0]) if outer else _LEAF_DEF
    inner = [inner_treedef.flatten_up_to(x) for x in outer]
    cols = zip(*inner) if inner else [[]] * inner_treedef.num_leaves
    return inner_treedef.unflatten([outer_treedef.unflatten(list(c)) for c in cols])


def treedef_is_leaf(treedef):
    """True if ``treedef`` is the structure of a single leaf."""
    return treedef._enc is None


def treedef_children(treedef):
    """The treedefs of the root node's children."""
    return treedef.children()


def treedef_tuple(treedefs):
    """The treedef of a tuple whose children have the given treedefs.

    >>> treedef_tuple([tree_structure(0), tree_structure([0, 0])])
    PyTreeDef((*, [*, *]))
    """
    treedefs = tuple(treedefs)
    return PyTreeDef((_TUPLE_H, None, tuple(t._enc for t in treedefs)),
                     sum(t.num_leaves for t in treedefs))
