"""Big pulls through Shopify's bulk query operations (GraphQL Admin 2025-10), instead of paging a
cost bucket that restores 100 points a second (shopify.dev/docs/api/usage/bulk-operations/queries;
admin-graphql/2025-10: mutations/bulkOperationRunQuery, objects/BulkOperation, enums/
BulkOperationStatus, BulkOperationErrorCode, BulkOperationUserErrorCode, queries/ordersCount).

- `ordersCount(query:, limit:)` says how big the window is ({count precision}; AT_LEAST when the
  limit was reached), so small windows keep the paged path.
- `bulkOperationRunQuery(query:, groupObjects: false)`: the query string is self-contained (no
  variables), one top-level connection, at most five connections nested at most two deep;
  `first`, cursors and pageInfo are ignored, so connections are selected as `edges { node }`.
  Only the mutation and the polls are charged to the bucket. Before 2026-01 a shop runs one bulk
  query per app at a time: OPERATION_IN_PROGRESS.
- Polled with `node(id:) { ... on BulkOperation }`: CREATED, RUNNING, then COMPLETED, FAILED
  (errorCode ACCESS_DENIED: missing scopes; INTERNAL_SERVER_ERROR, TIMEOUT: intermittent, submit
  again), CANCELED or EXPIRED. objectCount is an UnsignedInt64, i.e. a string.
- The result is JSONL at a signed storage URL (`url`, null when nothing matched): downloaded
  without the API token, streamed. Each node of a connection is one line; nested connections'
  nodes come after their parent with `__parentId` (not necessarily right after it when objects
  are not grouped), so orders are put back together by id. The line count must equal objectCount:
  a file cut short at a line boundary would otherwise lose orders silently.

Orders are held until the file is read (the lines of one order may come anywhere in it), each as
the lines it came as, then handed out a page at a time, parsed and let go of as they go. One
store's file is read at a time in a process, so the second store's orders are not all taken in
while the first one's still are."""
from __future__ import annotations

import gc
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import orjson
import requests

from connectors.errors import ConnectorError, PermanentApiError, TransientApiError
from connectors.http import ApiClient
from connectors.storefronts import shopify_parse as gql

log = logging.getLogger(__name__)
VENDOR = "shopify"
_READING = threading.Lock()     # one bulk file read and reassembled at a time in this process
ORDERS_COUNT = """
query OrdersCount($query: String, $limit: Int) {
  ordersCount(query: $query, limit: $limit) { count precision }
}"""
RUN = """
mutation BulkQueryRun($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}"""
_OPERATION = "id status errorCode objectCount rootObjectCount url partialDataUrl query"
POLL = f"""
query BulkOperationPoll($id: ID!) {{
  node(id: $id) {{ ... on BulkOperation {{ {_OPERATION} }} }}
}}"""
CURRENT = f"""
query CurrentBulkOperation {{
  currentBulkOperation(type: QUERY) {{ {_OPERATION} }}
}}"""
CANCEL = """
mutation BulkOperationCancel($id: ID!) {
  bulkOperationCancel(id: $id) { bulkOperation { id status } userErrors { field message } }
}"""
UNFINISHED = ("CREATED", "RUNNING", "CANCELING")
MAX_POLL_SECONDS = 10.0
# Which connection a child line belongs to, by its gid's type, under each kind of parent.
CONNECTIONS = {"Order": {"LineItem": "lineItems", "Return": "returns"},
               "Return": {"ReturnLineItem": "returnLineItems", "UnverifiedReturnLineItem": "returnLineItems",
                          "Refund": "refunds"}}


def _edges(fields: str) -> str:
    return f"edges {{ node {{ {fields} }} }}"


def orders_query(search: str, *, details: bool = True) -> str:
    """The bulk twin of ORDERS_PAGE (details) or ORDER_IDS_PAGE, each order with all its returns."""
    return_fields = (f"{gql.RETURN_FIELDS} returnLineItems {{ {_edges(gql.RETURN_LINE_FIELDS)} }} "
                     f"refunds {{ {_edges(gql.RETURN_REFUND_FIELDS)} }}")
    order_fields = f"{gql.ORDER_FIELDS} lineItems {{ {_edges(gql.LINE_FIELDS)} }}" if details \
        else "id updatedAt returnStatus"
    node = f"{order_fields} returns {{ {_edges(return_fields)} }}"
    return f"{{ orders(query: {json.dumps(search)}, sortKey: UPDATED_AT) {{ {_edges(node)} }} }}"


def kind(global_id: str) -> str:
    """"gid://shopify/LineItem/123" -> "LineItem"."""
    parts = global_id.split("/")
    return parts[-2] if len(parts) >= 4 else ""


