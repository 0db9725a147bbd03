// Package config reads the environment. Every variable is documented in docs/configuration.md.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	temporalenv "go.temporal.io/sdk/contrib/envconfig"
)

// Config is the whole system's configuration.
type Config struct {
	DatabaseURL      string `envconfig:"DATABASE_URL"`
	DatabaseMaxConns int32  `envconfig:"DATABASE_MAX_CONNS" default:"20"`

	// The connection to Temporal is Temporal's standard client configuration (a profile in
	// TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE, TEMPORAL_API_KEY, TEMPORAL_TLS_*: see
	// TemporalClientVariables), read by the SDK's envconfig when a client is dialled. Load
	// fills TemporalAddress and TemporalNamespace from the profile when their variables are
	// not set; whatever they hold when dialling (the dev runtime, tests and the bench set
	// them in code) wins over the profile.
	TemporalAddress   string `envconfig:"TEMPORAL_ADDRESS" default:"127.0.0.1:7233"`
	TemporalNamespace string `envconfig:"TEMPORAL_NAMESPACE" default:"default"`
	TaskQueue         string `envconfig:"TEMPORAL_TASK_QUEUE" default:"letters"`
	// TemporalCompression: gzip (the SDK's default) or none for requests to Temporal. Our
	// payloads are sealed with AES-GCM and do not compress, and gzip is 9 % of the worker
	// process's CPU profile; yet turning it off measured no faster (BENCHMARKS.md), so it stays.
	TemporalCompression string `envconfig:"TEMPORAL_GRPC_COMPRESSION" default:"gzip"`

	// PayloadKeys: "id:base64key[,id:base64key…]"; the first seals new payloads.
	PayloadKeys string `envconfig:"PAYLOAD_KEYS"`
	// DossierSigningKeys: "id:base64seed[,id:base64seed…]", Ed25519 seeds; the first signs
	// letters' delivery dossiers, all are published at GET /v1/keys. Empty: one derived from
	// the first PAYLOAD_KEYS key.
	DossierSigningKeys string `envconfig:"DOSSIER_SIGNING_KEYS"`

	// WorkflowCacheSize bounds the workflows a worker keeps in memory between tasks. Letters
	// wait hours for their opening; a letter not cached replays its ~20 events when it wakes.
	WorkflowCacheSize int `envconfig:"WORKER_WORKFLOW_CACHE_SIZE" default:"2000"`
	// WorkflowTaskPollers: 0 (the default) lets the SDK scale the letters queue's pollers, with
	// pollers of their own for the normal queue and for the sticky one; N fixes N pollers that
	// share both. With shared pollers, a sticky backlog (a bulk run's notices coming back) takes
	// every poll: the SDK polls the sticky queue first while it has a backlog, and letters
	// started from another process (an API process of its own, the CLI: no eager start) waited
	// 5-20 s for their first task behind another sender's bulk run (BENCHMARKS.md).
	WorkflowTaskPollers int `envconfig:"WORKER_WORKFLOW_TASK_POLLERS" default:"0"`
	// WorkflowTaskSlots bounds the letters queue's workflow tasks a worker runs at once (a
	// letter's delivery and notices' first try run inside its task). A backlog beyond them waits
	// in Temporal's queue, where single letters go before bulk and senders share fairly; taken
	// into the worker, it would make every other sender's letter wait for the CPU behind it.
	WorkflowTaskSlots int `envconfig:"WORKER_WORKFLOW_TASK_SLOTS" default:"10"`
	// UrgentWorkflowTaskSlots bounds the urgent queue's workflow tasks a worker runs at once
	// (single letters, NemSMS messages): slots a bulk run never takes.
	UrgentWorkflowTaskSlots int `envconfig:"WORKER_URGENT_WORKFLOW_TASK_SLOTS" default:"10"`
	// Worker Versioning: every worker is a version of the Temporal Worker Deployment
	// WorkerDeploymentName ("" runs unversioned), identified by WorkerBuildID ("": the VCS
	// revision stamped into the binary). Rolling out a build: docs/operations.md.
	WorkerDeploymentName string `envconfig:"WORKER_DEPLOYMENT_NAME" default:"digitalpost"`
	WorkerBuildID        string `envconfig:"WORKER_BUILD_ID"`
	// WorkerStopTimeout: on SIGTERM a worker stops taking tasks and gives the activities it
	// runs this long to finish; longer than a provider call (PROVIDER_TIMEOUT), so a notice is
	// not cut off mid-call and left "unknown". An orchestrator's grace period must exceed it.
	WorkerStopTimeout time.Duration `envconfig:"WORKER_STOP_TIMEOUT" default:"30s"`

	OpenDeadline time.Duration `envconfig:"LETTER_OPEN_DEADLINE" default:"72h"`
	// ReminderBefore: an unopened letter reminds the citizen this long before its deadline
	// (0: no reminders); QuietHours (Danish time) hold a reminder back to the morning.
	ReminderBefore time.Duration `envconfig:"LETTER_REMINDER_BEFORE" default:"24h"`
	QuietHours     string        `envconfig:"REMINDER_QUIET_HOURS" default:"22-07"`
	// NemSMS: the version of the terms a citizen accepts to subscribe, and how long before a
	// letter's appointment its NemSMS reminder goes out (0: none).
	NemSMSTerms               string        `envconfig:"NEMSMS_TERMS_VERSION" default:"2024-1"`
	NemSMSAppointmentReminder time.Duration `envconfig:"NEMSMS_APPOINTMENT_REMINDER" default:"24h"`
	// Provider rate limits in calls per second for the whole system (every worker must be
	// given the same values): Twilio's and SendGrid's accounts are limited, not our workers.
	SMSRatePerSecond   float64 `envconfig:"SMS_RATE_PER_SECOND" default:"50"`
	EmailRatePerSecond float64 `envconfig:"EMAIL_RATE_PER_SECOND" default:"50"`
	// ProviderUrgentShare of each provider's rate (in whole calls a second) is kept for urgent
	// notices, so a bulk run that books the rest never holds back a single letter's notice.
	ProviderUrgentShare float64 `envconfig:"PROVIDER_URGENT_SHARE" default:"0.1"`
	// Fairness between senders: each sender is a fairness key on every queue, with this weight
	// unless SENDER_WEIGHTS ("skat=0.5,region-midt=2") names its own. A sender of weight 2 gets
	// twice the share of one of weight 1 while both have work waiting.
	SenderWeightDefault float64 `envconfig:"SENDER_WEIGHT_DEFAULT" default:"1"`
	SenderWeights       string  `envconfig:"SENDER_WEIGHTS"`
	// BulkStartsPerSecond paces a bulk run's starts; 0 (the default) follows the faster
	// provider's rate, since a run started faster only queues its notices and takes CPU from
	// every other sender's letters on the way.
	BulkStartsPerSecond float64 `envconfig:"BULK_STARTS_PER_SECOND" default:"0"`
	// RecoveryGrace: how long a stored letter, case or request may stay unstarted before the
	// recovery sweep starts it.
	RecoveryGrace time.Duration `envconfig:"RECOVERY_GRACE" default:"30s"`

	TwilioAccountSID string `envconfig:"TWILIO_ACCOUNT_SID"`
	TwilioAuthToken  string `envconfig:"TWILIO_AUTH_TOKEN"`
	TwilioFrom       string `envconfig:"TWILIO_FROM" default:"DigitalPost"`
	TwilioBaseURL    string `envconfig:"TWILIO_BASE_URL"`

	SendGridAPIKey   string        `envconfig:"SENDGRID_API_KEY"`
	SendGridFrom     string        `envconfig:"SENDGRID_FROM" default:"no-reply@digitalpost.local"`
	SendGridFromName string        `envconfig:"SENDGRID_FROM_NAME" default:"Digital Post"`
	SendGridBaseURL  string        `envconfig:"SENDGRID_BASE_URL"`
	ProviderTimeout  time.Duration `envconfig:"PROVIDER_TIMEOUT" default:"10s"`

	ExemptionServiceWorkingDays int           `envconfig:"EXEMPTION_SERVICE_WORKING_DAYS" default:"5"`
	ExemptionServiceDeadline    time.Duration `envconfig:"EXEMPTION_SERVICE_DEADLINE"`
	ReadingAccessDeadline       time.Duration `envconfig:"READING_ACCESS_RESPONSE_DEADLINE" default:"336h"`
	MunicipalitySenderID        string        `envconfig:"MUNICIPALITY_SENDER_ID" default:"aarhus-kommune"`

	CodecServerAddr string `envconfig:"CODEC_SERVER_ADDR" default:"127.0.0.1:8234"`
	OperatorToken   string `envconfig:"OPERATOR_TOKEN"`
	// OperatorTokenFile: read the token from a file (a mounted secret) rather than the
	// environment, which other processes of the same user can read.
	OperatorTokenFile string `envconfig:"OPERATOR_TOKEN_FILE"`
	CodecUIOrigins    string `envconfig:"CODEC_UI_ORIGINS" default:"http://127.0.0.1:8233,http://localhost:8233"`
	TemporalUIPort    int    `envconfig:"TEMPORAL_UI_PORT" default:"8233"`

	// HTTPAddr is where the senders' API listens. Serve picks the process's parts: the
	// workers, the HTTP API, or both.
	HTTPAddr string `envconfig:"HTTP_ADDR" default:"127.0.0.1:8080"`
	// MetricsAddr: where a process without the HTTP API (SERVE=worker) serves /metrics; a
	// process with it serves /metrics on HTTP_ADDR.
	MetricsAddr string `envconfig:"METRICS_ADDR"`
	Serve       string `envconfig:"SERVE" default:"worker,api"`
	// APIRatePerSecond and APIBurst limit each sender's API requests, per API process.
	APIRatePerSecond float64 `envconfig:"API_RATE_PER_SECOND" default:"50"`
	APIBurst         int     `envconfig:"API_BURST" default:"100"`
	// WebhookAllowHTTP lets senders set http:// webhook URLs (the dev runtime does); in
	// production they must be https.
	WebhookAllowHTTP bool `envconfig:"WEBHOOK_ALLOW_HTTP" default:"false"`
	// WebhookAllowInternal lets webhooks reach internal and special-purpose addresses, this
	// machine included (the dev runtime does, to try webhooks with a local receiver); never in
	// production: a sender's webhook would reach the database, Temporal or a metadata service.
	WebhookAllowInternal bool `envconfig:"WEBHOOK_ALLOW_INTERNAL" default:"false"`
	// Batch preview: postage per letter by postal category, in øre ("category=øre,…"), and
	// the share of letters opened before their deadline assumed for a sender with no history.
	PostagePrices      string  `envconfig:"POSTAGE_PRICES" default:"economy=1450,priority=2900"`
	DefaultOpenedShare float64 `envconfig:"PREVIEW_DEFAULT_OPENED_SHARE" default:"0.85"`
	// MaxBatchBytes and MaxBatchLetters bound one batch: its file, and the letters it may hold
	// (each is held in memory while the run is checked and stored all or nothing).
	MaxBatchBytes   int64 `envconfig:"MAX_BATCH_BYTES" default:"268435456"`
	MaxBatchLetters int   `envconfig:"MAX_BATCH_LETTERS" default:"100000"`
	// MaxInflightBytes bounds the request bodies one API process holds at once, all senders
	// together (beyond it: 503 with Retry-After); MaxInflightPerSender bounds one sender's
	// requests under way at once (beyond it: 429 with Retry-After), so one sender cannot take
	// the budget from the others.
	MaxInflightBytes     int64 `envconfig:"MAX_INFLIGHT_BYTES" default:"536870912"`
	MaxInflightPerSender int   `envconfig:"MAX_INFLIGHT_PER_SENDER" default:"16"`
	// LookupRatePerSecond and LookupBurst limit each sender's recipient look-ups, per API
	// process: a look-up tells something about a citizen, so it is not a way to read the
	// population registry. LookupAuditKey keys the hash of the CPR number in the look-up audit
	// log (base64 of at least 32 bytes; empty: derived from the first PAYLOAD_KEYS key, so
	// hashes change when that key is rotated).
	LookupRatePerSecond float64 `envconfig:"LOOKUP_RATE_PER_SECOND" default:"2"`
	LookupBurst         int     `envconfig:"LOOKUP_BURST" default:"20"`
	LookupAuditKey      string  `envconfig:"LOOKUP_AUDIT_KEY"`

	// The pages. SessionKey seals the session cookie (base64 of 64 bytes; empty: a random key
	// per process). OIDC signs people in; each claim name is the identity provider's.
	SessionKey         string `envconfig:"SESSION_KEY"`
	OIDCIssuer         string `envconfig:"OIDC_ISSUER"`
	OIDCClientID       string `envconfig:"OIDC_CLIENT_ID"`
	OIDCClientSecret   string `envconfig:"OIDC_CLIENT_SECRET"`
	OIDCRedirectURL    string `envconfig:"OIDC_REDIRECT_URL"`
	OIDCCPRClaim       string `envconfig:"OIDC_CPR_CLAIM" default:"https://data.gov.dk/model/core/eid/cprNumber"`
	OIDCNameClaim      string `envconfig:"OIDC_NAME_CLAIM" default:"name"`
	OIDCRolesClaim     string `envconfig:"OIDC_ROLES_CLAIM" default:"roles"`
	OIDCSenderClaim    string `envconfig:"OIDC_SENDER_CLAIM" default:"sender_id"`
	OIDCCaseworkerRole string `envconfig:"OIDC_CASEWORKER_ROLE" default:"caseworker"`
	OIDCSenderRole     string `envconfig:"OIDC_SENDER_ROLE" default:"sender"`
	// OIDCAllowedACR lists the assurance levels (acr) a sign-in may have; empty: NSIS
	// Substantial or High, as reading Digital Post requires.
	OIDCAllowedACR []string `envconfig:"OIDC_ALLOWED_ACR"`

	PrintSpoolDir string `envconfig:"PRINT_SPOOL_DIR"`
	// PrintHouseToken lets a production print house post its receipts to the API
	// (Authorization: Bearer …); empty: the endpoint is closed and receipts come as files.
	PrintHouseToken string `envconfig:"PRINT_HOUSE_TOKEN"`
	DevDataDir      string `envconfig:"DEV_DATA_DIR" default:".devdata"`

	// The command line's sender commands (send, status, bulk …) are clients of the senders'
	// API: SendersAPI is its base URL, SendersAPIKey the sender's key, which decides the sender.
	// Beside the dev runtime no key is needed (the dev runtime's key of --sender is used).
	SendersAPI    string `envconfig:"DIGITALPOST_API" default:"http://127.0.0.1:8080"`
	SendersAPIKey string `envconfig:"DIGITALPOST_API_KEY"`
}

