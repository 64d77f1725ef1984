-- id: x
-- revises: base
-- migrate:up
SELECT 1;