# How Shopify writes a line: the selection's first field (`id`) first and `__parentId`, if any, last,
# so both can be read off a line without parsing it; a line written otherwise is parsed.
_OWN_ID = re.compile(rb'\{\s*"id"\s*:\s*"(gid://shopify/(\w+)/[^"]+)"')
_PARENT_ID = re.compile(rb'"__parentId"\s*:\s*"(gid://shopify/(\w+)/[^"]+)"\s*\}\s*$')
_CHILD_KINDS = {parent.encode(): {child.encode() for child in children} for parent, children in CONNECTIONS.items()}


class Held:
    """A top-level node waiting to be handed out: its own line, then its descendants' lines in
    file order, as bytes (a parsed order is some twenty dicts, several times the memory of its
    lines: 100k orders held whole took 1.8 GB)."""

    __slots__ = ("lines", "connections")

    def __init__(self, line: bytes, connections: dict[str, tuple[str, ...]]):
        self.lines = [line]
        self.connections = connections


def assemble(lines: Iterable[bytes], *, connections: dict[str, tuple[str, ...]]) -> tuple[list[Held], int]:
    """Top-level nodes in file order, each holding the lines of its nested connections' nodes
    (which `handed_out` puts back under their parents), and the number of lines read.
    `connections` names the connections each parent kind selected, so an empty one is still there.
    A line whose parent the file has not shown, or cannot hold it, makes the file unreadable."""
    roots: list[Held] = []
    holding: dict[bytes, Held] = {}     # gid of each node that may have children -> its top-level node
    count, line = 0, b""
    for line in lines:
        count += 1
        own, own_kind, parent, parent_kind = _identity(line)
        if parent is None:
            held = Held(line, connections)
            roots.append(held)
        elif (held := holding.get(parent)) is not None and own_kind in _CHILD_KINDS.get(parent_kind, ()):
            held.lines.append(line)
        else:
            raise ValueError(f"a {own_kind.decode() or 'nameless'} line under {parent.decode()}, which the file "
                             "has not shown (or cannot hold one)")
        if own_kind in _CHILD_KINDS:
            holding[own] = held
    orjson.loads(line or b"{}")         # a body cut inside its last line would otherwise pass the count
    return roots, count


def _identity(line: bytes) -> tuple[bytes, bytes, bytes | None, bytes]:
    """The line's own gid and kind, and its parent's (None for a top-level node)."""
    own = _OWN_ID.match(line)
    at = line.rfind(b'"__parentId"')
    parent = _PARENT_ID.match(line, at) if at >= 0 else None
    if own and (at < 0 or parent):
        return own[1], own[2], parent[1] if parent else None, parent[2] if parent else b""
    obj = orjson.loads(line)
    own_id, parent_id = str(obj.get("id") or ""), obj.get("__parentId")
    parent_id = None if parent_id is None else str(parent_id)
    return own_id.encode(), kind(own_id).encode(), parent_id and parent_id.encode(), kind(parent_id or "").encode()


def handed_out(nodes: list[Held | dict], size: int) -> Iterator[list[dict]]:
    """`nodes` in lists of `size`, in order, each put together from its lines and let go of
    (taken out of `nodes`) once handed out."""
    nodes.reverse()
    while nodes:
        yield [whole(nodes.pop()) for _ in range(min(size, len(nodes)))]


def whole(node: Held | dict) -> dict:
    """The node with its nested connections' nodes under it as {"nodes": [...]}, the shape the
    paged answers have."""
    if isinstance(node, dict):
        return node
    root, *children = orjson.loads(b"[" + b",".join(node.lines) + b"]")   # one parse per order
    parents = {root["id"]: _opened(root, node.connections)}     # gid -> (node, its connection by child kind)
    for child in children:
        parent, fields = parents[child.pop("__parentId")]
        own = kind(child["id"])
        parent[fields[own]]["nodes"].append(child)
        if own in CONNECTIONS:
            parents[child["id"]] = _opened(child, node.connections)
    return root


def _opened(obj: dict, connections: dict[str, tuple[str, ...]]) -> tuple[dict, dict[str, str]]:
    own = kind(obj.get("id") or "")
    for name in connections.get(own, ()):
        obj[name] = {"nodes": []}
    return obj, CONNECTIONS.get(own, {})


