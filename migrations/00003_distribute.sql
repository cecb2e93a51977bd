-- +goose Up
-- On Citus, distribute every table by its shard key: a patient's resources,
-- history and index rows hash to the same shard (co-located with resources),
-- so one patient's reads and writes are router queries and joins push down.
-- resource_ids is distributed by id, which routes a read by id to the one
-- shard that knows its shard key. The shard count comes from the session
-- setting hce.shard_count (hce --shard-count, default 32). Without the citus
-- extension this migration changes nothing, and re-running it is a no-op.
-- +goose StatementBegin
DO $$
DECLARE
    shards int := coalesce(nullif(current_setting('hce.shard_count', true), '')::int, 32);
    t text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'resources'::regclass) THEN
        PERFORM create_distributed_table('resources', 'shard_key', shard_count := shards, colocate_with := 'none');
    END IF;
    FOREACH t IN ARRAY ARRAY['resource_history', 'idx_string', 'idx_token', 'idx_date', 'idx_number',
                             'idx_quantity', 'idx_reference', 'idx_uri', 'idx_composite'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = t::regclass) THEN
            PERFORM create_distributed_table(t, 'shard_key', colocate_with := 'resources');
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'resource_ids'::regclass) THEN
        PERFORM create_distributed_table('resource_ids', 'id', shard_count := shards, colocate_with := 'none');
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['resource_ids', 'idx_composite', 'idx_uri', 'idx_reference', 'idx_quantity',
                             'idx_number', 'idx_date', 'idx_token', 'idx_string', 'resource_history', 'resources'] LOOP
        IF EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = t::regclass) THEN
            PERFORM undistribute_table(t, cascade_via_foreign_keys := false);
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd
