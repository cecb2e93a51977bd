{{/*
Names. StatefulSet names stay within 52 characters so that the pods'
controller-revision-hash label fits in 63.
*/}}
{{- define "hce.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hce.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hce.coordinator.fullname" -}}
{{- printf "%s-coordinator" (include "hce.fullname" .) }}
{{- end }}

{{- define "hce.worker.fullname" -}}
{{- printf "%s-worker" (include "hce.fullname" .) }}
{{- end }}

{{- define "hce.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels. Call with (dict "ctx" $ "component" "worker").
*/}}
{{- define "hce.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hce.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "hce.labels" -}}
helm.sh/chart: {{ include "hce.chart" .ctx }}
{{ include "hce.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: hce
{{- end }}

{{- define "hce.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hce.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Images.
*/}}
{{- define "hce.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "hce.patroniImage" -}}
{{- printf "%s:%s" .Values.ha.image.repository (default .Chart.AppVersion .Values.ha.image.tag) }}
{{- end }}

{{/*
Patroni groups: (list (dict "group" 0 "name" …-coordinator "component"
"coordinator" …) (dict "group" 1 "name" …-worker-1 …) …), one per Citus
group, in order.
*/}}
{{- define "hce.patroni.groups" -}}
{{- $groups := list (dict "group" 0 "name" (include "hce.coordinator.fullname" .) "component" "coordinator" "persistence" .Values.coordinator.persistence "resources" .Values.coordinator.resources "antiAffinity" .Values.coordinator.antiAffinity "nodeSelector" .Values.coordinator.nodeSelector "tolerations" .Values.coordinator.tolerations) }}
{{- range $g := untilStep 1 (int (add1 .Values.ha.workerGroups)) 1 }}
{{- $groups = append $groups (dict "group" $g "name" (printf "%s-%d" (include "hce.worker.fullname" $) $g) "component" "worker" "persistence" $.Values.workers.persistence "resources" $.Values.workers.resources "antiAffinity" $.Values.workers.antiAffinity "nodeSelector" $.Values.workers.nodeSelector "tolerations" $.Values.workers.tolerations) }}
{{- end }}
{{- toJson $groups }}
{{- end }}

{{/*
Labels of a Patroni group's pods beyond the component's: the Patroni cluster
(scope) and the Citus group. Patroni finds its pods by them and adds role:
primary or replica, which the leader Services select.
*/}}
{{- define "hce.patroni.labels" -}}
cluster-name: {{ include "hce.fullname" .ctx }}
citus-group: {{ .group | quote }}
{{- end }}

{{- define "hce.databaseImage" -}}
{{- printf "%s:%s" .Values.database.image.repository .Values.database.image.tag }}
{{- end }}

{{/*
The password Secret and its key.
*/}}
{{- define "hce.secretName" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else }}
{{- printf "%s-db" (include "hce.fullname" .) }}
{{- end }}
{{- end }}

{{- define "hce.secretKey" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecretPasswordKey }}
{{- else -}}
postgres-password
{{- end }}
{{- end }}

{{/*
DNS names. The coordinator's headless Service resolves to its one pod; a
worker is <statefulset>-<ordinal>.<headless service>.
*/}}
{{- define "hce.coordinator.host" -}}
{{- if .Values.ha.enabled }}
{{- printf "%s-primary.%s.svc.%s" (include "hce.coordinator.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- else }}
{{- printf "%s.%s.svc.%s" (include "hce.coordinator.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}
{{- end }}

{{- define "hce.worker.domain" -}}
{{- printf "%s.%s.svc.%s" (include "hce.worker.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{/*
HCE's connection to the coordinator. The password is not in the URL: pgx
reads PGPASSWORD, which comes from the Secret.
*/}}
{{- define "hce.databaseEnv" -}}
- name: HCE_DATABASE_URL
  value: {{ printf "postgres://%s@%s:5432/%s?sslmode=%s%s" .Values.auth.username (include "hce.coordinator.host" .) .Values.auth.database .Values.auth.sslmode (ternary "&target_session_attrs=read-write" "" .Values.ha.enabled) | quote }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "hce.secretName" . }}
      key: {{ include "hce.secretKey" . }}
{{- end }}

{{/*
Environment of a Citus node. POSTGRES_PASSWORD sets the superuser password
when the data directory is created; PGPASSWORD stays in the server's
environment (the citusdata/citus image keeps it) and is what Citus's
connections to the other nodes authenticate with.
*/}}
{{- define "hce.database.env" -}}
- name: POSTGRES_USER
  value: {{ .Values.auth.username | quote }}
- name: POSTGRES_DB
  value: {{ .Values.auth.database | quote }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "hce.secretName" . }}
      key: {{ include "hce.secretKey" . }}
- name: POSTGRES_HOST_AUTH_METHOD
  value: {{ .Values.database.hostAuthMethod | quote }}
- name: PGUSER
  value: {{ .Values.auth.username | quote }}
- name: PGDATABASE
  value: {{ .Values.auth.database | quote }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "hce.secretName" . }}
      key: {{ include "hce.secretKey" . }}
# A subdirectory, because a fresh volume's root may hold lost+found.
- name: PGDATA
  value: /var/lib/postgresql/data/pgdata
{{- end }}

{{/*
postgres arguments from database.config.
*/}}
{{- define "hce.database.args" -}}
- postgres
{{- range $k, $v := .Values.database.config }}
- "-c"
- {{ printf "%s=%v" $k $v | quote }}
{{- end }}
{{- end }}

{{/*
Probes of a Citus node. Ready and started mean the final server accepts TCP
connections (the first start runs a temporary server on the Unix socket
only); alive means the port is open, so that crash recovery, during which
PostgreSQL rejects connections, does not get the pod killed.
*/}}
{{- define "hce.database.probes" -}}
startupProbe:
  exec:
    command: ["sh", "-c", "exec pg_isready -q -h 127.0.0.1 -p 5432 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\""]
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 120
readinessProbe:
  exec:
    command: ["sh", "-c", "exec pg_isready -q -h 127.0.0.1 -p 5432 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\""]
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 3
livenessProbe:
  tcpSocket:
    port: postgres
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 6
{{- end }}

{{/*
A fast shutdown: PostgreSQL takes SIGTERM as a smart shutdown, which waits
for every client (HCE's pool) to disconnect.
*/}}
{{- define "hce.database.preStop" -}}
preStop:
  exec:
    command: ["sh", "-c", "pg_ctl -D \"$PGDATA\" -m fast -w -t 60 stop || true"]
{{- end }}

{{- define "hce.database.volumeMounts" -}}
- name: data
  mountPath: /var/lib/postgresql/data
- name: run
  mountPath: /var/run/postgresql
- name: tmp
  mountPath: /tmp
- name: shm
  mountPath: /dev/shm
{{- end }}

{{- define "hce.database.volumes" -}}
- name: run
  emptyDir: {}
- name: tmp
  emptyDir: {}
- name: shm
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.database.shmSize }}
{{- end }}

{{/*
A PVC template. Call with (dict "persistence" .Values.workers.persistence).
*/}}
{{- define "hce.volumeClaimTemplate" -}}
- metadata:
    name: data
  spec:
    accessModes:
      {{- toYaml .persistence.accessModes | nindent 6 }}
    {{- with .persistence.storageClass }}
    storageClassName: {{ . | quote }}
    {{- end }}
    resources:
      requests:
        storage: {{ .persistence.size }}
{{- end }}

{{/*
Pod anti-affinity over nodes. Call with
(dict "ctx" $ "component" "worker" "mode" .Values.workers.antiAffinity).
*/}}
{{- define "hce.antiAffinity" -}}
podAntiAffinity:
  {{- if eq .mode "hard" }}
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "hce.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 10 }}
  {{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "hce.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 12 }}
  {{- end }}
{{- end }}

{{/*
Pod-level settings shared by every HCE pod (server and jobs).
*/}}
{{- define "hce.podCommon" -}}
serviceAccountName: {{ include "hce.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.server.podSecurityContext | nindent 2 }}
{{- end }}
