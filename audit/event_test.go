package audit

import (
	"context"
	"errors"
	"fmt"
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
			r := tt.e.Record()
			res, err := fhir.Parse(r.Content)
			if err != nil {
				t.Fatalf("not a valid AuditEvent: %v\n%s", err, r.Content)
			}
			if res.Content["action"] != tt.action || res.Content["outcome"] != tt.out || r.Action != tt.action || r.Outcome != tt.out {
				t.Fatalf("action %v outcome %v, want %s %s", res.Content["action"], res.Content["outcome"], tt.action, tt.out)
			}
			if res.ID != r.ID || !fhir.IsUUID(r.ID) || r.ID[14] != '7' {
				t.Fatalf("id %q (resource %q), want a version 7 UUID", r.ID, res.ID)
			}
			if ms := r.Recorded.UnixMilli(); r.ID[:8]+r.ID[9:13] != fmt.Sprintf("%012x", ms) {
				t.Fatalf("id %s does not start with the millisecond %x", r.ID, ms)
			}
			later := tt.e
			later.Time = tt.e.Time.Add(time.Microsecond)
			if next := later.Record(); next.ID <= r.ID {
				t.Fatalf("an event a microsecond later has id %s, not after %s", next.ID, r.ID)
			}
		})
	}
}

func TestWriterBatchesAndFlushesOnClose(t *testing.T) {
	var mu sync.Mutex
	var batches []int
	w := NewWriter(func(ctx context.Context, rs []Record) error {
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
	w := NewWriter(func(ctx context.Context, rs []Record) error { got <- len(rs); return nil },
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

// TestRecordFields checks the searchable fields a Record carries beside its
// JSON: they are what AuditEvent searches compare.
func TestRecordFields(t *testing.T) {
	r := (&Event{Time: time.Now(), Interaction: "read", Type: "Observation", ID: "1", Status: 200, FHIRUser: "Practitioner/7",
		Subject: "u1", ClientID: "app", Address: "10.0.0.1", Patient: "p1"}).Record()
	want := Record{Patient: "p1", Agent: "Practitioner/7", Entity: "Observation/1", Subtype: "read", Client: "app", Address: "10.0.0.1", Action: "R", Outcome: "0"}
	got := Record{Patient: r.Patient, Agent: r.Agent, Entity: r.Entity, Subtype: r.Subtype, Client: r.Client, Address: r.Address, Action: r.Action, Outcome: r.Outcome}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fields %+v, want %+v", got, want)
	}
	self := (&Event{Time: time.Now(), Interaction: "read", Type: "Patient", ID: "p2", Status: 200}).Record()
	if self.Patient != "p2" || self.Agent != "" {
		t.Fatalf("a read of Patient/p2: patient %q agent %q", self.Patient, self.Agent)
	}
}
