-- Patient?family:exact=Muñoz&given:contains=an
SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE r.type = $1 AND NOT r.deleted AND (EXISTS (SELECT 1 FROM idx_string i1 WHERE i1.route = r.route AND i1.type = r.type AND i1.id = r.id AND i1.param = $2 AND (i1.exact = $3)) AND EXISTS (SELECT 1 FROM idx_string i2 WHERE i2.route = r.route AND i2.type = r.type AND i2.id = r.id AND i2.param = $4 AND (i2.value LIKE $5))) ORDER BY r.id LIMIT $6
-- args: ["Patient","family","Muñoz","given","%an%",21]
