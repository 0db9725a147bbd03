package digitalpost_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kjson "sigs.k8s.io/json"
	kyaml "sigs.k8s.io/yaml"

	"digitalpost/internal/infra/config"
)

// The Helm chart is checked offline, as docker-compose.yml is: there is no cluster here.
// helm lint (strict), then helm template through Helm's own install action in client-only
// dry-run mode, and every rendered object decoded strictly into its Kubernetes API type, so
// that a misspelt or mis-cased field fails the test as the API server would refuse it.
// Then the wiring: probes, variables, secrets, the disruption budgets, the graceful stop,
// the metrics and the autoscaling.

const chartDir = "deploy/helm/digitalpost"

// The cluster version the chart is rendered for (its kubeVersion is >= 1.30).
const testKubeVersion = "v1.33.0"

// KEDA's Go module is not available here, so its two custom resources are mirrored from
// github.com/kedacore/keda/v2/apis/keda/v1alpha1 (ScaledObject, TriggerAuthentication),
// with the fields the chart may use; a field outside them fails like any misspelling.
type kedaScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		ScaleTargetRef *struct {
			Name                   string `json:"name"`
			APIVersion             string `json:"apiVersion,omitempty"`
			Kind                   string `json:"kind,omitempty"`
			EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
		} `json:"scaleTargetRef"`
		PollingInterval       *int32 `json:"pollingInterval,omitempty"`
		InitialCooldownPeriod *int32 `json:"initialCooldownPeriod,omitempty"`
		CooldownPeriod        *int32 `json:"cooldownPeriod,omitempty"`
		IdleReplicaCount      *int32 `json:"idleReplicaCount,omitempty"`
		MinReplicaCount       *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount       *int32 `json:"maxReplicaCount,omitempty"`
		Advanced              *struct {
			HorizontalPodAutoscalerConfig *struct {
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
				Name     string                                         `json:"name,omitempty"`
			} `json:"horizontalPodAutoscalerConfig,omitempty"`
			RestoreToOriginalReplicaCount bool `json:"restoreToOriginalReplicaCount,omitempty"`
		} `json:"advanced,omitempty"`
		Triggers []struct {
			Type              string            `json:"type"`
			Name              string            `json:"name,omitempty"`
			UseCachedMetrics  bool              `json:"useCachedMetrics,omitempty"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
			MetricType autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
		} `json:"triggers"`
		Fallback *struct {
			FailureThreshold int32  `json:"failureThreshold"`
			Replicas         int32  `json:"replicas"`
			Behavior         string `json:"behavior,omitempty"`
		} `json:"fallback,omitempty"`
	} `json:"spec"`
}

type kedaTriggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef,omitempty"`
		Env []struct {
			Parameter     string `json:"parameter"`
			Name          string `json:"name"`
			ContainerName string `json:"containerName,omitempty"`
		} `json:"env,omitempty"`
	} `json:"spec"`
}

// kinds are the objects the chart may render, each with the type it must decode into.
var kinds = map[string]func() any{
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/Ingress":            func() any { return &networkingv1.Ingress{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"keda.sh/v1alpha1/ScaledObject":           func() any { return &kedaScaledObject{} },
	"keda.sh/v1alpha1/TriggerAuthentication":  func() any { return &kedaTriggerAuthentication{} },
}

// decodeStrict turns one YAML document into its typed object: YAML with a key twice is
// refused, and so is any field the type does not have, matched case-sensitively as the API
// server does (sigs.k8s.io/json, Kubernetes' own decoder; encoding/json would take
// "ReadinessProbe" for "readinessProbe").
func decodeStrict(doc []byte) (kind string, obj any, err error) {
	js, err := kyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return "", nil, err
	}
	var tm metav1.TypeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return "", nil, err
	}
	kind = tm.APIVersion + "/" + tm.Kind
	mk, ok := kinds[kind]
	if !ok {
		return kind, nil, fmt.Errorf("%s is not a kind the chart is checked for; add its type to kinds", kind)
	}
	obj = mk()
	strict, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return kind, nil, err
	}
	if len(strict) > 0 {
		return kind, nil, fmt.Errorf("%s: %v", kind, strict)
	}
	return kind, obj, nil
}