// SpoolDir is where print jobs go: PRINT_SPOOL_DIR, else a folder in the dev data folder.
func (c Config) SpoolDir() string {
	if c.PrintSpoolDir != "" {
		return c.PrintSpoolDir
	}
	return filepath.Join(c.DevDataDir, "print-spool")
}

// DevEnvFile is where the dev runtime writes the addresses and key it chose, so that
// commands run in another terminal find the same system without any setup.
func DevEnvFile(devDataDir string) string { return filepath.Join(devDataDir, "dev.env") }

// Load reads the environment, for a command run by hand (starter). Beside `worker -dev` it
// finds the dev system through dev.env, but only when the environment names no system of
// its own: with DATABASE_URL, TEMPORAL_ADDRESS or PAYLOAD_KEYS set, a value filled in from a
// stray dev.env (the dev payload key beside the production database, say) would be worse
// than one missing.
func Load() (Config, error) {
	for _, k := range systemVariables {
		if _, set := os.LookupEnv(k); set {
			return load(noDevEnv)
		}
	}
	return load(nil)
}

// LoadService is Load for a service outside -dev (the worker, the API): it never reads
// dev.env, whatever the environment; a service is configured by its environment alone.
func LoadService() (Config, error) { return load(noDevEnv) }

// systemVariables name which system a process talks to.
var systemVariables = []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "PAYLOAD_KEYS"}

