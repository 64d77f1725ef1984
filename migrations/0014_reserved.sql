-- id: 0014_reserved
-- revises: 0013_change_notifications
-- description: placeholder for the number 0014, which another branch's migration takes
-- Migrations are numbered 1..N without gaps; 0014 belongs to work merged separately. When that
-- branch and this one meet, this file is deleted and 0015's `revises:` names that 0014.
-- migrate:up
SELECT 1;
-- migrate:down
SELECT 1;
