{{- define "bankflow.notes" -}}
{{- $fullname := include "bankflow.fullname" . -}}
{{- $ns := .Release.Namespace -}}
bankflow {{ include "bankflow.module" . }} {{ include "bankflow.imageTag" . }} is deployed as release "{{ .Release.Name }}" in namespace "{{ $ns }}".

Processes:
  web     deployment/{{ $fullname }}-web      service/{{ $fullname }} port {{ .Values.web.service.port }}
{{- $keda := include "bankflow.keda.active" . }}
{{- range (include "bankflow.workerPools" . | fromJsonArray) }}
  {{ .name }}  deployment/{{ $fullname }}-{{ .name }}   queues {{ join ", " .values.queues }}, metrics port {{ .values.metricsPort }}{{ if $keda }} (scaled by KEDA){{ else if .values.autoscaling.enabled }} (CPU HPA){{ end }}
{{- end }}
{{- if .Values.beat.enabled }}
  beat    deployment/{{ $fullname }}-beat     (one replica)
{{- end }}
{{- if .Values.migrate.enabled }}
  migrate job/{{ $fullname }}-migrate         (pre-install/pre-upgrade hook)
{{- end }}

Reach the API from your machine:

  kubectl --namespace {{ $ns }} port-forward service/{{ $fullname }} {{ .Values.web.service.port }}:{{ .Values.web.service.port }}
  curl -s http://localhost:{{ .Values.web.service.port }}/readyz
  open http://localhost:{{ .Values.web.service.port }}/api/docs/

The worker's metrics:

  kubectl --namespace {{ $ns }} port-forward deployment/{{ $fullname }}-worker {{ .Values.worker.metricsPort }}:{{ .Values.worker.metricsPort }}
  curl -s http://localhost:{{ .Values.worker.metricsPort }}/metrics

Check the release:  helm test {{ .Release.Name }} --namespace {{ $ns }} --logs
{{- if eq (include "bankflow.module" .) "producer" }}

Create a client and its API key (printed on the last line):

  kubectl --namespace {{ $ns }} exec deployment/{{ $fullname }}-web -c web -- producer create_client my-client
{{- end }}
{{- if and (not .Values.existingSecret) (eq .Values.app.env "production") }}
{{- $missing := list }}
{{- range $key := list "DJANGO_SECRET_KEY" "DATABASE_URL" "CELERY_BROKER_URL" "REDIS_URL" "CONSUMER_API_TOKEN" }}
{{- if not (index $.Values.secretEnv $key) }}{{ $missing = append $missing $key }}{{ end }}
{{- end }}
{{- if $missing }}

WARNING: BANKFLOW_ENV=production needs {{ join ", " $missing }}: set secretEnv.* or
existingSecret, or the pods will refuse to start.
{{- end }}
{{- end }}
{{- if and .Values.keda.enabled (not (include "bankflow.keda.active" .)) }}

WARNING: keda.enabled is true but this cluster does not serve keda.sh/v1alpha1
ScaledObject, so the workers {{ if .Values.worker.autoscaling.enabled }}are scaled by a CPU HorizontalPodAutoscaler
(worker.autoscaling){{ else }}run worker.replicas={{ .Values.worker.replicas }} fixed replicas{{ end }}. Install KEDA (https://keda.sh) and upgrade the release to
scale on queue lengths.
{{- end }}
{{- end -}}
