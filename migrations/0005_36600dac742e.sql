-- id: 36600dac742e
-- revises: a9f0bc6dbe92
-- description: test suppliers, users and vehicles (alembic revision; fixtures only)
-- migrate:up
-- migrate:fixtures-up
INSERT INTO organizations (name)
VALUES ('Test Vehicle Supplier 1'), ('Test Vehicle Supplier 2'), ('Test Vehicle Supplier 3');
INSERT INTO users (username, organization_id)
SELECT 'test_vs_1', id FROM organizations WHERE name = 'Test Vehicle Supplier 1';
INSERT INTO users (username, organization_id)
SELECT 'test_vs_2', id FROM organizations WHERE name = 'Test Vehicle Supplier 2';
INSERT INTO vehicles (organization_id, type, make, model, "trim", range, credits)
SELECT o.id, v.type, v.make, v.model, v."trim", v.range, v.credits
FROM organizations o,
     (VALUES ('BZEV', 'Optimus Prime', 'Model A', 'XL', 150, 100.2),
             ('BZEV', 'Optimus Prime', 'Model A', 'XLS', 250, 300.5),
             ('HEV', 'Optimus Prime', 'Model T', 'Import', 500, 700.5))
       AS v (type, make, model, "trim", range, credits)
WHERE o.name = 'Test Vehicle Supplier 1';
-- migrate:fixtures-down
DELETE FROM vehicles
WHERE organization_id IN (SELECT id FROM organizations WHERE name LIKE 'Test Vehicle Supplier _');
DELETE FROM users WHERE username IN ('test_vs_1', 'test_vs_2');
DELETE FROM organizations WHERE name LIKE 'Test Vehicle Supplier _';
-- migrate:down