// noDevEnv takes nothing from dev.env.
var noDevEnv = map[string]bool{}

// LoadForDev is Load for the dev runtime itself: from dev.env it reuses only the key and
// the operator token (payloads sealed before a restart must stay readable), and chooses
// PostgreSQL and Temporal afresh.
func LoadForDev() (Config, error) {
	return load(map[string]bool{"PAYLOAD_KEYS": true, "OPERATOR_TOKEN": true})
}

// load reads dev.env's variables named in only (nil: all of them) where the environment
// does not set them, then the environment.
func load(only map[string]bool) (Config, error) {
	dir := os.Getenv("DEV_DATA_DIR")
	if dir == "" {
		dir = ".devdata"
	}
	applyDevEnv(DevEnvFile(dir), only)
	var c Config
	if err := CheckRetired(); err != nil {
		return c, err
	}
	if err := envconfig.Process("", &c); err != nil {
		return c, err
	}
	if err := c.temporalFromProfile(); err != nil {
		return c, err
	}
	if strings.HasSuffix(c.TaskQueue, "-urgent") {
		// The letters queue's urgent queue is <queue>-urgent, and a workflow on it finds its
		// providers' queues by trimming that suffix: a letters queue named so would send its
		// notices to queues no worker polls.
		return c, fmt.Errorf("TEMPORAL_TASK_QUEUE: must not end in -urgent (the urgent queue is %s-urgent), got %q", c.TaskQueue, c.TaskQueue)
	}
	if !(c.ProviderUrgentShare >= 0 && c.ProviderUrgentShare <= 0.5) { // NaN too
		return c, fmt.Errorf("PROVIDER_URGENT_SHARE: must be from 0 to 0.5 (a share of each provider's rate), got %v", c.ProviderUrgentShare)
	}
	if c.OperatorToken == "" && c.OperatorTokenFile != "" {
		b, err := os.ReadFile(c.OperatorTokenFile)
		if err != nil {
			return c, fmt.Errorf("OPERATOR_TOKEN_FILE: %w", err)
		}
		c.OperatorToken = strings.TrimSpace(string(b))
	}
	return c, nil
}

