-- Patient?name=x')%3BDROP TABLE resources%3B--
SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE r.type = $1 AND NOT r.deleted AND (EXISTS (SELECT 1 FROM idx_string i1 WHERE i1.route = r.route AND i1.type = r.type AND i1.id = r.id AND i1.param = $2 AND (i1.value LIKE $3))) ORDER BY r.id LIMIT $4
-- args: ["Patient","name","x');drop table resources;--%",21]
