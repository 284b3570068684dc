{{/*
ConfigMap (non-secret settings) and Secret (URLs with passwords, keys, tokens). Both are
read by every container through envFrom, so their keys are the services' environment
variable names (each service's settings.py and bankflow.conf).

The migration Job runs as a pre-install hook, before the release's ordinary objects
exist, so it gets hook copies of both ("<fullname>-migrate", weight -10).
*/}}

{{- define "bankflow.configmap.data" -}}
{{- $celery := .Values.celery -}}
BANKFLOW_ENV: {{ .Values.app.env | quote }}
CELERY_TASK_TIME_LIMIT: {{ $celery.taskTimeLimit | quote }}
CELERY_TASK_SOFT_TIME_LIMIT: {{ $celery.taskSoftTimeLimit | quote }}
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT: {{ $celery.softShutdownTimeout | quote }}
{{- range $key, $value := .Values.app.config }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "bankflow.configmap" -}}
{{- $root := .root -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ if .hook }}{{ include "bankflow.componentName" (dict "root" $root "component" "migrate") }}{{ else }}{{ include "bankflow.fullname" $root }}{{ end }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "bankflow.labels" (dict "root" $root "component" (ternary "migrate" "config" (eq .hook true))) | nindent 4 }}
  {{- if .hook }}
  annotations:
    {{- include "bankflow.hookCopyAnnotations" (dict "weight" "-10") | nindent 4 }}
  {{- end }}
data:
  {{- include "bankflow.configmap.data" $root | nindent 2 }}
{{- end -}}

{{- define "bankflow.secret.data" -}}
{{- range $key, $value := .Values.secretEnv }}
{{- if $value }}
{{ $key }}: {{ $value | toString | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "bankflow.secret" -}}
{{- $root := .root -}}
{{- if not $root.Values.existingSecret }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ if .hook }}{{ include "bankflow.componentName" (dict "root" $root "component" "migrate") }}{{ else }}{{ include "bankflow.fullname" $root }}{{ end }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "bankflow.labels" (dict "root" $root "component" (ternary "migrate" "config" (eq .hook true))) | nindent 4 }}
  {{- if .hook }}
  annotations:
    {{- include "bankflow.hookCopyAnnotations" (dict "weight" "-10") | nindent 4 }}
  {{- end }}
type: Opaque
data:
  {{- include "bankflow.secret.data" $root | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The migration Job: kept after it ran (its logs; ttlSecondsAfterFinished removes it)
and replaced by the next run. */}}
{{- define "bankflow.hookAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation
{{- end -}}

{{/* The Job's copies of the ConfigMap, the Secret (database credentials) and the
ServiceAccount: deleted as soon as the hooks succeeded, and also pre-delete hooks, so
that `helm uninstall` recreates and deletes any copy a failed migration left behind
(Helm never deletes hook resources otherwise: they would outlive the release). */}}
{{- define "bankflow.hookCopyAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade,pre-delete
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}

{{- define "bankflow.serviceaccount" -}}
{{- $root := .root -}}
{{- if $root.Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ if .hook }}{{ include "bankflow.componentName" (dict "root" $root "component" "migrate") }}{{ else }}{{ include "bankflow.serviceAccountName" $root }}{{ end }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "bankflow.labels" (dict "root" $root "component" (ternary "migrate" "" (eq .hook true))) | nindent 4 }}
  annotations:
    {{- if .hook }}
    {{- include "bankflow.hookCopyAnnotations" (dict "weight" "-10") | nindent 4 }}
    {{- end }}
    {{- with $root.Values.serviceAccount.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
# The services never call the Kubernetes API.
automountServiceAccountToken: false
{{- end }}
{{- end -}}
