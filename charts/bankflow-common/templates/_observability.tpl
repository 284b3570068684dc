{{/*
Prometheus Operator monitors (behind flags), the PrometheusRule wrapper and the Grafana
dashboards. Plain Prometheus uses the prometheus.io/* pod annotations instead.
*/}}

{{- define "bankflow.serviceMonitor" -}}
{{- $ctx := dict "root" . "component" "web" -}}
{{- $sm := .Values.metrics.serviceMonitor -}}
{{- if $sm.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "bankflow.selectorLabels" $ctx | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  endpoints:
    - port: http
      path: /metrics
      interval: {{ $sm.interval }}
      scrapeTimeout: {{ $sm.scrapeTimeout }}
{{- end }}
{{- end -}}

{{- define "bankflow.podMonitor" -}}
{{- $ctx := dict "root" . "component" "worker" -}}
{{- $pm := .Values.metrics.podMonitor -}}
{{- if $pm.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
    {{- with $pm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  # Every worker pool (bankflow.workerPools) serves /metrics on its port named metrics.
  selector:
    matchLabels:
      {{- include "bankflow.selectorLabels" (dict "root" . "component" "") | nindent 6 }}
    matchExpressions:
      - key: app.kubernetes.io/component
        operator: In
        values:
          {{- range (include "bankflow.workerPools" . | fromJsonArray) }}
          - {{ .name }}
          {{- end }}
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  podMetricsEndpoints:
    - port: metrics
      path: /metrics
      interval: {{ $pm.interval }}
      scrapeTimeout: {{ $pm.scrapeTimeout }}
{{- end }}
{{- end -}}

{{/* (dict "root" $ "groups" <list of rule groups as YAML text>) */}}
{{- define "bankflow.prometheusRule" -}}
{{- $root := .root -}}
{{- $pr := $root.Values.metrics.prometheusRule -}}
{{- if $pr.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ include "bankflow.fullname" $root }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "bankflow.labels" (dict "root" $root "component" "alerts") | nindent 4 }}
    {{- with $pr.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  groups:
    {{- .groups | nindent 4 }}
{{- end }}
{{- end -}}

{{/* One ConfigMap per dashboards/*.json file of the chart, for Grafana's sidecar. */}}
{{- define "bankflow.dashboards" -}}
{{- $root := . -}}
{{- $d := .Values.dashboards -}}
{{- if $d.enabled }}
{{- range $path, $_ := $root.Files.Glob "dashboards/*.json" }}
{{- $name := base $path | trimSuffix ".json" }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "bankflow.fullname" $root }}-dashboard-{{ $name }}
  namespace: {{ default $root.Release.Namespace $d.namespace }}
  labels:
    {{- include "bankflow.labels" (dict "root" $root "component" "dashboards") | nindent 4 }}
    {{- toYaml $d.labels | nindent 4 }}
  {{- with $d.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
data:
  {{ base $path }}: |-
    {{- $root.Files.Get $path | nindent 4 }}
{{- end }}
{{- end }}
{{- end -}}
