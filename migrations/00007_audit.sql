-- +goose Up
-- AuditEvents get a table of their own. There is one per interaction, so
-- they outnumber every other type, they are never changed, and they are
-- searched by a few fields only: the resource tables' history, claims and
-- dozens of index rows per resource cost more than the read being audited.
-- Here an event is one row with the searchable fields as columns, written
-- by COPY, with time-ordered ids so that every index grows at its end.
--
-- On Citus the table stays on the coordinator, which every request passes
-- through anyway: auditing goes on while a worker is down, and a batch of
-- events is one local transaction rather than one across workers.
CREATE TABLE audit_events (
    id       uuid PRIMARY KEY,
    recorded timestamptz NOT NULL,
    patient  text,           -- the patient entity's id (search parameter patient)
    agent    text,           -- the requestor's who.reference (agent)
    entity   text,           -- the first entity's what.reference (entity)
    action   text NOT NULL,  -- C R U D E (action)
    outcome  text NOT NULL,  -- 0 4 8 12 (outcome)
    subtype  text,           -- the FHIR interaction (subtype)
    client   text,           -- the requestor's altId, the OAuth client (altid)
    address  text,           -- the requestor's network address (address)
    content  json NOT NULL  -- json, not jsonb: the server wrote it, and parsing
                            -- it into jsonb would cost more than the rest of the row
);
CREATE INDEX audit_events_recorded ON audit_events (recorded, id);
CREATE INDEX audit_events_patient ON audit_events (patient, recorded) WHERE patient IS NOT NULL;
CREATE INDEX audit_events_agent ON audit_events (agent, recorded) WHERE agent IS NOT NULL;
CREATE INDEX audit_events_entity ON audit_events (entity, recorded) WHERE entity IS NOT NULL;

-- The events recorded so far move over with their ids (the server assigned
-- them, so they are UUIDs), and leave the resource tables.
SET LOCAL citus.enable_local_execution = off;

INSERT INTO audit_events (id, recorded, patient, agent, entity, action, outcome, subtype, client, address, content)
SELECT r.id::uuid, (r.content->>'recorded')::timestamptz,
       (SELECT substr(e->'what'->>'reference', 9) FROM jsonb_array_elements(r.content->'entity') e
         WHERE e->'what'->>'reference' LIKE 'Patient/%' LIMIT 1),
       r.content->'agent'->0->'who'->>'reference',
       r.content->'entity'->0->'what'->>'reference',
       coalesce(r.content->>'action', 'E'), coalesce(r.content->>'outcome', '0'),
       r.content->'subtype'->0->>'code',
       r.content->'agent'->0->>'altId',
       r.content->'agent'->0->'network'->>'address',
       r.content::json
FROM resources r
WHERE r.type = 'AuditEvent' AND NOT r.deleted AND r.content ? 'recorded'
  AND r.id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

DELETE FROM idx_string WHERE type = 'AuditEvent';
DELETE FROM idx_token WHERE type = 'AuditEvent';
DELETE FROM idx_date WHERE type = 'AuditEvent';
DELETE FROM idx_number WHERE type = 'AuditEvent';
DELETE FROM idx_quantity WHERE type = 'AuditEvent';
DELETE FROM idx_reference WHERE type = 'AuditEvent';
DELETE FROM idx_uri WHERE type = 'AuditEvent';
DELETE FROM idx_composite WHERE type = 'AuditEvent';
DELETE FROM compartment_members WHERE type = 'AuditEvent';
DELETE FROM resource_ids WHERE type = 'AuditEvent';
DELETE FROM resource_history WHERE type = 'AuditEvent';
DELETE FROM resources WHERE type = 'AuditEvent';

-- +goose Down
SET LOCAL citus.enable_local_execution = off;

-- The events go back as plain resources; their index rows come back when
-- they are written again (hce load of an export), not here.
INSERT INTO resources (route, type, id, version_id, last_updated, deleted, content)
SELECT hce_route(id::text), 'AuditEvent', id::text, 1, recorded, false, content::jsonb FROM audit_events;
INSERT INTO resource_history (route, type, id, version_id, last_updated, deleted, content)
SELECT hce_route(id::text), 'AuditEvent', id::text, 1, recorded, false, content::jsonb FROM audit_events;
INSERT INTO resource_ids (route, type, id, home)
SELECT hce_route(id::text), 'AuditEvent', id::text, hce_route(id::text) FROM audit_events;
DROP TABLE audit_events;
