{{/*
Names, labels and the small pieces every bankflow object shares.
Templates that need a component take a dict: (dict "root" $ "component" "web").
*/}}

{{- define "bankflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bankflow.fullname" -}}
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

{{/* "<fullname>-<component>", e.g. producer-worker */}}
{{- define "bankflow.componentName" -}}
{{- printf "%s-%s" (include "bankflow.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bankflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bankflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bankflow.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "bankflow.labels" -}}
{{ include "bankflow.selectorLabels" . }}
app.kubernetes.io/part-of: bankflow
app.kubernetes.io/version: {{ include "bankflow.imageTag" .root | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "bankflow.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "bankflow.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "bankflow.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "bankflow.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* The Python package of the service: celery -A <module>, the <module> console script. */}}
{{- define "bankflow.module" -}}
{{- .Values.app.module | default .Chart.Name -}}
{{- end -}}

{{- define "bankflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bankflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "bankflow.secretName" -}}
{{- default (include "bankflow.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* The web Service's DNS names, the pod's own IP (kubelet probes and Prometheus use it
as the Host header) and localhost (port-forward) are always allowed. */}}
{{- define "bankflow.allowedHosts" -}}
{{- $fullname := include "bankflow.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $hosts := list $fullname (printf "%s.%s" $fullname $ns) (printf "%s.%s.svc" $fullname $ns) (printf "%s.%s.svc.%s" $fullname $ns .Values.clusterDomain) "localhost" "127.0.0.1" "$(POD_IP)" -}}
{{- concat $hosts .Values.app.allowedHosts | uniq | join "," -}}
{{- end -}}

{{/* ---- pod and container security (docs/kubernetes.md) ---------------- */}}
{{- define "bankflow.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "bankflow.containerSecurityContext" -}}
{{- toYaml .Values.securityContext -}}
{{- end -}}

{{/* Pod annotations: config/secret checksums roll the pods when either changes. */}}
{{- define "bankflow.checksums" -}}
checksum/config: {{ include "bankflow.configmap.data" .root | sha256sum }}
{{- if not .root.Values.existingSecret }}
checksum/secret: {{ include "bankflow.secret.data" .root | sha256sum }}
{{- else }}
checksum/secret: {{ .root.Values.existingSecret | sha256sum }}
{{- end }}
{{- end -}}

{{- define "bankflow.prometheusAnnotations" -}}
{{- if .root.Values.metrics.annotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/* ---- environment -------------------------------------------------------------------- */}}
{{- define "bankflow.envFrom" -}}
- configMapRef:
    name: {{ .name | default (include "bankflow.fullname" .root) }}
- secretRef:
    name: {{ .secretName | default (include "bankflow.secretName" .root) }}
{{- end -}}

{{- define "bankflow.env.pod" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: DJANGO_ALLOWED_HOSTS
  value: {{ include "bankflow.allowedHosts" . | quote }}
{{- end -}}

{{/* ---- volumes: the root filesystem is read-only; /tmp and the Prometheus
multiprocess directory are emptyDirs. */}}
{{- define "bankflow.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if .metrics }}
- name: prometheus
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- end }}
{{- end -}}

{{- define "bankflow.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .metrics }}
- name: prometheus
  mountPath: {{ .root.Values.metrics.multiprocDir }}
{{- end }}
{{- end -}}

{{- define "bankflow.podCommon" -}}
serviceAccountName: {{ include "bankflow.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- include "bankflow.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* ---- capabilities ------------------------------------------------------------------- */}}
{{/* KEDA is used when asked for AND the cluster serves its API: a plain `helm install` on
a cluster without KEDA then falls back to the CPU HPA (worker.autoscaling) instead of
failing on an unknown kind; NOTES.txt says so. Offline renders (`helm template`) need
`--api-versions keda.sh/v1alpha1/ScaledObject` to show the KEDA objects. */}}
{{- define "bankflow.keda.active" -}}
{{- if and .Values.keda.enabled (.Capabilities.APIVersions.Has "keda.sh/v1alpha1/ScaledObject") -}}
true
{{- end -}}
{{- end -}}

{{/* ---- waiting for the backing services ------------------------------------------------
(dict "root" $ "process" "web" "envFrom" <envFrom YAML>): an init container that runs
`python -m bankflow.wait` for what .Values.wait.for.<process> names, with the main
container's environment, so that start-up order never matters. */}}
{{- define "bankflow.wait.initContainers" -}}
{{- $root := .root -}}
{{- $w := $root.Values.wait -}}
{{- $deps := index $w.for .process | default list -}}
{{- if and $w.enabled $deps }}
- name: wait
  image: {{ include "bankflow.image" $root | quote }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  command:
    - python
    - -m
    - bankflow.wait
    - --timeout
    - {{ $w.timeoutSeconds | quote }}
    - --interval
    - {{ $w.intervalSeconds | quote }}
    {{- range $deps }}
    - {{ . }}
    {{- end }}
  envFrom:
    {{- .envFrom | nindent 4 }}
  env:
    {{- include "bankflow.env.pod" $root | nindent 4 }}
  securityContext:
    {{- include "bankflow.containerSecurityContext" $root | nindent 4 }}
  resources:
    {{- toYaml $w.resources | nindent 4 }}
  volumeMounts:
    {{- include "bankflow.volumeMounts" (dict "root" $root "metrics" false) | nindent 4 }}
{{- end }}
{{- end -}}

{{/* ---- spreading --------------------------------------------------------------------------
(dict "root" $ "component" "web" "constraints" <list>): each constraint gets the
component's selector labels unless it names its own labelSelector, and pod-template-hash
as a matchLabelKey so that a rolling update spreads the new pods by themselves. */}}
{{- define "bankflow.topologySpread" -}}
{{- $selector := include "bankflow.selectorLabels" (dict "root" .root "component" .component) | fromYaml -}}
{{- range .constraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" $selector) }}
{{- end }}
{{- if not (hasKey $c "matchLabelKeys") }}
{{- $_ := set $c "matchLabelKeys" (list "pod-template-hash") }}
{{- end }}
- {{ toYaml $c | nindent 2 | trim }}
{{- end }}
{{- end -}}

{{/* ---- PodDisruptionBudget ------------------------------------------------------------- */}}
{{- define "bankflow.pdb" -}}
{{- $ctx := dict "root" .root "component" .component -}}
{{- if .pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
spec:
  maxUnavailable: {{ .pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "bankflow.selectorLabels" $ctx | nindent 6 }}
{{- end }}
{{- end -}}
