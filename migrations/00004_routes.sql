-- +goose Up
-- Routes replace patient ids as the distribution column, and resources
-- outside every Patient compartment move to reference tables.
--
-- A route (0-65535, fhir.RouteOf in Go, hce_route here) is what an id
-- names: the first four hex digits of a lowercase UUID, else the first 16
-- bits of its md5. Every row of a patient's compartment carries the
-- patient's route, and the server assigns ids that name their patient's
-- route, so a read by id knows its shard group from the id alone and a
-- write of a patient's resources stays in one shard group. A resource whose
-- id names another route (a client-assigned id) has a forwarding row in
-- resource_ids at the route its id names.
--
-- Content becomes jsonb (numbers keep their digits as numeric).
-- +goose StatementBegin
CREATE FUNCTION hce_route(id text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ('x' || substr(CASE WHEN id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                               THEN id ELSE md5(id) END, 1, 4))::bit(16)::integer
$$;
-- +goose StatementEnd

-- The Patient compartment's (type, parameter) pairs, from the R4
-- CompartmentDefinition; a test keeps them equal to the ones the server embeds.
-- +goose StatementBegin
CREATE FUNCTION hce_compartment_pairs() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[
        'Account.subject', 'AdverseEvent.subject', 'AllergyIntolerance.asserter', 'AllergyIntolerance.patient', 
        'AllergyIntolerance.recorder', 'Appointment.actor', 'AppointmentResponse.actor', 'AuditEvent.patient', 
        'Basic.author', 'Basic.patient', 'BodyStructure.patient', 'CarePlan.patient', 'CarePlan.performer', 
        'CareTeam.participant', 'CareTeam.patient', 'ChargeItem.subject', 'Claim.patient', 'Claim.payee', 
        'ClaimResponse.patient', 'ClinicalImpression.subject', 'Communication.recipient', 'Communication.sender', 
        'Communication.subject', 'CommunicationRequest.recipient', 'CommunicationRequest.requester', 
        'CommunicationRequest.sender', 'CommunicationRequest.subject', 'Composition.attester', 'Composition.author', 
        'Composition.subject', 'Condition.asserter', 'Condition.patient', 'Consent.patient', 'Coverage.beneficiary', 
        'Coverage.payor', 'Coverage.policy-holder', 'Coverage.subscriber', 'CoverageEligibilityRequest.patient', 
        'CoverageEligibilityResponse.patient', 'DetectedIssue.patient', 'DeviceRequest.performer', 
        'DeviceRequest.subject', 'DeviceUseStatement.subject', 'DiagnosticReport.subject', 'DocumentManifest.author', 
        'DocumentManifest.recipient', 'DocumentManifest.subject', 'DocumentReference.author', 
        'DocumentReference.subject', 'Encounter.subject', 'EnrollmentRequest.subject', 'EpisodeOfCare.patient', 
        'ExplanationOfBenefit.patient', 'ExplanationOfBenefit.payee', 'FamilyMemberHistory.patient', 'Flag.patient', 
        'Goal.patient', 'Group.member', 'ImagingStudy.patient', 'Immunization.patient', 
        'ImmunizationEvaluation.patient', 'ImmunizationRecommendation.patient', 'Invoice.patient', 
        'Invoice.recipient', 'Invoice.subject', 'List.source', 'List.subject', 'MeasureReport.patient', 
        'Media.subject', 'MedicationAdministration.patient', 'MedicationAdministration.performer', 
        'MedicationAdministration.subject', 'MedicationDispense.patient', 'MedicationDispense.receiver', 
        'MedicationDispense.subject', 'MedicationRequest.subject', 'MedicationStatement.subject', 
        'MolecularSequence.patient', 'NutritionOrder.patient', 'Observation.performer', 'Observation.subject', 
        'Patient.link', 'Person.patient', 'Procedure.patient', 'Procedure.performer', 'Provenance.patient', 
        'QuestionnaireResponse.author', 'QuestionnaireResponse.subject', 'RelatedPerson.patient', 
        'RequestGroup.participant', 'RequestGroup.subject', 'ResearchSubject.individual', 'RiskAssessment.subject', 
        'Schedule.actor', 'ServiceRequest.performer', 'ServiceRequest.subject', 'Specimen.subject', 
        'SupplyDelivery.patient', 'SupplyRequest.subject', 'Task.focus', 'Task.patient', 'VisionPrescription.patient'
    ]
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['resources', 'resource_history', 'resource_ids', 'idx_string', 'idx_token',
                             'idx_date', 'idx_number', 'idx_quantity', 'idx_reference', 'idx_uri', 'idx_composite'] LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', t, 'old_' || t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- The tables of resources in the Patient compartment, distributed by route.
-- resources holds the current version of each (deleted ones as tombstones).
CREATE TABLE resources (
    route        integer     NOT NULL,
    type         text        NOT NULL,
    id           text        NOT NULL,
    version_id   bigint      NOT NULL,
    last_updated timestamptz NOT NULL,
    deleted      boolean     NOT NULL DEFAULT false,
    content      jsonb
);
-- resource_history keeps every version, the current one included.
CREATE TABLE resource_history (
    route        integer     NOT NULL,
    type         text        NOT NULL,
    id           text        NOT NULL,
    version_id   bigint      NOT NULL,
    last_updated timestamptz NOT NULL,
    deleted      boolean     NOT NULL DEFAULT false,
    content      jsonb
);
-- resource_ids claims each id of a compartment type (but Patient) at the
-- route the id names, home being the route its rows live on: usually the
-- same, so the claim is written with the resource in one shard group.
CREATE TABLE resource_ids (
    route integer NOT NULL,
    type  text    NOT NULL,
    id    text    NOT NULL,
    home  integer NOT NULL
);
-- compartment_members lists, at a patient's route, the resources in the
-- patient's compartment that live on another route (an Observation whose
-- subject is one patient and performer another): searches of the patient
-- read those routes too.
CREATE TABLE compartment_members (
    route   integer NOT NULL,
    patient text    NOT NULL,
    type    text    NOT NULL,
    id      text    NOT NULL,
    home    integer NOT NULL
);

