-- id: 0006_organization_type
-- revises: 36600dac742e
-- description: organization type, telling government from vehicle suppliers
-- Existing organizations become VEHICLE_SUPPLIER; mark a real government organization by hand.
-- migrate:up
CREATE TYPE organization_type AS ENUM ('GOVERNMENT', 'VEHICLE_SUPPLIER');
ALTER TABLE organizations
  ADD COLUMN organization_type organization_type NOT NULL DEFAULT 'VEHICLE_SUPPLIER';
-- migrate:fixtures-up
INSERT INTO organizations (name, organization_type)
VALUES ('Government of British Columbia', 'GOVERNMENT');
INSERT INTO users (username, organization_id)
SELECT 'test_gov_1', id FROM organizations WHERE name = 'Government of British Columbia';
-- migrate:fixtures-down
DELETE FROM users WHERE username = 'test_gov_1';
DELETE FROM organizations WHERE name = 'Government of British Columbia';
-- migrate:down
ALTER TABLE organizations DROP COLUMN organization_type;
DROP TYPE organization_type;
