package fhir

import "encoding/json"

// Bundle is the JSON shape of the Bundles HCE produces (history, searchset,
// batch-response, transaction-response). Entry resources stay raw JSON so
// stored resources are sent as they are, not re-encoded.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *BundleMeta   `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleMeta is the meta of a Bundle HCE produces.
type BundleMeta struct {
	LastUpdated string `json:"lastUpdated,omitempty"`
}

// BundleLink is Bundle.link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is Bundle.entry.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *BundleSearch   `json:"search,omitempty"`
	Request  *BundleRequest  `json:"request,omitempty"`
	Response *BundleResponse `json:"response,omitempty"`
}

// BundleSearch is Bundle.entry.search.
type BundleSearch struct {
	Mode  string   `json:"mode,omitempty"`
	Score *float64 `json:"score,omitempty"`
}

// BundleRequest is Bundle.entry.request.
type BundleRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// BundleResponse is Bundle.entry.response.
type BundleResponse struct {
	Status       string          `json:"status"`
	Location     string          `json:"location,omitempty"`
	Etag         string          `json:"etag,omitempty"`
	LastModified string          `json:"lastModified,omitempty"`
	Outcome      json.RawMessage `json:"outcome,omitempty"`
}