-- Resources outside every Patient compartment (Practitioner, Organization,
-- Location, Medication …): on Citus, reference tables replicated to every
-- node, so that a patient's worker joins them locally. route is hce_route(id).
CREATE TABLE shared_resources (LIKE resources INCLUDING DEFAULTS);
CREATE TABLE shared_history (LIKE resource_history INCLUDING DEFAULTS);

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['string', 'token', 'date', 'number', 'quantity', 'reference', 'uri', 'composite'] LOOP
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', 'idx_' || t, 'old_idx_' || t);
        EXECUTE format('ALTER TABLE %I DROP COLUMN shard_key, ADD COLUMN route integer NOT NULL', 'idx_' || t);
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', 'shared_idx_' || t, 'idx_' || t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    shards int := coalesce(nullif(current_setting('hce.shard_count', true), '')::int, 32);
    t text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    PERFORM create_distributed_table('resources', 'route', shard_count := shards, colocate_with := 'none');
    FOREACH t IN ARRAY ARRAY['resource_history', 'resource_ids', 'compartment_members', 'idx_string', 'idx_token',
                             'idx_date', 'idx_number', 'idx_quantity', 'idx_reference', 'idx_uri', 'idx_composite'] LOOP
        PERFORM create_distributed_table(t, 'route', colocate_with := 'resources');
    END LOOP;
    FOREACH t IN ARRAY ARRAY['shared_resources', 'shared_history', 'shared_idx_string', 'shared_idx_token',
                             'shared_idx_date', 'shared_idx_number', 'shared_idx_quantity', 'shared_idx_reference',
                             'shared_idx_uri', 'shared_idx_composite'] LOOP
        PERFORM create_reference_table(t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- Existing data moves over. The compartment pairs tell compartment rows from
-- shared ones and which references make a resource a member of another
-- patient's compartment.
-- +goose StatementBegin
DO $$
DECLARE
    pairs text[] := hce_compartment_pairs();
    types text[] := ARRAY(SELECT DISTINCT split_part(p, '.', 1) FROM unnest(pairs) p);
    t text;
    cols text;
BEGIN
    FOREACH t IN ARRAY ARRAY['resources', 'resource_history', 'idx_string', 'idx_token', 'idx_date', 'idx_number',
                             'idx_quantity', 'idx_reference', 'idx_uri', 'idx_composite'] LOOP
        SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
        FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'old_' || t AND column_name <> 'shard_key';
        cols := replace(cols, '"content"', 'content::jsonb');
        EXECUTE format('INSERT INTO %I (route, %s) SELECT hce_route(shard_key), %s FROM %I WHERE type = ANY(%L)',
                       t, replace(cols, 'content::jsonb', 'content'), cols, 'old_' || t, types);
        EXECUTE format('INSERT INTO %I (route, %s) SELECT hce_route(shard_key), %s FROM %I WHERE NOT type = ANY(%L)',
                       CASE t WHEN 'resources' THEN 'shared_resources' WHEN 'resource_history' THEN 'shared_history'
                              ELSE 'shared_' || t END,
                       replace(cols, 'content::jsonb', 'content'), cols, 'old_' || t, types);
    END LOOP;
    INSERT INTO resource_ids (route, type, id, home)
    SELECT hce_route(id), type, id, hce_route(shard_key) FROM old_resource_ids
    WHERE type = ANY(types) AND type <> 'Patient';
    INSERT INTO compartment_members (route, patient, type, id, home)
    SELECT DISTINCT hce_route(target_id), target_id, type, id, route FROM idx_reference
    WHERE target_type = 'Patient' AND type || '.' || param = ANY(pairs) AND hce_route(target_id) <> route;
END
$$;
-- +goose StatementEnd

DROP TABLE old_idx_composite, old_idx_uri, old_idx_reference, old_idx_quantity, old_idx_number, old_idx_date,
    old_idx_token, old_idx_string, old_resource_ids, old_resource_history, old_resources;

ALTER TABLE resources ADD PRIMARY KEY (route, type, id);
ALTER TABLE resource_history ADD PRIMARY KEY (route, type, id, version_id);
ALTER TABLE resource_ids ADD PRIMARY KEY (route, type, id);
ALTER TABLE compartment_members ADD PRIMARY KEY (route, patient, type, id);
ALTER TABLE shared_resources ADD PRIMARY KEY (route, type, id);
ALTER TABLE shared_history ADD PRIMARY KEY (route, type, id, version_id);
CREATE INDEX resources_type_last_updated ON resources (type, last_updated);
CREATE INDEX resources_type_id ON resources (type, id);
CREATE INDEX resource_history_type_time ON resource_history (type, last_updated, id, version_id);
CREATE INDEX resource_history_time ON resource_history (last_updated, type, id, version_id);
CREATE INDEX shared_resources_type_last_updated ON shared_resources (type, last_updated);
CREATE INDEX shared_resources_type_id ON shared_resources (type, id);
CREATE INDEX shared_history_type_time ON shared_history (type, last_updated, id, version_id);
CREATE INDEX shared_history_time ON shared_history (last_updated, type, id, version_id);

-- The index tables' indexes, the same for both classes: by value for
-- searching, by resource for joins and for replacing a resource's rows.
-- +goose StatementBegin
DO $$
DECLARE
    p text;
    t text;
BEGIN
    FOREACH p IN ARRAY ARRAY['', 'shared_'] LOOP
        EXECUTE format('CREATE INDEX %1$s ON %2$s (type, param, value text_pattern_ops)', p || 'idx_string_value', p || 'idx_string');
        EXECUTE format('CREATE INDEX %1$s ON %2$s (type, param, code, system)', p || 'idx_token_code', p || 'idx_token');
        EXECUTE format('CREATE INDEX %1$s ON %2$s (type, param, lo)', p || 'idx_date_lo', p || 'idx_date');
        EXECUTE format('CREATE INDEX %1$s ON %2$s (type, param, hi)', p || 'idx_date_hi', p || 'idx_date');
        EXECUTE format('CREATE INDEX %1$s ON %2$s (type, param, value)', p || 'idx_number_value', p || 'idx_number');
        EXECUTE format('CREATE INDEX %1$s ON %2$s (type, param, code, value)', p || 'idx_quantity_value', p || 'idx_quantity');
        EXECUTE format('CREATE INDEX %1$s ON %2$s (target_id, target_type, param, type)', p || 'idx_reference_target', p || 'idx_reference');
        EXECUTE format('CREATE INDEX %1$s ON %2$s (url) WHERE url IS NOT NULL', p || 'idx_reference_url', p || 'idx_reference');
        EXECUTE format('CREATE INDEX %1$s ON %2$s (type, param, value)', p || 'idx_uri_value', p || 'idx_uri');
        EXECUTE format('CREATE INDEX %1$s ON %2$s (type, param, c1_code, c2_code)', p || 'idx_composite_code', p || 'idx_composite');
        FOREACH t IN ARRAY ARRAY['string', 'token', 'date', 'number', 'quantity', 'reference', 'uri', 'composite'] LOOP
            EXECUTE format('CREATE INDEX %1$s ON %2$s (route, type, id)', p || 'idx_' || t || '_resource', p || 'idx_' || t);
            -- Index rows have no natural key; Citus moves shards online by logical replication.
            EXECUTE format('ALTER TABLE %I REPLICA IDENTITY FULL', p || 'idx_' || t);
        END LOOP;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Back to tables keyed by patient id: a compartment resource's shard key
-- becomes a patient it references through a compartment parameter (the
-- least id when there are several).
-- +goose StatementBegin
DO $$
DECLARE
    pairs text[] := hce_compartment_pairs();
    shards int := coalesce(nullif(current_setting('hce.shard_count', true), '')::int, 32);
    t text;
    cols text;
    key text := $k$coalesce(CASE WHEN s.type = 'Patient' THEN s.id END,
        (SELECT min(x.target_id) FROM %2$I x WHERE x.route = s.route AND x.type = s.type AND x.id = s.id
           AND x.target_type = 'Patient' AND x.type || '.' || x.param = ANY(%3$L)), s.id)$k$;
BEGIN
    FOREACH t IN ARRAY ARRAY['resources', 'resource_history', 'idx_string', 'idx_token', 'idx_date', 'idx_number',
                             'idx_quantity', 'idx_reference', 'idx_uri', 'idx_composite'] LOOP
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', 'old_' || t, t);
        EXECUTE format('ALTER TABLE %I DROP COLUMN route, ADD COLUMN shard_key text NOT NULL', 'old_' || t);
        IF t IN ('resources', 'resource_history') THEN
            EXECUTE format('ALTER TABLE %I ALTER COLUMN content TYPE json', 'old_' || t);
        END IF;
        SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
        FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = t AND column_name <> 'route';
        EXECUTE format('INSERT INTO %1$I (shard_key, %2$s) SELECT ' || format(key, NULL, 'idx_reference', pairs) || ', %2$s FROM %3$I s',
                       'old_' || t, cols, t);
        EXECUTE format('INSERT INTO %1$I (shard_key, %2$s) SELECT s.id, %2$s FROM %3$I s', 'old_' || t, cols,
                       CASE t WHEN 'resources' THEN 'shared_resources' WHEN 'resource_history' THEN 'shared_history'
                              ELSE 'shared_' || t END);
    END LOOP;
    CREATE TABLE old_resource_ids (id text NOT NULL, type text NOT NULL, shard_key text NOT NULL);
    INSERT INTO old_resource_ids (id, type, shard_key) SELECT id, type, shard_key FROM old_resources;
    DROP TABLE idx_composite, idx_uri, idx_reference, idx_quantity, idx_number, idx_date, idx_token, idx_string,
        shared_idx_composite, shared_idx_uri, shared_idx_reference, shared_idx_quantity, shared_idx_number,
        shared_idx_date, shared_idx_token, shared_idx_string, compartment_members, resource_ids, resource_history,
        resources, shared_history, shared_resources;
    FOREACH t IN ARRAY ARRAY['resources', 'resource_history', 'resource_ids', 'idx_string', 'idx_token',
                             'idx_date', 'idx_number', 'idx_quantity', 'idx_reference', 'idx_uri', 'idx_composite'] LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', 'old_' || t, t);
    END LOOP;
    ALTER TABLE resource_ids ADD PRIMARY KEY (id, type);
    ALTER TABLE resources ADD PRIMARY KEY (shard_key, type, id);
    ALTER TABLE resource_history ADD PRIMARY KEY (shard_key, type, id, version_id);
    CREATE INDEX resources_type_last_updated ON resources (type, last_updated);
    CREATE INDEX resources_type_id ON resources (type, id);
    CREATE INDEX resource_history_type_time ON resource_history (type, last_updated, id, version_id);
    CREATE INDEX resource_history_time ON resource_history (last_updated, type, id, version_id);
    CREATE INDEX idx_string_value ON idx_string (type, param, value text_pattern_ops);
    CREATE INDEX idx_token_code ON idx_token (type, param, code, system);
    CREATE INDEX idx_date_lo ON idx_date (type, param, lo);
    CREATE INDEX idx_date_hi ON idx_date (type, param, hi);
    CREATE INDEX idx_number_value ON idx_number (type, param, value);
    CREATE INDEX idx_quantity_value ON idx_quantity (type, param, code, value);
    CREATE INDEX idx_reference_target ON idx_reference (target_id, target_type, param, type);
    CREATE INDEX idx_reference_url ON idx_reference (url) WHERE url IS NOT NULL;
    CREATE INDEX idx_uri_value ON idx_uri (type, param, value);
    CREATE INDEX idx_composite_code ON idx_composite (type, param, c1_code, c2_code);
    FOREACH t IN ARRAY ARRAY['string', 'token', 'date', 'number', 'quantity', 'reference', 'uri', 'composite'] LOOP
        EXECUTE format('CREATE INDEX %I ON %I (shard_key, type, id)', 'idx_' || t || '_resource', 'idx_' || t);
        EXECUTE format('ALTER TABLE %I REPLICA IDENTITY FULL', 'idx_' || t);
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        PERFORM create_distributed_table('resources', 'shard_key', shard_count := shards, colocate_with := 'none');
        FOREACH t IN ARRAY ARRAY['resource_history', 'idx_string', 'idx_token', 'idx_date', 'idx_number',
                                 'idx_quantity', 'idx_reference', 'idx_uri', 'idx_composite'] LOOP
            PERFORM create_distributed_table(t, 'shard_key', colocate_with := 'resources');
        END LOOP;
        PERFORM create_distributed_table('resource_ids', 'id', shard_count := shards, colocate_with := 'none');
    END IF;
END
$$;
-- +goose StatementEnd

DROP FUNCTION hce_compartment_pairs();
DROP FUNCTION hce_route(text);
