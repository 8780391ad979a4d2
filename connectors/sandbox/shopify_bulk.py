"""Bulk query operations and order counts in the simulated shops, as the 2025-10 Admin API has them
(shopify.dev/docs/api/usage/bulk-operations/queries; admin-graphql/2025-10 mutations/
bulkOperationRunQuery, objects/BulkOperation, queries/currentBulkOperation, queries/ordersCount):

  bulkOperationRunQuery(query:, groupObjects:) -> {bulkOperation {id status}, userErrors {field message code}}
  node(id:) ... on BulkOperation | currentBulkOperation(type: QUERY) -> status errorCode objectCount url ...
  bulkOperationCancel(id:);   ordersCount(query:, limit: 10000) -> Count {count precision}

One bulk query at a time per shop (before 2026-01: OPERATION_IN_PROGRESS); statuses CREATED ->
RUNNING -> COMPLETED | FAILED (errorCode ACCESS_DENIED, INTERNAL_SERVER_ERROR, TIMEOUT) | CANCELED;
objectCount and friends are UnsignedInt64, i.e. strings on the wire; `url` is null when nothing
matched. The result is a JSONL file (shopify_jsonl) behind a signed URL that takes no API
credentials, served here by the sandbox at /{shop}/bulk/{n}.jsonl. Only the mutation and the polls
cost points; the export itself runs outside the bucket, as at Shopify. An operation runs when
polled, after `BulkKnobs.running_polls` polls have seen it RUNNING."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from werkzeug.wrappers import Request, Response

from connectors.sandbox.shopify_jsonl import BulkQuery
from connectors.sandbox.shopify_orders import gid, numeric_id

SDL = '''
scalar UnsignedInt64

enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum BulkOperationErrorCode { ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }
enum BulkOperationType { MUTATION QUERY }
enum BulkOperationUserErrorCode { INVALID OPERATION_IN_PROGRESS }
enum CountPrecision { AT_LEAST EXACT }

type BulkOperation implements Node {
  id: ID!
  status: BulkOperationStatus!
  errorCode: BulkOperationErrorCode
  createdAt: DateTime!
  completedAt: DateTime
  objectCount: UnsignedInt64!
  rootObjectCount: UnsignedInt64!
  fileSize: UnsignedInt64
  url: URL
  partialDataUrl: URL
  query: String!
  type: BulkOperationType!
}

type BulkOperationUserError {
  code: BulkOperationUserErrorCode
  field: [String!]
  message: String!
}

type BulkOperationRunQueryPayload {
  bulkOperation: BulkOperation
  userErrors: [BulkOperationUserError!]!
}

type BulkOperationCancelPayload {
  bulkOperation: BulkOperation
  userErrors: [UserError!]!
}

type Count {
  count: Int!
  precision: CountPrecision!
}

extend type Query {
  ordersCount(query: String, limit: Int = 10000): Count
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation
}

extend type Mutation {
  bulkOperationRunQuery(query: String!, groupObjects: Boolean! = true): BulkOperationRunQueryPayload
  bulkOperationCancel(id: ID!): BulkOperationCancelPayload
}
'''
RUNNING = ("CREATED", "RUNNING", "CANCELING")
CHUNK = 1 << 20
FILES_KEPT = 3                        # older results expire (Shopify keeps them 7 days; memory is ours)


@dataclass
class BulkKnobs:
    """How the sandbox's bulk operations behave; tests turn the fault knobs."""

    running_polls: int = 1            # polls that see RUNNING before the one that finds it done
    fail_next: str | None = None      # the next operation to run FAILS with this errorCode
    download_errors: int = 0          # the next N downloads answer 503
    truncate_downloads: int = 0       # the next N downloads stop after half the lines (no error)
    secret: bytes = b"sandbox-bulk-url-signing-key"
    downloads: int = 0                # downloads served in full (tests)


@dataclass
class BulkExport:
    number: int
    query: str
    created_at: datetime
    base_url: str                     # where the sandbox answers: the file's URL is built on it
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: datetime | None = None
    object_count: int = 0
    root_count: int = 0
    file: bytes | None = None
    polls: int = 0

    @property
    def id(self) -> str:
        return gid("BulkOperation", self.number)

    def view(self, domain: str, secret: bytes) -> dict:
        url = None
        if self.status == "COMPLETED" and self.file:
            signature = _signature(secret, domain, self.number)
            url = f"{self.base_url}{domain}/bulk/{self.number}.jsonl?signature={signature}"
        return {"__typename": "BulkOperation", "id": self.id, "status": self.status, "errorCode": self.error_code,
                "createdAt": self.created_at, "completedAt": self.completed_at, "objectCount": self.object_count,
                "rootObjectCount": self.root_count, "fileSize": len(self.file) if url else None, "url": url,
                "partialDataUrl": None, "query": self.query, "type": "QUERY"}


def _signature(secret: bytes, domain: str, number: int) -> str:
    return hmac.new(secret, f"{domain}/{number}".encode(), hashlib.sha256).hexdigest()[:40]


# --- resolvers -------------------------------------------------------------------------------