class BulkQuery:
    """Runs one bulk query to the end: submit, poll, download, reassemble."""

    def __init__(self, *, channel: str, query: Callable[..., dict], files: ApiClient, sleep: Callable[[float], None],
                 poll_seconds: float, max_wait_seconds: float, max_retries: int):
        self.channel = channel
        self._query, self._files, self._sleep = query, files, sleep
        self.poll_seconds, self.max_wait_seconds, self.max_retries = poll_seconds, max_wait_seconds, max_retries

    def run(self, document: str, *, connections: dict[str, tuple[str, ...]]) -> list[Held]:
        operation = self._finished(self._submit(document), ours=True)
        status, code = operation["status"], operation.get("errorCode")
        if status == "FAILED" and code == "ACCESS_DENIED":
            raise PermanentApiError(VENDOR, f"bulk query {operation['id']} was denied: the app lacks a scope it "
                                            "needs (read_orders, read_returns)")
        if status != "COMPLETED":
            raise TransientApiError(VENDOR, f"bulk query {operation['id']} ended {status}"
                                            f"{f' ({code})' if code else ''}; the next run submits it again")
        if not operation.get("url"):
            return []                   # nothing matched: Shopify writes no file
        log.info("%s: bulk query %s completed, %s objects", self.channel, operation["id"], operation["objectCount"])
        return self._download(operation["url"], int(operation["objectCount"]), connections)

    def _submit(self, document: str) -> dict:
        for _ in range(2):
            try:
                payload = self._query("BulkQueryRun", RUN, {"query": document}, reread=False)["bulkOperationRunQuery"]
            except TransientApiError:   # the answer was lost: perhaps the operation exists all the same
                payload = {"userErrors": [{"code": "OPERATION_IN_PROGRESS"}]}
            errors = payload["userErrors"]
            if not errors:
                return payload["bulkOperation"]
            if not any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
                raise PermanentApiError(VENDOR, "bulkOperationRunQuery refused: "
                                        + "; ".join(e.get("message", "?") for e in errors))
            running = self._query("CurrentBulkOperation", CURRENT, {})["currentBulkOperation"]
            if running and running["status"] in UNFINISHED and running["query"] == document:
                return running          # ours, from an answer we lost or a run that crashed: adopt it
            if running and running["status"] in UNFINISHED:
                self._finished(running, ours=False)   # one at a time per shop: wait for the other one
        raise TransientApiError(VENDOR, "another bulk query keeps the shop busy; the next run will try again")

    def _finished(self, operation: dict, *, ours: bool) -> dict:
        """Poll until the operation is no longer running, within max_wait_seconds."""
        waited, delay = 0.0, self.poll_seconds
        operation = self._poll(operation["id"])
        while operation["status"] in UNFINISHED:
            if waited >= self.max_wait_seconds:
                if ours:                 # let the next run start afresh rather than meet ours still running
                    self._query("BulkOperationCancel", CANCEL, {"id": operation["id"]}, reread=False)
                raise TransientApiError(VENDOR, f"bulk query {operation['id']} still {operation['status']} after "
                                                f"{waited:.0f}s; the next run will try again")
            self._sleep(delay)
            waited, delay = waited + delay, min(MAX_POLL_SECONDS, delay * 2)
            operation = self._poll(operation["id"])
        return operation

    def _poll(self, operation_id: str) -> dict:
        operation = self._query("BulkOperationPoll", POLL, {"id": operation_id})["node"]
        if not operation:
            raise PermanentApiError(VENDOR, f"bulk query {operation_id} not found in the shop")
        return operation

    def _download(self, url: str, expected: int, connections: dict[str, tuple[str, ...]]) -> list[Held]:
        """The file, read again when it comes short or unreadable; never the URL in a message
        (it is a credential for a week)."""
        problem = ""
        for attempt in range(self.max_retries + 1):
            try:
                with _READING, self._files.request("GET", url, stream=True) as response, _collector_paused():
                    lines = response.iter_lines(chunk_size=1 << 16)
                    roots, count = assemble((line for line in lines if line), connections=connections)
                if count == expected:
                    return roots
                problem = f"{count} of its {expected} objects arrived"
            except ConnectorError as exc:        # ApiClient already retried 429/5xx/timeouts
                problem = f"the download answered {exc.status or 'nothing'}"
            except (requests.RequestException, ValueError) as exc:
                problem = f"the file was unreadable ({type(exc).__name__})"
            log.warning("%s: bulk result download %d: %s", self.channel, attempt + 1, problem)
            self._sleep(min(30.0, 0.5 * 2 ** attempt))
        raise TransientApiError(VENDOR, f"bulk query result: {problem} after {self.max_retries + 1} attempts; "
                                        "the next run will retry")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Reading a bulk file makes a few objects per order that all live on, and Python's cyclic
    collector would scan them again and again as they pile up. They cannot make cycles: nothing for
    it to find here, so it pauses (process-wide, for the moments the reading takes)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
