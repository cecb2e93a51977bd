package verify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults of Config. DefaultPatients × (1 + DefaultPerPatient) is the 1,000
// resources of the complete level's test set.
const (
	DefaultURL        = "http://127.0.0.1:8080/fhir"
	DefaultPatients   = 100
	DefaultPerPatient = 9
	DefaultTimeout    = 5 * time.Minute
)

// TagSystem is the meta.tag system that marks every resource of a test set;
// the tag's code is the run id.
const TagSystem = "https://hce.dev/verify"

// Level is how far a verification goes; each level includes the ones before.
type Level int

// The levels, from the cheapest to the most intrusive.
const (
	// Basic checks connectivity, the citus extension and the workers.
	Basic Level = iota
	// Complete also writes, searches and deletes a test set.
	Complete
	// HA also stops and restarts a worker.
	HA
)

var levelNames = [...]string{Basic: "basic", Complete: "complete", HA: "ha"}

// String returns the level's name as the --level flag spells it.
func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel reads a level name: basic, complete or ha (any case).
func ParseLevel(s string) (Level, error) {
	for l, name := range levelNames {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return Level(l), nil
		}
	}
	return Basic, fmt.Errorf("level %q: want basic, complete or ha", s)
}

// Set implements flag.Value, so that a Level can be a flag.
func (l *Level) Set(s string) error {
	v, err := ParseLevel(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Config says what to verify and how.
type Config struct {
	// BaseURL is the FHIR base of the server, e.g. http://127.0.0.1:8080/fhir;
	// the operations endpoints are at its root (the base without /fhir).
	BaseURL string
	// DatabaseURL, when set, is the Citus coordinator: with it the spread of
	// the test set over the workers is measured shard by shard, workers are
	// checked for reachability, and the failover test knows which patient
	// lives on which worker. Without it those are reported as not measured.
	DatabaseURL string
	// Token is the bearer token sent with every request; the checks need a
	// scope that reads and writes every type and opens /admin/*, such as
	// system/*.cruds.
	Token string
	// Level is how far to go.
	Level Level
	// StopWorkerCmd and StartWorkerCmd are shell commands (run with sh -c)
	// that stop and start one Citus worker; the HA level needs both.
	StopWorkerCmd  string
	StartWorkerCmd string
	// FailoverCmd is a shell command that kills the primary of a group
	// with a standby (its PostgreSQL, or its whole node); the deployment
	// must fail over by itself, and nothing is started again. The HA level
	// runs it after the stop and start of a worker when those are given
	// too.
	FailoverCmd string
	// FailoverWithin bounds how long, after FailoverCmd began, every probed
	// patient may take to be read and written again. Zero means
	// DefaultFailoverWithin.
	FailoverWithin time.Duration
	// Patients and PerPatient size the test set: Patients Patients with
	// PerPatient Observations each. Zero means the default.
	Patients   int
	PerPatient int
	// Timeout bounds the whole run except cleanup and restarting a stopped
	// worker, which get a bound of their own. Zero means DefaultTimeout.
	Timeout time.Duration

	// The failover's pacing; zero means the defaults. Tests shorten them.
	pollEvery     time.Duration // between two reads of one probe
	readTimeout   time.Duration // one probe read
	failWithin    time.Duration // how long a stop may take to make reads fail
	hold          time.Duration // how long the worker stays down once reads fail
	recoverWithin time.Duration // how long reads may take to recover after the start
	// settle is how long after a kill the run waits at least before it
	// takes the deployment for restored: a connection to a dead primary may
	// take a moment to fail.
	settle time.Duration
}

// ErrConfig is wrapped by every error of Config.Validate.
var ErrConfig = errors.New("verify: bad configuration")

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Patients == 0 {
		c.Patients = DefaultPatients
	}
	if c.PerPatient == 0 {
		c.PerPatient = DefaultPerPatient
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.FailoverWithin == 0 {
		c.FailoverWithin = DefaultFailoverWithin
	}
	if c.pollEvery == 0 {
		c.pollEvery = 200 * time.Millisecond
	}
	if c.readTimeout == 0 {
		c.readTimeout = 10 * time.Second
	}
	if c.failWithin == 0 {
		c.failWithin = time.Minute
	}
	if c.hold == 0 {
		c.hold = 3 * time.Second
	}
	if c.recoverWithin == 0 {
		c.recoverWithin = 2 * time.Minute
	}
	if c.settle == 0 {
		c.settle = 3 * time.Second
	}
	return c
}

// Validate reports a configuration that cannot be run, before anything is
// sent to the deployment.
func (c Config) Validate() error {
	c = c.withDefaults()
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: base URL %q is not an http(s) URL", ErrConfig, c.BaseURL)
	}
	if c.Level < Basic || c.Level > HA {
		return fmt.Errorf("%w: unknown level %d", ErrConfig, int(c.Level))
	}
	if c.Patients < 1 || c.PerPatient < 1 {
		return fmt.Errorf("%w: the test set needs at least one patient with one observation", ErrConfig)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%w: negative timeout", ErrConfig)
	}
	stop, start := strings.TrimSpace(c.StopWorkerCmd) != "", strings.TrimSpace(c.StartWorkerCmd) != ""
	kill := strings.TrimSpace(c.FailoverCmd) != ""
	if c.Level == HA && (stop != start || !stop && !kill) {
		return fmt.Errorf("%w: level ha needs a command to stop a worker and one to start it (--stop-worker-cmd, --start-worker-cmd), or one that kills a primary with a standby (--failover-cmd), or all three", ErrConfig)
	}
	if c.FailoverWithin < 0 {
		return fmt.Errorf("%w: negative failover bound", ErrConfig)
	}
	return nil
}

// rootURL is the server's root: the FHIR base without its /fhir suffix.
func (c Config) rootURL() string {
	return strings.TrimSuffix(c.BaseURL, "/fhir")
}
