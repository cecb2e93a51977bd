-- Observation?code=http://loinc.org|8867-4,|29463-7
SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE r.type = $1 AND NOT r.deleted AND (EXISTS (SELECT 1 FROM idx_token i1 WHERE i1.route = r.route AND i1.type = r.type AND i1.id = r.id AND i1.param = $2 AND ((i1.code = $3 AND i1.system = $4) OR (i1.code = $5 AND i1.system IS NULL)))) ORDER BY r.id LIMIT $6
-- args: ["Observation","code","8867-4","http://loinc.org","29463-7",21]
