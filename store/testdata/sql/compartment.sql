-- Observation?code=8867-4
SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE ((r.type = $1 AND NOT r.deleted AND (EXISTS (SELECT 1 FROM idx_token i1 WHERE i1.route = r.route AND i1.type = r.type AND i1.id = r.id AND i1.param = $2 AND ((i1.code = $3)))) AND EXISTS (SELECT 1 FROM idx_reference c2 WHERE c2.route = r.route AND c2.type = r.type AND c2.id = r.id AND c2.param = ANY($5) AND c2.target_type = 'Patient' AND c2.target_id = $4)) AND r.route = $6) ORDER BY r.id LIMIT $7
-- args: ["Observation","code","8867-4","p1",["subject","performer"],60526,21]
