package rest

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

const ctxInteraction = "hce.interaction"

// metrics counts requests and observes their latency by FHIR interaction
// and status code.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hce_http_requests_total", Help: "HTTP requests by FHIR interaction and status code.",
		}, []string{"interaction", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hce_http_request_duration_seconds", Help: "HTTP request latency by FHIR interaction.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"interaction"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// labelled names the interaction of a route for the metrics and the audit.
func labelled(interaction string) echo.MiddlewareFunc {
	var label any = interaction // boxed once, not on every request
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(ctxInteraction, label)
			return next(c)
		}
	}
}

func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // render now so the status below is the one sent
		}
		interaction, _ := c.Get(ctxInteraction).(string)
		if interaction == "" {
			// No route matched (404, 405): the path is the client's, not a label.
			interaction = "unknown"
		}
		m.requests.WithLabelValues(interaction, strconv.Itoa(c.Response().Status)).Inc()
		m.latency.WithLabelValues(interaction).Observe(time.Since(start).Seconds())
		return nil
	}
}
