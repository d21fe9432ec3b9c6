{{/* Names: <release>-gbcast unless the release name already says gbcast. */}}
{{- define "gbcast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gbcast.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "gbcast.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "gbcast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "signaling") */}}
{{- define "gbcast.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gbcast.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "gbcast.componentLabels" -}}
{{ include "gbcast.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "gbcast.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* A part's image: its own repository/tag when given, else image.* (dict "ctx" $ "part" VALUES) */}}
{{- define "gbcast.partImage" -}}
{{- $own := default (dict) .part.image -}}
{{- printf "%s:%s" (default .ctx.Values.image.repository $own.repository) (default (default .ctx.Chart.AppVersion .ctx.Values.image.tag) $own.tag) -}}
{{- end -}}

{{/* Secret names. */}}
{{- define "gbcast.apiTokenSecret" -}}
{{- .Values.apiToken.existingSecret | default (printf "%s-api-token" (include "gbcast.fullname" .)) -}}
{{- end -}}
{{- define "gbcast.apiTokenKey" -}}
{{- if .Values.apiToken.existingSecret }}{{ .Values.apiToken.existingSecretKey }}{{ else }}token{{ end -}}
{{- end -}}
{{- define "gbcast.signalingSecret" -}}
{{- printf "%s-signaling" (include "gbcast.fullname" .) -}}
{{- end -}}
{{- define "gbcast.redisHost" -}}
{{- printf "%s-redis.%s.svc" (include "gbcast.fullname" .) .Release.Namespace -}}
{{- end -}}
{{/* The Secret holding the Redis URL, and its key. */}}
{{- define "gbcast.redisUrlSecret" -}}
{{- if and (eq .Values.redis.mode "external") .Values.redis.external.existingSecret -}}
{{- .Values.redis.external.existingSecret -}}
{{- else -}}
{{- printf "%s-redis" (include "gbcast.fullname" .) -}}
{{- end -}}
{{- end -}}
{{- define "gbcast.redisUrlKey" -}}
{{- if and (eq .Values.redis.mode "external") .Values.redis.external.existingSecret }}{{ .Values.redis.external.existingSecretKey }}{{ else }}url{{ end -}}
{{- end -}}
{{/* Whether the Redis URL may carry a password (then streamer pods read it from the Secret too). */}}
{{- define "gbcast.redisHasAuth" -}}
{{- if or (eq .Values.redis.mode "external") .Values.redis.bundled.auth.enabled }}true{{ end -}}
{{- end -}}

{{/* A value kept across upgrades: the Secret's current key if it exists, else a new random one.
     (dict "ctx" $ "name" SECRET "key" KEY "length" N) */}}
{{- define "gbcast.keptRandom" -}}
{{- $s := lookup "v1" "Secret" .ctx.Release.Namespace .name -}}
{{- if and $s $s.data (hasKey $s.data .key) -}}
{{- index $s.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum (int .length) -}}
{{- end -}}
{{- end -}}

{{/* A memory quantity in MiB (Ki, Mi, Gi, Ti, k, M, G, T or plain bytes); 0 when unset. */}}
{{- define "gbcast.mebibytes" -}}
{{- $q := toString (default "" .) -}}
{{- $n := regexFind "^[0-9.]+" $q | default "0" | float64 -}}
{{- $unit := regexReplaceAll "^[0-9.]+" $q "" -}}
{{- $factors := dict "" (divf 1 1048576) "Ki" (divf 1 1024) "Mi" 1.0 "Gi" 1024.0 "Ti" 1048576.0 "k" (divf 1000 1048576) "M" (divf 1000000 1048576) "G" (divf 1000000000 1048576) "T" (divf 1000000000000 1048576) -}}
{{- mulf $n (get $factors $unit | default 0.0) | floor | int -}}
{{- end -}}

{{/* NODE_OPTIONS with the old-space cap from the memory limit: (dict "resources" R "percent" P) */}}
{{- define "gbcast.nodeOptionsEnv" -}}
{{- $limit := "" -}}
{{- if and .resources .resources.limits -}}{{- $limit = .resources.limits.memory -}}{{- end -}}
{{- $mib := include "gbcast.mebibytes" $limit | int -}}
{{- if gt $mib 0 }}
- name: NODE_OPTIONS
  value: {{ printf "--max-old-space-size=%d" (div (mul $mib (int .percent)) 100) | quote }}
{{- end -}}
{{- end -}}

{{- define "gbcast.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end -}}
{{- end -}}
