package audit

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/hce-fhir/hce/fhir"
)

// Event is one audited interaction: a request, or one entry of a batch or
// transaction Bundle.
type Event struct {
	// Time is when the interaction was received.
	Time time.Time
	// Interaction is the FHIR interaction code: read, vread, search-type,
	// create, update, patch, delete, history-*, batch/transaction, everything …
	Interaction string
	// Method and Path are the HTTP request (the entry's request for a Bundle
	// entry); Query is its query string.
	Method, Path, Query string
	// Type and ID name the resource acted on, when the request names one.
	Type, ID string
	// Status is the HTTP status answered; Outcome explains a failure.
	Status  int
	Outcome string
	// Subject, FHIRUser, ClientID and Issuer identify the token's holder;
	// all empty when authentication is off.
	Subject, FHIRUser, ClientID, Issuer string
	// Patient is the token's patient context, if any.
	Patient string
	// Address is the client's network address.
	Address string
	// RequestID ties the events of one HTTP request (a Bundle and its
	// entries) together.
	RequestID string
	// Entry is the index of the Bundle entry plus one; zero for a request.
	Entry int
}

// Action returns the AuditEvent.action code of the interaction: C, R, U, D
// or E (execute, for searches, operations and Bundles).
func (e *Event) Action() string {
	switch e.Interaction {
	case "create":
		return "C"
	case "read", "vread", "history-instance", "capabilities":
		return "R"
	case "update", "patch", "update-conditional":
		return "U"
	case "delete", "delete-conditional":
		return "D"
	}
	return "E"
}

// outcomeCode is AuditEvent.outcome: 0 success, 4 minor failure (the
// client's: 4xx), 8 serious failure (the server's: 5xx).
func (e *Event) outcomeCode() string {
	switch {
	case e.Status < 400:
		return "0"
	case e.Status < 500:
		return "4"
	}
	return "8"
}

// Resource turns the event into an AuditEvent resource.
func (e *Event) Resource() *fhir.Resource {
	agent := map[string]any{"requestor": true}
	who := map[string]any{}
	switch {
	case e.FHIRUser != "":
		who["reference"] = e.FHIRUser
	case e.Subject != "":
		who["identifier"] = map[string]any{"system": e.Issuer, "value": e.Subject}
	default:
		who["display"] = "anonymous"
	}
	if e.FHIRUser != "" && e.Subject != "" {
		who["identifier"] = map[string]any{"system": e.Issuer, "value": e.Subject}
	}
	if ident, ok := who["identifier"].(map[string]any); ok && ident["system"] == "" {
		delete(ident, "system")
	}
	agent["who"] = who
	if e.ClientID != "" {
		agent["altId"] = e.ClientID
	}
	if e.Address != "" {
		agent["network"] = map[string]any{"address": e.Address, "type": "2"} // IP address
	}
	var entities []any
	if e.Type != "" {
		what := map[string]any{"type": e.Type}
		if e.ID != "" {
			what = map[string]any{"reference": e.Type + "/" + e.ID}
		}
		entities = append(entities, map[string]any{"what": what,
			"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object")})
	}
	if e.Query != "" {
		entities = append(entities, map[string]any{"query": base64.StdEncoding.EncodeToString([]byte(e.Query)),
			"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object")})
	}
	if e.Patient != "" && !(e.Type == "Patient" && e.ID == e.Patient) {
		entities = append(entities, map[string]any{"what": map[string]any{"reference": "Patient/" + e.Patient},
			"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
			"role": coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient")})
	}
	detail := e.Method + " " + e.Path
	if e.Query != "" {
		detail += "?" + e.Query
	}
	if e.Entry > 0 {
		detail = "Bundle.entry[" + strconv.Itoa(e.Entry-1) + "] " + detail
	}
	content := map[string]any{
		"resourceType": "AuditEvent",
		"type":         coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"),
		"subtype":      []any{coding("http://hl7.org/fhir/restful-interaction", e.Interaction, "")},
		"action":       e.Action(),
		"recorded":     fhir.FormatInstant(e.Time),
		"outcome":      e.outcomeCode(),
		"agent":        []any{agent},
		"source": map[string]any{"observer": map[string]any{"display": "HCE"},
			"type": []any{coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")}},
	}
	desc := strconv.Itoa(e.Status) + " " + detail
	if e.Outcome != "" {
		desc += ": " + e.Outcome
	}
	content["outcomeDesc"] = desc
	if e.RequestID != "" {
		content["extension"] = []any{map[string]any{"url": "https://hce.dev/fhir/StructureDefinition/request-id", "valueString": e.RequestID}}
	}
	if entities != nil {
		content["entity"] = entities
	}
	return &fhir.Resource{Type: "AuditEvent", Content: content}
}

func coding(system, code, display string) map[string]any {
	c := map[string]any{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return c
}
