-- Observation?value-quantity=gt70|http://unitsofmeasure.org|/min
SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE r.type = $1 AND NOT r.deleted AND (EXISTS (SELECT 1 FROM idx_quantity i1 WHERE i1.route = r.route AND i1.type = r.type AND i1.id = r.id AND i1.param = $2 AND ((i1.value > $3::numeric AND (i1.system = $4 AND i1.code = $5))))) ORDER BY r.id LIMIT $6
-- args: ["Observation","value-quantity","70","http://unitsofmeasure.org","/min",21]
