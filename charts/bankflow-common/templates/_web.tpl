{{/*
The web tier: gunicorn (sync workers) serving the API, /healthz, /readyz and /metrics
on one port. Prometheus runs in multiprocess mode (gunicorn wipes the directory when it
starts and marks dead workers), so the directory is an emptyDir.
*/}}

{{- define "bankflow.web.deployment" -}}
{{- $root := . -}}
{{- $web := .Values.web -}}
{{- $ctx := dict "root" $root "component" "web" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
spec:
  {{- if not $web.autoscaling.enabled }}
  replicas: {{ $web.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "bankflow.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "bankflow.labels" $ctx | nindent 8 }}
      annotations:
        {{- include "bankflow.checksums" $ctx | nindent 8 }}
        {{- include "bankflow.prometheusAnnotations" (dict "root" $root "port" $web.port) | nindent 8 }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "bankflow.podCommon" $root | nindent 6 }}
      # gunicorn's graceful timeout plus the preStop pause stay inside this.
      terminationGracePeriodSeconds: {{ $web.terminationGracePeriodSeconds }}
      {{- with $web.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- include "bankflow.topologySpread" (dict "root" $root "component" "web" "constraints" .) | trim | nindent 8 }}
      {{- end }}
      {{- with include "bankflow.wait.initContainers" (dict "root" $root "process" "web" "envFrom" (include "bankflow.envFrom" (dict "root" $root))) }}
      initContainers:
        {{- . | trim | nindent 8 }}
      {{- end }}
      containers:
        - name: web
          image: {{ include "bankflow.image" $root | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command:
            - gunicorn
            - -c
            - /app/services/{{ include "bankflow.module" $root }}/gunicorn.conf.py
          ports:
            - name: http
              containerPort: {{ $web.port }}
              protocol: TCP
          envFrom:
            {{- include "bankflow.envFrom" (dict "root" $root) | nindent 12 }}
          env:
            {{- include "bankflow.env.pod" $root | nindent 12 }}
            - name: PORT
              value: {{ $web.port | quote }}
            - name: WEB_CONCURRENCY
              value: {{ $web.concurrency | quote }}
            - name: GUNICORN_TIMEOUT
              value: {{ $web.timeout | quote }}
            - name: GUNICORN_GRACEFUL_TIMEOUT
              value: {{ $web.gracefulTimeout | quote }}
            - name: PROMETHEUS_MULTIPROC_DIR
              value: {{ .Values.metrics.multiprocDir | quote }}
          {{- with $web.startupProbe }}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            {{- toYaml . | nindent 12 }}
          {{- end }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            {{- toYaml $web.livenessProbe | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            {{- toYaml $web.readinessProbe | nindent 12 }}
          lifecycle:
            preStop:
              # Let the endpoints controller take the pod out of the Service before
              # gunicorn stops accepting connections.
              exec:
                command: ["sleep", {{ $web.preStopSleepSeconds | quote }}]
          securityContext:
            {{- include "bankflow.containerSecurityContext" $root | nindent 12 }}
          resources:
            {{- toYaml $web.resources | nindent 12 }}
          volumeMounts:
            {{- include "bankflow.volumeMounts" (dict "root" $root "metrics" true) | nindent 12 }}
      volumes:
        {{- include "bankflow.volumes" (dict "Values" .Values "metrics" true) | nindent 8 }}
{{- end -}}

{{- define "bankflow.web.service" -}}
{{- $ctx := dict "root" . "component" "web" -}}
apiVersion: v1
kind: Service
metadata:
  # The web Service carries the release's own name: http://<fullname>:<port>.
  name: {{ include "bankflow.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
  {{- with .Values.web.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.web.service.type }}
  selector:
    {{- include "bankflow.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.web.service.port }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{- define "bankflow.web.hpa" -}}
{{- $ctx := dict "root" . "component" "web" -}}
{{- $as := .Values.web.autoscaling -}}
{{- if $as.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "bankflow.componentName" $ctx }}
  minReplicas: {{ $as.minReplicas }}
  maxReplicas: {{ $as.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $as.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{- define "bankflow.web.pdb" -}}
{{- include "bankflow.pdb" (dict "root" . "component" "web" "pdb" .Values.web.podDisruptionBudget) }}
{{- end -}}

{{/* Client traffic: an Ingress (networking.k8s.io/v1) and/or a Gateway API HTTPRoute to
the web Service. The NetworkPolicy of the web tier must admit the controller's pods:
list its namespace in networkPolicy.web.from (the producer's defaults name ingress-nginx). */}}
{{- define "bankflow.web.ingress" -}}
{{- $ctx := dict "root" . "component" "web" -}}
{{- $ing := .Values.ingress -}}
{{- if $ing.enabled }}
{{- if not $ing.hosts }}
{{- fail "ingress.enabled needs at least one entry in ingress.hosts" }}
{{- end }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "bankflow.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
  {{- with $ing.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $ing.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with $ing.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    {{- range $ing.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range (.paths | default (list (dict "path" "/" "pathType" "Prefix"))) }}
          - path: {{ .path }}
            pathType: {{ .pathType | default "Prefix" }}
            backend:
              service:
                name: {{ include "bankflow.fullname" $ }}
                port:
                  name: http
          {{- end }}
    {{- end }}
{{- end }}
{{- end -}}

{{- define "bankflow.web.httpRoute" -}}
{{- $ctx := dict "root" . "component" "web" -}}
{{- $route := .Values.httpRoute -}}
{{- if $route.enabled }}
{{- if not (.Capabilities.APIVersions.Has "gateway.networking.k8s.io/v1/HTTPRoute") }}
{{- fail "httpRoute.enabled needs the Gateway API (gateway.networking.k8s.io/v1 HTTPRoute) in the cluster; install its CRDs or use ingress instead" }}
{{- end }}
{{- if not $route.parentRefs }}
{{- fail "httpRoute.enabled needs httpRoute.parentRefs (the Gateway to attach to)" }}
{{- end }}
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ include "bankflow.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
  {{- with $route.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  parentRefs:
    {{- toYaml $route.parentRefs | nindent 4 }}
  {{- with $route.hostnames }}
  hostnames:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    - matches:
        {{- toYaml $route.matches | nindent 8 }}
      backendRefs:
        - name: {{ include "bankflow.fullname" . }}
          port: {{ .Values.web.service.port }}
{{- end }}
{{- end -}}
