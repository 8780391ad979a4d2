"""A bulk query's result file, written the way Shopify writes it (shopify.dev/docs/api/usage/
bulk-operations/queries, "The JSONL data format" and "Operation restrictions"):

- one JSON object per line for each node of a connection; a nested connection's nodes get their
  own lines after their parent, carrying `__parentId` (the parent's id); lists and plain objects
  stay inline; `first`, `cursor` and `pageInfo` are ignored;
- the query selects one top-level connection (not `node`/`nodes`), at most five connections in
  all, nested at most two levels deep, over types that implement Node.

The selection is compiled once into plain functions over the sandbox's order dicts (the same
resolvers the GraphQL schema uses, the same DateTime serialisation): running graphql-core per order
costs ~1.4 ms, which a 100k-order export cannot afford. The sandbox serves `orders` only."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import orjson
from graphql import (
    FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, GraphQLList, GraphQLNonNull,
    GraphQLSchema, InlineFragmentNode, OperationDefinitionNode, get_named_type, is_abstract_type, is_leaf_type,
    parse, validate,
)
from graphql.execution.values import get_argument_values

MAX_CONNECTIONS, MAX_DEPTH = 5, 2
SUPPORTED_ROOTS = ("orders",)
ISO = "%Y-%m-%dT%H:%M:%SZ"
Build = Callable[[dict, str, list], dict]


def _is_connection(type_) -> bool:
    return get_named_type(type_).name.endswith("Connection")


def _is_list(type_) -> bool:
    return isinstance(type_.of_type if isinstance(type_, GraphQLNonNull) else type_, GraphQLList)


class BulkQuery:
    """A bulk query checked against the schema and Shopify's restrictions, ready to export."""

    def __init__(self, schema: GraphQLSchema, text: str):
        self.schema = schema
        self.problems: list[str] = []
        try:
            document = parse(text)
        except GraphQLError as error:
            self.problems = [f"Invalid bulk query: {error.message}"]
            return
        self.problems = [f"Invalid bulk query: {e.message}" for e in validate(schema, document)]
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        self._fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        if self.problems:
            return
        roots = operations[0].selection_set.selections
        if len(operations) != 1 or operations[0].operation.value != "query" or len(roots) != 1 \
                or not isinstance(roots[0], FieldNode) or operations[0].variable_definitions:
            self.problems = ["Bulk queries must be a single query without variables selecting exactly one "
                             "top-level field."]
            return
        self.root = roots[0]
        self._connections = 0
        field = schema.query_type.fields[self.root.name.value]
        if self.root.name.value in ("node", "nodes") or not _is_connection(field.type):
            self.problems = ["Bulk queries must select a connection at the top level (not node or nodes)."]
        elif self.root.name.value not in SUPPORTED_ROOTS:
            self.problems = [f"The sandbox runs bulk queries on {', '.join(SUPPORTED_ROOTS)} only."]
        else:
            self.arguments = get_argument_values(field, self.root, {})
            self.build = self._connection_node(field.type, self.root, depth=0)
            if self._connections > MAX_CONNECTIONS:
                self.problems.append(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections.")

    # --- compiling the selection ---------------------------------------------------------

    def _connection_node(self, type_, node: FieldNode, depth: int) -> Build:
        """The builder of one node line of a connection selected as `edges { node }` or `nodes`."""
        self._connections += 1
        if depth > MAX_DEPTH:
            self.problems.append(f"Bulk queries cannot contain connections nested more than {MAX_DEPTH} levels "
                                 f"deep ({node.name.value}).")
        connection = get_named_type(type_)
        item_type = get_named_type(connection.fields["nodes"].type)
        if not all("Node" in {i.name for i in t.interfaces} for t in self._concrete(item_type)):
            self.problems.append(f"Connection {node.name.value} must implement the Node interface.")
        selections: list = []
        for field in _fields(node.selection_set):
            if field.name.value == "nodes":
                selections += field.selection_set.selections
            elif field.name.value == "edges":
                for inner in _fields(field.selection_set):
                    if inner.name.value == "node":
                        selections += inner.selection_set.selections
        return self._object(item_type, selections, depth)

    def _object(self, type_, selections, depth: int) -> Build:
        entries = []   # (type names it applies to or None, response key or None for a connection, getter)
        for condition, field in self._flatten(type_, selections):
            name, key = field.name.value, (field.alias or field.name).value
            if name == "__typename":
                entries.append((condition, key, PLAIN if key == name else lambda src, owner, pending: src.get(name)))
                continue
            parent = self.schema.type_map[next(iter(condition))] if condition and len(condition) == 1 else type_
            definition = parent.fields[name]
            entries.append((condition, *self._getter(definition, field, name, key, depth)))
        return _builder(entries)

    def _getter(self, definition, field: FieldNode, name: str, key: str, depth: int):
        resolve = definition.resolve
        args = get_argument_values(definition, field, {})
        if _is_connection(definition.type):
            build, items = self._connection_node(definition.type, field, depth + 1), _items(resolve, name)

            def children(src, owner, pending):
                pending.append((build, items(src), src.get("id") or owner))
            return None, children
        read = (lambda src: resolve(src, None, **args)) if resolve else (lambda src: src.get(name))
        if is_leaf_type(get_named_type(definition.type)):
            if get_named_type(definition.type).name == "DateTime":
                return key, lambda src, owner, pending: _iso(read(src))
            return key, PLAIN if resolve is None and key == name else lambda src, owner, pending: read(src)
        inner = self._object(get_named_type(definition.type), field.selection_set.selections, depth)
        if _is_list(definition.type):
            return key, lambda src, owner, pending: [inner(v, v.get("id") or owner, pending) for v in read(src) or ()]

        def nested(src, owner, pending):
            value = read(src) if resolve else src.get(name)
            return None if value is None else inner(value, value.get("id") or owner, pending)
        return key, nested

    def _flatten(self, type_, selections, condition=None):
        """(condition, field) for every field selected, fragments opened up."""
        for selection in selections:
            if isinstance(selection, FieldNode):
                yield condition, selection
            elif isinstance(selection, InlineFragmentNode):
                on = self.schema.type_map[selection.type_condition.name.value] if selection.type_condition else type_
                yield from self._flatten(type_, selection.selection_set.selections, self._narrow(condition, on))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments[selection.name.value]
                on = self.schema.type_map[fragment.type_condition.name.value]
                yield from self._flatten(type_, fragment.selection_set.selections, self._narrow(condition, on))

    def _narrow(self, condition, on) -> frozenset | None:
        names = frozenset(t.name for t in self._concrete(on))
        return names if condition is None else condition & names

    def _concrete(self, type_) -> list:
        return list(self.schema.get_possible_types(type_)) if is_abstract_type(type_) else [type_]

    # --- writing the file ----------------------------------------------------------------

    def lines(self, roots: list[dict]) -> Iterator[bytes]:
        """The JSONL lines for these top-level nodes: each followed by its children's lines
        (compact UTF-8 JSON, as Shopify writes them)."""
        for root in roots:
            pending: list = []
            yield orjson.dumps(self.build(root, root.get("id"), pending), option=orjson.OPT_APPEND_NEWLINE)
            yield from _children(pending)


def _children(pending: list) -> Iterator[bytes]:
    for build, items, parent_id in pending:
        for item in items:
            deeper: list = []
            line = build(item, item.get("id") or parent_id, deeper)
            line["__parentId"] = parent_id
            yield orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)
            if deeper:
                yield from _children(deeper)


