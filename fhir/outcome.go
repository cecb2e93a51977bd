package fhir

// OperationOutcome is the JSON shape of an OperationOutcome resource.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// NewOperationOutcome wraps issues in an OperationOutcome.
func NewOperationOutcome(issues ...Issue) *OperationOutcome {
	return &OperationOutcome{ResourceType: "OperationOutcome", Issue: issues}
}
