-- id: 0008_vehicles_identity_key
-- revises: 0007_transaction_organization
-- description: one vehicle per organization, make, model, type, trim and range
-- transaction: none
-- Built CONCURRENTLY so that live traffic on vehicles is not blocked. Outside a transaction a
-- failure can leave an INVALID index behind, so `up` first drops any leftover: a retry is safe.
-- It fails (naming the statement) if existing rows already repeat a model: merge those first.
-- migrate:up
DROP INDEX CONCURRENTLY IF EXISTS vehicles_identity_key;
CREATE UNIQUE INDEX CONCURRENTLY vehicles_identity_key
  ON vehicles (organization_id, make, model, type, "trim", range);
-- migrate:down
DROP INDEX CONCURRENTLY IF EXISTS vehicles_identity_key;
