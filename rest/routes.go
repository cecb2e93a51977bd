package rest

import (
	"net/http"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Register installs every route of HCE on e, the FHIR API under /fhir and the
// operations endpoints, and makes every error an OperationOutcome. Metrics are
// registered with reg and served from gather at /metrics.
func (h *Handler) Register(e *echo.Echo, reg prometheus.Registerer, gather prometheus.Gatherer) {
	e.HTTPErrorHandler = handleError
	m := newMetrics(reg)
	e.Use(m.middleware)
	e.Use(headerLimit(h.opt.MaxHeaderBytes))
	if len(h.opt.CORSOrigins) > 0 {
		e.Use(cors(h.opt.CORSOrigins))
	}
	reg.MustRegister(h.budget.collectors()...)

	e.GET("/healthz", h.healthz, labelled("healthz"))
	e.GET("/readyz", h.readyz, labelled("readyz"))
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(gather, promhttp.HandlerOpts{})), labelled("metrics"), h.requireAdmin)
	e.GET("/admin/cluster", h.cluster, labelled("admin-cluster"), h.requireAdmin)
	e.GET("/.well-known/smart-configuration", h.smartConfiguration, labelled("smart-configuration"))
	e.GET("/fhir/.well-known/smart-configuration", h.smartConfiguration, labelled("smart-configuration"))
	h.fhirRoutes(e)

	// Bundle entries are dispatched to a second router with the same FHIR
	// routes but without logging and metrics middleware: the Bundle itself is
	// the request that is logged and measured.
	h.inner = echo.New()
	h.inner.HTTPErrorHandler = handleError
	h.fhirRoutes(h.inner)
}

// fhirRoutes installs the FHIR API under /fhir. Every route is audited and
// authenticated; authorization is the Repository's (authorize.go).
func (h *Handler) fhirRoutes(e *echo.Echo) {
	// Middleware is attached per route, not to a group: a group's catch-all
	// would turn 405 Method Not Allowed into 404. It is composed here, once:
	// Echo applies the middleware given to Add anew on every request.
	limit := bodyLimit(h.opt.MaxBodyBytes)
	body, deadline := bodyDeadline(h.opt.BodyTimeout), requestDeadline(h.opt.RequestTimeout)
	route := func(method, path, interaction string, fn echo.HandlerFunc) {
		e.Add(method, "/fhir"+path, labelled(interaction)(h.audited(h.authenticate(deadline(body(negotiate(limit(preconditions(fn)))))))))
	}
	route(http.MethodGet, "/metadata", "capabilities", h.capabilities)
	route(http.MethodPost, "", "batch/transaction", h.bundle)
	route(http.MethodPost, "/", "batch/transaction", h.bundle)
	route(http.MethodGet, "/_history", "history-system", h.historySystem)
	route(http.MethodPost, "/$validate", "validate", h.validateOperation)
	route(http.MethodPost, "/:type/$validate", "validate", h.validateOperation)
	route(http.MethodPost, "/:type/:id/$validate", "validate", h.validateOperation)
	route(http.MethodPost, "/:type", "create", h.create)
	route(http.MethodGet, "/:type", "search-type", h.searchType)
	route(http.MethodPost, "/:type/_search", "search-type", h.searchType)
	route(http.MethodPut, "/:type", "update-conditional", h.conditionalUpdate)
	route(http.MethodDelete, "/:type", "delete-conditional", h.conditionalDelete)
	route(http.MethodGet, "/:type/_history", "history-type", h.historyType)
	route(http.MethodGet, "/:type/:id", "read", h.read)
	route(http.MethodPut, "/:type/:id", "update", h.update)
	route(http.MethodPatch, "/:type/:id", "patch", h.patch)
	route(http.MethodDelete, "/:type/:id", "delete", h.delete)
	route(http.MethodGet, "/:type/:id/_history", "history-instance", h.historyInstance)
	route(http.MethodGet, "/:type/:id/_history/:vid", "vread", h.vread)
	route(http.MethodGet, "/$export", "export", h.exportKickoff(fhir.ExportSystem))
	route(http.MethodPost, "/$export", "export", h.exportKickoff(fhir.ExportSystem))
	route(http.MethodGet, "/Patient/$export", "export", h.exportKickoff(fhir.ExportPatient))
	route(http.MethodPost, "/Patient/$export", "export", h.exportKickoff(fhir.ExportPatient))
	route(http.MethodGet, "/Group/:id/$export", "export", h.exportKickoff(fhir.ExportGroup))
	route(http.MethodPost, "/Group/:id/$export", "export", h.exportKickoff(fhir.ExportGroup))
	route(http.MethodGet, "/$export-status/:job", "export-status", h.exportStatus)
	route(http.MethodDelete, "/$export-status/:job", "export-cancel", h.exportCancel)
	// Files are NDJSON whatever the Accept header: no negotiation.
	e.Add(http.MethodGet, "/fhir/$export-file/:job/:file", labelled("export-file")(h.audited(h.authenticate(h.exportFile))))
	route(http.MethodGet, "/:type/:id/$everything", "everything", h.everything)
	route(http.MethodPost, "/:type/:id/$everything", "everything", h.everything)
	route(http.MethodGet, "/:type/:id/:comp", "search-compartment", h.searchCompartment)
}
