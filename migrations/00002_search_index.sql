-- +goose Up
-- Search index rows: one table per search-parameter type, each row one value
-- a parameter extracted from the current version of a resource. Every table
-- starts with the resource's shard key so that on Citus the rows live on the
-- shard of the resource they index and the EXISTS joins from resources push
-- down. param is the search parameter's code.
CREATE TABLE idx_string (
    shard_key text NOT NULL,
    type      text NOT NULL,
    id        text NOT NULL,
    param     text NOT NULL,
    value     text NOT NULL, -- normalised: case-folded, accents removed
    exact     text NOT NULL  -- as written, for :exact
);
CREATE INDEX idx_string_value ON idx_string (type, param, value text_pattern_ops);
CREATE INDEX idx_string_resource ON idx_string (shard_key, type, id);

CREATE TABLE idx_token (
    shard_key   text NOT NULL,
    type        text NOT NULL,
    id          text NOT NULL,
    param       text NOT NULL,
    system      text,          -- NULL when the value has no system
    code        text,
    text        text,          -- normalised display/text, for :text
    type_system text,          -- Identifier.type coding, for :of-type
    type_code   text
);
CREATE INDEX idx_token_code ON idx_token (type, param, code, system);
CREATE INDEX idx_token_resource ON idx_token (shard_key, type, id);

CREATE TABLE idx_date (
    shard_key text NOT NULL,
    type      text NOT NULL,
    id        text NOT NULL,
    param     text NOT NULL,
    lo        timestamptz NOT NULL, -- the value as a half-open range [lo, hi)
    hi        timestamptz NOT NULL  -- of its precision; open ends are ±infinity
);
CREATE INDEX idx_date_lo ON idx_date (type, param, lo);
CREATE INDEX idx_date_hi ON idx_date (type, param, hi);
CREATE INDEX idx_date_resource ON idx_date (shard_key, type, id);

CREATE TABLE idx_number (
    shard_key text NOT NULL,
    type      text NOT NULL,
    id        text NOT NULL,
    param     text NOT NULL,
    value     numeric NOT NULL
);
CREATE INDEX idx_number_value ON idx_number (type, param, value);
CREATE INDEX idx_number_resource ON idx_number (shard_key, type, id);

CREATE TABLE idx_quantity (
    shard_key text NOT NULL,
    type      text NOT NULL,
    id        text NOT NULL,
    param     text NOT NULL,
    value     numeric NOT NULL,
    system    text,
    code      text, -- the coded unit, or the free-text unit when there is no code
    unit      text
);
CREATE INDEX idx_quantity_value ON idx_quantity (type, param, code, value);
CREATE INDEX idx_quantity_resource ON idx_quantity (shard_key, type, id);

CREATE TABLE idx_reference (
    shard_key   text NOT NULL,
    type        text NOT NULL,
    id          text NOT NULL,
    param       text NOT NULL,
    target_type text, -- set for literal references to a resource (Type/id)
    target_id   text,
    url         text  -- the reference as written when it is absolute or canonical
);
CREATE INDEX idx_reference_target ON idx_reference (target_id, target_type, param, type);
CREATE INDEX idx_reference_url ON idx_reference (url) WHERE url IS NOT NULL;
CREATE INDEX idx_reference_resource ON idx_reference (shard_key, type, id);

CREATE TABLE idx_uri (
    shard_key text NOT NULL,
    type      text NOT NULL,
    id        text NOT NULL,
    param     text NOT NULL,
    value     text NOT NULL
);
CREATE INDEX idx_uri_value ON idx_uri (type, param, value);
CREATE INDEX idx_uri_resource ON idx_uri (shard_key, type, id);

-- A composite value keeps its components side by side: the first is always
-- a token (or a reference, written Type/id in c1_code); the second a token,
-- quantity, number, date or string; R4's three-part composites add a number.
CREATE TABLE idx_composite (
    shard_key text NOT NULL,
    type      text NOT NULL,
    id        text NOT NULL,
    param     text NOT NULL,
    c1_system text,
    c1_code   text,
    c2_system text,
    c2_code   text,
    c2_number numeric,
    c2_lo     timestamptz,
    c2_hi     timestamptz,
    c2_string text,
    c3_number numeric
);
CREATE INDEX idx_composite_code ON idx_composite (type, param, c1_code, c2_code);
CREATE INDEX idx_composite_resource ON idx_composite (shard_key, type, id);

-- Index rows have no natural key. REPLICA IDENTITY FULL lets Citus move
-- their shards online (logical replication) when workers are added.
ALTER TABLE idx_string REPLICA IDENTITY FULL;
ALTER TABLE idx_token REPLICA IDENTITY FULL;
ALTER TABLE idx_date REPLICA IDENTITY FULL;
ALTER TABLE idx_number REPLICA IDENTITY FULL;
ALTER TABLE idx_quantity REPLICA IDENTITY FULL;
ALTER TABLE idx_reference REPLICA IDENTITY FULL;
ALTER TABLE idx_uri REPLICA IDENTITY FULL;
ALTER TABLE idx_composite REPLICA IDENTITY FULL;

-- +goose Down
DROP TABLE idx_composite;
DROP TABLE idx_uri;
DROP TABLE idx_reference;
DROP TABLE idx_quantity;
DROP TABLE idx_number;
DROP TABLE idx_date;
DROP TABLE idx_token;
DROP TABLE idx_string;
