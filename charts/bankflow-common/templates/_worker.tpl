{{/*
The Celery tier: the worker (scaled by KEDA on its queues, or by an HPA fallback), the
beat scheduler (exactly one), and the migration hook.
*/}}

{{- define "bankflow.worker.queues" -}}
{{- join "," .Values.worker.queues -}}
{{- end -}}

{{- define "bankflow.worker.deployment" -}}
{{- $root := . -}}
{{- $w := .Values.worker -}}
{{- $celery := .Values.celery -}}
{{- $ctx := dict "root" $root "component" "worker" -}}
{{- $module := include "bankflow.module" $root -}}
{{- if le (int $w.terminationGracePeriodSeconds) (add $celery.taskTimeLimit $celery.softShutdownTimeout | int) }}
{{- fail (printf "worker.terminationGracePeriodSeconds (%v) must exceed celery.taskTimeLimit + celery.softShutdownTimeout (%v): a scale-down would kill running tasks" $w.terminationGracePeriodSeconds (add $celery.taskTimeLimit $celery.softShutdownTimeout)) }}
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
spec:
  {{- if not (or .Values.keda.enabled $w.autoscaling.enabled) }}
  replicas: {{ $w.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "bankflow.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "bankflow.labels" $ctx | nindent 8 }}
      annotations:
        {{- include "bankflow.checksums" $ctx | nindent 8 }}
        {{- include "bankflow.prometheusAnnotations" (dict "root" $root "port" $w.metricsPort) | nindent 8 }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "bankflow.podCommon" $root | nindent 6 }}
      # SIGTERM starts Celery's warm shutdown: no new tasks, running ones finish. The
      # grace period covers the longest task (hard time limit) plus the soft shutdown.
      terminationGracePeriodSeconds: {{ $w.terminationGracePeriodSeconds }}
      containers:
        - name: worker
          image: {{ include "bankflow.image" $root | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command:
            - celery
            - --quiet
            - -A
            - {{ $module }}
            - worker
            - --without-mingle
            - --without-gossip
            - -n
            - {{ $module }}@%h
            - -Q
            - {{ include "bankflow.worker.queues" $root | quote }}
            - --loglevel
            - {{ .Values.app.config.LOG_LEVEL | default "INFO" | quote }}
          ports:
            - name: metrics
              containerPort: {{ $w.metricsPort }}
              protocol: TCP
          envFrom:
            {{- include "bankflow.envFrom" (dict "root" $root) | nindent 12 }}
          env:
            {{- include "bankflow.env.pod" $root | nindent 12 }}
            - name: METRICS_PORT
              value: {{ $w.metricsPort | quote }}
            - name: CELERY_WORKER_CONCURRENCY
              value: {{ $w.concurrency | quote }}
            - name: PROMETHEUS_MULTIPROC_DIR
              value: {{ .Values.metrics.multiprocDir | quote }}
            - name: CELERY_HEARTBEAT_FILE
              value: /tmp/celery-heartbeat
            - name: CELERY_HEARTBEAT_INTERVAL
              value: {{ $w.heartbeat.intervalSeconds | quote }}
          # Liveness never talks to the broker: the consumer's own timer touches a file
          # (bankflow.heartbeat) and the probe checks its age.
          startupProbe:
            exec:
              command: ["python", "-m", "bankflow.heartbeat", "--max-age", {{ $w.heartbeat.maxAgeSeconds | quote }}]
            {{- toYaml $w.startupProbe | nindent 12 }}
          livenessProbe:
            exec:
              command: ["python", "-m", "bankflow.heartbeat", "--max-age", {{ $w.heartbeat.maxAgeSeconds | quote }}]
            {{- toYaml $w.livenessProbe | nindent 12 }}
          securityContext:
            {{- include "bankflow.containerSecurityContext" $root | nindent 12 }}
          resources:
            {{- toYaml $w.resources | nindent 12 }}
          volumeMounts:
            {{- include "bankflow.volumeMounts" (dict "root" $root "metrics" true) | nindent 12 }}
      volumes:
        {{- include "bankflow.volumes" (dict "Values" .Values "metrics" true) | nindent 8 }}
{{- end -}}

{{/* KEDA: one rabbitmq trigger per queue the worker consumes. protocol http reads the
management API, whose count includes unacknowledged messages (prefetch 1, acks late),
so a queue whose messages are all being worked on still counts. */}}
{{- define "bankflow.worker.keda" -}}
{{- $root := . -}}
{{- $k := .Values.keda -}}
{{- $ctx := dict "root" $root "component" "worker" -}}
{{- if $k.enabled }}
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: {{ include "bankflow.componentName" $ctx }}-rabbitmq
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
spec:
  secretTargetRef:
    - parameter: host
      name: {{ include "bankflow.secretName" $root }}
      key: {{ $k.managementUrlKey }}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
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
  minReplicaCount: {{ $k.minReplicaCount }}
  maxReplicaCount: {{ $k.maxReplicaCount }}
  pollingInterval: {{ $k.pollingInterval }}
  cooldownPeriod: {{ $k.cooldownPeriod }}
  {{- with $k.fallback }}
  fallback:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleDown:
          # Scale down slowly: each removed worker drains for up to its grace period.
          stabilizationWindowSeconds: {{ $k.scaleDownStabilizationSeconds }}
          policies:
            - type: Pods
              value: 1
              periodSeconds: 60
  triggers:
    {{- range .Values.worker.queues }}
    - type: rabbitmq
      name: {{ . | replace "." "-" }}
      authenticationRef:
        name: {{ include "bankflow.componentName" $ctx }}-rabbitmq
      metadata:
        protocol: http
        mode: QueueLength
        queueName: {{ . | quote }}
        value: {{ $k.queueLength | quote }}
        activationValue: {{ $k.activationQueueLength | quote }}
        {{- with $k.vhostName }}
        vhostName: {{ . | quote }}
        {{- end }}
    {{- end }}
{{- end }}
{{- end -}}

{{/* Without KEDA, a plain CPU-based HPA keeps the worker elastic. */}}
{{- define "bankflow.worker.hpa" -}}
{{- $ctx := dict "root" . "component" "worker" -}}
{{- $as := .Values.worker.autoscaling -}}
{{- if and (not .Values.keda.enabled) $as.enabled }}
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
  behavior:
    scaleDown:
      stabilizationWindowSeconds: {{ .Values.keda.scaleDownStabilizationSeconds }}
      policies:
        - type: Pods
          value: 1
          periodSeconds: 60
{{- end }}
{{- end -}}

{{- define "bankflow.beat.deployment" -}}
{{- $root := . -}}
{{- $b := .Values.beat -}}
{{- $ctx := dict "root" $root "component" "beat" -}}
{{- $module := include "bankflow.module" $root -}}
{{- if $b.enabled }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
spec:
  # Exactly one scheduler, never two at once (each would send every periodic task).
  replicas: 1
  strategy:
    type: Recreate
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "bankflow.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "bankflow.labels" $ctx | nindent 8 }}
      annotations:
        {{- include "bankflow.checksums" $ctx | nindent 8 }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "bankflow.podCommon" $root | nindent 6 }}
      terminationGracePeriodSeconds: 30
      containers:
        - name: beat
          image: {{ include "bankflow.image" $root | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command:
            - celery
            - --quiet
            - -A
            - {{ $module }}
            - beat
            - -s
            - /tmp/celerybeat-schedule
            - --loglevel
            - {{ .Values.app.config.LOG_LEVEL | default "INFO" | quote }}
          envFrom:
            {{- include "bankflow.envFrom" (dict "root" $root) | nindent 12 }}
          env:
            {{- include "bankflow.env.pod" $root | nindent 12 }}
          securityContext:
            {{- include "bankflow.containerSecurityContext" $root | nindent 12 }}
          resources:
            {{- toYaml $b.resources | nindent 12 }}
          volumeMounts:
            {{- include "bankflow.volumeMounts" (dict "root" $root "metrics" false) | nindent 12 }}
      volumes:
        {{- include "bankflow.volumes" (dict "Values" .Values "metrics" false) | nindent 8 }}
{{- end }}
{{- end -}}

{{/* Migrations run before the new pods (pre-install, pre-upgrade): a post-install hook
would deadlock with `helm install --wait`, whose pods wait for a migrated database. */}}
{{- define "bankflow.migrate.job" -}}
{{- $root := . -}}
{{- $m := .Values.migrate -}}
{{- $ctx := dict "root" $root "component" "migrate" -}}
{{- $module := include "bankflow.module" $root -}}
{{- if $m.enabled }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
  annotations:
    {{- include "bankflow.hookAnnotations" (dict "weight" "0") | nindent 4 }}
spec:
  backoffLimit: {{ $m.backoffLimit }}
  activeDeadlineSeconds: {{ $m.activeDeadlineSeconds }}
  ttlSecondsAfterFinished: {{ $m.ttlSecondsAfterFinished }}
  template:
    metadata:
      labels:
        {{- include "bankflow.labels" $ctx | nindent 8 }}
    spec:
      restartPolicy: Never
      {{- $podCommon := include "bankflow.podCommon" $root | fromYaml }}
      {{- if $root.Values.serviceAccount.create }}
      {{- $_ := set $podCommon "serviceAccountName" (include "bankflow.componentName" $ctx) }}
      {{- end }}
      {{- toYaml $podCommon | nindent 6 }}
      containers:
        - name: migrate
          image: {{ include "bankflow.image" $root | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command: [{{ $module | quote }}, "migrate", "--noinput"]
          envFrom:
            {{- $secretName := ternary (include "bankflow.secretName" $root) (include "bankflow.componentName" $ctx) (ne $root.Values.existingSecret "") }}
            {{- include "bankflow.envFrom" (dict "root" $root "name" (include "bankflow.componentName" $ctx) "secretName" $secretName) | nindent 12 }}
          env:
            {{- include "bankflow.env.pod" $root | nindent 12 }}
          securityContext:
            {{- include "bankflow.containerSecurityContext" $root | nindent 12 }}
          resources:
            {{- toYaml $m.resources | nindent 12 }}
          volumeMounts:
            {{- include "bankflow.volumeMounts" (dict "root" $root "metrics" false) | nindent 12 }}
      volumes:
        {{- include "bankflow.volumes" (dict "Values" .Values "metrics" false) | nindent 8 }}
{{- end }}
{{- end -}}

{{/* `helm test <release>`: the web tier answers /readyz (database and broker reachable). */}}
{{- define "bankflow.test.readyz" -}}
{{- $root := . -}}
{{- $ctx := dict "root" $root "component" "test" -}}
{{- if .Values.tests.enabled }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "bankflow.componentName" $ctx }}-readyz
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    {{- include "bankflow.podSecurityContext" $root | nindent 4 }}
  containers:
    - name: readyz
      image: {{ include "bankflow.image" $root | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command:
        - python
        - -c
        - |
          import sys, urllib.request
          url = "http://{{ include "bankflow.fullname" $root }}:{{ .Values.web.service.port }}/readyz"
          with urllib.request.urlopen(url, timeout=10) as answer:
              body = answer.read().decode()
          print(url, answer.status, body)
          sys.exit(0 if answer.status == 200 else 1)
      securityContext:
        {{- include "bankflow.containerSecurityContext" $root | nindent 8 }}
      resources:
        {{- toYaml .Values.tests.resources | nindent 8 }}
{{- end }}
{{- end -}}
