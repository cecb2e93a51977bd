package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestHelp checks that -h and --help print the usage on standard output
// and exit 0 for every command and subcommand.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"serve", "--help"}, {"migrate", "--help"}, {"migrate", "up", "--help"}, {"migrate", "status", "-h"},
		{"load", "--help"}, {"load", "file.json", "-h"}, {"token", "--help"}, {"verify", "--help"},
		{"bench", "--help"}, {"healthcheck", "--help"},
		{"cluster", "--help"}, {"cluster", "-h"}, {"cluster", "help"}, {"cluster", "status", "--help"},
		{"cluster", "register", "--help"}, {"cluster", "rebalance", "-h"}, {"cluster", "reconcile", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Errorf("exit status %d, want 0; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), "usage: hce") {
				t.Errorf("stdout lacks the usage:\n%s", stdout.String())
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr should stay empty:\n%s", stderr.String())
			}
		})
	}
}

// TestUsageErrors checks that a wrong command line exits 2 and names what
// was wrong before the usage.
func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sideways"}, `unknown command "sideways"`},
		{[]string{"migrate", "sideways"}, `hce migrate: unknown subcommand "sideways"`},
		{[]string{"cluster", "sideways"}, `hce cluster: unknown subcommand "sideways"`},
		{[]string{"cluster", "--json"}, `"--json" before the subcommand`},
		{[]string{"migrate"}, "usage: hce migrate up|down|status"},
		{[]string{"serve", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"migrate", "up", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"cluster", "status", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"load", "--nope", "x.json"}, "flag provided but not defined: -nope"},
		{[]string{"verify", "--level", "sideways"}, "sideways"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

// TestReconcileFlags checks that a reconcile loop without a source of
// workers is refused before anything starts.
func TestReconcileFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--cluster-reconcile"},
		{"cluster", "reconcile", "--database-url", "postgres://127.0.0.1:1/none"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "workers-srv") {
			t.Errorf("%q: exit status %d, stderr %q; want 1 and the flags that name the workers", args, code, stderr.String())
		}
	}
}
