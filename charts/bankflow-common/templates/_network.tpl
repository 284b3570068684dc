{{/*
Ingress NetworkPolicies. Every pod of the release starts from "deny all ingress"; then:
  web     its HTTP port from .Values.networkPolicy.web.from (the other service's worker,
          an ingress controller, ...), from this release's `helm test` pod, and from
          the monitoring namespace (its /metrics shares the HTTP port);
  worker  its metrics port from the monitoring namespace;
  beat, migrate: nothing.
Policies are L4: the API and /metrics share a port, so they are reachable from the same
peers; the API's own authentication still applies. Egress is not restricted.
*/}}

{{- define "bankflow.networkPolicy.peer" -}}
{{- if .namespace }}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .namespace }}
  {{- if .podLabels }}
  podSelector:
    matchLabels:
      {{- toYaml .podLabels | nindent 6 }}
  {{- end }}
{{- else if .podLabels }}
- podSelector:
    matchLabels:
      {{- toYaml .podLabels | nindent 6 }}
{{- else if .cidr }}
- ipBlock:
    cidr: {{ .cidr }}
{{- end }}
{{- end -}}

{{- define "bankflow.networkPolicy.monitoringPeers" -}}
{{- with .Values.networkPolicy.monitoring }}
{{- if .namespace }}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .namespace }}
  {{- with .podLabels }}
  podSelector:
    matchLabels:
      {{- toYaml . | nindent 6 }}
  {{- end }}
{{- end }}
{{- end }}
{{- range .Values.networkPolicy.probeCIDRs }}
- ipBlock:
    cidr: {{ . }}
{{- end }}
{{- end -}}

{{- define "bankflow.networkPolicies" -}}
{{- $root := . -}}
{{- $np := .Values.networkPolicy -}}
{{- if $np.enabled }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "bankflow.fullname" $root }}-default-deny
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" (dict "root" $root "component" "") | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "bankflow.selectorLabels" (dict "root" $root "component" "") | nindent 6 }}
  policyTypes:
    - Ingress
---
{{- $ctx := dict "root" $root "component" "web" }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "bankflow.selectorLabels" $ctx | nindent 6 }}
  policyTypes:
    - Ingress
  ingress:
    - ports:
        - port: {{ .Values.web.port }}
          protocol: TCP
      from:
        {{- range $np.web.from }}
        {{- include "bankflow.networkPolicy.peer" . | nindent 8 }}
        {{- end }}
        - podSelector:
            matchLabels:
              {{- include "bankflow.selectorLabels" (dict "root" $root "component" "test") | nindent 14 }}
        {{- include "bankflow.networkPolicy.monitoringPeers" $root | nindent 8 }}
{{- range (include "bankflow.workerPools" $root | fromJsonArray) }}
---
{{- $wctx := dict "root" $root "component" .name }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "bankflow.componentName" $wctx }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $wctx | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "bankflow.selectorLabels" $wctx | nindent 6 }}
  policyTypes:
    - Ingress
  ingress:
    - ports:
        - port: {{ .values.metricsPort }}
          protocol: TCP
      from:
        {{- include "bankflow.networkPolicy.monitoringPeers" $root | nindent 8 }}
{{- end }}
{{- end }}
{{- end -}}