type rendered struct {
	api          *appsv1.Deployment   // SERVE=api
	workers      []*appsv1.Deployment // SERVE=worker, one per build
	services     []*corev1.Service
	pdbs         []*policyv1.PodDisruptionBudget
	monitors     []*monitoringv1.ServiceMonitor
	scaled       []*kedaScaledObject
	triggerAuths map[string]*kedaTriggerAuthentication
	ingresses    []*networkingv1.Ingress
	kinds        []string
}

func kubeVersion(t *testing.T) *common.KubeVersion {
	t.Helper()
	kv, err := common.ParseKubeVersion(testKubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// renderChart is `helm template` with vals over the chart's values.yaml, decoded strictly.
func renderChart(t *testing.T, vals map[string]any) rendered {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	inst := action.NewInstall(action.NewConfiguration())
	inst.DryRunStrategy = action.DryRunClient // client only: no cluster is asked anything
	inst.ReleaseName = "digitalpost"
	inst.Namespace = "digitalpost"
	inst.Replace = true
	inst.KubeVersion = kubeVersion(t)
	rel, err := inst.Run(ch, vals)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	r, ok := rel.(*release.Release)
	if !ok {
		t.Fatalf("helm template gave a %T", rel)
	}
	if len(r.Hooks) > 0 {
		t.Errorf("the chart has hooks (%d); they are not checked", len(r.Hooks))
	}
	out := rendered{triggerAuths: map[string]*kedaTriggerAuthentication{}}
	docs := releaseutil.SplitManifests(r.Manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		doc := docs[k]
		kind, obj, err := decodeStrict([]byte(doc))
		if err != nil {
			t.Errorf("%v\n--- the object:\n%s", err, doc)
			continue
		}
		out.kinds = append(out.kinds, kind)
		switch o := obj.(type) {
		case *appsv1.Deployment:
			switch serve := envValue(o.Spec.Template.Spec.Containers[0], "SERVE"); serve {
			case "api":
				if out.api != nil {
					t.Error("two Deployments run SERVE=api")
				}
				out.api = o
			case "worker":
				out.workers = append(out.workers, o)
			default:
				t.Errorf("Deployment %s runs SERVE=%q", o.Name, serve)
			}
		case *corev1.Service:
			out.services = append(out.services, o)
		case *policyv1.PodDisruptionBudget:
			out.pdbs = append(out.pdbs, o)
		case *monitoringv1.ServiceMonitor:
			out.monitors = append(out.monitors, o)
		case *kedaScaledObject:
			out.scaled = append(out.scaled, o)
		case *kedaTriggerAuthentication:
			out.triggerAuths[o.Name] = o
		case *networkingv1.Ingress:
			out.ingresses = append(out.ingresses, o)
		}
	}
	return out
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func TestChartLintsStrictly(t *testing.T) {
	for name, vals := range chartValueSets() {
		t.Run(name, func(t *testing.T) {
			l := action.NewLint()
			l.Strict = true // warnings fail too
			l.Namespace = "digitalpost"
			l.KubeVersion = kubeVersion(t)
			res := l.Run([]string{chartDir}, vals)
			for _, err := range res.Errors {
				t.Errorf("helm lint: %v", err)
			}
			for _, m := range res.Messages {
				if m.Severity > support.InfoSev {
					t.Errorf("helm lint: %v", m)
				}
			}
			if res.TotalChartsLinted != 1 {
				t.Errorf("helm lint linted %d charts", res.TotalChartsLinted)
			}
		})
	}
}

// chartValueSets: the defaults (production: mTLS, KEDA, ServiceMonitor) and the other
// branches of the templates.
func chartValueSets() map[string]map[string]any {
	return map[string]map[string]any{
		"defaults": {},
		"ingress":  {"api": map[string]any{"ingress": map[string]any{"enabled": true, "className": "nginx"}}},
		// A rollout: the old build and the new one run side by side (values.yaml, worker.builds).
		"rollout": {"worker": map[string]any{"builds": []any{
			map[string]any{"tag": "3f2a91c0d4e5"},
			map[string]any{"tag": "8b7c6d5e4f3a", "buildId": "8B7C6D5E4F3A+hotfix", "minReplicas": 3},
		}}},
		"unversioned": {"worker": map[string]any{"deploymentName": ""}},
		"plain": {
			"temporal":       map[string]any{"tls": map[string]any{"enabled": false}},
			"autoscaling":    map[string]any{"enabled": false},
			"serviceMonitor": map[string]any{"enabled": false},
			"topologySpread": map[string]any{"enabled": false},
			"serviceAccount": map[string]any{"create": false},
		},
	}
}

func TestChartRendersValidKubernetesObjects(t *testing.T) {
	for name, vals := range chartValueSets() {
		t.Run(name, func(t *testing.T) {
			r := renderChart(t, vals)
			for _, want := range []string{"apps/v1/Deployment", "v1/Service", "policy/v1/PodDisruptionBudget"} {
				if !slices.Contains(r.kinds, want) {
					t.Errorf("no %s rendered", want)
				}
			}
			if len(r.workers) == 0 || r.api == nil {
				t.Fatalf("want Deployments with SERVE=worker and one with SERVE=api, got %d and %v", len(r.workers), r.api != nil)
			}
			checkWiring(t, r, vals)
		})
	}
}

// knownVariables are the variables the program reads: Config's envconfig tags, Temporal's
// standard client variables (read through the SDK's envconfig), and GOMEMLIMIT, which the Go
// runtime reads.
func knownVariables() map[string]bool {
	known := map[string]bool{"GOMEMLIMIT": true}
	ct := reflect.TypeOf(config.Config{})
	for i := range ct.NumField() {
		if tag := ct.Field(i).Tag.Get("envconfig"); tag != "" {
			known[tag] = true
		}
	}
	for _, v := range config.TemporalClientVariables {
		known[v] = true
	}
	return known
}

// secretVariables never appear as a literal value in a manifest.
var secretVariables = []string{"PAYLOAD_KEYS", "DATABASE_URL", "TWILIO_AUTH_TOKEN", "SENDGRID_API_KEY",
	"SESSION_KEY", "OIDC_CLIENT_SECRET", "PRINT_HOUSE_TOKEN", "OPERATOR_TOKEN", "TEMPORAL_API_KEY",
	"TEMPORAL_TLS_CLIENT_KEY_DATA", "TEMPORAL_TLS_CLIENT_CERT_DATA"}

func checkWiring(t *testing.T, r rendered, vals map[string]any) {
	t.Helper()
	known := knownVariables()
	tlsOn := dig(vals, "temporal", "tls", "enabled") != false
	autoscaling := dig(vals, "autoscaling", "enabled") != false
	monitors := dig(vals, "serviceMonitor", "enabled") != false
	all := append([]*appsv1.Deployment{r.api}, r.workers...)

	for _, d := range all {
		name := d.Name
		pod := d.Spec.Template.Spec
		if len(pod.Containers) != 1 {
			t.Fatalf("%s: want one container, got %d", name, len(pod.Containers))
		}
		c := pod.Containers[0]
		// Every variable is one the program reads, once.
		seen := map[string]bool{}
		for _, e := range c.Env {
			if !known[e.Name] {
				t.Errorf("%s: %s is not a variable the program reads", name, e.Name)
			}
			if seen[e.Name] {
				t.Errorf("%s: %s is set twice", name, e.Name)
			}
			seen[e.Name] = true
			if slices.Contains(secretVariables, e.Name) {
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Errorf("%s: %s must come from a Secret (secretKeyRef), not a literal", name, e.Name)
				}
			}
		}
		if len(c.EnvFrom) > 0 {
			t.Errorf("%s: envFrom would bring variables nobody checks; use secretKeyRef per variable", name)
		}
		for _, v := range []string{"PAYLOAD_KEYS", "DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE"} {
			if !seen[v] {
				t.Errorf("%s: %s is not set", name, v)
			}
		}
		// The Temporal client certificate: files from a mounted Secret, never in the environment.
		tlsPaths := map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": "tls.crt", "TEMPORAL_TLS_CLIENT_KEY_PATH": "tls.key", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "ca.crt"}
		for v, key := range tlsPaths {
			p := envValue(c, v)
			if !tlsOn {
				if p != "" {
					t.Errorf("%s: %s set with temporal.tls.enabled=false", name, v)
				}
				continue
			}
			secret := secretMountedAt(pod, c, p)
			if secret == "" {
				t.Errorf("%s: %s=%q is not a file of a mounted Secret", name, v, p)
			} else if path.Base(p) != key {
				t.Errorf("%s: %s=%q, want the Secret's %s", name, v, p, key)
			}
		}
		if tlsOn && envValue(c, "TEMPORAL_TLS_SERVER_NAME") == "" {
			t.Errorf("%s: TEMPORAL_TLS_SERVER_NAME is not set", name)
		}
		// Hardening.
		if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: the pod must run as non-root", name)
		}
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: the container needs a read-only root and no privilege escalation", name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: CPU and memory requests and a memory limit are required", name)
		}
		// Probes are HTTP on a port the container declares.
		for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
			if p == nil || p.HTTPGet == nil {
				t.Errorf("%s: no HTTP %s probe", name, kind)
				continue
			}
			if containerPort(c, p.HTTPGet.Port.String()) == 0 {
				t.Errorf("%s: the %s probe's port %s is not a port of the container", name, kind, p.HTTPGet.Port.String())
			}
		}
		// A disruption budget covers it.
		if pdb := pdbFor(r.pdbs, d); pdb == nil {
			t.Errorf("%s: no PodDisruptionBudget selects its pods", name)
		}
		// The Deployment's selector matches its own pods and no other Deployment's.
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: the selector does not match the pod template (%v)", name, err)
		}
		for _, o := range all {
			if o != d && sel.Matches(labels.Set(o.Spec.Template.Labels)) {
				t.Errorf("%s's selector also takes %s's pods", name, o.Name)
			}
		}
	}

	// Every process: alive on /healthz, ready on /readyz (PostgreSQL and Temporal answer), on
	// the port it serves them on: HTTP_ADDR for the API, METRICS_ADDR for a worker-only process.
	for _, d := range all {
		c := d.Spec.Template.Spec.Containers[0]
		addr := map[string]string{"api": "HTTP_ADDR", "worker": "METRICS_ADDR"}[envValue(c, "SERVE")]
		port := addrPort(t, envValue(c, addr))
		for _, p := range []struct {
			kind  string
			probe *corev1.Probe
			path  string
		}{{"liveness", c.LivenessProbe, "/healthz"}, {"startup", c.StartupProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
			if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path {
				t.Errorf("%s: the %s probe is not GET %s", d.Name, p.kind, p.path)
			} else if port == 0 || containerPort(c, p.probe.HTTPGet.Port.String()) != port {
				t.Errorf("%s: the %s probe is on port %s, not %s's (%s)", d.Name, p.kind, p.probe.HTTPGet.Port.String(), addr, envValue(c, addr))
			}
		}
	}
	if g := r.api.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g <= 30 {
		t.Errorf("api: terminationGracePeriodSeconds %v must exceed the API's 30 s drain", g)
	}

	// The workers: one Deployment per build, each build a version of one Worker Deployment.
	longest := longestActivityTimeout(t)
	builds := map[string]bool{}
	for _, w := range r.workers {
		wc := w.Spec.Template.Spec.Containers[0]
		if envValue(wc, "METRICS_ADDR") == "" {
			t.Errorf("%s: METRICS_ADDR is not set; a worker-only process serves nothing without it", w.Name)
		}
		if envValue(wc, "PRINT_SPOOL_DIR") == "" || !mounted(wc, envValue(wc, "PRINT_SPOOL_DIR"), w.Spec.Template.Spec, func(v corev1.Volume) bool { return v.PersistentVolumeClaim != nil }) {
			t.Errorf("%s: PRINT_SPOOL_DIR must be a mounted PersistentVolumeClaim", w.Name)
		}
		// Graceful stop: longer than the longest provider activity may run.
		if grace := w.Spec.Template.Spec.TerminationGracePeriodSeconds; grace == nil || time.Duration(*grace)*time.Second <= longest {
			t.Errorf("%s: terminationGracePeriodSeconds %v must exceed the longest activity StartToCloseTimeout, %v", w.Name, grace, longest)
		}
		if envValue(wc, "WORKER_DEPLOYMENT_NAME") != envValue(r.workers[0].Spec.Template.Spec.Containers[0], "WORKER_DEPLOYMENT_NAME") {
			t.Errorf("%s: every build must be a version of the same Worker Deployment", w.Name)
		}
		id := envValue(wc, "WORKER_BUILD_ID")
		if envValue(wc, "WORKER_DEPLOYMENT_NAME") != "" && id == "" {
			t.Errorf("%s: a versioned worker needs WORKER_BUILD_ID", w.Name)
		}
		if builds[id] {
			t.Errorf("build %q runs in two Deployments", id)
		}
		builds[id] = true
	}

	// Services select the pods and name ports the containers have.
	for _, s := range r.services {
		var d *appsv1.Deployment
		for _, dd := range all {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(dd.Spec.Template.Labels)) {
				d = dd
			}
		}
		if d == nil {
			t.Errorf("Service %s selects no Deployment's pods", s.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			if containerPort(d.Spec.Template.Spec.Containers[0], p.TargetPort.String()) == 0 {
				t.Errorf("Service %s: targetPort %s is not a container port", s.Name, p.TargetPort.String())
			}
		}
	}

	// A ServiceMonitor scrapes /metrics of every Deployment's pods, on a port its Service has.
	if monitors {
		scraped := map[string]bool{}
		for _, m := range r.monitors {
			sel, err := metav1.LabelSelectorAsSelector(&m.Spec.Selector)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range r.services {
				if !sel.Matches(labels.Set(s.Labels)) {
					continue
				}
				for _, ep := range m.Spec.Endpoints {
					if ep.Path != "/metrics" {
						t.Errorf("ServiceMonitor %s scrapes %q", m.Name, ep.Path)
					}
					for _, p := range s.Spec.Ports {
						if p.Name != ep.Port {
							continue
						}
						for _, d := range all {
							if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
								scraped[d.Name] = true
							}
						}
					}
				}
			}
		}
		for _, d := range all {
			if !scraped[d.Name] {
				t.Errorf("no ServiceMonitor scrapes the %s pods' /metrics", d.Name)
			}
		}
	} else if len(r.monitors) > 0 {
		t.Error("serviceMonitor.enabled=false still renders ServiceMonitors")
	}

	// Autoscaling: per build, KEDA on that version's backlog of the letters queue, against
	// the workers' own Temporal.
	if !autoscaling {
		if len(r.scaled) > 0 {
			t.Error("autoscaling.enabled=false still renders ScaledObjects")
		}
		for _, w := range r.workers {
			if w.Spec.Replicas == nil {
				t.Errorf("%s: without autoscaling the Deployment needs replicas", w.Name)
			}
		}
		return
	}
	if len(r.scaled) != len(r.workers) {
		t.Fatalf("want a ScaledObject per worker Deployment (%d), got %d", len(r.workers), len(r.scaled))
	}
	for _, w := range r.workers {
		wc := w.Spec.Template.Spec.Containers[0]
		if w.Spec.Replicas != nil {
			t.Errorf("%s: with KEDA the Deployment must not set replicas (each upgrade would reset the scale)", w.Name)
		}
		var so *kedaScaledObject
		for _, s := range r.scaled {
			if s.Spec.ScaleTargetRef != nil && s.Spec.ScaleTargetRef.Name == w.Name && s.Spec.ScaleTargetRef.Kind == "Deployment" {
				so = s
			}
		}
		if so == nil {
			t.Errorf("no ScaledObject scales %s", w.Name)
			continue
		}
		// A backlog on the letters queue or on its urgent queue adds workers.
		letters := envValue(wc, "TEMPORAL_TASK_QUEUE")
		watched := map[string]bool{}
		for _, tr := range so.Spec.Triggers {
			if tr.Type != "temporal" {
				continue
			}
			md := tr.Metadata
			watched[md["taskQueue"]] = true
			if md["endpoint"] != envValue(wc, "TEMPORAL_ADDRESS") || md["namespace"] != envValue(wc, "TEMPORAL_NAMESPACE") ||
				(md["taskQueue"] != letters && md["taskQueue"] != letters+"-urgent") {
				t.Errorf("%s: the temporal trigger watches %s/%s/%s, the workers poll %s/%s/%s", so.Name, md["endpoint"], md["namespace"], md["taskQueue"],
					envValue(wc, "TEMPORAL_ADDRESS"), envValue(wc, "TEMPORAL_NAMESPACE"), envValue(wc, "TEMPORAL_TASK_QUEUE"))
			}
			if md["workerDeploymentName"] != envValue(wc, "WORKER_DEPLOYMENT_NAME") || md["workerDeploymentBuildId"] != envValue(wc, "WORKER_BUILD_ID") {
				t.Errorf("%s: the temporal trigger counts version %s/%s, the workers are %s/%s", so.Name, md["workerDeploymentName"], md["workerDeploymentBuildId"],
					envValue(wc, "WORKER_DEPLOYMENT_NAME"), envValue(wc, "WORKER_BUILD_ID"))
			}
			if md["queueTypes"] != "workflow" {
				t.Errorf("%s: the temporal trigger counts %q; want the letters' workflow tasks only", so.Name, md["queueTypes"])
			}
			if n, err := strconv.Atoi(md["targetQueueSize"]); err != nil || n <= 0 {
				t.Errorf("%s: targetQueueSize %q", so.Name, md["targetQueueSize"])
			}
			if !tlsOn {
				continue
			}
			if md["tlsServerName"] != envValue(wc, "TEMPORAL_TLS_SERVER_NAME") {
				t.Errorf("%s: the trigger's tlsServerName %q is not the workers' %q", so.Name, md["tlsServerName"], envValue(wc, "TEMPORAL_TLS_SERVER_NAME"))
			}
			if tr.AuthenticationRef == nil || r.triggerAuths[tr.AuthenticationRef.Name] == nil {
				t.Fatalf("%s: with mTLS the temporal trigger needs a TriggerAuthentication", so.Name)
			}
			params := map[string]string{}
			for _, ref := range r.triggerAuths[tr.AuthenticationRef.Name].Spec.SecretTargetRef {
				params[ref.Parameter] = ref.Name + "/" + ref.Key
			}
			secret := secretMountedAt(w.Spec.Template.Spec, wc, envValue(wc, "TEMPORAL_TLS_CLIENT_CERT_PATH"))
			for param, key := range map[string]string{"cert": "tls.crt", "key": "tls.key", "ca": "ca.crt"} {
				if params[param] != secret+"/"+key {
					t.Errorf("TriggerAuthentication %s = %q, want the workers' %s/%s", param, params[param], secret, key)
				}
			}
		}
		if !watched[letters] || !watched[letters+"-urgent"] || len(watched) != 2 {
			t.Errorf("%s: temporal (backlog) triggers on %v, want %s and %s-urgent", so.Name, watched, letters, letters)
		}
	}
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func addrPort(t *testing.T, addr string) int32 {
	t.Helper()
	if addr == "" {
		return 0
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%q: %v", addr, err)
		return 0
	}
	n, _ := strconv.Atoi(p)
	return int32(n)
}

