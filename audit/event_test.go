package audit

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hce-fhir/hce/fhir"
)

func TestEventResourceIsValidR4(t *testing.T) {
	tests := []struct {
		name   string
		e      Event
		action string
		out    string
	}{
		{"read", Event{Interaction: "read", Method: "GET", Path: "/fhir/Observation/1", Type: "Observation", ID: "1", Status: 200,
			Subject: "u1", FHIRUser: "Practitioner/7", ClientID: "app", Issuer: "https://idp", Address: "10.0.0.1", RequestID: "r1"}, "R", "0"},
		{"denied search", Event{Interaction: "search-type", Method: "GET", Path: "/fhir/Condition", Query: "code=x", Type: "Condition",
			Status: 403, Outcome: "scope", Subject: "u2", Patient: "p1"}, "E", "4"},
		{"anonymous 401", Event{Interaction: "delete", Method: "DELETE", Path: "/fhir/Patient/x", Type: "Patient", ID: "x", Status: 401}, "D", "4"},
		{"entry failure", Event{Interaction: "create", Method: "POST", Path: "/fhir/Patient", Type: "Patient", Status: 500, Entry: 3}, "C", "8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.e.Time = time.Now()
			r := tt.e.Resource()
			raw, err := json.Marshal(r.Content)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fhir.Parse(raw); err != nil {
				t.Fatalf("not a valid AuditEvent: %v\n%s", err, raw)
			}
			if r.Content["action"] != tt.action || r.Content["outcome"] != tt.out {
				t.Fatalf("action %v outcome %v, want %s %s", r.Content["action"], r.Content["outcome"], tt.action, tt.out)
			}
		})
	}
}

func TestWriterBatchesAndFlushesOnClose(t *testing.T) {
	var mu sync.Mutex
	var batches []int
	w := NewWriter(func(ctx context.Context, rs []*fhir.Resource) error {
		mu.Lock()
		batches = append(batches, len(rs))
		mu.Unlock()
		return nil
	}, Options{Batch: 10, Interval: time.Hour, Queue: 4})
	for i := range 25 {
		if err := w.Record(Event{Interaction: "read", Status: 200, ID: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.Written() != 25 {
		t.Fatalf("written %d, want 25 (batches %v)", w.Written(), batches)
	}
	if len(batches) != 3 || batches[0] != 10 || batches[2] != 5 {
		t.Fatalf("batches %v, want [10 10 5]", batches)
	}
	if err := w.Record(Event{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Record after Close: %v", err)
	}
}

func TestWriterFlushesOnInterval(t *testing.T) {
	got := make(chan int, 1)
	w := NewWriter(func(ctx context.Context, rs []*fhir.Resource) error { got <- len(rs); return nil },
		Options{Interval: 20 * time.Millisecond})
	defer w.Close(context.Background())
	_ = w.Record(Event{Interaction: "read", Status: 200})
	select {
	case n := <-got:
		if n != 1 {
			t.Fatalf("batch of %d", n)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the interval did not flush")
	}
}
