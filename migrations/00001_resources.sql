-- +goose Up
-- resource_ids routes a read by type and id to its shard key without fanning
-- out: it is keyed (and, on Citus, distributed) by id.
CREATE TABLE resource_ids (
    id        text NOT NULL,
    type      text NOT NULL,
    shard_key text NOT NULL,
    PRIMARY KEY (id, type)
);

-- resources holds the current version of every resource, deleted ones
-- included (as tombstones, so that a read answers 410 and the next version
-- number is known). shard_key is the patient the resource belongs to.
-- content is json, not jsonb: json keeps the text as written (1E-22 stays
-- 1E-22, 1.50 stays 1.50), and searches read index tables, not content.
CREATE TABLE resources (
    shard_key    text        NOT NULL,
    type         text        NOT NULL,
    id           text        NOT NULL,
    version_id   bigint      NOT NULL,
    last_updated timestamptz NOT NULL,
    deleted      boolean     NOT NULL DEFAULT false,
    content      json,
    PRIMARY KEY (shard_key, type, id)
);
CREATE INDEX resources_type_last_updated ON resources (type, last_updated);
CREATE INDEX resources_type_id ON resources (type, id);

-- resource_history keeps every version, the current one included; content is
-- NULL for a deletion.
CREATE TABLE resource_history (
    shard_key    text        NOT NULL,
    type         text        NOT NULL,
    id           text        NOT NULL,
    version_id   bigint      NOT NULL,
    last_updated timestamptz NOT NULL,
    deleted      boolean     NOT NULL DEFAULT false,
    content      json,
    PRIMARY KEY (shard_key, type, id, version_id)
);
CREATE INDEX resource_history_type_time ON resource_history (type, last_updated, id, version_id);
CREATE INDEX resource_history_time ON resource_history (last_updated, type, id, version_id);

-- +goose Down
DROP TABLE resource_history;
DROP TABLE resources;
DROP TABLE resource_ids;
