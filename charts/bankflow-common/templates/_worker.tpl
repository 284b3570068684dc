{{/*
The Celery tier: the worker pools (each scaled by KEDA on its queues, or by an HPA
fallback), the beat scheduler (exactly one), and the migration hook.

A worker pool is (dict "name" <component> "values" <its values>). Every per-pool template
(Deployment, KEDA, HPA, PDB, NetworkPolicy, PodMonitor) ranges over
"bankflow.workerPools", so another pool (an I/O pool with queues of its own, say) is one
more entry there and one more block of values; tests/deploy iterates over the rendered
Deployments, not over names.
*/}}

{{- define "bankflow.workerPools" -}}
{{- $pools := list (dict "name" "worker" "values" .Values.worker) -}}
{{- range .Values.extraWorkerPools | default list }}
{{- $values := mergeOverwrite (deepCopy $.Values.worker) (omit . "name") -}}
{{- $pools = append $pools (dict "name" .name "values" $values) -}}
{{- end -}}
{{- toJson $pools -}}
{{- end -}}

{{/* Every queue some pool consumes, in pool order (a JSON list; alerts name them all). */}}
{{- define "bankflow.allQueues" -}}
{{- $queues := list -}}
{{- range include "bankflow.workerPools" . | fromJsonArray }}
{{- $queues = concat $queues .values.queues -}}
{{- end -}}
{{- toJson $queues -}}
{{- end -}}

{{- define "bankflow.worker.queues" -}}
{{- join "," .queues -}}
{{- end -}}

