"""The subset of Shopify's GraphQL Admin schema the sandbox serves (field names and types as in
the 2025-10 reference). Only what a fulfillment app reads or writes is here; the shapes
(connections with edges/nodes/pageInfo, MoneyBag, UserError, the ReturnLineItemType interface)
are the real ones so a query written against Shopify runs unchanged against the sandbox."""

SDL = '''
scalar DateTime
scalar Decimal
scalar URL

interface Node {
  id: ID!
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

enum CurrencyCode { USD CAD EUR GBP MXN }
enum CountryCode { US CA MX }
enum WeightUnit { GRAMS KILOGRAMS OUNCES POUNDS }
enum OrderSortKeys {
  CREATED_AT CUSTOMER_NAME FINANCIAL_STATUS FULFILLMENT_STATUS ID ORDER_NUMBER
  PROCESSED_AT RELEVANCE TOTAL_PRICE UPDATED_AT
}
enum OrderTransactionKind {
  AUTHORIZATION CAPTURE CHANGE EMV_AUTHORIZATION REFUND SALE SUGGESTED_REFUND VOID
}
enum OrderTransactionStatus { AWAITING_RESPONSE ERROR FAILURE PENDING SUCCESS UNKNOWN }
enum OrderReturnStatus {
  IN_PROGRESS INSPECTION_COMPLETE NO_RETURN RETURN_FAILED RETURN_REQUESTED RETURNED
}
enum FulfillmentOrderStatus { CANCELLED CLOSED IN_PROGRESS INCOMPLETE ON_HOLD OPEN SCHEDULED }
enum FulfillmentStatus { CANCELLED ERROR FAILURE OPEN PENDING SUCCESS }
enum ReturnStatus { CANCELED CLOSED DECLINED OPEN REQUESTED }
enum ReturnReason {
  COLOR DEFECTIVE NOT_AS_DESCRIBED OTHER SIZE_TOO_LARGE SIZE_TOO_SMALL STYLE UNKNOWN
  UNWANTED WRONG_ITEM
}

type MoneyV2 {
  amount: Decimal!
  currencyCode: CurrencyCode!
}

type MoneyBag {
  shopMoney: MoneyV2!
  presentmentMoney: MoneyV2!
}

type Weight {
  unit: WeightUnit!
  value: Float!
}

type InventoryItemMeasurement implements Node {
  id: ID!
  weight: Weight
}

type InventoryItem implements Node {
  id: ID!
  sku: String
  measurement: InventoryItemMeasurement!
}

type ProductVariant implements Node {
  id: ID!
  sku: String
  title: String!
  inventoryItem: InventoryItem!
}

type Customer implements Node {
  id: ID!
  displayName: String!
}

type MailingAddress implements Node {
  id: ID!
  name: String
  firstName: String
  lastName: String
  address1: String
  address2: String
  city: String
  province: String
  provinceCode: String
  zip: String
  country: String
  countryCodeV2: CountryCode
  phone: String
}

type ShippingLine {
  id: ID
  code: String
  title: String!
  source: String
  originalPriceSet: MoneyBag!
}

type LineItem implements Node {
  id: ID!
  name: String!
  title: String!
  sku: String
  quantity: Int!
  originalUnitPriceSet: MoneyBag!
  variant: ProductVariant
}

type LineItemEdge {
  cursor: String!
  node: LineItem!
}

type LineItemConnection {
  edges: [LineItemEdge!]!
  nodes: [LineItem!]!
  pageInfo: PageInfo!
}

type OrderTransaction implements Node {
  id: ID!
  gateway: String
  authorizationCode: String
  kind: OrderTransactionKind!
  status: OrderTransactionStatus!
  amountSet: MoneyBag!
  createdAt: DateTime!
  processedAt: DateTime
}

type FulfillmentOrder implements Node {
  id: ID!
  status: FulfillmentOrderStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
}

type FulfillmentOrderEdge {
  cursor: String!
  node: FulfillmentOrder!
}

type FulfillmentOrderConnection {
  edges: [FulfillmentOrderEdge!]!
  nodes: [FulfillmentOrder!]!
  pageInfo: PageInfo!
}

type FulfillmentTrackingInfo {
  company: String
  number: String
  url: URL
}

type FulfillmentLineItem implements Node {
  id: ID!
  quantity: Int
  lineItem: LineItem!
}

type FulfillmentLineItemEdge {
  cursor: String!
  node: FulfillmentLineItem!
}

type FulfillmentLineItemConnection {
  edges: [FulfillmentLineItemEdge!]!
  nodes: [FulfillmentLineItem!]!
  pageInfo: PageInfo!
}

type Fulfillment implements Node {
  id: ID!
  name: String!
  status: FulfillmentStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
  fulfillmentLineItems(first: Int, after: String): FulfillmentLineItemConnection!
}

interface ReturnLineItemType {
  id: ID!
  quantity: Int!
  returnReason: ReturnReason!
  returnReasonNote: String!
  customerNote: String
}

type ReturnLineItem implements ReturnLineItemType & Node {
  id: ID!
  quantity: Int!
  returnReason: ReturnReason!
  returnReasonNote: String!
  customerNote: String
  fulfillmentLineItem: FulfillmentLineItem!
}

type ReturnLineItemTypeEdge {
  cursor: String!
  node: ReturnLineItemType!
}

type ReturnLineItemTypeConnection {
  edges: [ReturnLineItemTypeEdge!]!
  nodes: [ReturnLineItemType!]!
  pageInfo: PageInfo!
}

type Return implements Node {
  id: ID!
  name: String!
  status: ReturnStatus!
  createdAt: DateTime!
  totalQuantity: Int!
  order: Order!
  returnLineItems(first: Int, after: String): ReturnLineItemTypeConnection!
}

type ReturnEdge {
  cursor: String!
  node: Return!
}

type ReturnConnection {
  edges: [ReturnEdge!]!
  nodes: [Return!]!
  pageInfo: PageInfo!
}

type Order implements Node {
  id: ID!
  name: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  processedAt: DateTime!
  email: String
  customer: Customer
  shippingAddress: MailingAddress
  shippingLine: ShippingLine
  currencyCode: CurrencyCode!
  totalPriceSet: MoneyBag!
  returnStatus: OrderReturnStatus!
  lineItems(first: Int, after: String): LineItemConnection!
  transactions(first: Int): [OrderTransaction!]!
  fulfillmentOrders(first: Int, after: String): FulfillmentOrderConnection!
  fulfillments(first: Int): [Fulfillment!]!
  returns(first: Int, after: String): ReturnConnection!
}

type OrderEdge {
  cursor: String!
  node: Order!
}

type OrderConnection {
  edges: [OrderEdge!]!
  nodes: [Order!]!
  pageInfo: PageInfo!
}

type Shop {
  id: ID!
  name: String!
  myshopifyDomain: String!
  currencyCode: CurrencyCode!
  ianaTimezone: String!
}

type Query {
  shop: Shop!
  order(id: ID!): Order
  orders(first: Int, after: String, last: Int, before: String, query: String,
         sortKey: OrderSortKeys = ID, reverse: Boolean = false): OrderConnection!
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
}

type UserError {
  field: [String!]
  message: String!
}

input FulfillmentOrderLineItemInput {
  id: ID!
  quantity: Int!
}

input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID!
  fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}

input FulfillmentTrackingInput {
  number: String
  url: URL
  company: String
  numbers: [String!]
  urls: [URL!]
}

input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
  notifyCustomer: Boolean = false
  trackingInfo: FulfillmentTrackingInput
}

type FulfillmentCreatePayload {
  fulfillment: Fulfillment
  userErrors: [UserError!]!
}

type Mutation {
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
}
'''
