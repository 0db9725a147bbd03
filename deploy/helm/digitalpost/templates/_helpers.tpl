{{/* Names and labels. */}}
{{- define "digitalpost.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "digitalpost.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The name of a component's objects: (list $ "worker"). */}}
{{- define "digitalpost.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "digitalpost.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "digitalpost.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "digitalpost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: digitalpost
{{- end -}}

{{/* Selector labels of a component: (list $ "worker"). */}}
{{- define "digitalpost.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "digitalpost.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "digitalpost.componentLabels" -}}
{{- $root := index . 0 -}}
{{ include "digitalpost.labels" $root }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "digitalpost.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "digitalpost.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "digitalpost.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The worker builds, filled in: (list of dict tag buildId name replicas minReplicas maxReplicas),
as YAML under "builds". name is the build id made fit for object names and label values.
*/}}
{{- define "digitalpost.workerBuilds" -}}
{{- $out := list -}}
{{- $ids := dict -}}
{{- range $b := .Values.worker.builds -}}
{{- $tag := default (default $.Chart.AppVersion $.Values.image.tag) $b.tag | toString -}}
{{- $id := default $tag $b.buildId | toString -}}
{{- $name := regexReplaceAll "[^a-z0-9.-]+" (lower $id) "-" | trunc 40 | trimSuffix "-" | trimSuffix "." -}}
{{- if hasKey $ids $name -}}
{{- fail (printf "worker.builds: build %q is listed twice" $id) -}}
{{- end -}}
{{- $_ := set $ids $name true -}}
{{- $out = append $out (dict "tag" $tag "buildId" $id "name" $name "replicas" (ternary $b.replicas $.Values.worker.replicas (hasKey $b "replicas")) "minReplicas" (ternary $b.minReplicas $.Values.autoscaling.minReplicas (hasKey $b "minReplicas")) "maxReplicas" (ternary $b.maxReplicas $.Values.autoscaling.maxReplicas (hasKey $b "maxReplicas"))) -}}
{{- end -}}
{{- if eq (len $out) 0 -}}
{{- fail "worker.builds: name at least one build" -}}
{{- end -}}
{{- if and (not .Values.worker.deploymentName) (gt (len $out) 1) -}}
{{- fail "worker.builds: more than one build needs Worker Versioning (worker.deploymentName)" -}}
{{- end -}}
{{- toYaml (dict "builds" $out) -}}
{{- end -}}

{{/*
The environment of a component: (list $ "worker" $component). Plain variables from
config (both) and the component's config; secrets by secretKeyRef from secret.name, one key
per variable; the connection to Temporal, with the mTLS files' paths in the mounted Secret.
*/}}
{{- define "digitalpost.env" -}}
{{- $root := index . 0 -}}
{{- $role := index . 1 -}}
{{- $c := index . 2 -}}
- name: SERVE
  value: {{ $role | quote }}
- name: TEMPORAL_ADDRESS
  value: {{ required "temporal.address is required" $root.Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ $root.Values.temporal.namespace | quote }}
- name: TEMPORAL_TASK_QUEUE
  value: {{ $root.Values.temporal.taskQueue | quote }}
{{- with $root.Values.temporal.tls }}
{{- if .enabled }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: {{ printf "%s/tls.crt" .mountPath | quote }}
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: {{ printf "%s/tls.key" .mountPath | quote }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: {{ printf "%s/ca.crt" .mountPath | quote }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ required "temporal.tls.serverName is required with temporal.tls.enabled" .serverName | quote }}
{{- end }}
{{- end }}
{{- with $c.goMemLimit }}
- name: GOMEMLIMIT
  value: {{ . | quote }}
{{- end }}
{{- range $k, $v := merge (dict) $c.config $root.Values.config }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- range concat $root.Values.secretEnv $c.secretEnv }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secret.name }}
      key: {{ . }}
{{- end }}
{{- range $c.optionalSecretEnv }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secret.name }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end -}}

{{/* The Temporal client certificate's volume and mount. */}}
{{- define "digitalpost.tlsVolume" -}}
{{- if .Values.temporal.tls.enabled -}}
- name: temporal-tls
  secret:
    secretName: {{ required "temporal.tls.secretName is required with temporal.tls.enabled" .Values.temporal.tls.secretName }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "digitalpost.tlsVolumeMount" -}}
{{- if .Values.temporal.tls.enabled -}}
- name: temporal-tls
  mountPath: {{ .Values.temporal.tls.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* Spread a component's pods over nodes and zones: (list $ "worker"). */}}
{{- define "digitalpost.topologySpread" -}}
{{- $root := index . 0 -}}
{{- $comp := index . 1 -}}
{{- if $root.Values.topologySpread.enabled -}}
topologySpreadConstraints:
  {{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
  - maxSkew: 1
    topologyKey: {{ . }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "digitalpost.selectorLabels" (list $root $comp) | nindent 8 }}
  {{- end }}
{{- end }}
{{- end -}}
