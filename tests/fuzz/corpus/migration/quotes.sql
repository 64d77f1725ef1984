-- id: 0002_quotes
-- revises: 0001
-- description: every kind of quote the splitter knows
-- transaction: none
-- migrate:up
CREATE FUNCTION f() RETURNS text AS $body$ SELECT 'a;b' $body$ LANGUAGE sql;
SELECT E'it\'s; fine', "odd;name" FROM t; /* a /* nested; */ comment */
-- migrate:fixtures-up
INSERT INTO t VALUES ('x');
-- migrate:fixtures-down
DELETE FROM t;
-- migrate:down
DROP FUNCTION f();
