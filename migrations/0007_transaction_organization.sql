-- id: 0007_transaction_organization
-- revises: 0006_organization_type
-- description: the organization that owns each transaction
-- Existing rows keep NULL: only government users see them.
-- migrate:up
ALTER TABLE transactions ADD COLUMN organization_id bigint NULL REFERENCES organizations (id);
CREATE INDEX transactions_organization_id_id_idx ON transactions (organization_id, id);
-- migrate:fixtures-up
UPDATE transactions
SET organization_id = (SELECT id FROM organizations WHERE name = 'Test Vehicle Supplier 1')
WHERE organization_id IS NULL
  AND (type, credits, transaction_amount) IN
      (('BOUGHT', 100, 100), ('SOLD', 200, 200), ('BOUGHT', 200, 300));
-- migrate:down
ALTER TABLE transactions DROP COLUMN organization_id;
