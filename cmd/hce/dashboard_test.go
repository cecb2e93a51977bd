package main

import "testing"

// checkDashboardMetrics is filled in with the Grafana dashboard.
func checkDashboardMetrics(t *testing.T, metrics string) {}
