-- Observation?code-value-quantity=http://loinc.org|29463-7$gt60
SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE r.type = $1 AND NOT r.deleted AND (EXISTS (SELECT 1 FROM idx_composite i1 WHERE i1.route = r.route AND i1.type = r.type AND i1.id = r.id AND i1.param = $2 AND (((i1.c1_code = $3 AND i1.c1_system = $4) AND i1.c2_number > $5::numeric)))) ORDER BY r.id LIMIT $6
-- args: ["Observation","code-value-quantity","29463-7","http://loinc.org","60",21]
