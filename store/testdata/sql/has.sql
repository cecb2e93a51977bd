-- Patient?_has:Observation:subject:code=29463-7
SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE r.type = $1 AND NOT r.deleted AND (((r.type, r.id) IN (SELECT h3.target_type, h3.target_id FROM idx_reference h3 WHERE h3.type = ANY($5) AND h3.param = $2 AND EXISTS (SELECT 1 FROM idx_token i4 WHERE i4.route = h3.route AND i4.type = h3.type AND i4.id = h3.id AND i4.param = $4 AND ((i4.code = $3)))))) ORDER BY r.id LIMIT $6
-- args: ["Patient","subject","29463-7","code",["Observation"],21]