{{/* (dict "root" $ "pool" <pool>) */}}
{{- define "bankflow.worker.deployment" -}}
{{- $root := .root -}}
{{- $w := .pool.values -}}
{{- $name := .pool.name -}}
{{- $celery := $root.Values.celery -}}
{{- $ctx := dict "root" $root "component" $name -}}
{{- $module := include "bankflow.module" $root -}}
{{- if le (int $w.terminationGracePeriodSeconds) (add $celery.taskTimeLimit $celery.softShutdownTimeout | int) }}
{{- fail (printf "%s.terminationGracePeriodSeconds (%v) must exceed celery.taskTimeLimit + celery.softShutdownTimeout (%v): a scale-down would kill running tasks" $name $w.terminationGracePeriodSeconds (add $celery.taskTimeLimit $celery.softShutdownTimeout)) }}
{{- end }}
{{- $envFrom := include "bankflow.envFrom" (dict "root" $root) }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "bankflow.labels" $ctx | nindent 4 }}
spec:
  {{- if not (or (include "bankflow.keda.active" $root) $w.autoscaling.enabled) }}
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
        {{- with $root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "bankflow.podCommon" $root | nindent 6 }}
      # SIGTERM starts Celery's warm shutdown: no new tasks, running ones finish. The
      # grace period covers the longest task (hard time limit) plus the soft shutdown.
      terminationGracePeriodSeconds: {{ $w.terminationGracePeriodSeconds }}
      {{- with $w.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- include "bankflow.topologySpread" (dict "root" $root "component" $name "constraints" .) | trim | nindent 8 }}
      {{- end }}
      {{- with include "bankflow.wait.initContainers" (dict "root" $root "process" "worker" "envFrom" $envFrom) }}
      initContainers:
        {{- . | trim | nindent 8 }}
      {{- end }}
      containers:
        - name: worker
          image: {{ include "bankflow.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command:
            - celery
            - --quiet
            - -A
            - {{ $module }}
            - worker
            - --without-mingle
            - --without-gossip
            - -n
            - {{ if eq $name "worker" }}{{ $module }}@%h{{ else }}{{ $module }}-{{ $name }}@%h{{ end }}
            - -Q
            - {{ include "bankflow.worker.queues" $w | quote }}
            - --pool
            - {{ $w.pool | default "prefork" | quote }}
            - --loglevel
            - {{ $root.Values.app.config.LOG_LEVEL | default "INFO" | quote }}
          ports:
            - name: metrics
              containerPort: {{ $w.metricsPort }}
              protocol: TCP
          envFrom:
            {{- $envFrom | nindent 12 }}
          env:
            {{- include "bankflow.env.pod" $root | nindent 12 }}
            - name: METRICS_PORT
              value: {{ $w.metricsPort | quote }}
            - name: CELERY_WORKER_CONCURRENCY
              value: {{ $w.concurrency | quote }}
            - name: PROMETHEUS_MULTIPROC_DIR
              value: {{ $root.Values.metrics.multiprocDir | quote }}
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
        {{- include "bankflow.volumes" (dict "Values" $root.Values "metrics" true) | nindent 8 }}
{{- end -}}

{{/* KEDA: one rabbitmq trigger per queue the pool consumes. protocol http reads the
management API, whose count includes unacknowledged messages (prefetch 1, acks late),
so a queue whose messages are all being worked on still counts. The KEDA operator reads
the URL from its own namespace: a bare Service name would resolve there, not here, so a
chart-made Secret must name the host by its FQDN (the chart refuses a bare one). */}}
{{- define "bankflow.worker.keda" -}}
{{- $root := .root -}}
{{- $k := $root.Values.keda -}}
{{- $w := .pool.values -}}
{{- $ctx := dict "root" $root "component" .pool.name -}}
{{- if include "bankflow.keda.active" $root }}
{{- $url := index $root.Values.secretEnv $k.managementUrlKey | default "" }}
{{- if and (not $root.Values.existingSecret) $url }}
{{- $host := (urlParse $url).host | splitList ":" | first }}
{{- if not (contains "." $host) }}
{{- fail (printf "secretEnv.%s: KEDA's operator resolves %q from its own namespace; use the FQDN (e.g. %s.%s.svc.%s)" $k.managementUrlKey $host $host $root.Release.Namespace $root.Values.clusterDomain) }}
{{- end }}
{{- end }}
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: {{ include "bankflow.componentName" $ctx }}-rabbitmq
  namespace: {{ $root.Release.Namespace }}
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
  namespace: {{ $root.Release.Namespace }}
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
    {{- range $w.queues }}
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

{{/* Without KEDA (off, or not installed in the cluster), a plain CPU-based HPA keeps the
pool elastic. */}}
{{- define "bankflow.worker.hpa" -}}
{{- $root := .root -}}
{{- $ctx := dict "root" $root "component" .pool.name -}}
{{- $as := .pool.values.autoscaling -}}
{{- if and (not (include "bankflow.keda.active" $root)) $as.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "bankflow.componentName" $ctx }}
  namespace: {{ $root.Release.Namespace }}
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
      stabilizationWindowSeconds: {{ $root.Values.keda.scaleDownStabilizationSeconds }}
      policies:
        - type: Pods
          value: 1
          periodSeconds: 60
{{- end }}
{{- end -}}

{{/* Node drains evict workers one at a time; each drains for its grace period. */}}
{{- define "bankflow.worker.pdb" -}}
{{- include "bankflow.pdb" (dict "root" .root "component" .pool.name "pdb" .pool.values.podDisruptionBudget) }}
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
      {{- with include "bankflow.wait.initContainers" (dict "root" $root "process" "beat" "envFrom" (include "bankflow.envFrom" (dict "root" $root))) }}
      initContainers:
        {{- . | trim | nindent 8 }}
      {{- end }}
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
      {{- $secretName := ternary (include "bankflow.secretName" $root) (include "bankflow.componentName" $ctx) (ne $root.Values.existingSecret "") }}
      {{- $envFrom := include "bankflow.envFrom" (dict "root" $root "name" (include "bankflow.componentName" $ctx) "secretName" $secretName) }}
      {{- with include "bankflow.wait.initContainers" (dict "root" $root "process" "migrate" "envFrom" $envFrom) }}
      # The database may still be starting (a fresh cluster brings everything up at once):
      # wait for it, bounded and logged, instead of spending the Job's back-off.
      initContainers:
        {{- . | trim | nindent 8 }}
      {{- end }}
      containers:
        - name: migrate
          image: {{ include "bankflow.image" $root | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command: [{{ $module | quote }}, "migrate", "--noinput"]
          envFrom:
            {{- $envFrom | nindent 12 }}
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

{{/* `helm test <release>`: the web tier answers /readyz through its Service. */}}
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
    # Not hook-succeeded: Helm would delete the pod before `helm test --logs` reads its
    # output. The next `helm test` replaces it; it holds no secret.
    helm.sh/hook-delete-policy: before-hook-creation
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
