package store

import "github.com/hce-fhir/hce/fhir"

// ShardKey (temporary dev version).
func ShardKey(r *fhir.Resource) string {
	if r.Type == "Patient" {
		return r.ID
	}
	for _, k := range []string{"subject", "patient"} {
		m, _ := r.Content[k].(map[string]any)
		ref, _ := m["reference"].(string)
		if typ, id, ok := fhir.SplitReference(ref); ok && typ == "Patient" {
			return id
		}
	}
	return r.ID
}
