-- +goose Up
-- Bulk Data $export jobs. A job's state and its output files live in the
-- database, so that every server replica answers a job's status and serves
-- its files, and a job survives the restart of the server that ran it.
-- They are local tables (on Citus: on the coordinator): a job is read and
-- written by one statement at a time, and its files are written once.
CREATE TABLE export_jobs (
    id               uuid        PRIMARY KEY,
    -- accepted (waiting for a runner), running, complete or failed.
    status           text        NOT NULL,
    -- The kick-off request URL, for the manifest.
    request          text        NOT NULL,
    -- The job's parameters: level, types, _since, patients, _typeFilter,
    -- _elements, as the REST layer resolved them (fhir.ExportRequest).
    params           jsonb       NOT NULL,
    -- Who asked: a token's subject; status and files answer only them.
    owner            text        NOT NULL,
    transaction_time timestamptz NOT NULL,
    created          timestamptz NOT NULL DEFAULT now(),
    finished         timestamptz,
    -- A finished job and its files are removed after expires.
    expires          timestamptz,
    -- The runner that holds the job and until when: a runner renews its
    -- lease while it works; an expired lease lets another runner resume.
    leased_by        text,
    lease_until      timestamptz,
    attempts         integer     NOT NULL DEFAULT 0,
    exported         bigint      NOT NULL DEFAULT 0,
    error            text
);
CREATE INDEX export_jobs_status ON export_jobs (status, lease_until);

-- One row per output file of a job: resources of one type (or the
-- OperationOutcomes of the error file), numbered in the order written.
CREATE TABLE export_files (
    job_id  uuid    NOT NULL REFERENCES export_jobs (id) ON DELETE CASCADE,
    file_no integer NOT NULL,
    type    text    NOT NULL,
    is_error boolean NOT NULL DEFAULT false,
    count   bigint  NOT NULL,
    bytes   bigint  NOT NULL,
    PRIMARY KEY (job_id, file_no)
);

-- A file's bytes, in chunks of about a megabyte that a download streams in
-- order, compressed with lz4 (Synthea's Observations tenfold) at little
-- cost; a server built without lz4 keeps its default compression.
CREATE TABLE export_chunks (
    job_id   uuid    NOT NULL REFERENCES export_jobs (id) ON DELETE CASCADE,
    file_no  integer NOT NULL,
    chunk_no integer NOT NULL,
    data     bytea   NOT NULL,
    PRIMARY KEY (job_id, file_no, chunk_no)
);
-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE export_chunks ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE export_chunks;
DROP TABLE export_files;
DROP TABLE export_jobs;
