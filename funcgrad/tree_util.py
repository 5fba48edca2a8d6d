"""Pytrees: nested containers of leaves, with JAX's names and semantics.

A pytree is a leaf or a node (tuple, list, dict, None, namedtuple,
OrderedDict, defaultdict or a registered class) whose children are pytrees.
Everything that is not a node (arrays, scalars, any object) is a leaf; None
is a node with no children. Dicts flatten in sorted-key order and unflatten
to a dict with sorted keys.

>>> leaves, treedef = tree_flatten((1, {'b': [2, 3], 'a': None}))
>>> leaves
[1, 2, 3]
>>> treedef
PyTreeDef((*, {'a': None, 'b': [*, *]}))
>>> tree_unflatten(treedef, [4, 5, 6])
(4, {'a': None, 'b': [5, 6]})

Flatten is on the hot path of every jitted call, so the common containers
are handled inline and leaves are collected without a call per leaf.
"""
import collections
import dataclasses
import functools
from typing import Any, Hashable

__all__ = [
    "PyTreeDef", "tree_flatten", "tree_unflatten", "tree_leaves",
    "tree_structure", "tree_map", "tree_all", "tree_reduce", "tree_transpose",
    "tree_flatten_with_path", "tree_leaves_with_path", "tree_map_with_path",
    "register_pytree_node", "register_pytree_with_keys",
    "register_pytree_node_class", "register_dataclass", "treedef_is_leaf",
    "treedef_children", "treedef_tuple", "keystr", "SequenceKey", "DictKey",
    "GetAttrKey", "FlattenedIndexKey",
]

_TUPLE, _LIST, _DICT, _NONE, _NAMEDTUPLE, _CUSTOM = range(6)
_MISSING = object()
_NO_INIT = object()


# ------------------------------------------------------------------ keys
@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """Path entry for a tuple/list child: ``str(SequenceKey(1)) == '[1]'``."""
    idx: int
    def __str__(self): return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True)
class DictKey:
    """Path entry for a dict child: ``str(DictKey('w')) == "['w']"``."""
    key: Hashable
    def __str__(self): return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """Path entry for an attribute (namedtuple/dataclass field): ``'.name'``."""
    name: str
    def __str__(self): return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """Path entry for the i-th child of a registered node without keys."""
    key: int
    def __str__(self): return f"[{self.key!r}]"


