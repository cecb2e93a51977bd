package store

import (
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector exposes the pgx pool's statistics as Prometheus gauges.
type poolCollector struct {
	s                                  *Store
	total, idle, acquired, max, waited *prometheus.Desc
}

// Collector returns a Prometheus collector of the connection pool's state.
func (s *Store) Collector() prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("hce_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{s: s,
		total:    d("connections", "Open connections in the database pool."),
		idle:     d("idle_connections", "Idle connections in the database pool."),
		acquired: d("acquired_connections", "Connections in use."),
		max:      d("max_connections", "Maximum size of the database pool."),
		waited:   d("empty_acquire_total", "Acquires that waited because the pool was empty."),
	}
}

// Describe sends the gauges' descriptions.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.total, c.idle, c.acquired, c.max, c.waited} {
		ch <- d
	}
}

// Collect reads the pool's statistics.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.pool.Stat()
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(st.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(st.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(st.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.waited, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
}
