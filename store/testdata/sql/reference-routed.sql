-- Observation?patient=p1&code=8867-4
SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE (r.type = $1 AND NOT r.deleted AND (EXISTS (SELECT 1 FROM idx_token i1 WHERE i1.route = r.route AND i1.type = r.type AND i1.id = r.id AND i1.param = $2 AND ((i1.code = $3))) AND EXISTS (SELECT 1 FROM idx_reference i2 WHERE i2.route = r.route AND i2.type = r.type AND i2.id = r.id AND i2.param = $4 AND (((i2.target_id = $5 AND i2.target_type = $6))))) AND r.route = $7) ORDER BY r.id LIMIT $8
-- args: ["Observation","code","8867-4","patient","p1","Patient",60526,21]
