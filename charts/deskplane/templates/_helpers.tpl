{{/* Names: <release>-deskplane unless the release name already says deskplane. */}}
{{- define "deskplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "deskplane.fullname" -}}
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

{{/* A component's object name; 63 minus the longest suffix ("-orchestrator-metrics") leaves room. */}}
{{- define "deskplane.componentName" -}}
{{- printf "%s-%s" (include "deskplane.fullname" .root | trunc 42 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "deskplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "deskplane.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "deskplane.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "deskplane.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: deskplane
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* <registry>/<name>:<tag>, each part from the component first, then image.*, then the chart. */}}
{{- define "deskplane.image" -}}
{{- $registry := .image.registry | default .root.Values.image.registry | trimSuffix "/" -}}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/%s:%s" $registry .image.name $tag -}}
{{- end -}}

{{- define "deskplane.pullPolicy" -}}
{{- .image.pullPolicy | default .root.Values.image.pullPolicy -}}
{{- end -}}

{{- define "deskplane.podSpecCommon" -}}
{{- with .root.Values.imagePullSecrets -}}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The Secret and key holding the Redis URL: the user's, or the chart's. */}}
{{- define "deskplane.redisSecretName" -}}
{{- .Values.redis.existingSecret | default (include "deskplane.componentName" (dict "root" . "component" "redis")) -}}
{{- end -}}

{{- define "deskplane.redisSecretKey" -}}
{{- if .Values.redis.existingSecret -}}{{ .Values.redis.existingSecretKey }}{{- else -}}url{{- end -}}
{{- end -}}

{{/*
The URL the chart stores: redis.url with the password (and user) put in. Encoded as a URL
path segment would be (QueryEscape, then "+" back to %20), so decodeURIComponent restores it.
*/}}
{{- define "deskplane.redisURL" -}}
{{- $r := .Values.redis -}}
{{- if $r.password -}}
{{- $enc := urlquery $r.password | replace "+" "%20" -}}
{{- $user := urlquery $r.username | replace "+" "%20" -}}
{{- regexReplaceAll "^(rediss?://)" $r.url (printf "${1}%s:%s@" $user $enc) -}}
{{- else -}}
{{- $r.url -}}
{{- end -}}
{{- end -}}

{{/* One env entry: the Redis URL under `name`, always through the Secret. */}}
{{- define "deskplane.redisEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "deskplane.redisSecretName" .root }}
      key: {{ include "deskplane.redisSecretKey" .root }}
{{- end -}}

{{- define "deskplane.logLevel" -}}
{{- .values.logLevel | default .root.Values.logLevel -}}
{{- end -}}

{{/* Mutual TLS material of a component (internalTLS): the Secret mounted at /etc/deskplane/internal-tls. */}}
{{- define "deskplane.internalTLS.enabled" -}}
{{- if and .root.Values.internalTLS.enabled (index .root.Values.internalTLS.secrets .key) -}}true{{- end -}}
{{- end -}}

{{- define "deskplane.internalTLS.volume" -}}
{{- if include "deskplane.internalTLS.enabled" . -}}
- name: internal-tls
  secret:
    secretName: {{ index .root.Values.internalTLS.secrets .key }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "deskplane.internalTLS.mount" -}}
{{- if include "deskplane.internalTLS.enabled" . -}}
- name: internal-tls
  mountPath: /etc/deskplane/internal-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* The gateway port clients dial: the fixed node port with type NodePort, else the Service port. */}}
{{- define "deskplane.gatewayPublicPort" -}}
{{- $g := .root.Values.gateway -}}
{{- $node := index $g.service.nodePorts .port -}}
{{- if and (eq $g.service.type "NodePort") $node -}}{{ $node }}{{- else -}}{{ index $g.ports .port }}{{- end -}}
{{- end -}}

{{- define "deskplane.gatewayAdminAddress" -}}
{{- printf "%s.%s.svc:%v" (include "deskplane.componentName" (dict "root" .root "component" "gateway-admin")) .root.Release.Namespace .root.Values.gateway.ports.admin -}}
{{- end -}}

{{/* Fails the render early on combinations the schema cannot express. */}}
{{- define "deskplane.validate" -}}
{{- $g := .Values.gateway -}}
{{- if and (eq $g.tickets.store "memory") (gt (int $g.replicas) 1) -}}
{{- fail "gateway.replicas > 1 needs gateway.tickets.store=redis: replicas must share tickets" -}}
{{- end -}}
{{- if and $g.tls.caSecret (not $g.tls.existingSecret) -}}
{{- fail "gateway.tls.caSecret is set but gateway.tls.existingSecret is not: the CA describes the TLS certificate" -}}
{{- end -}}
{{- if and (eq $g.service.type "NodePort") $g.publicHost (not $g.service.nodePorts.spice) -}}
{{- fail "gateway.service.type=NodePort with gateway.publicHost needs gateway.service.nodePorts.spice: .vv files must name the port clients dial" -}}
{{- end -}}
{{- if and .Values.api.ingress.enabled (not .Values.api.ingress.host) -}}
{{- fail "api.ingress.enabled needs api.ingress.host" -}}
{{- end -}}
{{- if and .Values.api.auth.builtin.enabled (not .Values.api.auth.builtin.usersSecret) -}}
{{- fail "api.auth.builtin.enabled needs api.auth.builtin.usersSecret (a Secret holding the users file)" -}}
{{- end -}}
{{- $o := .Values.api.auth.oidc -}}
{{- if and (or $o.issuer $o.audience $o.jwksUrl) (not (and $o.issuer $o.audience $o.jwksUrl)) -}}
{{- fail "api.auth.oidc needs issuer, audience and jwksUrl together" -}}
{{- end -}}
{{- if not (or .Values.api.auth.kubernetes.enabled .Values.api.auth.builtin.enabled $o.issuer) -}}
{{- fail "api.auth: enable at least one way to sign in (kubernetes, oidc or builtin)" -}}
{{- end -}}
{{- if and .Values.internalTLS.enabled (not (and .Values.internalTLS.secrets.operator .Values.internalTLS.secrets.orchestrator .Values.internalTLS.secrets.api .Values.internalTLS.secrets.gateway .Values.internalTLS.secrets.hostAgent)) -}}
{{- fail "internalTLS.enabled needs a Secret for every component in internalTLS.secrets" -}}
{{- end -}}
{{- end -}}

{{/* Writable scratch space: the root filesystem is read-only. */}}
{{- define "deskplane.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "deskplane.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* {a: b, c: d} → "a=b,c=d" (sorted), the components' selector format. */}}
{{- define "deskplane.labelList" -}}
{{- $out := list -}}
{{- range $k, $v := . -}}{{- $out = append $out (printf "%s=%s" $k $v) -}}{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/* The CONNECT front needs the public address: it is the only target it lets through. */}}
{{- define "deskplane.gatewayConnectOn" -}}
{{- if and .Values.gateway.connect.enabled .Values.gateway.publicHost -}}true{{- end -}}
{{- end -}}

{{/* A KvmHost's agentEndpoint: address:port, IPv6 addresses in brackets. */}}
{{- define "deskplane.agentEndpoint" -}}
{{- $a := .address -}}
{{- if and (contains ":" $a) (not (hasPrefix "[" $a)) -}}{{- $a = printf "[%s]" $a -}}{{- end -}}
{{- printf "%s:%v" $a .port -}}
{{- end -}}
