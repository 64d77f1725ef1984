-- id: df6d9e741373
-- revises: beadb98386c8
-- description: transactions and their type (alembic revision)
-- migrate:up
CREATE TYPE v1transactiontypes AS ENUM ('VALIDATION', 'REDUCTION', 'SOLD', 'BOUGHT');
CREATE TABLE transactions (
  id bigserial PRIMARY KEY,
  type v1transactiontypes NOT NULL,
  credits integer NOT NULL,
  transaction_amount bigint NOT NULL,
  created timestamp NOT NULL DEFAULT now(),
  updated timestamp NOT NULL DEFAULT now()
);
-- migrate:down
DROP TABLE transactions;
DROP TYPE v1transactiontypes;