// containerPort resolves a port given by name or number to the container's port number.
func containerPort(c corev1.Container, port string) int32 {
	for _, p := range c.Ports {
		if p.Name == port || strconv.Itoa(int(p.ContainerPort)) == port {
			return p.ContainerPort
		}
	}
	return 0
}

// secretMountedAt names the Secret whose volume is mounted at the directory of file.
func secretMountedAt(pod corev1.PodSpec, c corev1.Container, file string) string {
	for _, m := range c.VolumeMounts {
		if file == "" || path.Dir(file) != path.Clean(m.MountPath) {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				return v.Secret.SecretName
			}
		}
	}
	return ""
}

func mounted(c corev1.Container, dir string, pod corev1.PodSpec, ok func(corev1.Volume) bool) bool {
	for _, m := range c.VolumeMounts {
		if path.Clean(m.MountPath) != path.Clean(dir) {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && ok(v) {
				return true
			}
		}
	}
	return false
}

func pdbFor(pdbs []*policyv1.PodDisruptionBudget, d *appsv1.Deployment) *policyv1.PodDisruptionBudget {
	for _, p := range pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			return p
		}
	}
	return nil
}

// longestActivityTimeout reads the StartToCloseTimeout of every step in workflows/options.go
// (the notice, print and database steps), so that a longer timeout there fails this test
// until the chart's grace period follows.
func longestActivityTimeout(t *testing.T) time.Duration {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "workflows/options.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var longest time.Duration
	var found int
	ast.Inspect(f, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "StartToCloseTimeout" {
			return true
		}
		if d, ok := constDuration(kv.Value); ok {
			found++
			longest = max(longest, d)
		}
		return true
	})
	if found < 3 {
		t.Fatalf("found %d StartToCloseTimeouts in workflows/options.go; has the file moved?", found)
	}
	return longest
}