def _fields(selection_set) -> list[FieldNode]:
    return [s for s in (selection_set.selections if selection_set else ()) if isinstance(s, FieldNode)]


PLAIN = None      # the getter of a field read straight from the dict by its own name


def _builder(entries: list) -> Build:
    def build(src: dict, owner: str, pending: list) -> dict:
        out, typename = {}, src.get("__typename")
        for condition, key, get in entries:
            if condition is None or typename in condition:
                if get is PLAIN:
                    out[key] = src.get(key)
                elif key is None:
                    get(src, owner, pending)
                else:
                    out[key] = get(src, owner, pending)
        return out
    return build


def _items(resolve, name: str) -> Callable[[dict], list]:
    """A connection's whole item list (bulk ignores `first`): straight from the dict when the
    schema's resolver says where it lives, else through the resolver's `nodes`."""
    key = getattr(resolve, "items_key", None)
    if key:
        return lambda src: src.get(key) or []
    if resolve is None:
        return lambda src: (src.get(name) or {}).get("nodes") or []
    return lambda src: (resolve(src, None) or {}).get("nodes") or []


def _iso(value):
    """ISO's text of a DateTime, as value.strftime(ISO) writes it (isoformat's first 19 characters
    are the same fields, and faster to get)."""
    return value.isoformat()[:19] + "Z" if isinstance(value, datetime) else value