def _simple(k):
    for attr in ("idx", "key", "name"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def keystr(keys, *, simple=False, separator=""):
    """Format a key path, e.g. ``keystr((SequenceKey(1), DictKey('w')))``
    gives ``"[1]['w']"``; with ``simple=True, separator='/'`` gives ``'1/w'``.
    """
    if simple:
        return separator.join(_simple(k) for k in keys)
    return separator.join(str(k) for k in keys)


# ------------------------------------------------------------------ registry
class _NodeType:
    __slots__ = ("type", "kind", "name", "flatten", "unflatten", "flatten_with_keys")

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


_registry = {}  # exact type -> _NodeType (explicitly registered + builtins)
_kinds = {}     # cache: exact type -> _NodeType, or None for leaf types
_kinds_get = _kinds.get


def _classify(t):
    h = _registry.get(t)
    if h is None and issubclass(t, tuple) and hasattr(t, "_fields"):
        h = _NodeType(t, _NAMEDTUPLE, _as_is)
    _kinds[t] = h
    return h


def _lookup(x):
    h = _kinds_get(type(x), _MISSING)
    return _classify(type(x)) if h is _MISSING else h


def register_pytree_node(nodetype, flatten_func, unflatten_func,
                         flatten_with_keys_func=None):
    """Register ``nodetype`` as a pytree node.

    ``flatten_func(x) -> (children, aux_data)`` and
    ``unflatten_func(aux_data, children) -> x``. ``aux_data`` must be hashable
    and comparable; it is part of the treedef (and of jit cache keys).

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


def register_pytree_with_keys(nodetype, flatten_with_keys, unflatten_func, flatten_func=None):
    """Like :func:`register_pytree_node`, but ``flatten_with_keys(x)`` returns
    ``(((key, child), ...), aux_data)`` so paths name the children."""
    if flatten_func is None:
        def flatten_func(x):
            kc, aux = flatten_with_keys(x)
            return [c for _, c in kc], aux
    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_node_class(cls):
    """Class decorator: register ``cls`` using its ``tree_flatten`` method and
    ``tree_unflatten`` classmethod.

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
    """Register a (data)class whose ``data_fields`` are children and whose
    ``meta_fields`` are static aux data. Usable as a decorator. When both are
    omitted they come from ``dataclasses.fields``: a field whose metadata has
    ``static=True`` is meta, the rest are data. Unflatten bypasses
    ``__init__``/``__post_init__`` (fields are set directly, frozen or not).

    >>> @register_dataclass
    ... @dataclasses.dataclass
    ... class Layer:
    ...     w: Any
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
                            "pass data_fields and meta_fields explicitly.")
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
    new, setattr_ = object.__new__, object.__setattr__
    keys = tuple(GetAttrKey(n) for n in data_fields)

    def flatten(x):
        return ([getattr(x, n) for n in data_fields],
                tuple([getattr(x, n) for n in meta_fields]))

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


def _dict_keyed(d, keys):
    return [(DictKey(k), d[k]) for k in keys]


for _t, _k, _f in ((tuple, _TUPLE, _as_is), (list, _LIST, _as_is),
                   (dict, _DICT, _flatten_dict), (type(None), _NONE, lambda x: ((), None))):
    _registry[_t] = _NodeType(_t, _k, _f)
register_pytree_node(
    collections.OrderedDict,
    lambda d: (list(d.values()), tuple(d)),
    lambda keys, vals: collections.OrderedDict(zip(keys, vals)),
    lambda d: (_dict_keyed(d, tuple(d)), tuple(d)))
register_pytree_node(
    collections.defaultdict,
    lambda d: ([d[k] for k in _sorted_keys(d)], (d.default_factory, _sorted_keys(d))),
    lambda aux, vals: collections.defaultdict(aux[0], zip(aux[1], vals)),
    lambda d: (_dict_keyed(d, _sorted_keys(d)), (d.default_factory, _sorted_keys(d))))
_TUPLE_H, _NONE_H = _registry[tuple], _registry[type(None)]
_NONE_ENC = (_NONE_H, None, ())


def _node_keys(h, x):
    """One level of flattening with keys: (keys, children, aux)."""
    if h.flatten_with_keys is not None:
        kc, aux = h.flatten_with_keys(x)
        return [k for k, _ in kc], [c for _, c in kc], aux
    children, aux = h.flatten(x)
    k = h.kind
    if k == _TUPLE or k == _LIST:
        keys = [SequenceKey(i) for i in range(len(children))]
    elif k == _DICT:
        keys = [DictKey(a) for a in aux]
    elif k == _NAMEDTUPLE:
        keys = [GetAttrKey(f) for f in h.type._fields]
    else:
        keys = [FlattenedIndexKey(i) for i in range(len(children))]
    return keys, list(children), aux


# ------------------------------------------------------------------ treedef
# A structure is encoded as nested plain tuples: a leaf is ``None`` and a node
# is ``(node_type, aux_data, child_encodings)``; hashing/equality run in C.
class PyTreeDef:
    """The structure of a pytree: hashable, comparable, cheap to hash.

    >>> tree_structure((1, [2, 3])) == tree_structure(('a', ['b', 'c']))
    True
    """
    __slots__ = ("_enc", "num_leaves", "_hash", "_flat")

    def __init__(self, enc, num_leaves, flat=False):
        self._enc, self.num_leaves, self._hash, self._flat = enc, num_leaves, None, flat

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return self.num_leaves == other.num_leaves and self._enc == other._enc

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        h = self._hash
        if h is None:
            try:
                h = self._hash = hash(self._enc)
            except TypeError as e:
                bad = _find_unhashable(self._enc)
                raise TypeError(f"PyTreeDef is unhashable: aux_data of node type {bad[0].name} "
                                f"is not hashable ({bad[1]!r}); {e}") from None
        return h

    def __repr__(self):
        return f"PyTreeDef({_repr(self._enc)})"

    @property
    def num_nodes(self):
        return _count(self._enc, True)

    def unflatten(self, leaves):
        """Build a tree of this structure from ``leaves`` (see tree_unflatten)."""
        if type(leaves) is not list and type(leaves) is not tuple:
            leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"Too {'few' if len(leaves) < self.num_leaves else 'many'} leaves "
                             f"for {self}: expected {self.num_leaves}, got {len(leaves)}.")
        if self._flat:
            return tuple(leaves)
        enc = self._enc
        if enc is None:
            return leaves[0]
        return _build(enc, iter(leaves).__next__)

    def flatten_up_to(self, tree):
        """Flatten ``tree`` only down to the leaves of this treedef, so each
        leaf position yields a whole subtree of ``tree``. Raises ValueError
        naming the path where ``tree`` does not have this structure.

        >>> tree_structure((0, 0)).flatten_up_to(([1, 2], {'a': 3}))
        [[1, 2], {'a': 3}]
        """
        enc = self._enc
        if enc is None:
            return [tree]
        if self._flat and type(tree) is tuple and len(tree) == self.num_leaves:
            return list(tree)
        out = []
        _up_to(enc, tree, out, [])
        return out

    def children(self):
        """The treedefs of the root node's children."""
        if self._enc is None:
            return []
        return [PyTreeDef(c, _count(c, False)) for c in self._enc[2]]

    def node_data(self):
        """``(node_type, aux_data)`` of the root node, or None for a leaf."""
        return None if self._enc is None else (self._enc[0].type, self._enc[1])


def _count(enc, nodes):
    if enc is None:
        return 1
    return int(nodes) + sum(_count(c, nodes) for c in enc[2])


def _find_unhashable(enc):
    if enc is not None:
        try:
            hash(enc[1])
        except TypeError:
            return enc[0], enc[1]
        for c in enc[2]:
            r = _find_unhashable(c)
            if r is not None:
                return r
    return None


def _repr(enc):
    if enc is None:
        return "*"
    h, aux, chs = enc
    parts = [_repr(c) for c in chs]
    k = h.kind
    if k == _TUPLE:
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    if k == _LIST:
        return "[" + ", ".join(parts) + "]"
    if k == _DICT:
        return "{" + ", ".join(f"{key!r}: {p}" for key, p in zip(aux, parts)) + "}"
    if k == _NONE:
        return "None"
    if k == _NAMEDTUPLE:
        return f"CustomNode(namedtuple[{h.name}], [{', '.join(parts)}])"
    return f"CustomNode({h.name}[{aux!r}], [{', '.join(parts)}])"


def _build(enc, nxt):
    h, aux, chs = enc
    children = [nxt() if c is None else _build(c, nxt) for c in chs]
    k = h.kind
    if k == _TUPLE:
        return tuple(children)
    if k == _LIST:
        return children
    if k == _DICT:
        return dict(zip(aux, children))
    if k == _NONE:
        return None
    if k == _NAMEDTUPLE:
        return h.type(*children)
    return h.unflatten(aux, children)


def _describe(h, aux, n):
    k = h.kind
    if k == _TUPLE or k == _LIST:
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
    hx = _lookup(x)
    if hx is not h:
        got = f"a leaf of type {type(x).__name__}" if hx is None else None
        _mismatch(path, enc, x, got)
    if h.kind == _NONE:
        return
    children, xaux = h.flatten(x)
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
        got = _describe(hx, xaux, len(children))
    where = keystr([_node_keys(h, node)[0][i] for h, node, i in path]) or "the root"
    raise ValueError(f"pytree structure mismatch at {where}: expected "
                     f"{_describe(enc[0], enc[1], len(enc[2]))}, got {got}.")


# ------------------------------------------------------------------ flatten
def _walk(x, leaves):
    """Flatten a node (never a leaf) appending leaves; returns its encoding."""
    h = _kinds_get(type(x), _MISSING)
    if h is _MISSING:
        h = _classify(type(x))
    if h is None:
        leaves.append(x)
        return None
    k = h.kind
    if k == _TUPLE or k == _LIST or k == _NAMEDTUPLE:
        children, aux = x, None
    elif k == _DICT:
        aux = _sorted_keys(x)
        children = [x[key] for key in aux]
    elif k == _NONE:
        return _NONE_ENC
    else:
        children, aux = h.flatten(x)
    sub = []
    sub_append, append, get = sub.append, leaves.append, _kinds_get
    for c in children:
        if get(type(c), _MISSING) is None:
            append(c)
            sub_append(None)
        else:
            sub_append(_walk(c, leaves))
    return (h, aux, tuple(sub))


def _walk_slow(x, leaves, is_leaf, path, paths):
    """General flatten with an is_leaf predicate and/or key paths."""
    if is_leaf is not None and is_leaf(x):
        h = None
    else:
        h = _lookup(x)
    if h is None:
        leaves.append(x)
        if paths is not None:
            paths.append(path)
        return None
    if h.kind == _NONE:
        return _NONE_ENC
    if paths is None:
        children, aux = h.flatten(x)
        return (h, aux, tuple([_walk_slow(c, leaves, is_leaf, None, None) for c in children]))
    keys, children, aux = _node_keys(h, x)
    return (h, aux, tuple([_walk_slow(c, leaves, is_leaf, path + (key,), paths)
                           for key, c in zip(keys, children)]))


_LEAF_DEF = PyTreeDef(None, 1)
_flat_defs = {}


def _flat_tuple_def(n):
    td = _flat_defs.get(n)
    if td is None:
        td = _flat_defs[n] = PyTreeDef((_TUPLE_H, None, (None,) * n), n, True)
        hash(td)
    return td


def tree_flatten(tree, is_leaf=None):
    """Flatten ``tree`` into ``(leaves, treedef)``.

    ``is_leaf(x) -> bool`` (optional) is called on every subtree; when it
    returns True the subtree is taken as a leaf.

    >>> tree_flatten([1, (2, None), {'x': 3}])
    ([1, 2, 3], PyTreeDef([*, (*, None), {'x': *}]))
    """
    if is_leaf is None:
        if type(tree) is tuple:  # fast path: a tuple of leaves (jit's args)
            get = _kinds_get
            for x in tree:
                if get(type(x), _MISSING) is not None:
                    break
            else:
                return list(tree), _flat_tuple_def(len(tree))
        leaves = []
        enc = _walk(tree, leaves)
        if enc is None:
            return leaves, _LEAF_DEF
        return leaves, PyTreeDef(enc, len(leaves))
    leaves = []
    enc = _walk_slow(tree, leaves, is_leaf, None, None)
    return leaves, (_LEAF_DEF if enc is None else PyTreeDef(enc, len(leaves)))


def tree_unflatten(treedef, leaves):
    """Inverse of tree_flatten: ``tree_unflatten(treedef, leaves)``.

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

    >>> pl, _ = tree_flatten_with_path((1, {'w': 2}))
    >>> [(keystr(p), v) for p, v in pl]
    [('[0]', 1), ("[1]['w']", 2)]
    """
    leaves, paths = [], []
    enc = _walk_slow(tree, leaves, is_leaf, (), paths)
    td = _LEAF_DEF if enc is None else PyTreeDef(enc, len(leaves))
    return list(zip(paths, leaves)), td


def tree_leaves_with_path(tree, is_leaf=None):
    """``[(path, leaf), ...]`` of ``tree``, see tree_flatten_with_path."""
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
    """Apply ``f`` leafwise: ``f(leaf, *corresponding subtrees of rest)``.

    Each tree in ``rest`` must have ``tree``'s structure, possibly with deeper
    subtrees where ``tree`` has leaves (those subtrees are passed to ``f``).

    >>> tree_map(lambda x, y: x + y, (1, [2]), (10, [20]))
    (11, [22])
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    others = _up_to_rest(treedef, rest, "tree_map")
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])


def tree_map_with_path(f, tree, *rest, is_leaf=None):
    """Like tree_map, but calls ``f(path, leaf, *others)``."""
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = _up_to_rest(treedef, rest, "tree_map_with_path")
    return treedef.unflatten([f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)])


def tree_all(tree, *, is_leaf=None):
    """True if every leaf is truthy: ``tree_all((True, [1]))`` is True."""
    return all(tree_leaves(tree, is_leaf))


def tree_reduce(function, tree, initializer=_NO_INIT, is_leaf=None):
    """``functools.reduce`` over the leaves: ``tree_reduce(operator.add, [1, (2, 3)]) == 6``."""
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INIT:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose):
    """Turn an outer-of-inner tree into an inner-of-outer tree.

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
    """The treedef of a tuple whose children have the given treedefs."""
    treedefs = tuple(treedefs)
    enc = (_TUPLE_H, None, tuple(t._enc for t in treedefs))
    return PyTreeDef(enc, sum(t.num_leaves for t in treedefs),
                     all(t._enc is None for t in treedefs))
