-- id: a9f0bc6dbe92
-- revises: d7f8be4ac865
-- description: organizations, vehicles and users (alembic revision)
-- migrate:up
CREATE TABLE organizations (
  id bigserial PRIMARY KEY,
  name varchar(200) NOT NULL UNIQUE CHECK (length(name) > 3),
  created timestamp NOT NULL DEFAULT now(),
  updated timestamp NOT NULL DEFAULT now()
);
CREATE TABLE vehicles (
  id bigserial PRIMARY KEY,
  organization_id bigint NOT NULL REFERENCES organizations (id),
  type varchar(100) NOT NULL,
  make varchar(100) NOT NULL,
  model varchar(100) NOT NULL,
  "trim" varchar(100) NOT NULL,
  range integer NOT NULL CHECK (range > 0),
  credits numeric(10, 2) NOT NULL CHECK (credits > 0),
  created timestamp NOT NULL DEFAULT now(),
  updated timestamp NOT NULL DEFAULT now()
);
CREATE TABLE users (
  username varchar PRIMARY KEY,
  organization_id bigint NOT NULL REFERENCES organizations (id),
  created timestamp NOT NULL DEFAULT now(),
  updated timestamp NOT NULL DEFAULT now()
);
-- migrate:down
DROP TABLE users;
DROP TABLE vehicles;
DROP TABLE organizations;
