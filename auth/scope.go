package auth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hce-fhir/hce/fhir"
)

// Perm is a set of SMART v2 permissions on a resource type.
type Perm uint8

// The SMART v2 permissions, in the order scopes spell them (cruds).
const (
	Create Perm = 1 << iota
	Read
	Update
	Delete
	Search
	// All is every permission: v2 .cruds, v1 .*.
	All = Create | Read | Update | Delete | Search
)

// String spells p as the v2 suffix, "cruds" for All.
func (p Perm) String() string {
	var b strings.Builder
	for i, c := range "cruds" {
		if p&(1<<i) != 0 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Context is the first part of a scope: whose data it is about.
type Context string

// The SMART scope contexts.
const (
	// PatientContext binds the scope to the token's patient claim.
	PatientContext Context = "patient"
	// UserContext grants what the user may see; HCE has no per-user access
	// lists, so a user scope reaches every patient.
	UserContext Context = "user"
	// SystemContext is for backend services without a user.
	SystemContext Context = "system"
)

// Scope is one parsed SMART resource scope.
type Scope struct {
	// Context is patient, user or system.
	Context Context
	// Type is a resource type or "*".
	Type string
	// Perm is what the scope allows on Type.
	Perm Perm
	// Constrained is set for a v2 scope with search-parameter constraints
	// (patient/Observation.rs?category=laboratory). HCE does not enforce such
	// constraints, so a constrained scope grants nothing.
	Constrained bool
}

// String spells the scope in v2 syntax.
func (s Scope) String() string {
	return string(s.Context) + "/" + s.Type + "." + s.Perm.String()
}

// ErrNotResourceScope means a scope is well formed but is not about resources
// (openid, fhirUser, launch/patient, offline_access …).
var ErrNotResourceScope = errors.New("not a resource scope")

// ParseScope parses one SMART resource scope: context/Type.perms with perms
// a v2 subset of "cruds" in that order, or v1 read, write or *. Scopes that
// are not about resources give ErrNotResourceScope.
func ParseScope(s string) (Scope, error) {
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Scope{}, ErrNotResourceScope
	}
	sc := Scope{Context: Context(ctx)}
	switch sc.Context {
	case PatientContext, UserContext, SystemContext:
	default:
		return Scope{}, ErrNotResourceScope // launch/patient, and the like
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok {
		return Scope{}, fmt.Errorf("auth: scope %q: want context/Type.permissions", s)
	}
	if typ != "*" && !fhir.IsResourceType(typ) {
		return Scope{}, fmt.Errorf("auth: scope %q: %q is not a resource type", s, typ)
	}
	sc.Type = typ
	switch perms {
	case "read":
		sc.Perm = Read | Search
	case "write":
		sc.Perm = Create | Update | Delete
	case "*":
		sc.Perm = All
	default:
		p, err := parsePerms(perms)
		if err != nil {
			return Scope{}, fmt.Errorf("auth: scope %q: %w", s, err)
		}
		sc.Perm = p
	}
	if hasQuery {
		if query == "" || strings.ContainsAny(query, " \t") {
			return Scope{}, fmt.Errorf("auth: scope %q: empty or malformed constraint", s)
		}
		sc.Constrained = true
	}
	return sc, nil
}

// parsePerms reads a v2 permission string: letters of "cruds", each at most
// once and in that order.
func parsePerms(s string) (Perm, error) {
	if s == "" {
		return 0, errors.New("no permissions")
	}
	var p Perm
	last := -1
	for _, c := range s {
		i := strings.IndexRune("cruds", c)
		if i < 0 {
			return 0, fmt.Errorf("unknown permission %q; v2 permissions are c, r, u, d, s", c)
		}
		if i <= last {
			return 0, errors.New("permissions must appear once each, in the order c r u d s")
		}
		last = i
		p |= 1 << i
	}
	return p, nil
}

// ParseScopes splits a space-separated scope claim into its resource scopes.
// Other scopes (openid, launch …) and malformed ones are left out: a token
// grants only what HCE understands.
func ParseScopes(claim string) []Scope {
	var out []Scope
	for _, s := range strings.Fields(claim) {
		if sc, err := ParseScope(s); err == nil && !sc.Constrained {
			out = append(out, sc)
		}
	}
	return out
}
