package config_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	temporalenv "go.temporal.io/sdk/contrib/envconfig"

	"digitalpost/internal/infra/config"
)

// cleanTemporalEnv unsets every TEMPORAL_* variable for the test (restored after it), and
// points the profile file at a file that does not exist, so that neither the shell's
// variables nor the user's own ~/.config/temporalio/temporal.toml leak in.
func cleanTemporalEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TEMPORAL_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("DEV_DATA_DIR", t.TempDir())
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
}

func writeProfiles(t *testing.T, toml string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "temporal.toml")
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestTemporalAddressAndNamespace(t *testing.T) {
	t.Run("defaults without a profile or variables", func(t *testing.T) {
		cleanTemporalEnv(t)
		cfg, err := config.Load()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TemporalAddress != "127.0.0.1:7233" || cfg.TemporalNamespace != "default" {
			t.Errorf("address %q namespace %q, want the defaults", cfg.TemporalAddress, cfg.TemporalNamespace)
		}
	})
	profiles := `
[profile.default]
address = "default.example:7233"

[profile.prod]
address = "prod.example:7233"
namespace = "digitalpost-prod"
`
	t.Run("from the named profile", func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("TEMPORAL_CONFIG_FILE", writeProfiles(t, profiles))
		t.Setenv("TEMPORAL_PROFILE", "prod")
		cfg, err := config.Load()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TemporalAddress != "prod.example:7233" || cfg.TemporalNamespace != "digitalpost-prod" {
			t.Errorf("address %q namespace %q, want the prod profile's", cfg.TemporalAddress, cfg.TemporalNamespace)
		}
	})
	t.Run("from the default profile, namespace defaulted", func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("TEMPORAL_CONFIG_FILE", writeProfiles(t, profiles))
		cfg, err := config.Load()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TemporalAddress != "default.example:7233" || cfg.TemporalNamespace != "default" {
			t.Errorf("address %q namespace %q", cfg.TemporalAddress, cfg.TemporalNamespace)
		}
	})
	t.Run("variables win over the profile", func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("TEMPORAL_CONFIG_FILE", writeProfiles(t, profiles))
		t.Setenv("TEMPORAL_PROFILE", "prod")
		t.Setenv("TEMPORAL_ADDRESS", "env.example:7233")
		t.Setenv("TEMPORAL_NAMESPACE", "env-ns")
		cfg, err := config.Load()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TemporalAddress != "env.example:7233" || cfg.TemporalNamespace != "env-ns" {
			t.Errorf("address %q namespace %q, want the variables'", cfg.TemporalAddress, cfg.TemporalNamespace)
		}
	})
	t.Run("a profile named but missing fails at start", func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("TEMPORAL_CONFIG_FILE", writeProfiles(t, profiles))
		t.Setenv("TEMPORAL_PROFILE", "staging")
		if _, err := config.Load(); err == nil || !strings.Contains(err.Error(), "staging") {
			t.Errorf("err %v, want one naming the missing profile", err)
		}
	})
}

func TestRetiredTLSVariablesFailAtStart(t *testing.T) {
	for old, instead := range map[string]string{
		"TEMPORAL_TLS_CERT": "TEMPORAL_TLS_CLIENT_CERT_PATH",
		"TEMPORAL_TLS_KEY":  "TEMPORAL_TLS_CLIENT_KEY_PATH",
	} {
		t.Run(old, func(t *testing.T) {
			cleanTemporalEnv(t)
			t.Setenv(old, "/etc/digitalpost/client.pem")
			_, err := config.Load()
			if err == nil || !strings.Contains(err.Error(), old) || !strings.Contains(err.Error(), instead) {
				t.Errorf("err %v, want one naming %s and %s", err, old, instead)
			}
		})
	}
	t.Run("set empty is nothing to ignore", func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("TEMPORAL_TLS_CERT", "")
		if _, err := config.Load(); err != nil {
			t.Error(err)
		}
	})
}

// Every standard variable we say we honour is one the SDK's envconfig reads: set alone,
// it changes the profile loaded (TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE by choosing
// the file and the profile in it).
func TestTemporalClientVariablesAreTheSDKs(t *testing.T) {
	dir := t.TempDir()
	file := writeProfiles(t, "[profile.default]\naddress = \"file:1\"\n[profile.other]\naddress = \"other:1\"\n")
	values := map[string]string{
		"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "other", "TEMPORAL_TLS": "true",
		"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "true",
	}
	empty, err := temporalenv.LoadClientConfigProfile(temporalenv.LoadClientConfigProfileOptions{
		EnvLookup: envMap{"TEMPORAL_CONFIG_FILE": filepath.Join(dir, "none.toml")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range config.TemporalClientVariables {
		env := envMap{"TEMPORAL_CONFIG_FILE": filepath.Join(dir, "none.toml")}
		if name == "TEMPORAL_PROFILE" {
			env["TEMPORAL_CONFIG_FILE"] = file
		}
		env[name] = "x"
		if v, ok := values[name]; ok {
			env[name] = v
		}
		prof, err := temporalenv.LoadClientConfigProfile(temporalenv.LoadClientConfigProfileOptions{EnvLookup: env})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "TEMPORAL_PROFILE" && prof.Address != "other:1" || name != "TEMPORAL_PROFILE" && profileString(prof) == profileString(empty) {
			t.Errorf("%s set changes nothing the SDK loads: not a variable of its", name)
		}
	}
}

func profileString(p temporalenv.ClientConfigProfile) string {
	b, _ := (&temporalenv.ClientConfig{Profiles: map[string]*temporalenv.ClientConfigProfile{"p": &p}}).ToTOML(temporalenv.ClientConfigToTOMLOptions{})
	return string(b)
}

type envMap map[string]string

func (m envMap) Environ() []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func (m envMap) LookupEnv(k string) (string, bool) { v, ok := m[k]; return v, ok }

// The standard variables are documented next to ours in docs/configuration.md, once across the
// README and docs/ (the root test checks Config's).
func TestTemporalClientVariablesAreDocumented(t *testing.T) {
	conf, err := os.ReadFile("../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	pages := []string{"../../../README.md"}
	docs, err := filepath.Glob("../../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, docs...)
	var all [][]byte
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b)
	}
	rows := func(re *regexp.Regexp) (n int) {
		for _, b := range all {
			n += len(re.FindAllIndex(b, -1))
		}
		return n
	}
	for _, name := range append([]string{"TEMPORAL_GRPC_META_<NAME>"}, config.TemporalClientVariables...) {
		row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(name) + "` \\|[^|]*\\|.*$")
		if !row.Match(conf) {
			t.Errorf("docs/configuration.md has no configuration row for %s", name)
		}
		if n := rows(row); n != 1 {
			t.Errorf("%s has %d configuration rows across README.md and docs/*.md, want exactly one", name, n)
		}
	}
	for _, old := range []string{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY"} {
		if rows(regexp.MustCompile("(?m)^\\| `"+old+"` \\|")) > 0 {
			t.Errorf("README.md or docs/ still documents %s, which is no longer read", old)
		}
	}
}
