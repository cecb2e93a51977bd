package auth

import "slices"

// Principal is who a verified token speaks for and what it may do.
type Principal struct {
	// Subject is the token's sub claim.
	Subject string
	// FHIRUser is the fhirUser claim (Practitioner/123), recorded in audit.
	FHIRUser string
	// ClientID is the client_id (or azp) claim.
	ClientID string
	// Patient is the patient claim: the patient a patient/ scope is bound to.
	Patient string
	// Scopes are the resource scopes the token grants.
	Scopes []Scope
	// Scope is the scope claim as the token carried it.
	Scope string
	// Issuer is the iss claim.
	Issuer string
}

// Access is how far a permission reaches.
type Access int

// The reaches of a permission, from none to every resource.
const (
	// NoAccess means no scope grants the permission.
	NoAccess Access = iota
	// PatientAccess means only a patient/ scope grants it: the permission
	// holds within the compartment of Principal.Patient.
	PatientAccess
	// FullAccess means a user/ or system/ scope grants it.
	FullAccess
)

// Access reports how far the principal may use perm on resources of typ.
// A patient/ scope without a patient claim grants nothing.
func (p *Principal) Access(perm Perm, typ string) Access {
	best := NoAccess
	for _, s := range p.Scopes {
		if s.Perm&perm != perm || (s.Type != "*" && s.Type != typ) {
			continue
		}
		switch s.Context {
		case UserContext, SystemContext:
			return FullAccess
		case PatientContext:
			if p.Patient != "" {
				best = PatientAccess
			}
		}
	}
	return best
}

// AdminScope is the scope that opens /admin/* and /metrics: a system scope
// that reads every type. system/*.cruds and system/*.* include it.
const AdminScope = "system/*.rs"

// IsAdmin reports whether the principal holds a system scope that reads and
// searches every resource type, which HCE takes as the operator's scope.
func (p *Principal) IsAdmin() bool {
	return slices.ContainsFunc(p.Scopes, func(s Scope) bool {
		return s.Context == SystemContext && s.Type == "*" && s.Perm&(Read|Search) == Read|Search
	})
}

// Who names the principal for logs and audit: fhirUser, else sub, else the
// client id.
func (p *Principal) Who() string {
	switch {
	case p.FHIRUser != "":
		return p.FHIRUser
	case p.Subject != "":
		return p.Subject
	}
	return p.ClientID
}