// TemporalClientVariables are the variables of Temporal's standard client configuration
// that every process honours through the SDK's envconfig, besides TEMPORAL_ADDRESS and
// TEMPORAL_NAMESPACE (Config fields) and TEMPORAL_GRPC_META_<NAME> (a gRPC header each).
// Each has a row in docs/configuration.md; the SDK's TEMPORAL_CODEC_* are read by it but not used,
// since payloads are sealed in the process with PAYLOAD_KEYS.
var TemporalClientVariables = []string{
	"TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE", "TEMPORAL_API_KEY", "TEMPORAL_TLS",
	"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_CLIENT_CERT_DATA",
	"TEMPORAL_TLS_CLIENT_KEY_DATA", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
	"TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "TEMPORAL_CLIENT_AUTHORITY",
}

// retired are variables this program no longer reads, with what took their place: set,
// they would be ignored without a word, and a worker would talk to Temporal without the
// certificate its operator gave it.
var retired = []struct{ name, instead string }{
	{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_CLIENT_CERT_PATH"},
	{"TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CLIENT_KEY_PATH"},
}

// CheckRetired fails when a variable this program no longer reads is set (non-empty).
func CheckRetired() error {
	var errs []error
	for _, r := range retired {
		if os.Getenv(r.name) != "" {
			errs = append(errs, fmt.Errorf("%s is no longer read: set %s instead (Temporal's standard client variables, docs/configuration.md)", r.name, r.instead))
		}
	}
	return errors.Join(errs...)
}

// temporalFromProfile takes the address and namespace from the Temporal client profile
// when TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE are not set, so that what the process logs,
// and the dev runtime's port, are what it dials. A profile named but missing, or a file
// that does not parse, fails here, at start.
func (c *Config) temporalFromProfile() error {
	prof, err := temporalenv.LoadClientConfigProfile(temporalenv.LoadClientConfigProfileOptions{})
	if err != nil {
		return fmt.Errorf("Temporal client profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE): %w", err)
	}
	if _, set := os.LookupEnv("TEMPORAL_ADDRESS"); !set && prof.Address != "" {
		c.TemporalAddress = prof.Address
	}
	if _, set := os.LookupEnv("TEMPORAL_NAMESPACE"); !set && prof.Namespace != "" {
		c.TemporalNamespace = prof.Namespace
	}
	return nil
}

func applyDevEnv(path string, only map[string]bool) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") || (only != nil && !only[k]) {
			continue
		}
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
}

// WriteDevEnv records the dev runtime's choices for other commands.
func WriteDevEnv(devDataDir string, vars map[string]string) error {
	var b strings.Builder
	b.WriteString("# written by `go run ./worker -dev`; the environment overrides these\n")
	for _, k := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "PAYLOAD_KEYS", "OPERATOR_TOKEN", "PRINT_SPOOL_DIR", "LETTER_OPEN_DEADLINE",
		"EXEMPTION_SERVICE_DEADLINE", "READING_ACCESS_RESPONSE_DEADLINE", "LETTER_REMINDER_BEFORE", "REMINDER_QUIET_HOURS",
		"NEMSMS_APPOINTMENT_REMINDER", "NEMSMS_TERMS_VERSION"} {
		if v, ok := vars[k]; ok {
			b.WriteString(k + "=" + v + "\n")
		}
	}
	return os.WriteFile(DevEnvFile(devDataDir), []byte(b.String()), 0o600)
}

// AddDevEnv records one more of the dev runtime's choices, made once it is up (the senders'
// API's address, known only once it listens).
func AddDevEnv(devDataDir, key, value string) error {
	f, err := os.OpenFile(DevEnvFile(devDataDir), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%s=%s\n", key, value); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
