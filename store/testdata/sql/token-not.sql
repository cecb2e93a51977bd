-- Patient?gender:not=female
SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE r.type = $1 AND NOT r.deleted AND (NOT EXISTS (SELECT 1 FROM idx_token i1 WHERE i1.route = r.route AND i1.type = r.type AND i1.id = r.id AND i1.param = $2 AND ((i1.code = $3)))) ORDER BY r.id LIMIT $4
-- args: ["Patient","gender","female",21]
