-- Patient?_has:Observation:subject:code=29463-7
SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE r.type = $1 AND NOT r.deleted AND (((r.type, r.id) IN (SELECT h2.target_type, h2.target_id FROM idx_reference h2 WHERE h2.type = $5 AND h2.param = $2 AND EXISTS (SELECT 1 FROM idx_token i3 WHERE i3.route = h2.route AND i3.type = h2.type AND i3.id = h2.id AND i3.param = $3 AND ((i3.code = $4)))))) ORDER BY r.id LIMIT $6
-- args: ["Patient","subject","code","29463-7","Observation",21]
