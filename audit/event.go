package audit

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
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

// Record is an AuditEvent ready to store: its JSON, and the fields it is
// searched by.
type Record struct {
	// ID is a version 7 UUID: the millisecond of Recorded, then random
	// bits, so that ids sort by time.
	ID string
	// Recorded is when the interaction was received, to the microsecond.
	Recorded time.Time
	// Patient is the id of the patient entity (search parameter patient);
	// Agent the requestor's who.reference (agent); Entity the first
	// entity's what.reference (entity); Subtype the FHIR interaction;
	// Client the OAuth client (altid); Address the client's address. Empty
	// when the event has none.
	Patient, Agent, Entity, Subtype, Client, Address string
	// Action and Outcome are AuditEvent.action and AuditEvent.outcome.
	Action, Outcome string
	// Content is the AuditEvent resource, meta included (version 1,
	// lastUpdated = recorded).
	Content []byte
}

// Record turns the event into an AuditEvent, built from typed structs:
// this runs once per interaction.
func (e *Event) Record() Record {
	at := e.Time.UTC().Truncate(time.Microsecond)
	r := Record{ID: newID(at), Recorded: at, Action: e.Action(), Outcome: e.outcomeCode(), Subtype: e.Interaction,
		Client: e.ClientID, Address: e.Address}
	who := &reference{}
	switch {
	case e.FHIRUser != "":
		who.Reference = e.FHIRUser
	case e.Subject == "":
		who.Display = "anonymous"
	}
	if e.Subject != "" {
		who.Identifier = &identifier{System: e.Issuer, Value: e.Subject}
	}
	r.Agent = who.Reference
	a := agent{Requestor: true, Who: who, AltID: e.ClientID}
	if e.Address != "" {
		a.Network = &network{Address: e.Address, Type: "2"} // IP address
	}
	var entities []entity
	if e.Type != "" {
		what := &reference{Type: e.Type}
		if e.ID != "" {
			what = &reference{Reference: e.Type + "/" + e.ID}
			r.Entity = what.Reference
			if e.Type == "Patient" {
				r.Patient = e.ID
			}
		}
		entities = append(entities, entity{What: what, Type: &systemObject})
	}
	if e.Query != "" {
		entities = append(entities, entity{Query: base64.StdEncoding.EncodeToString([]byte(e.Query)), Type: &systemObject})
	}
	if e.Patient != "" && !(e.Type == "Patient" && e.ID == e.Patient) {
		entities = append(entities, entity{What: &reference{Reference: "Patient/" + e.Patient}, Type: &person, Role: &patientRole})
		if r.Patient == "" {
			r.Patient = e.Patient
		}
	}
	detail := e.Method + " " + e.Path
	if e.Query != "" {
		detail += "?" + e.Query
	}
	if e.Entry > 0 {
		detail = "Bundle.entry[" + strconv.Itoa(e.Entry-1) + "] " + detail
	}
	desc := strconv.Itoa(e.Status) + " " + detail
	if e.Outcome != "" {
		desc += ": " + e.Outcome
	}
	ev := auditEvent{ResourceType: "AuditEvent", ID: r.ID, Meta: meta{VersionID: "1", LastUpdated: fhir.FormatInstant(at)},
		Type: restType, Subtype: []coding{{System: "http://hl7.org/fhir/restful-interaction", Code: e.Interaction}},
		Action: r.Action, Recorded: fhir.FormatInstant(at), Outcome: r.Outcome, OutcomeDesc: desc,
		Agent: []agent{a}, Source: source{Observer: reference{Display: "HCE"}, Type: []coding{appServer}}, Entity: entities}
	if e.RequestID != "" {
		ev.Extension = []extension{{URL: "https://hce.dev/fhir/StructureDefinition/request-id", ValueString: e.RequestID}}
	}
	r.Content, _ = json.Marshal(ev) // plain strings and structs: cannot fail
	return r
}

// newID is a version 7 UUID for at: the Unix millisecond, its fraction,
// then random bits.
func newID(at time.Time) string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(at.UnixMilli()))
	copy(u[:6], ms[2:])
	// The 12 bits after the version hold the fraction of the millisecond
	// (RFC 9562, method 3), so ids sort like their instants.
	frac := (at.Nanosecond() % 1e6) * 4096 / 1e6
	u[6] = 0x70 | byte(frac>>8)
	u[7] = byte(frac)
	u[8] = 0x80 | u[8]&0x3f
	return fhir.FormatUUID(u)
}

// The AuditEvent elements the server writes. Codings go without display:
// their system and code say it, and every byte is written once per
// interaction.
type (
	auditEvent struct {
		ResourceType string      `json:"resourceType"`
		ID           string      `json:"id"`
		Meta         meta        `json:"meta"`
		Extension    []extension `json:"extension,omitempty"`
		Type         coding      `json:"type"`
		Subtype      []coding    `json:"subtype"`
		Action       string      `json:"action"`
		Recorded     string      `json:"recorded"`
		Outcome      string      `json:"outcome"`
		OutcomeDesc  string      `json:"outcomeDesc"`
		Agent        []agent     `json:"agent"`
		Source       source      `json:"source"`
		Entity       []entity    `json:"entity,omitempty"`
	}
	meta struct {
		VersionID   string `json:"versionId"`
		LastUpdated string `json:"lastUpdated"`
	}
	extension struct {
		URL         string `json:"url"`
		ValueString string `json:"valueString"`
	}
	coding struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display,omitempty"`
	}
	identifier struct {
		System string `json:"system,omitempty"`
		Value  string `json:"value"`
	}
	reference struct {
		Reference  string      `json:"reference,omitempty"`
		Type       string      `json:"type,omitempty"`
		Identifier *identifier `json:"identifier,omitempty"`
		Display    string      `json:"display,omitempty"`
	}
	network struct {
		Address string `json:"address"`
		Type    string `json:"type"`
	}
	agent struct {
		Who       *reference `json:"who"`
		AltID     string     `json:"altId,omitempty"`
		Requestor bool       `json:"requestor"`
		Network   *network   `json:"network,omitempty"`
	}
	source struct {
		Observer reference `json:"observer"`
		Type     []coding  `json:"type"`
	}
	entity struct {
		What  *reference `json:"what,omitempty"`
		Type  *coding    `json:"type,omitempty"`
		Role  *coding    `json:"role,omitempty"`
		Query string     `json:"query,omitempty"`
	}
)

var (
	restType     = coding{System: "http://terminology.hl7.org/CodeSystem/audit-event-type", Code: "rest"}
	appServer    = coding{System: "http://terminology.hl7.org/CodeSystem/security-source-type", Code: "4"}
	systemObject = coding{System: "http://terminology.hl7.org/CodeSystem/audit-entity-type", Code: "2"}
	person       = coding{System: "http://terminology.hl7.org/CodeSystem/audit-entity-type", Code: "1"}
	patientRole  = coding{System: "http://terminology.hl7.org/CodeSystem/object-role", Code: "1"}
)