// constDuration evaluates N * time.Unit and sums of them.
func constDuration(e ast.Expr) (time.Duration, bool) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return constDuration(e.X)
	case *ast.BasicLit:
		n, err := strconv.ParseInt(e.Value, 10, 64)
		return time.Duration(n), err == nil
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && x.Name == "time" {
			units := map[string]time.Duration{"Millisecond": time.Millisecond, "Second": time.Second, "Minute": time.Minute, "Hour": time.Hour}
			d, ok := units[e.Sel.Name]
			return d, ok
		}
	case *ast.BinaryExpr:
		a, okA := constDuration(e.X)
		b, okB := constDuration(e.Y)
		if !okA || !okB {
			return 0, false
		}
		switch e.Op {
		case token.MUL:
			return a * b, true
		case token.ADD:
			return a + b, true
		}
	}
	return 0, false
}

// The strict decoding is what makes a misspelt field fail; this keeps it so.
func TestChartDecodingRefusesMisspeltFields(t *testing.T) {
	good := `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: c
          image: i
          readinessProbe: {httpGet: {path: /readyz, port: 8080}}
`
	if _, _, err := decodeStrict([]byte(good)); err != nil {
		t.Fatalf("a valid Deployment is refused: %v", err)
	}
	for name, bad := range map[string]string{
		"misspelt":     strings.Replace(good, "readinessProbe", "readinesProbe", 1),
		"mis-cased":    strings.Replace(good, "readinessProbe", "ReadinessProbe", 1),
		"twice":        strings.Replace(good, "image: i", "image: i\n          image: j", 1),
		"wrong type":   strings.Replace(good, "port: 8080}", "port: 8080, path: [1]}", 1),
		"unknown kind": strings.Replace(good, "kind: Deployment", "kind: Deploymnet", 1),
		"keda field": `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: x}
spec:
  scaleTargetRef: {name: w}
  minReplicas: 2
  triggers: [{type: temporal, metadata: {}}]
`,
	} {
		if _, _, err := decodeStrict([]byte(bad)); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

// Temporal's own chart (temporalio/helm-charts) is installed with deploy/helm/temporal-values.yaml.
// The chart itself is not here to render, so the values are read and the settings this system
// depends on are checked: 512 shards, PostgreSQL for both stores, the same dynamic config as
// docker-compose.yml mounts, two or more of each service, and mTLS.
func TestTemporalChartValues(t *testing.T) {
	b, err := os.ReadFile("deploy/helm/temporal-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("temporal-values.yaml does not load: %v", err)
	}
	want := func(got any, want any, keys ...string) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", strings.Join(keys, "."), got, want)
		}
	}
	get := func(keys ...string) any { return dig(v, keys...) }
	want(get("server", "config", "persistence", "numHistoryShards"), 512, "server.config.persistence.numHistoryShards")
	for _, store := range []string{"default", "visibility"} {
		k := []string{"server", "config", "persistence", "datastores", store, "sql", "pluginName"}
		want(get(k...), "postgres12", k...)
	}
	want(get("server", "config", "persistence", "defaultStore"), "default", "defaultStore")
	want(get("server", "config", "persistence", "visibilityStore"), "visibility", "visibilityStore")
	for _, svc := range []string{"frontend", "history", "matching"} {
		n, _ := get("server", svc, "replicaCount").(int)
		if n < 2 {
			t.Errorf("server.%s.replicaCount = %v, want at least 2", svc, get("server", svc, "replicaCount"))
		}
	}
	if tag, _ := get("server", "image", "tag").(string); !strings.HasPrefix(tag, "1.32.") {
		t.Errorf("server.image.tag = %q, want 1.32.x", tag)
	}
	if tag, _ := get("admintools", "image", "tag").(string); !strings.HasPrefix(tag, "1.32.") {
		t.Errorf("admintools.image.tag = %q, want 1.32.x (the schema job's tools match the server)", tag)
	}
	// mTLS: internode and frontend from Secrets, client certificates required at the frontend.
	for _, section := range []string{"internode", "frontend"} {
		want(get("server", "tls", section, "enabled"), true, "server.tls."+section+".enabled")
		if s, _ := get("server", "tls", section, "secretName").(string); s == "" {
			t.Errorf("server.tls.%s.secretName is empty", section)
		}
	}
	want(get("server", "tls", "frontend", "requireClientAuth"), true, "server.tls.frontend.requireClientAuth")
	want(get("server", "frontend", "service", "type"), "ClusterIP", "server.frontend.service.type")
	want(get("server", "frontend", "ingress", "enabled"), false, "server.frontend.ingress.enabled")
	// The frontend's certificate names what our chart verifies.
	ours, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	want(get("server", "tls", "frontend", "serverName"), dig(ours.Values, "temporal", "tls", "serverName"), "server.tls.frontend.serverName (= our chart's temporal.tls.serverName)")

	// The dynamic config is the one compose mounts (fairness between senders, one partition).
	dc, err := os.ReadFile("deploy/temporal/dynamicconfig.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := yaml.Unmarshal(dc, &file); err != nil {
		t.Fatal(err)
	}
	want(get("server", "dynamicConfig"), file, "server.dynamicConfig (= deploy/temporal/dynamicconfig.yaml)")
	for key, val := range map[string]any{"matching.enableFairness": true, "matching.numTaskqueueReadPartitions": 1, "matching.numTaskqueueWritePartitions": 1} {
		list, _ := file[key].([]any)
		if len(list) != 1 || dig(map[string]any{"x": list[0]}, "x", "value") != val {
			t.Errorf("deploy/temporal/dynamicconfig.yaml: %s = %v, want [{value: %v}]", key, file[key], val)
		}
	}
}