def run_query(_root, info, query: str, groupObjects: bool = True):
    shop, now, knobs = info.context["shop"], info.context["now"], info.context["bulk"]
    running = next((op for op in shop.bulk_exports if op.status in RUNNING), None)
    if running:
        return {"bulkOperation": None, "userErrors": [{
            "code": "OPERATION_IN_PROGRESS", "field": None,
            "message": f"A bulk query operation for this app and shop is already in progress: {running.id}."}]}
    problems = BulkQuery(info.schema, query).problems
    if problems:
        return {"bulkOperation": None,
                "userErrors": [{"code": "INVALID", "field": ["query"], "message": p} for p in problems]}
    op = BulkExport(number=720_000_000 + shop.index * 1_000_000 + len(shop.bulk_exports) + 1, query=query,
                    created_at=now, base_url=info.context["base_url"])
    shop.bulk_exports.append(op)
    for old in shop.bulk_exports[:-FILES_KEPT]:
        if old.file is not None:
            old.file, old.status = None, "EXPIRED"
    return {"bulkOperation": op.view(shop.domain, knobs.secret), "userErrors": []}


def find(info, global_id: str) -> dict | None:
    shop = info.context["shop"]
    op = next((op for op in shop.bulk_exports if op.id == global_id), None)
    return _polled(info, op)


def current(_root, info, type: str = "QUERY"):
    shop = info.context["shop"]
    return _polled(info, shop.bulk_exports[-1] if shop.bulk_exports and type == "QUERY" else None)


def cancel(_root, info, id: str):
    shop, knobs = info.context["shop"], info.context["bulk"]
    op = next((op for op in shop.bulk_exports if op.id == id), None)
    if op is None:
        return {"bulkOperation": None, "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}]}
    if op.status not in RUNNING:
        return {"bulkOperation": op.view(shop.domain, knobs.secret), "userErrors": [{
            "field": None, "message": f"A bulk operation cannot be canceled when it is {op.status.lower()}"}]}
    op.status = "CANCELED"
    return {"bulkOperation": op.view(shop.domain, knobs.secret), "userErrors": []}


def orders_count(_root, info, query: str | None = None, limit: int | None = 10000):
    from connectors.sandbox.shopify_graphql import existing_matches   # it imports this module

    count = len(existing_matches(info.context["shop"], info.context["now"], query=query))
    if limit is not None and count >= limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


def _polled(info, op: BulkExport | None) -> dict | None:
    if op is None:
        return None
    shop, knobs = info.context["shop"], info.context["bulk"]
    if op.status in ("CREATED", "RUNNING"):
        if op.polls < knobs.running_polls:
            op.polls += 1
            op.status = "RUNNING"
        elif knobs.fail_next:
            op.status, op.error_code, knobs.fail_next = "FAILED", knobs.fail_next, None
        else:
            _export(info, op)
    return op.view(shop.domain, knobs.secret)


def _export(info, op: BulkExport) -> None:
    from connectors.sandbox.shopify_graphql import matching_orders

    bulk = BulkQuery(info.schema, op.query)
    args = bulk.arguments
    roots = matching_orders(info.context["shop"], op.created_at, query=args.get("query"),
                            sort=args.get("sortKey") or "ID", reverse=bool(args.get("reverse")))
    lines = list(bulk.lines(roots))
    op.file, op.object_count, op.root_count = b"".join(lines), len(lines), len(roots)
    op.status, op.completed_at = "COMPLETED", info.context["now"]


RESOLVERS = {
    ("Mutation", "bulkOperationRunQuery"): run_query,
    ("Mutation", "bulkOperationCancel"): cancel,
    ("Query", "currentBulkOperation"): current,
    ("Query", "ordersCount"): orders_count,
}


# --- the file, behind its signed URL ------------------------------------------------------------

def _storage_error(status: int, code: str, message: str) -> Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(body, status=status, mimetype="application/xml")


def download(shop, number: str, request: Request, knobs: BulkKnobs) -> Response:
    """GET /{shop}/bulk/{n}.jsonl?signature=…: the file, as cloud storage serves a signed URL."""
    if request.headers.get("X-Shopify-Access-Token") or request.headers.get("Authorization"):
        return _storage_error(400, "InvalidArgument", "A signed URL request must not carry other credentials.")
    op = next((op for op in shop.bulk_exports if numeric_id(op.id) == number), None)
    body = op.file if op is not None else None      # read once: an export may expire it meanwhile
    if not body:
        return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
    if not hmac.compare_digest(request.args.get("signature", ""), _signature(knobs.secret, shop.domain, op.number)):
        return _storage_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
    if knobs.download_errors:
        knobs.download_errors -= 1
        response = _storage_error(503, "ServiceUnavailable", "Service Unavailable")
        response.headers["Retry-After"] = "0"
        return response
    if knobs.truncate_downloads:   # cut at a line boundary: every line parses, some are missing
        knobs.truncate_downloads -= 1
        body = body[: body.rfind(b"\n", 0, len(body) // 2) + 1]
    else:
        knobs.downloads += 1
    chunks = (body[i:i + CHUNK] for i in range(0, len(body), CHUNK))
    return Response(chunks, mimetype="application/jsonl", headers={"Content-Length": str(len(body))})

