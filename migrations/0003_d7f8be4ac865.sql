-- id: d7f8be4ac865
-- revises: df6d9e741373
-- description: test transactions (alembic revision; fixtures only)
-- migrate:up
-- migrate:fixtures-up
INSERT INTO transactions (type, credits, transaction_amount)
VALUES ('BOUGHT', 100, 100), ('SOLD', 200, 200), ('BOUGHT', 200, 300);
-- migrate:fixtures-down
DELETE FROM transactions
WHERE (type, credits, transaction_amount) IN
      (('BOUGHT', 100, 100), ('SOLD', 200, 200), ('BOUGHT', 200, 300));
-- migrate:down
