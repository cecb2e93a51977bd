package rest

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// healthz answers 200 while the process serves requests.
func (h *Handler) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the database answers, with its state in the body
// (on Citus "degraded" and the unreachable workers when some are down: the
// server still serves the patients on the others), 503 otherwise.
func (h *Handler) readyz(c echo.Context) error {
	state, err := h.ops.Ready(c.Request().Context())
	if err != nil {
		c.Response().Header().Set("Retry-After", "5")
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
	}
	return c.JSON(http.StatusOK, state)
}

// cluster describes the database cluster: mode, nodes and tables.
func (h *Handler) cluster(c echo.Context) error {
	info, err := h.ops.Cluster(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, info)
}
